"""Generate a deterministic sample audit archive (documents in the formats bodies file + truth.json).

    python -m corpus.generate --out DIR [--seed N] [--orgs N] [--no-broken] [--scanned SHARE] [--pdf-only]

`generate()` simulates a certification body's clients (corpus.world), prints every record of their
audits with varied forms (corpus.templates), files them the way archives are filed (mostly
`年份-企业全称-体系审核类型/03审核资料/序号审表名称-企业全称.pdf`, some carelessly), adds broken
files, scans a share of the documents (`corpus.scan`: all their pages, or only the last, signed
one), files some documents in other formats (`corpus.formats`: Word .docx, Word XML and binary
.doc, phone photos, an OFD certificate; one project folder zipped with GBK names), and writes
`truth.json`: what each document states, in the shape of the document object, with `format` (what
the reader's content sniffing names it) and `pages` (as that reader counts them); under `scans` what
each scanned page or photo showed; under `archives` the zipped folder, whose documents are keyed
`<zip path>/<member path>`.
Same seed, same bytes: only `random.Random` instances seeded from the seed are used (LibreOffice's
binary .doc files aside: they carry its time stamps).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

from reportlab.lib.pdfencrypt import StandardEncryption

from . import names
from .formats import Converter, Entry, render_tracked, zip_folder
from .render import ensure_font, render
from .scan import scan_pdf
from .templates import TEMPLATES, Ctx, Doc
from .wording import FIELD_LETTER_SHORT
from .world import Audit, World, simulate

GENERATOR_VERSION = 3            # 2: scanned documents; 3: other formats (corpus.formats), a zipped folder
SCANNED_SHARE = 0.04             # documents scanned (OCR costs seconds a page: keep it modest)
PARTLY_SCANNED = 0.35            # of those with several pages: only the last (signed) page

# Records every audit file must hold (others appear with the probabilities below); an audit with
# nonconformities must also hold its NCRs. `missing` in the truth lists what was left out of these.
REQUIRED: dict[str, tuple[str, ...]] = {
    "stage1": ("application", "audit_plan", "audit_report"),
    "stage2": ("audit_plan", "audit_report", "certificate"),
    "surveillance1": ("audit_report",),
    "surveillance2": ("audit_report",),
    "recertification": ("application", "audit_report", "certificate"),
}
OPTIONAL: dict[str, dict[str, float]] = {
    "stage1": {"contract_review": 0.4, "audit_programme": 0.2, "audit_notice": 0.15, "document_review": 0.25,
               "attendance": 0.1, "other": 0.2},
    "stage2": {"decision": 0.45, "audit_programme": 0.05, "audit_notice": 0.15, "checklist": 0.3,
               "attendance": 0.12},
    "surveillance1": {"audit_plan": 0.45, "audit_programme": 0.05, "audit_notice": 0.12, "checklist": 0.2,
                      "attendance": 0.06, "decision": 0.1},
    "surveillance2": {"audit_plan": 0.45, "audit_programme": 0.05, "audit_notice": 0.12, "checklist": 0.2,
                      "attendance": 0.06, "decision": 0.1},
    "recertification": {"audit_plan": 0.6, "decision": 0.5, "contract_review": 0.3, "audit_programme": 0.2,
                        "audit_notice": 0.12, "document_review": 0.2, "checklist": 0.25, "attendance": 0.1,
                        "other": 0.2},
}
# Order of records in a file, and their names in file names
DOC_ORDER = ("application", "contract_review", "other", "audit_programme", "document_review", "audit_notice",
             "audit_plan", "attendance", "checklist", "ncr", "observation", "audit_report", "decision",
             "certificate")
DOC_NAMES = {
    "application": ("认证申请书", "申请书"), "contract_review": ("申请评审表", "合同评审表"),
    "audit_programme": ("审核方案", "审核任务书"), "audit_notice": ("审核通知书", "审核通知"),
    "audit_plan": ("审核计划", "审核计划表"), "checklist": ("审核检查表", "检查单"),
    "attendance": ("会议签到表", "首末次会议签到表"), "document_review": ("文件审核报告", "文件审查"),
    "ncr": ("不符合报告", "不符合项"), "observation": ("观察项报告", "观察项"),
    "audit_report": ("审核报告", "审核报告"), "decision": ("认证决定", "技术委员会评定"),
    "certificate": ("证书", "认证证书"), "other": ("其他", "附件"),
}
OTHER_NAMES = {"licence": "营业执照", "pledge": "保密承诺书", "mandays": "人日确认单"}
TRAD_TYPES = {"hk": {"application", "audit_plan", "checklist", "attendance", "ncr", "observation",
                     "audit_report"},
              "tw": {"application", "audit_report"}}
STAGE_FOLDER = {"stage1": "初审", "stage2": "初审", "surveillance1": "监一", "surveillance2": "监二",
                "recertification": "再认证"}


def _days(d: dt.date, lo: int, hi: int, rng: random.Random) -> dt.date:
    return d + dt.timedelta(days=rng.randint(lo, hi))


def _doc_date(rng: random.Random, a: Audit, doc_type: str, variant: str | None) -> dt.date:
    if doc_type == "application":
        return a.app_date
    if doc_type == "contract_review":
        return _days(a.app_date, 3, 8, rng)
    if doc_type == "audit_programme":
        return _days(a.app_date, 8, 15, rng) if variant == "cycle" else _days(a.start, -20, -10, rng)
    if doc_type == "audit_notice":
        return _days(a.start, -15, -7, rng)
    if doc_type == "audit_plan":
        return _days(a.start, -10, -3, rng)
    if doc_type == "document_review":
        return _days(a.start, -10, -2, rng) if a.stage == "stage1" else _days(a.start, -15, -5, rng)
    if doc_type == "audit_report":
        return _days(a.end, 0, 3, rng)
    if doc_type == "decision":
        return a.decision_date or _days(a.end, 10, 30, rng)
    if doc_type == "other":
        return a.app_date if variant in ("licence", "mandays") and a.app_date else a.start
    return a.start


def _field_abbr(fields: list[str]) -> str:
    if fields == ["SERVICE"]:
        return "售后服务"
    if fields == ["QMS", "EMS", "OHSMS"]:
        return "QES"
    if len(fields) == 1 and fields[0] in ("FSMS", "ISMS"):
        return fields[0]
    return "".join(FIELD_LETTER_SHORT[f] for f in fields)


class Filer:
    """Chooses where each record lands: tidy archive folders for most, a mess for a few."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.scan_no = rng.randint(1, 40)
        self.org_style: dict[str, int] = {}
        self.org_sub: dict[str, bool] = {}

    def _unique(self, path: str) -> str:
        if path not in self.used:
            self.used.add(path)
            return path
        stem, ext = path.rsplit(".", 1)
        k = 2
        while f"{stem}（{k}）.{ext}" in self.used:
            k += 1
        path = f"{stem}（{k}）.{ext}"
        self.used.add(path)
        return path

    def folder(self, a: Audit) -> str:
        org = a.org
        style = self.org_style.setdefault(org.id, self.rng.choice([0, 0, 0, 1, 2]))
        first = a
        if a.stage == "stage2":
            first = next((x for x in a.programme.audits if x.stage == "stage1"), a)
        year = first.start.year
        abbr, kind = _field_abbr(a.fields), STAGE_FOLDER[a.stage]
        if style == 0:
            return f"{year}-{org.name}-{abbr}{kind}"
        if style == 1:
            return f"{year}年/{org.name}/{abbr}{kind}"
        return f"{org.name}/{year}{kind}（{abbr}）"

    def path(self, a: Audit, doc_type: str, variant: str | None, k: int | None) -> str:
        rng, org = self.rng, a.org
        name = DOC_NAMES[doc_type][rng.randrange(2)] if doc_type != "other" else OTHER_NAMES[variant or "licence"]
        if k is not None:
            name += str(k)
        if org.messy or rng.random() < 0.04:
            r = rng.random()
            if r < 0.4:
                self.scan_no += rng.randint(1, 3)
                return self._unique(f"扫描件/{org.short_name}/scan_{self.scan_no:04d}.pdf")
            if r < 0.7:
                return self._unique(f"未整理/{org.short_name}{a.start.year}/{name}.pdf")
            return self._unique(f"未整理/IMG_{a.start.strftime('%Y%m%d')}_{rng.randint(1000, 9999)}.pdf")
        folder = self.folder(a)
        sub = self.org_sub.setdefault(org.id, rng.random() < 0.5)
        if a.stage in ("stage1", "stage2"):
            if sub:
                folder += "/03审核资料/" + ("一阶段" if a.stage == "stage1" else "二阶段")
            else:
                name = ("一阶段" if a.stage == "stage1" else "二阶段") + name
        if a.stage in ("stage1", "stage2") and sub:
            pass
        elif doc_type == "other":
            folder += "/02企业资质" if variant == "licence" else "/04其他证明"
        elif doc_type == "certificate":
            folder += "/04其他证明"
        else:
            folder += "/03审核资料"
        seq = DOC_ORDER.index(doc_type) + 1
        style = self.org_style[org.id]
        if style == 0:
            fname = f"{seq:02d}{name}-{org.name}.pdf"
        elif style == 1:
            fname = f"{seq}.{name}（{org.short_name}）.pdf"
        else:
            fname = f"表{seq}{name}{org.name}.pdf"
        return self._unique(f"{folder}/{fname}")


