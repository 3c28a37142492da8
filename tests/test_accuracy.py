"""Field extraction measured against the generator's ground truth on a small seeded sample."""
from __future__ import annotations

from pathlib import Path

import pytest

from corpus.evaluate import REQUIRED, by_relpath, score


@pytest.fixture(scope="session")
def ingested(sample, sample_home):
    root, _ = sample
    _, catalog, summary = sample_home
    docs = by_relpath((d.to_dict() for d in catalog.iter_documents()), str(root))
    return summary, docs, catalog


def test_every_document_is_catalogued_and_every_broken_file_reported(sample, ingested):
    root, truth = sample
    summary, docs, _ = ingested
    assert set(docs) == set(truth["documents"])
    failed = {Path(f.path).resolve().relative_to(root.resolve()).as_posix(): f.reason
              for f in summary.failed}
    assert set(failed) == set(truth["broken"])
    for rel, kind in truth["broken"].items():
        assert failed[rel] == kind, rel


@pytest.mark.parametrize("field", REQUIRED)
def test_field_accuracy_at_least_095(sample, ingested, field):
    _, truth = sample
    _, docs, _ = ingested
    accuracy, misses = score(truth["documents"], docs)
    examples = [m for m in misses if m[1] == field][:5]
    assert accuracy[field] >= 0.95, f"{field}: {accuracy[field]:.3f}; e.g. {examples}"


def test_page_counts_match(sample, ingested):
    _, truth = sample
    _, docs, _ = ingested
    assert all(docs[rel]["pages"] == want["pages"] for rel, want in truth["documents"].items())
