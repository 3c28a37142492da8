"""Who may use the archive: users with roles, API tokens, login throttling and the access log.

Everything lives in `auth.db` in the data home, apart from the catalogue (which can be copied
and shared without its users). Passwords are hashed with scrypt (werkzeug's
`generate_password_hash`), salted per user. API tokens are 256 random bits, so a plain SHA-256
hash is enough to store them (no slow hash is needed to resist guessing a random token).

Roles: **admin** (everything, and user management), **auditor** (search, read, download,
upload, export), **viewer** (search and read metadata, never the originals).

Sessions are revocable: each user has a session generation, kept in the session cookie at login
and compared on every request; a new password, a new role or disabling the user raise it, which
ends every session of that user at once. Logging out ends the one session (its random id is
kept as ended until any cookie carrying it has expired), so a copy of its cookie stops working
too. Tokens are looked up with their user's current role and state on every request.

Failed logins slow down the pair (name, address) they came from: five are free, then each
attempt has to wait for a delay that doubles (5 s, 10 s, … up to 15 minutes) — never a lock,
and nobody elsewhere can slow down someone else's logins. An admin can lift it (`unlock`).
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from .messages import message
from .sqlitedb import open_db

TOKEN_PREFIX = "aa_"
ROLES = ("admin", "auditor", "viewer")
# What each role may do; every endpoint names the permission it needs.
PERMISSIONS = {
    "admin": {"search", "read_metadata", "read_content", "download", "upload", "export", "manage_users"},
    "auditor": {"search", "read_metadata", "read_content", "download", "upload", "export"},
    "viewer": {"search", "read_metadata"},
}
ROLE_NAMES = {"admin": "管理员", "auditor": "审核员", "viewer": "查阅者"}
MIN_PASSWORD = 10
FREE_FAILURES = 5                 # failed logins of one name from one address before any delay, …
FIRST_DELAY = 5.0                 # … then a wait before the next attempt, doubled each time, …
MAX_DELAY = 15 * 60.0             # … up to this (seconds); failures older than the window are forgotten
FAILURE_WINDOW = 24 * 3600.0
ENDED_SESSIONS_KEPT = 24 * 3600.0   # longer than any session lasts (8 hours)

log = logging.getLogger(__name__)


class AccountError(ValueError):
    """A request about accounts that cannot be done (unknown role, weak password, …); its text is
    the Chinese message shown to the person who asked."""


class LoginThrottled(AccountError):
    """Too many failed logins for this name from this address: try again in `seconds`."""

    def __init__(self, seconds: float):
        self.seconds = max(1, int(seconds + 0.999))
        super().__init__(message("account.throttled", seconds=self.seconds))


def password_problem(name: str, password: str) -> str | None:
    """Why `password` is not acceptable for the user `name` (None when it is): at least
    MIN_PASSWORD characters, not only digits, not one character repeated, not the user name."""
    if len(password) < MIN_PASSWORD:
        return message("account.password_short", min=MIN_PASSWORD)
    if password.isdigit():
        return message("account.password_digits")
    if len(set(password)) == 1:
        return message("account.password_repeated")
    if password.strip().casefold() == name.strip().casefold():
        return message("account.password_is_name")
    return None


def _epoch() -> float:
    return time.time()


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
                                 "disabled": int, "session_gen": int}, pk="name", if_not_exists=True)
        if "session_gen" not in self.db["users"].columns_dict:        # an auth.db of an earlier version
            try:
                self.db["users"].add_column("session_gen", int, not_null_default=0)
            except sqlite3.OperationalError as exc:                   # another process added it first
                if "duplicate column" not in str(exc):
                    raise
        self.db["api_tokens"].create({"token_hash": str, "name": str, "created_at": str,
                                      "last_used_at": str, "revoked_at": str},
                                     pk="token_hash", if_not_exists=True)
        self.db["failed_logins"].create({"id": int, "name": str, "address": str, "at": float}, pk="id",
                                        if_not_exists=True)
        self.db["ended_sessions"].create({"sid": str, "at": float}, pk="sid", if_not_exists=True)
        if "login_failures" in self.db.table_names():     # the earlier lock-out counters: nothing to keep
            with self.db.conn:
                self.db.execute("drop table if exists login_failures")
        self.db["access_log"].create({"id": int, "at": str, "user": str, "action": str, "target": str,
                                      "detail": str, "address": str, "status": int}, pk="id", if_not_exists=True)
        for table, cols in (("api_tokens", ["name"]), ("failed_logins", ["name", "address", "at"]),
                            ("failed_logins", ["at"]), ("access_log", ["at"]), ("access_log", ["user"])):
            self.db[table].create_index(cols, if_not_exists=True)

    def close(self) -> None:
        self.db.conn.close()

    # -- users ------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str) -> User:
        name = name.strip()
        if not name or len(name) > 64:
            raise AccountError(message("account.name_length"))
        if role not in ROLES:
            raise AccountError(message("account.bad_role", roles="、".join(ROLES)))
        if problem := password_problem(name, password):
            raise AccountError(problem)
        if self.db["users"].count_where("name = ?", [name]):
            raise AccountError(message("account.exists", name=name))
        with self.db.conn:
            self.db["users"].insert({"name": name, "role": role, "password_hash": generate_password_hash(password),
                                     "created_at": _iso(_now()), "disabled": 0, "session_gen": 0})
        return User(name, role)

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session of the user ends (their API tokens stay)."""
        if problem := password_problem(name, password):
            raise AccountError(problem)
        with self.db.conn:
            if not self.db.execute("update users set password_hash = ?, session_gen = session_gen + 1 "
                                   "where name = ?", [generate_password_hash(password), name]).rowcount:
                raise AccountError(message("account.no_user", name=name))

    # An admin may lose the role or be disabled only while another enabled admin remains; checked
    # inside the one UPDATE, so two admins demoting each other at once cannot both succeed.
    _OTHER_ADMIN = ("(role != 'admin' or disabled or exists (select 1 from users as other where "
                    "other.role = 'admin' and not other.disabled and other.name != users.name))")

    def set_role(self, name: str, role: str) -> None:
        """A new role; every session of the user ends (tokens act with the new role at once).
        The last enabled admin keeps the role."""
        if role not in ROLES:
            raise AccountError(message("account.bad_role", roles="、".join(ROLES)))
        with self.db.conn:
            done = self.db.execute("update users set role = ?, session_gen = session_gen + 1 where name = ? "
                                   f"and (? = 'admin' or {self._OTHER_ADMIN})", [role, name, role]).rowcount
        if not done:
            self._refused(name, message("account.last_admin_role", name=name, role=ROLE_NAMES[role]))

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable (every session ends and every API token is revoked) or enable a user. The last
        enabled admin cannot be disabled."""
        with self.db.conn:
            done = self.db.execute("update users set disabled = ?, session_gen = session_gen + 1 where name = ? "
                                   f"and (not ? or {self._OTHER_ADMIN})", [int(disabled), name, int(disabled)]).rowcount
            if done and disabled:
                self.db.execute("update api_tokens set revoked_at = ? where name = ? and revoked_at is null",
                                [_iso(_now()), name])
        if not done:
            self._refused(name, message("account.last_admin_disable", name=name))

    def _refused(self, name: str, last_admin: str) -> None:
        if not self.db["users"].count_where("name = ?", [name]):
            raise AccountError(message("account.no_user", name=name))
        raise AccountError(last_admin)

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

    # -- sessions ---------------------------------------------------------------------------------
    def session_generation(self, name: str) -> int | None:
        """What a new session of `name` carries; None for an unknown or disabled user."""
        row = self.db.execute("select session_gen from users where name = ? and not disabled", [name]).fetchone()
        return row[0] if row else None

    def session_user(self, name: Any, generation: Any, sid: Any) -> User | None:
        """The enabled user of the session `sid`, if the session is of the user's current
        generation and was not ended by logging out."""
        if not (isinstance(name, str) and name and isinstance(sid, str) and sid and type(generation) is int):
            return None
        row = self.db.execute("select name, role from users where name = ? and not disabled and session_gen = ? "
                              "and not exists (select 1 from ended_sessions where sid = ?)",
                              [name, generation, sid]).fetchone()
        return User(*row) if row else None

    def end_session(self, sid: str) -> None:
        """End one session (logging out): its cookie, and any copy of it, no longer counts."""
        now = _epoch()
        with self.db.conn:
            self.db.execute("delete from ended_sessions where at < ?", [now - ENDED_SESSIONS_KEPT])
            self.db.execute("insert or ignore into ended_sessions (sid, at) values (?, ?)", [sid, now])

    def end_sessions(self, name: str) -> None:
        """End every session of `name` (every browser it is logged in with)."""
        with self.db.conn:
            self.db.execute("update users set session_gen = session_gen + 1 where name = ?", [name])

    # -- logins -----------------------------------------------------------------------------------
    def authenticate(self, name: str, password: str, address: str | None = None) -> User | None:
        """The user when the password is right; None when not. Raises LoginThrottled, without
        looking at the password, while this name has failed too often from this address. The
        bookkeeping is best effort: a data home that cannot be written does not stop logins."""
        address = address or ""
        wait = self.login_delay(name, address)
        if wait > 0:
            raise LoginThrottled(wait)
        row = self.db.execute("select name, role, password_hash from users where name = ? and not disabled",
                              [name]).fetchone()
        if row and check_password_hash(row[2], password):
            self._quietly("delete from failed_logins where name = ? and address = ?", [name, address])
            return User(row[0], row[1])
        if not row:
            generate_password_hash(password)      # the same work whether the name exists or not
        now = _epoch()
        self._quietly("delete from failed_logins where at < ?", [now - FAILURE_WINDOW])
        self._quietly("insert into failed_logins (name, address, at) values (?, ?, ?)", [name, address, now])
        return None

    def login_delay(self, name: str, address: str | None = None) -> float:
        """Seconds before the next login of `name` from `address` will be looked at (0: now)."""
        count, last = self.db.execute("select count(*), max(at) from failed_logins where name = ? and address = ? "
                                      "and at > ?", [name, address or "", _epoch() - FAILURE_WINDOW]).fetchone()
        if count < FREE_FAILURES:
            return 0.0
        delay = min(FIRST_DELAY * 2 ** min(count - FREE_FAILURES, 20), MAX_DELAY)
        return max(0.0, last + delay - _epoch())

    def throttled(self) -> dict[str, int]:
        """Users whose logins are being slowed down from some address: name → recent failures."""
        rows = self.db.execute("select name, count(*) from failed_logins where at > ? group by name, address "
                               "having count(*) >= ?", [_epoch() - FAILURE_WINDOW, FREE_FAILURES]).fetchall()
        out: dict[str, int] = {}
        for name, count in rows:
            out[name] = out.get(name, 0) + count
        return out

    def unlock(self, name: str) -> int:
        """Forget the failed logins of `name` (from every address); how many there were."""
        with self.db.conn:
            return self.db.execute("delete from failed_logins where name = ?", [name]).rowcount

    def _quietly(self, sql: str, args: list[Any]) -> None:
        """A write that may fail (a data home turned read-only) without failing what it serves."""
        try:
            with self.db.conn:
                self.db.execute(sql, args)
        except sqlite3.Error as exc:
            log.warning("could not write to %s: %s", self.path, exc)

    # -- API tokens ---------------------------------------------------------------------------
    def create_token(self, name: str) -> str:
        """A new token for the user `name`; the only time its text is available."""
        if self.user(name) is None:
            raise AccountError(message("account.no_enabled_user", name=name))
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.conn:
            self.db["api_tokens"].insert({"token_hash": _hash_token(token), "name": name,
                                          "created_at": _iso(_now()), "last_used_at": None, "revoked_at": None})
        return token

    def token_user(self, token: str | None) -> User | None:
        """The enabled user a valid, unrevoked token belongs to, with the user's current role."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = _hash_token(token)
        row = self.db.execute("select name from api_tokens where token_hash = ? and revoked_at is null",
                              [digest]).fetchone()
        user = self.user(row[0]) if row else None
        if user is not None:
            self._quietly("update api_tokens set last_used_at = ? where token_hash = ?", [_iso(_now()), digest])
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