def _plan(rng: random.Random, a: Audit) -> tuple[list[tuple[str, str | None, list]], list[str]]:
    """The records of one audit as (doc_type, variant, items) and the required ones left out."""
    wanted: list[tuple[str, str | None, list]] = []
    for t in REQUIRED[a.stage]:
        wanted.append((t, None, []))
    for t, p in OPTIONAL[a.stage].items():
        if rng.random() < p:
            wanted.append((t, None, []))
    missing: list[str] = []
    if rng.random() < 0.1:
        t = rng.choice(REQUIRED[a.stage])
        rest = [w for w in wanted if w[0] != t]
        if rest:                               # an audit file with a record missing, never an empty one
            wanted = rest
            missing.append(t)
    out: list[tuple[str, str | None, list]] = []
    for t, _, _ in wanted:
        if t == "audit_programme":
            variant = rng.choice(["cycle", "cycle", "task"]) if a.stage in ("stage1", "recertification") else "task"
            out.append((t, variant, []))
        elif t == "other":
            choices = ["licence", "licence", "pledge", "mandays"] if a.stage == "stage1" else ["pledge", "mandays"]
            out.append((t, rng.choice(choices), []))
        elif t == "certificate":
            certs = a.certs_issued
            if len(certs) > 1 and rng.random() < 0.6:
                out.append((t, None, list(certs)))
            else:
                out.extend((t, None, [c]) for c in certs)
        else:
            out.append((t, None, []))
    ncrs = [f for f in a.findings if not f.observation]
    obs = [f for f in a.findings if f.observation]
    if ncrs:
        if rng.random() < 0.9:
            if len(ncrs) > 1 and rng.random() < 0.85:
                out.append(("ncr", None, ncrs))
            else:
                out.extend(("ncr", None, [f]) for f in ncrs)
        else:
            missing.append("ncr")
    if obs and rng.random() < 0.5:
        if len(obs) > 1 and rng.random() < 0.5:
            out.append(("observation", None, obs))
        else:
            out.extend(("observation", None, [f]) for f in obs)
    out.sort(key=lambda w: DOC_ORDER.index(w[0]))
    return out, sorted(missing, key=DOC_ORDER.index)


