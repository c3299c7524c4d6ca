"""Quality evaluation of the default model on held-out photos and held-out phrasings.

Prints, for the learned model (``compact`` engine, default: the shipped model), the ``params``
engine (plan -> parameter renderer) and doing nothing:

1. direction accuracy per attribute: the attribute's statistic moves the right way by a visible
   but sane amount (e.g. "brighter": mean L* +2 to +30); target >= 95 %;
2. side effects: statistics not asked for stay within bounds (e.g. "warmer" moves L* < 10);
3. corrective accuracy: held-out degradations, mean CIEDE2000 to the original divided by that of
   the degraded input (target <= 0.5);
4. fidelity: SSIM of the grayscale, histogram-matched output vs the input (target >= 0.995);
5. speed: proxy -> grid and text embedding (targets 10 ms / 20 ms on the CPU).

and writes a contact sheet (input | output per instruction, held-out photos).

    PYTHONPATH=. python benchmarks/eval_quality.py [--model DIR] [--photos DIR] [--sheet PNG] [--phrases v1..v5]

Phrasings (none is ever trained on; each set was written by a helper that read no project file):

* ``v5`` (default): ``benchmarks/heldout_phrases_v5.json``; frozen before use and measured without
  any tuning after it. Phrasings that also occur in a development set are left out.
* ``v4``, ``v3``, ``v2``: ``benchmarks/heldout_phrases_v4.json`` ...; each was measured once as
  the held-out set, then its misses were studied to improve the matcher, so they are development
  sets now.
* ``v1``: ``model.training.synth.HELDOUT_PHRASES``; a development set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from retouch_studio.model.color import delta_e_srgb  # noqa: E402
from retouch_studio.model.compact import rgb_to_lab  # noqa: E402
from retouch_studio.model.grid.ops import GuidanceParams  # noqa: E402
from retouch_studio.model.imaging import load_photo, make_proxy  # noqa: E402
from retouch_studio.model.pipeline import apply_prediction  # noqa: E402
from retouch_studio.model.engines.base import Prediction  # noqa: E402
from retouch_studio.model.engines.loader import load_predictor, load_renderer  # noqa: E402
from retouch_studio.model.engines.retoucher import Retoucher  # noqa: E402
from retouch_studio.model.engines.router import RENDERER, RoutingPolicy  # noqa: E402
from retouch_studio.model.training.synth import HELDOUT_PHOTOS, HELDOUT_PHRASES, physical_exposure, physical_white_balance, pvec, render  # noqa: E402

# attribute -> (statistic, lower, upper, side-effect checks [(statistic, max |delta|)])
# Statistics: L, a, b, chroma (mean), spread (mean |L - mean L|), shadow_L / highlight_L (mean L*
# over the input's darkest / brightest 30 %), chroma_out (mean chroma of the output).
CHECKS = {
    "brighter": ("L", 2, 30, [("a", 6), ("b", 8)]),
    "darker": ("L", -30, -2, [("a", 6), ("b", 8)]),
    "more_contrast": ("spread", 1, 20, [("L", 8)]),
    "less_contrast": ("spread", -20, -1, [("L", 8)]),
    "warmer": ("b", 1.5, 25, [("L", 10), ("a", 8)]),
    "cooler": ("b", -25, -1.5, [("L", 10), ("a", 8)]),
    "magenta": ("a", 1, 25, [("L", 10)]),
    "greener": ("a", -25, -1, [("L", 10)]),
    "more_saturated": ("chroma", 1.5, 30, [("L", 10)]),
    "less_saturated": ("chroma", -30, -1.5, [("L", 10)]),
    "black_and_white": ("chroma_out", 0, 3, [("L", 10)]),
    "lift_shadows": ("shadow_L", 1.5, 25, [("highlight_L", 8)]),
    "deepen_shadows": ("shadow_L", -25, -1.5, [("highlight_L", 8)]),
    "recover_highlights": ("highlight_L", -25, -1.5, [("shadow_L", 8)]),
}
COMPOUND = [  # held-out phrasings joined; both statistics must move the right way
    ("give it more light and I want warmer tones", [("L", 1.5), ("b", 1.0)]),
    ("give it a cold feel, and the picture needs to be darker", [("b", -1.0), ("L", -1.5)]),
    ("richer colours please and I want stronger contrast", [("chroma", 1.0), ("spread", 0.7)]),
    ("convert to monochrome then give it more light", [("chroma_out", None), ("L", 1.5)]),
]
# Held-out degradations: (name, how to degrade, held-out instruction that names the fix)
CORRECTIVE = [
    ("underexposed", lambda x: physical_exposure(x, torch.tensor([-0.9])), "give it more light"),
    ("overexposed", lambda x: physical_exposure(x, torch.tensor([0.7])), "bring the brightness down"),
    ("blue cast", lambda x: physical_white_balance(x, torch.tensor([-0.8]), torch.zeros(1)), "I want warmer tones"),
    ("warm cast", lambda x: physical_white_balance(x, torch.tensor([0.8]), torch.zeros(1)), "I want cooler tones"),
    ("green cast", lambda x: physical_white_balance(x, torch.zeros(1), torch.tensor([-0.8])),
     "neutralise the green cast"),
    ("desaturated", lambda x: render(x, torch.from_numpy(pvec(saturation=-0.45))[None]), "richer colours please"),
    ("flat", lambda x: render(x, torch.from_numpy(pvec(contrast=-0.8))[None]), "I want stronger contrast"),
    ("dark + cold", lambda x: physical_white_balance(physical_exposure(x, torch.tensor([-0.7])),
                                                     torch.tensor([-0.7]), torch.zeros(1)),
     "give it more light and I want warmer tones"),
]
SHEET_INSTRUCTIONS = ["give it more light", "I want warmer tones", "give it a cold feel", "convert to monochrome",
                      "make the tones pop more", "richer colours please", "the dark regions need more light",
                      "make it look cinematic"]


def fast_lab(rgb: np.ndarray) -> np.ndarray:
    """``(h, w, 3)`` sRGB -> Lab (float32 torch path; the statistics do not need float64)."""
    x = torch.from_numpy(np.ascontiguousarray(np.clip(rgb, 0, 1).transpose(2, 0, 1), np.float32))[None]
    with torch.no_grad():
        return rgb_to_lab(x)[0].numpy().transpose(1, 2, 0)


def stats(before: np.ndarray, after: np.ndarray) -> dict:
    """Lab statistics of ``after`` relative to ``before`` (both ``(h, w, 3)`` float in [0, 1])."""
    lab0, lab1 = fast_lab(before), fast_lab(after)
    L0 = lab0[..., 0]
    lo, hi = np.quantile(L0, 0.3), np.quantile(L0, 0.7)
    out = {}
    for key, lab in (("0", lab0), ("1", lab1)):
        L = lab[..., 0]
        out[key] = {
            "L": L.mean(), "a": lab[..., 1].mean(), "b": lab[..., 2].mean(),
            "chroma": np.hypot(lab[..., 1], lab[..., 2]).mean(), "spread": np.abs(L - L.mean()).mean(),
            "shadow_L": L[L0 <= lo].mean(), "highlight_L": L[L0 >= hi].mean(),
        }
    delta = {k: out["1"][k] - out["0"][k] for k in out["0"]}
    delta["chroma_out"] = out["1"]["chroma"]
    return delta


def gray(x: np.ndarray) -> np.ndarray:
    return x @ np.array([0.2126, 0.7152, 0.0722])


def hist_match(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Give ``src`` the value distribution of ``ref`` (rank matching)."""
    order = np.argsort(src.ravel(), kind="stable")
    out = np.empty(src.size)
    out[order] = np.sort(ref.ravel())
    return out.reshape(src.shape)


