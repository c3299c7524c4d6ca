"""The error of an instruction that asks to change what is in the picture (a content edit)."""

from __future__ import annotations

MESSAGE = (
    "cannot do {what!r}: retouching changes only the tone and colour of the photo "
    "(brightness, contrast, colour balance, saturation, styles); it cannot add, remove, replace or "
    "reshape what is in the picture"
)


class ContentEditError(ValueError):
    """The instruction asks for a content (or geometry) edit, which retouching cannot do."""

    def __init__(self, instruction: str, reason: str):
        self.instruction = instruction
        self.reason = reason
        super().__init__(MESSAGE.format(what=instruction.strip()) + f" ({reason})")