def _make(world: World, a: Audit, seed: int, key: str, doc_type: str, variant: str | None,
          items: list) -> Doc:
    rng = random.Random(f"{seed}:{key}")
    org = a.org
    trad = org.trad if org.trad and doc_type in TRAD_TYPES[org.trad] else None
    date = items[0].issued if doc_type == "certificate" else _doc_date(rng, a, doc_type, variant)
    ctx = Ctx(rng, world, org, a.programme, a, date, trad, variant=variant)
    if doc_type in ("ncr", "observation"):
        ctx.findings = items
    if doc_type == "certificate":
        ctx.certs = items
    return TEMPLATES[doc_type](ctx)


def _scan_rng(rel: str, seed: int, share: float) -> random.Random | None:
    """Whether the document at `rel` is scanned (probability `share`): the generator that scans it."""
    rng = random.Random(f"{seed}:scan:{rel}")
    return rng if rng.random() < share else None


def _scan(path: Path, pages: int, rng: random.Random) -> list[dict]:
    """Scan the document at `path`: what each scanned page showed."""
    chosen = [pages] if pages > 1 and rng.random() < PARTLY_SCANNED else None
    return [p.to_dict() for p in scan_pdf(path, rng, chosen)]


def generate(out_dir: Path, seed: int = 20261121, n_orgs: int = 32, broken: bool = True,
             scanned: float = SCANNED_SHARE, formats: bool = True) -> dict:
    """Write the sample archive into `out_dir` and return its truth (also in `out_dir/truth.json`).
    `scanned`: the share of documents replaced by scans of themselves (0: nothing needs OCR, no photos
    either); `formats`: file some documents in other formats and zip one project folder (False: PDFs
    only)."""
    ensure_font()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    world = simulate(seed, n_orgs)
    plan_rng = random.Random(f"{seed}:plan")
    filer = Filer(random.Random(f"{seed}:files"))
    documents: dict[str, dict] = {}
    scans: dict[str, list[dict]] = {}
    made: list[tuple[str, Audit, str, str, str | None, list]] = []
    converter = Converter(out_dir, seed, n_orgs, photos=scanned > 0) if formats else None
    for a in world.audits:
        plan, a.missing = _plan(plan_rng, a)
        for i, (doc_type, variant, items) in enumerate(plan):
            k = None
            if doc_type in ("ncr", "observation", "certificate"):
                same = [p for p in plan if p[0] == doc_type]
                k = same.index((doc_type, variant, items)) + 1 if len(same) > 1 else None
            rel = filer.path(a, doc_type, variant, k)
            key = f"{a.id}:{i}:{doc_type}"
            doc = _make(world, a, seed, key, doc_type, variant, items)
            path = out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            scan_rng = _scan_rng(rel, seed, scanned)
            rendition = render_tracked(path, doc.story, doc.layout)
            documents[rel] = doc.truth.to_dict(rendition.pages)
            documents[rel]["format"] = "pdf"
            if scan_rng:
                scans[rel] = _scan(path, rendition.pages, scan_rng)
                documents[rel]["ocr_pages"] = len(scans[rel])
            if converter:
                author = a.team[0][0].name if doc.truth.auditors else world.body_staff[0]
                converter.add(Entry(rel, doc.story, doc.layout, documents[rel], rendition, scan_rng is not None,
                                    author, names.BODY_NAME, _saved_on(doc.truth, a)))
            a.documents.append(rel)
            made.append((rel, a, key, doc_type, variant, items))
    broken_files = _broken(out_dir, world, seed, made, filer) if broken else {}
    archives: dict[str, dict] = {}
    if converter:
        renames = converter.write(documents, scans)
        for a in world.audits:
            a.documents = [renames.get(rel, rel) for rel in a.documents]
        archives = _zip_one(out_dir, world, seed, filer, documents, scans, broken_files)
    truth = {
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "documents": dict(sorted(documents.items())),
        "broken": dict(sorted(broken_files.items())),
        "scans": dict(sorted(scans.items())),
        "archives": archives,
        "orgs": [{"id": o.id, "name": o.name, "short_name": o.short_name, "credit_code": o.credit_code,
                  "address": o.address, "staff": o.staff, "codes": list(o.codes), "fields": list(o.fields)}
                 for o in world.orgs],
        "auditors": [{"name": p.name, "reg_no": p.reg_no, "fields": list(p.fields), "codes": list(p.codes)}
                     for p in world.auditors + world.experts],
        "certificates": [{"cert_no": c.cert_no, "org_id": c.org.id, "fields": [c.field],
                          "codes": c.org.codes_on(c.issued)[0], "scope": c.scope,
                          "issued": c.issued.isoformat(), "expires": c.expires.isoformat(), "cycle": c.cycle}
                         for c in world.certificates],
        "audits": [{"id": a.id, "org_id": a.org.id, "cycle": a.cycle, "fields": list(a.fields),
                    "stage": a.stage, "start": a.start.isoformat(), "end": a.end.isoformat(),
                    "team": [{"name": p.name, "role": r, "reg_no": p.reg_no} for p, r in a.team],
                    "cert_nos": [c.cert_no for c in a.all_certs], "documents": list(a.documents),
                    "missing": list(a.missing)}
                   for a in world.audits],
    }
    (out_dir / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n",
                                        encoding="utf-8")
    return truth


