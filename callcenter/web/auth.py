"""Who is asking: sessions, ``current_user``, ``require_role`` and the CSRF check.

A session cookie (HttpOnly, SameSite=Lax, Secure unless ``web.secure_cookies``
is false) holds a random token; the session (user, CSRF token, expiry) lives in
the database. Every POST/PUT/PATCH/DELETE must carry the session's CSRF token
(form field ``csrf_token`` or header ``X-CSRF-Token``); before sign-in, the
login form's token is a double-submit cookie. API clients may instead send
``Authorization: Bearer <token>`` (a session issued by ``callcenter user
token``); such requests carry no cookie and need no CSRF token.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from callcenter.db import DATABASE_DOWN
from callcenter.settings import MonitoringSettings
from callcenter.store.users import Session
from callcenter.web.i18n import request_language
from callcenter.web.keys import LOGIN_CSRF, SESSION, SETTINGS, USERS

SESSION_COOKIE = "cc_session"
LOGIN_CSRF_COOKIE = "cc_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLES = ("admin", "supervisor", "qa", "agent")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Principal:
    """The signed-in user: ``role`` in admin | supervisor | qa | agent; ``agent`` is the
    agent endpoint of an agent user (e.g. agent1001); ``language`` the UI language now."""

    username: str
    role: str
    agent: str | None
    language: str


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (API clients), or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def load_session(request: web.Request) -> Session | None:
    """The request's valid session (looked up once per request), or None.

    From the session cookie, or else from a bearer token (``callcenter user token``).
    """
    if SESSION not in request:
        token = request.cookies.get(SESSION_COOKIE) or bearer_token(request)
        request[SESSION] = await request.app[USERS].session(token) if token else None
    session = request[SESSION]
    assert session is None or isinstance(session, Session)
    return session


async def optional_user(request: web.Request) -> Principal | None:
    """The signed-in user, or None."""
    session = await load_session(request)
    if session is None:
        return None
    u = session.user
    lang = request_language(request, u.language, request.app[SETTINGS].web.default_language)
    return Principal(u.username, u.role, u.agent, lang)


async def user_and_language(request: web.Request) -> tuple[Principal | None, str]:
    """The signed-in user (None when not signed in, or when the database that holds the
    session is down) and the page's language: the user's, else the browser's or the
    default."""
    try:
        user = await optional_user(request)
    except DATABASE_DOWN:
        user = None
    if user is not None:
        return user, user.language
    return None, request_language(request, None, request.app[SETTINGS].web.default_language)


def is_api(request: web.Request) -> bool:
    """True for the JSON API (``/api/...``): 401 instead of a redirect to the login page."""
    return request.path.startswith("/api/")


async def current_user(request: web.Request) -> Principal:
    """The signed-in user; otherwise HTTPFound to /login (pages) or 401 (``/api/...``)."""
    principal = await optional_user(request)
    if principal is None:
        if is_api(request):
            raise web.HTTPUnauthorized(text='{"error": "not signed in"}',
                                       content_type="application/json")
        raise web.HTTPFound("/login?next=" + quote(request.path_qs, safe="/"))
    return principal


def require_role(*roles: str) -> Callable[[Handler], Handler]:
    """Decorate a handler: sign-in required, and 403 unless the user's role is in ``roles``."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            principal = await current_user(request)
            if principal.role not in roles:
                if is_api(request):
                    raise web.HTTPForbidden(text='{"error": "forbidden"}',
                                            content_type="application/json")
                raise web.HTTPForbidden(text="403: your role may not open this page")
            return await handler(request)

        return guarded

    return decorate


async def csrf_token(request: web.Request) -> str:
    """The token forms and scripts must send back: the session's, or the login cookie's."""
    session = await load_session(request)
    if session is not None:
        return session.csrf_token
    if LOGIN_CSRF not in request:
        request[LOGIN_CSRF] = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    return request[LOGIN_CSRF]


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """403 for a state-changing request without the right CSRF token.

    What to expect comes from the session or the login cookie, and a token sent in
    the header is checked, before any body is read; only a form without the header
    is read (within the route's body limit, :mod:`callcenter.web.limits`) for its
    ``csrf_token`` field.
    """
    if request.method in UNSAFE_METHODS and (
            SESSION_COOKIE in request.cookies or bearer_token(request) is None):
        # a bearer token is not sent by browsers on their own: no forgery to guard against
        session = await load_session(request)
        expected = session.csrf_token if session else request.cookies.get(LOGIN_CSRF_COOKIE)
        sent = request.headers.get(CSRF_HEADER)
        if expected and sent is None and request.content_type in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            value = (await request.post()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not expected or not sent or not hmac.compare_digest(expected, sent):
            raise web.HTTPForbidden(text="403: missing or wrong CSRF token; reload the page")
    response = await handler(request)
    if LOGIN_CSRF in request and LOGIN_CSRF_COOKIE not in request.cookies \
            and not response.prepared:
        set_cookie(request, response, LOGIN_CSRF_COOKIE, request[LOGIN_CSRF], None)
    return response


def may_monitor(settings: MonitoringSettings, principal: Principal) -> bool:
    """True when ``principal``'s role or name is allowed by ``[monitoring]``."""
    return principal.role in settings.roles or principal.username in settings.users


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               max_age: float | None) -> None:
    """Set an HttpOnly, SameSite=Lax cookie; Secure unless ``web.secure_cookies`` is false."""
    kwargs: dict[str, Any] = {"max_age": int(max_age)} if max_age is not None else {}
    response.set_cookie(name, value, httponly=True, samesite="Lax", path="/",
                        secure=request.app[SETTINGS].web.secure_cookies, **kwargs)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No framing, no MIME sniffing, scripts and styles only from this server."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _headers(response)
        raise
    _headers(response)
    return response


def _headers(response: web.StreamResponse) -> None:
    if response.prepared:
        return
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "frame-ancestors 'none'; form-action 'self'")