def ssim(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.ndimage import gaussian_filter

    c1, c2 = 0.01**2, 0.03**2
    mx, my = gaussian_filter(x, 1.5), gaussian_filter(y, 1.5)
    sxx = gaussian_filter(x * x, 1.5) - mx * mx
    syy = gaussian_filter(y * y, 1.5) - my * my
    sxy = gaussian_filter(x * y, 1.5) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s[5:-5, 5:-5].mean())


def fidelity(before: np.ndarray, after: np.ndarray) -> float:
    g0 = gray(before)
    return ssim(g0, hist_match(gray(np.clip(after, 0, 1)), g0))


class Identity:
    model_id = "identity"

    def predict(self, proxy, instruction):
        grid = np.zeros((12, 2, 2, 2), np.float32)
        grid[[0, 5, 10]] = 1.0
        return Prediction(grid, GuidanceParams.luminance(), [], self.model_id)


def apply(engine, proxy: np.ndarray, instruction: str) -> np.ndarray:
    try:
        pred = engine.predict(proxy, instruction)
    except Exception as exc:  # noqa: BLE001 - an engine refusing an instruction counts as no edit
        print(f"  [{getattr(engine, 'model_id', engine)}] {instruction!r}: {type(exc).__name__}: {exc}")
        return proxy
    return apply_prediction(proxy, pred)


