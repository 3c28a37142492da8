"""The `auditarchive` command line (contract in DESIGN.md). Each command is a few lines over `archive`.

Data goes to stdout (human text, `--json` or `--jsonl`); progress and messages go to stderr.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from archive.catalog import Catalog
from archive.home import Home
from archive.ingest import DEFAULT_TIMEOUT, Ingestor, Summary, default_workers


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=None, default=str)


def output_options(func: Callable) -> Callable:
    """The shared `--json` option of every command that prints data."""
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


class Context:
    def __init__(self, home: str | None):
        self.home = Home.locate(home)
        self._catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self.home.catalog_path)
        return self._catalog


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="AUDITARCHIVE_HOME", type=click.Path(file_okay=False),
              help="Data folder (default ./auditarchive-data, or $AUDITARCHIVE_HOME).")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """auditarchive — 认证机构审核档案的检索与挖掘 (search and mine audit archives)."""
    ctx.obj = Context(home)


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
        self.bar.set_postfix_str(f"failed {self.failed}", refresh=False)

    def start(self, total: int) -> None:
        if self.enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _print_summary(s: Summary) -> None:
    click.echo(f"{s.files} files in {s.seconds:.1f} s with {s.workers} worker(s): {s.added} added, "
               f"{s.updated} updated, {s.unchanged} unchanged, {len(s.failed)} failed"
               + (f", {s.skipped_failed} skipped (failed before; --retry-failed)" if s.skipped_failed else ""))
    click.echo(f"pages: {s.pages} ({s.ocr_pages} by OCR); documents without a text layer: {s.no_text}")
    for f in s.failed:
        click.echo(f"  FAILED {f.path}: [{f.reason}] {f.message}")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--workers", type=click.IntRange(0, 64), default=None,
              help="Worker processes (default: the number of cores; 0 = in this process).")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds one file may take before it is recorded as failed.")
@click.option("--retry-failed", is_flag=True, help="Try again files that failed before.")
@click.option("--ocr", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="OCR of pages without a text layer (OCR is not available yet: pages stay empty).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: on a terminal).")
@output_options
@click.pass_obj
def ingest(obj: Context, paths: tuple[str, ...], workers: int | None, timeout: float,
           retry_failed: bool, ocr: str, progress: bool | None, as_json: bool) -> None:
    """Add PDFs (files or folders, recursively); unchanged files are skipped."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise click.UsageError(f"no such file or folder: {', '.join(missing)}")
    if ocr == "always":
        click.echo("note: OCR is not available yet; pages without a text layer are recorded as "
                   "such (status no_text) and can be read again once it is", err=True)
    bar = _Bar(sys.stderr.isatty() if progress is None else progress)
    ingestor = Ingestor(obj.catalog, workers=default_workers() if workers is None else workers,
                        timeout=timeout, retry_failed=retry_failed, progress=bar)
    from archive.ingest import discover
    bar.start(len(discover(paths)))
    try:
        summary = ingestor.run(paths)
    finally:
        bar.close()
    if as_json:
        click.echo(_dump(summary.to_dict()))
    else:
        _print_summary(summary)


@main.command(name="list")
@click.option("--jsonl", is_flag=True, help="One document object a line.")
@output_options
@click.pass_obj
def list_documents(obj: Context, jsonl: bool, as_json: bool) -> None:
    """Every document with its metadata."""
    docs = obj.catalog.iter_documents()
    if as_json:
        click.echo(_dump([d.to_dict() for d in docs]))
        return
    for d in docs:
        if jsonl:
            click.echo(_dump(d.to_dict()))
        else:
            click.echo(f"{d.id[:12]}  {d.doc_type or '-':15} {d.stage or '-':15} "
                       f"{(d.org.name or '-')[:28]:28}  {d.filename}")


@main.command()
@click.argument("ref")
@output_options
@click.pass_obj
def show(obj: Context, ref: str, as_json: bool) -> None:
    """One document, by id, id prefix or path."""
    ids = obj.catalog.resolve(ref)
    if not ids:
        raise click.ClickException(f"no document matches {ref!r}")
    if len(ids) > 1:
        raise click.ClickException(f"{ref!r} matches {len(ids)} documents: "
                                   + ", ".join(i[:12] for i in ids[:10]))
    doc = obj.catalog.get_document(ids[0])
    assert doc is not None
    if as_json:
        click.echo(_dump(doc.to_dict()))
        return
    data = doc.to_dict()
    for key, value in data.items():
        if key in ("auditors", "findings"):
            continue
        click.echo(f"{key:12} {value if not isinstance(value, (list, dict)) else _dump(value)}")
    for a in doc.auditors:
        click.echo(f"auditor      {a.name} ({a.role or '?'}) {a.reg_no or ''}")
    for f in doc.findings:
        click.echo(f"finding      {f.field or '?'} {f.clause} [{f.severity or '-'}] {f.statement or ''}")


@main.command()
@click.option("--jsonl", is_flag=True, help="One failure a line.")
@output_options
@click.pass_obj
def failures(obj: Context, jsonl: bool, as_json: bool) -> None:
    """Files that could not be ingested, with their reasons."""
    rows = obj.catalog.failures()
    if as_json:
        click.echo(_dump(rows))
    elif jsonl:
        for r in rows:
            click.echo(_dump(r))
    else:
        for r in rows:
            click.echo(f"[{r['reason']}] {r['path']}: {r['message']} (attempts: {r['attempts']})")


if __name__ == "__main__":
    main()
