"""Training data synthesis for the compact model ("good to bad", InstantRetouch §3.1).

Targets are good photos (random crops, flips); inputs are made from them:

* **corrective** samples degrade the photo (exposure, gamma, white balance, contrast, tone
  curves, saturation, shadows/highlights, black point; also exposure inside soft spatial masks:
  linear gradients and radial vignettes) and the instruction names what must be undone, with an
  intensity word that matches the size of the degradation ("a touch brighter", "much warmer"),
  or names only the problem ("fix the white balance"), or asks for a generic "enhance";
* **forward** samples keep the photo as input and render the asked edit or creative style with
  the parameter renderer (:func:`model.compact.render_params_grid`) as the target.

Instructions come from templates with hundreds of paraphrases per direction. A separate set of
phrasings (:data:`HELDOUT_PHRASES`) and photos (:data:`HELDOUT_PHOTOS`) is never used for training
and serves the evaluation (``benchmarks/eval_quality.py``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from retouch_studio.model.compact import (NUM_PARAMS, PARAM_NAMES, linear_to_srgb, render_params_grid, rgb_to_lab, slice_apply,
                      split_clauses,
                      srgb_to_linear)

HELDOUT_PHOTOS = (
    "Bridge_by_Sander_Klootwijk",
    "mate_LadyBird",
    "plasma_Path",
    "life_by_Aitzol_Berasategi",
    "Picture_1A_by_freespace",
)

P = {name: i for i, name in enumerate(PARAM_NAMES)}


def pvec(**kw) -> np.ndarray:
    v = np.zeros(NUM_PARAMS, np.float32)
    for k, x in kw.items():
        v[P[k]] = x
    return v


# --------------------------------------------------------------------------------------------
# Phrase bank
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Direction:
    """One edit direction: its parameter vector per unit of intensity and its phrasings.

    adjectives: comparative forms ("brighter"); verbs: imperative verbs with an object slot
    ("brighten {obj}"); complaints: problems ("too dark"), read as "undo this".
    """

    name: str
    group: str
    unit: np.ndarray
    adjectives: tuple
    verbs: tuple
    complaints: tuple


D = Direction
DIRECTIONS = (
    D("brighter", "exposure", pvec(exposure=1.0),
      ("brighter", "lighter", "more luminous", "more exposed", "less dark", "better lit", "sunnier"),
      ("brighten {obj}", "lighten {obj}", "increase the exposure", "raise the exposure", "boost the brightness",
       "turn up the brightness", "push the exposure up", "add light to {obj}", "bump up the exposure",
       "increase the brightness", "lift the exposure", "expose {obj} brighter", "brighten up {obj}"),
      ("too dark", "underexposed", "a bit gloomy", "too dim", "dark and murky")),
    D("darker", "exposure", pvec(exposure=-1.0),
      ("darker", "dimmer", "less bright", "more subdued in brightness", "less exposed"),
      ("darken {obj}", "reduce the exposure", "lower the exposure", "turn down the brightness", "dim {obj}",
       "pull the exposure down", "decrease the brightness", "bring the exposure down", "cut the brightness",
       "tone down the brightness", "underexpose {obj} a little"),
      ("too bright", "overexposed", "washed out by light", "blown out", "too light")),
    D("more_contrast", "contrast", pvec(contrast=1.0),
      ("more contrasty", "punchier", "crisper in tone", "higher in contrast", "more contrasted"),
      ("increase the contrast", "add contrast", "boost the contrast", "raise the contrast", "add more punch",
       "give {obj} more contrast", "deepen the contrast", "turn up the contrast", "strengthen the contrast",
       "make the contrast stronger"),
      ("too flat", "flat and dull", "lacking contrast", "too low in contrast", "lifeless and flat")),
    D("less_contrast", "contrast", pvec(contrast=-1.0),
      ("softer in contrast", "lower in contrast", "less contrasty", "flatter", "less harsh"),
      ("reduce the contrast", "lower the contrast", "decrease the contrast", "soften the contrast",
       "turn down the contrast", "tone down the contrast", "flatten the contrast", "take some contrast out",
       "give {obj} less contrast", "ease off the contrast"),
      ("too contrasty", "too harsh", "too punchy", "high in contrast", "too hard in tone")),
    D("warmer", "temperature", pvec(temperature=1.0),
      ("warmer", "more golden", "more yellow", "cozier in colour", "sunnier in tone", "more orange"),
      ("warm up {obj}", "add warmth", "increase the temperature", "raise the colour temperature",
       "make the tones warmer", "push the white balance warmer", "shift the colours towards yellow",
       "add a warm tone", "give {obj} a warmer tone", "heat up the colours", "warm the colours"),
      ("too cold", "too blue", "too cool", "bluish", "icy in colour")),
    D("cooler", "temperature", pvec(temperature=-1.0),
      ("cooler", "colder", "bluer", "more blue", "icier", "chillier in tone"),
      ("cool down {obj}", "cool {obj} down", "lower the colour temperature", "decrease the temperature",
       "make the tones cooler", "push the white balance cooler", "shift the colours towards blue",
       "add a cool tone", "give {obj} a cooler tone", "take the warmth out", "reduce the warmth"),
      ("too warm", "too yellow", "too orange", "yellowish", "too hot in colour")),
    D("magenta", "tint", pvec(tint=1.0),
      ("more magenta", "pinker", "more purple", "less green", "rosier"),
      ("add magenta", "shift the tint towards magenta", "remove the green cast", "push the tint to magenta",
       "add a pink tint", "take the green out", "correct the green tint", "increase the tint"),
      ("too green", "greenish", "sickly green", "green-tinged")),
    D("greener", "tint", pvec(tint=-1.0),
      ("greener", "more green", "less magenta", "less pink", "less purple"),
      ("add green", "shift the tint towards green", "remove the magenta cast", "push the tint to green",
       "add a green tint", "take the magenta out", "correct the pink tint", "decrease the tint"),
      ("too magenta", "too pink", "too purple", "pinkish", "magenta-tinged")),
    D("more_saturated", "saturation", pvec(saturation=0.6),
      ("more saturated", "more colourful", "more colorful", "more vivid", "richer in colour", "more vibrant",
       "brighter in colour", "more intense in colour"),
      ("increase the saturation", "boost the colours", "boost the colors", "saturate {obj}", "add saturation",
       "make the colours pop", "make the colors pop", "intensify the colours", "enrich the colours",
       "turn up the saturation", "add vibrance", "pump up the colours"),
      ("too dull", "washed out", "too pale", "lacking colour", "colourless", "desaturated")),
    D("less_saturated", "saturation", pvec(saturation=-0.5),
      ("less saturated", "less colourful", "less colorful", "more muted", "more subdued", "paler",
       "more desaturated", "calmer in colour"),
      ("reduce the saturation", "desaturate {obj}", "tone down the colours", "tone down the colors",
       "mute the colours", "lower the saturation", "turn down the saturation", "soften the colours",
       "take some colour out", "decrease the vibrance"),
      ("too saturated", "oversaturated", "too colourful", "garish", "too vivid", "too loud in colour")),
    D("lift_shadows", "shadows", pvec(shadows=1.0),
      ("brighter in the shadows", "more open in the shadows", "lighter in the dark areas"),
      ("lift the shadows", "brighten the shadows", "open up the shadows", "raise the shadows",
       "bring out detail in the shadows", "recover the shadows", "lighten the dark areas",
       "boost the shadows", "pull up the shadows", "show more shadow detail"),
      ("too dark in the shadows", "crushed in the shadows", "blocked-up shadows", "shadows too deep")),
    D("deepen_shadows", "shadows", pvec(shadows=-1.0),
      ("darker in the shadows", "deeper in the shadows", "moodier in the shadows"),
      ("deepen the shadows", "darken the shadows", "lower the shadows", "crush the shadows a bit",
       "make the shadows deeper", "push the shadows down", "darken the dark areas", "add depth to the shadows",
       "make the shadows darker"),
      ("shadows too light", "shadows too lifted", "grey in the shadows", "muddy grey shadows")),
    D("recover_highlights", "highlights", pvec(highlights=-1.0),
      ("less bright in the highlights", "softer in the highlights", "calmer in the highlights"),
      ("recover the highlights", "tone down the highlights", "darken the highlights", "pull back the highlights",
       "reduce the highlights", "lower the highlights", "bring down the highlights", "tame the bright areas",
       "save the highlights", "darken the bright areas"),
      ("too bright in the highlights", "blown highlights", "harsh highlights", "highlights too hot")),
    D("boost_highlights", "highlights", pvec(highlights=1.0),
      ("brighter in the highlights", "more sparkling", "more luminous in the highlights"),
      ("brighten the highlights", "boost the highlights", "raise the highlights", "lift the highlights",
       "make the highlights brighter", "add sparkle to the highlights", "lighten the bright areas",
       "make the highlights pop"),
      ("dull highlights", "highlights too grey", "lacking sparkle", "dim highlights")),
    D("fade", "blacks", pvec(blacks=1.0, contrast=-0.2),
      ("more faded", "more matte", "softer in the blacks", "more washed"),
      ("lift the blacks", "fade the blacks", "add a matte look", "give {obj} a faded look", "raise the black point",
       "flatten the blacks", "add a film fade", "make the blacks grey"),
      ("blacks too deep", "blacks too harsh", "too inky")),
    D("deeper_blacks", "blacks", pvec(blacks=-1.0),
      ("deeper in the blacks", "richer in the blacks", "less faded", "less hazy", "clearer"),
      ("deepen the blacks", "crush the blacks", "lower the black point", "remove the haze", "dehaze {obj}",
       "add depth to the blacks", "make the blacks blacker", "set a deeper black point", "remove the fade"),
      ("too faded", "hazy", "milky", "foggy looking", "washed out blacks", "too grey in the blacks")),
)
DIRECTION_BY_NAME = {d.name: d for d in DIRECTIONS}

#: Phrasings never used in training (evaluation only), per direction.
HELDOUT_PHRASES = {
    "brighter": ("give it more light", "the picture needs to be lighter", "raise the overall luminance",
                 "this shot is too murky, brighten it"),
    "darker": ("bring the brightness down", "the picture needs to be darker", "knock down the luminance",
               "it looks too glaring, make it darker"),
    "more_contrast": ("make the tones pop more", "I want stronger contrast", "add tonal punch",
                      "separate the lights and darks more"),
    "less_contrast": ("make the tones gentler", "I want weaker contrast", "soften the tonal range",
                      "bring the lights and darks closer together"),
    "warmer": ("give it a warm glow", "I want warmer tones", "make the light feel like sunset",
               "shift the white balance toward amber"),
    "cooler": ("give it a cold feel", "I want cooler tones", "make the light feel like winter",
               "shift the white balance toward blue"),
    "magenta": ("neutralise the green cast", "shift the hue balance toward pink", "the image has a green tinge, fix it"),
    "greener": ("neutralise the pink cast", "shift the hue balance toward green", "the image has a magenta tinge, fix it"),
    "more_saturated": ("richer colours please", "make the hues stronger", "I want more colour intensity",
                       "the colours look faint, strengthen them"),
    "less_saturated": ("make the hues weaker", "I want less colour intensity", "drain some of the colour",
                       "the colours are overpowering, calm them"),
    "lift_shadows": ("reveal what's hidden in the dark parts", "the dark regions need more light",
                     "open the shadow areas"),
    "deepen_shadows": ("make the dark regions darker", "give the shadow areas more weight",
                       "the dark parts look grey, deepen them"),
    "recover_highlights": ("the bright regions are too strong", "bring back detail in the sky's bright parts",
                           "tame the brightest tones"),
    "black_and_white": ("convert to monochrome", "grayscale version please", "remove all colour"),
}

INTENSITY = {
    "small": (0.35, ("a touch", "slightly", "a little", "a bit", "subtly", "a tad", "just a little",
                     "gently", "marginally", "a hair")),
    "medium": (0.7, ("", "", "", "somewhat", "noticeably", "moderately", "fairly")),
    "large": (1.2, ("much", "a lot", "way", "strongly", "significantly", "dramatically", "heavily",
                    "far", "very much", "really")),
}
# Adverbs that go after a verb phrase: "brighten it a touch".
POST_INTENSITY = {
    "small": ("a touch", "slightly", "a little", "a bit", "a tad", "just a little", "gently", "subtly"),
    "medium": ("", "", "", "somewhat", "noticeably", "moderately"),
    "large": ("a lot", "strongly", "significantly", "dramatically", "heavily", "way more", "a great deal"),
}
COMPLAINT_INTENSITY = {
    "small": ("slightly", "a bit", "a little", "a touch", "somewhat"),
    "medium": ("", "", "rather", "quite"),
    "large": ("far", "way", "much", "really", "extremely", "very"),
}
OBJECTS = ("it", "the photo", "the image", "the picture", "this shot", "the scene", "everything")
ADJ_FRAMES = ("make it {i} {a}", "make the photo {i} {a}", "{i} {a}", "{i} {a} please", "I want it {i} {a}",
              "can you make it {i} {a}", "could it be {i} {a}", "make the image {i} {a}", "{i} {a}, please",
              "let's go {i} {a}", "render it {i} {a}", "it should be {i} {a}")
VERB_FRAMES = ("{v} {i}", "{v} {i} please", "please {v} {i}", "{i2} {v}", "can you {v} {i}", "I'd like to {v} {i}",
               "could you {v} {i}")
COMPLAINT_FRAMES = ("it's {i} {c}", "it is {i} {c}", "the photo is {i} {c}", "this looks {i} {c}",
                    "the image looks {i} {c}", "too {c}")

FIX_PHRASES = {
    "exposure": ("fix the exposure", "correct the exposure", "fix the brightness", "balance the exposure",
                 "set the exposure right", "adjust the brightness properly", "correct the brightness"),
    "temperature": ("fix the white balance", "correct the white balance", "remove the colour cast",
                    "neutralise the colours", "correct the colour temperature", "fix the colour cast",
                    "make the whites neutral", "auto white balance"),
    "tint": ("fix the tint", "correct the tint", "remove the tint", "neutralise the tint"),
    "contrast": ("fix the contrast", "correct the contrast", "balance the contrast"),
    "saturation": ("fix the saturation", "correct the colours", "balance the saturation"),
}
ENHANCE_PHRASES = ("enhance", "enhance it", "auto enhance", "make it look better", "improve the photo",
                   "fix it", "make it look natural", "correct the photo", "make it look good", "touch it up",
                   "improve this picture", "fix the colours and tones", "make it look professional",
                   "clean up the image", "auto fix")

STYLES = {
    "black_and_white": (pvec(saturation=-1.0, contrast=0.25),
                        ("black and white", "make it black and white", "convert to black and white",
                         "monochrome", "make it monochrome", "grayscale", "greyscale", "b&w",
                         "remove the colour", "desaturate completely", "turn it black and white",
                         "a black and white version")),
    "vintage": (pvec(blacks=0.9, saturation=-0.35, temperature=0.45, contrast=-0.35),
                ("vintage look", "make it look vintage", "retro style", "old film look", "give it a retro feel",
                 "make it look like an old photo", "nostalgic look", "seventies film look")),
    "cinematic": (pvec(split_tone=1.2, contrast=0.35, saturation=-0.15, shadows=-0.3),
                  ("cinematic look", "make it cinematic", "teal and orange", "movie look", "film grade",
                   "hollywood colour grade", "blockbuster look", "give it a cinematic grade")),
    "moody": (pvec(exposure=-0.45, contrast=0.4, saturation=-0.35, shadows=-0.5),
              ("moody", "make it moody", "dark and moody", "brooding atmosphere", "give it a moody feel",
               "make it gloomy and dramatic", "dark mood")),
    "airy": (pvec(exposure=0.55, contrast=-0.35, shadows=0.5, saturation=-0.2),
             ("bright and airy", "light and airy", "airy look", "make it airy", "soft and bright",
              "give it a light pastel feel", "dreamy and light")),
    "vivid": (pvec(saturation=0.75, contrast=0.45),
              ("vivid", "make it vivid", "punchy colours", "make it pop", "vibrant look", "bold and punchy",
               "give it some punch", "vivid and bold")),
    "muted": (pvec(saturation=-0.55, contrast=-0.25),
              ("muted tones", "make it muted", "subdued palette", "understated colours", "quiet muted look",
               "desaturated look")),
    "golden_hour": (pvec(temperature=1.2, exposure=0.2, saturation=0.2, highlights=0.3),
                    ("golden hour", "golden hour look", "sunset glow", "make it look like golden hour",
                     "warm evening light", "late afternoon sun")),
    "cold_winter": (pvec(temperature=-1.1, saturation=-0.25, exposure=0.15),
                    ("winter look", "icy cold look", "frosty feel", "make it feel like winter", "cold winter morning")),
    "dramatic": (pvec(contrast=0.9, shadows=-0.45, highlights=-0.45, saturation=0.1),
                 ("dramatic", "make it dramatic", "dramatic look", "more drama", "intense and dramatic",
                  "give it drama")),
    "matte": (pvec(blacks=1.2, contrast=-0.3),
              ("matte look", "matte finish", "make it matte", "faded matte style", "soft matte film look")),
    "high_key": (pvec(exposure=1.0, contrast=-0.4, shadows=0.4),
                 ("high key", "high-key look", "make it high key", "bright high key style")),
    "low_key": (pvec(exposure=-0.9, contrast=0.45, highlights=-0.2),
                ("low key", "low-key look", "make it low key", "dark low key style")),
}

REGIONS = {  # spatial exposure edits: region -> (mask kind, phrasings of the region)
    "top": ("top", ("the top", "the sky", "the upper part", "the top of the image", "the upper half")),
    "bottom": ("bottom", ("the bottom", "the foreground", "the lower part", "the bottom of the image", "the ground")),
    "left": ("left", ("the left side", "the left", "the left half")),
    "right": ("right", ("the right side", "the right", "the right half")),
    "center": ("center", ("the center", "the middle", "the subject in the middle", "the centre")),
    "edges": ("edges", ("the edges", "the corners", "the borders", "the outer edges")),
}
REGION_VERBS = {+1: ("brighten {r}", "lighten {r}", "make {r} brighter", "lift {r}", "add light to {r}"),
                -1: ("darken {r}", "make {r} darker", "dim {r}", "burn down {r}", "tone down {r}")}
REGION_COMPLAINTS = {+1: ("{r} is too dark", "{r} looks too dark", "{r} is underexposed"),
                     -1: ("{r} is too bright", "{r} looks too bright", "{r} is overexposed", "{r} is blown out")}


def _clean(s: str) -> str:
    return " ".join(s.split())


def directional_phrases(direction: Direction, level: str) -> list[str]:
    """Every training phrasing of ``direction`` at intensity ``level`` (hundreds per direction)."""
    out = []
    for frame, adj, i in itertools.product(ADJ_FRAMES, direction.adjectives, INTENSITY[level][1]):
        out.append(frame.format(i=i, a=adj))
    for frame, verb, obj in itertools.product(VERB_FRAMES, direction.verbs, OBJECTS[:4]):
        for i in POST_INTENSITY[level]:
            i2 = {"small": "slightly", "medium": "", "large": "strongly"}[level]
            out.append(frame.format(v=verb.format(obj=obj), i=i, i2=i2))
    for frame, comp, i in itertools.product(COMPLAINT_FRAMES, direction.complaints, COMPLAINT_INTENSITY[level]):
        if frame.startswith("too "):
            if level != "medium" or comp.startswith("too"):
                continue
        out.append(frame.format(i=i, c=comp))
    return sorted({_clean(s) for s in out})


def region_phrases(region: str, sign: int) -> list[str]:
    out = []
    for r in REGIONS[region][1]:
        for v in REGION_VERBS[sign]:
            out.append(v.format(r=r))
        for c in REGION_COMPLAINTS[-sign]:
            out.append(c.format(r=r))
    if region == "edges":
        out += (["add a vignette", "darken the corners", "vignette"] if sign < 0
                else ["remove the vignette", "get rid of the vignetting", "fix the vignetting"])
    return sorted({_clean(s) for s in out})


# --------------------------------------------------------------------------------------------
# Degradations and edits on (B, 3, H, W) tensors
# --------------------------------------------------------------------------------------------


def render(x: torch.Tensor, params: torch.Tensor, depth: int = 8) -> torch.Tensor:
    """Apply parameters ``(B, P)`` to images ``(B, 3, H, W)`` through the grid renderer."""
    grid = render_params_grid(params, depth, 2, 2)
    return slice_apply(grid, x)


def physical_exposure(x: torch.Tensor, stops: torch.Tensor) -> torch.Tensor:
    """Exposure in linear light with clipping; stops ``(B,)``."""
    lin = srgb_to_linear(x) * torch.pow(2.0, stops)[:, None, None, None]
    return linear_to_srgb(lin)


def physical_white_balance(x: torch.Tensor, temp: torch.Tensor, tint: torch.Tensor) -> torch.Tensor:
    """Per-channel gains in linear light (a camera-style white-balance error)."""
    g = torch.stack([1 + 0.22 * temp + 0.06 * tint, 1 - 0.14 * tint, 1 - 0.28 * temp + 0.06 * tint], 1).clamp(min=0.2)
    g = g / (g * torch.tensor([0.2126, 0.7152, 0.0722])).sum(1, keepdim=True)
    return linear_to_srgb(srgb_to_linear(x) * g[:, :, None, None])


def gamma_curve(x: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    return x.clamp(1e-5, 1.0) ** gamma[:, None, None, None]


def region_mask(kind: str, h: int, w: int, rng: np.random.Generator) -> torch.Tensor:
    """Soft mask ``(1, 1, h, w)`` in [0, 1] for a region kind (randomised extent and softness)."""
    ys = torch.linspace(0, 1, h).view(h, 1).expand(h, w)
    xs = torch.linspace(0, 1, w).view(1, w).expand(h, w)
    edge = float(rng.uniform(0.35, 0.65))
    soft = float(rng.uniform(0.12, 0.3))
    if kind in ("top", "bottom", "left", "right"):
        t = {"top": ys, "bottom": 1 - ys, "left": xs, "right": 1 - xs}[kind]
        m = torch.sigmoid((edge - t) / soft * 4)
    else:
        cy, cx = rng.uniform(0.4, 0.6, 2)
        r = torch.sqrt((ys - cy) ** 2 + (xs - cx) ** 2) / 0.7
        m = torch.sigmoid((r - edge) / soft * 4)
        if kind == "center":
            m = 1 - m
    return m.view(1, 1, h, w)


# --------------------------------------------------------------------------------------------
# Sampler
# --------------------------------------------------------------------------------------------


GROUPS = ("exposure", "contrast", "temperature", "tint", "saturation", "shadows", "highlights", "blacks")


@dataclass
class Batch:
    inputs: torch.Tensor  # (B, 3, S, S)
    targets: torch.Tensor  # (B, 3, S, S)
    clauses: list  # B lists of clause strings
    params: torch.Tensor  # (B, P) forward-edit parameters (valid where param_mask)
    param_mask: torch.Tensor  # (B,)


class ClauseBank:
    """All training clause strings, grouped by key; embeddings are precomputed once for them."""

    def __init__(self, per_key: int = 120, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.keys: dict[tuple, list[str]] = {}

        def add(key, phrases):
            phrases = list(phrases)
            if len(phrases) > per_key:
                phrases = [phrases[i] for i in sorted(rng.choice(len(phrases), per_key, replace=False))]
            self.keys[key] = phrases

        for d in DIRECTIONS:
            for level in INTENSITY:
                add(("dir", d.name, level), directional_phrases(d, level))
        for g, phrases in FIX_PHRASES.items():
            add(("fix", g), phrases)
        add(("enhance",), ENHANCE_PHRASES)
        for s, (_, phrases) in STYLES.items():
            add(("style", s), phrases)
        for region in REGIONS:
            for sign in (-1, 1):
                add(("region", region, sign), region_phrases(region, sign))

    def all_phrases(self) -> list[str]:
        return sorted({p for v in self.keys.values() for p in v})

    def all_clauses(self) -> list[str]:
        """Every clause the predictor can see for these phrases (after :func:`split_clauses`)."""
        return sorted({c for p in self.all_phrases() for c in split_clauses(p)})

    def pick(self, key: tuple, rng: np.random.Generator) -> str:
        v = self.keys[key]
        return v[int(rng.integers(len(v)))]


def load_training_images(photos: list[Path], long_edge: int = 320) -> list[torch.Tensor]:
    """Decode photos to ``(3, h, w)`` float tensors with long edge ``long_edge`` (the proxies)."""
    from retouch_studio.model.imaging import load_photo, make_proxy

    out = []
    for path in photos:
        proxy = make_proxy(load_photo(path).pixels, long_edge)
        out.append(torch.from_numpy(np.ascontiguousarray(proxy.transpose(2, 0, 1))))
    return out


class Synthesizer:
    """Draws training batches from proxies.

    ``corrective`` is the share of corrective (degraded -> original) samples; the rest are forward
    edits and styles rendered by the parameter renderer.
    """

    def __init__(self, images: list[torch.Tensor], bank: ClauseBank, size: int = 64,
                 corrective: float = 0.5, seed: int = 0):
        if not images:
            raise ValueError("the synthesizer needs at least one image")
        self.images, self.bank, self.size, self.corrective = images, bank, size, corrective
        self.rng = np.random.default_rng(seed)

    def crop(self) -> torch.Tensor:
        rng = self.rng
        img = self.images[int(rng.integers(len(self.images)))]
        _, h, w = img.shape
        scale = rng.uniform(0.45, 1.0)
        aspect = np.exp(rng.uniform(-0.4, 0.4))
        ch = int(min(h, max(16, h * scale * np.sqrt(aspect))))
        cw = int(min(w, max(16, w * scale / np.sqrt(aspect))))
        y0, x0 = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        c = img[:, y0 : y0 + ch, x0 : x0 + cw].unsqueeze(0)
        c = F.adaptive_avg_pool2d(c, (self.size, self.size)) if min(ch, cw) >= self.size else F.interpolate(
            c, size=(self.size, self.size), mode="bilinear", align_corners=False)
        if rng.random() < 0.5:
            c = c.flip(-1)
        return c.clamp(0, 1)

    def _level(self) -> str:
        return str(self.rng.choice(["small", "medium", "large"], p=[0.3, 0.4, 0.3]))

    def _n_clauses(self) -> int:
        return int(self.rng.choice([1, 2, 3], p=[0.55, 0.33, 0.12]))

    def corrective_sample(self, x: torch.Tensor):
        rng = self.rng
        if rng.random() < 0.12:  # spatial
            region = str(rng.choice(list(REGIONS)))
            sign = int(rng.choice([-1, 1]))
            mag = INTENSITY[self._level()][0] * rng.uniform(0.8, 1.2)
            m = region_mask(REGIONS[region][0], x.shape[-2], x.shape[-1], rng)
            return x, pvec(exposure=-sign * mag * 1.2), m, [self.bank.pick(("region", region, sign), rng)]
        k = self._n_clauses()
        groups = rng.choice(GROUPS, size=k, replace=False)
        enhance = rng.random() < 0.08
        clauses, params = [], np.zeros(NUM_PARAMS, np.float32)
        phys = []
        for g in groups:
            options = [d for d in DIRECTIONS if d.group == g]
            d = options[int(rng.integers(len(options)))]
            level = self._level()
            mag = INTENSITY[level][0] * rng.uniform(0.75, 1.25)
            if g == "exposure" and rng.random() < 0.4:
                phys.append(("exposure", float(-np.sign(d.unit[P["exposure"]]) * mag * 0.8)))
            elif g in ("temperature", "tint") and rng.random() < 0.4:
                phys.append((g, float(-np.sign(d.unit[P[g]]) * mag)))
            else:
                params -= d.unit * mag
            if g in FIX_PHRASES and rng.random() < 0.2:
                clauses.append(self.bank.pick(("fix", g), rng))
            else:
                clauses.append(self.bank.pick(("dir", d.name, level), rng))
        y = x
        for kind, amount in phys:
            a = torch.tensor([amount])
            if kind == "exposure":
                y = physical_exposure(y, a)
            elif kind == "temperature":
                y = physical_white_balance(y, a, torch.zeros(1))
            else:
                y = physical_white_balance(y, torch.zeros(1), a)
        if enhance:
            clauses = [self.bank.pick(("enhance",), rng)]
        return y.clamp(0, 1), params, None, clauses

    def forward_sample(self, x: torch.Tensor):
        rng = self.rng
        if rng.random() < 0.3:
            name = str(rng.choice(list(STYLES)))
            vec = STYLES[name][0] * rng.uniform(0.85, 1.15)
            clauses = [self.bank.pick(("style", name), rng)]
            if rng.random() < 0.25:  # style plus one directional tweak
                d = DIRECTIONS[int(rng.integers(len(DIRECTIONS)))]
                level = self._level()
                vec = vec + d.unit * INTENSITY[level][0]
                clauses.append(self.bank.pick(("dir", d.name, level), rng))
        else:
            k = self._n_clauses()
            groups = rng.choice(GROUPS, size=k, replace=False)
            vec = np.zeros(NUM_PARAMS, np.float32)
            clauses = []
            for g in groups:
                options = [d for d in DIRECTIONS if d.group == g]
                d = options[int(rng.integers(len(options)))]
                level = self._level()
                vec = vec + d.unit * INTENSITY[level][0] * rng.uniform(0.9, 1.1)
                clauses.append(self.bank.pick(("dir", d.name, level), rng))
        return np.asarray(vec, np.float32), clauses

    def sample(self, batch_size: int) -> Batch:
        """One batch; all parameter renders of the batch run as one batched call."""
        crops, bases, render_params, masks, forward, clauses = [], [], [], [], [], []
        ones = torch.ones(1, 1, self.size, self.size)
        for _ in range(batch_size):
            x = self.crop()
            crops.append(x)
            if self.rng.random() < self.corrective:
                base, vec, m, cl = self.corrective_sample(x)
                forward.append(False)
            else:
                vec, cl = self.forward_sample(x)
                base, m = x, None
                forward.append(True)
            bases.append(base)
            render_params.append(torch.from_numpy(np.asarray(vec, np.float32)))
            masks.append(ones if m is None else m)
            clauses.append([c for phrase in cl for c in split_clauses(phrase)])
        base = torch.cat(bases)
        vecs = torch.stack(render_params)
        mask = torch.cat(masks)
        rendered = (base + mask * (render(base, vecs) - base)).clamp(0, 1)
        fwd = torch.tensor(forward)
        crops_t = torch.cat(crops)
        sel = fwd.view(-1, 1, 1, 1)
        inputs = torch.where(sel, crops_t, rendered)
        targets = torch.where(sel, rendered, crops_t)
        params = torch.where(fwd.view(-1, 1), vecs, torch.zeros_like(vecs))
        return Batch(inputs, targets, clauses, params, fwd.float())


# --------------------------------------------------------------------------------------------
# Colour statistics (training's directional term and the evaluation)
# --------------------------------------------------------------------------------------------

STAT_NAMES = ("L", "a", "b", "chroma", "L_std", "shadow_L", "highlight_L")


def color_stats(rgb: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
    """Differentiable statistics ``(B, 7)`` (:data:`STAT_NAMES`) of ``rgb`` ``(B, 3, H, W)``.

    Shadow/highlight means are taken over the pixels that are dark/bright in ``reference``
    (default: ``rgb`` itself), so an edit is measured on the same pixels before and after.
    """
    lab = rgb_to_lab(rgb)
    ref = rgb_to_lab(reference)[:, 0] if reference is not None else lab[:, 0].detach()
    L = lab[:, 0]
    chroma = (lab[:, 1] ** 2 + lab[:, 2] ** 2 + 1e-6).sqrt()
    flat = ref.flatten(1)
    lo = torch.quantile(flat, 0.3, dim=1)[:, None, None]
    hi = torch.quantile(flat, 0.7, dim=1)[:, None, None]
    wsh = (ref <= lo).to(rgb.dtype)
    whi = (ref >= hi).to(rgb.dtype)
    sh = (L * wsh).sum((1, 2)) / wsh.sum((1, 2)).clamp(min=1)
    hl = (L * whi).sum((1, 2)) / whi.sum((1, 2)).clamp(min=1)
    return torch.stack([L.mean((1, 2)), lab[:, 1].mean((1, 2)), lab[:, 2].mean((1, 2)), chroma.mean((1, 2)),
                        L.flatten(1).std(1), sh, hl], dim=1)
