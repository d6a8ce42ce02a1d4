"""HTTP: stream a filed recording (Range requests), to the roles allowed to hear it.

``GET /recordings/{server}/{linkedid}/{file_name}``: admin, supervisor and qa
hear every recording; an agent only those of calls they took
(``call.agent == principal.agent``). The file is the one the database row
names, resolved inside ``recordings.store_dir``; nothing of the request
reaches the file system. Every request of a signed-in user is audited
(``recording_fetched`` / ``recording_denied`` / ``recording_unavailable``,
object ``call:<server>/<linkedid>``, remote address, Range, the file name with the
call's numbers masked). ``POST …/{file_name}/played``, which the player sends when
the audio starts playing, is audited as ``recording_played``: a page preloading
the file is no play.
JSON: ``GET /api/recordings/{server}/{linkedid}`` (a call's recordings, same
rights) and ``GET /api/recordings/problems`` (admin, supervisor).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import structlog
from aiohttp import web

from callcenter.calls.model import CallRecord
from callcenter.recordings.files import resolve_stored
from callcenter.store.calls import CallRepository
from callcenter.store.recordings import Recording, RecordingRepository
from callcenter.web.auth import Principal, current_user, require_role
from callcenter.web.keys import AUDIT, POOL, SETTINGS
from callcenter.web.masking import mask_in

log = structlog.get_logger(__name__)

LISTENERS = frozenset({"admin", "supervisor", "qa"})
"""Roles that may hear every recording (agents: their own calls only)."""
CONTENT_TYPES = {"wav": "audio/wav", "wav49": "audio/wav", "ogg": "audio/ogg",
                 "mp3": "audio/mpeg", "gsm": "audio/x-gsm", "ulaw": "audio/basic"}
_MAX_PART = 255


def recording_url(rec: Recording) -> str:
    """The URL of ``rec`` on this endpoint (each part percent-encoded)."""
    parts = (rec.server, rec.linkedid, rec.file_name)
    return "/recordings/" + "/".join(quote(p, safe="") for p in parts)


def _printable(text: str) -> str:
    """``text`` as the audit log can store it: NUL escaped, at most 255 characters."""
    return text.replace("\x00", "\\x00")[:_MAX_PART]


def setup(app: web.Application) -> None:
    """Add the recording endpoint and its JSON companions."""
    app.router.add_get("/recordings/{server}/{linkedid}/{file_name}", serve_recording,
                       name="recording")
    app.router.add_post("/recordings/{server}/{linkedid}/{file_name}/played",
                         recording_played)
    app.router.add_get("/api/recordings/problems", list_problems)
    app.router.add_get("/api/recordings/{server}/{linkedid}", list_call_recordings)


def summary(rec: Recording) -> dict[str, Any]:
    """The JSON form of ``rec``; ``url`` only when it can be played."""
    return {"server": rec.server, "linkedid": rec.linkedid, "file_name": rec.file_name,
            "status": rec.status, "format": rec.format, "duration_s": rec.duration_s,
            "size_bytes": rec.size_bytes, "short": rec.short, "legal_hold": rec.legal_hold,
            "detail": rec.detail, "url": recording_url(rec) if rec.status == "ready" else None}


async def list_call_recordings(request: web.Request) -> web.StreamResponse:
    """``GET /api/recordings/{server}/{linkedid}``: the call's recordings (same rights as
    playing them)."""
    who = await current_user(request)
    server, linkedid = request.match_info["server"], request.match_info["linkedid"]
    if not await _may_hear(request, who, await _call(request, server, linkedid)):
        raise web.HTTPForbidden(text='{"error": "forbidden"}', content_type="application/json")
    recs = await RecordingRepository(request.app[POOL]).for_call(server, linkedid)
    return web.json_response([summary(r) for r in recs])


@require_role("admin", "supervisor")
async def list_problems(request: web.Request) -> web.StreamResponse:
    """``GET /api/recordings/problems[?limit=N]``: missing, corrupt and short recordings,
    newest first (the persistent side of the consumer's alerts)."""
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise web.HTTPBadRequest(text='{"error": "limit: give a number from 1 to 1000"}',
                                 content_type="application/json")
    recs = await RecordingRepository(request.app[POOL]).problems(int(raw))
    return web.json_response([summary(r) for r in recs])


async def _may_hear(request: web.Request, who: Principal, call: CallRecord | None) -> bool:
    if who.role in LISTENERS:
        return True
    return who.role == "agent" and bool(who.agent) and call is not None and call.agent == who.agent


async def _call(request: web.Request, server: str, linkedid: str) -> CallRecord | None:
    return await CallRepository(request.app[POOL]).get_call(server, linkedid)


Audit = Callable[..., Awaitable[None]]


async def _ready(request: web.Request, who: Principal) -> tuple[Recording, Audit]:
    """The URL's ready recording when ``who`` may hear it, and the function that audits
    this request; 400/403/404/410 (audited) otherwise. The audited file name has the
    call's numbers masked."""
    server, linkedid, file_name = (request.match_info[k] for k in
                                   ("server", "linkedid", "file_name"))
    bad = any(len(p) > _MAX_PART or "\x00" in p for p in (server, linkedid, file_name))
    call = None if bad else await _call(request, server, linkedid)
    numbers = (call.caller, call.callee) if call else ()
    details = {"file_name": _printable(mask_in(file_name, numbers)),
               "range": _printable(request.headers.get("Range", ""))}

    async def record(action: str, **extra: str) -> None:
        await request.app[AUDIT].record(
            who.username, action, f"call:{_printable(server)}/{_printable(linkedid)}",
            remote=request.remote or "", details=details | extra)

    if bad:
        await record("recording_unavailable", reason="bad request")
        raise web.HTTPBadRequest(text="400: bad recording reference")
    if not await _may_hear(request, who, call):
        await record("recording_denied", role=who.role)
        raise web.HTTPForbidden(text="403: you may not hear this recording")
    rec = await RecordingRepository(request.app[POOL]).get(server, linkedid, file_name)
    if rec is None or rec.status != "ready" or rec.path is None:
        status = rec.status if rec else "unknown"
        await record("recording_unavailable", status=status)
        if status == "purged":
            raise web.HTTPGone(text="410: this recording was purged (retention period)")
        raise web.HTTPNotFound(text=f"404: no playable recording ({status})")
    return rec, record


async def serve_recording(request: web.Request) -> web.StreamResponse:
    """The recording's bytes (200, or 206 for a Range), audited as ``recording_fetched``;
    403/404/410 otherwise, audited."""
    who = await current_user(request)
    rec, record = await _ready(request, who)
    assert rec.path is not None
    path = resolve_stored(request.app[SETTINGS].recordings.store_dir, rec.path)
    if path is None or not path.is_file():
        log.error("recording_file_lost", server=rec.server, linkedid=rec.linkedid,
                  path=rec.path)
        await record("recording_unavailable", status="file lost")
        raise web.HTTPNotFound(text="404: the recording's file is not in the store")
    await record("recording_fetched")
    return web.FileResponse(path, headers={
        "Content-Type": CONTENT_TYPES.get(rec.format or "", "application/octet-stream"),
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.name)}",
        "Cache-Control": "private, no-store"})


async def recording_played(request: web.Request) -> web.StreamResponse:
    """``POST …/{file_name}/played``: the player started playing (its ``play`` event);
    audited as ``recording_played`` (204), with the same rights and refusals as the file."""
    who = await current_user(request)
    _, record = await _ready(request, who)
    await record("recording_played")
    return web.Response(status=204)
