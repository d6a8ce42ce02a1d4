"""The signed-in user's own account: change the password (every role); the softphone
endpoint live monitoring rings (users allowed to monitor)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from callcenter.store.users import UserError
from callcenter.web.auth import SESSION_COOKIE, current_user, may_monitor, set_cookie
from callcenter.web.keys import AUDIT, CATALOGUES, SETTINGS, USERS
from callcenter.web.pages import remote_of


async def account_page(request: web.Request) -> web.StreamResponse:
    await current_user(request)
    return await _page(request)


async def _page(request: web.Request, message: str | None = None, error: str | None = None,
                status: int = 200) -> web.StreamResponse:
    principal = await current_user(request)
    user = await request.app[USERS].get(principal.username)
    monitors = may_monitor(request.app[SETTINGS].monitoring, principal)
    return aiohttp_jinja2.render_template("account.html", request, {
        "message": message, "error": error, "monitors": monitors,
        "softphone": user.softphone if user else None}, status=status)


async def change_password(request: web.Request) -> web.StreamResponse:
    """Check the current password, set the new one (typed twice), start a fresh session.

    Every other session of the user ends.
    """
    user = await current_user(request)
    _ = request.app[CATALOGUES].gettext(user.language)
    form = await request.post()
    new = str(form.get("new_password", ""))
    users = request.app[USERS]
    if await users.verify(user.username, str(form.get("password", ""))) is None:
        await request.app[AUDIT].record(user.username, "password_change_failed",
                                        f"user:{user.username}", remote=remote_of(request))
        return await _page(request, error=_("The current password is wrong."), status=400)
    if new != str(form.get("repeat", "")):
        return await _page(request, error=_("The two new passwords differ."), status=400)
    try:
        await users.set_password(user.username, new)
    except UserError as exc:
        return await _page(request, error=_(exc.msgid, **exc.params), status=400)
    await request.app[AUDIT].record(user.username, "password_changed", f"user:{user.username}",
                                    remote=remote_of(request))
    hours = request.app[SETTINGS].web.session_hours
    token, _csrf = await users.create_session(user.username, hours=hours,
                                              remote=remote_of(request))
    response = web.HTTPFound("/account?changed=1")
    set_cookie(request, response, SESSION_COOKIE, token, hours * 3600)
    raise response


async def set_softphone(request: web.Request) -> web.StreamResponse:
    """Set (or clear) the user's softphone endpoint; users allowed to monitor only."""
    user = await current_user(request)
    _ = request.app[CATALOGUES].gettext(user.language)
    if not may_monitor(request.app[SETTINGS].monitoring, user):
        raise web.HTTPForbidden(text=_("You are not allowed to monitor calls."))
    endpoint = str((await request.post()).get("softphone", "")).strip() or None
    try:
        await request.app[USERS].set_softphone(user.username, endpoint)
    except UserError as exc:
        return await _page(request, error=_(exc.msgid, **exc.params), status=400)
    await request.app[AUDIT].record(user.username, "softphone_set", f"user:{user.username}",
                                    remote=remote_of(request), details={"softphone": endpoint})
    return await _page(request, message=_("Your softphone endpoint was saved."))


def setup(app: web.Application) -> None:
    """GET /account, POST /account/password, POST /account/softphone."""
    app.router.add_get("/account", account_page, name="account")
    app.router.add_post("/account/password", change_password)
    app.router.add_post("/account/softphone", set_softphone)
