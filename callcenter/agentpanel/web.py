"""The agent panel in the web app: the panel page, the agent's event stream, a JSON API.

``setup(app)`` builds the services on the app's pool, audit log and command
port, adds the routes (the server-rendered pages are in
:mod:`callcenter.agentpanel.pages`, what they show in :mod:`callcenter.agentpanel.views`),
the home section (:mod:`callcenter.agentpanel.home`) and the nav entries. The live feed
is the daemon's :class:`AgentFeed` consumer, handed to the app with :func:`attach_feed`;
without it the panel works but does not pop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
import structlog
from aiohttp import web

from callcenter.agentpanel import home, pages
from callcenter.agentpanel.feed import AgentFeed, Event
from callcenter.agentpanel.forms import FormError, positive_id
from callcenter.agentpanel.presence import NoPbx
from callcenter.agentpanel.services import PANEL, build_panel, panel
from callcenter.agentpanel.views import (
    Mask,
    call_view,
    follow_up_view,
    screen_pop_view,
    to_json,
)
from callcenter.db import DATABASE_FAILURES
from callcenter.web import sse
from callcenter.web.auth import Principal, current_user, require_role
from callcenter.web.keys import CATALOGUES, SETTINGS
from callcenter.web.masking import mask_number
from callcenter.web.nav import add_nav
from callcenter.web.replies import reply_text
from callcenter.web.words import labeller

KEEPALIVE_S = 5.0
"""A comment line this often keeps proxies from closing a quiet stream; also how soon a
follow-up planned after the stream opened is found (those planned before are reminded
at their due time)."""
log = structlog.get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def masker(principal: Principal) -> Mask:
    """``mask_number`` for ``principal``."""
    return lambda number: mask_number(number, principal)


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON response (dates ISO 8601, dataclasses as objects)."""
    return web.json_response(data, status=status, dumps=to_json)


def api(handler: Handler) -> Handler:
    """JSON errors for the panel's API: 400 with translated field errors, 403, 404, 503."""

    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except FormError as exc:
            principal = await current_user(request)
            _ = request.app[CATALOGUES].gettext(principal.language)
            return json_response({"errors": {k: _(v) for k, v in exc.errors.items()}}, 400)
        except NoPbx as exc:  # refusals (403, 404) are the error middleware's
            principal = await current_user(request)
            _ = request.app[CATALOGUES].gettext(principal.language)
            return json_response({"error": _(str(exc))}, 503)

    return run


async def body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object or form fields."""
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise FormError({"body": "Not valid JSON."}) from None
        if not isinstance(data, dict):
            raise FormError({"body": "Not valid JSON."})
        return data
    return dict(await request.post())


# -- the panel page and its event stream --------------------------------------------------
@require_role("agent")
async def panel_page(request: web.Request) -> web.StreamResponse:
    principal = await current_user(request)
    return aiohttp_jinja2.render_template("agent/panel.html", request, {
        "settings": request.app[SETTINGS].agent_panel, "agent": principal.agent,
        "timezone": request.app[SETTINGS].web.timezone,
        "live": panel(request).feed is not None})


async def pop_of(request: web.Request, principal: Principal, caller: str | None,
                 queue: str | None, ringing: tuple[str, str] | None = None) -> dict[str, Any]:
    """The screen pop of a call from ``caller`` in ``queue``: the customer, their history,
    their tier's label and the queue's script, in the principal's language."""
    services = panel(request)
    pop = await services.customers.screen_pop(principal, caller, ringing)
    customer = pop["customer"]
    pop["script"] = await services.scripts.for_call(principal, queue,
                                                    customer.name if customer else None)
    if customer is not None:
        pop["tier_label"] = request.app[SETTINGS].customers.tier_label(customer.tier,
                                                                       principal.language)
    return pop


class Reminders:
    """The reminders of one panel's stream: the follow-ups falling due since the last
    check. With the database away it logs an error and tries again later (the ring
    events keep flowing)."""

    def __init__(self, request: web.Request, principal: Principal) -> None:
        self.request, self.principal = request, principal
        self.desk = panel(request).follow_ups
        self.checked = datetime.now(UTC)

    async def wait(self) -> float:
        """Seconds to wait for the next event: until the next due time, at most
        ``KEEPALIVE_S``."""
        try:
            return await self.desk.until_next(self.principal, self.checked, KEEPALIVE_S)
        except DATABASE_FAILURES as exc:
            log.error("follow_up_reminders_failed", agent=self.principal.agent, error=repr(exc))
            return KEEPALIVE_S

    async def due(self) -> list[bytes]:
        """A ``reminder`` event for each follow-up that fell due since the last check."""
        now = datetime.now(UTC)
        try:
            due = await self.desk.reminders(self.principal, self.checked, now)
        except DATABASE_FAILURES as exc:
            log.error("follow_up_reminders_failed", agent=self.principal.agent, error=repr(exc))
            return []
        self.checked = now
        mask = masker(self.principal)
        return [sse.encode("reminder", to_json({"type": "reminder", **follow_up_view(f, mask)}))
                for f in due]


