"""Cases: the documents of one certification project (organisation × fields × three-year cycle)
as a timeline of audits, each checked for the records its stage requires.

Documents carry what extraction read (organisation, fields, stage, audit dates, certificate
numbers); paths are used only to break ties. Grouping, per organisation:
1. projects: fields that appear together on a document belong to one project (QMS+EMS audited
   together; a later 售后服务 certification is another project);
2. audits: a project's documents with the same audit start date are one audit; its stage is the
   one most of them state;
3. cycles: a stage 1 or a recertification opens a cycle (so does a repeated stage, or a gap of more
   than three years and four months), the rest follow the cycle they fall in;
4. documents without audit dates (applications, reviews, programmes, certificates) join an audit:
   certificates by the recertification count in their number (`…R1…`: the first recertification),
   else their issue date; the others by the dates printed in them, else by their folder, else by
   the stage their type belongs to.
The records an audit must hold are in `archive/data/required_records.json` (editable).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

from ..catalog import Catalog
from ..dates import find_dates
from ..identifiers import cert_lookup_key
from ..models import FIELDS, STAGES
from . import records as rec
from .records import Record

REQUIRED_RECORDS = Path(__file__).resolve().parent.parent / "data" / "required_records.json"
OPENING = ("stage1", "recertification")          # stages that open a certification cycle
ISSUING = ("stage2", "recertification")          # stages whose decision issues certificates
# Document types written before the audit they belong to (placed by the dates they print).
BEFORE_AUDIT = ("application", "contract_review", "audit_programme", "document_review",
                "audit_notice", "other")
CYCLE_YEARS = timedelta(days=3 * 365 + 120)
_R_COUNT = re.compile(r"R(\d{1,2})(?:-?[SML])?$")


@lru_cache(maxsize=4)
def _rules(path: str, mtime: float) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def required_records(path: Path | None = None) -> dict[str, Any]:
    """The completeness rules (re-read when the file changes)."""
    p = Path(path or REQUIRED_RECORDS)
    return _rules(str(p), p.stat().st_mtime)


@dataclass
class Audit:
    """One audit of a case: its records, team, findings, decision and certificates."""

    stage: str | None
    start: str | None
    end: str | None
    documents: list[dict[str, Any]] = field(default_factory=list)
    team: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    certificates: list[dict[str, Any]] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    missing_recommended: list[str] = field(default_factory=list)
    stage_name: str | None = None


@dataclass
class Case:
    """A certification project's cycle: who, which fields, and its audits in order."""

    id: str
    org: dict[str, Any]
    fields: list[str]
    cycle: int
    start: str | None
    end: str | None
    codes: list[str]
    code_table: str | None
    scope: str | None
    cert_nos: list[str]
    audits: list[Audit]
    complete: bool
    missing: list[dict[str, Any]]
    previous: str | None = None
    next: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def doc_ids(self) -> list[str]:
        return [d["id"] for a in self.audits for d in a.documents]


# -- public entry points ------------------------------------------------------------------------

def build_cases(catalog: Catalog, org_ids: list[str] | None = None,
                rules: dict[str, Any] | None = None) -> list[Case]:
    """Every case of the given organisations (all when None), ordered by organisation and date."""
    rules = rules or required_records()
    by_org: dict[str, list[Record]] = defaultdict(list)
    for r in rec.load_records(catalog, org_ids):
        if r.org_id:
            by_org[r.org_id].append(r)
    if not by_org:
        return []
    orgs = {row[0]: row for row in catalog.db.execute(
        "select id, name, credit_code, names from organisations") if row[0] in by_org}
    grouped = {oid: _group_org(docs) for oid, docs in by_org.items()}
    undated = [r.id for projects, loose in grouped.values() for p in projects for r in p.undated + loose]
    texts = rec.page_texts(catalog, undated)
    all_ids = [r.id for docs in by_org.values() for r in docs]
    team_of, finds_of = rec.teams(catalog, all_ids), rec.findings(catalog, all_ids)
    cases: list[Case] = []
    for oid in sorted(by_org, key=lambda o: (orgs.get(o, (o, o))[1] or o)):
        row = orgs.get(oid, (oid, None, None, "[]"))
        org = {"id": oid, "name": row[1], "credit_code": row[2], "names": json.loads(row[3] or "[]")}
        projects, loose = grouped[oid]
        for project in projects:
            project.place_undated(texts)
        events = [e for p in projects for e in p.ordered()]
        for r in loose:
            place_document(r, events, texts.get(r.id, [])).docs.append(r)
        for project in projects:
            cases += project.to_cases(org, rules, team_of, finds_of, catalog)
    return cases


