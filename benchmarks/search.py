"""Search at scale: a large generated archive indexed with the project's code and queried through
`indexer.search.search`, beside SQLite FTS5 over the same jieba-segmented text, in one run.

    .venv/bin/python benchmarks/search.py [--docs 100000] [--seed 20261121] [--queries 60]
        [--keep DIR | --reuse DIR] [--json OUT] [--subset 10000] [--project-build auto|full|subset]
        [--limitmb 256] [--bundle-chars 1200]

Phases (each in a child process, so that each peak RSS is its own):

1. generate — N documents of the generator's text without PDFs (`benchmarks/_bigcorpus.py`), written
   with `Catalog.save_document`; generation and catalogue writes timed apart. The first `--subset`
   documents also go to a second catalogue (untimed).
2. build (project) — `indexer.build.reindex(catalog, dir, full=True)`: one writer, a commit every
   500 documents (`update` → `update_document`). With `--project-build auto` it runs on the subset
   first and on all N only if that would take ≤ 20 minutes at the subset's rate.
3. build (procs=2) — the same records (`indexer.build._records` → `to_record`) through Whoosh's
   `writer(procs=2, multisegment=True, limitmb=…)` into an index made by `open_index` (same schema
   and version file). When the project build did not cover all N, this is the index queried.
4. build (FTS5) — every text field of the record segmented with `indexer.analysis.tokens(text,
   "index")` (two processes), joined by spaces, into an FTS5 table (`unicode61`), plus a facet table
   (the same packed facet values) and a code-prefix table.
5. query — query sets drawn from the catalogue (seeded): one word, two words, word + `code:NN.NN`,
   a phrase. Each query runs through `indexer.search.search` (facets, 10 hits with snippets; it
   opens a searcher and re-learns the organisation names on every call, as a server calling it
   would) and through FTS5 (MATCH translated from the same parsed query, bm25 with the same field
   weights, `snippet()`, facet counts by GROUP BY over the matches, the same catalogue reads per
   hit), interleaved query by query; warm-up first. Then one query kind is profiled (cProfile).

Everything is printed; `--json` writes the figures. `--keep DIR` keeps the built home, `--reuse DIR`
skips phases 1–4 and queries an existing one.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
# The project's packages as they were when the run started (see `snapshot_code`): others edit
# indexer/ while a run takes an hour, and an index built by one version is stale for the next.
CODE_ENV = "SEARCH_BENCH_CODE"
if os.environ.get(CODE_ENV):
    sys.path.insert(0, os.environ[CODE_ENV])

KINDS = ("one_word", "two_words", "word_code", "phrase")
PROJECT_BUILD_LIMIT_S = 20 * 60


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def peak_rss_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def dir_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20, 1)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def summary(ms: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(ms, 95), 1),
            "mean_ms": round(statistics.mean(ms), 1), "max_ms": round(max(ms), 1)}


# -- phase 1: generate ---------------------------------------------------------------------------------

def phase_generate(a: argparse.Namespace) -> dict[str, Any]:
    from _bigcorpus import documents

    from archive.catalog import Catalog
    from archive.ingest import EXTRACTOR_VERSION

    home = Path(a.home)
    catalog = Catalog(home / "catalog.db")
    subset = Catalog(home / "subset" / "catalog.db") if 0 < a.subset < a.docs else None
    t_gen = t_cat = 0.0
    chars: list[int] = []
    pages = 0
    orgs: set[str] = set()
    it = documents(a.docs, a.seed, a.bundle_chars)
    # save_document(doc, pages, stamp, version, seconds) now; (doc, pages, size, mtime, …) before
    stamped = "stamp" in inspect.signature(Catalog.save_document).parameters

    def save(cat, rec) -> None:
        size = 20_000 + 40 * rec.chars
        where = (f"{size}:0:0",) if stamped else (size, 0.0)
        cat.save_document(rec.doc, rec.page_dicts(), *where, EXTRACTOR_VERSION, 0.0)

    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        rec = next(it, None)
        t1 = time.perf_counter()
        t_gen += t1 - t0
        if rec is None:
            break
        save(catalog, rec)
        t_cat += time.perf_counter() - t1
        if subset is not None and len(chars) < a.subset:
            save(subset, rec)
        chars.append(rec.chars)
        pages += len(rec.pages)
        orgs.add(rec.doc.org.name or "")
        if len(chars) % 5000 == 0:
            el = time.perf_counter() - started
            log(f"generate: {len(chars)}/{a.docs} documents, {len(chars) / el:.0f}/s")
    for c in (catalog, subset):
        if c is not None:
            c.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.close()
    chars.sort()
    return {"documents": len(chars), "pages": pages, "organisations": len(orgs),
            "chars_mean": round(statistics.mean(chars)), "chars_median": statistics.median(chars),
            "chars_p10": chars[len(chars) // 10], "chars_p90": chars[len(chars) * 9 // 10],
            "chars_total": sum(chars), "generate_s": round(t_gen, 1),
            "generate_docs_per_s": round(len(chars) / t_gen, 1), "catalog_s": round(t_cat, 1),
            "catalog_docs_per_s": round(len(chars) / t_cat, 1),
            "catalog_mb": round((home / "catalog.db").stat().st_size / 2**20, 1),
            "subset_documents": min(a.subset, len(chars)) if subset is not None else None,
            "peak_rss_mb": peak_rss_mb()}


# -- phase 2: the project's build ----------------------------------------------------------------------

def _segments(index_dir: Path) -> int:
    from whoosh import index as windex

    ix = windex.open_dir(str(index_dir))
    return len(ix._segments())


def phase_build_project(a: argparse.Namespace) -> dict[str, Any]:
    """`reindex` of the whole catalogue. Progress (committed documents, seconds) is kept beside the
    index after every commit; if the run is killed, the next one continues the project's own way
    (`reindex` without `full` indexes what is missing) and the rate counts only the time of work
    that was committed (work lost to the kill is not counted, and said)."""
    from archive.catalog import Catalog
    from indexer.build import reindex

    catalog = Catalog(Path(a.catalog))
    n = catalog.document_count()
    index_dir = Path(a.index)
    state_path = index_dir.parent / (index_dir.name + ".progress.json")
    attempts = json.loads(state_path.read_text())["attempts"] if state_path.exists() and index_dir.exists() else []
    resume = bool(attempts)
    started = time.perf_counter()
    last = [started]
    attempts.append({"indexed": 0, "seconds": 0.0})

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        attempts[-1] = {"indexed": done, "seconds": round(now - started, 1)}
        state_path.write_text(json.dumps({"attempts": attempts}))
        if now - last[0] > 60 or done == total:
            last[0] = now
            log(f"reindex: {done}/{total} documents, {done / (now - started):.1f}/s")

    result = reindex(catalog, index_dir, full=not resume, progress=progress)
    attempts[-1] = {"indexed": result["indexed"], "seconds": round(time.perf_counter() - started, 1)}
    state_path.write_text(json.dumps({"attempts": attempts, "finished": True}))
    seconds = sum(x["seconds"] for x in attempts)
    return {"documents": n, "indexed": sum(x["indexed"] for x in attempts), "seconds": round(seconds, 1),
            "docs_per_s": round(n / seconds, 1), "attempts": attempts, "index_mb": dir_mb(index_dir),
            "segments": _segments(index_dir), "peak_rss_mb": peak_rss_mb()}


# -- phase 3: Whoosh with two processes ----------------------------------------------------------------

def phase_build_mp(a: argparse.Namespace) -> dict[str, Any]:
    from archive.catalog import Catalog
    from indexer.build import _records, learn_org_names, open_index

    catalog = Catalog(Path(a.catalog))
    index_dir = Path(a.index)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    started = time.perf_counter()
    learn_org_names(catalog)          # before the writer forks: both sides segment alike
    handle = open_index(index_dir)
    w = handle.index.writer(procs=2, multisegment=True, limitmb=a.limitmb)
    n = 0
    feed = 0.0
    for record in _records(catalog, catalog.document_ids()):
        t0 = time.perf_counter()
        w.add_document(**record)
        feed += time.perf_counter() - t0
        n += 1
        if n % 10000 == 0:
            log(f"procs=2 build: {n} documents queued, {n / (time.perf_counter() - started):.1f}/s")
    t_commit = time.perf_counter()
    w.commit()
    done = time.perf_counter()
    seconds = done - started
    return {"documents": n, "seconds": round(seconds, 1), "docs_per_s": round(n / seconds, 1),
            "commit_s": round(done - t_commit, 1), "index_mb": dir_mb(index_dir),
            "segments": _segments(index_dir), "limitmb": a.limitmb,
            "peak_rss_mb": peak_rss_mb(), "peak_rss_children_mb": peak_rss_mb(children=True)}


# -- phase 4: FTS5 -------------------------------------------------------------------------------------

_worker_catalog = None


def _fts_init(path: str) -> None:
    global _worker_catalog
    from archive.catalog import Catalog

    _worker_catalog = Catalog(Path(path))


def fts_columns() -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The FTS5 columns and bm25 weights: the index's text fields and their BM25F boosts."""
    from indexer.schema import BOOSTS, TEXT_FIELDS

    return tuple(TEXT_FIELDS), tuple(float(BOOSTS[f]) for f in TEXT_FIELDS)


