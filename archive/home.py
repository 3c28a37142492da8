"""The data home: one folder holding everything the system writes (DESIGN.md, "Data home")."""
from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "auditarchive-data"
# Files that hold the archive's contents or its users: owner-only, also in homes made before.
PRIVATE_FILES = ("catalog.db", "auth.db", "ocr-cache.db", "secret_key")
READ_ONLY_MESSAGE = "数据目录 {root} 不可写（只读文件系统或没有写权限）"


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

    def make_private(self) -> list[Path]:
        """From now on everything this process creates is readable by its owner only (umask
        077: files 0600, folders 0700), and the home folder and its databases that others could
        read are made owner-only; returns what was changed. Changes that cannot be made (a home
        that belongs to someone else, or is read-only) are left."""
        os.umask(0o077)
        changed = []
        paths = [self.root] + [self.root / f"{name}{tail}" for name in PRIVATE_FILES for tail in ("", "-wal", "-shm")]
        for path in paths:
            try:
                mode = path.stat().st_mode & 0o7777
                if mode & 0o077:
                    os.chmod(path, mode & ~0o077)
                    changed.append(path)
            except OSError:
                continue
        return changed

    def unwritable(self) -> str | None:
        """Why nothing can be written in the home (None when something can): a file is made and
        removed in it (or in its nearest existing parent when it does not exist yet)."""
        folder = self.root
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
        try:
            fd, name = tempfile.mkstemp(dir=folder, prefix=".write-test.")
        except OSError as exc:
            return exc.strerror or str(exc)
        os.close(fd)
        os.unlink(name)
        return None

    def is_write_failure(self, exc: BaseException) -> bool:
        """Whether `exc` (from the OS or SQLite) came from a home that cannot be written."""
        if isinstance(exc, OSError) and exc.errno == errno.EROFS:
            return True
        if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
            return True
        if isinstance(exc, (OSError, sqlite3.OperationalError)):
            return self.unwritable() is not None
        return False

    def read_only_message(self) -> str:
        return READ_ONLY_MESSAGE.format(root=self.root)
