"""Fixtures for the paper-model tests: a tiny triplet folder and the tiny training chain."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parent.parent / "data"


@contextlib.contextmanager
def one_thread():
    """Tiny networks are dominated by per-op overhead; on a shared 2-core machine a second
    intra-op thread mostly spins (10-50x slower under load), so these tests use one.
    Set per test: numba's OpenMP layer (the fused apply kernel) shares libgomp with torch and
    resets its thread count to the core count whenever it runs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _paper_one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="session")
def paper_pairs(tmp_path_factory) -> Path:
    from retouch_studio.model.paper.data import make_pairs

    return make_pairs(DATA, tmp_path_factory.mktemp("paper_data"), count=4, size=48, seed=0)


@pytest.fixture(scope="session")
def paper_chain(paper_pairs, tmp_path_factory) -> dict:
    """teacher -> stage 1 -> stage 2 through the real command line, 2 steps each."""
    from retouch_studio.app.cli.main import main

    root = tmp_path_factory.mktemp("paper_chain")
    t, s1, s2 = root / "T", root / "S1", root / "S2"
    d = str(paper_pairs)
    with one_thread():
        assert main(["train", "teacher", "--tiny", "--data", d, "--max-steps", "2", "--out", str(t)]) == 0
        assert main(["train", "distill", "--tiny", "--stage", "1", "--teacher", str(t), "--data", d,
                     "--max-steps", "2", "--out", str(s1)]) == 0
        assert main(["train", "distill", "--tiny", "--stage", "2", "--teacher", str(t), "--init", str(s1),
                     "--data", d, "--max-steps", "2", "--out", str(s2)]) == 0
    return {"teacher": t, "stage1": s1, "stage2": s2, "data": paper_pairs}
