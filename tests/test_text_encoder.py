"""The offline MiniLM text encoder: shapes, normalisation, caching, meaning, bad input."""

import threading

import numpy as np
import pytest

from retouch_studio.model import text_encoder
from retouch_studio.model.text_encoder import EMBED_DIM, encode


def test_shape_dtype_unit_norm():
    e = encode(["make it brighter", "add a cinematic teal and orange look"])
    assert e.shape == (2, EMBED_DIM) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)


def test_empty_list():
    assert encode([]).shape == (0, EMBED_DIM)


def test_cache_returns_same_vector_and_batch_independent():
    a = encode(["increase the exposure"])[0]
    b = encode(["something else entirely", "increase the exposure"])[1]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_uncached_batch_equals_single():
    text_encoder.clear_cache()
    together = encode(["short", "a much longer sentence about colour grading a photo"])
    text_encoder.clear_cache()
    alone = encode(["a much longer sentence about colour grading a photo"])[0]
    # Padding must not leak into the mean pooling.
    np.testing.assert_allclose(together[1], alone, atol=1e-4)


def test_semantics():
    e = encode(["make the photo brighter", "increase the brightness", "a dog playing in the park"])
    assert e[0] @ e[1] > 0.6
    assert e[0] @ e[2] < 0.3


def test_rejects_bad_input():
    with pytest.raises(TypeError):
        encode("a string, not a list")
    with pytest.raises(TypeError):
        encode([1, 2])


def test_thread_safe():
    texts = [f"make it {w}" for w in ("warm", "cool", "bright", "dark", "moody", "soft")]
    expected = encode(texts)
    text_encoder.clear_cache()
    results = [None] * 4
    def work(k):
        results[k] = encode(texts)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-4)


@pytest.mark.slow  # loads torch and transformers (the export checks the same before writing)
def test_onnx_matches_the_torch_encoder():
    """The shipped ONNX encoder gives the embeddings of the original transformers (torch) model."""
    from retouch_studio.model.instructions.matcher import _bank_prompts
    from retouch_studio.model.training.export_text_encoder import reference_encode

    texts = _bank_prompts()[0][::7] + [
        "warmer", "a bit warmer but not too bright", "x", "",
        "make the sky bluer, lift the shadows and give it a soft film look " * 10,  # truncated
    ]
    cos = (encode(texts) * reference_encode(texts)).sum(1)
    assert cos.min() >= 0.999, (texts[int(cos.argmin())], float(cos.min()))


def test_understanding_text_imports_neither_torch_nor_transformers():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from retouch_studio.model.instructions import plan\n"
        "assert plan('a bit warmer'), 'no plan'\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
