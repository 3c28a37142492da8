"""Ingest throughput on the sample archive: pages/s and documents/s for 0 (in-process), 1 and 2
workers, peak memory, raw pypdfium2 text extraction as the ceiling, and reading + extraction per
format (PDF, Word, Word XML, binary .doc through LibreOffice, OFD) with LibreOffice's cost.

    .venv/bin/python benchmarks/ingest.py [--sample corpus/sample] [--repeats 3] [--formats-only]

Each configuration ingests the whole sample into a fresh catalogue in a child process (so its
peak memory is its own); figures are medians over the repeats.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def one_run(sample: str, workers: int, home: str) -> dict:
    """Child mode: ingest once, report seconds, pages, documents and peak RSS (self, workers)."""
    from archive.catalog import Catalog
    from archive.ingest import Ingestor

    catalog = Catalog(Path(home) / "catalog.db")
    started = time.perf_counter()
    summary = Ingestor(catalog, workers=workers).run([sample])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "pages": summary.pages, "documents": summary.added,
            "failed": len(summary.failed),
            "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def raw_text(sample: Path) -> dict:
    """pypdfium2 text of every page, nothing else: the ceiling for the text path."""
    import pypdfium2 as pdfium

    pages = 0
    started = time.perf_counter()
    for path in sorted(sample.rglob("*.pdf")):
        try:
            pdf = pdfium.PdfDocument(str(path))
        except Exception:
            continue
        for page in pdf:
            page.get_textpage().get_text_range()
            pages += 1
        pdf.close()
    return {"seconds": time.perf_counter() - started, "pages": pages}


def stages(sample: Path) -> dict:
    """Where the time goes, in-process: text layer, table reader, field extraction."""
    from archive.extract import extract, wants_tables
    from archive.pdf import PdfError, read_pdf

    t_text = t_tables = t_fields = 0.0
    table_pages = pages = 0
    for path in sorted(sample.rglob("*.pdf")):
        data = path.read_bytes()
        t0 = time.perf_counter()
        try:
            read_pdf(data)
        except PdfError:
            continue
        t1 = time.perf_counter()
        doc_pages = read_pdf(data, want_tables=wants_tables)      # the same again, with tables
        wanted = [p.number for p in doc_pages if p.tables]
        t2 = time.perf_counter()
        extract(doc_pages)
        t3 = time.perf_counter()
        t_text += t1 - t0
        t_tables += max(0.0, (t2 - t1) - (t1 - t0))
        t_fields += t3 - t2
        pages += len(doc_pages)
        table_pages += len(wanted)
    return {"pages": pages, "table_pages": table_pages, "text_s": t_text, "tables_s": t_tables,
            "fields_s": t_fields}


def per_format(sample: Path) -> dict[str, dict]:
    """Each document of the sample read and extracted in this process, by the format its content
    has (photos and scans left out: their cost is OCR, `benchmarks/ocr.py`); binary Word files are
    converted by LibreOffice every time (no rendition cache), which is their cost at first sight."""
    from archive.extract import extract, wants_tables
    from archive.ingest import discover
    from archive.readers.base import ReadError
    from archive.readers.containers import expand, read_source
    from archive.readers.dispatch import CONVERTED, read_pages, sniff

    sources: list = []
    for path in discover([sample]):
        expanded = expand(path, lambda name: True)
        sources += [path] if expanded is None else [ref for ref, _ in expanded.members]
    out: dict[str, dict] = {}
    for source in sources:
        data = read_source(source)
        try:
            kind = sniff(data)
            if kind == "image":
                continue
            started = time.perf_counter()
            pages = read_pages(data, kind, want_tables=wants_tables)
            if kind == "pdf" and not any(p.has_text for p in pages):
                continue                                   # a scan: OCR's cost, not the reader's
            extract(pages)
        except ReadError:
            continue
        seconds = time.perf_counter() - started
        row = out.setdefault(kind, {"documents": 0, "pages": 0, "times": []})
        row["documents"] += 1
        row["pages"] += len(pages)
        row["times"].append(seconds)
        if kind in CONVERTED:
            from archive.readers.office import convert_to_pdf

            t0 = time.perf_counter()
            convert_to_pdf(data, kind, None)
            row.setdefault("convert", []).append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", default=str(ROOT / "corpus" / "sample"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--one", nargs=2, metavar=("WORKERS", "HOME"), help=argparse.SUPPRESS)
    ap.add_argument("--formats-only", action="store_true", help="only the per-format figures")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_run(args.sample, int(args.one[0]), args.one[1])))
        return
    sample = Path(args.sample)
    if not (sample / "truth.json").exists():
        sys.exit(f"no sample archive at {sample}: run `make sample` first")

    for kind, row in sorted(per_format(sample).items(), key=lambda kv: -kv[1]["documents"]):
        total = sum(row["times"])
        print(f"format {kind:7}: {row['documents']:4} documents, {row['pages']:5} pages, "
              f"{row['pages'] / total:6.0f} pages/s, median {statistics.median(row['times']) * 1000:6.1f} ms a document"
              + (f"; LibreOffice alone median {statistics.median(row['convert']):.2f} s a document"
                 if row.get("convert") else ""))
    if args.formats_only:
        return

    raws = [raw_text(sample) for _ in range(args.repeats)]
    raw_rate = statistics.median(r["pages"] / r["seconds"] for r in raws)
    print(f"raw pypdfium2 text: {raws[0]['pages']} pages, median {raw_rate:.0f} pages/s")

    st = stages(sample)
    total = st["text_s"] + st["tables_s"] + st["fields_s"]
    print(f"in-process stages over {st['pages']} pages: text layer {st['text_s']:.2f} s, "
          f"tables on {st['table_pages']} pages {st['tables_s']:.2f} s, fields {st['fields_s']:.2f} s "
          f"(= {st['pages'] / total:.0f} pages/s before the catalogue)")

    results = {}
    for workers in (0, 1, 2):
        runs = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as home:
                out = subprocess.run([sys.executable, __file__, "--sample", str(sample), "--one",
                                      str(workers), home], capture_output=True, text=True, check=True)
                runs.append(json.loads(out.stdout))
        seconds = statistics.median(r["seconds"] for r in runs)
        r0 = runs[0]
        results[workers] = {
            "pages_per_s": r0["pages"] / seconds, "docs_per_s": r0["documents"] / seconds,
            "seconds": seconds, "pages": r0["pages"], "documents": r0["documents"],
            "failed": r0["failed"], "rss_self_mb": max(r["rss_self_mb"] for r in runs),
            "rss_worker_mb": max(r["rss_worker_mb"] for r in runs)}
        res = results[workers]
        label = "in-process" if workers == 0 else f"{workers} worker{'s' if workers > 1 else ''}"
        print(f"ingest, {label:10}: {res['pages']} pages, {res['documents']} documents "
              f"({res['failed']} broken files) in {seconds:.2f} s (median of {args.repeats}): "
              f"{res['pages_per_s']:.0f} pages/s, {res['docs_per_s']:.0f} documents/s; "
              f"peak RSS main {res['rss_self_mb']:.0f} MB, worker {res['rss_worker_mb']:.0f} MB")
    one, two = results[1]["pages_per_s"], results[2]["pages_per_s"]
    print(f"per worker: 1 worker {one:.0f} pages/s, 2 workers {two / 2:.0f} pages/s each "
          f"(speed-up {two / one:.2f}×); raw text / 1 worker = {raw_rate / one:.1f}×")


if __name__ == "__main__":
    main()
