"""How an instruction names a learned style: ``"style: wedding"`` or ``"style: wedding, a bit warmer"``.

This text is what a layer, a preset, a sidecar or the command line (``--style NAME``) stores, so
a style goes wherever an instruction goes. The words after the name are an ordinary instruction
applied on top of the style.
"""

from __future__ import annotations

import re

# Names become folder names and sit in instructions: no separators, no clause punctuation.
NAME_RE = re.compile(r"^[^/\\:*?\"<>|,;\x00-\x1f.][^/\\:*?\"<>|,;\x00-\x1f]{0,63}$")
_REFERENCE = re.compile(r"^\s*style\s*:\s*(?P<name>[^,;]+?)\s*(?:[,;]\s*(?P<words>.*))?$", re.IGNORECASE | re.DOTALL)


def check_style_name(name: str) -> str:
    """``name`` if it can name a style, else ValueError saying what is allowed."""
    if not isinstance(name, str) or name != name.strip() or not NAME_RE.match(name):
        raise ValueError(
            f"invalid style name {name!r}: 1-64 characters, no path separators, commas, semicolons "
            "or colons, no leading dot or surrounding spaces"
        )
    return name


def style_instruction(name: str, words: str = "") -> str:
    """The instruction text that applies style ``name`` and then ``words``."""
    check_style_name(name)
    words = (words or "").strip()
    return f"style: {name}, {words}" if words else f"style: {name}"


def split_style_reference(text: str | None) -> tuple[str | None, str]:
    """``(style name or None, the remaining words)`` of an instruction."""
    m = _REFERENCE.match(text or "")
    if m is None:
        return None, (text or "")
    return m.group("name"), (m.group("words") or "").strip()
