"""Style and mood presets as parameter dicts (full strength = amount 1).

Each style is a recipe in the parameters of ``model.params``; the default-model trainer renders
them with ``model.params`` to make style targets, and the instruction matcher scales them by the
amount the user asked for. Hues follow the opponent hue circle of ``model.params`` (red 0,
orange 30, yellow 60, green 120, cyan 180, teal ~200, blue 240, magenta 300, pink ~330).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from retouch_studio.model.params import check_params


@dataclass(frozen=True)
class Style:
    name: str
    params: dict
    prompts: tuple[str, ...]  # descriptions used by the matcher (embedding side)
    keywords: tuple[str, ...] = field(default=())  # words/phrases that name this style outright


_DEFS = [
    Style(
        "vintage",
        {"fade": 30, "temperature": 20, "saturation": -25, "contrast": -10, "vignette": -30,
         "split_highlight_hue": 45, "split_highlight_amount": 25, "split_shadow_hue": 170,
         "split_shadow_amount": 15, "blues_sat": -20},
        ("a vintage look", "make it look like an old photograph", "retro style", "nostalgic old-fashioned colours",
         "like a photo from the seventies"),
        ("vintage", "retro", "old photo", "old photograph", "nostalgic", "seventies", "70s", "old-fashioned", "old school", "aged"),
    ),
    Style(
        "film",
        {"fade": 15, "s_curve": 20, "saturation": -10, "split_shadow_hue": 190, "split_shadow_amount": 15,
         "split_highlight_hue": 40, "split_highlight_amount": 15, "greens_hue": -20, "vignette": -10},
        ("analog film look", "like it was shot on 35mm film", "film emulation", "kodak portra colours"),
        ("film", "analog", "analogue", "35mm", "kodak", "portra", "fuji", "filmic"),
    ),
    Style(
        "cinematic",
        {"split_shadow_hue": 195, "split_shadow_amount": 50, "split_highlight_hue": 35,
         "split_highlight_amount": 40, "contrast": 20, "saturation": -10, "oranges_sat": 15, "vignette": -20},
        ("cinematic teal and orange grade", "like a frame from a hollywood movie", "blockbuster colour grading",
         "teal shadows and orange highlights"),
        ("cinematic", "teal and orange", "teal-orange", "orange and teal", "movie", "hollywood", "blockbuster", "cinema"),
    ),
    Style(
        "moody",
        {"exposure": -0.4, "contrast": 20, "highlights": -30, "shadows": -20, "saturation": -30,
         "temperature": -10, "vignette": -35, "blacks": -10},
        ("a dark moody atmosphere", "brooding and atmospheric", "gloomy melancholic mood", "dramatic dark feel"),
        ("moody", "gloomy", "brooding", "melancholic", "somber", "sombre", "atmospheric"),
    ),
    Style(
        "dreamy",
        {"exposure": 0.3, "contrast": -30, "highlights": 20, "fade": 20, "saturation": -10,
         "split_highlight_hue": 330, "split_highlight_amount": 15, "temperature": 5, "s_curve": -20},
        ("soft dreamy glow", "ethereal and hazy", "like a dream, soft and airy", "romantic soft look"),
        ("dreamy", "ethereal", "dreamlike", "romantic", "hazy"),
    ),
    Style(
        "cozy",
        {"temperature": 35, "tint": 5, "exposure": 0.1, "shadows": 15, "saturation": -5,
         "oranges_sat": 15, "vignette": -20, "fade": 10},
        ("cozy warm indoor feeling", "snug and inviting like a fireplace", "warm homely atmosphere"),
        ("cozy", "cosy", "snug", "homely", "hygge", "inviting"),
    ),
    Style(
        "clean",
        {"temperature": -25, "exposure": 0.2, "contrast": 10, "whites": 20, "saturation": -10},
        ("clean cool minimal look", "crisp fresh and cool", "clean modern scandinavian style"),
        ("clean", "crisp", "fresh", "minimal", "scandinavian", "nordic"),
    ),
    Style(
        "golden_hour",
        {"temperature": 45, "tint": 10, "split_highlight_hue": 40, "split_highlight_amount": 35,
         "oranges_sat": 20, "yellows_sat": 20, "exposure": 0.1, "contrast": 10, "highlights": -10},
        ("golden hour sunlight", "warm glow of the setting sun", "sunset light", "late afternoon golden light"),
        ("golden hour", "golden", "sunset", "sundown", "magic hour", "sunlit"),
    ),
    Style(
        "high_key",
        {"exposure": 0.8, "highlights": 20, "shadows": 50, "contrast": -25, "whites": 30, "saturation": -10},
        ("high-key bright and airy", "light and bright with almost no shadows", "bright airy white look"),
        ("high-key", "high key", "airy", "bright and airy"),
    ),
    Style(
        "low_key",
        {"exposure": -0.8, "shadows": -40, "blacks": -40, "contrast": 30, "highlights": -20, "vignette": -40},
        ("low-key dark with deep shadows", "dark dramatic chiaroscuro lighting", "mostly black background low key"),
        ("low-key", "low key", "chiaroscuro"),
    ),
    Style(
        "pastel",
        {"saturation": -35, "exposure": 0.35, "contrast": -30, "fade": 20,
         "split_highlight_hue": 330, "split_highlight_amount": 10},
        ("soft pastel colours", "light muted candy colours", "gentle pastel palette"),
        ("pastel", "candy"),
    ),
    Style(
        "faded",
        {"fade": 45, "contrast": -20, "saturation": -25},
        ("faded matte look", "washed out faded colours", "matte finish with lifted blacks"),
        ("faded", "matte", "washed out", "washed-out", "lifted blacks"),
    ),
    Style(
        "noir",
        {"bw": 100, "contrast": 50, "s_curve": 30, "blacks": -30, "vignette": -50, "exposure": -0.2},
        ("film noir black and white", "dark high contrast monochrome detective movie", "noir style"),
        ("noir",),
    ),
    Style(
        "black_and_white",
        {"bw": 100, "contrast": 10},
        ("black and white photo", "convert to monochrome", "greyscale", "remove all colour"),
        ("black and white", "black & white", "b&w", "b/w", "monochrome", "grayscale", "greyscale", "mono"),
    ),
    Style(
        "sepia",
        {"bw": 100, "split_shadow_hue": 30, "split_shadow_amount": 45, "split_highlight_hue": 45,
         "split_highlight_amount": 35, "fade": 10},
        ("sepia toned", "brown antique monochrome", "old sepia print"),
        ("sepia", "antique"),
    ),
    Style(
        "vivid",
        {"vibrance": 40, "saturation": 20, "contrast": 25, "s_curve": 10},
        ("vivid punchy colours", "make the colours pop", "bold vibrant look"),
        ("vivid look", "vivid style", "punchy look", "bold colours", "bold colors", "vibrant look"),
    ),
    Style(
        "natural",
        {"contrast": -15, "highlights": -20, "shadows": 20, "vibrance": 10},
        ("natural soft look", "true to life balanced", "subtle natural edit"),
        ("natural", "true to life", "realistic", "lifelike"),
    ),
    Style(
        "autumn",
        {"temperature": 25, "oranges_sat": 30, "reds_sat": 15, "yellows_hue": -20, "greens_hue": -40, "greens_sat": -10},
        ("autumn colours", "fall foliage tones", "warm autumnal palette"),
        ("autumn", "autumnal", "fall colours", "fall colors", "fall foliage"),
    ),
    Style(
        "winter",
        {"temperature": -40, "saturation": -20, "exposure": 0.2, "blues_sat": 10, "whites": 15},
        ("cold winter look", "icy frosty atmosphere", "snowy winter morning"),
        ("winter", "wintry", "icy", "frosty", "arctic"),
    ),
    Style(
        "dramatic",
        {"contrast": 45, "highlights": -30, "shadows": -20, "s_curve": 20, "vignette": -30, "saturation": 10},
        ("dramatic and intense", "epic dramatic look", "bold high drama"),
        ("dramatic", "epic", "intense", "drama"),
    ),
    Style(
        "summer",
        {"exposure": 0.3, "temperature": 15, "vibrance": 30, "shadows": 20, "contrast": 5},
        ("bright summer day", "sunny summer vibe", "cheerful summer holiday colours"),
        ("summer", "summery", "sunny", "holiday"),
    ),
]

STYLES: dict[str, Style] = {}
for _s in _DEFS:
    STYLES[_s.name] = Style(_s.name, check_params(_s.params), _s.prompts, _s.keywords)
del _s


def style_params(name: str, amount: float = 1.0) -> dict:
    """Parameters of style ``name`` scaled by ``amount`` (hues are kept, amounts scaled)."""
    try:
        style = STYLES[name]
    except KeyError:
        raise ValueError(f"unknown style {name!r}; known: {', '.join(STYLES)}") from None
    out = {}
    for k, v in style.params.items():
        out[k] = v if k.endswith("_hue") and k.startswith("split_") else v * amount
    return out
