"""What every `auditarchive` command shares: the data-home context, the `--json` option, the
command group (with `--home` and `--verbose`), how failures of the home end a command, and the
errors a command raises (`CliError`, `CliUsageError`: said in Chinese, from `archive.messages`).

Data goes to stdout (human text, `--json` or `--jsonl`); progress and messages go to stderr.
Heavy modules (the catalogue, ingestion, the index) are imported by the commands that use them,
so that a command starts in a fraction of a second.
"""
from __future__ import annotations

import functools
import json
import logging
from typing import TYPE_CHECKING, Any, Callable

import click

from archive.home import Home
from archive.messages import MESSAGES, message

if TYPE_CHECKING:
    from archive.catalog import Catalog


class CliError(click.ClickException):
    """A command that cannot be done (exit status 1), said in Chinese: 错误：… on stderr, in place
    of click's English "Error:"."""

    def show(self, file: Any = None) -> None:
        click.echo(message("cli.error", message=self.format_message()), file=file, err=file is None)


class CliUsageError(click.UsageError):
    """A command used wrongly (exit status 2), said in Chinese with where to find the usage, in
    place of click's English "Usage: … Error:" (click's own checks of options keep its wording)."""

    def __init__(self, text: str, ctx: click.Context | None = None):
        super().__init__(text, ctx or click.get_current_context(silent=True))

    def show(self, file: Any = None) -> None:
        hint = "\n" + message("cli.usage_hint", command=self.ctx.command_path) if self.ctx is not None else ""
        click.echo(message("cli.usage_error", message=self.format_message()) + hint, file=file, err=file is None)


def _pad(text: str, width: int) -> str:
    """`text` padded with blanks to `width` terminal columns (a Han character takes two)."""
    return text + " " * max(1, width - len(text) - sum(ord(ch) > 0x2E80 for ch in text))


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=None, default=str)


def output_options(func: Callable) -> Callable:
    """The shared `--json` option of every command that prints data."""
    @click.option("--json", "as_json", is_flag=True, help="输出为一个 JSON 文档。")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


class Context:
    """The data home of this run and, once a command asks for it, its catalogue."""

    def __init__(self, home: str | None):
        self.home = Home.locate(home)
        self._catalog: Catalog | None = None
        tightened = self.home.make_private()        # umask 077 from here on (gunicorn's workers too)
        if tightened:
            click.echo(message("cli.made_private", paths="、".join(str(p) for p in tightened)), err=True)

    @property
    def catalog(self) -> Catalog:
        """The catalogue; commands that only read it refuse to create an empty one."""
        from archive.catalog import Catalog, CatalogError

        if self._catalog is None:
            if not self.home.catalog_path.exists() and not self.creating:
                raise CliError(message("cli.no_catalogue", path=self.home.catalog_path, home=self.home.root))
            try:
                self._catalog = Catalog(self.home.catalog_path)
            except CatalogError as exc:
                raise CliError(str(exc)) from None
        return self._catalog

    creating = False


class _Formatter(click.HelpFormatter):
    """--help in Chinese: click's headings (Usage, Options, Commands) translated."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, message("cli.help_usage") if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        key = f"cli.help_{heading.lower()}"
        self.write(f"{'':>{self.current_indent}}{message(key) if key in MESSAGES else heading}：\n")


class _Context(click.Context):
    formatter_class = _Formatter


class _Chinese:
    """What our commands and groups share: the Chinese help formatter and -h/--help's own help."""

    context_class = _Context

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)         # type: ignore[misc]
        if option is not None:
            option.help = message("cli.help_option")
        return option


class Command(_Chinese, click.Command):
    """A command of `auditarchive` (`@click.command(cls=Command)` when not made with `main.command`)."""


class Group(_Chinese, click.Group):
    """A group of commands of `auditarchive` (users, tokens, export)."""

    command_class = Command


Group.group_class = Group


class _Main(Group):
    """The command group; a data home that cannot be written ends a command with a message and
    exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        import sqlite3

        try:
            return super().invoke(ctx)
        except (OSError, sqlite3.OperationalError) as exc:
            home = ctx.obj.home if isinstance(ctx.obj, Context) else Home.locate(ctx.params.get("home"))
            if not home.is_write_failure(exc):
                raise
            raise CliError(message("cli.home_unwritable", home=home.read_only_message(), detail=exc)) from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="AUDITARCHIVE_HOME", type=click.Path(file_okay=False),
              help="数据目录（默认 ./auditarchive-data，或环境变量 AUDITARCHIVE_HOME 指定的目录）。")
@click.option("-v", "--verbose", count=True, help="在标准错误输出更多日志（-v：工作进度，-vv：每份文件）。")
@click.pass_context
def main(ctx: click.Context, home: str | None, verbose: int) -> None:
    """auditarchive — 认证机构审核档案的检索与挖掘。每个命令用 -h 查看其用法和选项。"""
    setup_logging(verbose)
    ctx.obj = Context(home)


def setup_logging(verbose: int) -> None:
    """Warnings and errors always; `-v` what the work is doing, `-vv` every document."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", force=True)
