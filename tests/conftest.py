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


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    """A small seeded sample archive (6 organisations) and its ground truth."""
    from corpus.generate import generate

    root = tmp_path_factory.mktemp("sample")
    truth = generate(root, seed=7, n_orgs=6)
    return root, truth


@pytest.fixture(scope="session")
def sample_home(sample, tmp_path_factory):
    """The sample ingested into a catalogue and indexed: (home, catalog, summary). Read-only."""
    from archive.catalog import Catalog
    from archive.ingest import Ingestor
    from indexer import build

    home = tmp_path_factory.mktemp("home")
    catalog = Catalog(home / "catalog.db")
    summary = Ingestor(catalog, workers=2).run([sample[0]])
    build.reindex(catalog, home / "index")
    yield home, catalog, summary
    catalog.close()
