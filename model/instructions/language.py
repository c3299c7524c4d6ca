"""Can this text be read at all? Checked at the entry of planning, before any edit is decided.

Only English instructions are understood: an instruction in another language (another script,
or mostly another language's words) is refused with a message saying so, and nothing is edited,
instead of being matched word by word into arbitrary edits. Text that is not valid UTF-8, is
longer than :data:`model.schema.MAX_INSTRUCTION_CHARS`, or has no words at all is refused too.
"""

from __future__ import annotations

import re
import unicodedata

from retouch_studio.model.schema import MAX_INSTRUCTION_CHARS

from retouch_studio.model.instructions.errors import ContentEditError


class InstructionError(ContentEditError):
    """The instruction cannot be read (language, encoding, length, no words); nothing is edited."""

    def __init__(self, instruction: str, reason: str):
        self.instruction = instruction
        self.reason = reason
        ValueError.__init__(self, reason)


_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Frequent words of the languages people most often try, that are not English words.
_FOREIGN = frozenset(
    """
    le la les des du une et avec sans pour plus moins très rendre rends mettre chaude chaud froid
    froide lumineuse lumineux sombre couleurs couleur plutôt peu trop
    el los las una más menos muy hacer haz cálido cálida frío fría brillante oscuro oscura colores
    der die das und mehr weniger mit ohne bitte heller dunkler wärmer kälter machen mach ein eine
    bild farben etwas
    il gli più meno rendi caldo calda freddo fredda luminoso scuro colori
    mais sem uma deixe deixar quente frio claro escuro cores pouco
    het een meer minder maak warmere koeler helderder donkerder kleuren
    """.split()
)
_ENGLISH = frozenset(
    """
    the a an and or make more less it its with but please photo picture image bit little too very
    of to in on this my up down some lot slightly much not than brighter darker warmer cooler add
    """.split()
)


def check_text(text: object) -> str:
    """Return ``text`` if it can be planned; raise :class:`InstructionError` otherwise
    (TypeError for what is not a string). The empty instruction (auto mode) passes.
    """
    if not isinstance(text, str):
        raise TypeError(f"an instruction is text, not {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InstructionError(
            text.encode("utf-8", "replace").decode("utf-8"), "the instruction is not valid UTF-8 text"
        ) from None
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise InstructionError(
            text[:40], f"the instruction is {len(text):,} characters long; at most {MAX_INSTRUCTION_CHARS:,} are read"
        )
    if not text.strip():
        return text
    words = _WORD.findall(text)
    if not words:
        raise InstructionError(text, "the instruction has no words (say what to change, e.g. 'warmer')")
    if not _english(words):
        raise InstructionError(text, "only English is understood; nothing was edited (say it in English)")
    return text


def _english(words: list[str]) -> bool:
    letters = [c for w in words for c in w]
    other = sum(1 for c in letters if not _latin(c))
    if other and other >= 0.3 * len(letters):
        return False
    lower = [w.lower() for w in words]
    foreign = sum(1 for w in lower if w in _FOREIGN or any(ord(c) > 0x7F for c in w))
    english = sum(1 for w in lower if w in _ENGLISH)
    return not (foreign >= 2 and foreign > english)


def _latin(c: str) -> bool:
    if ord(c) < 0x250:  # Basic Latin, Latin-1, Latin Extended-A/B
        return True
    return "LATIN" in unicodedata.name(c, "")