def find_photos(folder: Path) -> list[Path]:
    found = []
    for stem in HELDOUT_PHOTOS:
        hits = [p for p in folder.glob(stem + ".*")]
        if hits:
            found.append(hits[0])
    return found


PHRASE_FILES = {v: ROOT / "benchmarks" / f"heldout_phrases_{v}.json" for v in ("v2", "v3", "v4", "v5")}
HELD_OUT = "v5"  # the one set no tuning has looked at


def phrase_set(which: str) -> tuple[dict, list]:
    """(single phrasings per attribute, compound [(phrase, [(stat, threshold)])]) of set v1 ... v5."""
    if which == "v1":
        return HELDOUT_PHRASES, COMPOUND
    if which in PHRASE_FILES:
        data = json.loads(PHRASE_FILES[which].read_text())
        single = data["single"]
        compound = [(text, [(stat, thr) for stat, thr in wants]) for text, wants in data["compound"]]
        if which == HELD_OUT:
            # A few held-out phrasings also occur in a development set; they do not count here.
            seen = _development_phrases()
            single = {k: [p for p in v if p.lower() not in seen] for k, v in single.items()}
            compound = [c for c in compound if c[0].lower() not in seen]
        return single, compound
    raise ValueError(f"unknown phrase set {which!r} (v1, {', '.join(PHRASE_FILES)})")


def _development_phrases() -> set:
    seen = {p.lower() for v in HELDOUT_PHRASES.values() for p in v} | {c[0].lower() for c in COMPOUND}
    for which, path in PHRASE_FILES.items():
        if which != HELD_OUT:
            data = json.loads(path.read_text())
            seen |= {p.lower() for v in data["single"].values() for p in v} | {c[0].lower() for c in data["compound"]}
    for name in ("instr_paraphrases.json", "instr_paraphrases_v2.json"):
        seen |= {c["text"].lower() for c in json.loads((ROOT / "tests" / "data" / name).read_text())["cases"]}
    return seen


