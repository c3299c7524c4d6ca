"""Auto mode's trade-off between fixing degraded photos and leaving good ones alone, per setting.

    python benchmarks/auto_frontier.py --split dev                           # shipped settings
    python benchmarks/auto_frontier.py --split dev --set '{"EV_TOL": 1.0}'  # + a variant
    python benchmarks/auto_frontier.py --split dev --search                 # coordinate descent

Photos are split by name (alternate photos: ``dev`` from the first, ``holdout`` the rest); tune on
``dev`` and look at ``holdout`` once per decision. Each variant overrides module constants of
``model.instructions.auto``. Printed: the change auto makes to the original photos (mean, median
and share under ΔE 1) and, per degradation, mean ΔE00 to the original after auto / before, so
below 1 is an improvement. J = mean of those ratios + 0.1 x the mean change to good photos (the
objective of --search). Corrections are rendered with the param renderer at 128 px, which the
grid reproduces to within ΔE 0.1 for these global operations.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

DEGRADATIONS = {"under": {"exposure": -1.5}, "over": {"exposure": 1.0}, "warm": {"temperature": 50},
                "cool": {"temperature": -50}, "green": {"tint": -40}, "faded": {"fade": 40, "contrast": -40}}
SEARCH = {"MID_TARGET": [0.38, 0.42, 0.45], "HEADROOM": [0.8, 0.9, 0.96], "EV_TOL": [0.3, 0.5, 0.8, 1.0],
          "CAST_TOL": [0.03, 0.05, 0.08, 0.12], "TINT_TOL": [0.01, 0.02, 0.035, 0.05],
          "FLAT_STD": [0.06, 0.09, 0.12], "LIFTED_P1": [0.2, 0.35, 0.5], "MAX_CAST": [0.25, 0.4]}


def main() -> None:
    from eval_plan import _photos

    import retouch_studio.model.instructions.auto as auto
    from retouch_studio.model.color import mean_delta_e
    from retouch_studio.model.params import render_pixels

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=("dev", "holdout", "all"), default="dev")
    ap.add_argument("--set", default="", help="JSON object of auto-module constants to try")
    ap.add_argument("--search", action="store_true", help="coordinate descent over SEARCH (two rounds)")
    args = ap.parse_args()

    items = sorted(_photos(128).items())
    photos = [x for i, (_, x) in enumerate(items) if args.split == "all" or i % 2 == (args.split == "holdout")]
    cases = [(None, x, x) for x in photos]
    cases += [(n, render_pixels(x, d), x) for n, d in DEGRADATIONS.items() for x in photos]
    before = {n: np.mean([mean_delta_e(y, x) for m, y, x in cases if m == n]) for n in DEGRADATIONS}
    shipped = {k: getattr(auto, k) for k in SEARCH}

    def evaluate(knobs: dict):
        for k, v in {**shipped, **knobs}.items():
            setattr(auto, k, v)
        res: dict = {}
        for m, y, x in cases:
            res.setdefault(m, []).append(mean_delta_e(render_pixels(y, auto.auto_params(y)), x))
        good = np.array(res[None])
        ratios = {n: np.mean(res[n]) / before[n] for n in DEGRADATIONS}
        return np.mean(list(ratios.values())) + 0.1 * good.mean(), good, ratios

    def show(tag: str, knobs: dict) -> float:
        J, good, r = evaluate(knobs)
        print(f"{tag:10} J={J:.3f}  good: mean {good.mean():.2f} median {np.median(good):.2f} "
              f"share<1 {np.mean(good < 1):.2f} | " + " ".join(f"{n} {v:.2f}" for n, v in r.items()), flush=True)
        return J

    print(f"{len(photos)} photos ({args.split}); degraded mean dE: "
          + ", ".join(f"{n} {v:.2f}" for n, v in before.items()))
    show("shipped", {})
    if args.set:
        show("variant", json.loads(args.set))
    if args.search:
        best, best_j = {}, evaluate({})[0]
        for rnd in range(2):
            for k, values in SEARCH.items():
                for v in values:
                    j = evaluate({**best, k: v})[0]
                    if j < best_j - 1e-4:
                        best, best_j = {**best, k: v}, j
            print(f"round {rnd}: {json.dumps(best)}")
            show("best", best)


if __name__ == "__main__":
    main()
