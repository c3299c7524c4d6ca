"""``retouch train teacher | distill | pairs`` - the paper model's training commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from retouch_studio.model.paper.config import PaperError


def _common(p: argparse.ArgumentParser, saved_config_in: str | None) -> None:
    p.add_argument("--data", required=True, type=Path, metavar="DIR", help="training folder with pairs.jsonl")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    p.add_argument("--max-steps", type=int, default=1000, metavar="N", help="optimisation steps (default 1000)")
    p.add_argument("--tiny", action="store_true", help="random tiny networks: CPU smoke run, no weights")
    p.add_argument("--save-every", type=int, metavar="N", help="also save OUT/checkpoint-STEP every N steps")
    default = f"built-in, or the one saved in {saved_config_in}" if saved_config_in else "built-in"
    p.add_argument("--config", type=Path, metavar="FILE",
                   help=f"paper_config.json with hyperparameters (default: {default})")


def register_train(train_subparsers) -> None:
    t = train_subparsers.add_parser(
        "teacher", help="paper model: fine-tune the InstructPix2Pix-style teacher (eq. 1)",
        description="Fine-tune the multi-step teacher UNet on (input, target, instruction) triplets.",
    )
    _common(t, None)
    t.add_argument("--base", type=Path, metavar="DIR", help="local diffusers folder (instruct-pix2pix or SD layout)")
    t.set_defaults(func=_run_teacher)

    d = train_subparsers.add_parser(
        "distill", help="paper model: one-step bilateral distillation, stage 1 or 2 (eqs. 9-10)",
        description="Distil the teacher into the one-step bilateral generator. Stage 2's output folder "
        "is a model folder for `retouch apply --model DIR`.",
    )
    _common(d, "--init / --teacher")
    d.add_argument("--stage", type=int, choices=(1, 2), required=True)
    d.add_argument("--teacher", type=Path, metavar="DIR", help="teacher folder from `train teacher` (default: --base)")
    d.add_argument("--base", type=Path, metavar="DIR", help="local diffusers folder used as teacher if --teacher is absent")
    d.add_argument("--init", type=Path, metavar="DIR", help="stage-1 output to start stage 2 from (or resume stage 1)")
    d.add_argument("--clip", type=Path, metavar="DIR", help="local CLIP folder (CLIPModel + tokenizer) for the alignment loss")
    d.set_defaults(func=_run_distill)

    m = train_subparsers.add_parser(
        "pairs", help="paper model: make a training folder from photos by random degradation",
    )
    m.add_argument("--photos", required=True, type=Path, metavar="DIR", help="folder of photos (the targets)")
    m.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    m.add_argument("--count", type=int, default=100, metavar="N", help="pairs to make (default 100)")
    m.add_argument("--size", type=int, default=512, metavar="PX", help="long edge of each pair (default 512)")
    m.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    m.add_argument("--source", choices=("simple", "synth"), default="simple",
                   help="simple photometric degradations, or the default model's synthesis (model.synth)")
    m.set_defaults(func=_run_pairs)


def _fail(exc: Exception) -> int:
    print(f"retouch train: {exc}", file=sys.stderr)
    return 2


def _check_steps(args) -> None:
    if args.max_steps < 1:
        raise PaperError("--max-steps must be >= 1")
    if args.base is not None and not args.base.is_dir():
        raise PaperError(f"--base {args.base} does not exist")


def _config(args):
    if args.config is None:
        return None
    from retouch_studio.model.paper.config import PaperConfig  # noqa: PLC0415

    if not args.config.is_file():
        raise PaperError(f"--config {args.config} does not exist")
    return PaperConfig.load(args.config)


def _run_teacher(args) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from retouch_studio.model.paper.data import DataError  # noqa: PLC0415 - heavy imports only when training
    from retouch_studio.model.paper.teacher import train_teacher  # noqa: PLC0415

    try:
        _check_steps(args)
        out = train_teacher(args.data, args.out, args.max_steps, tiny=args.tiny, base=args.base,
                            config=_config(args), save_every=args.save_every)
    except (PaperError, DataError) as exc:
        return _fail(exc)
    print(f"teacher saved to {out}")
    return 0


def _run_distill(args) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from retouch_studio.model.paper.data import DataError  # noqa: PLC0415
    from retouch_studio.model.paper.distill import train_distill  # noqa: PLC0415

    try:
        _check_steps(args)
        teacher = args.teacher or args.base
        if teacher is None:
            raise PaperError("distillation needs a teacher: pass --teacher DIR (or --base DIR)")
        for flag, path in (("--teacher", teacher), ("--init", args.init), ("--clip", args.clip)):
            if path is not None and not Path(path).is_dir():
                raise PaperError(f"{flag} {path} does not exist")
        out = train_distill(args.stage, args.data, args.out, args.max_steps, teacher=teacher, init=args.init,
                            clip=args.clip, tiny=args.tiny, config=_config(args), save_every=args.save_every)
    except (PaperError, DataError) as exc:
        return _fail(exc)
    print(f"stage {args.stage} saved to {out}" + (" (model folder: retouch apply --model DIR)" if args.stage == 2 else ""))
    return 0


def _run_pairs(args) -> int:
    from retouch_studio.model.paper.data import DataError, make_pairs  # noqa: PLC0415

    try:
        out = make_pairs(args.photos, args.out, args.count, args.size, args.seed, args.source)
    except DataError as exc:
        return _fail(exc)
    print(f"wrote {args.count} pairs to {out}")
    return 0
