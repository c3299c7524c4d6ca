"""Refusing content edits: retouching changes tone and colour, never what is in the picture.

:func:`clause_reason` says whether one clause asks to add, remove, replace or reshape things ("add a
hat", "remove the person", "replace the sky", "make her smile"), or to change the geometry (crop,
rotate). Rules decide the clear cases; the MiniLM embedding decides phrasing the rules do not
cover, by comparing the instruction with a set of content-edit prompts against the retouching
prompts of the attribute bank. Whether a whole request is refused (nothing in it doable) is
decided in :mod:`model.instructions.reading`.
"""

from __future__ import annotations

import re



# Words that make "add X" / "remove X" / "more X" a tone or colour request.
TONAL = {
    "warmth", "warm", "warmer", "cool", "cooler", "coolness", "contrast", "vignette", "vignetting", "glow",
    "tint", "cast", "colour", "color", "colours", "colors", "saturation", "brightness", "exposure", "light",
    "shadows", "shadow", "highlights", "highlight", "whites", "blacks", "fade", "matte", "look", "style",
    "mood", "feel", "feeling", "vibe", "tone", "tones", "toning", "pop", "punch", "drama", "depth",
    "filter", "grade", "grading", "haze", "vibrance", "vibrancy", "curve", "s-curve", "gradient",
    "atmosphere", "richness", "intensity", "sunlight", "sunshine", "golden", "hue", "hues", "cast",
    "yellow", "blue", "green", "red", "orange", "magenta", "pink", "purple", "teal", "cyan", "aqua",
    "yellowness", "blueness", "redness", "greenness", "noise", "grain", "darkness", "brightening",
    "sepia", "monochrome", "gloom", "moodiness", "warm tones", "cool tones", "vintage", "film",
    "cinematic", "dreamy", "cozy", "pastel", "noir", "luminance", "clarity", "detail", "details",
    "white balance", "balance", "sparkle", "life", "energy", "softness", "brilliance", "definition",
    "b", "bw", "w", "mono", "greyscale", "grayscale", "grey", "gray", "duotone", "colourful", "colorful", "black",
    "white", "monochromatic",
    "corners", "edges", "borders", "fog", "foggy", "haze", "hazy", "mist", "misty", "glare", "dullness",
    "blur", "blurriness", "flatness", "darkness", "shadows", "cast", "casts", "tint",
}
# Object / person nouns that are never tonal.
_PEOPLE = r"(?:her|him|them|he|she|they|the (?:person|people|man|woman|girl|boy|child|kid|baby|bride|groom|model|guy|lady|dog|cat|subject))"
_CONTENT_PATTERNS = [
    # make her smile / make him taller / make the dog look happy
    (re.compile(rf"\bmake {_PEOPLE}\s+(?:look\s+)?(?:smile|smiling|laugh|younger|older|thinner|slimmer|fatter|taller|shorter|happy|happier|sad|bald|blink|wink|jump|dance|cry|stand|sit|run|wear|look at)"), "changes a person or animal"),
    (re.compile(rf"\b(?:open|close) {_PEOPLE}'?s? eyes|\b(?:open|close) (?:his|her|their) (?:eyes|mouth)"), "changes a person"),
    (re.compile(r"\b(?:put|place|insert|paste|draw|paint|add|give (?:her|him|them)|include)\b"), "adds something"),
    (re.compile(r"\b(?:remove|erase|delete|get rid of|take out|take away|cut out|clone out|photoshop out|eliminate)\b"), "removes something"),
    (re.compile(r"\b(?:replace|swap|substitute|exchange)\b"), "replaces something"),
    (re.compile(r"\b(?:turn|transform|change|convert) (?:the |this |that |a |an |his |her |their )?[\w\s]+? (?:into|to) (?:a|an) \w+"), "turns one thing into another"),
    (re.compile(r"\b(?:crop|rotate|flip|mirror|resize|straighten|upscale|enlarge|shrink|stretch|warp|distort)\b"), "changes the geometry"),
    (re.compile(r"\b(?:move|reposition|shift) (?:the |her |him |them |his )?(?:person|people|man|woman|car|tree|sun|moon|building|dog|cat|him|her|them|subject)\b"), "moves something"),
]
_VERB_OBJECT = re.compile(
    r"\b(?:put|place|insert|paste|draw|paint|add|include|give (?:her|him|them)|remove|erase|delete|get rid of|"
    r"take out|take away|cut out|clone out|photoshop out|eliminate|replace|swap|substitute|exchange)\s+(?P<obj>.+)"
)
_STOP = {"a", "an", "the", "some", "more", "less", "of", "in", "on", "to", "her", "his", "their", "my", "this",
         "that", "bit", "little", "touch", "hint", "lot", "subtle", "slight", "nice", "soft", "strong", "gentle",
         "and", "with", "it", "its", "little", "tiny", "extra", "overall", "too", "much", "any", "all", "from",
         "image", "photo", "picture", "shot", "frame", "very", "light", "slightly", "bit", "few", "some"}

