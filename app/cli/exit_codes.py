"""The exit codes of every ``retouch`` subcommand, and the table ``retouch --help`` prints.

One table for all subcommands, so a script can tell a refused instruction from a typo or an
existing output without parsing messages. argparse itself exits with ``USAGE`` on a bad option.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    REFUSED = 3
    EXISTS = 4
    NOT_UNDERSTOOD = 5
    INTERRUPTED = 130


MEANING = {
    Exit.OK: "done",
    Exit.FAILED: "could not read a photo, mask, preset, recipe or model, or write an output "
    "(batch: a photo failed)",
    Exit.USAGE: "bad command line: unknown option, value out of range, conflicting choices",
    Exit.REFUSED: "the instruction asks for a content edit (retouching changes colour and tone only)",
    Exit.EXISTS: "an output already exists: pass --overwrite (batch: or --skip-existing)",
    Exit.NOT_UNDERSTOOD: "the instruction does not read as a retouching request; nothing was edited",
    Exit.INTERRUPTED: "interrupted (Ctrl+C)",
}


def table() -> str:
    """The exit-code table as plain text (``retouch --help`` epilog and the README)."""
    return "exit codes (every command):\n" + "\n".join(f"  {int(code):>3}  {MEANING[code]}" for code in Exit)
