"""The supervisors' live wallboard: a page, its Server-Sent Events stream, and /api/v1/live.

The board is rendered on the server (translated, numbers masked, times in the
centre's zone) and pushed as an HTML fragment in SSE ``board`` events; the
page's small script swaps it in and ticks the durations every second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime
from typing import Any

import aiohttp_jinja2
import asyncpg
from aiohttp import web

from callcenter.kpis import LEFT_OUT
from callcenter.live import LiveConsumer, LiveState, Subscriber
from callcenter.store.calls import CallRepository
from callcenter.wallboard import actions
from callcenter.web import sse
from callcenter.web.api import add_api
from callcenter.web.auth import Principal, current_user, require_role
from callcenter.web.home import add_home_section
from callcenter.web.keys import CATALOGUES, LIVE, POOL, SETTINGS
from callcenter.web.masking import FULL_NUMBER_ROLES, mask_number
from callcenter.web.nav import add_nav
from callcenter.web.words import labeller

ROLES = ("supervisor", "admin")
KEEPALIVE_S = 15.0
_RATE = {"type": "number", "nullable": True, "minimum": 0, "maximum": 1}
_SECONDS = {"type": "number", "nullable": True}
_FIGURES = {k: {"type": "integer"} for k in (
    "offered", "answered", "abandoned", "short_abandoned", "timeouts", "waiting",
    "ring_no_answer", "violations", "wait_unknown", "talk_unknown", "hold_unknown")} | {
    "service_level": _RATE, "three_ring_rate": _RATE, "asa_s": _SECONDS, "aht_s": _SECONDS,
    "longest_wait_s": _SECONDS}
LIVE_SCHEMA = {"type": "object", "required": ["now", "day", "queues", "total", "agents"],
               "properties": {
    "now": {"type": "string", "format": "date-time"}, "day": {"type": "string"},
    "version": {"type": "integer"}, "settings": {"type": "object"},
    "queues": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, **_FIGURES, "agents": {"type": "object"},
        "paused_reasons": {"type": "object"}}}},
    "direct": {"type": "object", "properties": _FIGURES},
    "total": {"type": "object", "properties": _FIGURES},
    "agents": {"type": "array", "items": {"type": "object", "properties": {
        "agent": {"type": "string"}, "state": {"type": "string"},
        "since": {"type": "string", "nullable": True}, "unreachable": {"type": "boolean"},
        "call": {"type": "object", "nullable": True}, "calls": {"type": "integer"},
        "talk_s": {"type": "number"}, "talk_unknown": {"type": "integer"},
        "missed_rings": {"type": "integer"}}}},
    "alerts": {"type": "array", "items": {"type": "object"}},
    "service_alerts": {"type": "array", "items": {"type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"}, "problem": {"type": "string"},
        "detail": {"type": "string"}}}},
    "recording_alerts": {"type": "array", "items": {"type": "object"}},
    "surveys": {"type": "object", "description": "today's post-call survey figures per "
                "queue and in total (rates 0..1, null when no survey was answered)",
                "properties": {"queues": {"type": "array", "items": {"type": "object"}},
                               "total": {"type": "object"}}},
    "callbacks": {"type": "array", "items": {"type": "object", "properties": {
        "queue": {"type": "string"}, "waiting": {"type": "integer"},
        "oldest_since": {"type": "string", "format": "date-time"},
        "oldest_s": {"type": "number"}}}}}}


def percent(value: float | None) -> str:
    """A 0..1 rate as a whole percentage; an en dash when there is no figure."""
    return "–" if value is None else f"{value * 100:.0f}%"


def _live(request: web.Request) -> LiveConsumer | None:
    live = request.app[LIVE]
    return live if isinstance(live, LiveConsumer) else None


def masker(principal: Principal) -> Callable[[str | None], str]:
    """``mask_number`` bound to ``principal``."""
    return lambda number: mask_number(number, principal)


BoardPart = tuple[str, Callable[[datetime], dict[str, Any]]]
BOARD_PARTS = web.AppKey("board_parts", list)
"""Other features' parts of the board: (template, its context at the board's now)."""


def add_board_part(app: web.Application, template: str,
                   context: Callable[[datetime], dict[str, Any]]) -> None:
    """Show ``template`` after the board, rendered with ``context(now)`` (plus ``_``)."""
    app.setdefault(BOARD_PARTS, []).append((template, context))


def board_renderer(app: web.Application, principal: Principal) -> Callable[[LiveState], str]:
    """Renders the board fragment (and the other features' parts) in ``principal``'s
    language and number visibility, as one line (one SSE data line; HTML collapses the
    white space anyway)."""
    env = aiohttp_jinja2.get_env(app)
    template = env.get_template("wallboard/board.html")
    parts = [(env.get_template(t), ctx) for t, ctx in app.get(BOARD_PARTS, [])]
    _ = app[CATALOGUES].gettext(principal.language)
    mask = masker(principal)

    def render(state: LiveState) -> str:
        html = template.render(board=state.snapshot(mask), _=_, label=labeller(_), percent=percent,
                               left_out=LEFT_OUT)
        html += "".join(t.render(**ctx(state.now()), _=_) for t, ctx in parts)
        return " ".join(line.strip() for line in html.splitlines() if line.strip())

    return render


@require_role(*ROLES)
async def wallboard(request: web.Request) -> web.StreamResponse:
    principal = await current_user(request)
    live = _live(request)
    board = board_renderer(request.app, principal)(live.state) if live else None
    return aiohttp_jinja2.render_template("wallboard/page.html", request, {
        "board": board, "tv": request.query.get("tv") == "1",
        "pause_reasons": request.app[SETTINGS].agent_panel.pause_reasons})


@require_role(*ROLES)
async def events(request: web.Request) -> web.StreamResponse:
    """The SSE stream: a ``board`` event per change (at most one per broadcast interval)."""
    live = _live(request)
    if live is None:
        raise web.HTTPServiceUnavailable(text="503: no live state in this process")
    principal = await current_user(request)
    kind = (principal.language, principal.role in FULL_NUMBER_ROLES)
    board = board_renderer(request.app, principal)

    def render(state: LiveState) -> bytes:  # encoded once per kind, shared by its viewers
        return sse.encode("board", board(state))

    async def boards(sub: Subscriber) -> AsyncGenerator[bytes, None]:
        while (event := await sse.receive(sub.queue, KEEPALIVE_S)) is not None:
            yield render(live.state) if event is sse.IDLE else event  # the day rolls on

    sub = live.subscribe(kind, render)
    try:
        return await sse.stream(request, boards(sub))
    finally:
        live.unsubscribe(sub)


@require_role(*ROLES)
async def live_json(request: web.Request) -> web.StreamResponse:
    """The live board as JSON (numbers masked as for the web page)."""
    live = _live(request)
    if live is None:
        raise web.HTTPServiceUnavailable(text='{"error": "no live state in this process"}',
                                         content_type="application/json")
    principal = await current_user(request)
    return web.json_response(live.state.snapshot(masker(principal)))


FIRST_SEED_S = 3.0
"""How long the app's start waits for the first seeding before leaving it to the background."""


async def _seed(app: web.Application) -> AsyncIterator[None]:
    """Seed the live state from today's stored calls, in the background: a database that
    is down or stalled at start delays the seeding, never the app."""
    live = app[LIVE]
    seeding = None
    if isinstance(live, LiveConsumer):
        calls = CallRepository(app[POOL])
        try:  # at once when the database answers (a board opened next counts the day)
            await asyncio.wait_for(live.seed(calls), FIRST_SEED_S)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            seeding = asyncio.create_task(live.seed_when_possible(calls))
    yield
    if seeding is not None:
        seeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await seeding


async def _close_streams(app: web.Application) -> None:
    live = app[LIVE]
    if isinstance(live, LiveConsumer):
        live.close_subscribers()


async def live_home(request: web.Request, who: Principal) -> dict[str, Any]:
    """The supervisor's home section: the centre's figures of today and the agents by state
    (``board`` None when this process has no live state)."""
    live = _live(request)
    if live is None:
        return {"board": None}
    board = live.state.snapshot(masker(who))
    return {"board": board, "percent": percent,
            "states": Counter(a["state"] for a in board["agents"]).most_common()}


def setup(app: web.Application) -> None:
    """The wallboard page, its event stream, the JSON view, the supervisors' actions on
    agents (:mod:`callcenter.wallboard.actions`); seeds the live state at start."""
    app.router.add_get("/wallboard", wallboard, name="wallboard")
    app.router.add_get("/wallboard/events", events)
    app.router.add_get("/api/v1/live", live_json)
    add_nav(app, "/wallboard", "Wallboard", ROLES)
    add_home_section(app, "live.html", ROLES, live_home)
    add_api(app, "GET", "/api/v1/live", summary="The live wallboard: per queue, per agent, "
            "alerts (today, in web.timezone; numbers masked by role)", roles=ROLES,
            response=LIVE_SCHEMA)
    actions.add_routes(app)
    app.cleanup_ctx.append(_seed)
    app.on_shutdown.append(_close_streams)
