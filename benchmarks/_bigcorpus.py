"""A large synthetic archive for the search benchmark: the sample generator's documents as text,
without PDFs, for as many organisations as it takes.

The generator (`corpus/`) simulates 32 client organisations per world (`corpus.world.simulate`),
plans each audit's records (`corpus.generate._plan`) and prints each record with its template
(`corpus.templates`), which builds a `corpus.render.Story` of pre-wrapped lines and tables. Here the
story is laid out into pages WITHOUT reportlab: lines and table rows are stacked into the A4 text
height the PDF would have (same leading, same page breaks), each page ends with the form's header
and footer lines (as PDFium reads them at the end of the page), and every page goes through
`archive.text.normalise`, as ingest stores it. The document object comes from the template's own
ground truth (`DocTruth.to_dict`), which has the shape of the catalogue's document.

Scaling beyond one world: world k is `simulate(seed_k, 32)`; its organisations are renamed with
trade names unique across the whole archive (the generator's pool holds 48), so names, learned
short names and `org:` filters behave as in a large archive (trade names do repeat across cities,
as in life). Person names and certificate serials repeat across worlds; nothing here depends on them.

Document size. The generator's records average ~1,080 characters (575 documents of the sample:
audit reports ~2,500, plans and checklists ~1,100, certificates ~500, sign-in sheets ~270). An
archive's PDFs are often several records scanned together; to reach the ~2,000 characters a document
the benchmark is specified at, consecutive records of one audit file are bound into one document
(a "bundle") until it holds `bundle_chars` characters; the bundle takes the document type, title,
stage and dates of its longest record, and the union of the others' fields, codes, certificates,
auditors and findings. `bundle_chars=0` gives one document per record.

Everything is drawn from seeded `random.Random` instances: the same (seed, N) gives the same
documents.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Iterator

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Spacer, Table

from archive.models import Document
from archive.text import normalise
from corpus import generate as cgen
from corpus import names as cnames
from corpus import render as crender
from corpus.render import FONT_NAME, Lines, ensure_font
from corpus.world import simulate

ORGS_PER_WORLD = 32
TOP, BOTTOM = 18 * mm, 16 * mm

# Trade names (字号) unique across the archive: two characters of the kind Chinese firms choose.
_FIRST = "恒华金宏鑫永德博泰瑞中天嘉振新明海立旭正汇昊安精凯三广盛卓晟宇禾信东远兆润鼎锦启银康益佳同" \
         "聚科通达福隆丰源联创兴业荣昌"
_SECOND = "达锐诚远盛固润创和丰联成禾华光辉纳信日源通天捷工瑞力益世盈越泰通升航丰泽程明图河达民和创" \
          "宝利安邦威林峰翔宇凌亿嘉森茂"


def _trade_pool(rng: random.Random) -> list[str]:
    first = [c for c in dict.fromkeys(_FIRST) if "\u4e00" <= c <= "\u9fff"]
    second = [c for c in dict.fromkeys(_SECOND) if "\u4e00" <= c <= "\u9fff"]
    pool = [a + b for a in first for b in second if a != b]
    rng.shuffle(pool)
    return list(cnames.TRADE_NAMES) + [t for t in pool if t not in cnames.TRADE_NAMES]


@dataclass
class Record:
    """One generated document: the catalogue's document object and its page texts."""

    doc: Document
    pages: list[str]

    @property
    def chars(self) -> int:
        return sum(len(p) for p in self.pages)

    def page_dicts(self) -> list[dict]:
        return [{"number": i, "text": t, "has_text": 1, "has_images": 0, "ocr": 0, "ocr_confidence": None}
                for i, t in enumerate(self.pages, 1)]


# -- fast line widths --------------------------------------------------------------------------------

class _Widths(dict):
    """Character → advance width of the PDF font, filled on first use."""

    def __init__(self, face):
        super().__init__()
        self.get_width, self.default = face.charWidths.get, face.defaultWidth

    def __missing__(self, ch: str):
        w = self[ch] = self.get_width(ord(ch), self.default)
        return w


def _install_fast_widths() -> None:
    """Replace `corpus.render.text_width` in this process by the same sum over a per-character table
    (reportlab computes it in a Python generator: 80% of generation time). Same widths, same sums in
    the same order, so the same line breaks; nothing in corpus/ is changed on disk."""
    from reportlab.pdfbase import pdfmetrics

    ensure_font()
    widths = _Widths(pdfmetrics.getFont(FONT_NAME).face)

    def text_width(text: str, size: float) -> float:
        return 0.001 * size * sum(map(widths.__getitem__, text))
    crender.text_width = text_width


# -- laying a story out into pages of text ---------------------------------------------------------

