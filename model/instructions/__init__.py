"""Understanding instructions: attribute plan, styles, refusal of content edits, auto mode.

Public API::

    plan(text) -> list[{attribute, direction, label, amount, confidence, clause, source}]
    plan_to_params(plan) -> {param: value}           # model.params names
    read(text) -> Reading(mode, plan, not_done, params)  # plan | auto | param | refused | not_understood
    resolve(reading, proxy) -> (params, plan)        # items left open by the words decided by the photo
    check_instruction(text)                          # ContentEditError: nothing doable; NotUnderstoodError
    auto_params(proxy) -> {param: value}             # empty instruction
    visible_params(params, plan, proxy) -> {param: value}  # worded edits scaled to show on this photo
    STYLES, style_params(name, amount)               # style presets as parameter dicts
"""

from retouch_studio.model.instructions.auto import auto_params
from retouch_studio.model.instructions.bank import ATTRIBUTES, BANK, Attribute
from retouch_studio.model.instructions.language import InstructionError, check_text
from retouch_studio.model.instructions.matcher import describe, plan, plan_to_params, split_clauses
from retouch_studio.model.instructions.errors import ContentEditError
from retouch_studio.model.instructions.reading import MODES, NotUnderstoodError, Reading, check_instruction, is_content_edit, params_for, read, resolve
from retouch_studio.model.instructions.styles import STYLES, Style, style_params
from retouch_studio.model.instructions.visible import visible_params

__all__ = [
    "ATTRIBUTES", "BANK", "Attribute", "ContentEditError", "InstructionError", "MODES", "NotUnderstoodError", "Reading",
    "STYLES", "Style", "auto_params", "check_text", "params_for", "read", "resolve",
    "check_instruction", "describe", "is_content_edit", "plan", "plan_to_params", "split_clauses",
    "style_params", "visible_params",
]
