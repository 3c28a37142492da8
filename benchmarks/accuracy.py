"""Field-extraction accuracy against the sample archive's ground truth.

    .venv/bin/python benchmarks/accuracy.py [--sample corpus/sample] [--misses 3]

Ingests the sample into a temporary catalogue and prints accuracy per field, with a few
mismatches for each field below 1.0, then a table of field accuracy per format (truth's `format`:
pdf, docx, wordml, doc, ofd; documents inside a zipped folder once more as "in a zip"). Scanned
documents and photos are left to `benchmarks/ocr.py` (ingested here with `ocr="never"` and not
scored), so these figures stay about reading text layers.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.catalog import Catalog  # noqa: E402
from archive.ingest import Ingestor  # noqa: E402
from corpus.evaluate import REQUIRED, by_relpath, score  # noqa: E402


def print_formats(documents: dict[str, dict], extracted: dict[str, dict]) -> None:
    """Field accuracy per format: the mean over the required fields, and the weakest field."""
    groups: dict[str, dict[str, dict]] = {}
    for rel, d in documents.items():
        groups.setdefault(d.get("format", "pdf"), {})[rel] = d
        if ".zip/" in rel:
            groups.setdefault("in a zip", {})[rel] = d
    print(f"\n  {'format':10} {'documents':>9} {'field accuracy':>14}  weakest field")
    for fmt in sorted(groups, key=lambda f: (f == "in a zip", f != "pdf", f)):
        accuracy, _ = score(groups[fmt], extracted)
        mean = sum(accuracy[f] for f in REQUIRED) / len(REQUIRED)
        weakest = min(REQUIRED, key=lambda f: accuracy[f])
        print(f"  {fmt:10} {len(groups[fmt]):9d} {mean:14.3f}  {weakest} {accuracy[weakest]:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", default=str(ROOT / "corpus" / "sample"))
    ap.add_argument("--misses", type=int, default=3, help="mismatches shown per field")
    args = ap.parse_args()
    truth = json.loads((Path(args.sample) / "truth.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as home:
        catalog = Catalog(Path(home) / "catalog.db")
        summary = Ingestor(catalog, workers=2, ocr="never").run([args.sample])
        docs = by_relpath((d.to_dict() for d in catalog.iter_documents()), args.sample)
    scanned = truth.get("scans") or {}
    documents = {rel: d for rel, d in truth["documents"].items() if rel not in scanned}
    accuracy, misses = score(documents, docs)
    print(f"{len(documents)} documents with a text layer ({len(scanned)} scanned ones are scored by "
          f"benchmarks/ocr.py), {len(truth['broken'])} broken files ({len(summary.failed)} reported failed)")
    for name, value in accuracy.items():
        mark = "" if name not in REQUIRED else ("  ok" if value >= 0.95 else "  BELOW 0.95")
        print(f"  {name:16} {value:.3f}{mark}")
    print_formats(documents, docs)
    by_type = Counter((m[1], documents[m[0]]["doc_type"]) for m in misses)
    for name in accuracy:
        shown = [m for m in misses if m[1] == name][: args.misses]
        if shown:
            types = ", ".join(f"{t}×{n}" for (f, t), n in by_type.items() if f == name)
            print(f"\n{name} misses by doc_type: {types}")
            for rel, _, want, got in shown:
                print(f"  {rel}\n    truth: {want}\n    got:   {got}")


if __name__ == "__main__":
    main()
