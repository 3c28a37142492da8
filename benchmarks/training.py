"""Training-pack export time for the busiest code of an ingested archive (goal: < 10 s a pack).

    .venv/bin/auditarchive --home /tmp/train/home ingest corpus/sample
    .venv/bin/python benchmarks/training.py /tmp/train/home [--code C] [--repeats 3]

The busiest code is the 2020 code with the most cases (ties: the most documents). Each run builds
the pack from the catalogue (cases, profile, texts, summaries) and renders it, as
`auditarchive export training` does; plain and anonymised, per format. Prints seconds (median of
the repeats) and the pack's size.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.catalog import Catalog  # noqa: E402
from archive.mining.cases import build_cases  # noqa: E402
from archive.mining.training import FORMATS, build_pack, render  # noqa: E402


def busiest_code(catalog: Catalog) -> str:
    cases = [c for c in build_cases(catalog) if c.code_table == "2020"]
    counts = Counter(k for c in cases for k in c.codes)
    docs = Counter(k for c in cases for k in c.codes for _ in c.doc_ids())
    return max(counts, key=lambda k: (counts[k], docs[k], k))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("home")
    ap.add_argument("--code")
    ap.add_argument("--field")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    catalog = Catalog(Path(args.home) / "catalog.db")
    subject = {"field": args.field} if args.field else {"code": args.code or busiest_code(catalog)}
    print(f"pack for {subject}")
    print(f"{'format':6} {'anonymised':10} {'build s':>8} {'render s':>9} {'total s':>8} {'bytes':>8}")
    for anonymise in (False, True):
        for fmt in FORMATS:
            builds, renders, size = [], [], 0
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                pack = build_pack(catalog, anonymise=anonymise, **subject)
                t1 = time.perf_counter()
                size = len(render(pack, fmt))
                t2 = time.perf_counter()
                builds.append(t1 - t0)
                renders.append(t2 - t1)
            b, r = statistics.median(builds), statistics.median(renders)
            print(f"{fmt:6} {str(anonymise):10} {b:8.2f} {r:9.2f} {b + r:8.2f} {size:8}")
            if anonymise is False and fmt == "docx":
                f = pack["figures"]
                print(f"       ({f['organisations']} organisations, {f['cases']} cases, {f['audits']} audits, "
                      f"{f['documents']} documents, {f['nonconformities']} nonconformities)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
