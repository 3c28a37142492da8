"""Case grouping and completeness against the generator's truth, on an ingested sample.

    .venv/bin/python -m corpus.generate --out /tmp/s32/sample
    .venv/bin/auditarchive --home /tmp/s32/home ingest /tmp/s32/sample
    .venv/bin/python benchmarks/cases.py /tmp/s32/sample /tmp/s32/home [--verbose]

An audit (or case) counts as right when the catalogued documents `archive.mining.cases` puts in
it are exactly those the truth files under it (cases: organisation × fields × cycle); missing
records count as right when the list equals the truth's `missing`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.catalog import Catalog  # noqa: E402
from archive.mining.cases import build_cases  # noqa: E402


def _clusters(assignment: dict) -> set[frozenset]:
    groups: dict = defaultdict(set)
    for key, value in assignment.items():
        groups[value].add(key)
    return {frozenset(g) for g in groups.values()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sample")
    ap.add_argument("home")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    root = Path(args.sample).resolve()
    truth = json.loads((root / "truth.json").read_text(encoding="utf-8"))
    catalog = Catalog(Path(args.home) / "catalog.db")
    t0 = time.perf_counter()
    cases = build_cases(catalog)
    seconds = time.perf_counter() - t0
    rel = {}
    for doc_id, path in catalog.db.execute("select id, path from documents"):
        try:
            rel[doc_id] = Path(path).resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    got_audit, got_case, got_missing = {}, {}, {}
    for c in cases:
        for i, a in enumerate(c.audits):
            docs = frozenset(rel[d["id"]] for d in a.documents if d["id"] in rel)
            got_missing[docs] = sorted(a.missing)
            for d in docs:
                got_audit[d], got_case[d] = (c.id, i), c.id
    present = set(rel.values())
    want_audit = {d: a["id"] for a in truth["audits"] for d in a["documents"] if d in present}
    want_case = {d: (a["org_id"], tuple(a["fields"]), a["cycle"]) for a in truth["audits"]
                 for d in a["documents"] if d in present}
    pa, pc = _clusters(got_audit), _clusters(got_case)
    audits_ok = sum(s in pa for s in _clusters(want_audit))
    cases_ok = sum(s in pc for s in _clusters(want_case))
    missing_ok = 0
    for a in truth["audits"]:
        docs = frozenset(d for d in a["documents"] if d in present)
        if got_missing.get(docs) == sorted(a["missing"]):
            missing_ok += 1
        elif args.verbose:
            print(f"  {a['id']} {a['stage']} {a['start']}: truth missing {a['missing']}, "
                  f"found {got_missing.get(docs)}")
    n_a, n_c = len(_clusters(want_audit)), len(_clusters(want_case))
    print(f"{len(rel)} documents, {len(cases)} cases built in {seconds:.2f} s")
    print(f"audits exactly right: {audits_ok}/{n_a}; cases exactly right: {cases_ok}/{n_c}; "
          f"missing records right: {missing_ok}/{len(truth['audits'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