def find_cases(catalog: Catalog, ref: str) -> list[Case]:
    """Cases matching a case id, a certificate number, a credit code or an organisation name
    (full, or part of one). A certificate number gives the cases that hold it."""
    ref = ref.strip()
    if not ref:
        return []
    if re.fullmatch(r"[0-9a-f]{8}-[A-Za-z+]+-\d+", ref):
        found = get_case(catalog, ref)
        return [found] if found else []
    key = cert_lookup_key(ref)
    org_ids = sorted({r[0] for r in catalog.db.execute(
        "select distinct d.org_id from documents d, json_each(d.cert_nos) c where d.org_id is not null "
        "and replace(replace(replace(upper(c.value), '-', ''), ' ', ''), '/', '') = ?", [key])})
    if org_ids:                  # the case that issued it first, then those citing it
        found = [c for c in build_cases(catalog, org_ids)
                 if any(cert_lookup_key(n) == key for a in c.audits for d in a.documents for n in d.get("cert_nos") or [])]
        return sorted(found, key=lambda c: not any(cert_lookup_key(n) == key for a in c.audits
                                                   for crt in a.certificates for n in crt["cert_nos"]))
    org_ids = sorted({r[0] for r in catalog.db.execute(
        "select o.id from organisations o, json_each(o.names) n "
        "where o.id = ? or o.credit_code = ? or n.value like ?", [ref, ref.upper(), f"%{ref}%"])})
    return build_cases(catalog, org_ids) if org_ids else []


@dataclass
class CaseList:
    """One page of the archive's cases, newest first, with what each filter value would count."""

    cases: list[Case]
    total: int
    counts: dict[str, dict[str, int]]        # field / code (major) / year / incomplete → count


def list_cases(catalog: Catalog, field_: str | None = None, code: str | None = None,
               year: str | None = None, incomplete: bool = False, offset: int = 0,
               limit: int = 50) -> CaseList:
    """Every case of the archive (newest first: by the start of its latest audit, undated
    last), filtered by field, code (any level: 17 covers 17.10.02), year (of any of its audits)
    and `incomplete` (records missing); counts are over the cases the other filters leave."""
    every = build_cases(catalog)

    def years(c: Case) -> set[str]:
        return {a.start[:4] for a in c.audits if a.start}

    def keep(c: Case, skip: str = "") -> bool:
        return ((skip == "field" or not field_ or field_ in c.fields)
                and (skip == "code" or not code or any(x == code or x.startswith(code + ".") for x in c.codes))
                and (skip == "year" or not year or year in years(c))
                and (skip == "incomplete" or not incomplete or not c.complete))

    counts: dict[str, dict[str, int]] = {"field": {}, "code": {}, "year": {}, "incomplete": {}}
    for c in every:
        if keep(c, "field"):
            for f in c.fields:
                counts["field"][f] = counts["field"].get(f, 0) + 1
        if keep(c, "code"):
            for major in sorted({x[:2] for x in c.codes}):
                counts["code"][major] = counts["code"].get(major, 0) + 1
        if keep(c, "year"):
            for y in years(c):
                counts["year"][y] = counts["year"].get(y, 0) + 1
        if keep(c, "incomplete") and not c.complete:
            counts["incomplete"]["1"] = counts["incomplete"].get("1", 0) + 1
    for name, values in counts.items():         # years newest first, the others by count
        order = (lambda kv: kv[0]) if name == "year" else (lambda kv: (-kv[1], kv[0]))
        counts[name] = dict(sorted(values.items(), key=order, reverse=name == "year"))
    chosen = [c for c in every if keep(c)]

    def latest(c: Case) -> str:
        return max((a.start for a in c.audits if a.start), default="")
    dated = sorted((c for c in chosen if latest(c)), key=lambda c: (latest(c), c.id), reverse=True)
    ordered = dated + sorted((c for c in chosen if not latest(c)), key=lambda c: c.id)
    return CaseList(ordered[offset:offset + limit], len(ordered), counts)


