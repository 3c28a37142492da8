"""The data home: one folder holding everything the system writes (DESIGN.md, "Data home")."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "auditarchive-data"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def locate(cls, home: str | os.PathLike | None = None) -> "Home":
        """`--home`, else `AUDITARCHIVE_HOME`, else ./auditarchive-data."""
        root = Path(home or os.environ.get("AUDITARCHIVE_HOME") or DEFAULT_HOME)
        return cls(root.expanduser().resolve())

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.db"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def auth_path(self) -> Path:
        """Users and API tokens, kept apart from the catalogue (which can be copied and shared)."""
        return self.root / "auth.db"

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"
