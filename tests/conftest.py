"""Shared fixtures: a catalogue in a temporary data home, the real documents when present."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
REALDOCS = ROOT.parent / "shared" / "realdocs"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def catalog(home: Path):
    from archive.catalog import Catalog

    cat = Catalog(home / "catalog.db")
    yield cat
    cat.close()


@pytest.fixture(scope="session")
def realdocs() -> Path:
    if not REALDOCS.is_dir() or not any(REALDOCS.glob("*.pdf")):
        pytest.skip(f"real documents not present at {REALDOCS} (../shared is absent)")
    return REALDOCS