def get_case(catalog: Catalog, case_id: str) -> Case | None:
    """One case by its id (`<org hash>-<fields>-<cycle>`), building only its organisation's cases."""
    prefix = case_id.split("-", 1)[0]
    org_ids = [oid for (oid,) in catalog.db.execute("select id from organisations")
               if org_hash(oid) == prefix]
    return next((c for c in build_cases(catalog, org_ids) if c.id == case_id), None) if org_ids else None


def org_hash(org_id: str) -> str:
    return hashlib.sha1(org_id.encode("utf-8")).hexdigest()[:8]


def case_id(org_id: str, fields: list[str], cycle: int) -> str:
    """Stable and URL-safe: `3f2a9c1b-QMS+EMS-1`."""
    return f"{org_hash(org_id)}-{'+'.join(fields) or 'NONE'}-{cycle}"


# -- grouping -----------------------------------------------------------------------------------

def _fields_sorted(fields: set[str] | list[str]) -> list[str]:
    return sorted(fields, key=lambda f: FIELDS.index(f) if f in FIELDS else len(FIELDS))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def r_count(cert_no: str) -> int | None:
    """The recertification count printed in a certificate number (`…R1M` → 1), if any."""
    m = _R_COUNT.search(cert_lookup_key(cert_no))
    return int(m.group(1)) if m else None


def case_cert_nos(docs: list) -> list[str]:
    """The certificates of a case, each once: one number printed two ways (`217-19-FW-01002-R0-M`,
    `21719FW01002R0M`) is one, in the form its certificate prints (else the first seen); numbers
    that differ only in the recertification count are one certificate's issues, and the case
    keeps the issue its own certificate shows (else the latest): a recertification's records cite
    the issue they renew."""
    groups: dict[str, list[tuple[bool, str]]] = {}
    for d in sorted(docs, key=lambda d: d.doc_type != "certificate"):
        for n in d.cert_nos:
            key = cert_lookup_key(n)
            base = _R_COUNT.sub("", key) if _R_COUNT.search(key) else key
            groups.setdefault(base, []).append((d.doc_type == "certificate", n))
    out = []
    for forms in groups.values():
        issued = [n for on_cert, n in forms if on_cert]
        candidates = issued or [n for _, n in forms]
        out.append(max(candidates, key=lambda n: (r_count(n) or 0, -candidates.index(n))))
    return out


class _Event:
    """An audit while grouping: the documents sharing its start date (or, for an audit known only
    from undated documents that name its stage, those documents, ordered by the date they print)."""

    def __init__(self, start: str | None, stage: str | None = None, when: date | None = None):
        self.start = start
        self.docs: list[Record] = []
        self.cycle = 0
        self._stage = stage
        self.when = when or _day(start)

    @property
    def end(self) -> str | None:
        return max((d.audit_end or d.audit_start for d in self.docs if d.audit_start), default=self.start)

    @property
    def stage(self) -> str | None:
        if self._stage:
            return self._stage
        counts = Counter(d.stage for d in self.docs if d.stage and d.audit_start)
        counts = counts or Counter(d.stage for d in self.docs if d.stage)
        if not counts:
            return None
        return max(counts, key=lambda s: (counts[s], -STAGES.index(s)))

    def folders(self) -> Counter:
        return Counter(str(PurePath(d.path).parent) for d in self.docs)


_LABELLED_DATE = re.compile(r"日期\s*[:：]?\s*((?:19|20)\d{2}\s*(?:年\s*\d{1,2}\s*月\s*\d{1,2}\s*日?|[-./]\d{1,2}[-./]\d{1,2}))")


def doc_dates(pages: list[str]) -> list[date]:
    """The dates a document is dated by: those after a 日期 label (申请日期, 评审日期, 决定日期…),
    else every full date it prints."""
    text = "\n".join(pages)
    labelled = [d for m in _LABELLED_DATE.finditer(text) for d in find_dates(m.group(1))]
    return labelled or find_dates(text)