CONTENT_PROMPTS = (
    "add a hat to the person", "put sunglasses on her", "add a dog next to him", "add a rainbow in the sky",
    "add text to the image", "remove the person from the photo", "erase the car", "delete the background",
    "get rid of the people in the background", "replace the sky with a sunset sky",
    "change the background to a beach", "make her smile", "make him look younger", "make her thinner",
    "open his eyes", "turn the cat into a dog", "crop the image to a square", "rotate the photo",
    "give him a beard", "add snow falling", "add a moon", "put a car on the road",
    "swap the faces", "change her hair to blonde", "change his shirt", "make the person taller",
)


def _object_is_tonal(obj: str) -> bool:
    """True when the object of add/remove/replace is a tone or colour term ("add warmth")."""
    obj = obj.lower()
    # Only the head of the object phrase matters: cut at conjunctions / prepositions.
    obj = re.split(r"\b(?:and|but|while|with|to|from|in|on|for|so|,)\b|[,.;]", obj)[0]
    words = [w for w in re.findall(r"[a-z&\-]+", obj) if w not in _STOP]
    if not words:
        return True
    joined = " ".join(words)
    if joined in TONAL or any(w in TONAL for w in words):
        return True
    return False


def _rule_reason(text: str) -> str | None:
    t = " " + text.lower().strip() + " "
    for pattern, reason in _CONTENT_PATTERNS[:2]:
        if pattern.search(t):
            return reason
    for m in _VERB_OBJECT.finditer(t):
        if not _object_is_tonal(m.group("obj")):
            verb = m.group(0).split()[0]
            if verb in {"replace", "swap", "substitute", "exchange"}:
                return "replaces something"
            if verb in {"put", "place", "insert", "paste", "draw", "paint", "add", "include", "give"}:
                return "adds something"
            return "removes something"
    for pattern, reason in _CONTENT_PATTERNS[5:]:
        if pattern.search(t):
            obj_words = set(re.findall(r"[a-z]+", t))
            if reason == "turns one thing into another" and obj_words & TONAL:
                continue
            return reason
    return None


_content_emb = None


def _embedding_says_content(text: str) -> tuple[bool, float, float]:
    """(is_content, best content similarity, best retouch similarity)."""
    global _content_emb
    from retouch_studio.model.text_encoder import encode
    from retouch_studio.model.instructions.matcher import bank_embeddings

    if _content_emb is None:
        _content_emb = encode(list(CONTENT_PROMPTS))
    q = encode([text])[0]
    c = float((_content_emb @ q).max())
    r = float((bank_embeddings()[0] @ q).max())
    return (c > 0.55 and c > r + 0.1), c, r


def clause_reason(clause: str) -> str | None:
    """Why one clause asks for a content or geometry edit (None: it does not, by the rules)."""
    return _rule_reason(clause)
