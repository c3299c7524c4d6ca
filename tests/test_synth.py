"""Training-data synthesis: degradations go the right way, phrase banks are rich and disjoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from retouch_studio.model.compact import rgb_to_lab, split_clauses
from retouch_studio.model.imaging import load_photo, make_proxy
from retouch_studio.model.training.synth import (
    DIRECTION_BY_NAME,
    DIRECTIONS,
    HELDOUT_PHRASES,
    INTENSITY,
    STYLES,
    ClauseBank,
    Synthesizer,
    directional_phrases,
    physical_exposure,
    physical_white_balance,
    pvec,
    region_mask,
    render,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def image():
    proxy = make_proxy(load_photo(DATA / "Wine_by_Jakkub_Mede.jpg").pixels, 96)
    return torch.from_numpy(proxy.transpose(2, 0, 1).copy())


def mean_lab(x):
    return rgb_to_lab(x.clamp(0, 1)).mean((2, 3))[0]


def test_physical_degradations_go_the_right_way(image):
    x = image[None]
    assert mean_lab(physical_exposure(x, torch.tensor([-1.0])))[0] < mean_lab(x)[0] - 3
    assert mean_lab(physical_exposure(x, torch.tensor([1.0])))[0] > mean_lab(x)[0] + 3
    warm = physical_white_balance(x, torch.tensor([1.0]), torch.tensor([0.0]))
    assert mean_lab(warm)[2] > mean_lab(x)[2] + 3
    green = physical_white_balance(x, torch.tensor([0.0]), torch.tensor([-1.0]))
    assert mean_lab(green)[1] < mean_lab(x)[1] - 2


def test_region_masks():
    rng = np.random.default_rng(0)
    top = region_mask("top", 32, 32, rng)[0, 0]
    assert top[0].mean() > 0.9 and top[-1].mean() < 0.1
    edges = region_mask("edges", 32, 32, rng)[0, 0]
    assert edges[0, 0] > 0.8 and edges[16, 16] < 0.2


def test_phrase_banks_are_rich_and_held_out_phrases_are_unseen():
    bank = ClauseBank(per_key=10_000)
    training = set(bank.all_phrases()) | set(bank.all_clauses())
    for d in DIRECTIONS:
        assert sum(len(directional_phrases(d, level)) for level in INTENSITY) >= 300, d.name
    for name, phrases in HELDOUT_PHRASES.items():
        for p in phrases:
            assert p not in training and any(c not in training for c in split_clauses(p)), p
    assert "a touch brighter" in directional_phrases(DIRECTION_BY_NAME["brighter"], "small")
    assert "much brighter" in directional_phrases(DIRECTION_BY_NAME["brighter"], "large")


def test_corrective_samples_are_degraded_opposite_to_the_instruction(image):
    bank = ClauseBank(per_key=20)
    synth = Synthesizer([image], bank, size=24, seed=3)
    checked = 0
    for _ in range(150):
        x = synth.crop()
        base, vec, mask, clauses = synth.corrective_sample(x)
        if mask is not None or len(clauses) != 1:
            continue
        degraded = render(base, torch.from_numpy(vec)[None]) if np.any(vec) else base
        delta = mean_lab(degraded) - mean_lab(x)
        for name, stat, sign in (("brighter", 0, -1), ("darker", 0, 1), ("warmer", 2, -1), ("cooler", 2, 1)):
            keys = [("dir", name, level) for level in INTENSITY]
            if any(clauses[0] in bank.keys[k] for k in keys):
                assert sign * delta[stat] > 0.3, (clauses, delta)
                checked += 1
    assert checked >= 5


def test_batches(image):
    synth = Synthesizer([image], ClauseBank(per_key=5), size=32, seed=0)
    batch = synth.sample(12)
    assert batch.inputs.shape == batch.targets.shape == (12, 3, 32, 32)
    assert len(batch.clauses) == 12 and all(batch.clauses)
    fwd = batch.param_mask.bool()
    assert 0 < fwd.sum() < 12
    assert torch.equal(batch.params[~fwd], torch.zeros_like(batch.params[~fwd]))
    # forward samples: input is the crop, target the render of the params
    i = int(torch.nonzero(fwd)[0])
    assert torch.allclose(render(batch.inputs[i : i + 1], batch.params[i : i + 1]).clamp(0, 1),
                          batch.targets[i : i + 1], atol=1e-5)


def test_styles_render_in_gamut_mostly(image):
    x = image[None]
    for name, (vec, phrases) in STYLES.items():
        out = render(x, torch.from_numpy(vec)[None])
        assert ((out < -0.02) | (out > 1.02)).float().mean() < 0.1, name
        assert phrases
    bw = render(x, torch.from_numpy(STYLES["black_and_white"][0])[None])
    assert rgb_to_lab(bw.clamp(0, 1))[:, 1:].abs().mean() < 1.0
    assert pvec(exposure=1.0)[0] == 1.0
