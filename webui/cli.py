"""The `auditarchive` command line (contract in DESIGN.md). Each command is a few lines over `archive`.

Data goes to stdout (human text, `--json` or `--jsonl`); progress and messages go to stderr.
"""
from __future__ import annotations

import functools
import html
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

import click

from archive.catalog import Catalog, CatalogError
from archive.home import Home
from archive.ingest import DEFAULT_OCR_TIMEOUT, DEFAULT_TIMEOUT, Ingestor, Summary, default_workers


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
        """The catalogue; commands that only read it refuse to create an empty one."""
        if self._catalog is None:
            if not self.home.catalog_path.exists() and not self.creating:
                raise click.ClickException(
                    f"no catalogue at {self.home.catalog_path}: ingest PDFs first "
                    f"(auditarchive --home {self.home.root} ingest PATH), or point --home at one")
            try:
                self._catalog = Catalog(self.home.catalog_path)
            except CatalogError as exc:
                raise click.ClickException(str(exc)) from None
        return self._catalog

    creating = False


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
              help="OCR pages without a usable text layer (auto), every page (always), or none.")
@click.option("--ocr-timeout", type=click.FloatRange(1, 3600), default=DEFAULT_OCR_TIMEOUT,
              show_default=True, help="Seconds the OCR of one page may take.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: on a terminal).")
@click.option("--cluster", envvar="AUDITARCHIVE_CLUSTER", metavar="tcp://HOST:8786", default=None,
              help="Run the per-file work on this Dask scheduler's workers (or $AUDITARCHIVE_CLUSTER).")
@click.option("--send-bytes", is_flag=True, default=None,
              help="With --cluster: send each file's bytes to the workers (default: only when a "
                   "worker cannot read the path).")
@output_options
@click.pass_obj
def ingest(obj: Context, paths: tuple[str, ...], workers: int | None, timeout: float,
           retry_failed: bool, ocr: str, ocr_timeout: float, progress: bool | None,
           cluster: str | None, send_bytes: bool | None, as_json: bool) -> None:
    """Add PDFs (files or folders, recursively); unchanged files are skipped.

    With --workers 0 files are read in this process, without the time and memory limits; with
    --cluster on a Dask cluster's workers (--workers is then ignored)."""
    import time

    from archive.cluster import ClusterError
    from archive.ingest import discover

    problems: list[tuple[str, str]] = []
    try:
        files = discover(paths, problems)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    obj.creating = True
    bar = _Bar(sys.stderr.isatty() if progress is None else progress)
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
        if bar.bar is not None:
            rate = pages["read"] / max(1e-9, time.perf_counter() - pages["since"])
            bar.bar.set_postfix_str(f"failed {bar.failed}, OCR {ocr_pages['done']}/{ocr_pages['queued']} "
                                    f"pages, pages {pages['read']} ({rate:.1f}/s)")
    ingestor = Ingestor(obj.catalog, workers=default_workers() if workers is None else workers,
                        timeout=timeout, retry_failed=retry_failed, progress=events, ocr=ocr,
                        ocr_timeout=ocr_timeout, cluster=cluster, send_bytes=send_bytes)
    bar.start(len(files))
    from indexer.pipeline import pending

    with pending(obj.catalog, obj.home.index_dir):     # a run killed before indexing is repaired next time
        try:
            summary = ingestor.run(paths, files=files, problems=problems)
        except ClusterError as exc:      # what was written stays (and is indexed): run again to resume
            summary = None
            failure = str(exc)
        finally:
            bar.close()
        indexed = _index_saved(obj, ingestor.saved, ingestor.removed)
    if summary is None:
        raise click.ClickException(f"{failure} ({indexed} document(s) written and indexed; "
                                   "run again to do the rest)")
    if as_json:
        click.echo(_dump({**summary.to_dict(), "indexed": indexed}))
    else:
        _print_summary(summary)
        if summary.cluster_workers is not None:
            click.echo(f"on the Dask cluster {cluster}: {summary.cluster_workers} worker(s)")
        click.echo(f"indexed: {indexed} document(s)")


