"""A tiny CLIP BPE tokenizer built locally (no downloads) for the random tiny configs."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from transformers import CLIPTokenizer

# Words whose BPE merges the tiny vocabulary knows, so common instructions are not pure characters.
TINY_WORDS = (
    "make", "the", "photo", "image", "more", "less", "brighter", "darker", "bright", "dark",
    "warmer", "cooler", "warm", "cool", "contrast", "saturation", "vivid", "muted", "exposure",
    "shadows", "highlights", "vintage", "cinematic", "dreamy", "cozy", "increase", "reduce",
)


def _bytes_to_unicode() -> list[str]:
    # The GPT-2 / CLIP reversible byte -> printable-unicode table.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def build_tiny_tokenizer(max_length: int = 16) -> CLIPTokenizer:
    """Byte-level BPE with the 512 single-byte tokens plus merges for :data:`TINY_WORDS`."""
    units = _bytes_to_unicode()
    vocab = units + [u + "</w>" for u in units]
    known = set(vocab)
    merges: list[tuple[str, str]] = []
    for word in TINY_WORDS:
        cur = word[0]
        for i, ch in enumerate(word[1:]):
            nxt = ch + ("</w>" if i == len(word) - 2 else "")
            if (cur, nxt) not in merges:
                merges.append((cur, nxt))
            cur = cur + nxt
            if cur not in known:
                known.add(cur)
                vocab.append(cur)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    # Through files + from_pretrained: the one constructor transformers 4.x and 5.x share.
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
        tok = CLIPTokenizer.from_pretrained(tmp, local_files_only=True)
    tok.model_max_length = max_length
    return tok


def load_tokenizer(folder: str | Path) -> CLIPTokenizer:
    return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
