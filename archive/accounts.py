"""Accounts, API tokens and per-collection grants, kept in the archive's SQLite store.

Passwords are hashed with argon2id (argon2-cffi); an API token is 256 random bits shown once and
kept only as its SHA-256 (a token is not guessable, so a slow hash adds nothing). Neither a
password nor a token is ever logged or returned by a listing. Who may do what with an account is
decided in archive/access.py; this module only keeps the records.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .access import ROLES, Viewer
from .store import Store, now

TOKEN_PREFIX = "foi_"
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Checked against when the account does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message is for the user."""


def check_email(address: str) -> str:
    """The address, stripped, when it looks like one an SMTP server takes; AccountError if not."""
    address = address.strip()
    if not _EMAIL.match(address) or len(address) > 254:
        raise AccountError(f"not an e-mail address: {address!r}")
    return address


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """The accounts of one archive."""

    def __init__(self, store: Store):
        self.db = store.db

    def any(self) -> bool:
        """Whether any account exists (a server with accounts requires login)."""
        return self.db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def add(self, name: str, role: str, password: str, email: str | None = None) -> None:
        name = name.strip()
        if not name or len(name) > 64 or any(c.isspace() for c in name):
            raise AccountError("an account name is 1 to 64 characters without spaces")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        check_password(password)
        email = check_email(email) if email else None
        if self.get(name) is not None:
            raise AccountError(f"account {name} exists already")
        self.db.execute(
            "INSERT INTO users(name, role, password_hash, created, email) VALUES (?,?,?,?,?)",
            (name, role, _hasher.hash(password), now(), email),
        )

    def set_email(self, name: str, email: str | None) -> None:
        """Set (or with None/"" clear) the address the account is told at (a disabled alert channel)."""
        cur = self.db.execute(
            "UPDATE users SET email=? WHERE name=?", (check_email(email) if email else None, name)
        )
        if cur.rowcount == 0:
            raise AccountError(f"no account {name}")

    def remove(self, name: str) -> bool:
        return self.db.execute("DELETE FROM users WHERE name=?", (name,)).rowcount > 0

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        cur = self.db.execute(
            "UPDATE users SET password_hash=?, session_version=session_version+1 WHERE name=?",
            (_hasher.hash(password), name),
        )
        if cur.rowcount == 0:
            raise AccountError(f"no account {name}")

    def get(self, name: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT name, role, session_version, created, email FROM users WHERE name=?", (name,)
        ).fetchone()
        return dict(row) if row else None

    def all(self) -> list[dict[str, Any]]:
        """Every account with its role and grants (never a hash)."""
        out = []
        for row in self.db.execute("SELECT name, role, created, email FROM users ORDER BY name").fetchall():
            viewer = self.viewer(str(row["name"]))
            out.append(
                dict(row)
                | {
                    "read": sorted(viewer.read) if viewer else [],
                    "write": sorted(viewer.write) if viewer else [],
                }
            )
        return out

    def authenticate(self, name: str, password: str) -> dict[str, Any] | None:
        """The account when the password is right, else None (in about the same time either way)."""
        row = self.db.execute("SELECT password_hash FROM users WHERE name=?", (name,)).fetchone()
        try:
            _hasher.verify(row[0] if row else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(row[0]):
            self.db.execute("UPDATE users SET password_hash=? WHERE name=?", (_hasher.hash(password), name))
        return self.get(name)

    def viewer(self, name: str) -> Viewer | None:
        """The account as a `Viewer` (role and grants), or None."""
        account = self.get(name)
        if account is None:
            return None
        read: set[str] = set()
        write: set[str] = set()
        for collection, can_write in self.db.execute(
            "SELECT collection, can_write FROM grants WHERE user_name=?", (name,)
        ):
            (write if can_write else read).add(str(collection))
        return Viewer(name=name, role=str(account["role"]), read=frozenset(read), write=frozenset(write))

    # -- grants -------------------------------------------------------------------------------

    def grant(self, collection: str, name: str, write: bool) -> None:
        if self.get(name) is None:
            raise AccountError(f"no account {name}")
        self.db.execute(
            "INSERT INTO grants(collection, user_name, can_write) VALUES (?,?,?) "
            "ON CONFLICT(collection, user_name) DO UPDATE SET can_write=excluded.can_write",
            (collection, name, int(write)),
        )

    def revoke(self, collection: str, name: str) -> bool:
        return (
            self.db.execute(
                "DELETE FROM grants WHERE collection=? AND user_name=?", (collection, name)
            ).rowcount
            > 0
        )

    def grants(self, collection: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT user_name AS user, can_write FROM grants WHERE collection=? ORDER BY user_name",
            (collection,),
        )
        return [{"user": r["user"], "access": "write" if r["can_write"] else "read"} for r in rows]

    # -- API tokens -----------------------------------------------------------------------------

    def create_token(self, name: str, label: str = "") -> str:
        """A new token for the account, returned once (only its hash is kept)."""
        if self.get(name) is None:
            raise AccountError(f"no account {name}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.db.execute(
            "INSERT INTO api_tokens(user_name, token_hash, label, created) VALUES (?,?,?,?)",
            (name, _token_hash(token), label, now()),
        )
        return token

    def tokens(self, name: str | None = None) -> list[dict[str, Any]]:
        """The tokens (id, account, label, created; never the token)."""
        where, params = ("WHERE user_name=?", (name,)) if name else ("", ())
        rows = self.db.execute(
            f"SELECT id, user_name AS user, label, created FROM api_tokens {where} ORDER BY id", params
        )
        return [dict(r) for r in rows]

    def revoke_token(self, token_id: int) -> bool:
        return self.db.execute("DELETE FROM api_tokens WHERE id=?", (token_id,)).rowcount > 0

    def token_viewer(self, token: str) -> Viewer | None:
        """The account a bearer token stands for, or None for an unknown token."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        row = self.db.execute(
            "SELECT user_name FROM api_tokens WHERE token_hash=?", (_token_hash(token),)
        ).fetchone()
        return self.viewer(str(row[0])) if row else None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