def _fts_rows(doc_ids: list[str]) -> list[tuple]:
    """Records of the documents, each text field segmented as the Whoosh index cuts it."""
    from indexer.analysis import tokens
    from indexer.build import _records
    from indexer.schema import unpack_facets

    columns, _ = fts_columns()
    out = []
    for rec in _records(_worker_catalog, doc_ids):
        texts = [" ".join(tokens(rec.get(col) or "", "index")) for col in columns]
        facets = unpack_facets(rec["facets"])
        codes = [c for c in rec.get("code_tree", "").split(",") if c]
        out.append((rec["id"], texts, facets, codes))
    return out


def fts_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False)
    conn.execute("PRAGMA cache_size=-200000")
    conn.execute("PRAGMA mmap_size=4000000000")
    return conn


def phase_build_fts(a: argparse.Namespace) -> dict[str, Any]:
    import multiprocessing as mp

    from archive.catalog import Catalog
    from indexer.analysis import ensure_jieba
    from indexer.build import learn_org_names

    path = Path(a.fts)
    if path.exists():
        path.unlink()
    catalog = Catalog(Path(a.catalog))
    ids = catalog.document_ids()
    started = time.perf_counter()
    ensure_jieba()
    learn_org_names(catalog)            # before the workers fork
    columns, weights = fts_columns()
    conn = sqlite3.connect(str(path))
    conn.executescript(f"""
        PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
        CREATE TABLE docs(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE);
        CREATE VIRTUAL TABLE fts USING fts5({', '.join(columns)}, tokenize='unicode61');
        INSERT INTO fts(fts, rank) VALUES('rank', 'bm25({', '.join(map(str, weights))})');
        CREATE TABLE facets(docid INTEGER, name TEXT, value TEXT, PRIMARY KEY(docid, name, value)) WITHOUT ROWID;
        CREATE TABLE codes(code TEXT, docid INTEGER, PRIMARY KEY(code, docid)) WITHOUT ROWID;
    """)
    chunks = [ids[i:i + 50] for i in range(0, len(ids), 50)]
    n = 0
    with mp.get_context("fork").Pool(2, initializer=_fts_init, initargs=(str(catalog.path),)) as pool:
        for rows in pool.imap(_fts_rows, chunks):
            for doc_id, texts, facets, codes in rows:
                n += 1
                conn.execute("INSERT INTO docs(rowid, id) VALUES (?, ?)", (n, doc_id))
                conn.execute(f"INSERT INTO fts(rowid, {', '.join(columns)}) VALUES (?{',?' * len(columns)})",
                             (n, *texts))
                conn.executemany("INSERT OR IGNORE INTO facets VALUES (?,?,?)",
                                 [(n, k, v) for k, v in facets] + [(n, "_all", "")])
                conn.executemany("INSERT OR IGNORE INTO codes VALUES (?,?)", [(c, n) for c in codes])
            if n % 10000 < 50:
                log(f"FTS5 build: {n}/{len(ids)} documents, {n / (time.perf_counter() - started):.1f}/s")
        conn.commit()
    t_insert_done = time.perf_counter()
    conn.execute("INSERT INTO fts(fts) VALUES('optimize')")
    conn.commit()
    conn.close()
    seconds = time.perf_counter() - started
    return {"documents": n, "seconds": round(seconds, 1), "docs_per_s": round(n / seconds, 1),
            "optimize_s": round(time.perf_counter() - t_insert_done, 1),
            "db_mb": round(path.stat().st_size / 2**20, 1), "peak_rss_mb": peak_rss_mb(),
            "peak_rss_children_mb": peak_rss_mb(children=True)}


