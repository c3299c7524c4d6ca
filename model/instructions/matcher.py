"""Instruction -> plan of atomic attributes ``{attribute, direction, amount, confidence}``.

How a plan is made:

1. The instruction is split into clauses on commas, "and", "but", "with", ... (phrases such as
   "black and white" or "teal and orange" are protected first).
2. In each clause, word rules find the attributes it names: *subjects* ("the shadows", "the sky",
   "vignette", a style name) and *pole words* ("warmer", "darker", "punchy"). Per-hue attributes
   need a subject; a subject binds the pole words next to it ("brighter shadows" is the shadows
   attribute, not exposure).
3. Every attribute also gets a MiniLM similarity between the clause and its prompts; it ranks the
   rule candidates and, when no rule fires, picks the attribute alone (paraphrases such as "bring
   back the detail in the sky").
4. The direction comes from rules, not from cosine similarity (MiniLM puts "warmer" next to
   "cooler"): the pole word's sign, times "more"/"less"-type modifiers, flipped by negation
   ("not", "don't", "without") and by complaints ("too warm" means make it less warm). Only when no
   word decides, the clause is compared with the attribute's up and down prompts (antonym pairs).
5. Intensity words set the amount: "slightly"/"a bit" 0.3, default 0.6, "much"/"very" 1.0.

The embeddings of the bank are computed once per process and cached; a plan for a new instruction
costs one MiniLM call for its clauses (cached per clause).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retouch_studio.model.params import PARAMS, SPECS, check_params
from retouch_studio.model.instructions.bank import ATTRIBUTES, BANK, Attribute
from retouch_studio.model.instructions.vague import ESTIMATED, clarity, photo_attributes

AMOUNT_SMALL = 0.3
AMOUNT_DEFAULT = 0.6
AMOUNT_LARGE = 1.0
AMOUNT_TOO = 0.5

PROTECTED = ("black and white", "black & white", "b&w", "b & w", "b/w", "teal and orange", "orange and teal", "bright and airy",
            "light and airy", "dark and moody", "teal & orange", "orange & teal", "cool shadows and warm highlights",
            "shadows and warm highlights", "salt and pepper", "lights and darks", "darks and lights")
# "lighten it so the stars are visible": a purpose clause says why, and its words ("the sky") must
# not steer the edit before it.
_SPLIT = re.compile(r"[,;.!?]|\b(?:and|but|while|with|also|then|plus|as well as|whereas|yet)\b|&"
                    r"|\bso (?=(?:that|you|the|it|we|i|they|he|she|my|our|everyone|people)\b)")

_NEGATION = re.compile(r"\b(?:not|no|never|without|avoid|nothing|don't|dont|do not|doesn't|isn't|shouldn't|"
                       r"mustn't|won't|un-?)\b|n't\b")
_TOO = re.compile(r"\b(?:too|overly|excessively|over-)\b")
# Attributes a "keep ..." / "not too ..." constraint can hold (model.instructions.visible.TARGETS).
CONSTRAINED = ("exposure", "contrast", "temperature", "tint", "saturation", "shadows", "highlights", "blacks", "whites")
_POP = re.compile(r"^(?:please |pls |can you |could you )?(?:make |let )?(?:it|this|the (?:photo|image|picture|pic|shot))? ?pop\b")
_KEEP = re.compile(r"\b(?:keep|preserve|maintain|leave|retain|don't (?:change|touch)|do not (?:change|touch))\b")
_SMALL = re.compile(r"\b(?:slightly|slight|a bit|a little|little bit|a touch|touch of|a tad|tad|somewhat|subtle|"
                    r"subtly|gently|gentle|mildly|mild|marginally|hint of|a hint|bit|light touch|softly|tiny|lightly|"
                    r"a smidge|kind of|a little more|just a)\b")
_LARGE = re.compile(r"\b(?:much|very|a lot|lots|really|strongly|significantly|dramatically|way|heavily|extremely|"
                    r"super|far|hugely|massively|seriously|considerably|drastically|substantially|a ton|"
                    r"intensely|totally|completely|fully|very much|way more|so much|strong|heavy|big|maximum|max)\b")
_INC = re.compile(r"\b(?:more|increase|increased|increasing|boost|boosted|raise|raised|add|adding|enhance|enhanced|"
                  r"stronger|higher|up|pump|pump up|intensify|extra|amplify|bump|bump up|heighten|push|strengthen|"
                  r"emphasize|emphasise|accentuate|bring out|turn up|crank up|maximize|improve)\b")
_DEC = re.compile(r"\b(?:less|reduce|reduced|reducing|decrease|decreased|lower|lowered|tone down|toned down|weaker|"
                  r"remove|cut|drop|fewer|minimize|minimise|subtler|down|tame|dial back|dial down|pull back|"
                  r"turn down|get rid of|lessen|diminish|limit|eliminate|kill|drop the|take away|neutralize|"
                  r"neutralise|correct|fix|take out|pull out|strip out)\b")
_WEAK_SUBJECTS = {"colours", "colors", "colour", "color", "tones", "tonal", "hues"}
# "cool it down", "warm it up": particles, not "less"/"more", once a pole word is named.
_PARTICLES = {"up", "down"}
# A clause that describes the photo ("the colours are garish") or asks for a fix ("fix the blown
# highlights"): excess words then decide the direction.
_DESCRIBE = re.compile(r"\b(?:is|are|was|were|looks?|looking|seems?|feels?|appears?|it's|they're|has|have|got|"
                       r"getting|too|overly|so|fix|correct|repair|recover|rescue|tame|neutrali[sz]e|calm|reduce|"
                       r"remove|get rid of|tone down|can't|cannot|no|made|came out|its|kinda|kind of|bit)\b|'s\b|'re\b")
# "... without touching the highlights": the tail names what must not change.
_LEAVE_ALONE = re.compile(r"\s*\b(?:without|but not|while not|and not|not) (?:touching|changing|affecting|altering|"
                          r"messing with|moving|hurting|blowing out|losing|clipping|darkening|brightening|"
                          r"lightening|ruining|shifting)\b.*$")
_FIX_ONLY = re.compile(r"^(?:please )?(?:fix|correct|neutrali[sz]e|balance|sort out|adjust|repair)\b")
_PRONOUN = re.compile(r"\b(?:it|them|that|those|this|they|these)\b")
_FIX_VERB = re.compile(r"\b(?:fix|correct|neutrali[sz]e|get rid of|remove|sort|deal with|tame|recover|rescue|"
                       r"back|calm|reduce|lose|kill|clean|balance|repair|counter|cancel)\b")
_PLURAL_PRONOUN = re.compile(r"\b(?:them|those|they|these)\b")


def _phrase_regex(phrases) -> re.Pattern | None:
    phrases = sorted({p.lower() for p in phrases}, key=len, reverse=True)
    if not phrases:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in phrases) + r")(?![\w-])")


@dataclass(frozen=True)
class _Compiled:
    attr: Attribute
    subjects: re.Pattern | None
    up: re.Pattern | None
    down: re.Pattern | None
    excess_up: re.Pattern | None
    excess_down: re.Pattern | None


_COMPILED = [
    _Compiled(a, _phrase_regex(a.subjects), _phrase_regex(a.up_words), _phrase_regex(a.down_words),
              _phrase_regex(a.excess_up), _phrase_regex(a.excess_down))
    for a in ATTRIBUTES
]
_INDEX = {a.name: i for i, a in enumerate(ATTRIBUTES)}

# ---- bank embeddings -------------------------------------------------------------------------

_lock = threading.Lock()
_bank = None
# Precomputed MiniLM embeddings of the bank prompts (float16), keyed by a hash of the prompt list;
# a stale file is ignored and the prompts are encoded at first use instead.
BANK_CACHE = Path(__file__).resolve().parent / "bank_embeddings.npz"


def _bank_prompts() -> tuple[list[str], np.ndarray, np.ndarray]:
    texts, owner, pole = [], [], []
    for i, a in enumerate(ATTRIBUTES):
        for t in a.up_prompts:
            texts.append(t)
            owner.append(i)
            pole.append(1)
        for t in a.down_prompts:
            texts.append(t)
            owner.append(i)
            pole.append(-1)
    return texts, np.asarray(owner), np.asarray(pole)


def _prompts_key(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


def _load_cache(texts: list[str]) -> np.ndarray | None:
    try:
        with np.load(BANK_CACHE) as z:
            if str(z["key"]) != _prompts_key(texts) or z["emb"].shape[0] != len(texts):
                return None
            emb = z["emb"].astype(np.float32)
    except (OSError, KeyError, ValueError):
        return None
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def write_bank_cache(path: Path = BANK_CACHE) -> Path:
    """Encode the bank prompts and store them (run after editing the bank)."""
    from retouch_studio.model.text_encoder import encode

    texts, _, _ = _bank_prompts()
    np.savez_compressed(path, key=np.asarray(_prompts_key(texts)), emb=encode(texts).astype(np.float16))
    return path


def bank_embeddings():
    """(E (M, 384), owner (M,) attribute index, pole (M,) +1 up / -1 down prompt), cached."""
    global _bank
    if _bank is None:
        with _lock:
            if _bank is None:
                texts, owner, pole = _bank_prompts()
                emb = _load_cache(texts)
                if emb is None:
                    from retouch_studio.model.text_encoder import encode

                    emb = encode(texts)
                _bank = (emb, owner, pole)
    return _bank


def _attribute_similarities(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per attribute: best similarity overall, best over up prompts, best over down prompts."""
    E, owner, pole = bank_embeddings()
    sims = E @ q
    n = len(ATTRIBUTES)
    best = np.full(n, -1.0)
    up = np.full(n, -1.0)
    down = np.full(n, -1.0)
    np.maximum.at(best, owner, sims)
    np.maximum.at(up, owner[pole > 0], sims[pole > 0])
    np.maximum.at(down, owner[pole < 0], sims[pole < 0])
    return best, up, down