class _Project:
    """One organisation's documents of one field set, grouped into audits and cycles."""

    def __init__(self, fields: set[str]):
        self.fields = _fields_sorted(fields)
        self.events: dict[str, _Event] = {}
        self.undated: list[Record] = []

    def add_dated(self, r: Record) -> None:
        self.events.setdefault(r.audit_start, _Event(r.audit_start)).docs.append(r)

    def ordered(self) -> list[_Event]:
        return sorted(self.events.values(), key=lambda e: (e.when or date.max, e.start or ""))

    def assign_cycles(self) -> None:
        cycle, stages, opened = 0, set(), None
        for e in self.ordered():
            st, day = e.stage, e.when
            new = (cycle == 0 or st in OPENING or (st and st in stages)
                   or bool(opened and day and day - opened > CYCLE_YEARS))
            if st == "stage2" and stages == {"stage1"}:
                new = False
            if new:
                cycle, stages, opened = cycle + 1, set(), day or opened
            if st:
                stages.add(st)
            e.cycle = cycle

    def add_stated(self, texts: dict[str, list[str]]) -> None:
        """Audits known only from undated documents naming a stage no dated audit has (a
        decision whose audit report is missing): one audit per stage and half year."""
        have = {e.stage for e in self.events.values()}
        for r in list(self.undated):
            if r.stage and r.stage not in have and r.doc_type != "certificate":
                when = (doc_dates(texts.get(r.id, [])) or [None])[-1]
                near = [e for e in self.events.values() if e.start is None and e.stage == r.stage
                        and (not when or not e.when or abs((e.when - when).days) < 180)]
                if near:
                    near[0].docs.append(r)
                else:
                    event = _Event(None, r.stage, when)
                    event.docs.append(r)
                    self.events[f"~{r.id}"] = event
                self.undated.remove(r)

    def place_undated(self, texts: dict[str, list[str]]) -> None:
        """Give every undated document an audit (see the module docstring)."""
        self.add_stated(texts)
        self.assign_cycles()
        events = self.ordered()
        if not events:
            return
        cycle_r = self._cycle_r(events)
        for r in self.undated:
            target = None
            if r.doc_type == "certificate":
                target = self._for_certificate(r, events, cycle_r)
            if target is None:
                target = place_document(r, events, texts.get(r.id, []))
            target.docs.append(r)
        self.undated = []

    @staticmethod
    def _cycle_r(events: list[_Event]) -> dict[int, int]:
        """Cycle → the recertification count of its certificates."""
        first = events[0]
        cited = [r_count(n) for e in events if e.cycle == first.cycle and e.stage not in OPENING
                 for d in e.docs if d.doc_type != "certificate" for n in d.cert_nos]
        cited = [c for c in cited if c is not None]
        base = 0 if first.stage in ("stage1", "stage2") or not cited else Counter(cited).most_common(1)[0][0]
        return {c: base + c - first.cycle for c in {e.cycle for e in events}}

    @staticmethod
    def _for_certificate(r: Record, events: list[_Event], cycle_r: dict[int, int]) -> _Event | None:
        counts = [c for c in (r_count(n) for n in r.cert_nos) if c is not None]
        cycles = [c for c, rc in cycle_r.items() if counts and rc == max(counts)]
        if cycles:
            in_cycle = [e for e in events if e.cycle == cycles[0]]
            issuing = [e for e in in_cycle if e.stage in ISSUING]
            return issuing[0] if issuing else in_cycle[0]
        issued = _day(r.issue_date)
        if issued:
            before = [e for e in events if e.stage in ISSUING and e.when and e.when <= issued]
            if before:
                return before[-1]
        return None


    # -- output ---------------------------------------------------------------------------------
    def to_cases(self, org: dict[str, Any], rules: dict[str, Any], team_of, finds_of,
                 catalog: Catalog) -> list[Case]:
        by_cycle: dict[int, list[_Event]] = defaultdict(list)
        for e in self.ordered():
            by_cycle[e.cycle].append(e)
        texts = rec.page_texts(catalog, [d.id for e in self.ordered() for d in e.docs
                                         if d.doc_type in ("decision", "checklist")])
        out: list[Case] = []
        for cycle in sorted(by_cycle):
            audits = [_audit(e, rules, team_of, finds_of, texts) for e in by_cycle[cycle]]
            docs = [d for e in by_cycle[cycle] for d in e.docs]
            codes, table = _codes(docs)
            missing = [{"stage": a.stage, "start": a.start, "doc_type": t,
                        "name": rules.get("names", {}).get(t, t)} for a in audits for t in a.missing]
            out.append(Case(
                id=case_id(org["id"], self.fields, cycle),
                org={k: org[k] for k in ("id", "name", "credit_code")},
                fields=self.fields, cycle=cycle, start=audits[0].start,
                end=max((a.end or a.start or "" for a in audits), default=None) or None,
                codes=codes, code_table=table, scope=_scope(docs),
                cert_nos=case_cert_nos(docs),
                audits=audits, complete=not missing, missing=missing))
        for a, b in zip(out, out[1:]):
            a.next, b.previous = b.id, a.id
        return out