def _index_saved(obj: Context, ids: list[str], removed: list[str]) -> int:
    """Index what an ingest wrote (and drop what it removed); a missing or stale index is
    brought up to date from the catalogue instead."""
    from indexer.pipeline import index_changes

    return index_changes(obj.catalog, obj.home.index_dir, ids, removed)


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
@click.argument("query", nargs=-1)
@click.option("--code", help="Specialty code or prefix: 17, 17.10, 17.10.02.")
@click.option("--field", "field_", help="Certification field: QMS, EMS, OHSMS, … (or 质量管理体系).")
@click.option("--stage", help="Audit stage: stage1, stage2, surveillance1, … (or 一阶段, 监一).")
@click.option("--type", "doc_type", help="Document type: ncr, audit_report, certificate, …")
@click.option("--org", help="Organisation (full or short name).")
@click.option("--clause", help="Standard clause or prefix: 8.5, 8.5.1.")
@click.option("--year", help="Year or range: 2023, 2019-2023.")
@click.option("--cert", help="Certificate number (case, dashes and width ignored).")
@click.option("--date", "date_range", help="Date range: 2023-01-01..2023-06-30.")
@click.option("--sort", type=click.Choice(["relevance", "date", "date_asc"]), default="relevance",
              show_default=True)
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="Hits a page.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@output_options
@click.pass_obj
def search(obj: Context, query: tuple[str, ...], code, field_, stage, doc_type, org, clause, year,
           cert, date_range, sort, limit, page, as_json: bool) -> None:
    """Full-text search with filters; an empty QUERY with filters browses."""
    from indexer import build
    from indexer.query import QueryError
    from indexer.search import SearchRequest, search as run_search

    if not build.index_exists(obj.home.index_dir):
        build.reindex(obj.catalog, obj.home.index_dir)
    handle = build.open_index(obj.home.index_dir)
    filters = {"code": code, "field": field_, "stage": stage, "type": doc_type, "org": org,
               "clause": clause, "year": year, "cert": cert, "date": date_range}
    try:
        result = run_search(handle, obj.catalog, SearchRequest(" ".join(query), filters, page, limit, sort))
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(_dump(result))
        return
    click.echo(f"{result['total']} documents ({result['query_ms']} ms), page {page}, sorted by {result['sort']}"
               + ("; ~ marks documents holding only some of the words" if any(h.get("partial") for h in result["hits"]) else ""))
    for n, hit in enumerate(result["hits"], (page - 1) * limit + 1):
        score = f"{hit['score']:.2f}" if hit["score"] is not None else "-"
        mark = "~" if hit.get("partial") else "."      # ~ : holds some of the words, not all
        click.echo(f"{n:3}{mark} {hit['id'][:12]} {score:>7} {hit['doc_type'] or '-':14} "
                   f"{hit['org']['name'] or '-'}  {hit['filename']}")
        for snip in hit["snippets"]:
            text = re.sub(r"</?mark>", "", html.unescape(snip["html"])) if not sys.stdout.isatty() else \
                html.unescape(re.sub(r"<mark>(.*?)</mark>", "\x1b[1;33m\\1\x1b[0m", snip["html"]))
            click.echo(f"       p.{snip['page']}: {text}")
    for name, counts in result["facets"].items():
        if counts:
            top = ", ".join(f"{k} {v}" for k, v in list(counts.items())[:8])
            click.echo(f"  {name}: {top}")


@main.command()
@click.option("--full", is_flag=True, help="Start from an empty index.")
@output_options
@click.pass_obj
def reindex(obj: Context, full: bool, as_json: bool) -> None:
    """Bring the search index in line with the catalogue (resumes after an interruption)."""
    from indexer import build

    def progress(done: int, total: int) -> None:
        click.echo(f"indexed {done}/{total}", err=True)
    result = build.reindex(obj.catalog, obj.home.index_dir, full=full, progress=progress)
    click.echo(_dump(result) if as_json else
               f"indexed {result['indexed']}, removed {result['removed']}; "
               f"{result['documents']} documents in the catalogue")


@main.command()
@output_options
@click.pass_obj
def check(obj: Context, as_json: bool) -> None:
    """Are catalogue and index consistent? Exit status 1 when not."""
    from indexer import build

    if not build.index_exists(obj.home.index_dir):
        result = {"clean": obj.catalog.document_count() == 0, "missing": obj.catalog.document_ids(),
                  "extra": [], "stale": [], "index": "absent or built by another version"}
    else:
        result = build.check(obj.catalog, build.open_index(obj.home.index_dir)).to_dict()
    if as_json:
        click.echo(_dump(result))
    else:
        click.echo("consistent" if result["clean"] else
                   f"missing from the index: {len(result['missing'])}, in the index only: "
                   f"{len(result['extra'])}, stale: {len(result['stale'])}")
        for key in ("missing", "extra", "stale"):
            for doc_id in result[key][:20]:
                click.echo(f"  {key}: {doc_id}")
    if not result["clean"]:
        sys.exit(1)


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