# ---- clause analysis -------------------------------------------------------------------------


def normalise(text: str) -> str:
    t = text.lower().replace("’", "'")
    t = re.sub(r"\b(black|white|teal|orange)-and-(white|black|orange|teal)\b", r"\1 and \2", t)
    t = re.sub(r"\s+", " ", t)
    return t.strip()


def split_clauses(text: str) -> list[str]:
    """Split a compound instruction into clauses ("warmer, more contrast and less saturation")."""
    t = normalise(text)
    protected = {}
    for i, phrase in enumerate(PROTECTED):
        if phrase in t:
            key = f"qq{i}qq"
            protected[key] = phrase
            t = t.replace(phrase, key)
    parts = []
    for p in _SPLIT.split(t):
        p = p.strip(" -")
        for key, phrase in protected.items():
            p = p.replace(key, phrase)
        if not p:
            continue
        # "the shadows look grey, deepen them", "there's a pink cast, get rid of it": a follow-up
        # that only points back at the previous clause belongs to it.
        if parts and (_PRONOUN.search(p) and len(p.split()) <= 6 and _is_follow_up(p)
                      or len(p.split()) == 1 and (_TOO.search(parts[-1]) or _DESCRIBE.search(parts[-1]))):
            parts[-1] = f"{parts[-1]} {p}"
        else:
            parts.append(p)
    return parts


