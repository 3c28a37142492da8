"""API tokens: created for a name, shown once, stored only as a SHA-256 hash.

Tokens are 256 random bits, so a plain hash is enough (no salt or slow hash is needed to resist
guessing, unlike passwords); a lookup by hash never compares secrets byte by byte in Python.
The store is `auth.db` in the data home, apart from the catalogue.
"""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

TOKEN_PREFIX = "aa_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class TokenStore:
    """Create, verify, list and revoke API tokens."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db["api_tokens"].create({"token_hash": str, "name": str, "created_at": str,
                                      "last_used_at": str, "revoked_at": str},
                                     pk="token_hash", if_not_exists=True)
        self.db["api_tokens"].create_index(["name"], if_not_exists=True)

    def close(self) -> None:
        self.db.conn.close()

    def create(self, name: str) -> str:
        """A new token for `name`; the only time its text is available."""
        name = name.strip()
        if not name:
            raise ValueError("a token needs a name")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.conn:
            self.db["api_tokens"].insert({"token_hash": _hash(token), "name": name,
                                          "created_at": _now(), "last_used_at": None, "revoked_at": None})
        return token

    def verify(self, token: str | None) -> str | None:
        """The name a valid, unrevoked token belongs to, else None."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = _hash(token)
        row = self.db.execute("select name from api_tokens where token_hash = ? and revoked_at is null",
                              [digest]).fetchone()
        if row is None:
            return None
        with self.db.conn:
            self.db.execute("update api_tokens set last_used_at = ? where token_hash = ?", [_now(), digest])
        return row[0]

    def list(self) -> list[dict[str, Any]]:
        """Every token's name and dates (never the token)."""
        return list(self.db.query("select name, created_at, last_used_at, revoked_at, "
                                  "substr(token_hash, 1, 8) as hash_prefix from api_tokens order by created_at"))

    def revoke(self, name: str) -> int:
        """Revoke every live token of `name`; returns how many."""
        with self.db.conn:
            cur = self.db.execute("update api_tokens set revoked_at = ? where name = ? and revoked_at is null",
                                  [_now(), name])
        return cur.rowcount
