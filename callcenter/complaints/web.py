"""The complaint pages: the list (filters, registration), a complaint with its timeline
and the steps the user's role may take; the overdue watch feeding the wallboard.

Forms post back; bad input re-renders the page with the errors (400, naming the
field), a step that does not fit the state is a 409, a role that may not take it a
403; a database that does not answer gives the error page (503, callcenter.web.errors).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
import structlog
from aiohttp import web

from callcenter.complaints import workflow
from callcenter.complaints.forms import VERDICT_SOURCES
from callcenter.complaints.overdue import OverdueWatch
from callcenter.complaints.service import ComplaintDesk, Conflict, Forbidden, NotFound
from callcenter.db import DATABASE_FAILURES
from callcenter.formfields import FormError
from callcenter.live import LiveConsumer
from callcenter.store.complaints import Listing
from callcenter.wallboard.web import add_board_part
from callcenter.web.auth import Principal, current_user, optional_user, require_role
from callcenter.web.keys import CATALOGUES, LIVE, POOL, SETTINGS
from callcenter.web.nav import add_nav
from callcenter.web.words import labeller

log = structlog.get_logger(__name__)

ROLES = ("agent", "supervisor", "admin")
DESK = web.AppKey("complaint_desk", ComplaintDesk)
WATCH_TICK_S = 1.0
"""How often the overdue watch looks whether a deadline passed (in memory)."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refusal(request: web.Request, who: Principal | None, exc: Exception) -> str:
    """Why a step was refused, in the user's language (the state and step as words)."""
    why = exc.args[0] if exc.args else exc
    if not isinstance(why, workflow.TransitionError) or who is None:
        return str(why)
    _ = request.app[CATALOGUES].gettext(who.language)
    label, p = labeller(_), why.params
    words = {"state": label("complaint", p.get("state")),
             "action": label("complaint_step", p.get("action")), "role": _(p.get("role", ""))}
    return _(why.msgid, **{k: v for k, v in words.items() if k in p})


def page(handler: Handler) -> Handler:
    """HTTP errors for the desk's refusals (403, 404, 409); a database that does not
    answer is the error page's (503, callcenter.web.errors)."""

    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Forbidden as exc:
            who = await optional_user(request)
            raise web.HTTPForbidden(text=f"403: {refusal(request, who, exc)}") from None
        except NotFound as exc:
            raise web.HTTPNotFound(text=f"404: {exc}") from None
        except Conflict as exc:
            who = await optional_user(request)
            raise web.HTTPConflict(text=f"409: {refusal(request, who, exc)}") from None

    return run


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise NotFound("No such complaint.")
    return int(value)


def listing_of(request: web.Request, now: datetime) -> Listing:
    """The list's filters from the query string (unknown values are ignored)."""
    q = request.query
    status = q.get("status") if q.get("status") in workflow.STATES else None
    return Listing(status, now if q.get("overdue") == "1" else None, q.get("reason") or None,
                   q.get("agent") or None)


@page
@require_role(*ROLES)
async def list_page(request: web.Request) -> web.StreamResponse:
    """The complaints matching the filters, and the registration form."""
    return await _list_page(request, await current_user(request), {}, {}, 200)


async def _list_page(request: web.Request, who: Principal, posted: dict[str, Any],
                     errors: dict[str, str], status: int) -> web.StreamResponse:
    desk, now = request.app[DESK], datetime.now(UTC)
    items = await desk.listing(who, listing_of(request, now))
    return aiohttp_jinja2.render_template("complaints/list.html", request, {
        "complaints": items, "now": now, "reasons": desk.reasons, "states": workflow.STATES,
        "query": request.query, "posted": posted, "errors": errors}, status=status)


@page
@require_role(*ROLES)
async def register(request: web.Request) -> web.StreamResponse:
    who = await current_user(request)
    posted = dict(await request.post())
    try:
        k = await request.app[DESK].register(who, posted, remote=request.remote or "")
    except FormError as exc:
        return await _list_page(request, who, posted, exc.errors, 400)
    raise web.HTTPSeeOther(f"/complaints/{k.id}")


