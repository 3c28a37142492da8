"""Commands over the catalogue and the index: `ingest`, `list`, `show`, `failures`, `search`,
`reindex`, `check`."""
from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from archive.limits import DEFAULT_OCR_TIMEOUT, DEFAULT_TIMEOUT, default_workers
from archive.messages import failure_name, format_name, message

from .common import CliError, CliUsageError, Context, _dump, _pad, main, output_options

if TYPE_CHECKING:
    from archive.ingest import Summary


class _Bar:
    """A tqdm progress bar on stderr, fed by the ingestor's events."""

    def __init__(self, enabled: bool):
        self.bar = None
        self.enabled = enabled
        self.failed = 0

    def __call__(self, event: str, path: Path, info: dict | None) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            return
        if event == "failed":
            self.failed += 1
        self.bar.update(1)
        self.bar.set_postfix_str(message("cli.ingest_bar_failed", failed=self.failed), refresh=False)

    def start(self, total: int) -> None:
        if self.enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="个文件", file=sys.stderr, dynamic_ncols=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _print_summary(s: Summary) -> None:
    click.echo(message("cli.ingest_summary", files=s.files, seconds=s.seconds, workers=s.workers, added=s.added,
                       updated=s.updated, unchanged=s.unchanged, failed=len(s.failed))
               + (message("cli.ingest_skipped", count=s.skipped_failed) if s.skipped_failed else ""))
    click.echo(message("cli.ingest_pages", pages=s.pages, ocr_pages=s.ocr_pages, no_text=s.no_text))
    if s.formats:
        click.echo(message("cli.ingest_formats", formats="，".join(
            f"{format_name(kind)} {count}" for kind, count in sorted(s.formats.items(), key=lambda kv: -kv[1]))))
    if s.others:
        click.echo(message("cli.ingest_others", count=s.others))
    for f in s.failed:
        name = failure_name(f.reason)
        detail = "" if f.message.strip("。") == name.strip("。") else f.message    # said once, not twice
        click.echo(message("cli.ingest_failed_file", path=f.path, reason=name, code=f.reason)
                   + (message("cli.ingest_failed_detail", detail=detail) if detail else ""))
    if s.failed:
        click.echo(message("cli.ingest_failed_note"))


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--workers", type=click.IntRange(0, 64), default=None,
              help="工作进程数（默认：CPU 核数；0 表示在本进程中处理）。")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=DEFAULT_TIMEOUT,
              help=f"单个文件处理的最长秒数，超过即记为失败（默认 {DEFAULT_TIMEOUT:g}）。")
@click.option("--retry-failed", is_flag=True, help="重试此前失败的文件。")
@click.option("--ocr", type=click.Choice(["auto", "always", "never"]), default="auto",
              help="OCR：auto 识别没有可用文本层的页面（默认），always 识别每一页，never 不识别。")
@click.option("--ocr-timeout", type=click.FloatRange(1, 3600), default=DEFAULT_OCR_TIMEOUT,
              help=f"单页 OCR 的最长秒数（默认 {DEFAULT_OCR_TIMEOUT:g}）。")
@click.option("--progress/--no-progress", default=None, help="在标准错误输出显示进度条（默认：在终端上显示）。")
@click.option("--cluster", envvar="AUDITARCHIVE_CLUSTER", metavar="tcp://HOST:8786", default=None,
              help="在这个 Dask 调度器的工作节点上处理文件（或用环境变量 AUDITARCHIVE_CLUSTER 指定）。")
@click.option("--send-bytes", is_flag=True, default=None,
              help="与 --cluster 一起用：把每个文件的内容发送给工作节点（默认：仅当工作节点读不到该路径时）。")
