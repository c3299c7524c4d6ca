"""Instruction understanding: plan on compound / negated / intensity phrasing, held-out paraphrases,
plan -> params, styles, and refusal of content edits."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from retouch_studio.model.instructions import (
    ATTRIBUTES, STYLES, ContentEditError, check_instruction, plan, plan_to_params, split_clauses, style_params,
)
from retouch_studio.model.params import check_params

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def _pairs(text):
    return [(it["attribute"], it["direction"]) for it in plan(text)]


def _paraphrase_hits(name):
    """(expected (attribute, direction) pairs found in the plan, pairs expected) over a case file."""
    total = hits = 0
    for case in json.loads((DATA / name).read_text())["cases"]:
        got = set(_pairs(case["text"]))
        for attr, direction in case["expect"]:
            total += 1
            hits += (attr, direction) in got
    return hits, total


def _one(text):
    items = plan(text)
    assert len(items) == 1, (text, items)
    return items[0]


# ---- the examples of the issue ----------------------------------------------------------------


def test_much_brighter():
    it = _one("much brighter")
    assert (it["attribute"], it["direction"], it["amount"]) == ("exposure", 1, 1.0)


def test_a_bit_less_contrast():
    it = _one("a bit less contrast")
    assert (it["attribute"], it["direction"]) == ("contrast", -1)
    assert it["amount"] < 0.5


def test_not_too_warm_is_not_warmer():
    it = _one("not too warm")
    assert (it["attribute"], it["direction"]) == ("temperature", -1)


def test_warmer_but_not_too_warm_limits_the_warmth():
    items = plan("warmer but not too warm")
    assert [(i["attribute"], i["direction"]) for i in items] == [("temperature", 1)]
    assert items[0]["amount"] < plan("warmer")[0]["amount"]


def test_warmer_vs_cooler_directions():
    assert _pairs("make it warmer") == [("temperature", 1)]
    assert _pairs("make it cooler") == [("temperature", -1)]
    assert _pairs("less warm") == [("temperature", -1)]
    assert _pairs("it's too cold") == [("temperature", 1)]


def test_compound_instruction_lists_each_part():
    assert _pairs("brighter, warmer and a bit less contrast") == [
        ("exposure", 1), ("temperature", 1), ("contrast", -1)]
    assert _pairs("lift the shadows but keep the highlights darker") == [("shadows", 1), ("highlights", -1)]


def test_protected_phrases_are_not_split():
    assert split_clauses("black and white, with more contrast") == ["black and white", "more contrast"]
    assert _pairs("black and white") == [("style:black_and_white", 1)]


def test_subject_binds_pole_words():
    assert _pairs("brighter shadows") == [("shadows", 1)]
    assert _pairs("make the sky darker") == [("blues_lum", -1)]
    assert _pairs("greener grass") == [("greens_sat", 1)]


def test_intensity_scales_amount():
    a = {t: plan(t)[0]["amount"] for t in ("slightly warmer", "warmer", "much warmer")}
    assert a["slightly warmer"] < a["warmer"] < a["much warmer"]


def test_styles_and_paraphrase_embedding():
    assert _pairs("vintage look")[0] == ("style:vintage", 1)
    assert _pairs("like a frame from a hollywood film")[0] == ("style:cinematic", 1)


def test_plan_item_fields_and_empty():
    it = _one("more saturation")
    assert set(it) >= {"attribute", "direction", "amount", "confidence"}
    assert 0 < it["confidence"] <= 1
    assert plan("") == []
    with pytest.raises(TypeError):
        plan(None)


def test_unrelated_text_gives_no_plan():
    assert plan("the quarterly tax report is due on friday") == []


# ---- held-out paraphrases ----------------------------------------------------------------------


def test_heldout_paraphrase_accuracy():
    """Paraphrases written before measuring and never used for tuning (see the file's note).

    Measured when the file was added: 50 of 55 expected (attribute, direction) pairs found. Session 2
    studied the 5 misses (so this is a development set now): 55 of 55.
    """
    hits, total = _paraphrase_hits("instr_paraphrases.json")
    assert total >= 50
    assert hits / total >= 0.95, f"{hits}/{total}"


# ---- plan -> params ------------------------------------------------------------------------


def test_plan_to_params_directions_and_ranges():
    p = plan_to_params(plan("much brighter, cooler and a bit less contrast"))
    assert p["exposure"] > 0.5 and p["temperature"] < 0 and p["contrast"] < 0
    check_params(p)
    huge = plan_to_params(plan("much brighter, much brighter, much brighter, much brighter"))
    assert huge["exposure"] <= 3.0


def test_plan_to_params_style_and_split_hue():
    p = plan_to_params(plan("cinematic teal and orange"))
    assert p["split_shadow_hue"] == STYLES["cinematic"].params["split_shadow_hue"]
    assert 0 < p["split_shadow_amount"] < STYLES["cinematic"].params["split_shadow_amount"]


def test_styles_are_valid_params():
    assert len(STYLES) >= 14
    for name, style in STYLES.items():
        check_params(style.params)
        assert style.prompts and style.keywords
        half = style_params(name, 0.5)
        for k, v in style.params.items():
            if not (k.startswith("split_") and k.endswith("_hue")):
                assert half[k] == pytest.approx(v / 2)
    with pytest.raises(ValueError, match="unknown style"):
        style_params("nope")


def test_bank_covers_the_issue():
    names = {a.name for a in ATTRIBUTES}
    for n in ("exposure", "contrast", "highlights", "shadows", "whites", "blacks", "temperature", "tint",
              "saturation", "vibrance", "s_curve", "fade", "split_toning", "vignette"):
        assert n in names
    for hue in ("reds", "oranges", "yellows", "greens", "aquas", "blues", "purples", "magentas"):
        assert {f"{hue}_sat", f"{hue}_lum", f"{hue}_hue"} <= names
    for s in ("vintage", "film", "cinematic", "moody", "dreamy", "cozy", "clean", "golden_hour", "high_key",
              "low_key", "pastel", "faded", "noir", "black_and_white"):
        assert f"style:{s}" in names
    for a in ATTRIBUTES:
        assert a.up_prompts, a.name
        if a.bipolar and a.group != "hsl":
            assert a.down_prompts, a.name


# ---- refusal ---------------------------------------------------------------------------------

CONTENT = ["add a hat", "remove the person", "replace the sky", "make her smile",
           "put sunglasses on him", "erase the car in the background", "get rid of the people",
           "swap the background for a beach", "turn the dog into a cat", "crop it to a square",
           "make him look younger", "add a rainbow", "delete the power lines", "open his eyes"]
RETOUCH = ["add warmth", "add a vignette", "remove the green cast", "add more contrast", "make it warmer",
           "replace the cool tones with warm ones", "get rid of the yellow tint", "add a film look",
           "remove the vignette", "make the sky bluer", "give it a golden glow", "add some pop", "",
           "black and white with more contrast"]


@pytest.mark.parametrize("text", CONTENT)
def test_content_edits_are_refused(text):
    with pytest.raises(ContentEditError, match="tone and colour") as exc:
        check_instruction(text)
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize("text", RETOUCH)
def test_retouch_edits_are_accepted(text):
    check_instruction(text)


def test_compound_with_content_part_does_the_tone_part_and_says_what_was_not_done():
    reading = check_instruction("make it warmer and remove the person")
    assert reading.mode == "plan"
    assert [(i["attribute"], i["direction"]) for i in reading.plan] == [("temperature", 1)]
    assert reading.not_done == ["remove the person"]


# ---- CLI -------------------------------------------------------------------------------------


def _cli(*args):
    env_code = "import sys; from retouch_studio.app.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", env_code, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_cli_plan_json_and_refusal():
    r = _cli("plan", "-i", "warmer, much brighter and a bit less contrast", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [(i["attribute"], i["direction"]) for i in out["plan"]] == [
        ("temperature", 1), ("exposure", 1), ("contrast", -1)]
    assert out["params"]["exposure"] > 0
    r = _cli("plan", "-i", "add a hat")
    assert r.returncode != 0 and "tone and colour" in r.stderr and r.stdout == ""
    r = _cli("plan", "-i", "exposure +0.7, shadows 30")
    assert r.returncode == 0 and "exposure +0.7" in r.stdout
    r = _cli("plan", "-i", "exposure +9")
    assert r.returncode == 2 and "out of range" in r.stderr


def test_shipped_bank_cache_is_current():
    """model/instructions/bank_embeddings.npz must match the bank (regenerate with write_bank_cache())."""
    import numpy as np

    from retouch_studio.model.instructions import matcher
    from retouch_studio.model.text_encoder import encode

    texts, _, _ = matcher._bank_prompts()
    cached = matcher._load_cache(texts)
    assert cached is not None, "stale bank cache: run model.instructions.matcher.write_bank_cache()"
    fresh = encode(texts[:5] + texts[-5:])
    np.testing.assert_allclose(np.concatenate([cached[:5], cached[-5:]]), fresh, atol=5e-3)


# ---- session 2: colour casts, complaints, follow-up clauses --------------------------------------


@pytest.mark.parametrize("text, expect", [
    ("the photo has a green cast", ("tint", 1)),
    ("neutralise the pink cast", ("tint", -1)),
    ("add a subtle pink tint", ("tint", 1)),
    ("get rid of the yellow cast", ("temperature", -1)),
    ("shift the white balance toward blue", ("temperature", -1)),
    ("skin looks green", ("tint", 1)),
    ("it's too pink", ("tint", -1)),
    ("the lamps turned everything orange, fix the white balance", ("temperature", -1)),
    ("remove all colour", ("style:black_and_white", 1)),
    ("I'd like a classic black-and-white version", ("style:black_and_white", 1)),
])
def test_colour_casts_and_colour_removal(text, expect):
    assert expect in _pairs(text)


@pytest.mark.parametrize("text, expect", [
    ("the colours are garish, tone them down", ("saturation", -1)),
    ("the bright areas are blown out", ("highlights", -1)),
    ("the dark parts look grey, deepen them", ("shadows", -1)),
    ("can't see anything in the shadows, brighten them", ("shadows", 1)),
    ("the image is way too harsh and contrasty", ("contrast", -1)),
    ("pls lighten the image a bit its kinda dim", ("exposure", 1)),
])
def test_complaints_name_the_fix(text, expect):
    pairs = _pairs(text)
    assert expect in pairs and (expect[0], -expect[1]) not in pairs


@pytest.mark.parametrize("text, expect", [
    ("cool it down a bit", ("temperature", -1)),  # "down" is a particle, not "less"
    ("lower the contrast for a gentler look", ("contrast", -1)),  # the verb agrees with the pole
    ("make it less warm", ("temperature", -1)),
    ("push the shadows down", ("shadows", -1)),
    ("lift the exposure by half a stop", ("exposure", 1)),  # "stop" is not a negation
    ("skin tones are way too orange, desaturate them a bit", ("oranges_sat", -1)),
    ("can you make it feel less icy?", ("temperature", 1)),
])
def test_modifiers_turn_only_the_word_they_stand_before(text, expect):
    assert expect in _pairs(text)


def test_follow_up_clauses_join_their_clause_but_requests_do_not():
    assert split_clauses("there's a pink cast, get rid of it") == ["there's a pink cast get rid of it"]
    assert split_clauses("the shadows look grey, deepen them") == ["the shadows look grey deepen them"]
    assert split_clauses("convert to monochrome then give it more light") == ["convert to monochrome",
                                                                               "give it more light"]
    assert _pairs("it looks sickly green, fix the tint") == [("tint", 1)]
    assert ("exposure", 1) in _pairs("brighten the darker parts without touching the highlights") or \
        ("shadows", 1) in _pairs("brighten the darker parts without touching the highlights")
    assert ("highlights", 1) not in _pairs("brighten the darker parts without touching the highlights")


def test_same_request_twice_counts_once():
    assert plan_to_params(plan("it's too dark, brighten it up")) == plan_to_params(plan("brighten it up"))


def test_style_conversions_are_not_content_edits():
    check_instruction("turn it into a B&W photo")
    check_instruction("get rid of the dark corners")
    for text in ("turn the photo into a painting", "turn the cat into a dog"):
        with pytest.raises(ContentEditError):
            check_instruction(text)


def test_second_paraphrase_set():
    """tests/data/instr_paraphrases_v2.json: written in session 2 by a helper that never saw the
    matcher. Measured before any change that session: 115/147 (session-1 matcher) and 126/147 (after
    the first changes); its misses were then studied, so it is a development set now: 142/147."""
    hits, total = _paraphrase_hits("instr_paraphrases_v2.json")
    assert total == 147
    assert hits / total >= 0.93, f"{hits}/{total}"