# -- phase 5: queries ----------------------------------------------------------------------------------

_HAN = re.compile(r"^[\u4e00-\u9fff]+$")
_SENTENCE = re.compile(r"[^\u4e00-\u9fff]+")


def make_queries(catalog, n: int, seed: int, sample_docs: int = 1200) -> dict[str, list[str]]:
    """Query strings of each kind, drawn from the catalogue's text (seeded)."""
    from indexer.analysis import FUNCTION_WORDS, tokens

    rng = random.Random(f"{seed}:queries")
    ids = catalog.document_ids()
    sample = rng.sample(ids, min(sample_docs, len(ids)))
    docs: list[tuple[str, list[str], set[str]]] = []   # (body, codes, candidate words)
    df: dict[str, int] = {}
    single: dict[str, bool] = {}

    def is_word(t: str) -> bool:
        if t in single:
            return single[t]
        ok = 2 <= len(t) <= 4 and bool(_HAN.match(t)) and t not in FUNCTION_WORDS and tokens(t, "query") == [t]
        single[t] = ok
        return ok

    for doc_id in sample:
        doc = catalog.get_document(doc_id)
        body = "\n".join(p["text"] for p in catalog.pages(doc_id))
        words = {t for t in tokens(body, "query") if is_word(t)}
        for w in words:
            df[w] = df.get(w, 0) + 1
        docs.append((body, doc.codes, words))
    # one word: equal numbers from five bands of document frequency (rare … very common)
    cands = sorted((w for w, c in df.items() if c >= 2), key=lambda w: (df[w], w))
    bands = [cands[i * len(cands) // 5:(i + 1) * len(cands) // 5] for i in range(5)]
    one = []
    for i in range(n):
        one.append(rng.choice(bands[i % 5]))
    common = [w for w in cands if df[w] >= 2]
    two, code, phrase = [], [], []
    while len(two) < n:
        _, _, words = rng.choice(docs)
        ws = sorted(w for w in words if w in df and df[w] >= 2)
        if len(ws) >= 2:
            x, y = rng.sample(ws, 2)
            two.append(f"{x} {y}")
    while len(code) < n:
        _, codes, words = rng.choice(docs)
        ws = sorted(w for w in words if w in common)
        if codes and ws:
            code.append(f"{rng.choice(ws)} code:{rng.choice(codes)[:5]}")
    while len(phrase) < n:
        body, _, _ = rng.choice(docs)
        runs = [r for r in _SENTENCE.split(body.replace("\n", "")) if len(r) >= 6]
        if not runs:
            continue
        run = rng.choice(runs)
        toks = tokens(run, "query")
        if len(toks) < 2:
            continue
        k = rng.randint(2, min(3, len(toks)))
        start = rng.randrange(len(toks) - k + 1)
        text = "".join(toks[start:start + k])
        if 4 <= len(text) <= 12 and text in body.replace("\n", ""):
            phrase.append(f'"{text}"')
    return {"one_word": one, "two_words": two, "word_code": code, "phrase": phrase}


def _fts_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts_match(node) -> str | None:
    """The FTS5 MATCH expression of a parsed Whoosh text query (fields dropped: FTS5 searches every
    column; the per-field alternatives of the multi-field parser collapse into one)."""
    from whoosh import query as wq

    if isinstance(node, wq.Term):
        return _fts_quote(str(node.text))
    if isinstance(node, wq.Phrase):
        return _fts_quote(" ".join(node.words))
    if isinstance(node, wq.Or):
        parts = list(dict.fromkeys(p for p in map(fts_match, node.subqueries) if p))
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")" if parts else None
    if isinstance(node, wq.And):
        parts = list(dict.fromkeys(p for p in map(fts_match, node.subqueries) if p))
        return " AND ".join(parts) if parts else None
    raise ValueError(f"no FTS5 form for {node!r}")


class Fts:
    """The FTS5 side of a query: top 10 by bm25 (the index's field weights) with a snippet each, facet
    counts by GROUP BY over every match, the same catalogue reads per hit as `search`."""

    def __init__(self, path: Path, catalog, parser):
        self.conn = fts_connect(path)
        self.catalog = catalog
        self.parser = parser
        self.body = fts_columns()[0].index("body")

    def search(self, q: str) -> dict[str, Any]:
        from indexer.search import hit_document

        parsed = self.parser.parse(q)
        match = fts_match(parsed.query)
        codes = parsed.applied.get("code", [])
        where, params = "fts MATCH ?", [match]
        for c in codes:
            # `+rowid`: not offered to FTS5 as a constraint (else it runs the MATCH once per coded row)
            where += " AND +rowid IN (SELECT docid FROM codes WHERE code = ?)"
            params.append(c)
        rows = self.conn.execute(
            f"SELECT rowid, rank, snippet(fts, {self.body}, '<mark>', '</mark>', '…', 24) FROM fts "
            f"WHERE {where} ORDER BY rank LIMIT 10", params).fetchall()
        hits = []
        for rowid, rank, snip in rows:
            doc_id = self.conn.execute("SELECT id FROM docs WHERE rowid = ?", (rowid,)).fetchone()[0]
            doc = hit_document(self.catalog, doc_id)
            doc["score"], doc["snippets"] = -rank, [snip]
            hits.append(doc)
        facets: dict[str, dict[str, int]] = {}
        for name, value, count in self.conn.execute(
                f"SELECT name, value, count(*) FROM facets WHERE docid IN "
                f"(SELECT rowid FROM fts WHERE {where}) GROUP BY name, value", params):
            facets.setdefault(name, {})[value] = count
        total = facets.pop("_all", {}).get("", 0)
        return {"total": total, "hits": hits, "facets": facets}


PROFILE_FUNCS = (
    ("learn_org_names (every call)", "indexer/build.py", "learn_org_names"),
    ("parse query", "indexer/query.py", "parse"),
    ("match sets (bitsets)", "indexer/matchsets.py", "query"),
    ("  term bitsets (postings read)", "indexer/matchsets.py", "term"),
    ("  postings decoded (once per segment)", "indexer/matchsets.py", "_segment_postings"),
    ("  phrase checks", "indexer/matchsets.py", "phrase"),
    ("ranking (BM25F over the set)", "indexer/matchsets.py", "top"),
    ("  phrase check per document", "indexer/matchsets.py", "_phrase_at"),
    ("Whoosh collector (fallback)", "indexer/search.py", "_top"),
    ("hit_document (catalogue)", "indexer/search.py", "hit_document"),
    ("stored fields of hits", "whoosh/searching.py", "fields"),
    ("snippets", "indexer/search.py", "snippets"),
    ("  matched words found in the text", "indexer/search.py", "text_spans"),
    ("matched words of the hits", "indexer/search.py", "matched_words"),
    ("facet counts (popcounts)", "indexer/matchsets.py", "facets"),
    ("  facet bitsets (once per searcher)", "indexer/matchsets.py", "_facet_bits"),
)


def profile_kind(handle, catalog, queries: list[str]) -> dict[str, Any]:
    """cProfile over one kind's queries: time in the main steps of `search`, per query."""
    import cProfile
    import pstats

    from indexer.search import SearchRequest, search

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for q in queries:
        search(handle, catalog, SearchRequest(q=q))
    prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    steps = {}
    for label, file_part, func in PROFILE_FUNCS:
        cum = sum(v[3] for (f, _, name), v in stats.stats.items() if name == func and f.endswith(file_part))
        steps[label] = round(cum * 1000 / len(queries), 1)
    def label(f: str, line: int, name: str) -> str:
        return f"{Path(f).parent.name}/{Path(f).name}:{line}:{name}"
    top = sorted(((v[2], label(*k)) for k, v in stats.stats.items()), reverse=True)[:15]
    cum = sorted(((v[3], label(*k)) for k, v in stats.stats.items()
                  if "whoosh" in k[0] or "indexer" in k[0]), reverse=True)[:30]
    return {"queries": len(queries), "profiled_ms_per_query": round(wall * 1000 / len(queries), 1),
            "steps_ms_per_query": steps,
            "top_self_ms_per_query": {name: round(t * 1000 / len(queries), 1) for t, name in top},
            "top_cumulative_ms_per_query": {name: round(t * 1000 / len(queries), 1) for t, name in cum}}


def compare(ref: dict, got: dict) -> dict[str, bool]:
    """How a variant's result compares with the project's (`ref`)."""
    ra = [h for h in ref["hits"] if not h.get("partial")]
    ga = [h for h in got["hits"] if not h.get("partial")]
    rs, gs = [h["score"] or 0 for h in ra], [h["score"] or 0 for h in ga]
    snips = {h["id"]: (h["snippets"], h["matched_pages"]) for h in ra}
    common = [h for h in ga if h["id"] in snips]
    return {"facets": ref["facets"] == got["facets"],
            "hits": [(h["id"], h["score"]) for h in ra] == [(h["id"], h["score"]) for h in ga],
            "snippets": all(snips[h["id"]] == (h["snippets"], h["matched_pages"]) for h in common),
            # the project's top ten scored lower somewhere: it missed better documents
            "ref_missed_better": len(rs) == len(gs) and any(g > r + 1e-6 for r, g in zip(rs, gs)),
            "total_right": got["total"] == sum(got["facets"]["type"].values())}


def run_variants(handle, catalog, queries: dict[str, list[str]], reference: dict[str, dict]) -> dict[str, Any]:
    """The what-if variants of `benchmarks/_searchvariants.py` over the same queries."""
    from _searchvariants import OnePass, analysis_experiment, reused_searcher

    from indexer.search import SearchRequest, search

    out: dict[str, Any] = {}

    def measure(name: str, fn) -> None:
        log(f"variant: {name}")
        for q in [q for kind in KINDS for q in queries[kind][:5]]:
            fn(q)                                           # warm-up
        res: dict[str, Any] = {}
        for kind in KINDS:
            ms: list[float] = []
            agree: dict[str, int] = {}
            for q in queries[kind]:
                t = time.perf_counter()
                r = fn(q)
                ms.append((time.perf_counter() - t) * 1000)
                for key, ok in compare(reference[q], r).items():
                    agree[key] = agree.get(key, 0) + ok
            res[kind] = {**summary(ms), "agree": agree}
        out[name] = res
        log("  " + "; ".join(f"{k} {v['median_ms']}/{v['p95_ms']} ms {v['agree']}" for k, v in res.items()))

    from whoosh.filedb.filestore import FileStorage

    from indexer.build import IndexHandle

    # Whoosh maps the compound segment file and wraps each part it opens in BytesIO(memoryview):
    # a copy of the whole postings and terms files on every searcher open.
    plain = IndexHandle(FileStorage(str(handle.directory), supports_mmap=False).open_index(), handle.directory)
    opens = []
    for _ in range(20):
        t = time.perf_counter()
        plain.index.searcher().close()
        opens.append((time.perf_counter() - t) * 1000)
    out["open_searcher_no_mmap_ms_median"] = round(statistics.median(opens), 2)
    measure("no_mmap", lambda q: search(plain, catalog, SearchRequest(q=q)))
    with reused_searcher(handle, catalog):
        measure("reused_searcher", lambda q: search(handle, catalog, SearchRequest(q=q)))
    one = OnePass(handle, catalog)
    measure("one_pass", lambda q: one.search(SearchRequest(q=q)))
    one.close()
    t = time.perf_counter()
    table = OnePass(handle, catalog, facet_table=True)
    out["facet_table_build_s"] = round(time.perf_counter() - t, 2)
    measure("one_pass_facet_table", lambda q: table.search(SearchRequest(q=q)))
    table.close()
    log("variant: analysis with a block cache")
    out["analysis"] = analysis_experiment(catalog, 2000)
    log(f"  {out['analysis']}")
    return out


def phase_query(a: argparse.Namespace) -> dict[str, Any]:
    from archive.catalog import Catalog
    from indexer.build import learn_org_names, open_index
    from indexer.search import SearchRequest, parser_for, search

    home = Path(a.home)
    catalog = Catalog(home / "catalog.db")
    t0 = time.perf_counter()
    handle = open_index(Path(a.index), create=False)
    learn_org_names(catalog)
    open_s = time.perf_counter() - t0
    rss_open = peak_rss_mb()
    log("query: drawing query sets")
    queries = make_queries(catalog, a.queries, a.seed)
    fts = Fts(home / "fts.db", catalog, parser_for(handle))

    def run_whoosh(q: str) -> tuple[float, dict]:
        t = time.perf_counter()
        r = search(handle, catalog, SearchRequest(q=q))
        return (time.perf_counter() - t) * 1000, r

    def run_fts(q: str) -> tuple[float, dict]:
        t = time.perf_counter()
        r = fts.search(q)
        return (time.perf_counter() - t) * 1000, r

    log("query: warm-up")
    warm = [q for kind in KINDS for q in queries[kind][:8]]
    for q in warm:
        run_whoosh(q)
        run_fts(q)
    rss_warm = peak_rss_mb()
    reference: dict[str, dict] = {}
    out: dict[str, Any] = {"queries_per_kind": a.queries, "open_index_s": round(open_s, 2),
                           "examples": {k: v[:5] for k, v in queries.items()}, "kinds": {}}
    for kind in KINDS:
        log(f"query: {kind}")
        w_ms, f_ms, w_tot, f_tot, w_hits, agree, wrong_total = [], [], [], [], [], 0, []
        for q in queries[kind]:
            wm, wr = run_whoosh(q)
            fm, fr = run_fts(q)
            reference[q] = wr
            w_ms.append(wm)
            f_ms.append(fm)
            # every generated document has a type: the type facet counts every match (the facets are
            # counted over the filtered matches; `total` is not, see the README)
            matches = sum(wr["facets"]["type"].values())
            w_tot.append(matches)
            f_tot.append(fr["total"])
            w_hits.append(len(wr["hits"]))
            agree += matches == fr["total"]
            if wr["total"] != matches:
                wrong_total.append({"q": q, "total": wr["total"], "matches": matches})
        ws, fs = summary(w_ms), summary(f_ms)
        out["kinds"][kind] = {
            "whoosh": ws, "fts5": fs,
            "ratio_median": round(ws["median_ms"] / fs["median_ms"], 1),
            "ratio_p95": round(ws["p95_ms"] / fs["p95_ms"], 1),
            "matches_median_whoosh": statistics.median(w_tot), "matches_median_fts5": statistics.median(f_tot),
            "matches_max_whoosh": max(w_tot), "same_total": agree,
            "queries_with_hits": sum(1 for t in w_tot if t), "hits_shown_mean": round(statistics.mean(w_hits), 1),
            "total_differs_from_matches": len(wrong_total), "total_examples": wrong_total[:3]}
        log(f"  whoosh median {ws['median_ms']} p95 {ws['p95_ms']} ms; FTS5 median {fs['median_ms']} "
            f"p95 {fs['p95_ms']} ms; median matches {statistics.median(w_tot)}")
    # what opening a searcher costs: the first search of a process (later ones renew it and open
    # only segments written since)
    opens = []
    for _ in range(30):
        t = time.perf_counter()
        s = handle.index.searcher()
        s.close()
        opens.append((time.perf_counter() - t) * 1000)
    out["open_searcher_ms_median"] = round(statistics.median(opens), 2)
    t = time.perf_counter()
    for _ in range(20):
        learn_org_names(catalog)
    out["learn_org_names_ms"] = round((time.perf_counter() - t) * 50, 1)
    if a.variants:
        out["variants"] = run_variants(handle, catalog, queries, reference)
    worst = max(KINDS, key=lambda k: out["kinds"][k]["whoosh"]["p95_ms"])
    out["slowest_kind"] = worst
    out["profiles"] = {}
    for kind in KINDS:
        log(f"query: profiling {kind}")
        out["profiles"][kind] = profile_kind(handle, catalog, queries[kind][:a.profile_queries])
    out["peak_rss_mb"] = peak_rss_mb()
    out["rss_after_open_mb"] = rss_open
    out["rss_after_warmup_mb"] = rss_warm
    out["index_mb"] = dir_mb(Path(a.index))
    out["fts_mb"] = round((home / "fts.db").stat().st_size / 2**20, 1)
    return out


# -- orchestration -------------------------------------------------------------------------------------

PHASES = {"generate": phase_generate, "build_project": phase_build_project, "build_mp": phase_build_mp,
          "build_fts": phase_build_fts, "query": phase_query}


PACKAGES = ("archive", "indexer", "corpus")


def snapshot_code(dest: Path) -> dict[str, Any]:
    """Copy the project's packages to `dest`; every phase imports them from there."""
    state = code_state()
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__", "sample"))
    (dest / "STATE.json").write_text(json.dumps(state, indent=1))
    return state


_code_dir: Path | None = None


def child(phase: str, **kw: Any) -> dict[str, Any]:
    """Run a phase in a fresh interpreter; its last stdout line is the JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}"] + ([str(v)] if v != "" else [])
    log(f"phase {phase} … (load average {os.getloadavg()[0]:.2f})")
    t0 = time.perf_counter()
    env = dict(os.environ)
    if _code_dir is not None:
        env[CODE_ENV] = str(_code_dir)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=str(ROOT), env=env)
    if res.returncode:
        raise SystemExit(f"phase {phase} failed ({res.returncode})")
    data = json.loads(res.stdout.strip().splitlines()[-1])
    data["load_average_after"] = round(os.getloadavg()[0], 2)
    log(f"phase {phase} done in {time.perf_counter() - t0:.0f} s: "
        + json.dumps({k: v for k, v in data.items() if not isinstance(v, dict)}, ensure_ascii=False))
    return data


def code_state() -> dict[str, str]:
    """The commit measured, and a fingerprint of uncommitted changes to the code a build runs."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=str(ROOT), capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    import hashlib

    diff = git("diff", "HEAD", "--", *PACKAGES)
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted": hashlib.sha1(diff.encode()).hexdigest()[:10] if diff else "none",
            "uncommitted_files": git("diff", "--stat", "HEAD", "--", *PACKAGES).splitlines()[-1:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--queries", type=int, default=60, help="queries per kind (≥ 50 recommended)")
    ap.add_argument("--keep", type=Path, help="build the home here and keep it")
    ap.add_argument("--reuse", type=Path, help="query an existing home (skip generation and builds)")
    ap.add_argument("--resume", type=Path, help="continue an interrupted run in this home (completed phases kept)")
    ap.add_argument("--no-mp", action="store_true",
                    help="skip the procs=2 multisegment build when the project's build was queried")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--subset", type=int, default=10_000, help="documents for the project build when N is large")
    ap.add_argument("--project-build", choices=("auto", "full", "subset"), default="auto")
    ap.add_argument("--limitmb", type=int, default=256, help="per-process pool of the procs=2 writer")
    ap.add_argument("--bundle-chars", type=int, default=1200, help="see benchmarks/_bigcorpus.py")
    ap.add_argument("--profile-queries", type=int, default=20, help="queries per kind run under cProfile")
    ap.add_argument("--variants", action="store_true",
                    help="also measure the what-if variants of benchmarks/_searchvariants.py")
    ap.add_argument("--current-code", action="store_true",
                    help="with --reuse: query with the working tree's code, not the home's snapshot")
    # child-process arguments
    ap.add_argument("--phase", choices=tuple(PHASES), help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    ap.add_argument("--catalog", help=argparse.SUPPRESS)
    ap.add_argument("--index", help=argparse.SUPPRESS)
    ap.add_argument("--fts", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.phase:
        print(json.dumps(PHASES[a.phase](a), ensure_ascii=False))
        return 0

    global _code_dir
    started = time.perf_counter()
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
                              "args": {k: str(v) for k, v in vars(a).items() if v is not None and k != "phase"}}
    tmp = None
    home = a.reuse or a.resume or a.keep
    if a.reuse or a.resume:
        meta = json.loads((home / "bench.json").read_text()) if (home / "bench.json").exists() else {}
        report.update({k: v for k, v in meta.items() if k not in ("date", "cpus", "args", "query", "total_s")})
        if (home / "_code").exists() and not a.current_code:
            _code_dir = home / "_code"
            report["code"] = json.loads((home / "_code" / "STATE.json").read_text())
        else:
            report["code"] = code_state()
    else:
        if a.keep:
            if home.exists() and any(home.iterdir()):
                raise SystemExit(f"{home} is not empty (--resume continues a run, --reuse queries it)")
        else:
            tmp = tempfile.mkdtemp(prefix="search-bench-")
            home = Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        _code_dir = home / "_code"
        report["code"] = snapshot_code(_code_dir)

    def save() -> None:
        (home / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))

    if not a.reuse:
        # each phase's result is saved as it completes: `--resume` skips what is done
        if "generate" not in report:
            for leftover in ("catalog.db", "catalog.db-wal", "catalog.db-shm", "subset"):
                path = home / leftover
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            report["generate"] = child("generate", home=home, docs=a.docs, seed=a.seed, subset=a.subset,
                                       bundle_chars=a.bundle_chars)
            save()
        n = report["generate"]["documents"]
        full_project = a.project_build == "full" or n <= a.subset
        if not full_project:
            if "build_project_subset" not in report:
                report["build_project_subset"] = child("build_project", catalog=home / "subset" / "catalog.db",
                                                       index=home / "subset" / "index")
                save()
            sub = report["build_project_subset"]
            estimate = n / sub["docs_per_s"]
            report["build_project_full_estimate_s"] = round(estimate)
            full_project = a.project_build == "auto" and estimate <= PROJECT_BUILD_LIMIT_S
            if not full_project:
                log(f"project build at {sub['docs_per_s']} docs/s would take {estimate / 60:.0f} min for "
                    f"{n}: querying the procs=2 index instead")
        report["queried_index"] = "project reindex" if full_project else "procs=2 multisegment"
        if full_project and "build_project" not in report:
            report["build_project"] = child("build_project", catalog=home / "catalog.db", index=home / "index")
            save()
        if not full_project and "build_mp" not in report:
            report["build_mp"] = child("build_mp", catalog=home / "catalog.db", index=home / "index",
                                       limitmb=a.limitmb)
            save()
        if "build_fts" not in report:
            report["build_fts"] = child("build_fts", catalog=home / "catalog.db", fts=home / "fts.db")
            save()
    report["query"] = child("query", home=home, index=home / "index", queries=a.queries, seed=a.seed,
                            profile_queries=a.profile_queries, **({"variants": ""} if a.variants else {}))
    if not a.reuse:
        save()
        if full_project and "build_mp" not in report and not a.no_mp:
            # last, as it is not queried: what procs=2 without merging (multisegment) gives, on the
            # catalogue the project build was also timed on alone (the subset, else all)
            sub = (home / "subset") if "build_project_subset" in report else home
            report["build_mp"] = child("build_mp", catalog=sub / "catalog.db", index=sub / "index_mp",
                                       limitmb=a.limitmb)
            shutil.rmtree(sub / "index_mp", ignore_errors=True)
            save()
    report["total_s"] = round(time.perf_counter() - started)
    print_report(report)
    if a.json:
        a.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def print_report(r: dict[str, Any]) -> None:
    g = r.get("generate", {})
    print(f"\n== search benchmark: {g.get('documents')} documents, mean {g.get('chars_mean')} characters "
          f"(median {g.get('chars_median')}), {g.get('pages')} pages, {g.get('organisations')} organisations")
    if g:
        print(f"generate {g['generate_docs_per_s']} docs/s; catalogue writes {g['catalog_docs_per_s']} docs/s "
              f"({g['catalog_s']} s, {g['catalog_mb']} MB); peak RSS {g['peak_rss_mb']} MB")
    for key, label in (("build_project_subset", "project reindex (subset)"), ("build_project", "project reindex"),
                       ("build_mp", "procs=2 multisegment"), ("build_fts", "FTS5 (2 segmenting processes)")):
        b = r.get(key)
        if b:
            size = b.get("index_mb", b.get("db_mb"))
            extra = f", children {b['peak_rss_children_mb']} MB" if "peak_rss_children_mb" in b else ""
            print(f"{label:32} {b['documents']:>7} docs  {b['docs_per_s']:>6} docs/s  {b['seconds']:>7} s  "
                  f"{size} MB  peak RSS {b['peak_rss_mb']} MB{extra}")
    if "build_project_full_estimate_s" in r:
        print(f"project reindex of all documents at the subset's rate: ~{r['build_project_full_estimate_s'] / 60:.0f} min")
    q = r["query"]
    print(f"queried index: {r.get('queried_index')} ({q['index_mb']} MB; FTS5 {q['fts_mb']} MB)")
    print(f"{'kind':10} {'whoosh p50':>10} {'p95':>7} {'FTS5 p50':>9} {'p95':>6} {'ratio p50':>9} {'p95':>5} "
          f"{'matches p50':>11} {'same count':>10}")
    for kind, k in q["kinds"].items():
        print(f"{kind:10} {k['whoosh']['median_ms']:>10} {k['whoosh']['p95_ms']:>7} {k['fts5']['median_ms']:>9} "
              f"{k['fts5']['p95_ms']:>6} {k['ratio_median']:>9} {k['ratio_p95']:>5} "
              f"{k['matches_median_whoosh']:>11} {k['same_total']:>6}/{q['queries_per_kind']}"
              + (f"  (`total` ≠ matches in {k['total_differs_from_matches']})" if k["total_differs_from_matches"] else ""))
    print(f"open a searcher: {q['open_searcher_ms_median']} ms; learn_org_names: {q['learn_org_names_ms']} ms; "
          f"query process peak RSS {q['peak_rss_mb']} MB (after opening {q['rss_after_open_mb']} MB)")
    if "variants" in q:
        print("what-if variants (benchmarks/_searchvariants.py), median / p95 ms; same results as search():")
        for name, res in q["variants"].items():
            if isinstance(res, dict) and name != "analysis":
                print(f"  {name}:")
                for k, v in res.items():
                    print(f"    {k:10} {v['median_ms']:>7} / {v['p95_ms']:>7} ms   same as search(): "
                          + ", ".join(f"{key} {n}" for key, n in v["agree"].items()))
        print(f"  facet table built in {q['variants']['facet_table_build_s']} s per searcher; opening a searcher "
              f"without mmap {q['variants']['open_searcher_no_mmap_ms_median']} ms")
        an = q["variants"]["analysis"]
        print(f"  analysis alone, {an['documents']} documents: {an['plain_docs_per_s']} docs/s "
              f"({an['plain_chars_per_s']} chars/s); with jieba blocks cached {an['cached_docs_per_s']} docs/s "
              f"(block hit rate {an['block_hit_rate']}, characters {an['char_hit_rate']}; "
              f"identical tokens: {an['identical_tokens']})")
    profs = q["profiles"]
    print(f"cProfile, ms per query ({q['slowest_kind']} is the slowest at p95):")
    print(f"  {'step':38} " + " ".join(f"{k:>10}" for k in profs))
    print(f"  {'(whole query, under cProfile)':38} " + " ".join(f"{p['profiled_ms_per_query']:>10}" for p in profs.values()))
    for label in next(iter(profs.values()))["steps_ms_per_query"]:
        print(f"  {label:38} " + " ".join(f"{p['steps_ms_per_query'][label]:>10}" for p in profs.values()))
    p = profs[q["slowest_kind"]]
    print(f"  top cumulative (whoosh, indexer) for {q['slowest_kind']}:")
    for name, ms in list(p["top_cumulative_ms_per_query"].items())[:20]:
        print(f"    {name:60} {ms:>7} ms")
    print("  top self time:")
    for name, ms in p["top_self_ms_per_query"].items():
        print(f"    {name:60} {ms:>7} ms")
    print(f"total {r['total_s']} s")


if __name__ == "__main__":
    sys.exit(main())