def evaluate(engine, photos: dict, verbose: bool = False, phrases: str = HELD_OUT) -> dict:
    single, compound = phrase_set(phrases)
    res: dict = {"dir": {}, "side": {}, "fid": [], "compound": [], "corr": []}
    for attr, (stat, lo, hi, sides) in CHECKS.items():
        ok = side_ok = n = 0
        for name, proxy in photos.items():
            for phrase in single[attr]:
                out = apply(engine, proxy, phrase)
                d = stats(proxy, out)
                good = lo <= d[stat] <= hi
                ok += good
                side_ok += all(abs(d[s]) < bound for s, bound in sides)
                n += 1
                res["fid"].append(fidelity(proxy, out))
                if verbose and not good:
                    print(f"    miss {attr:18s} {name[:18]:18s} {phrase!r}: {stat} {d[stat]:+.1f}")
        res["dir"][attr] = ok / n
        res["side"][attr] = side_ok / n
    for phrase, wants in compound:
        for proxy in photos.values():
            d = stats(proxy, apply(engine, proxy, phrase))
            good = all((d[s] < 3) if thr is None else (np.sign(thr) * d[s] >= abs(thr)) for s, thr in wants)
            res["compound"].append(good)
    for label, degrade, phrase in CORRECTIVE:
        for proxy in photos.values():
            x = torch.from_numpy(proxy.transpose(2, 0, 1).copy())[None]
            bad = degrade(x)[0].numpy().transpose(1, 2, 0).clip(0, 1).astype(np.float32)
            fixed = apply(engine, bad, phrase)
            e_bad = float(delta_e_srgb(bad, proxy).mean())
            e_fix = float(delta_e_srgb(np.clip(fixed, 0, 1), proxy).mean())
            res["corr"].append((label, e_fix, e_bad))
    return res


