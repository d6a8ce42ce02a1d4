"""The monitoring API: start a session on a live call, read it, stop it (JSON, CSRF).

``POST /api/monitoring/sessions`` {server, linkedid, mode} → 201 the session;
``GET /api/monitoring/sessions/{id}`` → the session (the page polls it);
``POST /api/monitoring/sessions/{id}/stop`` → the session. Errors are
``{"error": code, "message": translated}`` with 400/403/404/409/502/503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, cast

import aiohttp_jinja2
from aiohttp import web

from callcenter.calls.model import CallRecord
from callcenter.commands import CommandPort
from callcenter.live import LiveConsumer
from callcenter.monitoring.access import MonitorError
from callcenter.monitoring.desk import MonitorDesk
from callcenter.store.monitoring import MonitoringRepository, MonitoringSession
from callcenter.web.auth import Principal, current_user, may_monitor
from callcenter.web.keys import AUDIT, CATALOGUES, COMMANDS, LIVE, POOL, SETTINGS, USERS

DESK = web.AppKey("monitor_desk", MonitorDesk)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def session_json(session: MonitoringSession) -> dict[str, Any]:
    """A session as JSON (times ISO 8601, UTC)."""
    data = asdict(session)
    for key in ("requested_at", "started_at", "ended_at"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def api(handler: Handler) -> Handler:
    """Signed-in users only; a :class:`MonitorError` becomes its translated JSON error."""

    async def run(request: web.Request) -> web.StreamResponse:
        who = await current_user(request)
        try:
            return await handler(request)
        except MonitorError as exc:
            _ = request.app[CATALOGUES].gettext(who.language)
            return web.json_response({"error": exc.code, "message": _(exc.msgid)},
                                     status=exc.status)

    return run


async def _fields(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json() if request.content_type == "application/json" else dict(
            await request.post())
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise MonitorError(400, "bad_request", "The request is not valid.")
    return data


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise MonitorError(404, "not_found", "No such monitoring session.") from None


@api
async def start(request: web.Request) -> web.StreamResponse:
    data = await _fields(request)
    session = await request.app[DESK].start(
        await current_user(request), str(data.get("server", "")),
        str(data.get("linkedid", "")), str(data.get("mode", "")))
    return web.json_response(session_json(session), status=201)


@api
async def read(request: web.Request) -> web.StreamResponse:
    session = await request.app[DESK].get(await current_user(request), _id(request))
    return web.json_response(session_json(session))


@api
async def stop(request: web.Request) -> web.StreamResponse:
    session = await request.app[DESK].stop(await current_user(request), _id(request))
    return web.json_response(session_json(session))


def open_call_of(live: Any) -> Callable[[str, str], CallRecord | None] | None:
    """The live state's call lookup, or None without a live state in this process."""
    if not isinstance(live, LiveConsumer):
        return None
    return lambda server, linkedid: live.state.open_calls.get((server, linkedid))


def modes_for(app: web.Application) -> Callable[[Principal | None], list[str]]:
    """The template global ``monitoring_modes(user)``: the modes ``user`` may use (none
    when not allowed, or without the daemon in this process)."""
    settings = app[SETTINGS].monitoring

    def modes(user: Principal | None) -> list[str]:
        live = app[DESK].open_call is not None
        return list(settings.modes) if live and user and may_monitor(settings, user) else []

    return modes


def setup(app: web.Application) -> None:
    """The desk on the app's settings, pool, audit log, command port and live state."""
    app[DESK] = MonitorDesk(app[SETTINGS], MonitoringRepository(app[POOL]), app[USERS],
                            app[AUDIT], cast("CommandPort | None", app[COMMANDS]),
                            open_call_of(app[LIVE]))
    aiohttp_jinja2.get_env(app).globals["monitoring_modes"] = modes_for(app)
    app.router.add_post("/api/monitoring/sessions", start)
    app.router.add_get("/api/monitoring/sessions/{id}", read)
    app.router.add_post("/api/monitoring/sessions/{id}/stop", stop)