@output_options
@click.pass_obj
def ingest(obj: Context, paths: tuple[str, ...], workers: int | None, timeout: float,
           retry_failed: bool, ocr: str, ocr_timeout: float, progress: bool | None,
           cluster: str | None, send_bytes: bool | None, as_json: bool) -> None:
    """入库文档：PDF、Word（docx、Word 2003 XML、doc、rtf、odt、wps）、Excel、OFD、图片和照片，以及 zip / 7z 压缩包中的文档（文件或文件夹，递归查找；格式按内容判断）；未改动的文件跳过。

    --workers 0 时在本进程中读取文件，不受时间和内存限制；--cluster 时在 Dask 集群的工作节点上处理（此时忽略 --workers）。"""
    import time

    from archive.cluster import ClusterError
    from archive.ingest import Ingestor, discover

    problems: list[tuple[str, str]] = []
    others: list[Path] = []
    try:
        files = discover(paths, problems, others)
    except FileNotFoundError as exc:
        raise CliUsageError(str(exc)) from None
    obj.creating = True
    bar = _Bar(sys.stderr.isatty() if progress is None else progress)
    # without a bar (not a terminal, or --no-progress), a line every 50 files or 15 seconds
    lines = {"done": 0, "failed": 0, "last": time.monotonic(), "total": len(files),
             "on": progress is None and not sys.stderr.isatty()}
    ocr_pages = {"queued": 0, "done": 0}
    pages = {"read": 0, "since": time.perf_counter()}

    def events(event: str, path: Path, info: dict | None) -> None:
        """Files advance the bar; pages (and their rate), OCR pages (OCR'd / queued) and failures
        show beside it."""
        if event == "ocr_queued":
            ocr_pages["queued"] += info["pages"]
        elif event == "ocr_page":
            ocr_pages["done"] += 1
        else:
            bar(event, path, info)
            if event == "added":
                pages["read"] += (info or {}).get("pages", 0)
            lines["done"] += 1
            lines["failed"] += event == "failed"
            now = time.monotonic()
            if lines["on"] and (lines["done"] % 50 == 0 or now - lines["last"] >= 15
                                or lines["done"] == lines["total"]):
                lines["last"] = now
                click.echo(message("cli.ingest_progress", done=lines["done"], total=lines["total"],
                                   failed=lines["failed"], ocr_done=ocr_pages["done"],
                                   ocr_queued=ocr_pages["queued"]), err=True)
        if bar.bar is not None:
            rate = pages["read"] / max(1e-9, time.perf_counter() - pages["since"])
            bar.bar.set_postfix_str(message("cli.ingest_bar", failed=bar.failed, ocr_done=ocr_pages["done"],
                                            ocr_queued=ocr_pages["queued"], pages=pages["read"], rate=rate))
    ingestor = Ingestor(obj.catalog, workers=default_workers() if workers is None else workers,
                        timeout=timeout, retry_failed=retry_failed, progress=events, ocr=ocr,
                        ocr_timeout=ocr_timeout, cluster=cluster, send_bytes=send_bytes)
    bar.start(len(files))
    from indexer.pipeline import pending

    with pending(obj.catalog, obj.home.index_dir):     # a run killed before indexing is repaired next time
        try:
            summary = ingestor.run(paths, files=files, problems=problems, others=others)
        except ClusterError as exc:      # what was written stays (and is indexed): run again to resume
            summary = None
            failure = str(exc)
        finally:
            bar.close()
        indexed = _index_saved(obj, ingestor.saved, ingestor.removed)
    if summary is None:
        raise CliError(message("cli.ingest_stopped", detail=failure, count=indexed))
    if as_json:
        click.echo(_dump({**summary.to_dict(), "indexed": indexed}))
    else:
        _print_summary(summary)
        if summary.cluster_workers is not None:
            click.echo(message("cli.ingest_cluster", cluster=cluster, workers=summary.cluster_workers))
        click.echo(message("cli.ingest_indexed", count=indexed))


def _index_saved(obj: Context, ids: list[str], removed: list[str]) -> int:
    """Index what an ingest wrote (and drop what it removed); a missing or stale index is
    brought up to date from the catalogue instead."""
    from indexer.pipeline import index_changes

    return index_changes(obj.catalog, obj.home.index_dir, ids, removed)


@main.command(name="list")
@click.option("--jsonl", is_flag=True, help="每行输出一个文档对象（JSON）。")
@output_options
@click.pass_obj
def list_documents(obj: Context, jsonl: bool, as_json: bool) -> None:
    """列出每份文件及其元数据。"""
    docs = obj.catalog.iter_documents()
    if as_json:
        click.echo(_dump([d.to_dict() for d in docs]))
        return
    from webui.labels import STAGE_NAMES, TYPE_NAMES

    for d in docs:
        if jsonl:
            click.echo(_dump(d.to_dict()))
        else:
            click.echo(f"{d.id[:12]}  {_pad(TYPE_NAMES.get(d.doc_type or '', '-'), 12)}"
                       f"{_pad(STAGE_NAMES.get(d.stage or '', '-'), 12)}{_pad((d.org.name or '-')[:28], 58)}{d.filename}")


