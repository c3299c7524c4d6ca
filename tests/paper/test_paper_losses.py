"""The paper's losses on toy cases where the right answer is known (no networks needed)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from retouch_studio.model.grid.ops import identity_grid
from retouch_studio.model.paper.alignment import AttributeTarget, PromptAlignment, _shared_plan
from retouch_studio.model.paper.losses import (
    ProgressiveTimesteps,
    alignment_loss,
    alpha_beta,
    info_nce,
    regulariser_loss,
    vsd_loss,
    vsd_surrogate,
    vsd_weight,
)
from retouch_studio.model.paper.nets import ClipParts
from retouch_studio.model.instructions import BANK


def _acp(n: int = 1000) -> torch.Tensor:
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, n) ** 2
    return torch.cumprod(1 - betas, 0)


class ToyEps(torch.nn.Module):
    """A stand-in noise predictor with parameters (to check none of them gets a VSD gradient)."""

    def __init__(self, scale: float, shift: float):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(scale))
        self.shift = torch.nn.Parameter(torch.tensor(shift))

    def forward(self, z_t, t):
        return torch.tanh(self.scale * z_t) + self.shift * (t.view(-1, 1, 1, 1).float() / 1000)


@pytest.mark.parametrize("weighting", ["uniform", "dmd"])
def test_vsd_gradient_equals_eq3(weighting):
    torch.manual_seed(0)
    acp = _acp()
    theta = torch.nn.Parameter(torch.randn(3, 4, 5, 6, dtype=torch.float64))
    z0 = 2.0 * torch.sin(theta)  # a nonlinear "generator", dz0/dθ = 2 cos θ
    t = torch.tensor([900, 500, 30])
    noise = torch.randn(3, 4, 5, 6, dtype=torch.float64)
    teacher, regulariser = ToyEps(1.3, 0.2).double(), ToyEps(0.7, -0.4).double()
    loss, info = vsd_loss(z0, t, teacher, regulariser, acp, noise=noise, weighting=weighting)
    loss.backward()

    # Eq. 3 written out by hand.
    alpha = acp[t].double().sqrt().view(-1, 1, 1, 1)
    beta = (1 - acp[t].double()).sqrt().view(-1, 1, 1, 1)
    z_t = alpha * z0.detach() + beta * noise
    e_real, e_fake = teacher(z_t, t).detach(), regulariser(z_t, t).detach()
    if weighting == "uniform":
        w = torch.ones(3, 1, 1, 1, dtype=torch.float64)
    else:
        x0_real = (z_t - beta * e_real) / alpha
        w = (beta / alpha) / (z0.detach() - x0_real).abs().mean((1, 2, 3), keepdim=True)
    expected = (w * (e_real - e_fake) * 2.0 * torch.cos(theta.detach())) / 3  # batch mean
    torch.testing.assert_close(theta.grad, expected, rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(info["z_t"], z_t)
    # Neither score network is trained by the VSD term.
    assert all(p.grad is None for p in (*teacher.parameters(), *regulariser.parameters()))


def test_vsd_surrogate_gradient_and_value():
    z0 = torch.randn(2, 4, 3, 3, requires_grad=True)
    g = torch.randn(2, 4, 3, 3)
    loss = vsd_surrogate(z0, g)
    loss.backward()
    torch.testing.assert_close(z0.grad, g / 2)
    assert loss.item() == pytest.approx(0.5 * g.pow(2).sum().item() / 2, rel=1e-5)


def test_vsd_is_zero_when_regulariser_equals_teacher():
    acp = _acp()
    z0 = torch.randn(2, 4, 4, 4, requires_grad=True)
    same = ToyEps(1.0, 0.0)
    loss, info = vsd_loss(z0, torch.tensor([999, 10]), same, same, acp)
    assert loss.item() == 0.0 and info["grad"].abs().max() == 0


def test_vsd_weight_rejects_unknown_mode():
    x = torch.ones(1, 1, 1, 1)
    with pytest.raises(ValueError, match="unknown VSD weighting"):
        vsd_weight(x, x, x, x, x, "nope")


def test_regulariser_loss_is_eq4_and_trains_only_the_regulariser():
    acp = _acp()
    reg = ToyEps(0.5, 0.1)
    z0 = torch.randn(2, 4, 4, 4, requires_grad=True)
    t = torch.tensor([100, 800])
    noise = torch.randn_like(z0)
    a, b = alpha_beta(acp, t, z0)
    z_t = a * z0 + b * noise
    loss = regulariser_loss(reg, z_t, t, noise)
    torch.testing.assert_close(loss, F.mse_loss(reg(z_t.detach(), t), noise))
    loss.backward()
    assert z0.grad is None and reg.scale.grad is not None and reg.shift.grad is not None


def test_progressive_timesteps_lower_t_hi():
    sched = ProgressiveTimesteps([[0.0, 700], [0.34, 400], [0.67, 20]], 999)
    his = [sched.t_hi(p) for p in (0.0, 0.2, 0.34, 0.5, 0.67, 0.99)]
    assert his == [700, 700, 400, 400, 20, 20]
    gen = torch.Generator().manual_seed(0)
    for p in (0.1, 0.5, 0.9):
        t = sched.sample(500, p, generator=gen)
        assert int(t.min()) >= sched.t_hi(p) and int(t.max()) <= 999
    with pytest.raises(ValueError):
        ProgressiveTimesteps([[0.2, 500]], 999)
    with pytest.raises(ValueError):
        ProgressiveTimesteps([[0.0, 1200]], 999)


def test_info_nce_is_the_two_way_softmax():
    s_pos = torch.tensor([0.3, -0.1, 0.8], requires_grad=True)
    s_neg = torch.tensor([0.1, 0.4, 0.8], requires_grad=True)
    tau = 0.07
    loss = info_nce(s_pos, s_neg, tau)
    ref = -torch.log(torch.exp(s_pos / tau) / (torch.exp(s_pos / tau) + torch.exp(s_neg / tau)))
    torch.testing.assert_close(loss, ref)
    assert loss[2].item() == pytest.approx(math.log(2))
    loss.sum().backward()
    assert (s_pos.grad < 0).all() and (s_neg.grad > 0).all()  # descent raises s+ and lowers s-


def test_alignment_loss_weights_mask_and_direction():
    e = torch.eye(4)
    pos = torch.stack([torch.stack([e[0], e[2]]), torch.stack([e[1], e[3]])])  # (B=2, A=2, E)
    neg = torch.stack([torch.stack([e[1], e[3]]), torch.stack([e[0], e[2]])])
    weights = torch.tensor([[1.0, 0.5], [0.8, 0.0]])
    mask = torch.tensor([[True, True], [True, False]])
    img = torch.tensor([[1.0, 0.2, 0.3, 0.0], [0.1, 0.9, 0.0, 0.0]], requires_grad=True)
    loss = alignment_loss(img, pos, neg, weights, mask, tau=0.1)
    n = F.normalize(img.detach(), dim=-1)
    l0 = (1.0 * info_nce(n[0, 0], n[0, 1], 0.1) + 0.5 * info_nce(n[0, 2], n[0, 3], 0.1)) / 2
    l1 = 0.8 * info_nce(n[1, 1], n[1, 0], 0.1) / 1  # the padded slot does not count in |A|
    assert loss.item() == pytest.approx(((l0 + l1) / 2).item(), rel=1e-5)
    loss.backward()
    # Moving each sample from its negative prompts towards its positive prompts lowers the loss.
    toward = (weights[..., None] * mask[..., None] * (pos - neg)).sum(1)
    assert ((img.grad * toward).sum(1) < 0).all()
    none = alignment_loss(img, pos, neg, weights, torch.zeros_like(mask), tau=0.1)
    assert none.item() == 0.0


class BrightWarmClip(torch.nn.Module):
    """A controlled "CLIP": image embedding = (brightness, darkness, warmth, coolness); text
    embeddings are one-hot on the matching axis. Lets the alignment test have known semantics."""

    AXES = {"a bright photo": 0, "a dark photo": 1, "a warm toned photo": 2, "a cool toned photo": 3}

    def get_image_features(self, pixel_values):
        # undo CLIP normalisation to get back [0, 1] values
        mean = torch.tensor(ClipParts.mean).view(1, 3, 1, 1)
        std = torch.tensor(ClipParts.std).view(1, 3, 1, 1)
        x = pixel_values * std + mean
        lum = x.mean((1, 2, 3))
        warm = (x[:, 0] - x[:, 2]).mean((1, 2))
        return torch.stack([lum, 1 - lum, 0.5 + warm, 0.5 - warm], 1)

    def get_text_features(self, input_ids):
        out = torch.full((input_ids.shape[0], 4), 0.01)
        for i, row in enumerate(input_ids.tolist()):
            out[i, self._ids[tuple(row)]] = 1.0
        return out


def _controlled_alignment() -> PromptAlignment:
    clip = BrightWarmClip()

    class Tok:
        model_max_length = 8

        def __call__(self, texts, **kw):
            ids = torch.tensor([[hash(t) % 9973, len(t)] + [0] * 6 for t in texts])
            clip._ids = {tuple(r): BrightWarmClip.AXES.get(t, 0) for r, t in zip(ids.tolist(), texts)}
            return type("T", (), {"input_ids": ids})

    return PromptAlignment(ClipParts(clip, Tok(), 16), tau=0.07, planner=_shared_plan())


def test_alignment_prefers_the_instructed_direction_on_constructed_images():
    align = _controlled_alignment()
    base = torch.rand(1, 3, 24, 24) * 0.5 + 0.25
    brighter, darker = (base * 1.3).clamp(0, 1), base * 0.7
    assert align(brighter, ["make it brighter"]) < align(darker, ["make it brighter"])
    assert align(darker, ["darken it"]) < align(brighter, ["darken it"])
    warm = base * torch.tensor([1.2, 1.0, 0.8]).view(1, 3, 1, 1)
    cool = base * torch.tensor([0.8, 1.0, 1.2]).view(1, 3, 1, 1)
    assert align(warm, ["make it warmer"]) < align(cool, ["make it warmer"])
    # The gradient pushes the image the instructed way (descent = minus gradient).
    x = base.clone().requires_grad_(True)
    align(x, ["make it brighter"]).backward()
    assert x.grad.sum() < 0
    x = base.clone().requires_grad_(True)
    align(x, ["make it warmer"]).backward()
    assert x.grad[:, 0].sum() < 0 and x.grad[:, 2].sum() > 0
    # No attribute -> no alignment signal.
    assert align(base, ["xyzzy"]).item() == 0.0


def test_planner_matches_attributes():
    planner = _shared_plan()
    names = [a.name for a in planner("Make it warmer and brighter, less contrast")]
    assert sorted(names) == ["contrast:less", "exposure:brighter", "temperature:warmer"]
    assert all(isinstance(a, AttributeTarget) and a.positive != a.negative for a in planner("cooler"))


def test_shared_attribute_bank_gives_signed_prompt_pairs():
    planner = _shared_plan()
    assert planner is not None
    warm = planner("make it warmer")
    cool = planner("make it cooler")
    assert warm and cool and warm[0].name.startswith("temperature")
    assert (warm[0].positive, warm[0].negative) == (cool[0].negative, cool[0].positive)
    assert warm[0].positive == "a warm toned photo"  # caption form for CLIP
    vintage = planner("give it a vintage look")
    assert vintage and vintage[0].positive in BANK[vintage[0].name.rsplit(":", 1)[0]].up_prompts
    assert 0 < warm[0].confidence <= 1


def test_grid_regularisers_used_by_eq8():
    from retouch_studio.model.paper.losses import FeatureLPIPS, bilateral_loss
    from retouch_studio.model.paper.nets import tiny_parts
    from retouch_studio.model.paper.config import PaperConfig

    vae = tiny_parts(PaperConfig.tiny().net).vae.requires_grad_(False)
    lp = FeatureLPIPS(vae.encoder)
    x = torch.rand(1, 3, 32, 32)
    assert lp(x, x).item() == pytest.approx(0.0, abs=1e-6)
    assert lp(x, 1 - x).item() > 0.01
    grid = identity_grid(1, 4, 4, 4).requires_grad_(True)
    total, parts = bilateral_loss(x, x, F.interpolate(x, size=16, mode="area"), grid, lp, (1, 1, 0, 1, 1))
    assert parts["l1"].item() == 0.0 and parts["laplacian"].item() == 0.0 and parts["gamut"].item() == 0.0
    over = x * 1.5
    _, parts = bilateral_loss(over, x, x[..., :16, :16], grid, lp, (1, 1, 1, 1, 1))
    assert parts["gamut"].item() > 0 and parts["l1"].item() > 0
