"""``retouch train compact --photos DIR --out DIR [--minutes N] [--resume]``."""

from __future__ import annotations

import argparse
import sys

from retouch_studio.app.cli.exit_codes import Exit


def register_train(train_subparsers) -> argparse.ArgumentParser:
    p = train_subparsers.add_parser(
        "compact",
        help="train the compact default model (CPU-friendly)",
        description="Train the compact text-conditioned bilateral-grid model on good photos "
        "(degradations and edits are synthesised). Held-out photos are skipped.",
    )
    p.add_argument("--photos", required=True, metavar="DIR", help="folder of good photos (JPEG/PNG/TIFF)")
    p.add_argument("--out", required=True, metavar="DIR", help="output model folder (config.json, weights.pt, model.onnx)")
    p.add_argument("--minutes", type=float, default=40.0, metavar="M", help="training time budget in minutes (default 40)")
    p.add_argument("--steps", type=int, default=None, metavar="N", help="stop after this many steps (default: time only)")
    p.add_argument("--batch-size", type=int, default=16, metavar="N", help="photos per step (default 16)")
    p.add_argument("--lr", type=float, default=2e-3, metavar="RATE", help="learning rate (default 2e-3)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch CPU threads (1 is fastest on a busy 2-core machine)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--no-onnx", action="store_true", help="do not export model.onnx")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from retouch_studio.model.schema import SchemaError, check_number
    from retouch_studio.model.training.compact_train import TrainConfig, TrainError, train

    try:
        check_number("--minutes", args.minutes, 1e-3, 1e6)
        check_number("--lr", args.lr, 1e-12, 10.0)
    except SchemaError as exc:
        print(f"retouch train compact: {exc}", file=sys.stderr)
        return 2

    cfg = TrainConfig(photos=args.photos, out=args.out, minutes=args.minutes, max_steps=args.steps,
                      batch_size=args.batch_size, lr=args.lr, seed=args.seed, threads=args.threads,
                      export_onnx=not args.no_onnx)
    try:
        summary = train(cfg, resume=args.resume, progress=not args.no_progress,
                        log=lambda m: print(m, file=sys.stderr))
    except TrainError as exc:
        print(f"retouch train compact: {exc}", file=sys.stderr)
        return Exit.FAILED
    print(f"trained {summary['steps']} steps in {summary['minutes']} min -> {args.out}")
    return 0