@page
@require_role(*ROLES)
async def detail_page(request: web.Request) -> web.StreamResponse:
    """A complaint: its facts, timeline, evidence and the steps the user may take."""
    return await _detail_page(request, await current_user(request), None, {}, {}, 200)


async def _detail_page(request: web.Request, who: Principal, failed: str | None,
                       posted: dict[str, Any], errors: dict[str, str],
                       status: int) -> web.StreamResponse:
    desk = request.app[DESK]
    k = await desk.get(who, _id(request.match_info["id"]))
    actions = workflow.allowed(k.status, who.role)  # type: ignore[arg-type]
    return aiohttp_jinja2.render_template("complaints/detail.html", request, {
        "k": k, "now": datetime.now(UTC), "events": await desk.repo.events(k.id),
        "evidence": await desk.repo.evidence(k.id), "actions": actions,
        "reasons": desk.reasons, "sources": VERDICT_SOURCES,
        "supervisors": await desk.repo.supervisors() if "not_satisfied" in actions else [],
        "failed": failed, "posted": posted, "errors": errors}, status=status)


@page
@require_role(*ROLES)
async def act(request: web.Request) -> web.StreamResponse:
    """Take a step (``/complaints/{id}/{action}``)."""
    who = await current_user(request)
    action = request.match_info["action"]
    posted = dict(await request.post())
    complaint_id = _id(request.match_info["id"])
    try:
        await request.app[DESK].act(who, complaint_id, action, posted,
                                    remote=request.remote or "")
    except FormError as exc:
        return await _detail_page(request, who, action, posted, exc.errors, 400)
    raise web.HTTPSeeOther(f"/complaints/{complaint_id}")


# -- the overdue alert on the wallboard ------------------------------------------------------
def overdue_part(app: web.Application) -> Callable[[datetime], dict[str, Any]]:
    """The wallboard part's context at the board's ``now``: the overdue complaints."""
    watch = app[DESK].watch
    return lambda now: {"overdue": watch.alerts(now), "stale_since": watch.failing_since}


async def keep_watch(app: web.Application) -> AsyncIterator[None]:
    """While the app runs: reread the deadlines every ``overdue_refresh_s`` and, every
    second, republish the board when the overdue set changed (no database work)."""
    desk, every = app[DESK], app[SETTINGS].complaints.overdue_refresh_s

    async def reread() -> None:
        while True:
            try:
                desk.watch.load(await desk.repo.pending_deadlines(), datetime.now(UTC))
            except DATABASE_FAILURES as exc:  # the board says so; /readyz reports the database
                desk.watch.load_failed(datetime.now(UTC))
                log.error("complaint_deadlines_unreadable", error=repr(exc))
            except Exception:  # never a silent stop: logged, tried again
                desk.watch.load_failed(datetime.now(UTC))
                log.exception("complaint_deadlines_failed")
            await asyncio.sleep(every)

    async def tick() -> None:
        while True:
            live = app[LIVE]
            if isinstance(live, LiveConsumer) and desk.watch.changed(live.state.now()):
                live.publish()
            await asyncio.sleep(WATCH_TICK_S)

    tasks = [asyncio.create_task(reread()), asyncio.create_task(tick())]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def setup(app: web.Application) -> None:
    """The desk, the pages, the nav entry, the wallboard part and its watch."""
    app[DESK] = ComplaintDesk(app[SETTINGS], app[POOL], OverdueWatch())
    r = app.router
    r.add_get("/complaints", list_page, name="complaints")
    r.add_post("/complaints", register)
    r.add_get("/complaints/{id}", detail_page)
    r.add_post("/complaints/{id}/{action}", act)
    add_nav(app, "/complaints", "Complaints", ROLES)
    add_board_part(app, "complaints/_overdue.html", overdue_part(app))
    app.cleanup_ctx.append(keep_watch)