def _is_follow_up(clause: str) -> bool:
    hits = _lexical_hits(clause)
    if any(h.subject for h in hits):
        return False
    # "them"/"those" always point back; "it"/"that" only in a bare fix ("fix it", "get rid of
    # it"), not in a request of its own ("make it warmer", "give it more light").
    return bool(_PLURAL_PRONOUN.search(clause)) or not hits and bool(_FIX_VERB.search(clause))


def _spans(pattern: re.Pattern | None, text: str) -> list[tuple[int, int, str]]:
    if pattern is None:
        return []
    return [(m.start(), m.end(), m.group(0)) for m in pattern.finditer(text)]


def _outside(spans, blocked) -> list:
    return [s for s in spans if not any(s[0] < b[1] and b[0] < s[1] for b in blocked)]


@dataclass
class _Hit:
    index: int
    subject: list
    up: list
    down: list
    excess: int = 0  # -1 / +1: the direction an excess word fixes (0: none)
    excess_words: list = ()

    @property
    def attr(self) -> Attribute:
        return ATTRIBUTES[self.index]


def _lexical_hits(clause: str) -> list[_Hit]:
    hits = []
    describes = bool(_DESCRIBE.search(clause))
    subjects = [_spans(c.subjects, clause) for c in _COMPILED]
    for i, c in enumerate(_COMPILED):
        subj = subjects[i]
        # A word inside another attribute's subject ("the yellow flowers") is not a pole word.
        foreign = [s for j, spans in enumerate(subjects) if j != i and _COMPILED[j].attr.group == "hsl"
                   for s in spans if not any(s[0] <= o[0] and o[1] <= s[1] for o in subj)]
        if (c.attr.group == "hsl" or c.attr.needs_subject) and not subj:
            continue  # per-hue and tone-range edits need the range (or a scene word) named
        ex_up = _spans(c.excess_up, clause) if describes else []
        ex_down = _spans(c.excess_down, clause) if describes else []
        excess, ex_words = 0, []
        if ex_up or ex_down:
            excess = -1 if len(ex_up) >= len(ex_down) else 1
            ex_words = ex_up + ex_down
        up = _outside(_outside(_spans(c.up, clause), subj + ex_words), foreign)
        down = _outside(_outside(_spans(c.down, clause), subj + ex_words), foreign)
        if excess:
            # The excess fixes the direction; the pole words stay claimed by this attribute
            # ("can't see the shadows, brighten them" is one shadows edit, not also exposure).
            up, down = (up + down + ex_words, []) if excess > 0 else ([], up + down + ex_words)
        if subj or up or down:
            hits.append(_Hit(i, subj, up, down, excess, ex_words))
    return hits


def _hsl_channel(clause: str, hits: list[_Hit]) -> list[_Hit]:
    """Among hits on the same hue, keep the one channel the clause talks about."""
    by_hue: dict[str, list[_Hit]] = {}
    rest = []
    for h in hits:
        if h.attr.group == "hsl":
            by_hue.setdefault(h.attr.meta["hue"], []).append(h)
        else:
            rest.append(h)
    chosen = []
    for hue, group in by_hue.items():
        channel = {h.attr.meta["channel"]: h for h in group}
        hue_hit = channel.get("hue")
        if hue_hit is not None and (hue_hit.up or hue_hit.down) and (re.search(
            r"\b(?:towards?|shift|hue|more like|-ish|ish)\b", clause
        ) or any(_governs(clause, t, hue_hit.up + hue_hit.down) for t in _spans(_TOO, clause))):
            chosen.append(channel["hue"])
        elif "lum" in channel and (channel["lum"].up or channel["lum"].down):
            chosen.append(channel["lum"])
        elif "sat" in channel:
            chosen.append(channel["sat"])
    return rest + chosen


