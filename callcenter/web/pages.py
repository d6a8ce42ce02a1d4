"""The app's own pages: sign-in, sign-out, language choice, the home page."""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from callcenter.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    current_user,
    load_session,
    optional_user,
    set_cookie,
)
from callcenter.web.home import home_sections
from callcenter.web.i18n import LANG_COOKIE, Gettext, request_language
from callcenter.web.keys import AUDIT, CATALOGUES, SETTINGS, THROTTLE, USERS
from callcenter.web.throttle import Refused, minutes

MAX_FIELD = 200


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else ``/`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def remote_of(request: web.Request) -> str:
    """The client's address as the server sees it."""
    return request.remote or ""


async def login_page(request: web.Request) -> web.StreamResponse:
    if await optional_user(request) is not None:
        raise web.HTTPFound(safe_next(request.query.get("next")))
    return _login_form(request, error=None, status=200)


def refusal_message(_: Gettext, refused: Refused) -> str:
    """What the sign-in page says to an attempt the throttle refused."""
    if refused.reason == "busy":
        return _("Too many sign-ins at this moment. Try again in a few seconds.")
    if refused.reason == "address":
        return _("Too many failed sign-ins from your address. "
                 "Try again in %(minutes)d minutes.", minutes=minutes(refused.retry_after))
    return _("Too many failed sign-ins for this account. Try again in %(minutes)d minutes, "
             "or ask an administrator to unlock it.", minutes=minutes(refused.retry_after))


def _login_form(request: web.Request, error: str | None, status: int,
                username: str = "") -> web.StreamResponse:
    return aiohttp_jinja2.render_template(
        "login.html", request, {"error": error, "username": username,
                                "next": safe_next(request.query.get("next"))}, status=status)


async def login(request: web.Request) -> web.StreamResponse:
    """Check the password (throttled per user and address: 429, or 503 when too many are
    being checked at once); start a session on success."""
    form = await request.post()
    username = str(form.get("username", "")).strip()[:MAX_FIELD]
    password = str(form.get("password", ""))[:MAX_FIELD * 5]
    remote = remote_of(request)
    app = request.app
    _ = app[CATALOGUES].gettext(
        request_language(request, None, app[SETTINGS].web.default_language))
    if not username or not password:
        return _login_form(request, _("Enter your username and password."), 400, username)
    users = app[USERS]
    try:
        user = await app[THROTTLE].check(username, remote,
                                         lambda: users.verify(username, password))
    except Refused as refused:
        response = _login_form(request, refusal_message(_, refused), refused.status, username)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    if user is None:
        known = await users.get(username)
        reason = "unknown_user" if known is None else (
            "disabled" if known.disabled else "wrong_password")
        await app[AUDIT].record(username, "login_failed", f"user:{username}", remote=remote,
                                details={"reason": reason})
        return _login_form(request, _("Wrong username or password, or the account is disabled."),
                           401, username)
    hours = app[SETTINGS].web.session_hours
    token, _csrf = await users.create_session(user.username, hours=hours, remote=remote)
    await app[AUDIT].record(user.username, "login", f"user:{user.username}", remote=remote)
    response = web.HTTPFound(safe_next(str(form.get("next", "/"))))
    set_cookie(request, response, SESSION_COOKIE, token, hours * 3600)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    session = await load_session(request)
    token = request.cookies.get(SESSION_COOKIE)
    if session is not None and token:
        await request.app[USERS].end_session(token)
        await request.app[AUDIT].record(session.user.username, "logout",
                                        f"user:{session.user.username}",
                                        remote=remote_of(request))
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def set_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen language (for the user, and in a cookie) and go back."""
    form = await request.post()
    lang = str(form.get("language", ""))
    if lang not in ("zh", "en"):
        raise web.HTTPBadRequest(text="400: language must be zh or en")
    principal = await optional_user(request)
    if principal is not None:
        await request.app[USERS].set_language(principal.username, lang)
    response = web.HTTPFound(safe_next(str(form.get("next", "/"))))
    set_cookie(request, response, LANG_COOKIE, lang, 365 * 86400)
    raise response


async def home(request: web.Request) -> web.StreamResponse:
    """The role's home page: its sections (:mod:`callcenter.web.home`), then its links."""
    principal = await current_user(request)
    return aiohttp_jinja2.render_template("home.html", request, {
        "principal": principal, "sections": await home_sections(request, principal)})


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True})


def setup(app: web.Application) -> None:
    """Add the sign-in, sign-out, language and home routes."""
    app.router.add_get("/", home, name="home")
    app.router.add_get("/login", login_page, name="login")
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout, name="logout")
    app.router.add_post("/language", set_language, name="language")
    app.router.add_get("/healthz", healthz)