@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: the number of cores).")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Threads in each worker.")
@click.pass_obj
def serve(obj: Context, host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the web UI and the JSON API (gunicorn: worker processes × threads)."""
    from webui.server import default_workers, serve as run_server

    click.echo(f"auditarchive: serving {obj.home.root} at http://{host}:{port}/ with "
               f"{workers or default_workers()} worker(s) × {threads} thread(s) (Ctrl+C stops)", err=True)
    run_server(obj.home, host, port, workers, threads)


@main.group()
def users() -> None:
    """Users of the web UI and API, with roles admin, auditor or viewer."""


def _accounts(obj: Context):
    from archive.accounts import Accounts

    return Accounts(obj.home.auth_path)


def _read_password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
    """(password, generated): from stdin, generated, or asked for twice on a terminal."""
    from archive.accounts import new_password

    if password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if generate or not sys.stdin.isatty():
        return new_password(), True
    return click.prompt("password", hide_input=True, confirmation_prompt=True), False


@users.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "auditor", "viewer"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (one line).")
@click.option("--generate", is_flag=True, help="Make a random password and print it (also when not on a terminal).")
@output_options
@click.pass_obj
def users_add(obj: Context, name: str, role: str, password_stdin: bool, generate: bool, as_json: bool) -> None:
    """Add a user; passwords are stored hashed (scrypt)."""
    from archive.accounts import AccountError

    password, generated = _read_password(password_stdin, generate)
    try:
        _accounts(obj).add_user(name, role, password)
    except AccountError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(_dump({"name": name, "role": role, **({"password": password} if generated else {})}))
    else:
        click.echo(f"added {name} ({role})" + (f"; password: {password}" if generated else ""))


@users.command(name="bootstrap")
@click.pass_obj
def users_bootstrap(obj: Context) -> None:
    """A first admin for a new data home (nothing happens when users exist): its password is
    printed and kept in DATA_HOME/initial-admin-password (readable by you only) until changed."""
    import os

    acc = _accounts(obj)
    note = obj.home.root / "initial-admin-password"
    if acc.user_count():
        hint = f" (the first admin's password is in {note})" if note.exists() else ""
        click.echo(f"users exist in {obj.home.auth_path}{hint}")
        return
    from archive.accounts import new_password

    password = new_password()
    acc.add_user("admin", "admin", password)
    fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    click.echo(f"first admin created: log in as 'admin' with the password {password} "
               f"(kept in {note}; change it under 管理)")


@users.command(name="list")
@output_options
@click.pass_obj
def users_list(obj: Context, as_json: bool) -> None:
    """Every user with role and state."""
    rows = _accounts(obj).users()
    if as_json:
        click.echo(_dump(rows))
        return
    for r in rows:
        click.echo(f"{r['name']:20} {r['role']:8} created {r['created_at']}" + ("  DISABLED" if r["disabled"] else ""))


@users.command(name="passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (one line).")
@click.pass_obj
def users_passwd(obj: Context, name: str, password_stdin: bool) -> None:
    """Set a user's password."""
    from archive.accounts import AccountError

    password, generated = _read_password(password_stdin, False)
    try:
        _accounts(obj).set_password(name, password)
    except AccountError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"password of {name} changed" + (f": {password}" if generated else ""))


@users.command(name="role")
@click.argument("name")
@click.argument("role", type=click.Choice(["admin", "auditor", "viewer"]))
@click.pass_obj
def users_role(obj: Context, name: str, role: str) -> None:
    """Change a user's role."""
    from archive.accounts import AccountError

    try:
        _accounts(obj).set_role(name, role)
    except AccountError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"{name} is now {role}")


@main.group()
def tokens() -> None:
    """API tokens (Authorization: Bearer …), each for a user and with that user's role."""


@tokens.command(name="create")
@click.argument("name")
@output_options
@click.pass_obj
def tokens_create(obj: Context, name: str, as_json: bool) -> None:
    """A new token for the user NAME; shown this once only (it is stored hashed)."""
    from archive.accounts import AccountError

    try:
        token = _accounts(obj).create_token(name.strip())
    except AccountError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(_dump({"name": name.strip(), "token": token}))
    else:
        click.echo(token)
        click.echo(f"token for {name.strip()}: keep it now, it cannot be shown again", err=True)


@tokens.command(name="list")
@output_options
@click.pass_obj
def tokens_list(obj: Context, as_json: bool) -> None:
    """Every token's user and dates (never the token itself)."""
    rows = _accounts(obj).tokens()
    if as_json:
        click.echo(_dump(rows))
        return
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else f"last used {r['last_used_at'] or 'never'}"
        click.echo(f"{r['name']:20} {r['hash_prefix']}…  created {r['created_at']}  {state}")


@tokens.command(name="revoke")
@click.argument("name")
@click.pass_obj
def tokens_revoke(obj: Context, name: str) -> None:
    """Revoke every token of the user NAME."""
    count = _accounts(obj).revoke_tokens(name)
    click.echo(f"revoked {count} token(s) of {name}")

# -- mining commands (case, scope, code, matching): webui/commands_mining.py ----------------------
if __name__ != "__main__":          # `python -m webui.cli` runs the imported module's main (below)
    from webui.commands_mining import register as _register_mining  # noqa: E402

    _register_mining(main)


if __name__ == "__main__":
    from webui.cli import main as _main     # the module with every command registered

    _main()