def _direction(clause: str, hit: _Hit | None, attr: Attribute, emb_up: float, emb_down: float,
               blocked: list) -> tuple[int, str]:
    """(direction, how) for one attribute in one clause."""
    pole = 0
    if hit is not None:
        ups, downs = hit.up, hit.down
        if ups and not downs:
            pole = 1
        elif downs and not ups:
            pole = -1
        elif ups and downs:
            # Both poles named ("lighter, not darker" in one clause): the later word wins.
            pole = 1 if max(s[0] for s in ups) > max(s[0] for s in downs) else -1
        blocked = blocked + hit.subject + hit.up + hit.down
    if hit is not None and hit.excess:
        return hit.excess, "rule"
    inc = _outside(_spans(_INC, clause), blocked)
    dec = _outside(_spans(_DEC, clause), blocked)
    pole_spans = (hit.up if pole > 0 else hit.down) if pole else []
    if pole:
        # Only a modifier right before the pole word changes it ("less harsh"); a verb elsewhere
        # ("lower the contrast for a gentler look") says the same thing as the pole word.
        inc = [m for m in inc if m[2] not in _PARTICLES and _governs(clause, m, pole_spans)]
        dec = [m for m in dec if m[2] not in _PARTICLES and _governs(clause, m, pole_spans)]
    elif inc and dec:
        # "push the shadows down", "bring it up": the particle decides.
        parts_inc = [m for m in inc if m[2] in _PARTICLES]
        parts_dec = [m for m in dec if m[2] in _PARTICLES]
        if parts_dec and not parts_inc:
            inc = []
        elif parts_inc and not parts_dec:
            dec = []
    lessen = {m[2] for m in dec} & _LESS_SHADOW
    inc, dec = bool(inc), bool(dec)
    mod = 0 if inc == dec else (1 if inc else -1)
    if attr.name == "shadows" and not pole and mod < 0 and lessen:
        mod = 1  # "reduce the shadows", "remove the shadows": less shadow is lighter shadows
    if pole:
        direction, how = pole * (mod or 1), "rule"
    elif mod:
        direction, how = mod, "rule"
    elif attr.bipolar and emb_up > -1 and emb_down > -1 and abs(emb_up - emb_down) > 0.02:
        direction, how = (1 if emb_up > emb_down else -1), "embedding"
    else:
        direction, how = 1, "default"
    negated = bool(_NEGATION.search(clause))
    too = _spans(_TOO, clause)
    # "too" turns the pole word it stands before ("too warm", "way too orange"), not a verb
    # elsewhere ("skin tones are too orange, desaturate them"); with no pole word it turns the default.
    too_applies = bool(too) and (not pole_spans or any(
        _next_pole(t, hit) in pole_spans and _governs(clause, t, [_next_pole(t, hit)]) for t in too))
    if negated or too_applies:
        direction = -direction
    return direction, how


def _next_pole(span: tuple, hit: _Hit) -> tuple | None:
    """The first pole word of ``hit`` after ``span`` (None if there is none)."""
    after = [p for p in hit.up + hit.down if p[0] >= span[1]]
    return min(after) if after else None


def _governs(clause: str, modifier: tuple, poles: list) -> bool:
    """Whether ``modifier`` comes right before one of the pole words (at most 2 words between)."""
    for p in poles:
        if modifier[1] <= p[0] and len(clause[modifier[1] : p[0]].split()) <= 2:
            return True
    return False


def _amount(clause: str) -> float:
    negated = bool(_NEGATION.search(clause))
    too = bool(_TOO.search(clause))
    if too and negated:
        return AMOUNT_SMALL
    if _SMALL.search(clause):
        return AMOUNT_SMALL
    if _LARGE.search(clause):
        return AMOUNT_LARGE
    if too:
        return AMOUNT_TOO
    return AMOUNT_DEFAULT


EMBED_ACCEPT = 0.45  # similarity an attribute needs when no rule names it

# ---- whole-photo colour casts, "towards <colour>", "remove all colour" -------------------------

# Colour word -> (global attribute, pole). A cast of that colour is removed by going the other way.
_CAST_COLOURS = {
    "green": ("tint", -1), "greenish": ("tint", -1), "greeny": ("tint", -1), "olive": ("tint", -1),
    "magenta": ("tint", 1), "magentaish": ("tint", 1), "pink": ("tint", 1), "pinkish": ("tint", 1),
    "purple": ("tint", 1), "purplish": ("tint", 1), "rose": ("tint", 1), "rosy": ("tint", 1),
    "yellow": ("temperature", 1), "yellowish": ("temperature", 1), "orange": ("temperature", 1),
    "orangey": ("temperature", 1), "orangish": ("temperature", 1), "amber": ("temperature", 1),
    "warm": ("temperature", 1), "warmer": ("temperature", 1), "golden": ("temperature", 1),
    "blue": ("temperature", -1), "bluish": ("temperature", -1), "blueish": ("temperature", -1),
    "cyan": ("temperature", -1), "cool": ("temperature", -1), "cooler": ("temperature", -1),
    "cold": ("temperature", -1), "icy": ("temperature", -1),
    # light sources named for the cast they leave
    "tungsten": ("temperature", 1), "incandescent": ("temperature", 1), "sodium": ("temperature", 1),
    "fluorescent": ("tint", -1),
}
_COLOUR_ALT = "|".join(sorted(_CAST_COLOURS, key=len, reverse=True))
# "a green cast", "a magenta tinge", "pink tint": a cast/tinge is a problem unless it is being added.
_CAST = re.compile(rf"\b(?P<col>{_COLOUR_ALT})(?:-| )?(?P<noun>colou?r cast|cast|tinge|tint|hue|undertone|shift)s?\b")
_TOWARD = re.compile(rf"\b(?:towards?|to|into|in the direction of)\s+(?:a\s+|the\s+|more\s+)?(?P<col>{_COLOUR_ALT})\b")
_ADD = re.compile(r"\b(?:add|adding|give|giving|apply|want|put|introduce|i'd like|i would like)\b")
_REMOVE = re.compile(r"\b(?:fix|remove|neutrali[sz]e|correct|get rid of|kill|eliminate|counter|cancel|take out|"
                     r"take away|reduce|less|lose|clean up|clear|has|have|there's|there is|got|looks?|is|too|"
                     r"strip)\b|'s\b")