def speed(engine, proxy512: np.ndarray, instruction: str, repeats: int = 30) -> float:
    engine.predict(proxy512, instruction)  # warm caches (embedding, routing decision)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        engine.predict(proxy512, instruction)
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def text_speed(repeats: int = 20) -> float:
    from retouch_studio.model.text_encoder import encode

    encode(["warm up"])
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        encode([f"make the photo number {i} a little warmer {time.time()}"])
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def contact_sheet(engine, photos: dict, path: Path, thumb: int = 150) -> None:
    from PIL import Image, ImageDraw

    cols = ["input"] + SHEET_INSTRUCTIONS
    pad, label_h = 4, 28
    w = len(cols) * (thumb + pad) + pad
    h = label_h + len(photos) * (thumb + pad) + pad
    sheet = Image.new("RGB", (w, h), (30, 30, 30))
    draw = ImageDraw.Draw(sheet)
    for c, text in enumerate(cols):
        x = pad + c * (thumb + pad)
        words, line, lines = text.split(), "", []
        for word in words:
            if len(line) + len(word) > 24:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
        draw.text((x + 2, 2), "\n".join(lines[:2]), fill=(230, 230, 230))
    for r, proxy in enumerate(photos.values()):
        y = label_h + pad + r * (thumb + pad)
        for c, text in enumerate(cols):
            img = proxy if text == "input" else apply(engine, proxy, text)
            im = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
            im.thumbnail((thumb, thumb))
            sheet.paste(im, (pad + c * (thumb + pad), y))
    sheet.save(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="compact model folder (default: the shipped model)")
    ap.add_argument("--photos", default="/work/shared/photos", help="folder with the held-out photos")
    ap.add_argument("--size", type=int, default=256, help="proxy long edge for the quality metrics")
    ap.add_argument("--sheet", default="/tmp/eval_contact_sheet.png", help="contact sheet PNG path")
    ap.add_argument("--engines", default="compact,learned,params,identity",
                    help="compact (shipped configuration), learned (network alone), params, identity")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--phrases", default=HELD_OUT, choices=("v1", *PHRASE_FILES),
                    help=f"phrasings: {HELD_OUT} (default, never tuned on) or an earlier, development set")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # the shared 2-core machine; ONNX sessions use their own pool
    folder = Path(args.photos)
    paths = find_photos(folder) or find_photos(ROOT / "tests" / "data")
    if not paths:
        print("no held-out photos found", file=sys.stderr)
        return 2
    pixels = {p.stem: load_photo(p).pixels for p in paths}
    photos = {k: make_proxy(v, args.size) for k, v in pixels.items()}
    print(f"held-out photos ({len(photos)}): {', '.join(photos)}; proxy {args.size} px")
    engines = {}
    for name in args.engines.split(","):
        if name == "compact":
            engines["compact"] = load_predictor(args.model)
        elif name == "learned":  # the same network with neither routing nor the plan check
            shipped = load_predictor(args.model)
            engines["learned"] = Retoucher(shipped.learned, RoutingPolicy(), shipped.exact)
        elif name == "params":
            engines["params"] = load_renderer()
        elif name == "identity":
            engines["identity"] = Identity()
    results = {}
    for name, engine in engines.items():
        t = time.time()
        results[name] = evaluate(engine, photos, args.verbose, args.phrases)
        print(f"  evaluated {name} in {time.time() - t:.0f} s")
    names = list(results)
    head = "".join(f"{n:>12s}" for n in names)
    print(f"\n1. direction accuracy (held-out phrasings {args.phrases} x photos){'':1s}{head}")
    for attr in CHECKS:
        print(f"   {attr:44s}" + "".join(f"{100 * results[n]['dir'][attr]:11.0f}%" for n in names))
    print(f"   {'MEAN (target >= 95%)':44s}" + "".join(
        f"{100 * np.mean(list(results[n]['dir'].values())):11.1f}%" for n in names))
    print(f"   {'compound (both attributes right)':44s}" + "".join(
        f"{100 * np.mean(results[n]['compound']):11.0f}%" for n in names))
    print(f"\n2. side effects within bounds{'':26s}{head}")
    for attr in CHECKS:
        print(f"   {attr:44s}" + "".join(f"{100 * results[n]['side'][attr]:11.0f}%" for n in names))
    print(f"   {'MEAN':44s}" + "".join(f"{100 * np.mean(list(results[n]['side'].values())):11.1f}%" for n in names))
    print(f"\n3. corrective: dE00(out, original) / dE00(degraded, original){'':0s}{head}")
    labels = [c[0] for c in CORRECTIVE]
    for label in labels:
        row = []
        for n in names:
            r = [e / b for lab, e, b in results[n]["corr"] if lab == label and b > 0]
            row.append(f"{np.mean(r):12.2f}")
        print(f"   {label:44s}" + "".join(row))
    print(f"   {'MEAN ratio (target <= 0.5)':44s}" + "".join(
        f"{np.mean([e / b for _, e, b in results[n]['corr'] if b > 0]):12.2f}" for n in names))
    print(f"\n4. fidelity: SSIM(gray in, hist-matched gray out){'':6s}{head}")
    print(f"   {'MEAN (target >= 0.995)':44s}" + "".join(f"{np.mean(results[n]['fid']):12.4f}" for n in names))
    print(f"   {'MIN':44s}" + "".join(f"{np.min(results[n]['fid']):12.4f}" for n in names))
    proxy512 = make_proxy(next(iter(pixels.values())), 512)
    print(f"\n5. speed (median, this CPU, {torch.get_num_threads()} torch thread(s))")
    for n in names:
        if n == "identity":
            continue
        for instruction in ("add more contrast", "make it warmer"):
            engine = engines[n]
            routed = isinstance(engine, Retoucher) and engine.learned is not None and engine.route(instruction).engine == RENDERER
            via = " (routed to the parameter renderer)" if routed else ""
            print(f"   proxy 512 -> grid, {n:8s} {instruction!r:20s} {speed(engine, proxy512, instruction):8.2f} ms"
                  f"{via} (target <= 10 ms)")
    print(f"   text embedding, new instruction {text_speed():8.2f} ms (target <= 20 ms)")
    if "compact" in engines and args.sheet:
        contact_sheet(engines["compact"], photos, Path(args.sheet))
        print(f"\ncontact sheet: {args.sheet}")
        if "params" in engines:
            alt = Path(args.sheet).with_name(Path(args.sheet).stem + "_params.png")
            contact_sheet(engines["params"], photos, alt)
            print(f"contact sheet (params engine): {alt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
