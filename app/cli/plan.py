"""``retouch plan``: show what the editor understood from an instruction (or from thousands).

``retouch plan -i TEXT [--photo P] [--json]`` prints one request's reading; with ``--photo`` the
items the words leave to the photo are resolved ("exposure: from the photo (+0.45 EV)").
``retouch plan --jsonl FILE|-`` reads one instruction per line and writes one JSON object per line,
``{"instruction", "mode", "plan", "not_done", "params"}``, in one process.
"""

from __future__ import annotations

import json
import sys

from retouch_studio.app.cli.exit_codes import Exit

ENCODE_BATCH = 256
CHUNK = 1000  # instructions per encoding pass


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plan",
        help="show the attribute plan (or parameters) an instruction is understood as",
        description="Print the retouching plan for an instruction: one line per attribute with its "
        "direction (or 'from the photo' where the words leave it open), amount and confidence, what "
        "was not done, then the resulting parameters. Parameter text such as 'exposure +0.7, "
        f"temperature -10' is parsed as is. Requests with nothing doable are refused (exit {int(Exit.REFUSED)}); "
        f"text not understood as a request exits {int(Exit.NOT_UNDERSTOOD)}.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("-i", "--instruction", metavar="TEXT", help="the instruction text")
    src.add_argument("--jsonl", metavar="FILE", help="one instruction per line ('-' = stdin); one JSON object per line out")
    p.add_argument("--photo", help="resolve what the words leave to the photo on this photo")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def _proxy(path: str):
    from retouch_studio.model.imaging.decode import load_photo
    from retouch_studio.model.imaging.resize import make_proxy, to_float

    return to_float(make_proxy(load_photo(path).pixels, 512))


def _record(text: str, proxy) -> dict:
    from retouch_studio.model.engines.router import explicit_params
    from retouch_studio.model.instructions import read, resolve

    explicit_params(text)  # the router's parameter syntax: a value out of range is a ValueError here
    reading = read(text)
    out = reading.to_dict()
    if proxy is not None and reading.mode in ("plan", "auto"):
        params, items = resolve(reading, proxy)
        out["plan"], out["params"] = items, params
    if reading.message:
        out["message"] = reading.message
    return out


def run(args) -> int:
    from retouch_studio.model.imaging.errors import PhotoError

    try:
        proxy = _proxy(args.photo) if args.photo else None
    except PhotoError as exc:
        print(f"retouch plan: {exc}", file=sys.stderr)
        return 1
    if args.jsonl is not None:
        return _run_jsonl(args.jsonl, proxy)
    from retouch_studio.model.instructions.language import check_text

    text = args.instruction or ""
    try:
        check_text(text)  # no words, too long, not English: the argument is unusable
        record = _record(text, proxy)
    except ValueError as exc:  # explicit parameters out of range, unknown names
        print(f"retouch plan: {exc}", file=sys.stderr)
        return Exit.USAGE
    mode = record["mode"]
    if args.json:
        print(json.dumps(record, indent=2))
    elif mode not in ("refused", "not_understood"):
        _print_text(record)
    if mode == "refused":
        print(f"retouch plan: {record.get('message', 'refused')}", file=sys.stderr)
        return Exit.REFUSED
    if mode == "not_understood":
        print(f"retouch plan: {record['message']}", file=sys.stderr)
        return Exit.NOT_UNDERSTOOD
    return 0


def _print_text(record: dict) -> None:
    from retouch_studio.model.instructions import describe
    from retouch_studio.model.params import format_params

    mode = record["mode"]
    if mode == "auto" and not any("(" in it["label"] for it in record["plan"]):
        print("auto mode: every correction is decided from the photo (give --photo to see them)")
    elif mode in ("plan", "auto"):
        for line in describe(record["plan"]):
            print(line)
    for clause in record["not_done"]:
        print(f"not done: {clause!r} (retouching changes only tone and colour)")
    if mode in ("plan", "auto", "param"):
        print(f"params: {format_params(record['params']) or '(none)'}")


def _instructions(lines) -> list[str]:
    out = []
    for line in lines:
        line = line.rstrip("\n")
        s = line.strip()
        if s.startswith("{"):
            try:
                s = str(json.loads(s).get("instruction", ""))
            except (ValueError, AttributeError):
                pass
        elif s.startswith('"'):
            try:
                s = str(json.loads(s))
            except ValueError:
                pass
        out.append(s)
    return out


def _run_jsonl(path: str, proxy) -> int:
    from retouch_studio.model.instructions import split_clauses
    from retouch_studio.model.text_encoder import encode

    try:
        if path == "-":
            texts = _instructions(sys.stdin)
        else:
            with open(path, encoding="utf-8") as f:
                texts = _instructions(f)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"retouch plan: {path}: cannot read ({exc})", file=sys.stderr)
        return Exit.USAGE
    out = sys.stdout
    # Encode the clauses of a chunk in large batches first (the encoder's cache holds a few
    # thousand): the reading of each instruction then hits the cache.
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        clauses = list(dict.fromkeys(c for t in chunk for c in split_clauses(t)))
        for i in range(0, len(clauses), ENCODE_BATCH):
            encode(clauses[i : i + ENCODE_BATCH])
        for text in chunk:
            try:
                record = _record(text, proxy)
            except ValueError as exc:  # a parameter line out of range: said on its own line
                record = {"instruction": text, "mode": "not_understood", "plan": [], "not_done": [], "params": {},
                          "message": str(exc)}
            out.write(json.dumps(record) + "\n")
    out.flush()
    return 0