_GLOBAL_SUBJECTS = re.compile(r"\b(?:white balance|colou?r balance|hue balance|balance|tint|temperature|colou?rs?|"
                              r"overall|everything|it|the image|the photo|the picture|whole)\b")
# "remove all colour", "strip out every colour", "no colour at all", "fully desaturate".
_ALL_COLOUR = re.compile(
    r"\b(?:remove|strip|strip out|drain|take out|take away|lose|get rid of|kill|no|zero|without|drop)\b.*"
    r"\b(?:all|every|any|entire|completely|entirely|totally|fully)\b.*\bcolou?rs?\b"
    r"|\b(?:all|every|any)\b(?:\s+\w+)?\s+colou?rs?\b.*\b(?:out|gone|off|removed|away)\b"
    r"|\bcolou?rless\b|\bno colou?rs? at all\b|\bzero saturation\b"
    r"|\b(?:fully|completely|totally|entirely) desaturat\w*|\bdesaturat\w* (?:\w+ )?(?:fully|completely|totally|entirely)\b"
)


# "skin looks green", "it's too pink", "the faces look too purple-pink", "less pink": a colour the
# photo shows too much of (or asks less / more of) without a scene range of that colour.
_COLOUR_COMPLAINT = re.compile(
    rf"(?:\b(?:looks?|looking|seems?|appears?|is|are|turned|went|gone|came out|too|overly|made|makes|making|"
    rf"gave|gives|left)|'s|'re)\s+"
    rf"(?:(?:a bit|a little|slightly|very|sickly|kind of|rather|quite|really|way|so|too|all|somewhat|everything|"
    rf"super|extremely|pretty|totally|overly|far|much|"
    rf"everyone|it|them|the (?:whole )?(?:photo|image|picture|thing|scene|shot))\s+)*"
    rf"(?P<col>{_COLOUR_ALT})(?:-\w+)?\b"
    rf"|^(?:(?:a bit|a little|a touch|slightly|much|way|a lot)\s+)?(?:less|too)\s+(?P<col2>{_COLOUR_ALT})\b")
_REQUEST = re.compile(r"^(?:please |can you |could you |i want |i'd like |let's )?(?:make|let|render|give|turn)\b")
_PEOPLE = {"skin", "skin tones", "skin tone", "faces", "face", "complexion"}
_COLOUR_HUE = {"green": "greens", "greenish": "greens", "yellow": "yellows", "yellowish": "yellows", "orange": "oranges",
               "orangey": "oranges", "orangish": "oranges", "blue": "blues", "bluish": "blues", "blueish": "blues",
               "cyan": "aquas", "purple": "purples", "purplish": "purples", "magenta": "magentas", "pink": "magentas",
               "pinkish": "magentas"}


def _global_colour(clause: str, col: str) -> bool:
    """Whether a colour named in ``clause`` is a whole-photo cast rather than a per-hue edit: no
    scene range is named, or the range is people's skin and the colour is not skin's own hue."""
    ranges = [(h, s[2]) for h in _lexical_hits(clause) if h.attr.group == "hsl" for s in h.subject]
    if not ranges:
        return True
    return all(word in _PEOPLE and h.attr.meta["hue"] != _COLOUR_HUE.get(col) for h, word in ranges)


