"""OCR against the sample archive's scanned pages: character error rate, orientation and skew,
field accuracy on scanned documents, and seconds a page.

    .venv/bin/python benchmarks/ocr.py [--sample corpus/sample] [--workers 2] [--cache FILE] [--json OUT]

Ingests the sample into a temporary catalogue through the project's code (`Ingestor`, OCR in the
worker pool), then compares every scanned page's text with what the original printed
(`truth.json` → `scans`, in visual line order). Two error rates, both over characters without
blanks (normalised the same way): strict (edit distance of the page's text in reading order) and
order-free (pieces of text found in both are matched first, wherever they stand; what is left is
compared in order), which does not count a table row read across its cells instead of cell by
cell. Documents printed in traditional characters are reported apart as well: the PP-OCRv4
model in the wheel is a simplified-Chinese one and drops traditional characters it does not know
(屬 驗 審 準 …). `--cache` keeps the OCR cache between runs (then seconds a page are only measured for the
pages not cached).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.catalog import Catalog  # noqa: E402
from archive.ingest import Ingestor  # noqa: E402
from archive.text import normalise, to_simplified  # noqa: E402
from corpus.evaluate import FIELDS, REQUIRED, by_relpath, score  # noqa: E402


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one row at a time in numpy (insertions by a running minimum)."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    codes = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    steps = np.arange(len(b) + 1)
    row = steps.copy()
    for i, ch in enumerate(a, 1):
        nxt = np.empty_like(row)
        nxt[0] = i
        nxt[1:] = np.minimum(row[:-1] + (codes != ord(ch)), row[1:] + 1)
        row = np.minimum.accumulate(nxt - steps) + steps
    return int(row[-1])


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", normalise(text))


def errors(truth: str, read: str) -> tuple[int, int, int]:
    """(characters, strict errors, order-free errors) of one page."""
    ref, hyp = _squash(truth), _squash(read)
    strict = edit_distance(ref, hyp)
    pieces_ref = normalise(truth).split()
    pieces_hyp = Counter(normalise(read).split())
    left_ref = []
    for piece in pieces_ref:
        if pieces_hyp[piece] > 0:
            pieces_hyp[piece] -= 1
        else:
            left_ref.append(piece)
    left_hyp = []
    for piece in normalise(read).split():
        if pieces_hyp[piece] > 0:               # not matched by a piece of the truth
            pieces_hyp[piece] -= 1
            left_hyp.append(piece)
    return len(ref), strict, edit_distance("".join(left_ref), "".join(left_hyp))


def traditional(pages: list[dict]) -> bool:
    """Printed in traditional characters: converting to simplified changes a good many of them."""
    text = "".join(p["text"] for p in pages)
    return sum(a != b for a, b in zip(text, to_simplified(text))) >= 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", default=str(ROOT / "corpus" / "sample"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", help="OCR cache file to keep between runs (default: a fresh one)")
    ap.add_argument("--json", help="write the figures here as JSON")
    ap.add_argument("--worst", type=int, default=3, help="pages with the most errors shown")
    args = ap.parse_args()
    sample = Path(args.sample)
    truth = json.loads((sample / "truth.json").read_text(encoding="utf-8"))
    scans = truth.get("scans") or {}
    if not scans:
        sys.exit(f"{sample} has no scanned documents (generate it with --scanned above 0)")
    timings: list[float] = []

    def progress(event: str, path: Path, info: dict | None) -> None:
        if event == "ocr_page" and info and not info["cached"] and info["seconds"]:
            timings.append(info["seconds"])
            print(f"  OCR {len(timings)} pages", file=sys.stderr, end="\r")

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        catalog = Catalog(Path(home) / "catalog.db")
        started = time.perf_counter()
        summary = Ingestor(catalog, workers=args.workers, progress=progress,
                           ocr_cache=args.cache).run([sample])
        wall = time.perf_counter() - started
        docs = by_relpath((d.to_dict() for d in catalog.iter_documents()), str(sample))
        pages = {rel: catalog.pages(docs[rel]["id"]) for rel in scans if rel in docs}
        catalog.close()
    load_after = os.getloadavg()

    chars = strict = free = 0
    by_script = {"simplified": [0, 0, 0], "traditional": [0, 0, 0]}
    rotations_right = skew_errors = 0
    per_page = []
    confidences = []
    for rel, scanned in scans.items():
        for want in scanned:
            got = pages[rel][want["number"] - 1]
            n, s, f = errors(want["text"], got["text"] if got["ocr"] else "")
            chars, strict, free = chars + n, strict + s, free + f
            tally = by_script["traditional" if traditional(scanned) else "simplified"]
            tally[0], tally[1], tally[2] = tally[0] + n, tally[1] + s, tally[2] + f
            per_page.append((f / max(n, 1), s / max(n, 1), rel, want["number"]))
            rotations_right += (want["rotation"] + (got["ocr_rotation"] or 0)) % 360 == 0
            skew_errors += abs((got["ocr_skew"] or 0.0) - want["skew"]) if got["ocr"] else 0
            if got["ocr_confidence"] is not None:
                confidences.append(got["ocr_confidence"])
    n_pages = len(per_page)
    scanned_docs = {rel: truth["documents"][rel] for rel in scans}
    accuracy, misses = score(scanned_docs, docs)
    fully = {rel: d for rel, d in scanned_docs.items() if len(scans[rel]) == d["pages"]}
    accuracy_full, _ = score(fully, docs)
    simplified = {rel: d for rel, d in scanned_docs.items() if not traditional(scans[rel])}
    accuracy_simplified, _ = score(simplified, docs)
    result = {
        "documents": len(scanned_docs), "fully_scanned": len(fully), "pages": n_pages,
        "cer_strict": round(strict / max(chars, 1), 4), "cer_order_free": round(free / max(chars, 1), 4),
        "rotation_right": f"{rotations_right}/{n_pages}",
        "rotated_pages": sum(1 for s in scans.values() for p in s if p["rotation"]),
        "mean_skew_error_deg": round(skew_errors / max(n_pages, 1), 2),
        "mean_confidence": round(sum(confidences) / max(len(confidences), 1), 4),
        "ocr_seconds_per_page": round(sum(timings) / len(timings), 2) if timings else None,
        "ocr_seconds_range": [round(min(timings), 1), round(max(timings), 1)] if timings else None,
        "ocr_pages_timed": len(timings), "workers": args.workers,
        "ingest_seconds": round(wall, 1), "ingest_summary_ocr_pages": summary.ocr_pages,
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "field_accuracy": {k: round(v, 3) for k, v in accuracy.items()},
        "field_accuracy_fully_scanned": {k: round(v, 3) for k, v in accuracy_full.items()},
        "simplified_documents": len(simplified),
        "field_accuracy_simplified": {k: round(v, 3) for k, v in accuracy_simplified.items()},
        "cer_by_script": {k: {"chars": c, "strict": round(st / max(c, 1), 4), "order_free": round(fr / max(c, 1), 4)}
                          for k, (c, st, fr) in by_script.items()},
    }
    print(f"{result['documents']} scanned documents ({result['fully_scanned']} fully), "
          f"{n_pages} scanned pages ({result['rotated_pages']} turned by 90°)")
    print(f"character error rate: strict {result['cer_strict']:.2%}, order-free "
          f"{result['cer_order_free']:.2%} (goal ≤ 3%)")
    for script, figures in result["cer_by_script"].items():
        if figures["chars"]:
            print(f"  {script}: strict {figures['strict']:.2%}, order-free {figures['order_free']:.2%} "
                  f"({figures['chars']} characters)")
    print(f"orientation right on {result['rotation_right']} pages; mean skew error "
          f"{result['mean_skew_error_deg']}°; mean confidence {result['mean_confidence']}")
    if timings:
        print(f"OCR {result['ocr_seconds_per_page']} s a page ({result['ocr_seconds_range'][0]}–"
              f"{result['ocr_seconds_range'][1]}) in {args.workers} worker(s), "
              f"{len(timings)} pages timed; ingest of the whole sample {result['ingest_seconds']} s; "
              f"load average {result['load_average_before_after'][0]} → {result['load_average_before_after'][1]}")
    print(f"field accuracy on scanned documents (all / fully scanned / the {len(simplified)} in "
          f"simplified characters):")
    for name in FIELDS:
        mark = "" if name not in REQUIRED else ("  ok" if accuracy[name] >= 0.9 else "  BELOW 0.9")
        print(f"  {name:16} {accuracy[name]:.3f} / {accuracy_full[name]:.3f} / "
              f"{accuracy_simplified[name]:.3f}{mark}")
    for rel, name, want, got in misses:
        print(f"  miss {name}: {rel}\n    truth: {want}\n    got:   {got}")
    for f, s, rel, number in sorted(per_page, reverse=True)[: args.worst]:
        print(f"  worst page: {rel} p.{number}: order-free {f:.2%}, strict {s:.2%}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