AFTER_AUDIT = ("decision", "certificate")
# Forms that state 再认证 when they belong to a recertification: without it, an initial audit.
INITIAL_ONLY_WHEN_UNSTATED = ("application", "contract_review")


def place_document(r: Record, events: list[_Event], pages: list[str]) -> _Event:
    """The audit an undated document belongs to: among the audits of its stage (all when none
    is stated), the one its dates fall closest before (after, for decisions), else stage 1 for an
    application that states no 再认证, else the one filed in its folder, else the first audit of
    a cycle for application-like records."""
    candidates = [e for e in events if r.stage and e.stage == r.stage] or events
    dates = doc_dates(pages)
    best, best_gap = None, None
    for e in candidates:
        if not e.when:
            continue
        if r.doc_type in AFTER_AUDIT:
            end = _day(e.end) or e.when
            gaps = [(d - end).days for d in dates if -3 <= (d - end).days <= 120]
        else:
            gaps = [(e.when - d).days for d in dates if -3 <= (e.when - d).days <= 150]
        if gaps and (best_gap is None or min(gaps) < best_gap):
            best, best_gap = e, min(gaps)
    if best:
        return best
    if r.stage is None and r.doc_type in INITIAL_ONLY_WHEN_UNSTATED:
        initial = [e for e in candidates if e.stage == "stage1"]
        if initial:
            return initial[0]
    folder = str(PurePath(r.path).parent)
    by_folder = [(e.folders()[folder], -i) for i, e in enumerate(candidates)]
    top = max(by_folder)
    if top[0] > 0:
        return candidates[-top[1]]
    if r.doc_type in BEFORE_AUDIT and r.stage is None:
        opening = [e for e in candidates if e.stage in OPENING]
        if opening:
            return opening[0]
    return candidates[0]