def _colour_rules(clause: str) -> list[dict]:
    """Whole-photo colour requests the word rules would give to a per-hue attribute."""
    if _ALL_COLOUR.search(clause) and not _NEGATION.search(clause.replace("no colour", "").replace("no color", "")):
        return [_item(BANK["style:black_and_white"], 1, AMOUNT_DEFAULT, 0.95, clause, "rule")]
    m = _COLOUR_COMPLAINT.search(clause)
    if m and not _REQUEST.match(clause):
        col = m.group("col") or m.group("col2")
        attr, pole = _CAST_COLOURS[col]
        if _global_colour(clause, col):
            return [dict(_item(BANK[attr], -pole, _amount(clause), 0.85, clause, "rule"), _colour=col)]
    m = _CAST.search(clause)
    if m:
        attr, pole = _CAST_COLOURS[m.group("col")]
        tint_like = m.group("noun") in ("tint", "hue", "shift")
        # A cast/tinge is a problem to remove; a tint is wanted -- unless the clause says otherwise.
        wanted = (tint_like or _ADD.search(clause[: m.start()])) and not _REMOVE.search(clause)
        direction = pole if wanted else -pole
        return [_item(BANK[attr], direction, _amount(clause), 0.9, clause, "rule")]
    m = _TOWARD.search(clause)
    if m and _GLOBAL_SUBJECTS.search(clause[: m.start()]):
        hues = [h for h in _lexical_hits(clause[: m.start()]) if h.attr.group == "hsl" and h.subject]
        if not hues:
            attr, pole = _CAST_COLOURS[m.group("col")]
            direction = -pole if _NEGATION.search(clause) else pole
            return [_item(BANK[attr], direction, _amount(clause), 0.9, clause, "rule")]
    return []


def _plan_clause(clause: str, q: np.ndarray) -> list[dict]:
    clause = _LEAVE_ALONE.sub("", clause) or clause
    if _POP.search(clause):
        # "make it pop": livelier (contrast and colour up), how much and the rest from the photo.
        return [_item(BANK[a], 1, AMOUNT_SMALL, 0.9, clause, "rule", photo="amount") for a in ("contrast", "saturation")] \
            + [_item(BANK[a], 0, AMOUNT_DEFAULT, 0.9, clause, "photo", photo="direction")
               for a in ESTIMATED if a not in ("contrast", "saturation")]
    colour = _colour_rules(clause)
    if colour:
        # A cast named as a problem ("remove the green cast", "too yellow") is removed by as much
        # as the photo shows; a colour asked for ("add a pink tint") is the words' own amount.
        for it in colour:
            if it["source"] == "rule" and it["attribute"] in ESTIMATED and _REMOVE.search(clause):
                it["photo"] = "amount"
        return colour
    hits = _hsl_channel(clause, _lexical_hits(clause))
    has_pole = any(h.up or h.down or h.excess for h in hits)
    # "keep the highlights": a constraint, no edit; "keep the highlights darker" still names a pole.
    if _KEEP.search(clause) and not has_pole and not _INC.search(clause) and not _DEC.search(clause):
        return [_item(h.attr, 0, 0.0, 0.9, clause, "rule", constraint="keep")
                for h in hits if h.subject and h.attr.name in CONSTRAINED]
    if not has_pole and (not _directed(clause) or clarity(clause)):
        named = photo_attributes(clause, bool(hits) and not clarity(clause))
        if named:
            return [_item(BANK[a], 0, AMOUNT_DEFAULT, 0.9, clause, "photo", photo="direction") for a in named]
    best, emb_up, emb_down = _attribute_similarities(q)
    items = []
    amount = _amount(clause)
    if hits:
        strong = [h for h in hits if h.subject and not {s[2] for s in h.subject} <= _WEAK_SUBJECTS]
        scored = sorted(
            hits,
            key=lambda h: best[h.index] + (0.3 if h in strong else 0.15 if h.subject else 0.0)
            + (0.2 if (h.up or h.down) else 0.0) + (0.1 if h.subject and (h.up or h.down) else 0.0)
            + (0.2 if h.excess else 0.0),
            reverse=True,
        )
        # A hue subject with no word of its own defers to an attribute whose pole is named
        # ("make the skin tones warmer" is a temperature edit, "make the sky darker" a per-hue one).
        if any(h.up or h.down for h in scored if h.attr.group != "hsl"):
            scored = [h for h in scored if h.attr.group != "hsl" or h.up or h.down]
        # "less icy" names the winter style's keyword, but a style cannot go "down": the next
        # candidate (temperature) takes the clause.
        while len(scored) > 1 and not scored[0].attr.bipolar and _direction(
                clause, scored[0], scored[0].attr, emb_up[scored[0].index], emb_down[scored[0].index], [])[0] < 0:
            scored = scored[1:]
        primary = scored[0]
        chosen = [primary]
        used = primary.subject + primary.up + primary.down
        for h in scored[1:]:
            words = h.subject + h.up + h.down
            if not words or _outside(words, used) != words:
                continue  # shares a word with an attribute already chosen
            if all(w[2] in _WEAK_SUBJECTS for w in words):
                continue
            if h.attr.group == "hsl" and any(c.attr.group == "hsl" and c.attr.meta["hue"] == h.attr.meta["hue"] for c in chosen):
                continue
            chosen.append(h)
            used = used + words
        for h in chosen:
            others = [w for c in chosen if c is not h for w in c.subject + c.up + c.down]
            direction, how = _direction(clause, h, h.attr, emb_up[h.index], emb_down[h.index], others)
            conf = 0.7 + 0.3 * min(1.0, max(0.0, best[h.index]) / 0.6)
            # "too dark", "underexposed": the words fix the direction, the photo how far to go.
            photo = "amount" if h.excess and h.attr.name in ESTIMATED else None
            items.append(_item(h.attr, direction, amount, conf, clause, how, photo=photo))
    else:
        i = int(np.argmax(best))
        if best[i] < EMBED_ACCEPT:
            return []
        attr = ATTRIBUTES[i]
        direction, how = _direction(clause, None, attr, emb_up[i], emb_down[i], [])
        conf = 0.8 * min(1.0, (best[i] - 0.3) / 0.4)
        if how == "embedding":
            conf *= min(1.0, 0.5 + 5 * abs(emb_up[i] - emb_down[i]))
        items.append(_item(attr, direction, amount, conf, clause, how))
    # One-way attributes (styles, split toning) cannot go "down": asking for less of them is a no-op.
    items = [it for it in items if it["direction"] > 0 or BANK[it["attribute"]].bipolar]
    return items


