"""Scope suggestion: top-k accuracy on scope texts held out from training, beside baselines.

    .venv/bin/python benchmarks/scopes.py [--seed N] [--per-code N] [--runs N] [--json]

Labelled scope wordings come from `corpus/scopes.py` (67 codes of the 2020 table, `--per-code`
wordings each). Each run splits every code's wordings in half at random: one half is the
archive's (scope text, code) pairs the model trains on, the other half is held out and asked
for. Compared on the held-out texts:
- model: `archive.mining.scopes.ScopeModel` trained on the pairs (with the code names as prior);
- prior only: the same model on an empty archive (code names and descriptions only);
- baseline: plain string matching against the code names (shared character bigrams, as a share
  of the name's bigrams; ties broken by the longer common substring).
A second split holds out whole products: the test texts name a product no training text of their
code names (harder: only the activity, shared words and the names can carry it).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.codes import table_2020  # noqa: E402
from archive.mining.scopes import ScopeModel  # noqa: E402
from archive.text import normalise  # noqa: E402
from corpus.scopes import FAMILIES, scope_pairs  # noqa: E402

K = (1, 3, 5)


def baseline(text: str, limit: int = 5) -> list[str]:
    """Plain string matching: the minor codes whose names share most character bigrams."""
    text = normalise(text)
    grams = {text[i:i + 2] for i in range(len(text) - 1)}
    scored = []
    for code, e in table_2020().items():
        if e.level != "minor":
            continue
        name = normalise(e.name)
        ng = {name[i:i + 2] for i in range(len(name) - 1)}
        if not ng:
            continue
        share = len(grams & ng) / len(ng)
        longest = SequenceMatcher(None, text, name).find_longest_match().size
        scored.append((share, longest, code))
    scored.sort(reverse=True)
    return [c for *_, c in scored[:limit]]


def _hits(ranked: list[list[str]], gold: list[str]) -> dict[int, float]:
    return {k: sum(g in r[:k] for r, g in zip(ranked, gold)) / max(1, len(gold)) for k in K}


def split_by_text(pairs: list[tuple[str, str]], rng: random.Random):
    by_code: dict[str, list[str]] = {}
    for text, code in pairs:
        by_code.setdefault(code, []).append(text)
    train, test = [], []
    for code, texts in sorted(by_code.items()):
        texts = texts[:]
        rng.shuffle(texts)
        half = len(texts) // 2
        train += [(t, code) for t in texts[:half]]
        test += [(t, code) for t in texts[half:]]
    return train, test


def split_by_product(pairs: list[tuple[str, str]], rng: random.Random):
    """Test texts name a product that no training text of the same code names."""
    products = {f.code: list(f.products) for f in FAMILIES}
    held = {code: set(rng.sample(ps, 2)) for code, ps in products.items()}
    train, test = [], []
    for text, code in pairs:
        names = {p for p in products[code] if p in text}
        (test if names & held[code] else train).append((text, code))
    return train, test


def evaluate(train, test) -> dict[str, dict]:
    t0 = time.perf_counter()
    model = ScopeModel("2020", train)
    fit_s = time.perf_counter() - t0
    empty = ScopeModel("2020", [])
    texts, gold = [t for t, _ in test], [c for _, c in test]
    t0 = time.perf_counter()
    ranked = [[m["code"] for m in model.suggest(t, 5)] for t in texts]
    per_query_ms = (time.perf_counter() - t0) * 1000 / max(1, len(texts))
    return {
        "model": {**_hits(ranked, gold), "fit_s": round(fit_s, 2), "query_ms": round(per_query_ms, 1)},
        "prior_only": _hits([[m["code"] for m in empty.suggest(t, 5)] for t in texts], gold),
        "baseline": _hits([baseline(t) for t in texts], gold),
        "train": len(train), "test": len(test),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--per-code", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    pairs = scope_pairs(args.seed, args.per_code)
    results: dict[str, list[dict]] = {"text": [], "product": []}
    for run in range(args.runs):
        rng = random.Random(f"{args.seed}:split:{run}")
        results["text"].append(evaluate(*split_by_text(pairs, rng)))
        results["product"].append(evaluate(*split_by_product(pairs, rng)))
    summary = {}
    for split, runs in results.items():
        summary[split] = {name: {f"top{k}": round(statistics.mean(r[name][k] for r in runs), 3) for k in K}
                          for name in ("model", "prior_only", "baseline")}
        summary[split]["model"]["fit_s"] = round(statistics.mean(r["model"]["fit_s"] for r in runs), 2)
        summary[split]["model"]["query_ms"] = round(statistics.mean(r["model"]["query_ms"] for r in runs), 1)
        summary[split]["train"], summary[split]["test"] = runs[0]["train"], runs[0]["test"]
    summary["codes"], summary["pairs"], summary["runs"] = len(FAMILIES), len(pairs), args.runs
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
        return 0
    print(f"{len(pairs)} scope texts of {len(FAMILIES)} codes, {args.runs} random splits each")
    for split, label in (("text", "held-out texts"), ("product", "held-out products")):
        s = summary[split]
        print(f"\n{label}: train {s['train']}, test {s['test']} "
              f"(fit {s['model']['fit_s']} s, {s['model']['query_ms']} ms a query)")
        print(f"  {'':12} {'top-1':>7} {'top-3':>7} {'top-5':>7}")
        for name in ("model", "prior_only", "baseline"):
            print(f"  {name:12} " + " ".join(f"{s[name][f'top{k}']:7.3f}" for k in K))
    return 0


if __name__ == "__main__":
    sys.exit(main())
