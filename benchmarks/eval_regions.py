"""Region masks measured on the labelled set in benchmarks/data/regions (39 real photos).

    PYTHONPATH=. python benchmarks/eval_regions.py [--split all|dev|heldout] [--skip-speed]
    PYTHONPATH=. python benchmarks/eval_regions.py --fit-sky   # refit the sky head (dev half only)

Prints, per region, the IoU and boundary F-score of the full-resolution refined masks against the
labels (photos where the region is labelled present), the area wrongly marked on photos labelled
without it, faces found / missed / false positives (and on the photos with animals), what a region
edit does inside and outside the region (ΔE, CIE76), and the time to make the masks of a 12 MP
photo, next to the time of one full-resolution apply of the same photo (the baseline measured in
the same run; the machine is shared, so the load average is printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

DATA = Path(__file__).resolve().parent / "data" / "regions"
MASK_REGIONS = ("sky", "subject", "people")


def load_labels() -> dict:
    return json.loads((DATA / "labels.json").read_text())


def photo_names(labels: dict, split: str) -> list[str]:
    if split == "all":
        return [n for n in labels if not n.startswith("_")]
    return list(labels["_split"][split])


def load_rgb(name: str) -> np.ndarray:
    with Image.open(DATA / f"{name}.jpg") as im:
        return np.asarray(im.convert("RGB"))


def load_gt(name: str, region: str) -> np.ndarray | None:
    path = DATA / f"{name}.{region}.png"
    if not path.is_file():
        return None
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


def iou(pred: np.ndarray, gt: np.ndarray) -> float:
    union = (pred | gt).sum()
    return float((pred & gt).sum() / union) if union else 1.0


def boundary_f(pred: np.ndarray, gt: np.ndarray, tol_frac: float = 0.01) -> float:
    """Boundary F-score (as in DAVIS): boundary pixels matched within 1 % of the diagonal."""
    tol = max(1, int(round(tol_frac * np.hypot(*gt.shape))))

    def edge(m):
        return m ^ ndimage.binary_erosion(m, border_value=1)

    bp, bg = edge(pred), edge(gt)
    if not bp.any() and not bg.any():
        return 1.0
    if not bp.any() or not bg.any():
        return 0.0
    near_g = ndimage.binary_dilation(bg, iterations=tol)
    near_p = ndimage.binary_dilation(bp, iterations=tol)
    precision = (bp & near_g).sum() / bp.sum()
    recall = (bg & near_p).sum() / bg.sum()
    return float(2 * precision * recall / max(precision + recall, 1e-9))


def lab(rgb: np.ndarray) -> np.ndarray:
    from retouch_studio.model.regions.sky import srgb_to_lab

    return srgb_to_lab(rgb.astype(np.float64) / 255.0)


def box_px(box, w, h):
    x0, y0, x1, y1 = box
    return x0 * w / 10, y0 * h / 10, x1 * w / 10, y1 * h / 10


def inside(point, box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def eval_faces(names, labels, score: float | None = None):
    """Faces found / missed / false, at the shipped score threshold or at ``score``."""
    from retouch_studio.model.imaging import make_proxy
    from retouch_studio.model.regions.faces import detect_faces
    from retouch_studio.model.regions.masks import PROXY_EDGE

    found = missed = false_pos = animal_fp = 0
    rows = []
    for name in names:
        gt = labels[name].get("faces")
        if not isinstance(gt, list):
            continue
        rgb = load_rgb(name)
        h, w = rgb.shape[:2]
        proxy = make_proxy(rgb, PROXY_EDGE)
        faces = detect_faces(proxy, score)
        scale = max(h, w) / max(proxy.shape[:2])
        boxes = [box_px(b, w, h) for b in gt]
        ignore = [box_px(b, w, h) for b in labels[name].get("faces_ignore", [])]
        matched = set()
        fp = 0
        for face in faces:
            x0, y0, x1, y1 = (v * scale for v in face.box)
            centre = ((x0 + x1) / 2, (y0 + y1) / 2)
            hit = [i for i, b in enumerate(boxes) if inside(centre, b) and i not in matched]
            if hit:
                matched.add(hit[0])
            elif not any(inside(centre, b) for b in ignore):
                fp += 1
        found += len(matched)
        missed += len(boxes) - len(matched)
        false_pos += fp
        if name in labels.get("_animals", []):
            animal_fp += fp
        if boxes or fp:
            rows.append(f"{name}: {len(matched)}/{len(boxes)} found, {fp} false")
    return found, missed, false_pos, animal_fp, rows


def eval_masks(names, labels):
    from retouch_studio.model.recipe import region_layer_mask

    results = {r: {"iou": [], "bf": [], "fp_area": [], "per": []} for r in MASK_REGIONS}
    for name in names:
        rgb = load_rgb(name)
        for region in MASK_REGIONS:
            spec = labels[name].get(region)
            if spec is None:
                continue
            gt = load_gt(name, region)
            if gt is None:
                continue
            pred = region_layer_mask(region, rgb) > 0.5
            res = results[region]
            if gt.any():
                res["iou"].append(iou(pred, gt))
                res["bf"].append(boundary_f(pred, gt))
                res["per"].append(f"{name}:{res['iou'][-1]:.2f}")
            else:
                res["fp_area"].append(float(pred.mean()))
    return results


def eval_edits(names, labels):
    """Exposure +0.7 limited to the sky, the faces, the subject: how far inside vs outside moved.

    "Outside" is every pixel farther than 2 % of the diagonal from the labelled region (the label
    for sky and subject, the face boxes for faces), so the edge refinement's soft rim is not
    counted as a leak.
    """
    from retouch_studio.model.engines.loader import load_predictor
    from retouch_studio.model.recipe import recipe_for_text, render_recipe

    predictor = load_predictor()
    rows = {}
    for region, text in (("sky", "exposure +0.7 in the sky"), ("faces", "exposure +0.7 on the faces"), ("subject", "exposure +0.7 on the subject")):
        inside_dl, outside_de, outside_p99 = [], [], []
        for name in names:
            rgb = load_rgb(name)
            h, w = rgb.shape[:2]
            if region == "faces":
                boxes = labels[name].get("faces")
                if not isinstance(boxes, list) or not boxes:
                    continue
                gt = np.zeros((h, w), bool)
                for b in boxes:
                    x0, y0, x1, y1 = (int(round(v)) for v in box_px(b, w, h))
                    gt[y0:y1, x0:x1] = True
            else:
                gt = load_gt(name, region)
                if gt is None or not gt.any():
                    continue
            out = render_recipe(rgb, recipe_for_text(text), lambda layer: predictor)
            l0, l1 = lab(rgb), lab(out)
            de = np.sqrt(((l1 - l0) ** 2).sum(-1))
            far = ~ndimage.binary_dilation(gt, iterations=max(1, int(0.02 * np.hypot(h, w))))
            core = ndimage.binary_erosion(gt, iterations=2) if region != "faces" else gt
            inside_dl.append(float((l1[..., 0] - l0[..., 0])[core].mean()) if core.any() else 0.0)
            outside_de.append(float(de[far].mean()) if far.any() else 0.0)
            outside_p99.append(float(np.percentile(de[far], 99)) if far.any() else 0.0)
        rows[region] = (len(inside_dl), inside_dl, outside_de, outside_p99)
    return rows


def eval_speed():
    """Masks of a 12 MP photo (kodim12 enlarged to 4000x3000) vs one apply at that size."""
    from retouch_studio.model.engines.loader import load_predictor
    from retouch_studio.model.imaging import make_proxy
    from retouch_studio.model.pipeline import apply_prediction
    from retouch_studio.model.recipe import region_layer_mask
    from retouch_studio.model.regions import masks

    big = np.asarray(Image.fromarray(load_rgb("kodim12")).resize((4000, 3000), Image.Resampling.BICUBIC))
    predictor = load_predictor()
    pred = predictor.predict(make_proxy(big, 512), "exposure +0.3")
    apply_prediction(big, pred)  # warm up the kernels
    region_layer_mask("sky", big)
    t = time.perf_counter()
    apply_prediction(big, pred)
    t_apply = time.perf_counter() - t
    masks._cache.clear()
    t = time.perf_counter()
    masks.analyse(big)
    t_models = time.perf_counter() - t
    times = {}
    for region in ("faces", "people", "subject", "sky", "background"):
        t = time.perf_counter()
        region_layer_mask(region, big)
        times[region] = time.perf_counter() - t
    return t_apply, t_models, times


def fit_sky(labels, iters: int = 1500, lam: float = 0.01) -> None:
    """Refit the sky head on the development half (plus sky-free photos of shared/photos).

    Plain logistic regression by gradient descent, sky and not-sky cells weighted equally. The
    regularisation was chosen by 5-fold cross-validation inside the development half (0.003:
    IoU 0.62, 0.03: 0.50 at 40x40 before refinement); the held-out half was not used.
    """
    from retouch_studio.model.imaging import make_proxy
    from retouch_studio.model.regions.sessions import REGIONS_DIR
    from retouch_studio.model.regions.sky import head_inputs
    from retouch_studio.model.regions.subject import FEATURE_EDGE, run_u2netp

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "photos"
    negatives = [shared / f"{n}.jpg" for n in labels["_sky_free_training"]]
    xs, ys = [], []
    for name in labels["_split"]["dev"]:
        if labels[name].get("sky") is None:
            continue
        proxy = make_proxy(load_rgb(name), 640)
        xs.append(head_inputs(proxy, run_u2netp(proxy).features))
        gt = Image.fromarray(load_gt(name, "sky").astype(np.uint8) * 255).resize((FEATURE_EDGE, FEATURE_EDGE), Image.Resampling.BOX)
        ys.append(np.asarray(gt, np.float64).reshape(-1) / 255.0)
    for path in negatives:
        with Image.open(path) as im:
            proxy = make_proxy(np.asarray(im.convert("RGB")), 640)
        xs.append(head_inputs(proxy, run_u2netp(proxy).features))
        ys.append(np.zeros(FEATURE_EDGE * FEATURE_EDGE))
    x, y = np.concatenate(xs).astype(np.float64), np.concatenate(ys)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    mu[-1], sd[-1] = 0.0, 1.0
    xn = (x - mu) / sd
    pos = y > 0.5
    weight = np.where(pos, 0.5 / pos.sum(), 0.5 / (~pos).sum())  # sky and not-sky count equally
    w = np.zeros(x.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-xn @ w))
        w -= xn.T @ ((p - y) * weight) + lam * w
    np.savez(REGIONS_DIR / "sky_head.npz", w=w, mu=mu, sd=sd)
    print(f"sky head fitted on {len(xs)} photos ({int(pos.sum())} sky cells of {len(y)}), lambda {lam}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("all", "dev", "heldout"), default="all")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--fit-sky", action="store_true")
    args = ap.parse_args(argv)
    labels = load_labels()
    if args.fit_sky:
        fit_sky(labels)
        return 0
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    names = photo_names(labels, args.split)
    print(f"{len(names)} photos ({args.split})")
    found, missed, fp, animal_fp, rows = eval_faces(names, labels)
    print(f"faces: found {found}/{found + missed} ({100 * found / max(found + missed, 1):.1f} %), "
          f"false positives {fp} (on animal photos: {animal_fp})")
    for r in rows:
        print("   ", r)
    found, missed, fp, animal_fp, _ = eval_faces(names, labels, score=0.6)
    print(f"  (at the upstream RetinaFace display threshold 0.6 instead of the shipped 0.8: found "
          f"{found}/{found + missed}, false positives {fp}, on animal photos {animal_fp})")
    res = eval_masks(names, labels)
    print("region     photos  IoU    boundary-F   wrongly marked area on photos without it")
    for region, r in res.items():
        fp_txt = f"{np.mean(r['fp_area']) * 100:.1f} % mean, {np.max(r['fp_area']) * 100:.1f} % max over {len(r['fp_area'])}" if r["fp_area"] else "-"
        print(f"{region:10s} {len(r['iou']):5d}  {np.mean(r['iou']):.3f}  {np.mean(r['bf']):.3f}        {fp_txt}")
        print("    ", " ".join(r["per"]))
    for region, (n, dl, de, p99) in eval_edits(names, labels).items():
        if n:
            print(f"edit 'exposure +0.7' in {region:8s} on {n:2d} photos: inside ΔL* {np.mean(dl):+.1f} (min {np.min(dl):+.1f}); "
                  f"outside mean ΔE {np.mean(de):.2f} (worst photo {np.max(de):.2f}), 99th pct ΔE worst {np.max(p99):.2f}")
    if not args.skip_speed:
        t_apply, t_models, times = eval_speed()
        print(f"12 MP: one apply {t_apply:.2f} s (baseline); region models on the proxy {t_models:.2f} s; "
              + ", ".join(f"{k} mask {v:.2f} s ({v / t_apply:.1f}x apply)" for k, v in times.items()))
        print(f"first mask of a 12 MP photo (models + refine): {t_models + times['faces']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
