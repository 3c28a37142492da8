"""The simulated world behind the archive: organisations, auditors, certification programmes,
audits, findings and certificates. Pure data, drawn from one seeded random generator."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from . import ids, names
from .industries import PROFILES, Profile
from .texts import NCR_TEMPLATES, OBS_TEMPLATES, Slots
from .wording import clause_key

END = dt.date(2025, 10, 31)        # no audit starts after it: decisions fall in 2025
MGMT_FIELDS = ("QMS", "EMS", "OHSMS", "FSMS", "ISMS")


@dataclass
class Org:
    id: str
    name: str
    short_name: str
    credit_code: str
    address: str
    postcode: str
    staff: int
    profile: Profile
    codes: list[str]              # 2020-table codes
    legacy_codes: list[str]       # the same activities in the legacy table
    risk: dict[str, int]          # risk sub-code per code (both tables)
    fields: list[str]
    scope: str
    service_scope: str
    people: list[str]             # legal representative first, then the contact, then staff
    suppliers: list[str]
    trad: str | None = None       # "hk" / "tw": some documents in traditional characters
    messy: bool = False           # files of this org are filed carelessly
    founded: dt.date | None = None
    programmes: list["Programme"] = field(default_factory=list)

    def codes_on(self, on: dt.date) -> tuple[list[str], str]:
        """The codes a document dated `on` prints, and the table they come from."""
        if on.year <= 2019:
            return list(dict.fromkeys(self.legacy_codes)), "legacy"
        return list(self.codes), "2020"

    @property
    def legal_rep(self) -> str:
        return self.people[0]

    @property
    def contact(self) -> str:
        return self.people[1]


@dataclass
class Auditor:
    name: str
    reg_no: str | None
    fields: list[str]
    profiles: list[str]
    codes: list[str]
    expert: bool = False


@dataclass
class Finding:
    clause: str
    field: str
    severity: str | None          # None for observations
    statement: str
    dept: str
    observation: bool = False


@dataclass
class Certificate:
    cert_no: str
    org: Org
    field: str
    issued: dt.date
    expires: dt.date
    first_issued: dt.date
    cycle: int
    scope: str
    grade: str | None = None      # service certification rating


@dataclass
class Audit:
    id: str
    org: Org
    programme: "Programme"
    cycle: int
    stage: str
    start: dt.date
    end: dt.date
    team: list[tuple[Auditor, str]]
    man_days: float
    findings: list[Finding] = field(default_factory=list)
    certs_before: list[Certificate] = field(default_factory=list)   # in force during the audit
    certs_issued: list[Certificate] = field(default_factory=list)   # issued on this audit's decision
    decision_date: dt.date | None = None
    app_date: dt.date | None = None
    documents: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def fields(self) -> list[str]:
        return self.programme.fields

    @property
    def all_certs(self) -> list[Certificate]:
        """The certificates this audit concerns: those in force, then those it led to."""
        return self.certs_before + [c for c in self.certs_issued if c not in self.certs_before]


@dataclass
class Programme:
    org: Org
    fields: list[str]
    serial: int
    audits: list[Audit] = field(default_factory=list)
    certs: list[Certificate] = field(default_factory=list)


@dataclass
class World:
    seed: int
    orgs: list[Org]
    auditors: list[Auditor]
    experts: list[Auditor]
    audits: list[Audit]
    certificates: list[Certificate]
    body_staff: list[str]


# -- organisations -------------------------------------------------------------------------------

def _weekday(d: dt.date, latest_start: int = 2) -> dt.date:
    """Move a date forward to a weekday no later than `latest_start` (0 = Monday)."""
    while d.weekday() > latest_start:
        d += dt.timedelta(days=1)
    return d


def _field_plan(rng: random.Random, i: int, profile: Profile) -> tuple[list[str], bool]:
    mgmt = list(rng.choice(profile.field_sets))
    service = profile.service and len(mgmt) < 3 and rng.random() < 0.35
    return mgmt, service


def make_orgs(rng: random.Random, n: int, used_names: set[str]) -> list[Org]:
    orgs: list[Org] = []
    profiles = list(PROFILES)
    rng.shuffle(profiles)
    # make sure every field turns up at small scale too: force a food, IT and construction org early
    first = [p for p in profiles if p.key in ("machining", "software", "food", "construction")]
    profiles = first + [p for p in profiles if p not in first]
    trade_names = list(names.TRADE_NAMES)
    rng.shuffle(trade_names)
    used_orgnames: set[str] = set()
    for i in range(n):
        profile = profiles[i % len(profiles)]
        city, province, districts, roads, postcode = rng.choice(names.CITIES)
        district, division = rng.choice(districts)
        trade = trade_names[i % len(trade_names)] + ("" if i < len(trade_names) else rng.choice("新鑫华"))
        word = rng.choice(profile.words)
        suffix = "股份有限公司" if rng.random() < 0.2 else "有限公司"
        style = rng.random()
        if style < 0.6:
            name = f"{city}{trade}{word}{suffix}"
        elif style < 0.8 and province:
            name = f"{province[:-1]}{trade}{word}{suffix}"
        else:
            name = f"{trade}{word}（{city}）{suffix}"
        if name in used_orgnames:
            name = f"{city}市{trade}{word}{suffix}"
        used_orgnames.add(name)
        short_name = trade + rng.choice([word[:2], "公司"])
        lo, hi = profile.staff
        staff = rng.randint(lo, hi)
        n_codes = rng.choice([1, 1, 2, 2, 3])
        pairs = profile.codes[:1] + tuple(rng.sample(profile.codes[1:], min(n_codes - 1, len(profile.codes) - 1)))
        codes = [a for a, _ in pairs]
        legacy = [b for _, b in pairs]
        risk = {c: rng.choice([1, 2, 2, 3]) for c in codes + legacy}
        mgmt, service = _field_plan(rng, i, profile)
        fields = mgmt + (["SERVICE"] if service else [])
        scope = rng.choice(profile.scopes)
        service_scope = f"{rng.choice(profile.products)}等产品的售后服务" if profile.service else ""
        address = (f"{province}{city}市{district}{rng.choice(roads)}{rng.randint(1, 999)}号"
                   if city not in ("北京", "上海", "天津") else
                   f"{city}市{district}{rng.choice(roads)}{rng.randint(1, 999)}号")
        if rng.random() < 0.3:
            address += f"{rng.randint(1, 12)}幢"
        people = [names.person_name(rng, used_names) for _ in range(6)]
        suppliers = [f"{rng.choice(['宁波', '苏州', '佛山', '无锡', '温州'])}{t}"
                     f"{rng.choice(['热处理', '物资', '包装材料', '环保科技', '五金'])}有限公司"
                     for t in rng.sample(names.OTHER_TRADE_NAMES, 3)]
        credit = ids.make_credit_code(rng, division, new_style=rng.random() < 0.6)
        orgs.append(Org(f"O{i + 1:02d}", name, short_name, credit, address, postcode, staff, profile,
                        codes, legacy, risk, fields, scope, service_scope, people, suppliers))
    # one organisation run from Hong Kong (traditional characters), and at scale one from Taiwan
    if n >= 4:
        orgs[3].trad = "hk"
    if n >= 18:
        orgs[17].trad = "tw"
    for org in orgs:
        org.messy = rng.random() < 0.15
    return orgs


# -- auditors ------------------------------------------------------------------------------------

AUDITOR_FIELD_SETS = (
    ("QMS", "EMS", "OHSMS"), ("QMS", "EMS", "OHSMS"), ("QMS", "EMS", "OHSMS", "SERVICE"),
    ("QMS",), ("QMS", "SERVICE"), ("QMS", "EMS"), ("EMS", "OHSMS"), ("QMS", "FSMS"), ("FSMS",),
    ("QMS", "ISMS"), ("ISMS",), ("QMS", "EMS", "OHSMS"), ("QMS", "SERVICE"), ("QMS", "OHSMS"),
    ("QMS", "EMS", "OHSMS", "FSMS"),
)


def make_auditors(rng: random.Random, used_names: set[str]) -> tuple[list[Auditor], list[Auditor]]:
    auditors = []
    keys = [p.key for p in PROFILES]
    for i, fields in enumerate(AUDITOR_FIELD_SETS):
        shape = i % 3
        primary = fields[0] if fields[0] != "SERVICE" else "QMS"
        reg = ids.make_reg_no(rng, primary, shape)
        if "FSMS" in fields:
            profs = ["food", "beverage"] + rng.sample(keys, 1)
        elif "ISMS" in fields:
            profs = ["software"] + rng.sample(keys, 1)
        else:
            profs = rng.sample(keys, rng.randint(2, 4))
        profs = list(dict.fromkeys(profs))
        codes = sorted({c for k in profs for c, _ in _profile(k).codes})
        auditors.append(Auditor(names.person_name(rng, used_names), reg, list(fields), profs, codes))
    experts = []
    for k in ("machining", "construction", "chemical", "electronics"):
        codes = sorted(c for c, _ in _profile(k).codes)
        experts.append(Auditor(names.person_name(rng, used_names), None, [], [k], codes, expert=True))
    return auditors, experts


def _profile(key: str) -> Profile:
    return next(p for p in PROFILES if p.key == key)


def _team(rng: random.Random, org: Org, fields: list[str], stage: str, auditors: list[Auditor],
          experts: list[Auditor], previous: list[tuple[Auditor, str]] | None) -> list[tuple[Auditor, str]]:
    full = [a for a in auditors if all(f in a.fields for f in fields)]
    if previous and rng.random() < 0.5 and previous[0][0] in full:
        leader = previous[0][0]
    else:
        # prefer leaders who know the industry
        knowing = [a for a in full if org.profile.key in a.profiles]
        leader = rng.choice(knowing if knowing and rng.random() < 0.7 else full)
    team = [(leader, "leader")]
    n_members = {"stage1": rng.choice([0, 0, 1]), "surveillance1": rng.choice([0, 1]),
                 "surveillance2": rng.choice([0, 1])}.get(stage, rng.choice([0, 1, 1, 2]))
    if len(fields) >= 3 and stage not in ("stage1",):
        n_members = max(n_members, 1)
    pool = [a for a in auditors if a is not leader and any(f in a.fields for f in fields)]
    for a in rng.sample(pool, min(n_members, len(pool))):
        team.append((a, "member"))
    covered = any(org.profile.key in a.profiles for a, _ in team)
    fitting = [e for e in experts if org.profile.key in e.profiles]
    if stage != "stage1" and fitting and (not covered or rng.random() < 0.1):
        team.append((rng.choice(fitting), "expert"))
    return team


def _man_days(staff: int, fields: list[str], stage: str) -> float:
    base = 1.5 if staff <= 45 else 2.5 if staff <= 125 else 3.5 if staff <= 425 else 5.0
    base *= 1 + 0.4 * (len(fields) - 1)
    share = {"stage1": 0.3, "stage2": 0.7, "surveillance1": 0.33, "surveillance2": 0.33,
             "recertification": 0.67}[stage]
    return max(1.0, round(base * share * 2) / 2)


def _findings(rng: random.Random, audit: Audit) -> list[Finding]:
    org = audit.org
    year0 = audit.start.year if audit.start.month >= 4 else audit.start.year - 1
    slots = Slots(org.profile, org.people[2:], org.suppliers, year0)
    n_ncr = {"stage1": 0, "stage2": rng.choice([0, 0, 1, 1, 2, 2, 3, 4]),
             "recertification": rng.choice([0, 1, 1, 2, 3])}.get(audit.stage, rng.choice([0, 0, 0, 1, 1, 2]))
    n_obs = 0 if audit.stage == "stage1" else rng.choice([0, 0, 0, 0, 1, 2])
    out: list[Finding] = []
    used: set[tuple[str, str]] = set()
    for k in range(n_ncr + n_obs):
        obs = k >= n_ncr
        fld = rng.choice(audit.fields)
        key = clause_key(fld, audit.start)
        table = (OBS_TEMPLATES if obs else NCR_TEMPLATES)[key]
        choices = [t for t in table if (fld, t[0]) not in used]
        if not choices:
            continue
        clause, template = rng.choice(choices)
        used.add((fld, clause))
        dept = rng.choice(org.profile.depts)
        severity = None if obs else ("major" if rng.random() < 0.1 else "minor")
        out.append(Finding(clause, fld, severity, slots.fill(rng, template, dept), dept, obs))
    return out


# -- programmes and audits -----------------------------------------------------------------------

def _add_days(d: dt.date, lo: int, hi: int, rng: random.Random) -> dt.date:
    return d + dt.timedelta(days=rng.randint(lo, hi))


def _plus_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:       # 29 February
        return d.replace(year=d.year + years, day=28)


def _audit_days(rng: random.Random, man_days: float, team_size: int) -> int:
    auditors = max(1, team_size)
    return max(1, min(4, round(man_days / auditors + rng.choice([-0.5, 0, 0, 0.5]))))


def simulate(seed: int, n_orgs: int) -> World:
    rng = random.Random(seed)
    used_names: set[str] = set()
    orgs = make_orgs(rng, n_orgs, used_names)
    auditors, experts = make_auditors(rng, used_names)
    body_staff = [names.person_name(rng, used_names) for _ in range(6)]
    audits: list[Audit] = []
    certificates: list[Certificate] = []
    serial = rng.randint(60, 300)
    start_years = (2016, 2017, 2017, 2018, 2018, 2018, 2019, 2019, 2019, 2020, 2020, 2021, 2021,
                   2022, 2022, 2023, 2023, 2024, 2024, 2024, 2025, 2025)
    for org in orgs:
        groups = [[f for f in org.fields if f != "SERVICE"]]
        if "SERVICE" in org.fields:
            groups.append(["SERVICE"])
        for g, fields in enumerate(groups):
            year = rng.choice(start_years)
            if "FSMS" in fields:
                year = max(year, 2019)
            if g == 1:          # service certification usually comes later
                year = min(2024, year + rng.randint(0, 3))
            start = dt.date(year, rng.randint(1, 12 if year < 2025 else 8), rng.randint(1, 28))
            serial += rng.randint(3, 40)
            prog = Programme(org, fields, serial)
            org.programmes.append(prog)
            _run_programme(rng, prog, start, auditors, experts, audits, certificates)
    for org in orgs:               # founded before its first audit; "MA" credit codes date from 2015 on
        first = min((a.start for p in org.programmes for a in p.audits), default=END)
        lo, hi = (2015, max(2015, first.year - 1)) if org.credit_code[8:10] == "MA" else (1995, 2014)
        org.founded = dt.date(rng.randint(lo, hi), rng.randint(1, 12), rng.randint(1, 28))
        if org.founded >= first:
            org.founded = first - dt.timedelta(days=rng.randint(200, 400))
    # ids in chronological order
    audits.sort(key=lambda a: (a.start, a.org.id, a.stage))
    for i, a in enumerate(audits):
        a.id = f"A{i + 1:03d}"
    return World(seed, orgs, auditors, experts, audits, certificates, body_staff)


def _run_programme(rng: random.Random, prog: Programme, start: dt.date, auditors, experts,
                   audits: list[Audit], certificates: list[Certificate]) -> None:
    org = prog.org
    stop_after = rng.choice([None, None, None, None, "stage2", "surveillance1", "surveillance1",
                             "surveillance2", "surveillance2"])
    cycles = rng.choice([1, 2, 2])
    if cycles == 2 and rng.random() < 0.5:
        stop_after = "recertification"        # moved to another body after recertification
    previous_team = None
    current: list[Certificate] = []
    first_issue: dt.date | None = None

    def audit(stage: str, cycle: int, on: dt.date) -> Audit | None:
        nonlocal previous_team
        on = _weekday(on)
        if on > END:
            return None
        team = _team(rng, org, prog.fields, stage, auditors, experts, previous_team)
        previous_team = team
        md = _man_days(org.staff, prog.fields, stage)
        days = _audit_days(rng, md, len([t for t in team if t[1] != "expert"]))
        if days == 4:
            on = on - dt.timedelta(days=on.weekday())       # a four-day audit starts on Monday
        a = Audit("", org, prog, cycle, stage, on, on + dt.timedelta(days=days - 1), team, md)
        a.certs_before = list(current)
        a.findings = _findings(rng, a)
        audits.append(a)
        prog.audits.append(a)
        return a

    def issue(a: Audit, cycle: int, expires: dt.date | None) -> None:
        nonlocal current, first_issue
        a.decision_date = _add_days(a.end, 8, 30, rng)
        issued = a.decision_date
        if first_issue is None:
            first_issue = issued
        exp = expires or (_plus_years(issued, 3) - dt.timedelta(days=1))
        dashed = issued.year <= 2019
        year = first_issue.year
        new = []
        for f in prog.fields:
            no = ids.make_cert_no(f, year, prog.serial, cycle - 1, org.staff, dashed)
            scope = _cert_scope(org, f)
            grade = None
            if f == "SERVICE":
                score = rng.randint(82, 98)
                from .industries import service_grade
                grade = service_grade(score)
            cert = Certificate(no, org, f, issued, exp, first_issue, cycle, scope, grade)
            new.append(cert)
        a.certs_issued = new
        prog.certs.extend(new)
        certificates.extend(new)
        current = new

    s1 = audit("stage1", 1, start)
    if s1 is None:
        return
    s1.app_date = s1.start - dt.timedelta(days=rng.randint(35, 75))
    s2 = audit("stage2", 1, _add_days(s1.end, 18, 50, rng))
    if s2 is None:
        return
    issue(s2, 1, None)
    if stop_after == "stage2":
        return
    base = current[0].issued
    expiry = current[0].expires
    for cycle in range(1, cycles + 1):
        if cycle == 2:
            r = audit("recertification", 2, expiry - dt.timedelta(days=rng.randint(55, 100)))
            if r is None:
                return
            r.app_date = r.start - dt.timedelta(days=rng.randint(30, 60))
            issue(r, 2, _plus_years(expiry, 3))
            if stop_after == "recertification":
                return
            base = expiry + dt.timedelta(days=1)
            expiry = current[0].expires
        a1 = audit("surveillance1", cycle, base + dt.timedelta(days=rng.randint(290, 340)))
        if a1 is None or stop_after == "surveillance1":
            return
        a2 = audit("surveillance2", cycle, base + dt.timedelta(days=rng.randint(650, 700)))
        if a2 is None or stop_after == "surveillance2":
            return


def _cert_scope(org: Org, f: str) -> str:
    if f == "SERVICE":
        return org.service_scope
    if f == "EMS":
        return f"{org.scope}所涉及场所的相关环境管理活动"
    if f == "OHSMS":
        return f"{org.scope}所涉及场所的相关职业健康安全管理活动"
    if f == "ISMS":
        return f"与{org.scope}相关的信息安全管理活动"
    return org.scope


def programme_scope(prog: Programme) -> str:
    """The scope wording forms other than certificates print for a programme."""
    return prog.org.service_scope if prog.fields == ["SERVICE"] else prog.org.scope