def _group_org(docs: list[Record]) -> tuple[list[_Project], list[Record]]:
    """Split one organisation's documents into projects by the fields printed together; returns
    the projects and the undated documents that name no field (placed once audits are known)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for d in docs:
        for f in d.fields[1:]:
            parent[find(f)] = find(d.fields[0])
        for f in d.fields[:1]:
            find(f)
    groups: dict[str, set[str]] = defaultdict(set)
    for f in list(parent):
        groups[find(f)].add(f)
    projects = {root: _Project(fs) for root, fs in groups.items()}
    no_fields: list[Record] = []
    for d in docs:
        if d.fields:
            p = projects[find(d.fields[0])]
            (p.add_dated if d.audit_start else p.undated.append)(d)
        else:
            no_fields.append(d)
    if not projects:
        projects = {"": _Project(set())}
    plist = sorted(projects.values(), key=lambda p: min((e for e in p.events), default="9999"))
    loose: list[Record] = []
    for d in no_fields:      # no fields read: the project holding an audit that day
        same_day = [p for p in plist if d.audit_start and d.audit_start in p.events]
        if same_day:
            same_day[0].add_dated(d)
        elif d.audit_start and len(plist) == 1:
            plist[0].add_dated(d)
        else:
            loose.append(d)
    if not any(p.events for p in plist):          # nothing dated at all: one audit of unknown date
        plist[0].events["~"] = _Event(None)
    return [p for p in plist if p.events or p.undated], loose


_DECISIONS = (("不同意", "不同意注册"), ("暂停", "暂停"), ("撤销", "撤销"), ("补充", "补充材料"),
              ("保持认证", "保持认证资格"), ("同意", "同意注册"), ("批准", "同意注册"))


def _decision(doc: Record, pages: list[str]) -> dict[str, Any]:
    text = "\n".join(pages)
    body = text.split("评定意见", 1)[-1]
    outcome = next((label for word, label in _DECISIONS if word in body), None)
    m = re.search(r"(?:决定日期|评定日期|批准日期|日期)\s*[:：]?\s*(.{6,12})", body)
    day = find_dates(m.group(1)) if m else []
    return {"doc_id": doc.id, "outcome": outcome, "date": day[0].isoformat() if day else None,
            "cert_nos": doc.cert_nos}


def _audit(e: _Event, rules: dict[str, Any], team_of, finds_of, texts) -> Audit:
    stage = e.stage
    docs = sorted(e.docs, key=lambda d: (_TYPE_ORDER.get(d.doc_type, 99), d.path))
    team: dict[str, dict[str, Any]] = {}
    for d in docs:
        for a in team_of.get(d.id, []):          # one person once, whatever each form printed
            known = team.setdefault(a["name"], dict(a))
            known["role"] = known["role"] or a["role"]
            known["reg_no"] = known["reg_no"] or a["reg_no"]
    findings = _findings(docs, finds_of)
    decision = next((_decision(d, texts.get(d.id, [])) for d in docs if d.doc_type == "decision"), None)
    certificates = [{"doc_id": d.id, "cert_nos": d.cert_nos, "fields": d.fields,
                     "issue_date": d.issue_date, "expiry_date": d.expiry_date, "scope": d.scope}
                    for d in docs if d.doc_type == "certificate"]
    present = {d.doc_type for d in docs}
    required = list(rules.get("required", {}).get(stage, [])) if stage else []
    signalled = any(_NC_REF.search(p) for d in docs if d.doc_type == "checklist" for p in texts.get(d.id, []))
    if signalled or any(f["severity"] for f in findings):
        required += [t for t in rules.get("required_when_findings", []) if t not in required]
    recommended = rules.get("recommended", {}).get(stage, []) if stage else []
    return Audit(
        stage=stage, start=e.start, end=e.end, documents=[d.brief() for d in docs],
        team=[{k: a[k] for k in ("name", "role", "reg_no")} for a in team.values()],
        findings=findings, decision=decision, certificates=certificates, required=required,
        missing=[t for t in required if t not in present],
        missing_recommended=[t for t in recommended if t not in present],
        stage_name=rules.get("stages", {}).get(stage) if stage else None)


_NC_REF = re.compile(r"不符合\s*[,，]?\s*见\s*NC")      # a checklist verdict pointing at an NCR
_TYPE_ORDER = {t: i for i, t in enumerate((
    "application", "contract_review", "other", "audit_programme", "document_review", "audit_notice",
    "audit_plan", "attendance", "checklist", "ncr", "observation", "audit_report", "decision",
    "certificate"))}


def _findings(docs: list[Record], finds_of) -> list[dict[str, Any]]:
    """The audit's findings once each: NCR and observation forms first, then report tables."""
    out: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for d in sorted(docs, key=lambda d: d.doc_type not in ("ncr", "observation")):
        for f in finds_of.get(d.id, []):
            key = (f["clause"], f["field"], re.sub(r"\W", "", f["statement"] or "")[:30])
            loose = (f["clause"], re.sub(r"\W", "", f["statement"] or "")[:30])
            if key in seen or loose in {(k[0], k[2]) for k in seen}:
                continue
            seen.add(key)
            out.append({**f, "doc_id": d.id,
                        "kind": "observation" if d.doc_type == "observation" or not f["severity"]
                        else "nonconformity"})
    return out


def _codes(docs: list[Record]) -> tuple[list[str], str | None]:
    """The project's codes in this cycle: those most documents print, in the table they print."""
    tables = Counter(d.code_table for d in docs if d.codes and d.code_table in ("2020", "legacy"))
    table = tables.most_common(1)[0][0] if tables else None
    counts: Counter[str] = Counter()
    for d in docs:
        if d.codes and (table is None or d.code_table in (table, "ambiguous")):
            counts.update(dict.fromkeys(d.codes, 1))
    return [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))], table


_SCOPE_PREFERENCE = ("audit_report", "audit_plan", "decision", "certificate", "application",
                     "contract_review", "audit_programme")


def _scope(docs: list[Record]) -> str | None:
    from .scopes import clean_scope

    for t in _SCOPE_PREFERENCE:
        found = Counter(s for d in docs if d.doc_type == t and (s := clean_scope(d.scope)))
        if found:
            return found.most_common(1)[0][0]
    return None
