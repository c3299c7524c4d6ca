"""``retouch plan -i TEXT [--json]``: show what the editor understood from an instruction."""

from __future__ import annotations

import json
import sys

from retouch_studio.app.cli import options
from retouch_studio.app.cli.exit_codes import Exit


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plan",
        help="show the attribute plan (or parameters) an instruction is understood as",
        description="Print the retouching plan for an instruction: one line per attribute with its "
        "direction, amount and confidence, then the resulting parameters. Parameter text such as "
        "'exposure +0.7, temperature -10' is parsed as is. Content edits are refused (exit 3).",
    )
    options.add_instruction(p, required=True, auto='"" = auto mode')
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args) -> int:
    from retouch_studio.model.engines.router import AUTO, PARAM, route
    from retouch_studio.model.instructions import ContentEditError, describe, plan_to_params
    from retouch_studio.model.instructions.language import InstructionError
    from retouch_studio.model.params import format_params

    text = args.instruction or ""
    try:
        r = route(text)
        r.raise_if_refused()
    except InstructionError as exc:  # no words, too long, not English: the argument is unusable
        print(f"retouch plan: {exc}", file=sys.stderr)
        return Exit.USAGE
    except ContentEditError as exc:
        if args.json:
            print(json.dumps({"instruction": text, "refused": True, "error": str(exc)}))
        print(f"retouch plan: {exc}", file=sys.stderr)
        return Exit.REFUSED
    except ValueError as exc:
        print(f"retouch plan: {exc}", file=sys.stderr)
        return Exit.USAGE
    items = [dict(item) for item in r.items]
    params = None if r.kind == AUTO else dict(r.params) if r.kind == PARAM else plan_to_params(items)
    if args.json:
        print(json.dumps({"instruction": text, "mode": r.kind, "plan": items, "params": params}, indent=2))
        return 0
    if r.kind == AUTO:
        print("auto mode: exposure, white balance and contrast are corrected from the photo itself")
        return 0
    if r.kind != PARAM:
        if not items:
            print("no retouching attribute recognised")
        for line in describe(items):
            print(line)
    print(f"params: {format_params(params) or '(none)'}")
    return 0
