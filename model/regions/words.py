"""Words that name a region: split "brighten the faces, warmer" into (region, edit) clauses.

``split_regions(text)`` cuts the instruction into clauses (commas, semicolons, "and", "but") and
takes the region phrase out of each clause that names one: "brighten the faces" -> ("faces",
"brighten"), "make the subject pop" -> ("subject", "make it pop"), "everything but the sky
darker" -> ("sky", inverted, "darker"). Clauses naming the same region are joined again; clauses
naming none stay global. Nothing here loads a model: it is pure text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Word -> region. Plural and singular, and the everyday names people use for each.
_WORDS = {
    "faces": "faces", "face": "faces",
    "skin": "skin", "skin tone": "skin", "skin tones": "skin", "complexion": "skin",
    "people": "people", "person": "people", "persons": "people", "man": "people", "woman": "people",
    "men": "people", "women": "people", "girl": "people", "boy": "people", "girls": "people",
    "boys": "people", "kid": "people", "kids": "people", "child": "people", "children": "people",
    "couple": "people", "family": "people",
    "subject": "subject", "main subject": "subject", "foreground": "subject",
    "sky": "sky", "skies": "sky", "clouds": "sky",
    "background": "background", "backdrop": "background",
}  # fmt: skip
_OWNERS = r"(?:the|her|his|their|its|my|our|your|this|that|these|those)"
_PREPS = r"(?:on|in|of|for|to|at|across)"
_EXCEPT = r"(?:everything|all|the rest)?\s*(?:but|except(?:\s+for)?|other\s+than|apart\s+from|besides)"
_TERM = "|".join(sorted((re.escape(k) for k in _WORDS), key=len, reverse=True))
_REGION = re.compile(
    rf"(?P<except>\b{_EXCEPT}\s+)?(?:\b{_PREPS}\s+)?(?:\b{_OWNERS}\s+)?\b(?P<term>{_TERM})\b(?:'s)?",
    re.IGNORECASE,
)
# A clause that only says to leave the region alone: the other clauses apply everywhere else.
_KEEP = re.compile(
    r"^(?:keep|leave|protect|preserve|not|without|except|(?:do not|don't|without) (?:touch|touching|change|changing))"
    r"(?:\s+(?:it|as is|alone|untouched|unchanged|the same))*$",
    re.IGNORECASE,
)
_CLAUSES = re.compile(r"\s*(?:[,;]|\band\b|\bbut\b(?!\s+(?:the|her|his|their|its|my|our|your)\b))\s*", re.IGNORECASE)


@dataclass(frozen=True)
class RegionClause:
    """One part of an instruction: its edit ``text`` and the ``region`` it is limited to.

    region "" = the whole photo; ``invert`` = everywhere except the region.
    """

    text: str
    region: str = ""
    invert: bool = False
    phrase: str = ""


def find_region(clause: str) -> RegionClause:
    """The region named in one clause (the first one), and the clause without that phrase."""
    m = _REGION.search(clause)
    if m is None:
        return RegionClause(clause.strip())
    region = _WORDS[m.group("term").lower()]
    before, after = clause[: m.start()].strip(), clause[m.end():].strip(" :-")
    # "make the subject pop" -> "make it pop"; "brighten the faces" -> "brighten"
    if before and after and not after.lower().startswith(("a bit", "a little", "slightly", "much", "more", "less", "by ")):
        text = f"{before} it {after}"
    else:
        text = f"{before} {after}".strip()
    return RegionClause(text.strip(" ,"), region, bool(m.group("except")), m.group(0).strip())


def split_regions(text: str, default_region: str = "") -> list[RegionClause]:
    """Clauses of ``text`` grouped by region, in order of first mention.

    ``default_region`` limits the clauses that name no region (``retouch --mask-region``).
    A text that names no region comes back as one clause with region ``default_region``.
    """
    clauses = [find_region(part) for part in _CLAUSES.split(text or "") if part.strip()]
    if not any(c.region for c in clauses):
        return [RegionClause((text or "").strip(), default_region)]
    keep = [c for c in clauses if c.region and _KEEP.match(c.text)]
    if keep:  # "lift the shadows but keep the sky": the rest applies everywhere but the sky
        clauses = [c for c in clauses if c not in keep]
        clauses = [RegionClause(c.text, keep[0].region, True, keep[0].phrase) if not c.region else c for c in clauses]
    groups: dict[tuple[str, bool], list[str]] = {}
    phrases: dict[tuple[str, bool], str] = {}
    for clause in clauses:
        key = (clause.region or default_region, clause.invert)
        if clause.text:
            groups.setdefault(key, []).append(clause.text)
        else:
            groups.setdefault(key, [])
        phrases.setdefault(key, clause.phrase)
    return [RegionClause(", ".join(texts), region, invert, phrases[(region, invert)]) for (region, invert), texts in groups.items()]


def names_a_region(text: str) -> bool:
    return _REGION.search(text or "") is not None
