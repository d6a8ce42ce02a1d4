"""Admin pages: users (add, disable/enable, new password) and the audit log; demo users."""

from __future__ import annotations

import secrets

import aiohttp_jinja2
import asyncpg
from aiohttp import web

from callcenter.store.users import LANGUAGES, ROLES, UserError, UserRepository
from callcenter.web.auth import current_user, require_role
from callcenter.web.i18n import Gettext
from callcenter.web.keys import AUDIT, CATALOGUES, THROTTLE, USERS
from callcenter.web.nav import add_nav
from callcenter.web.pages import remote_of

DEMO_USERS = (("admin", "admin", None), ("supervisor", "supervisor", None), ("qa", "qa", None),
              ("agent", "agent", "agent1001"))
AUDIT_ROWS = 200


async def ensure_demo_users(pool: asyncpg.Pool) -> str:
    """One enabled user per role with a fresh random password; the credentials as text."""
    users = UserRepository(pool)
    lines = []
    for name, role, agent in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        if await users.get(name) is None:
            await users.add(name, role, password, agent=agent)
        else:
            await users.set_password(name, password)
            await users.set_disabled(name, False)
        lines.append(f"{name} / {password}  ({role}{', ' + agent if agent else ''})")
    return "".join("\n    " + line for line in lines)


def _gettext(request: web.Request, lang: str) -> Gettext:
    return request.app[CATALOGUES].gettext(lang)


async def _page(request: web.Request, message: str | None = None, error: str | None = None,
                status: int = 200) -> web.StreamResponse:
    locks = await request.app[THROTTLE].locks()
    return aiohttp_jinja2.render_template("users.html", request, {
        "users": await request.app[USERS].list(), "roles": ROLES, "languages": LANGUAGES,
        "user_locks": {lock.key: lock for lock in locks if lock.scope == "user"},
        "address_locks": [lock for lock in locks if lock.scope == "address"],
        "message": message, "error": error}, status=status)


@require_role("admin")
async def users_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@require_role("admin")
async def add_user(request: web.Request) -> web.StreamResponse:
    admin = await current_user(request)
    _ = _gettext(request, admin.language)
    form = await request.post()
    name, role = str(form.get("username", "")).strip(), str(form.get("role", ""))
    agent = str(form.get("agent", "")).strip() or None
    language = str(form.get("language", "")) or None
    try:
        await request.app[USERS].add(name, role, str(form.get("password", "")), agent=agent,
                                     language=language)
    except UserError as exc:
        return await _page(request, error=_(exc.msgid, **exc.params), status=400)
    await request.app[AUDIT].record(admin.username, "user_added", f"user:{name}",
                                    remote=remote_of(request),
                                    details={"role": role, "agent": agent})
    return await _page(request, message=_("User %(name)s added.", name=name))


@require_role("admin")
async def change_user(request: web.Request) -> web.StreamResponse:
    """POST /users/{username}/{disable|enable|password|unlock}."""
    admin = await current_user(request)
    _ = _gettext(request, admin.language)
    name, what = request.match_info["username"], request.match_info["what"]
    users = request.app[USERS]
    try:
        if what == "password":
            form = await request.post()
            await users.set_password(name, str(form.get("password", "")))
            action, message = "password_changed", _("Password of %(name)s changed.", name=name)
        elif what == "unlock":
            await request.app[THROTTLE].unlock("user", name)
            action, message = "login_unlocked", _("Sign-in of %(name)s unlocked.", name=name)
        elif name == admin.username:
            raise UserError("You cannot disable or enable yourself.")
        else:
            await users.set_disabled(name, what == "disable")
            action = f"user_{what}d"
            message = (_("User %(name)s disabled.", name=name) if what == "disable"
                       else _("User %(name)s enabled.", name=name))
    except UserError as exc:
        return await _page(request, error=_(exc.msgid, **exc.params), status=400)
    await request.app[AUDIT].record(admin.username, action, f"user:{name}",
                                    remote=remote_of(request))
    return await _page(request, message=message)


@require_role("admin")
async def unlock_address(request: web.Request) -> web.StreamResponse:
    """POST /users/unlock-address: lift the sign-in lock of the form's ``address``."""
    admin = await current_user(request)
    _ = _gettext(request, admin.language)
    address = str((await request.post()).get("address", ""))
    if not await request.app[THROTTLE].unlock("address", address):
        return await _page(request, error=_("No sign-in lock on %(address)s.", address=address),
                           status=400)
    await request.app[AUDIT].record(admin.username, "address_unlocked", f"address:{address}",
                                    remote=remote_of(request))
    return await _page(request, message=_("Sign-in from %(address)s unlocked.",
                                          address=address))


@require_role("admin")
async def audit_page(request: web.Request) -> web.StreamResponse:
    """The latest audit entries, filtered by actor, action and object (exact match)."""
    filters = {k: request.query.get(k) or None for k in ("actor", "action", "object")}
    entries = await request.app[AUDIT].entries(**filters, limit=AUDIT_ROWS)
    return aiohttp_jinja2.render_template("audit.html", request, {
        "entries": entries, "filters": filters})


def setup(app: web.Application) -> None:
    """The admin's user and audit pages."""
    app.router.add_get("/users", users_page, name="users")
    app.router.add_post("/users", add_user)
    app.router.add_post("/users/unlock-address", unlock_address)
    app.router.add_post(r"/users/{username}/{what:disable|enable|password|unlock}", change_user)
    app.router.add_get("/audit", audit_page, name="audit")
    add_nav(app, "/users", "Users", ["admin"])
    add_nav(app, "/audit", "Audit log", ["admin"])
