"""The attribute bank: atomic retouching attributes, their prompts, words and parameter directions.

An :class:`Attribute` is one thing an instruction can ask for (``temperature``, ``shadows``,
``blues_sat``, ``style:vintage`` ...). It carries

* ``up`` / ``down``: the parameter change (``model.params`` names) for direction +1 / -1 at
  amount 1; ``down`` is ``None`` for one-way attributes (styles, black & white, fade);
* ``up_prompts`` / ``down_prompts``: sentences embedded with MiniLM -- used to find the attribute
  for paraphrases, and (as antonym pairs) to pick a direction when no rule decides it;
* ``subjects``: words or phrases naming the attribute itself ("contrast", "the sky", "vignette");
* ``up_words`` / ``down_words``: words that name a pole ("warm" / "cool", "brighter" / "darker").

The matcher (``model.instructions.matcher``) combines these; the bank itself is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from retouch_studio.model.instructions.styles import STYLES


@dataclass(frozen=True)
class Attribute:
    name: str
    group: str  # tone | colour | hsl | effect | style
    up: dict
    down: dict | None
    up_prompts: tuple[str, ...]
    down_prompts: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    up_words: tuple[str, ...] = ()
    down_words: tuple[str, ...] = ()
    up_label: str = "up"
    down_label: str = "down"
    meta: dict = field(default_factory=dict)
    # Words that describe an excess ("garish" colours, "blown" highlights, "grey" shadows). In a
    # clause that describes the photo or asks to fix it, they fix the direction: too much of the
    # up pole -> -1, too much of the down pole -> +1, whatever "more"/"less" words say.
    excess_up: tuple[str, ...] = ()
    excess_down: tuple[str, ...] = ()
    # Tone-range attributes (highlights, shadows, whites, blacks) fire only when the clause names
    # their range; generic words ("raise", "deepen") alone belong to exposure and contrast.
    needs_subject: bool = False

    @property
    def bipolar(self) -> bool:
        return self.down is not None


BRIGHT_WORDS = ("bright", "brighter", "brighten", "brightened", "lighter", "lighten", "light up",
                "brightness up", "luminous", "lift", "lifted", "raise", "open up", "boost")
DARK_WORDS = ("dark", "darker", "darken", "darkened", "dim", "dimmer", "deepen", "deeper", "crush",
              "crushed", "heavier", "richer", "weight", "weightier", "denser", "inkier", "depth")

# Words for too much / too little colour, shared by saturation and the per-hue saturations.
SAT_EXCESS_UP = ("garish", "gaudy", "overpowering", "oversaturated", "over-saturated", "neon", "loud", "radioactive",
                 "overdone", "too saturated", "too strong", "too intense", "too vivid")
SAT_EXCESS_DOWN = ("washed out", "washed-out", "lifeless", "drab", "faint", "bland", "pale", "dull", "faded")

ATTRIBUTES: list[Attribute] = [
    Attribute(
        "exposure", "tone", {"exposure": 1.0}, {"exposure": -1.0},
        ("make the photo brighter", "increase the exposure", "brighten the image", "the picture is too dark",
         "lighten it up", "more light"),
        ("make the photo darker", "decrease the exposure", "darken the image", "the picture is too bright",
         "less light", "underexpose it"),
        subjects=("exposure", "brightness", "exposed", "overall brightness", "luminosity", "luminance",
                  "overall luminance", "lightness", "overall lightness", "light level", "light levels"),
        up_words=("bright", "brighter", "brighten", "brightened", "lighter", "lighten", "light up", "luminous",
                  "overexpose", "sunnier", "lit", "illuminated"),
        down_words=("dark", "darker", "darken", "darkened", "dim", "dimmer", "underexpose", "murkier", "duller"),
        excess_up=("overexposed", "over-exposed", "too bright", "glaring", "blinding", "too light"),
        excess_down=("underexposed", "under-exposed", "too dark", "gloomy", "murky", "too dim", "dim"),
        up_label="brighter", down_label="darker",
    ),
    Attribute(
        "contrast", "tone", {"contrast": 50.0}, {"contrast": -50.0},
        ("add more contrast", "make it punchier", "increase the contrast", "more punch and depth"),
        ("reduce the contrast", "make it flatter and softer", "lower the contrast", "less harsh"),
        subjects=("contrast", "contrasty", "tonal range", "tonality", "tonal", "tones", "lights and darks",
                  "darks and lights", "tonal separation", "dynamic range"),
        up_words=("punchy", "punchier", "punch", "crisp", "crisper", "contrasty", "harsh", "harsher", "snappy",
                  "snappier", "pop", "separate", "separated", "separation", "further apart", "stronger", "harder"),
        down_words=("flat", "flatter", "softer", "soft", "soften", "softened", "gentle", "gentler", "closer",
                    "closer together", "compress", "compressed", "weaker", "milder", "smoother"),
        excess_up=("harsh", "too contrasty", "overly contrasty", "overcooked"),
        excess_down=("lifeless", "dull", "muddy", "lacklustre", "lackluster", "washed out", "hazy", "murky", "flat"),
        up_label="more", down_label="less",
    ),
    Attribute(
        "highlights", "tone", {"highlights": 60.0}, {"highlights": -60.0},
        ("brighten the highlights", "make the bright areas brighter", "boost the highlights"),
        ("recover the highlights", "tone down the bright areas", "bring back detail in the sky",
         "the highlights are blown out", "reduce the highlights"),
        subjects=("highlights", "highlight", "bright areas", "bright parts", "bright spots", "blown out", "blown-out",
                  "bright regions", "brightest parts", "brightest areas", "brightest tones", "brightest regions",
                  "bright tones", "lightest parts", "lightest areas", "lightest tones", "brights",
                  "highlight areas", "highlight detail", "clipped areas", "hot spots", "detail in the sky",
                  "sky detail", "clouds", "cloud detail", "light parts", "lighter parts", "light tones",
                  "lighter tones", "the lights", "light areas", "lighter areas", "burnt out", "burned out",
                  "blown", "clipped", "clipping", "blown highlights", "white sky", "sky is white",
                  "sky is completely white", "sky is pure white", "sky is all white", "sky is just white",
                  "detail back into the sky", "detail back in the sky"),
        up_words=BRIGHT_WORDS,
        down_words=DARK_WORDS + ("recover", "rescue", "tame", "tone down", "blown", "pull back", "pull down"),
        excess_up=("blown", "blown out", "blown-out", "clipped", "clipping", "burnt out", "burned out", "burnt",
                   "overexposed", "too strong", "glaring", "nuclear", "hot", "too hot", "too bright", "can't see",
                   "cannot see", "no detail", "lost detail", "can't make out", "completely white", "pure white",
                   "all white", "just white", "paper white"),
        needs_subject=True,
        up_label="brighter", down_label="darker",
    ),
    Attribute(
        "shadows", "tone", {"shadows": 60.0}, {"shadows": -60.0},
        ("lift the shadows", "brighten the dark areas", "open up the shadows", "show more detail in the shadows"),
        ("deepen the shadows", "make the shadows darker", "darker shadows", "crush the shadows"),
        subjects=("shadows", "shadow", "dark areas", "dark parts", "dark spots", "shadow detail", "darker areas",
                  "dark regions", "darker regions", "darkest parts", "darkest areas", "darkest regions",
                  "darkest tones", "dark tones", "darks", "shadow areas", "shadow regions", "low tones",
                  "lowlights", "deep tones", "shadowy areas", "shaded areas", "the shade", "darker parts",
                  "darker tones", "the darks"),
        up_words=BRIGHT_WORDS + ("detail", "details", "reveal", "recover", "show", "open", "visible"),
        down_words=DARK_WORDS,
        excess_up=("grey", "gray", "greyish", "grayish", "milky", "washed out", "washed-out", "muddy",
                   "too light", "hazy"),
        excess_down=("blocked", "blocked up", "crushed", "clogged", "black holes", "too dark", "pitch black",
                     "hidden", "lost", "swallowed", "too deep", "too heavy", "too black", "can't see", "cannot see",
                     "no detail", "can't make out", "lost detail"),
        needs_subject=True,
        up_label="lifted", down_label="deeper",
    ),
    Attribute(
        "whites", "tone", {"whites": 50.0}, {"whites": -50.0},
        ("brighter whites", "make the whites pop", "push the white point up"),
        ("tone down the whites", "darker whites", "pull the white point down"),
        subjects=("whites", "white point"),
        up_words=BRIGHT_WORDS + ("cleaner", "whiter"),
        down_words=DARK_WORDS + ("tame", "tone down", "recover"),
        excess_up=("blown", "blown out", "clipped", "clipping", "burnt out"),
        excess_down=("dingy", "grey", "gray", "muddy", "dirty"),
        needs_subject=True,
        up_label="brighter", down_label="darker",
    ),
    Attribute(
        "blacks", "tone", {"blacks": 50.0}, {"blacks": -50.0},
        ("lift the blacks", "raise the black point", "lighter blacks"),
        ("deeper blacks", "crush the blacks", "richer blacks", "darker black point"),
        subjects=("blacks", "black point", "black level", "black levels"),
        up_words=BRIGHT_WORDS,
        down_words=DARK_WORDS + ("inkier", "stronger", "solid"),
        excess_up=("washed out", "washed-out", "grey", "gray", "greyish", "grayish", "milky", "faded", "lifted",
                   "weak", "muddy"),
        excess_down=("crushed", "clipped", "blocked", "blocked up"),
        needs_subject=True,
        up_label="lifted", down_label="deeper",
    ),
    Attribute(
        "temperature", "colour", {"temperature": 40.0}, {"temperature": -40.0},
        ("make it warmer", "add warmth", "warmer tones", "more orange and yellow", "a warm sunny feeling",
         "the photo looks too cold"),
        ("make it cooler", "cooler tones", "colder bluer feeling", "add a blue cast", "less warm",
         "the photo looks too warm"),
        subjects=("temperature", "white balance", "colour temperature", "color temperature", "warmth", "coolness",
                  "kelvin", "kelvins", "colour temp", "color temp", "temp", "wb"),
        up_words=("warm", "warmer", "warmth", "warmed", "warmly", "yellowish", "orangey", "amber", "toasty",
                  "yellower", "hot", "hotter", "sunny", "orange", "yellow"),
        down_words=("cool", "cooler", "cold", "colder", "chilly", "chillier", "blue", "bluer", "bluish", "blueish",
                    "frosty", "icy", "cooled", "coolness"),
        up_label="warmer", down_label="cooler",
    ),
    Attribute(
        "tint", "colour", {"tint": 40.0}, {"tint": -40.0},
        ("add a magenta tint", "more magenta", "remove the green cast", "pinker overall"),
        ("add a green tint", "more green overall", "remove the magenta cast", "greener overall"),
        subjects=("tint",),
        up_words=("magenta", "pinker", "pinkish", "rosier", "purplish"),
        down_words=("green", "greener", "greenish"),
        up_label="magenta", down_label="green",
    ),
    Attribute(
        "saturation", "colour", {"saturation": 40.0}, {"saturation": -40.0},
        ("make the colours more vivid", "increase the saturation", "more colourful", "richer colours",
         "make the colours pop"),
        ("desaturate the photo", "mute the colours", "less colourful", "more subdued colours", "tone down the colours"),
        subjects=("saturation", "saturated", "colours", "colors", "colour", "color", "colorful", "colourful", "hues",
                  "colour intensity", "color intensity"),
        up_words=("vivid", "vivider", "saturated", "saturate", "colourful", "colorful", "rich", "richer", "pop", "intense",
                  "bolder", "bold", "juicy", "stronger", "punchy", "punchier", "punch", "brighter"),
        down_words=("muted", "mute", "desaturate", "desaturated", "dull", "duller", "subdued", "washed",
                    "greyer", "grayer", "pale", "paler", "drab", "calm", "calmer", "quieter", "weaker", "tame"),
        excess_up=SAT_EXCESS_UP + ("cartoonish", "cartoony", "overcooked", "screaming", "too much colour",
                                   "too much color", "too colourful", "too colorful", "clownish", "too rich",
                                   "too bold"),
        excess_down=SAT_EXCESS_DOWN + ("anaemic", "anemic", "muted", "colourless", "colorless"),
        up_label="more", down_label="less",
    ),
    Attribute(
        "vibrance", "colour", {"vibrance": 50.0}, {"vibrance": -50.0},
        ("increase the vibrance", "boost the muted colours", "more vibrant"),
        ("reduce the vibrance", "less vibrant"),
        subjects=("vibrance", "vibrancy"),
        up_words=("vibrant",),
        up_label="more", down_label="less",
    ),
    Attribute(
        "s_curve", "tone", {"s_curve": 60.0}, {"s_curve": -60.0},
        ("add an s-curve", "a strong tone curve", "punchy tone curve"),
        ("flatten the tone curve", "linear flat curve"),
        subjects=("s-curve", "s curve", "tone curve", "curve", "curves"),
        up_label="stronger", down_label="flatter",
    ),
    Attribute(
        "fade", "tone", {"fade": 50.0}, {"blacks": -30.0, "fade": 0.0},
        ("a faded matte finish", "lift the black point for a matte look", "washed out film fade"),
        ("remove the fade", "less faded", "solid deep blacks"),
        subjects=("fade", "faded", "matte", "matt", "washed out", "washed-out"),
        up_label="more", down_label="less",
    ),
    Attribute(
        "split_toning", "colour",
        {"split_shadow_hue": 200.0, "split_shadow_amount": 40.0, "split_highlight_hue": 40.0,
         "split_highlight_amount": 35.0},
        None,
        ("split toning with cool shadows and warm highlights", "tint the shadows blue and the highlights orange"),
        subjects=("split toning", "split tone", "split-tone", "split-toning", "toning"),
    ),
    Attribute(
        "vignette", "effect", {"vignette": -50.0}, {"vignette": 40.0},
        ("add a vignette", "darken the corners", "darker edges around the frame"),
        ("remove the vignette", "brighten the corners", "lighter edges"),
        subjects=("vignette", "vignetting", "corners", "edges", "borders"),
        up_words=("dark", "darker", "darken", "heavier", "stronger"),
        down_words=("bright", "brighter", "brighten", "lighter", "lighten"),
        needs_subject=True,
        up_label="stronger", down_label="weaker",
    ),
]

# ---- per-hue HSL -----------------------------------------------------------------------------

HUE_SUBJECTS = {
    "reds": ("reds", "red colours", "red colors", "red tones", "the red", "lips", "roses", "red flowers"),
    "oranges": ("oranges", "orange colours", "orange colors", "orange tones", "skin", "skin tones", "skin tone",
                "faces", "face", "complexion"),
    "yellows": ("yellows", "yellow colours", "yellow colors", "yellow tones", "sand", "the yellow"),
    "greens": ("greens", "green colours", "green colors", "green tones", "foliage", "grass", "trees", "leaves",
               "vegetation", "plants", "forest", "lawn", "the green"),
    "aquas": ("aquas", "aqua", "cyans", "cyan", "turquoise", "sea", "water", "lagoon", "pool"),
    "blues": ("blues", "blue colours", "blue colors", "blue tones", "sky", "skies", "the blue", "ocean"),
    "purples": ("purples", "purple colours", "purple colors", "purple tones", "violets", "lavender", "the purple"),
    "magentas": ("magentas", "magenta colours", "magenta colors", "pinks", "pink tones", "the pink"),
}
# The colour names just before / after each band on the hue circle (hue shift direction words).
_HUE_NAMES = {
    "reds": ("red", "redder"), "oranges": ("orange", "oranger"), "yellows": ("yellow", "yellower"),
    "greens": ("green", "greener"), "aquas": ("aqua", "cyan", "turquoise", "teal"),
    "blues": ("blue", "bluer"), "purples": ("purple", "violet"), "magentas": ("magenta", "pink", "pinker"),
}
_HUE_ORDER = ("reds", "oranges", "yellows", "greens", "aquas", "blues", "purples", "magentas")
LUM_UP = ("brighter", "brighten", "lighter", "lighten", "luminance", "luminous", "light", "lift", "lifted")
LUM_DOWN = ("darker", "darken", "dark", "dimmer", "deeper shade")
LUM_EXCESS_UP = ("too bright", "too light", "glaring", "blown", "blown out")
LUM_EXCESS_DOWN = ("dark", "too dark", "dim", "murky", "gloomy")
SAT_UP = ("vivid", "saturated", "richer", "rich", "pop", "intense", "stronger", "deeper", "bolder", "lusher",
          "lush", "more colourful", "more colorful", "vibrant", "juicier", "punch", "punchier")
SAT_DOWN = ("muted", "mute", "desaturate", "desaturated", "duller", "dull", "paler", "pale", "subdued",
            "weaker", "washed out", "less saturated", "toned down", "calm", "calmer", "tame", "rein in", "quieter")

for _i, _hue in enumerate(_HUE_ORDER):
    _single = _HUE_NAMES[_hue][0]
    _subj = HUE_SUBJECTS[_hue]
    _after = _HUE_NAMES[_HUE_ORDER[(_i + 1) % 8]]
    _before = _HUE_NAMES[_HUE_ORDER[(_i - 1) % 8]]
    ATTRIBUTES += [
        Attribute(
            f"{_hue}_sat", "hsl", {f"{_hue}_sat": 40.0}, {f"{_hue}_sat": -40.0},
            (f"make the {_hue} more vivid", f"richer more saturated {_single}", f"make the {_subj[-1]} pop"),
            (f"mute the {_hue}", f"desaturate the {_single} tones", f"less saturated {_hue}"),
            subjects=_subj, up_words=SAT_UP + _HUE_NAMES[_hue], down_words=SAT_DOWN, up_label="more saturated",
            down_label="less saturated", meta={"hue": _hue, "channel": "sat"},
            excess_up=SAT_EXCESS_UP, excess_down=SAT_EXCESS_DOWN,
        ),
        Attribute(
            f"{_hue}_lum", "hsl", {f"{_hue}_lum": 40.0}, {f"{_hue}_lum": -40.0},
            (f"brighten the {_hue}", f"lighter {_single} tones"),
            (f"darken the {_hue}", f"darker {_single} tones"),
            subjects=_subj, up_words=LUM_UP, down_words=LUM_DOWN, up_label="brighter",
            down_label="darker", meta={"hue": _hue, "channel": "lum"},
            excess_up=LUM_EXCESS_UP, excess_down=LUM_EXCESS_DOWN,
        ),
        Attribute(
            f"{_hue}_hue", "hsl", {f"{_hue}_hue": 40.0}, {f"{_hue}_hue": -40.0},
            (f"shift the {_hue} towards {_after[0]}",),
            (f"shift the {_hue} towards {_before[0]}",),
            subjects=_subj, up_words=_after, down_words=_before, up_label=f"towards {_after[0]}",
            down_label=f"towards {_before[0]}", meta={"hue": _hue, "channel": "hue"},
        ),
    ]
del _i, _hue, _single, _subj, _after, _before

# ---- styles ----------------------------------------------------------------------------------

for _style in STYLES.values():
    ATTRIBUTES.append(
        Attribute(
            f"style:{_style.name}", "style", dict(_style.params), None, _style.prompts,
            subjects=_style.keywords, up_label="apply", meta={"style": _style.name},
        )
    )
del _style

BANK: dict[str, Attribute] = {a.name: a for a in ATTRIBUTES}
if len(BANK) != len(ATTRIBUTES):  # pragma: no cover - guards edits of the bank
    raise RuntimeError("duplicate attribute names in the bank")
