"""The supervisors' console: call search, a call's page, the three-ring violations.

Routes (``setup``):

- ``GET /calls`` — search (filters of :mod:`callcenter.console.filters`), keyset pages;
- ``GET /calls/export.csv`` / ``.xlsx`` — the result (at most EXPORT_MAX calls), audited;
- ``GET /calls/{server}/{linkedid}`` — timeline, recordings, notes, QA reviews; audited;
- ``GET /violations`` — violations by day, agent and queue, each linked to its call.

Supervisors and admins see everything; QA inspectors read (no export); agents get 403.
Numbers are masked as :mod:`callcenter.web.masking` says. A bad filter gives the page
(or the export) a 400 naming the field, in the user's language.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from callcenter.console.export import cells, to_csv, to_xlsx
from callcenter.console.filters import (
    DIRECTIONS,
    DISPOSITIONS,
    CallQuery,
    FilterError,
    encode_keyset,
    parse_calls,
    parse_violations,
)
from callcenter.console.timeline import timeline, unknown_fields
from callcenter.recordings.web import recording_url
from callcenter.store.call_detail import call_detail
from callcenter.store.call_search import CallRow, search_calls, search_choices
from callcenter.store.monitoring import MonitoringRepository
from callcenter.store.recordings import RecordingRepository
from callcenter.store.violation_log import ViolationFilter, list_violations, violation_counts
from callcenter.web.auth import Principal, current_user, require_role
from callcenter.web.home import add_home_section
from callcenter.web.i18n import Gettext
from callcenter.web.keys import AUDIT, CATALOGUES, POOL, SETTINGS
from callcenter.web.masking import mask_number
from callcenter.web.nav import add_nav
from callcenter.web.words import labeller

ROLES = ("supervisor", "admin", "qa")
EXPORTERS = ("supervisor", "admin")
EXPORT_MAX = 20_000
VIOLATIONS_PAGE = 200
HOME_VIOLATIONS = 5
"""Violations listed on a supervisor's home page (the latest of today)."""
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FIELDS = {"from": "From", "to": "To", "number": "Number", "agent": "Agent", "queue": "Queue",
          "direction": "Direction", "disposition": "Disposition", "wait_over": "Wait over (s)",
          "violation": "Has a violation", "recording": "Has a recording",
          "reviewed": "QA reviewed", "category": "Note category", "sort": "Sort by",
          "order": "Order", "after": "Page", "size": "Page size"}
"""Query parameters and their labels (English msgids)."""


def _gettext(request: web.Request, who: Principal) -> Gettext:
    return request.app[CATALOGUES].gettext(who.language)


def problem(exc: FilterError, _: Gettext) -> str:
    """The message of a bad filter, in the user's language, naming the field by its label
    (the query parameter is in the page's ``data-field``)."""
    return _("%(field)s: %(problem)s", field=_(FIELDS.get(exc.field, exc.field)),
             problem=_(exc.msgid, **exc.params))


def _timezone(request: web.Request) -> str:
    return request.app[SETTINGS].web.timezone


def _parse(request: web.Request) -> CallQuery:
    return parse_calls(request.query, _timezone(request), datetime.now(UTC))


def _with(request: web.Request, **changes: str) -> str:
    """The request's query string with ``changes`` (an empty value drops the key)."""
    q = {k: v for k, v in request.query.items() if k not in changes} | changes
    return urlencode({k: v for k, v in q.items() if v})


def call_url(server: str, linkedid: str) -> str:
    """The call page of ``server``/``linkedid``."""
    return f"/calls/{quote(server, safe='')}/{quote(linkedid, safe='')}"


async def _form_context(request: web.Request, who: Principal) -> dict[str, Any]:
    return {"query": request.query, "fields": FIELDS, "directions": DIRECTIONS,
            "dispositions": DISPOSITIONS, "label": labeller(_gettext(request, who)),
            "call_url": call_url, "can_export": who.role in EXPORTERS,
            **await search_choices(request.app[POOL])}


@require_role(*ROLES)
async def calls_page(request: web.Request) -> web.StreamResponse:
    """The search form and one page of results, with a link to the next page."""
    who = await current_user(request)
    context = await _form_context(request, who)
    try:
        q = _parse(request)
    except FilterError as exc:
        context.update(error=problem(exc, _gettext(request, who)), error_field=exc.field)
        return aiohttp_jinja2.render_template("console/calls.html", request, context,
                                              status=400)
    rows = await search_calls(request.app[POOL], q.filter, q.sort, q.after, q.size + 1)
    more = len(rows) > q.size
    rows = rows[:q.size]
    context.update(
        rows=rows, export_query=_with(request, after=""),
        first_query=_with(request, after="") if q.after else None,
        next_query=_with(request, after=encode_keyset(rows[-1].keyset)) if more else None)
    return aiohttp_jinja2.render_template("console/calls.html", request, context)