def _saved_on(truth, a: Audit) -> dt.date:
    """The day a document was last saved: when it was issued or the audit ended."""
    return truth.issue_date or truth.audit_end or a.end


def _zip_one(out_dir: Path, world: World, seed: int, filer: Filer, documents: dict[str, dict],
             scans: dict[str, list[dict]], broken: dict[str, str]) -> dict[str, dict]:
    """Zip one audit's project folder as auditors hand it in (`年份-企业全称-体系+审核类型.zip`), names
    in GBK; its documents' truth moves to `<zip path>/<member path>`. Returns truth's `archives`.
    The folder is chosen whether or not broken files were made (so `broken=False` changes nothing
    else); a broken file that landed in it is left beside the zip, as a stray copy."""
    rng = random.Random(f"{seed}:zip")
    folders: dict[str, Audit] = {}
    for a in world.audits:
        folder = filer.folder(a)
        inside = [rel for rel in a.documents if rel.startswith(folder + "/")]
        if inside and (out_dir / folder).is_dir():
            folders.setdefault(folder, a)
    tidy = [f for f in sorted(folders) if "/" not in f] or sorted(folders)
    usable = []
    for f in tidy:
        try:
            f.encode("gbk")
            names_ok = all(p.relative_to(out_dir).as_posix().encode("gbk") for p in (out_dir / f).rglob("*"))
        except UnicodeEncodeError:
            names_ok = False
        if names_ok:
            usable.append(f)
    if not usable:
        return {}
    # a whole project, not a stub; one whose scans and photos stay files of their own if there is one
    # (what needs OCR is what the OCR tests and benchmarks pick from truth's `scans`)
    unscanned = [f for f in usable if not any(rel.startswith(f + "/") for rel in scans)] or usable
    size = {f: sum(1 for rel in documents if rel.startswith(f + "/")) for f in unscanned}
    big = [f for f in unscanned if 2 * size[f] >= max(size.values())]
    folder = rng.choice(sorted(big, key=lambda f: (-size[f], f))[:3])
    parent = folder.rsplit("/", 1)[0] + "/" if "/" in folder else ""
    for rel in [rel for rel in broken if rel.startswith(folder + "/")]:
        moved = filer._unique(parent + rel.rsplit("/", 1)[1])
        (out_dir / rel).rename(out_dir / moved)
        broken[moved] = broken.pop(rel)
    a = folders[folder]
    when = dt.datetime.combine(a.end, dt.time(rng.randint(9, 17), rng.randint(0, 59)))
    zip_rel, keys = zip_folder(out_dir, folder, when + dt.timedelta(days=rng.randint(1, 20)))
    for old, new in keys.items():
        if old in documents:
            documents[new] = documents.pop(old)
        if old in scans:
            scans[new] = scans.pop(old)
    for au in world.audits:
        au.documents = [keys.get(rel, rel) for rel in au.documents]
    members = sorted(new for new in keys.values())
    return {zip_rel: {"format": "zip", "folder": folder, "name_encoding": "gbk", "utf8_flag": False,
                      "documents": [m for m in members if m in documents]}}


