"""匹配度 (auditor-to-project match) per specialty code, after the published proposal in DOMAIN.md.

The proposal gives the factors, not the formula; this is the one used here (weights in `Weights`):

    X = Σ_i  B1_i / C1_i^α                                   sufficiency: qualified auditors i
    Y = A2 · (1 + β_B·(1 − B2)) · (1 + β_D·D) · (1 + β_E·E) / C2^γ      difficulty
    P = k · X / Y                                            flagged when P < threshold

- i runs over the qualified auditors of the code: those the archive's team records show auditing a
  project in it (leader or member; technical experts are not auditors);
- B1_i: availability / willingness (0–1) a manager sets per auditor (default `default_availability`);
- C1_i: how many codes auditor i is qualified for (codes audited): more codes, more contention;
- A2: projects in the code: cases with an audit in the last `window_years` before `as_of`;
- B2: the organisations' cooperation (0–1, lower is harder), per organisation, averaged;
- C2: certificates per organisation (fields audited together, averaged): integrated audits are easier;
- D: clustered demand (0–1): how much the code's audits crowd into one month of the year,
  (busiest month's share − 1/12) / (1 − 1/12);
- E: policy constraints (0–1) a manager sets per code;
- k (`capacity`): projects one fully available auditor carries in the window.
X is the effective number of auditors (A1 auditors, each counting B1/C1^α), Y the effective
number of projects; P = 1 means supply meets demand. Weights are stored in the data home
(`matching.json`) so that a manager's settings hold for everyone.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..codes import table
from ..messages import message, weight_name
from .cases import Case, build_cases

FORMULA = ("X = Σ B1_i / C1_i^α;  Y = A2·(1 + β_B·(1−B2))·(1 + β_D·D)·(1 + β_E·E) / C2^γ;  "
           "P = k·X / Y;  flagged when P < threshold")
WEIGHTS_FILE = "matching.json"


@dataclass
class Weights:
    """What a programme manager may set (see the module docstring for the symbols)."""

    alpha: float = 0.5                   # α: contention, exponent on C1
    cooperation_weight: float = 0.5      # β_B
    cluster_weight: float = 0.5          # β_D
    policy_weight: float = 1.0           # β_E
    integration: float = 0.5             # γ: exponent on C2
    capacity: float = 2.0                # k
    threshold: float = 0.8
    window_years: float = 3.0
    default_availability: float = 1.0    # B1 of an auditor nobody rated
    default_cooperation: float = 0.8     # B2 of an organisation nobody rated
    availability: dict[str, float] = field(default_factory=dict)   # auditor name or reg. no. → B1
    cooperation: dict[str, float] = field(default_factory=dict)    # organisation id or name → B2
    policy: dict[str, float] = field(default_factory=dict)         # code → E

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Weights":
        """Known keys only; numbers checked (unit factors within 0–1)."""
        known = {f.name for f in fields(cls)}
        w = cls(**{k: v for k, v in data.items() if k in known})
        for name in ("alpha", "cooperation_weight", "cluster_weight", "policy_weight", "integration",
                     "capacity", "threshold", "window_years", "default_availability", "default_cooperation"):
            try:
                value = float(getattr(w, name))
            except (TypeError, ValueError):
                raise ValueError(message("weights.not_number", label=weight_name(name), key=name,
                                         value=str(getattr(w, name))[:20])) from None
            if value < 0:
                raise ValueError(message("weights.negative", label=weight_name(name), key=name))
            setattr(w, name, value)
        for name in ("availability", "cooperation", "policy", "default_availability", "default_cooperation"):
            values = getattr(w, name)
            for v in (values.values() if isinstance(values, dict) else [values]):
                try:
                    number = float(v)
                except (TypeError, ValueError):
                    raise ValueError(message("weights.not_number", label=weight_name(name), key=name,
                                             value=str(v)[:20])) from None
                if not 0 <= number <= 1:
                    raise ValueError(message("weights.unit", label=weight_name(name), key=name))
        return w

    def with_updates(self, updates: dict[str, Any]) -> "Weights":
        return Weights.from_dict({**self.to_dict(), **updates})


def weights_path(home_root: Path) -> Path:
    return Path(home_root) / WEIGHTS_FILE


def load_weights(home_root: Path | None) -> Weights:
    """The stored weights, or the defaults."""
    if home_root is None:
        return Weights()
    try:
        return Weights.from_dict(json.loads(weights_path(home_root).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return Weights()


def save_weights(home_root: Path, weights: Weights) -> Path:
    """Store the weights (atomically: a reader sees the old or the new file, never half)."""
    path = weights_path(home_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=WEIGHTS_FILE + ".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(weights.to_dict(), fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
    return path


def _audit_dates(case: Case) -> list[date]:
    return [date.fromisoformat(a.start) for a in case.audits if a.start]


def clustering(days: list[date]) -> float:
    """D: 0 when audits spread evenly over the months, 1 when all fall in one month."""
    if len(days) < 2:
        return 0.0
    top = Counter(d.month for d in days).most_common(1)[0][1] / len(days)
    return round(max(0.0, (top - 1 / 12) / (1 - 1 / 12)), 4)


def matching_report(catalog: Catalog, weights: Weights | None = None, codes: list[str] | None = None,
                    version: str = "2020", as_of: date | None = None,
                    cases: list[Case] | None = None) -> dict[str, Any]:
    """X, Y and P per code (the codes of the archive's cases, or those given; prefixes match
    the codes below them), lowest P first, flagged below the threshold."""
    w = weights or Weights()
    cases = [c for c in (cases if cases is not None else build_cases(catalog)) if c.code_table == version]
    days = [d for c in cases for d in _audit_dates(c)]
    as_of = as_of or (max(days) if days else date.today())
    since = as_of - timedelta(days=round(365.25 * w.window_years))
    qualified: dict[str, set[str]] = defaultdict(set)          # auditor → codes audited
    reg_nos: dict[str, str | None] = {}
    for c in cases:
        for a in c.audits:
            for m in a.team:
                if m["role"] != "expert":
                    qualified[m["name"]].update(c.codes)
                    reg_nos[m["name"]] = reg_nos.get(m["name"]) or m["reg_no"]
    wanted = codes or sorted({k for c in cases for k in c.codes})
    tab = table(version)
    rows = []
    for code in wanted:
        def covers(k: str) -> bool:
            return k == code or k.startswith(code + ".")
        in_code = [c for c in cases if any(covers(k) for k in c.codes)]
        active = [c for c in in_code if any(since <= d <= as_of for d in _audit_dates(c))]
        team = sorted(n for n, cs in qualified.items() if any(covers(k) for k in cs))
        per_auditor = []
        for name in team:
            b1 = float(w.availability.get(name, w.availability.get(reg_nos.get(name) or "", w.default_availability)))
            c1 = max(1, len(qualified[name]))
            per_auditor.append({"name": name, "reg_no": reg_nos.get(name), "B1": b1, "C1": c1,
                                "contribution": round(b1 / c1 ** w.alpha, 4)})
        x = sum(a["contribution"] for a in per_auditor)
        a2 = len(active)
        b2 = (sum(float(w.cooperation.get(c.org["id"], w.cooperation.get(c.org["name"] or "", w.default_cooperation)))
                  for c in active) / a2) if a2 else w.default_cooperation
        c2 = (sum(len(c.fields) for c in active) / a2) if a2 else 1.0
        d = clustering([day for c in active for day in _audit_dates(c) if since <= day <= as_of])
        e = float(w.policy.get(code, 0.0))
        y = (a2 * (1 + w.cooperation_weight * (1 - b2)) * (1 + w.cluster_weight * d)
             * (1 + w.policy_weight * e) / max(c2, 1.0) ** w.integration)
        p = round(w.capacity * x / y, 4) if y > 0 else None
        entry = tab.get(code)
        rows.append({
            "code": code, "name": entry.name if entry else None, "level": entry.level if entry else None,
            "X": round(x, 4), "Y": round(y, 4), "P": p,
            "flagged": p is not None and p < w.threshold,
            "A1": len(team), "A2": a2, "B2": round(b2, 4), "C2": round(c2, 4), "D": d, "E": e,
            "projects_all_time": len(in_code), "auditors": per_auditor})
    rows.sort(key=lambda r: (r["P"] is None, r["P"] if r["P"] is not None else 0, r["code"]))
    return {"formula": FORMULA, "weights": w.to_dict(), "as_of": as_of.isoformat(),
            "since": since.isoformat(), "table": version, "codes": rows,
            "flagged": [r["code"] for r in rows if r["flagged"]]}