# Modifiers that name a problem, not a way to go ("fix", "correct" are in _DEC for "fix the blown
# highlights", where the excess word decides).
_UNDIRECTED = {"fix", "correct", "improve", "enhance", "up", "down"}
_LESS_SHADOW = {"reduce", "reduced", "reducing", "remove", "less", "fewer", "get rid of", "eliminate", "lessen",
                "minimize", "minimise", "take out", "take away", "diminish", "cut"}


def _directed(clause: str) -> bool:
    """Whether a "more"/"less"-type word in ``clause`` names a direction ("increase the brightness")."""
    return any(m.group(0) not in _UNDIRECTED for rx in (_INC, _DEC) for m in rx.finditer(clause))


def _item(attr: Attribute, direction: int, amount: float, conf: float, clause: str, how: str,
          photo: str | None = None, constraint: str | None = None) -> dict:
    if constraint:
        label = f"keep ({constraint})"
    elif direction == 0:
        label = "from the photo"
    else:
        label = attr.up_label if direction > 0 else attr.down_label
    out = {
        "attribute": attr.name,
        "direction": int(direction),
        "label": label,
        "amount": round(float(amount), 3),
        "confidence": round(float(np.clip(conf, 0.0, 1.0)), 3),
        "clause": clause,
        "source": how,
    }
    if photo:
        out["photo"] = photo
    if constraint:
        out["constraint"] = constraint
    return out


def plan(text: str) -> list[dict]:
    """Instruction -> list of ``{attribute, direction, label, amount, confidence, clause, source}``.

    ``direction`` is +1 / -1 where the words decide it and 0 where they leave it to the photo
    ("fix the exposure"); such items carry ``photo: "direction"``, and items whose words fix the
    direction but not how far ("too dark") carry ``photo: "amount"``; both are resolved against
    the photo by :func:`model.instructions.reading.resolve`. Items with a ``constraint`` key
    ("keep" for "keep the highlights", "limit" for "not too bright", whose ``direction`` is the
    way not to go) are no edit of their own. ``amount`` is in ``[0, 1]``; ``confidence`` in
    ``[0, 1]``; ``source`` says how the direction was decided (``rule``, ``embedding``,
    ``default`` or ``photo``). The empty instruction gives an empty plan.
    """
    from retouch_studio.model.instructions.language import check_text

    check_text(text)  # language, encoding, length, words: InstructionError before any planning
    clauses = split_clauses(text)
    if not clauses:
        return []
    from retouch_studio.model.text_encoder import encode

    qs = encode(clauses)
    out: list[dict] = []
    prev_intensity = None
    prev_verb = 0
    prev_fix = False
    for clause, q in zip(clauses, qs):
        # "fix the exposure and the colours": a clause that only names a subject takes the fix-verb
        # of the clause before it.
        if prev_fix and not _directed(clause) and not _FIX_ONLY.match(clause) and len(clause.split()) <= 4:
            items = _plan_clause(f"fix {clause}", q)
        else:
            items = _plan_clause(clause, q)
        # "much brighter and warmer": a bare follow-up clause inherits the intensity.
        if prev_intensity is not None and len(clause.split()) <= 2 and _amount(clause) == AMOUNT_DEFAULT:
            for it in items:
                it["amount"] = prev_intensity
        # "increase the brightness and saturation": a clause that only names an attribute takes
        # the verb of the clause before it.
        if prev_verb and not _INC.search(clause) and not _DEC.search(clause):
            for it in items:
                if it["source"] in ("embedding", "default") and BANK[it["attribute"]].bipolar:
                    it.update(direction=prev_verb, source="rule",
                              label=BANK[it["attribute"]].up_label if prev_verb > 0 else BANK[it["attribute"]].down_label)
        # "not too bright", "don't make it too dark": a limit on that attribute, not an edit of its
        # own -- unless nothing else is asked ("not too warm" alone means a touch cooler).
        if _NEGATION.search(clause) and _TOO.search(clause):
            for it in items:
                if it["attribute"] in CONSTRAINED:
                    it["limit"] = True
                    it.pop("photo", None)
        for it in items:
            # "warmer but not too warm": a negated "too" on the attribute just asked for limits it.
            same = [o for o in out if o["attribute"] == it["attribute"]]
            if same and _FIX_ONLY.match(clause) and it["direction"]:
                continue  # "it looks sickly green, fix the tint": the first clause said which way
            if same and same[-1]["direction"] == -it["direction"] and it.get("limit"):
                same[-1]["amount"] = round(same[-1]["amount"] * 0.5, 3)
                continue
            colour = it.pop("_colour", None)
            if colour and any(o["direction"] == it["direction"] and not o.get("constraint") for o in same) \
                    and colour in _COLOUR_HUE:
                # "cooler, less orange": the second clause asks for less of that colour itself.
                attr = BANK[f"{_COLOUR_HUE[colour]}_sat"]
                it = _item(attr, -1, it["amount"], it["confidence"], it["clause"], "rule")
            out.append(it)
        prev_intensity = _amount(clause) if _amount(clause) != AMOUNT_DEFAULT else None
        prev_fix = bool(items) and all(it.get("photo") == "direction" for it in items)
        lead = re.match(r"^(?:please |pls |can you |could you |i want to |i'd like to )?(\w+(?: up| down)?)", clause)
        word = lead.group(1) if lead else ""
        prev_verb = 1 if _INC.fullmatch(word) else -1 if _DEC.fullmatch(word) and word not in ("fix", "correct") else 0
    return _settle(out)