async def _all_rows(request: web.Request, q: CallQuery) -> AsyncIterator[CallRow]:
    after, left = q.after, EXPORT_MAX
    while left > 0:
        page = await search_calls(request.app[POOL], q.filter, q.sort, after, min(1000, left))
        for row in page:
            yield row
        if len(page) < min(1000, left):
            return
        left -= len(page)
        after = page[-1].keyset


@require_role(*EXPORTERS)
async def calls_export(request: web.Request) -> web.StreamResponse:
    """The search result as CSV or XLSX in the user's language; every export is audited."""
    who = await current_user(request)
    _ = _gettext(request, who)
    try:
        q = _parse(request)
    except FilterError as exc:
        raise web.HTTPBadRequest(text=problem(exc, _)) from None
    tz = _timezone(request)
    rows = [cells(r, _, tz, lambda n: mask_number(n, who)) async for r in _all_rows(request, q)]
    fmt = request.match_info["fmt"]
    body = to_csv(rows, _) if fmt == "csv" else to_xlsx(rows, _)
    await request.app[AUDIT].record(
        who.username, "calls_exported", "calls", remote=request.remote or "",
        details={"format": fmt, "rows": len(rows), "query": _with(request, after="")})
    stamp = re.sub(r"[^0-9]", "", datetime.now(UTC).isoformat()[:19])
    return web.Response(body=body, headers={
        "Content-Type": EXPORT_TYPES[fmt],
        "Content-Disposition": f'attachment; filename="calls-{stamp}.{fmt}"'})


@require_role(*ROLES)
async def call_page(request: web.Request) -> web.StreamResponse:
    """One call: facts, timeline, recordings' player, notes, QA reviews; the view is
    audited (``call_viewed``, object ``call:<server>/<linkedid>``)."""
    who = await current_user(request)
    server, linkedid = request.match_info["server"], request.match_info["linkedid"]
    if len(server) > 255 or len(linkedid) > 255:
        raise web.HTTPNotFound(text="404: no such call")
    pool = request.app[POOL]
    detail = await call_detail(pool, server, linkedid)
    if detail is None:
        raise web.HTTPNotFound(text="404: no such call")
    await request.app[AUDIT].record(who.username, "call_viewed", f"call:{server}/{linkedid}",
                                    remote=request.remote or "")
    recordings = await RecordingRepository(pool).for_call(server, linkedid)
    return aiohttp_jinja2.render_template("console/call.html", request, {
        "d": detail, "c": detail.call, "events": timeline(detail),
        "unknown": unknown_fields(detail.call), "label": labeller(_gettext(request, who)),
        "recordings": [{"url": recording_url(r), "file_name": r.file_name,
                        "duration_s": r.duration_s} for r in recordings if r.status == "ready"],
        "unplayable": [r for r in recordings if r.status != "ready"],
        "monitoring": await MonitoringRepository(pool).of_call(server, linkedid)})


@require_role(*ROLES)
async def violations_page(request: web.Request) -> web.StreamResponse:
    """Violations of a period by day, agent and queue, and a page of the list, newest first."""
    who = await current_user(request)
    context = await _form_context(request, who)
    try:
        flt, after = parse_violations(request.query, _timezone(request), datetime.now(UTC))
    except FilterError as exc:
        context.update(error=problem(exc, _gettext(request, who)), error_field=exc.field)
        return aiohttp_jinja2.render_template("console/violations.html", request, context,
                                              status=400)
    pool = request.app[POOL]
    rows = await list_violations(pool, flt, after, limit=VIOLATIONS_PAGE + 1)
    last = rows[VIOLATIONS_PAGE - 1] if len(rows) > VIOLATIONS_PAGE else None
    context.update(
        counts=await violation_counts(pool, flt, _timezone(request)),
        violations=rows[:VIOLATIONS_PAGE],
        first_query=_with(request, after="") if after else None,
        next_query=_with(request, after=encode_keyset(
            (last["at"], last["server"], last["linkedid"], last["idx"]))) if last else None)
    return aiohttp_jinja2.render_template("console/violations.html", request, context)


async def violations_home(request: web.Request, who: Principal) -> dict[str, Any]:
    """The supervisor's home section: today's three-ring violations (the latest few)."""
    tz = ZoneInfo(_timezone(request))
    start = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    today = ViolationFilter(start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC))
    pool = request.app[POOL]
    counts = await violation_counts(pool, today, tz.key)
    return {"violations": await list_violations(pool, today, limit=HOME_VIOLATIONS),
            "total": sum(n for _, n in counts.get("day", [])), "by_agent": counts.get("agent", [])}


def setup(app: web.Application) -> None:
    """Add the console's pages and their navigation entries."""
    r = app.router
    r.add_get("/calls", calls_page, name="console_calls")
    r.add_get(r"/calls/export.{fmt:csv|xlsx}", calls_export)
    r.add_get("/calls/{server}/{linkedid}", call_page, name="console_call")
    r.add_get("/violations", violations_page, name="console_violations")
    add_nav(app, "/calls", "Calls", ROLES)
    add_nav(app, "/violations", "Violations", ROLES)
    add_home_section(app, "violations.html", EXPORTERS, violations_home)
