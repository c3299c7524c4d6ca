"""Shared test setup: offline hubs, offscreen Qt, the repo on sys.path, photo fixtures."""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
PHOTOS = sorted(DATA.glob("*.jpg"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def photo_paths() -> list[Path]:
    """Small downscaled copies of real photos (licences in tests/data/LICENSES.md)."""
    assert PHOTOS, "tests/data has no photos"
    return PHOTOS


@pytest.fixture(scope="session")
def photo_path() -> Path:
    return DATA / "aitzgorri_by_Aitzol_Berasategi.jpg"
