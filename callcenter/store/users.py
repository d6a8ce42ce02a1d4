"""Web users (argon2id password hashes) and their server-side sessions."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["admin", "supervisor", "qa", "agent"]
ROLES: tuple[str, ...] = get_args(Role)
LANGUAGES = ("zh", "en")
MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_AGENT = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
SOFTPHONE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class UserError(ValueError):
    """Bad user input (unknown user, duplicate name, weak password...); the message says which.

    ``msgid`` and ``params`` let the web UI translate it (``str(exc)`` is English).
    """

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid % params if params else msgid)
        self.msgid, self.params = msgid, params


@dataclass(frozen=True)
class User:
    """One web user; ``agent`` is the agent endpoint (e.g. agent1001) of an agent user."""

    username: str
    role: str
    agent: str | None
    language: str | None
    disabled: bool
    created_at: datetime
    softphone: str | None = None
    """The user's own softphone endpoint (e.g. supervisor2001): where live monitoring rings."""


def _user(row: asyncpg.Record) -> User:
    return User(row["username"], row["role"], row["agent"], row["language"], row["disabled"],
                row["created_at"], row.get("softphone"))


def check_password(password: str) -> None:
    """Raise :class:`UserError` when ``password`` is too weak to be set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError("the password must have at least %(n)d characters",
                        n=MIN_PASSWORD_LENGTH)
    if password.strip() != password:
        raise UserError("the password must not start or end with spaces")


def _check_user(username: str, role: str, agent: str | None, language: str | None) -> None:
    if not _USERNAME.match(username):
        raise UserError("invalid username %(name)r: 1-64 of letters, digits, _ . @ -",
                        name=username)
    if role not in ROLES:
        raise UserError("unknown role %(role)r: one of %(roles)s", role=role,
                        roles=", ".join(ROLES))
    if role == "agent" and not agent:
        raise UserError("an agent user needs its agent endpoint (--agent, e.g. agent1001)")
    if role != "agent" and agent:
        raise UserError("only agent users are linked to an agent endpoint (role is %(role)s)",
                        role=role)
    if agent and not _AGENT.match(agent):
        raise UserError("invalid agent endpoint %(agent)r", agent=agent)
    if language is not None and language not in LANGUAGES:
        raise UserError("unknown language %(language)r: one of %(languages)s",
                        language=language, languages=", ".join(LANGUAGES))


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Session:
    """A logged-in session: its user and the session's CSRF token."""

    user: User
    csrf_token: str
    expires_at: datetime


class UserRepository:
    """Users and sessions in PostgreSQL; passwords only ever stored as argon2id hashes."""

    def __init__(self, pool: asyncpg.Pool, hasher: PasswordHasher = _hasher) -> None:
        self.pool = pool
        self.hasher = hasher

    async def add(self, username: str, role: str, password: str, *, agent: str | None = None,
                  language: str | None = None) -> User:
        """Create a user; :class:`UserError` for bad input or a taken name/agent."""
        _check_user(username, role, agent, language)
        check_password(password)
        try:
            row = await self.pool.fetchrow(
                "INSERT INTO users (username, role, agent, password_hash, language)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING *",
                username, role, agent, self.hasher.hash(password), language)
        except asyncpg.UniqueViolationError as exc:
            if "agent" in (exc.constraint_name or ""):
                raise UserError("agent endpoint %(agent)r already has a user",
                                agent=agent) from None
            raise UserError("username %(name)r is taken", name=username) from None
        assert row is not None
        return _user(row)

    async def get(self, username: str) -> User | None:
        """The user named ``username``, or None."""
        row = await self.pool.fetchrow("SELECT * FROM users WHERE username = $1", username)
        return _user(row) if row else None

    async def require(self, username: str) -> User:
        """The user named ``username``; :class:`UserError` when there is none."""
        user = await self.get(username)
        if user is None:
            raise UserError("no user named %(name)r", name=username)
        return user

    async def list(self) -> list[User]:
        """Every user, by role then name."""
        rows = await self.pool.fetch("SELECT * FROM users ORDER BY role, username")
        return [_user(r) for r in rows]

    async def verify(self, username: str, password: str) -> User | None:
        """The user when ``password`` is right and the user is enabled, else None.

        Costs one argon2 verification whether or not the user exists, in a worker thread
        (the event loop goes on meanwhile).
        """
        row = await self.pool.fetchrow("SELECT * FROM users WHERE username = $1", username)
        stored = row["password_hash"] if row else _DUMMY_HASH
        try:
            await asyncio.to_thread(self.hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        if self.hasher.check_needs_rehash(stored):
            await self.pool.execute("UPDATE users SET password_hash = $2 WHERE username = $1",
                                    username, self.hasher.hash(password))
        return _user(row)

    async def set_password(self, username: str, password: str, *,
                           end_sessions: bool = True) -> None:
        """Replace the password and (unless told otherwise) end the user's sessions."""
        check_password(password)
        await self._update(username, "password_hash = $2, password_changed_at = now()",
                           self.hasher.hash(password))
        if end_sessions:
            await self.end_sessions(username)

    async def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (ending every session) or enable a user."""
        await self._update(username, "disabled = $2", disabled)
        if disabled:
            await self.end_sessions(username)

    async def set_language(self, username: str, language: str | None) -> None:
        """The user's interface language (None: from the browser)."""
        if language is not None and language not in LANGUAGES:
            raise UserError("unknown language %(language)r: one of %(languages)s",
                            language=language, languages=", ".join(LANGUAGES))
        await self._update(username, "language = $2", language)

    async def set_softphone(self, username: str, endpoint: str | None) -> None:
        """The user's softphone endpoint (None: none); :class:`UserError` for a bad name."""
        if endpoint is not None and not SOFTPHONE.match(endpoint):
            raise UserError("a softphone endpoint is letters, digits, '_', '.' or '-'")
        await self._update(username, "softphone = $2", endpoint)

    async def _update(self, username: str, assignment: str, value: object) -> None:
        status = await self.pool.execute(
            f"UPDATE users SET {assignment} WHERE username = $1", username, value)
        if status.endswith(" 0"):
            raise UserError("no user named %(name)r", name=username)

    # ------------------------------------------------------------ sessions

    async def create_session(self, username: str, *, hours: float, remote: str = ""
                             ) -> tuple[str, str]:
        """A new session of ``hours``; returns (cookie token, CSRF token).

        Expired sessions of every user are deleted on the way.
        """
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM web_sessions WHERE expires_at <= now()")
            await conn.execute(
                "INSERT INTO web_sessions (token_hash, username, csrf_token, remote, expires_at)"
                " VALUES ($1, $2, $3, $4, now() + $5::interval)",
                _token_hash(token), username, csrf, remote, timedelta(hours=hours))
        return token, csrf

    async def session(self, token: str) -> Session | None:
        """The unexpired session of an enabled user behind cookie ``token``, or None."""
        row = await self.pool.fetchrow(
            "SELECT u.*, s.csrf_token, s.expires_at FROM web_sessions s JOIN users u USING"
            " (username) WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT u.disabled",
            _token_hash(token))
        return Session(_user(row), row["csrf_token"], row["expires_at"]) if row else None

    async def end_session(self, token: str) -> None:
        """Forget the session behind ``token`` (and any expired session)."""
        await self.pool.execute(
            "DELETE FROM web_sessions WHERE token_hash = $1 OR expires_at <= now()",
            _token_hash(token))

    async def end_sessions(self, username: str) -> None:
        """Forget every session of ``username``."""
        await self.pool.execute("DELETE FROM web_sessions WHERE username = $1", username)
