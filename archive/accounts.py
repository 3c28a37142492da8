"""Who may use the archive: users with roles, API tokens, login throttling and the access log.

Everything lives in `auth.db` in the data home, apart from the catalogue (which can be copied
and shared without its users). Passwords are hashed with scrypt (werkzeug's
`generate_password_hash`), salted per user. API tokens are 256 random bits, so a plain SHA-256
hash is enough to store them (no slow hash is needed to resist guessing a random token).

Roles: **admin** (everything, and user management), **auditor** (search, read, download,
upload, export), **viewer** (search and read metadata, never the originals).
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from .sqlitedb import open_db

TOKEN_PREFIX = "aa_"
ROLES = ("admin", "auditor", "viewer")
# What each role may do; every endpoint names the permission it needs.
PERMISSIONS = {
    "admin": {"search", "read_metadata", "read_content", "download", "upload", "export", "manage_users"},
    "auditor": {"search", "read_metadata", "read_content", "download", "upload", "export"},
    "viewer": {"search", "read_metadata"},
}
MIN_PASSWORD = 10
MAX_FAILURES = {"user": 5, "addr": 30}   # failed logins of one name, or from one address, …
FAILURE_WINDOW = timedelta(minutes=15)    # … within this window lock it for the rest of it


class AccountError(ValueError):
    """A request about accounts that cannot be done (unknown role, weak password, …)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, set())


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Users, tokens, login attempts and the access log in one SQLite file."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.db = open_db(self.path)
        self.db["users"].create({"name": str, "role": str, "password_hash": str, "created_at": str,
                                 "disabled": int}, pk="name", if_not_exists=True)
        self.db["api_tokens"].create({"token_hash": str, "name": str, "created_at": str,
                                      "last_used_at": str, "revoked_at": str},
                                     pk="token_hash", if_not_exists=True)
        self.db["login_failures"].create({"id": int, "key": str, "at": str}, pk="id", if_not_exists=True)
        self.db["access_log"].create({"id": int, "at": str, "user": str, "action": str, "target": str,
                                      "detail": str, "address": str, "status": int}, pk="id", if_not_exists=True)
        for table, cols in (("api_tokens", ["name"]), ("login_failures", ["key"]), ("access_log", ["at"]),
                            ("access_log", ["user"])):
            self.db[table].create_index(cols, if_not_exists=True)

    def close(self) -> None:
        self.db.conn.close()

    # -- users ------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str) -> User:
        name = name.strip()
        if not name or len(name) > 64:
            raise AccountError("a user name has 1 to 64 characters")
        if role not in ROLES:
            raise AccountError(f"the role is one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
        if self.db["users"].count_where("name = ?", [name]):
            raise AccountError(f"there is already a user {name}")
        with self.db.conn:
            self.db["users"].insert({"name": name, "role": role, "password_hash": generate_password_hash(password),
                                     "created_at": _iso(_now()), "disabled": 0})
        return User(name, role)

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
        with self.db.conn:
            if not self.db.execute("update users set password_hash = ? where name = ?",
                                   [generate_password_hash(password), name]).rowcount:
                raise AccountError(f"no user {name}")

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise AccountError(f"the role is one of {', '.join(ROLES)}")
        with self.db.conn:
            if not self.db.execute("update users set role = ? where name = ?", [role, name]).rowcount:
                raise AccountError(f"no user {name}")

    def set_disabled(self, name: str, disabled: bool) -> None:
        with self.db.conn:
            if not self.db.execute("update users set disabled = ? where name = ?", [int(disabled), name]).rowcount:
                raise AccountError(f"no user {name}")

    def user(self, name: str | None) -> User | None:
        """An enabled user by name."""
        if not name:
            return None
        row = self.db.execute("select name, role from users where name = ? and not disabled", [name]).fetchone()
        return User(*row) if row else None

    def users(self) -> list[dict[str, Any]]:
        return list(self.db.query("select name, role, created_at, disabled from users order by name"))

    def user_count(self) -> int:
        return self.db["users"].count

    def authenticate(self, name: str, password: str, address: str | None = None) -> User | None:
        """The user when the password is right and neither the name nor the address is locked
        by recent failures; raises AccountError("locked") while locked."""
        keys = [f"user:{name}"] + ([f"addr:{address}"] if address else [])
        if any(self.failures(k) >= MAX_FAILURES[k.split(":", 1)[0]] for k in keys):
            raise AccountError("locked")
        row = self.db.execute("select name, role, password_hash from users where name = ? and not disabled",
                              [name]).fetchone()
        if row and check_password_hash(row[2], password):
            with self.db.conn:
                self.db.execute("delete from login_failures where key = ?", [f"user:{name}"])
            return User(row[0], row[1])
        if not row:
            generate_password_hash(password)      # the same work whether the name exists or not
        with self.db.conn:
            self.db["login_failures"].insert_all([{"key": k, "at": _iso(_now())} for k in keys])
        return None

    def failures(self, key: str) -> int:
        since = _iso(_now() - FAILURE_WINDOW)
        return self.db.execute("select count(*) from login_failures where key = ? and at > ?", [key, since]).fetchone()[0]

    # -- API tokens ---------------------------------------------------------------------------
    def create_token(self, name: str) -> str:
        """A new token for the user `name`; the only time its text is available."""
        if self.user(name) is None:
            raise AccountError(f"no user {name}: add one first (auditarchive users add {name} --role …)")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.conn:
            self.db["api_tokens"].insert({"token_hash": _hash_token(token), "name": name,
                                          "created_at": _iso(_now()), "last_used_at": None, "revoked_at": None})
        return token

    def token_user(self, token: str | None) -> User | None:
        """The enabled user a valid, unrevoked token belongs to."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = _hash_token(token)
        row = self.db.execute("select name from api_tokens where token_hash = ? and revoked_at is null",
                              [digest]).fetchone()
        user = self.user(row[0]) if row else None
        if user is not None:
            with self.db.conn:
                self.db.execute("update api_tokens set last_used_at = ? where token_hash = ?", [_iso(_now()), digest])
        return user

    def tokens(self) -> list[dict[str, Any]]:
        """Every token's owner and dates (never the token)."""
        return list(self.db.query("select name, created_at, last_used_at, revoked_at, "
                                  "substr(token_hash, 1, 8) as hash_prefix from api_tokens order by created_at"))

    def revoke_tokens(self, name: str) -> int:
        with self.db.conn:
            return self.db.execute("update api_tokens set revoked_at = ? where name = ? and revoked_at is null",
                                   [_iso(_now()), name]).rowcount

    # -- access log ------------------------------------------------------------------------------
    def log(self, user: str | None, action: str, target: str = "", detail: str = "", address: str | None = None,
            status: int = 200) -> None:
        """Record who searched, viewed, downloaded, uploaded or exported what."""
        with self.db.conn:
            self.db["access_log"].insert({"at": _iso(_now()), "user": user, "action": action, "target": target[:300],
                                          "detail": detail[:500], "address": address, "status": status})

    def access_log(self, limit: int = 200, user: str | None = None, action: str | None = None) -> list[dict[str, Any]]:
        where, args = [], []
        if user:
            where.append("user = ?")
            args.append(user)
        if action:
            where.append("action = ?")
            args.append(action)
        sql = "select * from access_log" + (" where " + " and ".join(where) if where else "")
        return list(self.db.query(sql + " order by id desc limit ?", args + [limit]))


def new_password() -> str:
    """A random password a person can type (for the first admin)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def slow_down() -> None:
    """A fixed pause after a failed login (blunts guessing without locking anyone out)."""
    time.sleep(0.3)