def _settle(items: list[dict]) -> list[dict]:
    """Words win over the photo, edits over constraints, and a lone limit is a gentle edit."""
    worded = {it["attribute"] for it in items if it["direction"] and not it.get("limit") and not it.get("constraint")}
    out, seen_photo = [], set()
    for it in items:
        it.pop("_colour", None)
        name = it["attribute"]
        if it.get("photo") == "direction":
            if name in worded or name in seen_photo:
                continue
            seen_photo.add(name)
        elif it.get("limit"):
            it.pop("limit")
            if worded - {name} or seen_photo:
                # "a bit warmer but not too bright": exposure must not go up; it is no edit.
                it.update(direction=-it["direction"], constraint="limit",
                          label=f"not {BANK[name].up_label if it['direction'] < 0 else BANK[name].down_label}")
        elif it.get("constraint") == "keep" and name in worded:
            continue  # "mute the colours but keep it in colour": the edit was asked for
        out.append(it)
    return out


def plan_to_params(plan_items: list[dict]) -> dict:
    """Sum the plan's parameter changes (clipped to the valid ranges) -> parameter dict."""
    # Items the photo decides ("fix the exposure") and constraints ("keep the highlights") are no
    # worded edit; model.instructions.reading.resolve handles them with the photo.
    plan_items = [it for it in plan_items if it.get("direction") and not it.get("constraint")]
    total: dict[str, float] = {}
    split_best: dict[str, tuple[float, float]] = {}  # which -> (amount contribution, hue)
    # The same request said twice ("it's too dark, brighten it up") is one edit: per attribute and
    # direction only the largest amount counts; different attributes still add up.
    strongest: dict[tuple, dict] = {}
    for it in plan_items:
        key = (it["attribute"], it["direction"])
        if key not in strongest or float(it["amount"]) > float(strongest[key]["amount"]):
            strongest[key] = it
    plan_items = [it for it in plan_items if strongest[(it["attribute"], it["direction"])] is it]
    for it in plan_items:
        attr = BANK[it["attribute"]]
        weight = float(it["amount"])
        delta = attr.up if it["direction"] > 0 else attr.down
        if delta is None:
            continue
        for name, value in delta.items():
            if name.startswith("split_") and name.endswith("_hue"):
                which = name[len("split_") : -len("_hue")]
                contrib = abs(delta.get(f"split_{which}_amount", 0.0)) * weight
                if contrib > split_best.get(which, (-1.0, 0.0))[0]:
                    split_best[which] = (contrib, value)
                continue
            if name == "bw":
                # Black & white is categorical: a plain "black and white" means fully monochrome;
                # only a hedged request ("a touch of black and white", amount < 0.6) is partial.
                total[name] = max(total.get(name, 0.0), value * min(1.0, weight / 0.6))
                continue
            total[name] = total.get(name, 0.0) + value * weight
    for which, (_, hue) in split_best.items():
        total[f"split_{which}_hue"] = hue
    out = {}
    for name, value in total.items():
        spec = SPECS[name]
        v = float(np.clip(value, spec.lo, spec.hi))
        if abs(v - spec.default) > 1e-9 or name.endswith("_hue") and name.startswith("split_"):
            out[name] = round(v, 4)
    # A split hue without its amount does nothing; drop it for a tidy dict.
    for which in ("shadow", "highlight"):
        if f"split_{which}_amount" not in out:
            out.pop(f"split_{which}_hue", None)
    return check_params(out)


def describe(plan_items: list[dict]) -> list[str]:
    """Human-readable lines, e.g. ``temperature: warmer (amount 0.60, confidence 0.93)``."""
    lines = []
    for it in plan_items:
        if it.get("constraint") or it.get("photo") == "direction":
            lines.append(f"{it['attribute']}: {it['label']}")  # the label holds the photo's value
        else:
            lines.append(f"{it['attribute']}: {it['label']} (amount {it['amount']:.2f}, confidence {it['confidence']:.2f})")
    return lines


__all__ = ["plan", "plan_to_params", "split_clauses", "describe", "bank_embeddings", "PARAMS"]
