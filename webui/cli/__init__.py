"""The `auditarchive` command line (contract in DESIGN.md): a package of small modules, each a
few commands over `archive` and `indexer`; `common` holds what they share. Importing this package
registers every command on `main`."""
from __future__ import annotations

from . import accounts, ingest, mining, serve  # noqa: F401 — each adds its commands to `main`
from .common import Context, main, output_options

__all__ = ["Context", "main", "output_options"]