@main.command()
@click.argument("ref")
@output_options
@click.pass_obj
def show(obj: Context, ref: str, as_json: bool) -> None:
    """显示一份文件，按 ID、ID 前缀或路径查找。"""
    ids = obj.catalog.resolve(ref)
    if not ids:
        raise CliError(message("cli.no_document", ref=ref))
    if len(ids) > 1:
        raise CliError(message("cli.several_documents", ref=ref, count=len(ids), ids="、".join(i[:12] for i in ids[:10])))
    doc = obj.catalog.get_document(ids[0])
    assert doc is not None
    if as_json:
        click.echo(_dump(doc.to_dict()))
        return
    from webui.labels import DOCUMENT_FIELD_NAMES, ROLE_NAMES, SEVERITY_NAMES, STAGE_NAMES, STATUS_NAMES, TYPE_NAMES

    data = doc.to_dict()
    named = {"doc_type": TYPE_NAMES, "stage": STAGE_NAMES}
    data["org"] = "；".join(v for v in (doc.org.name, doc.org.credit_code) if v) or None
    data["format"], data["status"] = format_name(doc.format), STATUS_NAMES.get(doc.status, doc.status)
    for key, value in data.items():
        if key in ("auditors", "findings"):
            continue
        if key in named and value in named[key]:
            value = f"{named[key][value]}（{value}）"
        if value is None or value == []:
            value = "—"
        elif isinstance(value, list):
            value = "、".join(map(str, value))
        click.echo(_pad(DOCUMENT_FIELD_NAMES.get(key, key), 16) + str(value))
    for a in doc.auditors:
        click.echo(message("cli.show_auditor", name=a.name, role=ROLE_NAMES.get(a.role or "", a.role or "?"),
                           reg_no=a.reg_no or ""))
    for f in doc.findings:
        click.echo(message("cli.show_finding", field=f.field or "?", clause=f.clause,
                           severity=SEVERITY_NAMES.get(f.severity or "", f.severity or "-"), statement=f.statement or ""))


@main.command()
@click.argument("query", nargs=-1)
@click.option("--code", help="专业代码或其前缀：17、17.10、17.10.02。")
@click.option("--field", "field_", help="认证领域：QMS、EMS、OHSMS …（或 质量管理体系）。")
@click.option("--stage", help="审核阶段：stage1、stage2、surveillance1 …（或 一阶段、监一）。")
@click.option("--type", "doc_type", help="文件类型：ncr、audit_report、certificate …（或 不符合报告、审核报告）。")
@click.option("--org", help="组织（全称或简称）。")
@click.option("--clause", help="标准条款或其前缀：8.5、8.5.1。")
@click.option("--year", help="年份或范围：2023、2019-2023。")
@click.option("--cert", help="证书号（不区分大小写、连字符和全角半角）。")
@click.option("--date", "date_range", help="日期范围：2023-01-01..2023-06-30。")
@click.option("--sort", type=click.Choice(["relevance", "date", "date_asc"]), default="relevance",
              help="排序：relevance 相关度（默认），date 日期由新到旧，date_asc 日期由旧到新。")
@click.option("--limit", type=click.IntRange(1, 100), default=10, help="每页条数（默认 10）。")
@click.option("--page", type=click.IntRange(1), default=1, help="页码（默认 1）。")
@output_options
@click.pass_obj
def search(obj: Context, query: tuple[str, ...], code, field_, stage, doc_type, org, clause, year,
           cert, date_range, sort, limit, page, as_json: bool) -> None:
    """全文检索，可加筛选条件；QUERY 为空而有筛选条件时按条件浏览。"""
    from indexer import build
    from indexer.query import QueryError
    from indexer.search import SearchRequest
    from indexer.search import search as run_search

    handle = build.ensure_index(obj.catalog, obj.home.index_dir)
    filters = {"code": code, "field": field_, "stage": stage, "type": doc_type, "org": org,
               "clause": clause, "year": year, "cert": cert, "date": date_range}
    try:
        result = run_search(handle, obj.catalog, SearchRequest(" ".join(query), filters, page, limit, sort))
    except QueryError as exc:
        raise CliUsageError(str(exc)) from None
    if as_json:
        click.echo(_dump(result))
        return
    from webui.labels import FACET_NAMES, SORT_NAMES, STAGE_NAMES, TYPE_NAMES

    full = [h for h in result["hits"] if not h.get("partial")]
    partial = [h for h in result["hits"] if h.get("partial")]
    click.echo(message("cli.search_total", total=result["total"], ms=result["query_ms"], page=page,
                       sort=SORT_NAMES.get(result["sort"], result["sort"]))
               + (message("cli.search_partial_total", count=result["partial_total"]) if result.get("partial_total") else ""))

    def show(hits: list[dict], first: int) -> None:
        for n, hit in enumerate(hits, first):
            score = f"{hit['score']:.2f}" if hit["score"] is not None else "-"
            click.echo(f"{n:3}. {hit['id'][:12]} {score:>7} {_pad(TYPE_NAMES.get(hit['doc_type'] or '', '-'), 12)}"
                       f"{hit['org']['name'] or '-'}  {hit['filename']}")
            for snip in hit["snippets"]:
                text = re.sub(r"</?mark>", "", html.unescape(snip["html"])) if not sys.stdout.isatty() else \
                    html.unescape(re.sub(r"<mark>(.*?)</mark>", "\x1b[1;33m\\1\x1b[0m", snip["html"]))
                click.echo(message("cli.search_snippet", page=snip["page"], text=text))
    show(full, (page - 1) * limit + 1)
    if partial:
        click.echo(message("cli.search_partial", total=result["partial_total"], shown=len(partial)))
        show(partial, 1)
    names = {"stage": STAGE_NAMES, "type": TYPE_NAMES}
    for name, counts in result["facets"].items():
        if counts:
            top = "、".join(f"{names.get(name, {}).get(k, k)} {v}" for k, v in list(counts.items())[:8])
            click.echo(f"  {FACET_NAMES.get(name, name)}：{top}")


