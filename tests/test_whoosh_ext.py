"""The Whoosh extensions (`indexer.whoosh_ext`): every private name they use exists in the
installed Whoosh and is listed; nothing outside the package reads Whoosh's private names; with
another Whoosh version (or AUDITARCHIVE_WHOOSH_EXT=0) nothing is applied, one warning says so,
and an index built and searched on plain Whoosh gives the same answers; the index's version
names Whoosh's."""
from __future__ import annotations

import importlib
import inspect
import json
import logging
import os
import re
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
import whoosh

from indexer import schema, whoosh_ext

ROOT = Path(__file__).resolve().parent.parent
INDEXER = ROOT / "indexer"
EXT = INDEXER / "whoosh_ext"


# -- the names ------------------------------------------------------------------------------------

def test_every_private_name_exists_in_the_installed_whoosh():
    assert whoosh_ext.missing() == []
    bogus = (("whoosh.codec.whoosh3", "W3LeafMatcher._no_such_thing"), ("whoosh.no_such_module", "X"),
             ("whoosh.writing", "NoSuchWriter.__init__"))
    assert whoosh_ext.missing(bogus) == list(bogus)


def test_the_expected_version_is_the_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [d.split("==", 1)[1] for d in project["dependencies"] if d.startswith("whoosh-reloaded==")]
    assert pins == [whoosh_ext.WHOOSH_VERSION]


def _whoosh_private_names() -> set[str]:
    """Every underscore name Whoosh's source defines: attributes set on self, functions and
    methods, module and class attributes, classes."""
    found: set[str] = set()
    for path in Path(whoosh.__file__).parent.rglob("*.py"):
        text = path.read_text(errors="ignore")
        found |= set(re.findall(r"\bself\.(_[A-Za-z]\w*)\s*(?::[^=\n]+)?(?:=(?!=)|,)", text))
        found |= set(re.findall(r"^\s*(?:def|class) (_[A-Za-z]\w*)", text, re.M))
        found |= set(re.findall(r"^\s*(_[A-Za-z]\w*)\s*=", text, re.M))
    return found