def story_pages(story, layout) -> list[str]:
    """The page texts a PDF of `story` would give: lines and table rows stacked into the page height,
    header and footer at the end of each page, `archive.text.normalise` applied."""
    height = (landscape(A4) if layout.landscape else A4)[1] - TOP - BOTTOM
    pages: list[list[str]] = [[]]
    used = 0.0

    def room(h: float) -> None:
        nonlocal used
        if used + h > height and pages[-1]:
            pages.append([])
            used = 0.0
        used += h

    for item in story.items:
        if isinstance(item, PageBreak):
            if pages[-1]:
                pages.append([])
                used = 0.0
        elif isinstance(item, Spacer):
            used += item.height
        elif isinstance(item, Lines):
            for line in item.lines:
                room(item.leading)
                pages[-1].append(line)
        elif isinstance(item, Table):
            for row in item._cellvalues:
                cells = [c for c in row if c]
                n = max((c.count("\n") + 1 for c in cells), default=1)
                room(n * 9.5 * 1.35 + 6)
                if cells:
                    pages[-1].append(" ".join(c.replace("\n", "") for c in cells))
    if not pages[-1] and len(pages) > 1:
        pages.pop()
    total = len(pages)
    head = " ".join(story.conv(h) for h in (layout.header_left, layout.header_right) if h)
    out = []
    for p, lines in enumerate(pages, 1):
        if head:
            lines = lines + [head]
        if layout.footer:
            lines = lines + [story.conv(layout.footer.format(p=p, n=total))]
        out.append(normalise("\n".join(lines)))
    return out


# -- documents -------------------------------------------------------------------------------------

def _doc_id(seed: int, key: str) -> str:
    return hashlib.sha256(f"bench:{seed}:{key}".encode()).hexdigest()


def _merge(parts: list[tuple[dict, list[str], str]], seed: int) -> Record:
    """A bundle of records of one audit file as one document (see the module docstring)."""
    main_i = max(range(len(parts)), key=lambda i: sum(len(p) for p in parts[i][1]))
    base = dict(parts[main_i][0])
    pages = [p for _, ps, _ in parts for p in ps]
    for i, (truth, _, _) in enumerate(parts):
        if i == main_i:
            continue
        for key in ("fields", "codes", "cert_nos"):
            base[key] = list(dict.fromkeys(base[key] + truth[key]))
        names = {a["name"] for a in base["auditors"]}
        base["auditors"] = base["auditors"] + [a for a in truth["auditors"] if a["name"] not in names]
        base["findings"] = base["findings"] + truth["findings"]
        for key in ("code_table", "scope", "stage", "audit_start", "audit_end", "issue_date", "expiry_date"):
            base[key] = base[key] or truth[key]
        if not base["org"]["name"]:
            base["org"] = truth["org"]
    base["fields"] = sorted(base["fields"])
    base["cert_no"] = base["cert_nos"][0] if base["cert_nos"] else None
    path = parts[main_i][2]
    base.update(id=_doc_id(seed, path), path=path, filename=path.rsplit("/", 1)[-1], pages=len(pages))
    return Record(Document.from_dict(base), pages)


class _Renamer:
    """Gives each organisation a full name no earlier organisation has: the next trade names of the
    pool in turn, the pool reused once it runs out (the same 字号 then recurs in other cities and
    trades, as it does in life)."""

    def __init__(self, pool: list[str]):
        self.pool, self.at, self.used = pool, 0, set()

    def __call__(self, world) -> None:
        for org in world.orgs:
            old = org.short_name[:2]
            for step in range(len(self.pool)):
                trade = self.pool[(self.at + step) % len(self.pool)]
                name = org.name.replace(old, trade, 1)
                if name not in self.used:
                    break
            else:
                raise RuntimeError(f"no unused organisation name left for {org.name}")
            self.at = (self.at + step + 1) % len(self.pool)
            self.used.add(name)
            org.name = name
            org.short_name = trade + org.short_name[2:]


def documents(n: int, seed: int = 20261121, bundle_chars: int = 1500) -> Iterator[Record]:
    """`n` documents of a deterministic archive (see the module docstring)."""
    _install_fast_widths()             # the templates wrap lines with the PDF font's metrics
    rename = _Renamer(_trade_pool(random.Random(f"{seed}:trades")))
    made = 0
    world_no = 0
    while made < n:
        wseed = int(hashlib.sha256(f"{seed}:world:{world_no}".encode()).hexdigest()[:12], 16)
        world = simulate(wseed, ORGS_PER_WORLD)
        rename(world)
        plan_rng = random.Random(f"{wseed}:plan")
        filer = cgen.Filer(random.Random(f"{wseed}:files"))
        for a in world.audits:
            plan, a.missing = cgen._plan(plan_rng, a)
            bundle: list[tuple[dict, list[str], str]] = []
            chars = 0
            for i, (doc_type, variant, items) in enumerate(plan):
                k = None
                if doc_type in ("ncr", "observation", "certificate"):
                    same = [p for p in plan if p[0] == doc_type]
                    k = same.index((doc_type, variant, items)) + 1 if len(same) > 1 else None
                rel = f"w{world_no:03d}/{filer.path(a, doc_type, variant, k)}"
                made_doc = cgen._make(world, a, wseed, f"{a.id}:{i}:{doc_type}", doc_type, variant, items)
                pages = story_pages(made_doc.story, made_doc.layout)
                bundle.append((made_doc.truth.to_dict(len(pages)), pages, rel))
                chars += sum(len(p) for p in pages)
                if chars >= bundle_chars or i == len(plan) - 1:
                    yield _merge(bundle, seed)
                    made += 1
                    if made >= n:
                        return
                    bundle, chars = [], 0
        world_no += 1