@main.command()
@click.option("--full", is_flag=True, help="从空索引开始重建。")
@output_options
@click.pass_obj
def reindex(obj: Context, full: bool, as_json: bool) -> None:
    """使检索索引与目录库一致（中断后再次运行会接着做）。"""
    from indexer import build

    def progress(done: int, total: int) -> None:
        click.echo(message("cli.reindex_progress", done=done, total=total), err=True)
    result = build.reindex(obj.catalog, obj.home.index_dir, full=full, progress=progress)
    click.echo(_dump(result) if as_json else
               message("cli.reindex_done", indexed=result["indexed"], removed=result["removed"],
                       documents=result["documents"]))


@main.command()
@output_options
@click.pass_obj
def check(obj: Context, as_json: bool) -> None:
    """检查目录库、索引和原件是否一致。

    不一致时退出状态为 1，并说明处理办法。"""
    from archive.originals import check_originals
    from indexer import build

    if not build.index_exists(obj.home.index_dir):
        result = {"clean": obj.catalog.document_count() == 0, "missing": obj.catalog.document_ids(),
                  "extra": [], "stale": [], "index": message("cli.check_index_absent")}
    else:
        result = build.check(obj.catalog, build.open_index(obj.home.index_dir)).to_dict()
    originals = [p.to_dict() for p in check_originals(obj.catalog)]
    result["originals"] = originals
    result["clean"] = result["clean"] and not originals
    home = f"--home {obj.home.root} " if obj.home.root else ""
    fixes = []
    if result["missing"] or result["extra"] or result["stale"]:
        fixes.append(message("cli.check_fix_index", home=home))
    if any(p["reason"] == "missing" for p in originals):
        fixes.append(message("cli.check_fix_missing", home=home))
    if any(p["reason"] == "changed" for p in originals):
        fixes.append(message("cli.check_fix_changed", home=home))
    result["fixes"] = fixes
    if as_json:
        click.echo(_dump(result))
    else:
        click.echo(message("cli.check_ok") if result["clean"] else
                   message("cli.check_summary", missing=len(result["missing"]), extra=len(result["extra"]),
                           stale=len(result["stale"]),
                           originals_missing=sum(p["reason"] == "missing" for p in originals),
                           originals_changed=sum(p["reason"] == "changed" for p in originals)))
        for key in ("missing", "extra", "stale"):
            for doc_id in result[key][:20]:
                click.echo(message(f"cli.check_{key}", doc_id=doc_id))
        for p in originals[:20]:
            click.echo(message(f"cli.check_original_{p['reason']}", doc_id=p["doc_id"][:12], path=p["path"]))
        for fix in fixes:
            click.echo(message("cli.check_fix", fix=fix))
    if not result["clean"]:
        sys.exit(1)


@main.command()
@click.option("--jsonl", is_flag=True, help="每行输出一条失败记录（JSON）。")
@output_options
@click.pass_obj
def failures(obj: Context, jsonl: bool, as_json: bool) -> None:
    """列出未能入库的文件及其原因。"""
    rows = obj.catalog.failures()
    if as_json:
        click.echo(_dump(rows))
    elif jsonl:
        for r in rows:
            click.echo(_dump(r))
    else:
        for r in rows:
            click.echo(message("cli.failure_line", reason=failure_name(r["reason"]), path=r["path"],
                               detail=r["message"], attempts=r["attempts"]))