def _broken(out_dir: Path, world: World, seed: int, made: list, filer: Filer) -> dict[str, str]:
    """Files an archive also holds: empty, cut off, not a PDF at all, or locked with a password."""
    rng = random.Random(f"{seed}:broken")
    n = 2 if len(world.orgs) >= 16 else 1
    out: dict[str, str] = {}

    def place(rel: str) -> str:
        return filer._unique(rel)

    for _ in range(n):                                     # zero bytes
        filer.scan_no += rng.randint(1, 5)
        rel = place(f"扫描件/scan_{filer.scan_no:04d}.pdf")
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / rel).write_bytes(b"")
        out[rel] = "empty"
    for _ in range(n):                                     # first half of a real file
        src, a, *_ = rng.choice(made)
        rel = place(src.rsplit(".", 1)[0] + "(副本).pdf")
        data = (out_dir / src).read_bytes()
        (out_dir / rel).write_bytes(data[: len(data) // 2])
        out[rel] = "truncated"
    for i in range(n):                                     # HTML or text saved as .pdf
        src, a, *_ = rng.choice(made)
        rel = place(f"下载/{a.org.short_name}{rng.choice(['审核报告', '证书', '审核计划'])}.pdf")
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        if i % 2 == 0:
            body = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>文件下载失败</title></head>\n"
                    "<body><h1>404 Not Found</h1><p>您访问的文件不存在或已被删除。</p></body></html>\n")
        else:
            body = f"审核资料清单\n{a.org.name}\n1. 审核计划\n2. 审核报告\n（此文件为文本文件，误存为PDF）\n"
        (out_dir / rel).write_text(body, encoding="utf-8")
        out[rel] = "not_pdf"
    for _ in range(n):                                     # needs a user password
        rel_src, a, key, doc_type, variant, items = rng.choice(made)
        doc = _make(world, a, seed, key, doc_type, variant, items)
        rel = place(rel_src.rsplit(".", 1)[0] + "（签章版）.pdf")
        enc = StandardEncryption(userPassword=f"hz{rng.randint(1000, 9999)}", ownerPassword="hzuc-owner",
                                 canPrint=1, canModify=0, canCopy=0, canAnnotate=0, strength=128)
        render(out_dir / rel, doc.story, doc.layout, encrypt=enc)
        out[rel] = "encrypted"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m corpus.generate", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--orgs", type=int, default=32, help="number of organisations")
    ap.add_argument("--no-broken", action="store_true", help="leave out the broken files")
    ap.add_argument("--scanned", type=float, default=SCANNED_SHARE, metavar="SHARE",
                    help=f"share of documents scanned (default {SCANNED_SHARE})")
    ap.add_argument("--pdf-only", action="store_true", help="every document a PDF, no zipped folder")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    truth = generate(args.out, seed=args.seed, n_orgs=args.orgs, broken=not args.no_broken,
                     scanned=args.scanned, formats=not args.pdf_only)
    docs = truth["documents"]
    pdfs = [d for d in docs.values() if d["format"] == "pdf"]
    pages = sum(d["pages"] for d in pdfs)
    scanned = sum(len(s) for s in truth["scans"].values())
    others = Counter(d["format"] for d in docs.values() if d["format"] != "pdf")
    other = ", ".join(f"{fmt} {n}" for fmt, n in sorted(others.items()))
    print(f"{len(truth['orgs'])} orgs, {len(pdfs)} PDFs ({pages} pages), {sum(others.values())} other documents "
          f"({other or 'none'}), {len(truth['archives'])} zipped folders, {len(truth['scans'])} scanned or "
          f"photographed ({scanned} pages), {len(truth['broken'])} broken files, "
          f"{len(truth['audits'])} audits in {time.perf_counter() - t0:.1f} s → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
