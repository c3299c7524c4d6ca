"""The ``retouch`` command line.

Each subcommand lives in its own module, which exposes ``register(subparsers)`` (and, for
training engines, ``register_train(train_subparsers)``); the parser it adds sets
``func=callable(args) -> int`` as its default. This file only assembles them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from retouch_studio.app.cli.exit_codes import Exit, table

# Modules that add top-level subcommands, in help order.
COMMAND_MODULES = (
    "retouch_studio.app.cli.apply",  # apply
    "retouch_studio.app.cli.batch",  # batch
    "retouch_studio.app.cli.plan",  # plan
    "retouch_studio.app.presets",  # presets
    "retouch_studio.app.cli.export_lut",  # export-lut
    "retouch_studio.app.cli.style",  # style
)
# Modules that add `retouch train <engine>` subcommands.
TRAIN_MODULES = (
    "retouch_studio.app.cli.train_compact",  # train compact
    "retouch_studio.model.paper.cli",  # train teacher / train distill
)


def _optional_import(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only a missing module of our own is tolerated (work in progress); a missing
        # dependency inside it is a real error.
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retouch",
        description="Retouch Studio: language-driven, content-faithful photo retouching.",
        epilog=table() + "\n\n'retouch COMMAND --help' lists a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = _optional_import(name)
        if module is not None:
            module.register(sub)
    train = sub.add_parser("train", help="train a model (compact default model, paper model)")
    train_sub = train.add_subparsers(dest="engine", metavar="ENGINE")
    for name in TRAIN_MODULES:
        module = _optional_import(name)
        if module is not None:
            module.register_train(train_sub)
    train.set_defaults(func=lambda args: (train.print_help(), Exit.USAGE)[1])
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("retouch-studio")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else Exit.USAGE
    if not getattr(args, "func", None):
        parser.print_help()
        return Exit.USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("retouch: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
