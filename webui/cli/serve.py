"""`auditarchive serve`: the web UI and the JSON API."""
from __future__ import annotations

import click

from archive.messages import message

from .common import CliError, Context, main


@main.command()
@click.option("--host", default="127.0.0.1", help="监听的地址（默认 127.0.0.1）。")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, help="监听的端口（默认 8000）。")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="工作进程数（默认：CPU 核数）。")
@click.option("--threads", type=click.IntRange(1, 64), default=4,
              help="每个工作进程的线程数（默认 4）。")
@click.pass_obj
def serve(obj: Context, host: str, port: int, workers: int | None, threads: int) -> None:
    """运行网页界面和 JSON API（工作进程 × 线程）。"""
    from webui.server import default_workers
    from webui.server import serve as run_server

    if (why := obj.home.unwritable()) is not None:       # the workers would fail one by one, with tracebacks
        raise CliError(message("cli.serve_unwritable", home=obj.home.read_only_message(), detail=why))
    click.echo(message("cli.serving", home=obj.home.root, host=host, port=port,
                       workers=workers or default_workers(), threads=threads), err=True)
    run_server(obj.home, host, port, workers, threads)