@require_role("agent")
async def events(request: web.Request) -> web.StreamResponse:
    """The agent's own events (see :mod:`feed`); a ``ring`` carries the screen pop; a
    ``reminder`` comes when a follow-up of theirs or of their queues' pools falls due
    (see :class:`Reminders`)."""
    feed = panel(request).feed
    if feed is None:
        raise web.HTTPServiceUnavailable(text="503: no live feed in this process")
    principal = await current_user(request)
    assert principal.agent is not None
    reminders = Reminders(request, principal)

    async def agent_events(queue: asyncio.Queue[Event | None]) -> AsyncGenerator[bytes, None]:
        while True:
            event = await sse.receive(queue, await reminders.wait())
            for reminder in await reminders.due():
                yield reminder
            if event is None:
                return
            if event is sse.IDLE:
                yield sse.KEEPALIVE
                continue
            if event["type"] == "ring":
                pop = await pop_of(request, principal, event["caller"], event.get("queue"),
                                   (event["server"], event["linkedid"]))
                event = screen_pop_view(event, pop, masker(principal))
            yield sse.encode(event["type"], to_json(event))

    with feed.subscribe(principal.agent) as queue:
        return await sse.stream(request, agent_events(queue))


# -- JSON API -----------------------------------------------------------------------------
@require_role("agent")
@api
async def state(request: web.Request) -> web.StreamResponse:
    """The agent's queue memberships as Asterisk reports them."""
    principal = await current_user(request)
    return json_response(await panel(request).presence.state(principal))


@require_role("agent")
@api
async def presence_action(request: web.Request) -> web.StreamResponse:
    """join / leave a queue, pause (with a reason) / unpause; what Asterisk's answer
    means, in our words (the answer itself is in the audit log)."""
    principal = await current_user(request)
    data = await body(request)
    presence = panel(request).presence
    action = request.match_info["action"]
    queue, reason = str(data.get("queue") or ""), str(data.get("reason") or "")
    if action == "join":
        result = await presence.join(principal, queue, principal.username)
    elif action == "leave":
        result = await presence.leave(principal, queue)
    else:
        result = await presence.pause(principal, action == "pause", reason)
    _ = request.app[CATALOGUES].gettext(principal.language)
    message = reply_text(action, result, _, queue=queue,
                         reason=labeller(_)("pause_reason", reason))
    return json_response({"ok": result.ok, "message": message}, 200 if result.ok else 502)


@require_role("agent")
@api
async def day(request: web.Request) -> web.StreamResponse:
    """Today's figures and calls of the agent, their calls still without notes and the
    follow-ups due."""
    principal = await current_user(request)
    mask = masker(principal)
    figures = await panel(request).day.summary(principal)
    figures["call_list"] = [call_view(c, mask) for c in figures["call_list"]]
    due = await panel(request).notes.due(principal)
    follow_ups_due = await panel(request).follow_ups.due(principal)
    return json_response({**figures, "notes_due": [call_view(c, mask) for c in due],
                          "follow_ups_due": [follow_up_view(f, mask) for f in follow_ups_due]})


@require_role("agent", "supervisor", "admin")
@api
async def screen_pop(request: web.Request) -> web.StreamResponse:
    """The customer and history of a number (what a ring pops)."""
    principal = await current_user(request)
    number, queue = request.query.get("number", ""), request.query.get("queue") or None
    pop = await pop_of(request, principal, number, queue)
    return json_response(screen_pop_view({"caller": number, "queue": queue}, pop,
                                         masker(principal)))


@require_role("agent", "supervisor", "admin")
@api
async def follow_ups(request: web.Request) -> web.StreamResponse:
    """The agent's open follow-ups (``?all=1``: also closed ones); supervisors and admins
    read any agent's with ``?agent=agent1001``."""
    principal = await current_user(request)
    items = await panel(request).follow_ups.listing(
        principal, request.query.get("all") != "1", request.query.get("agent"))
    return json_response([follow_up_view(f, masker(principal)) for f in items])


@require_role("agent")
@api
async def click_to_call(request: web.Request) -> web.StreamResponse:
    """Originate from the agent's phone to the follow-up's number."""
    principal = await current_user(request)
    follow_up_id = positive_id(request.match_info["id"])
    result = await panel(request).follow_ups.call(principal, follow_up_id)
    _ = request.app[CATALOGUES].gettext(principal.language)
    return json_response({"ok": result.ok, "message": reply_text("call", result, _)},
                         200 if result.ok else 502)


# -- wiring -------------------------------------------------------------------------------
def attach_feed(app: web.Application, consumers: Iterable[Any]) -> None:
    """Give the app the daemon's :class:`AgentFeed`, if one is among ``consumers`` (also
    once the app runs)."""
    feed = next((c for c in consumers if isinstance(c, AgentFeed)), None)
    if feed is not None and PANEL in app:
        app[PANEL].feed = feed


async def _close_streams(app: web.Application) -> None:
    feed = app[PANEL].feed
    if feed is not None:
        feed.close_subscribers()


def setup(app: web.Application) -> None:
    """The agent panel's services, routes and nav entries."""
    app[PANEL] = build_panel(app)
    r = app.router
    r.add_get("/agent", panel_page, name="agent_panel")
    r.add_get("/agent/events", events)
    r.add_get("/api/agent/state", state)
    r.add_post("/api/agent/presence/{action:join|leave|pause|unpause}", presence_action)
    r.add_get("/api/agent/day", day)
    r.add_get("/api/agent/screen-pop", screen_pop)
    r.add_get("/api/agent/follow-ups", follow_ups)
    r.add_post("/api/agent/follow-ups/{id}/call", click_to_call)
    pages.add_routes(app)
    home.add_home(app)
    add_nav(app, "/agent", "Agent panel", ["agent"])
    add_nav(app, "/agent/customers", "Customers", ["agent", "supervisor", "admin"])
    add_nav(app, "/agent/follow-ups", "Follow-ups", ["agent"])
    add_nav(app, "/agent/follow-ups/overdue", "Overdue follow-ups", ["supervisor", "admin"])
    app.on_shutdown.append(_close_streams)

