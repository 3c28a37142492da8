"""Shared fixtures: a catalogue in a temporary data home, the real documents when present."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
REALDOCS = ROOT.parent / "shared" / "realdocs"

# One OCR cache for the whole run (and the CLI processes it starts): a page the sample's fixture read
# is not read again by every test that ingests the sample into a home of its own. It lives in the
# checkout (`.test-cache/`, ignored by git), so a fresh clone starts cold. Tests of the cache itself
# name their own file (`ocr_cache=`) or drop the variable (`own_ocr_cache_env`).
TEST_CACHE = ROOT / ".test-cache"
os.environ.setdefault("AUDITARCHIVE_OCR_CACHE", str(TEST_CACHE / "ocr-cache.db"))


# The longest test files first: xdist hands files to whichever process is free, so the heaviest
# (the real scanned exam paper's OCR, the full-scale generator, the Dask cluster, the crash runs)
# start while the other process works through the many short ones, instead of ending the run alone.
HEAVY_FIRST = ("test_ocr.py", "test_corpus.py", "test_cluster.py", "test_crash_safety.py", "test_search.py")


def pytest_collection_modifyitems(items: list) -> None:
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))       # stable: order within a file kept


def own_ocr_cache_env() -> dict[str, str]:
    """The environment for a CLI process that must use its data home's own OCR cache."""
    return {k: v for k, v in os.environ.items() if k != "AUDITARCHIVE_OCR_CACHE"}


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


def built_once(name: str, build) -> Path:
    """A folder `build(folder)` fills once per test run, shared by the run's xdist workers: the first
    to come builds it under a lock, the others wait and use it. Folders of runs that have ended
    are removed: a run never reuses another run's sample."""
    import fcntl
    import shutil

    owner = os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()   # the run's pytest
    TEST_CACHE.mkdir(exist_ok=True)
    target = TEST_CACHE / f"run-{owner}" / name
    with open(TEST_CACHE / "runs.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for old in TEST_CACHE.glob("run-*"):
            pid = old.name.removeprefix("run-")
            if pid != str(owner) and not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
                shutil.rmtree(old, ignore_errors=True)
        if not (target / ".built").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            build(target)
            (target / ".built").touch()
    return target


@pytest.fixture(scope="session")
def sample() -> tuple[Path, dict]:
    """A small seeded sample archive (6 organisations) and its ground truth."""
    import json

    from corpus.generate import generate

    root = built_once("sample", lambda folder: generate(folder, seed=7, n_orgs=6))
    return root, json.loads((root / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_home(sample):
    """The sample ingested into a catalogue and indexed: (home, catalog, summary). Read-only."""
    import json

    from archive.catalog import Catalog
    from archive.ingest import Failure, Ingestor, Summary
    from indexer import build

    def ingest(home: Path) -> None:
        catalog = Catalog(home / "catalog.db")
        summary = Ingestor(catalog, workers=2).run([sample[0]])
        build.reindex(catalog, home / "index")
        catalog.close()
        (home / "summary.json").write_text(json.dumps(summary.to_dict(), ensure_ascii=False), encoding="utf-8")

    home = built_once("home", ingest)
    data = json.loads((home / "summary.json").read_text(encoding="utf-8"))
    summary = Summary(**{**data, "failed": [Failure(**f) for f in data["failed"]]})
    catalog = Catalog(home / "catalog.db")
    yield home, catalog, summary
    catalog.close()


# -- the web app: a writable copy of the sample home, served over real HTTP -----------------------

HOSTILE_TEXT = '<script>alert("xss")</script><img src=x onerror=alert(2)>'
HOSTILE_TITLE = "审核报告 <script>alert(1)</script>"      # short enough to be read as the title


def copy_home(src: Path, dst: Path) -> Path:
    """A consistent copy of a data home (catalogue through SQLite's backup API, index as files)."""
    import shutil
    import sqlite3

    dst.mkdir(parents=True)
    with sqlite3.connect(src / "catalog.db") as s, sqlite3.connect(dst / "catalog.db") as d:
        s.backup(d)
    shutil.copytree(src / "index", dst / "index")
    return dst


@pytest.fixture(scope="session")
def web_home(sample_home, tmp_path_factory):
    """The sample home copied, plus one document whose text, title and organisation carry HTML."""
    from pdfmaker import make_pdf

    from archive.catalog import Catalog
    from indexer.pipeline import ingest_and_index

    home = copy_home(sample_home[0], tmp_path_factory.mktemp("webhome") / "home")
    hostile = tmp_path_factory.mktemp("hostile") / f"审核报告{HOSTILE_TEXT[:8]}.pdf"
    make_pdf(hostile, [HOSTILE_TITLE, "受审核方：杭州安恒检测技术有限公司",
                       f"审核发现：记录中出现 {HOSTILE_TEXT} 字样，核查恶意脚本注入防护。"])
    catalog = Catalog(home / "catalog.db")
    summary, _ = ingest_and_index(catalog, home / "index", [hostile], workers=0)
    assert summary.added == 1
    assert catalog.get_document(catalog.resolve(str(hostile))[0]).title == HOSTILE_TITLE
    catalog.close()
    return home


PASSWORDS = {"admin": "admin-password-1", "auditor": "auditor-password-1", "viewer": "viewer-password-1"}


class LiveServer:
    """The app behind waitress in a thread; a user (and API token) of each role."""

    def __init__(self, home: Path):
        import threading

        from waitress import create_server

        from archive.accounts import Accounts
        from webui.app import create_app

        self.home = home
        self.app = create_app(home)
        accounts = Accounts(home / "auth.db")
        self.tokens = {}
        for role, password in PASSWORDS.items():
            if accounts.user(role) is None:
                accounts.add_user(role, role, password)
            self.tokens[role] = accounts.create_token(role)
        accounts.close()
        self.token = self.tokens["auditor"]
        self.passwords = PASSWORDS
        self.server = create_server(self.app, host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="session")
def live_server(web_home):
    """`auditarchive serve`'s app behind waitress on a free loopback port, with an API token."""
    server = LiveServer(web_home)
    yield server
    server.close()