def _project_classes() -> list[type]:
    """The classes defined in indexer's modules."""
    out = []
    for path in sorted(INDEXER.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        module = importlib.import_module(name)
        out += [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == name]
    return out


def _defined_by(cls: type) -> set[str]:
    """The underscore names a class's own body defines (methods, attributes set on self)."""
    source = inspect.getsource(cls)
    return (set(re.findall(r"\bself\.(_[A-Za-z]\w*)\s*(?::[^=\n]+)?(?:=(?!=)|,)", source))
            | set(re.findall(r"^\s*def (_[A-Za-z]\w*)", source, re.M))) - {n for n in dir(object)}


def _whoosh_bases(cls: type) -> list[type]:
    return [b for b in cls.__mro__[1:] if b.__module__.startswith("whoosh.")]


LISTED = {dotted.split(".")[-1] for _, dotted in whoosh_ext.PRIVATE_NAMES}


def test_project_subclasses_override_only_listed_whoosh_names():
    """A class deriving from Whoosh's that defines a name Whoosh's class also has replaces it:
    that must be meant (listed), not a clash."""
    clashes = []
    for cls in _project_classes():
        for base in _whoosh_bases(cls):
            for name in _defined_by(cls):
                if (hasattr(base, name) or whoosh_ext._assigns(base, name)) and name not in LISTED:
                    clashes.append((cls.__name__, base.__name__, name))
    assert clashes == []


def _own_names() -> set[str]:
    """Underscore names the project's classes define that no Whoosh class they derive from has."""
    own: set[str] = set()
    for cls in _project_classes():
        bases = _whoosh_bases(cls)
        own |= {n for n in _defined_by(cls)
                if not any(hasattr(b, n) or whoosh_ext._assigns(b, n) for b in bases)}
    return own


def _private_reads(text: str) -> list[tuple[str, str]]:
    """(receiver, name) of each `x._name` read, `getattr(x, "_name")` and `from whoosh… import
    _name` in some source (dunder names left out)."""
    reads = re.findall(r"(\w+|\)|\])\.(_[A-Za-z]\w*)", text)
    reads += re.findall(r"getattr\((\w+),\s*[\"'](_[A-Za-z]\w*)[\"']", text)
    reads += [("whoosh", n) for n in re.findall(r"from whoosh[\w.]* import [^\n]*?\b(_[A-Za-z]\w*)", text)]
    return [(r, n) for r, n in reads if not n.startswith("__")]


def _whoosh_reads(path: Path, whoosh_names: set[str], own: set[str]) -> set[str]:
    """The Whoosh private names a module reads: any such name read on another object than self,
    and on self where the project does not define it itself."""
    return {name for receiver, name in _private_reads(path.read_text())
            if name in whoosh_names and not (receiver in ("self", "cls") and name in own)}


def test_private_names_are_read_inside_the_fence_and_listed():
    whoosh_names, own = _whoosh_private_names(), _own_names()
    outside = {str(p.relative_to(ROOT)): found for p in sorted(INDEXER.glob("*.py"))
               if (found := _whoosh_reads(p, whoosh_names, own))}
    assert outside == {}, "Whoosh's private names read outside indexer/whoosh_ext"
    unlisted = {str(p.relative_to(ROOT)): found - LISTED for p in sorted(EXT.glob("*.py"))
                if p.name != "__init__.py" and (found := _whoosh_reads(p, whoosh_names, own)) - LISTED}
    assert unlisted == {}, "add them to whoosh_ext.PRIVATE_NAMES"
    used = set().union(*(_whoosh_reads(p, whoosh_names, own) for p in EXT.glob("*.py") if p.name != "__init__.py"))
    assert len(used) > 30         # the scan sees the reads (postings writer, matcher, reader …)


def test_patched_names_are_listed():
    """Every `Class.attr = …` in the package is a listed name."""
    patched = set()
    for path in EXT.glob("*.py"):
        patched |= set(re.findall(r"^\s+(?:\w+\.)?([A-Z]\w+\.\w+) = ", path.read_text(), re.M))
    listed = {".".join(dotted.split(".")[-2:]) for _, dotted in whoosh_ext.PRIVATE_NAMES}
    assert patched == {"BufferFile.__init__", "FieldWriter.add_postings", "W3Codec.field_writer",
                       "SegmentWriter.add_document", "SegmentWriter.add_postings_to_pool",
                       "SegmentWriter.__init__"}
    assert patched <= listed


# -- the version check ------------------------------------------------------------------------------

@pytest.fixture
def undecided(monkeypatch):
    """install() as in a fresh process (restored after: the extensions stay as they were)."""
    monkeypatch.setattr(whoosh_ext, "_state", None)
    monkeypatch.delenv(whoosh_ext.ENV, raising=False)


OTHER_WHOOSH = {
    "whoosh upgraded": lambda m: m.setattr(whoosh, "__version__", (2, 7, 6)),
    "pin changed": lambda m: m.setattr(whoosh_ext, "WHOOSH_VERSION", "2.7.4"),
    "switched off": lambda m: m.setenv(whoosh_ext.ENV, "0"),
}


@pytest.mark.parametrize("how", list(OTHER_WHOOSH))
def test_install_refuses_another_whoosh_with_one_warning(undecided, monkeypatch, caplog, how):
    OTHER_WHOOSH[how](monkeypatch)
    results = []
    with caplog.at_level(logging.WARNING, logger="indexer.whoosh_ext"):
        threads = [threading.Thread(target=lambda: results.append(whoosh_ext.install())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not whoosh_ext.active() and not whoosh_ext.enabled()
    assert results == [False] * 8
    warnings = [r.getMessage() for r in caplog.records if r.name == "indexer.whoosh_ext"]
    assert len(warnings) == 1 and "plain Whoosh" in warnings[0] and "slower" in warnings[0]
    if how != "switched off":
        assert whoosh.versionstring() in warnings[0] and whoosh_ext.WHOOSH_VERSION in warnings[0]
    else:
        assert whoosh_ext.ENV in warnings[0]
    assert whoosh_ext.engine() == f"whoosh {whoosh.versionstring()} plain"


def test_schema_version_names_whoosh(monkeypatch):
    monkeypatch.delenv(whoosh_ext.ENV, raising=False)
    ours = schema.version()
    assert whoosh_ext.engine() == f"whoosh {whoosh_ext.WHOOSH_VERSION}"
    monkeypatch.setattr(whoosh, "__version__", (2, 7, 6))
    upgraded = schema.version()
    monkeypatch.undo()
    monkeypatch.setenv(whoosh_ext.ENV, "0")
    plain = schema.version()
    assert len({ours, upgraded, plain}) == 3
    monkeypatch.delenv(whoosh_ext.ENV)
    assert schema.version() == ours


# -- plain Whoosh end to end ------------------------------------------------------------------------

# Run in a fresh process: `mode` ext builds the index with the extensions (ingesting the PDFs);
# `upgraded` makes Whoosh report another version first, finds the index stale, rebuilds it from
# the catalogue and searches it on plain Whoosh.
SCRIPT = r'''
import json, logging, sys
from pathlib import Path

mode, home, pdfs = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
if mode == "upgraded":
    import whoosh
    whoosh.__version__ = (2, 7, 6)
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

from whoosh.codec.base import FieldWriter
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.structfile import BufferFile
from whoosh.writing import SegmentWriter

from archive.catalog import Catalog
from indexer import build, whoosh_ext
from indexer.search import SearchRequest, search
from indexer.whoosh_ext.sidecar import open_sidecar

out = {"installed": whoosh_ext.install()}
catalog = Catalog(home / "catalog.db")
index = home / "index"
if mode == "ext":
    from indexer.pipeline import ingest_and_index
    ingest_and_index(catalog, index, [pdfs], workers=0)
else:
    out["index_current"] = build.index_exists(index)
    build.reindex(catalog, index)
methods = {"BufferFile.__init__": BufferFile.__init__, "W3Codec.field_writer": W3Codec.field_writer,
           "SegmentWriter.__init__": SegmentWriter.__init__, "SegmentWriter.add_document": SegmentWriter.add_document,
           "SegmentWriter.add_postings_to_pool": SegmentWriter.add_postings_to_pool,
           "FieldWriter.add_postings": FieldWriter.add_postings}
out["patched"] = sorted(k for k, f in methods.items() if not f.__module__.startswith("whoosh.") or hasattr(f, "__wrapped__"))
handle = build.open_index(index)
with handle.index.searcher() as searcher:
    out["documents"] = searcher.doc_count()
    out["pairs_in_whoosh"] = any(name == "bodyp" for name, _ in searcher.reader().all_terms())
    out["sidecars"] = [open_sidecar(leaf.reader()) is not None for leaf, _ in searcher.leaf_searchers()]
answers = []
for q, filters, sort in json.loads(sys.argv[4]):
    result = search(handle, catalog, SearchRequest(q=q, filters=filters, sort=sort, per_page=20))
    result.pop("query_ms")
    answers.append(result)
out["answers"] = answers
print(json.dumps(out, ensure_ascii=False, default=str))
'''

TEXTS = [["不符合报告", "受审核方：宁波恒达精密机械有限公司", "审核日期：2023年5月10日",
          "第二页：数控车床的点检记录缺失。"],
         ["审核报告", "受审核方：杭州西湖电子有限公司", "审核日期：2022年3月2日", "管理评审按计划实施。"],
         ["审核计划", "受审核方：苏州吴中纺织有限公司", "首次会议 08:30"],
         ["审核报告", "受审核方：温州瓯江阀门有限公司", "审核日期：2023年11月20日",
          "管理评审按计划实施，数控车床的点检记录齐全。"],
         ["不符合报告", "受审核方：嘉兴南湖食品有限公司", "不符合事实：未保存管理评审记录。"],
         ["审核计划", "受审核方：湖州织里童装有限公司", "末次会议 16:00，首次会议 08:30"]]
REQUESTS = [["审核", None, "relevance"], ["管理评审", None, "relevance"], ["不符合 报告", None, "relevance"],
            ["审核 NOT 计划", None, "relevance"], ['"数控车床的点检"', None, "relevance"],
            ['"管理评审按计划实施"', None, "relevance"], ["受审核方 OR 首次会议", None, "relevance"],
            ["管理评审 数控车床", None, "relevance"], ["审核", None, "date"], ["审核", {"type": "ncr"}, "relevance"],
            ["", None, "date_asc"], ["管理评审", {"org": "温州"}, "relevance"]]


def _run(mode: str, home: Path, pdfs: Path) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if k != whoosh_ext.ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(home), str(pdfs), json.dumps(REQUESTS)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.slow
def test_another_whoosh_runs_plain_with_the_same_answers(tmp_path):
    from pdfmaker import make_pdf

    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    for i, lines in enumerate(TEXTS):
        make_pdf(pdfs / f"d{i}.pdf", lines)
    home = tmp_path / "home"
    ext, ext_log = _run("ext", home, pdfs)
    assert ext["installed"] and len(ext["patched"]) == 6
    assert ext["documents"] == len(TEXTS) and all(ext["sidecars"]) and not ext["pairs_in_whoosh"]
    assert "whoosh_ext" not in ext_log

    plain, plain_log = _run("upgraded", home, pdfs)
    assert plain["installed"] is False and plain["patched"] == []
    assert not plain["index_current"]                      # built by the other engine: rebuilt
    assert plain["documents"] == len(TEXTS) and not any(plain["sidecars"]) and plain["pairs_in_whoosh"]
    warnings = [line for line in plain_log.splitlines() if line.startswith("WARNING indexer.whoosh_ext")]
    assert len(warnings) == 1
    assert "Whoosh 2.7.6 is installed" in warnings[0] and whoosh_ext.WHOOSH_VERSION in warnings[0]

    assert [a["total"] for a in ext["answers"]][:7] == [6, 3, 2, 2, 2, 2, 6]
    assert any(a["facets"]["year"] for a in ext["answers"])
    for request, ours, theirs in zip(REQUESTS, ext["answers"], plain["answers"]):
        assert ours == theirs, request
