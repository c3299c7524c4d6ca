"""Words that leave the edit to the photo, and words that ask for what retouching cannot do.

"Fix the exposure", "correct the white balance", "make it look better", "touch up", an empty
instruction: the words name *what* to look at (or nothing in particular) but not which way or how
much; the photo-quality estimator (``model.estimator``) decides that. :func:`photo_attributes`
finds such clauses and the estimator attributes they name; the matcher turns them into plan items
whose direction is ``0`` and ``photo`` is ``"direction"``.

:data:`NOT_DOABLE` lists detail and geometry requests (sharpen, denoise, upscale, focus) that a
colour and tone edit cannot do; they are reported as not done rather than refused outright.
"""

from __future__ import annotations

import re

# Attributes of model.params the estimator predicts, in the order it outputs them.
ESTIMATED = ("exposure", "temperature", "tint", "contrast", "blacks", "shadows", "highlights", "saturation")
TONE = ("exposure", "contrast", "blacks", "shadows", "highlights")
COLOUR = ("temperature", "tint", "saturation")
BALANCE = ("temperature", "tint")

# Subjects a fix-verb can govern -> the estimator attributes the photo decides.
_SUBJECTS = [
    (r"white[- ]?balance|wb|colou?r[- ]balance|colou?r casts?|casts?|hue", BALANCE),
    (r"colou?r temperature|temperature|temp", ("temperature",)),
    (r"tint", ("tint",)),
    (r"exposure|exposed|brightness|lightness|luminosity", ("exposure",)),
    (r"lighting|light|lights", ("exposure", "shadows", "highlights")),
    (r"contrast|black point|blacks|black level|dynamic range", ("contrast", "blacks")),
    (r"tones?|tonality|tonal range|levels|histogram|tone curve|curves?", TONE),
    (r"saturation|vibrance|vibrancy|colou?r intensity", ("saturation",)),
    (r"shadows|shadow|dark areas|darks", ("shadows",)),
    (r"highlights|highlight|bright areas", ("highlights",)),
    (r"colou?rs?|colou?ring|colou?r correction|hues|skin tones?|skin colou?r", COLOUR),
]
_SUBJECT_RES = [(re.compile(rf"\b(?:{pat})\b"), attrs) for pat, attrs in _SUBJECTS]

# Verbs that name a problem without saying which way to go.
_FIX = re.compile(
    r"\b(?:fix|fixed|fixing|correct|corrected|correcting|correction|balance|balanced|balancing|adjust|adjusted|"
    r"adjusting|adjustment|adjustments|sort out|sort|repair|optimi[sz]e|optimi[sz]ed|normali[sz]e|even out|"
    r"equali[sz]e|get right|tweak|tweaks|tweaking|auto|automatic|auto-?correct|better|nicer|look good|looks? right|"
    r"properly|off|wrong|"
    r"weird|strange|bad|ugly|terrible|awful|uneven|inconsistent|unnatural|match|matching)\b"
)

# Whole-photo requests with no attribute named: every estimated attribute is left to the photo.
_VAGUE_ALL = re.compile(
    r"\b(?:enhance|enhanced|enhancing|enhancement|enhancements|improve|improved|improving|improvement|"
    r"better|best|nicer|prettier|beautiful|beautify|gorgeous|stunning|perfect|perfection|professional|"
    r"professionally|pro|polish|polished|touch[- ]?ups?|touch (?:it |this |the \w+ )?up|retouch|retouched|"
    r"retouching|edit|edited|editing|photoshop|fix|fixed|fixing|repair|restore|restored|restoring|"
    r"restoration|rescue|revive|salvage|clean (?:it |this |the \w+ )?up|clean|cleaner|nice|good|great|"
    r"amazing|awesome|cool looking|pop|auto|automatic|magic|aesthetic|aesthetically|quality|appealing|"
    r"attractive|vibe|wrong|missing|off|bad|ugly|dull|boring|lifeless|flat|help|instagram|facebook|"
    r"profile|wallpaper|print|printing|frame|framed|sharp|clear|clearer|clarity|crisp|vibrant|lively|life|"
    r"color correct|colour correct|colou?r grade|grading|adjust|adjustments|tweak|work on|do something|balance|"
    r"make (?:it|this) (?:look |feel )?(?:good|great|nice|right)|look right|cleanup|instagram\w*|spice|spice it up|"
    r"easier to see|see better|more visible|osm|whatever you|what you like|what you want|pic|photo|picture|image)\b"
)
# Words that alone do not make a request ("photo" needs something else from _VAGUE_ALL).
_WEAK_VAGUE = {"pic", "photo", "picture", "image", "help", "frame", "print", "profile"}

# Detail, resolution and geometry requests a colour and tone edit cannot do.
NOT_DOABLE = re.compile(
    r"\b(?:sharpen|sharpened|sharper|sharpness|sharp|de-?noise|denoising|noise|noisy|grainy|grain removal|"
    r"blur|blurry|blurred|blurriness|unblur|deblur|out of focus|focus|in focus|resolution|hi-?res|high-?res|"
    r"high definition|hd|upscale|upscaled|enlarge|pixelated|pixelation|pixels|jpeg artifacts|artifacts|"
    r"scratch|scratches|dust|crease|creases|tear|tears|torn|stain|stains|spots|blemish|blemishes|acne|"
    r"wrinkles|smooth(?:en)? (?:the )?skin|red[- ]?eye|reflection|reflections|straighten|crop|rotate|"
    r"perspective|distortion|stretch|warp|liquify|slim|thinner|taller|shorter|bigger|smaller)\b"
)


# Clarity, haze and softness: no detail edit here, but the tone part of it (contrast, black point)
# is, by as much as the photo needs ("sharpen it" also reports the sharpening as not done).
_CLARITY = re.compile(
    r"\b(?:sharpen|sharpened|sharper|sharpness|crisp|crisper|clear|clearer|clarity|clear up|define|defined|"
    r"definition|unblur|deblur|blurry|blurred|blurriness|fog|foggy|haze|hazy|dehaze|de-haze|murky|muddy|"
    r"glow|glare)\b")


def clarity(clause: str) -> bool:
    return bool(_CLARITY.search(clause))


def photo_attributes(clause: str, named: bool) -> tuple[str, ...] | None:
    """The estimator attributes a clause without direction words leaves to the photo, or None.

    ``named``: the clause names some attribute ("the colours", "the sky"). A fix-verb on a subject
    ("fix the exposure", "the colours are off") leaves that subject's attributes to the photo; a
    whole-photo request with no attribute named ("make it look better") leaves all of them.
    """
    if _FIX.search(clause):
        found = []
        for rx, attrs in _SUBJECT_RES:
            if rx.search(clause):
                found += [a for a in attrs if a not in found]
        if found:
            return tuple(found)
    if named:
        return None
    if _CLARITY.search(clause):
        return ("contrast", "blacks")
    words = {m.group(0) for m in _VAGUE_ALL.finditer(clause)}
    if words - _WEAK_VAGUE:
        return ESTIMATED
    return None


def not_doable(clause: str) -> str | None:
    """The words of a clause asking for a detail or geometry edit (None if there are none)."""
    m = NOT_DOABLE.search(clause)
    return m.group(0) if m else None


__all__ = ["BALANCE", "COLOUR", "ESTIMATED", "NOT_DOABLE", "TONE", "clarity", "not_doable", "photo_attributes"]
