"""The supervisors' report pages: /reports, its exports, and /api/v1/reports.

Query parameters (page, exports and API alike): ``period`` day | week | month
| range (default month), ``from`` a day of it (default today, in the centre's
time zone), ``to`` (range only), ``queue``, ``agent`` (repeatable: a team).
Bad parameters give the page with the message (400), or a JSON error (400).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import asyncpg
import structlog
from aiohttp import web

from callcenter.kpis import DEFINITIONS, ServiceLevelRules
from callcenter.reports import kpi
from callcenter.reports.build import Report, ReportFilter, build_report
from callcenter.reports.charts import report_charts
from callcenter.reports.export import filter_text, left_out, tables, to_csv, to_xlsx
from callcenter.reports.periods import KINDS, Period, PeriodError, parse_period
from callcenter.reports.survey_tables import survey_tables
from callcenter.store import kpi_reads
from callcenter.store import report_rollup as rollup
from callcenter.store.callbacks import CallbackRepository
from callcenter.store.presence_reads import PresenceReads
from callcenter.survey.figures import DEFINITIONS as SURVEY_DEFINITIONS
from callcenter.survey.report import SurveyReport, survey_report
from callcenter.web.auth import current_user, require_role
from callcenter.web.keys import AUDIT, CATALOGUES, POOL, SETTINGS
from callcenter.web.nav import add_nav

log = structlog.get_logger(__name__)

ROLES = ("supervisor", "admin")
KEEP_DAYS = 400
KEEP_FIRST_S = 30.0
KEEP_EVERY_S = 600.0
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CHART_WORDS = ("Calls and service level by day", "Calls and service level by hour of day",
               "Agents: calls and three-ring rate", "answered", "abandoned", "queue timeouts",
               "other", "service level", "outbound", "three-ring rate")


def request_period(request: web.Request) -> tuple[Period, ReportFilter]:
    """The period and filter of the query string; raises PeriodError on bad input."""
    q = request.query
    tz = request.app[SETTINGS].web.timezone
    kind = q.get("period") or "month"
    start = q.get("from") or datetime.now(ZoneInfo(tz)).date().isoformat()
    period = parse_period(kind, start, q.get("to") or None, tz, flag="")
    agents = tuple(a for a in q.getall("agent", []) if a)
    return period, ReportFilter(q.get("queue") or None, agents)


async def _choices(request: web.Request) -> dict[str, list[str]]:
    reads = PresenceReads(request.app[POOL])
    return {"queues": await reads.queue_names(), "agents": await reads.agent_names()}


async def _report(request: web.Request) -> Report:
    period, flt = request_period(request)
    return await build_report(request.app[POOL], request.app[SETTINGS], period, flt)


async def _survey(request: web.Request, report: Report) -> SurveyReport:
    period, flt = report.period, report.filter
    return await survey_report(request.app[POOL], start=period.start, end=period.end,
                               timezone=period.tz, queue=flt.queue, agents=flt.agent_list)


@require_role(*ROLES)
async def report_page(request: web.Request) -> web.StreamResponse:
    who = await current_user(request)
    _ = request.app[CATALOGUES].gettext(who.language)
    context: dict[str, Any] = {"kinds": KINDS, "query": request.query,
                               "definitions": {k: v[who.language] for k, v in
                                               DEFINITIONS.items()} | {
                                   k: _(kpi_reads.definition(k))
                                   for k in ("complaint_rate", "response_time")},
                               **await _choices(request)}
    try:
        report = await _report(request)
    except PeriodError as exc:
        context["error"] = exc.text(_)
        return aiohttp_jinja2.render_template("reports/report.html", request, context,
                                              status=400)
    context["callbacks"] = await CallbackRepository(request.app[POOL]).counts(
        report.period.start, report.period.end, report.filter.queue)
    context.update(report=report, tables=tables(report, _), export_query=request.query_string,
                   filter_text=filter_text(report.filter, _),
                   left_out=left_out(report.total),
                   charts=report_charts(report, {w: _(w) for w in CHART_WORDS}),
                   survey=await _survey(request, report),
                   survey_definitions={k: v[who.language] for k, v in
                                       SURVEY_DEFINITIONS.items()})
    return aiohttp_jinja2.render_template("reports/report.html", request, context)


@require_role(*ROLES)
async def report_export(request: web.Request) -> web.StreamResponse:
    """The report as CSV or XLSX (the same tables as the page); every export is audited."""
    try:
        report = await _report(request)
    except PeriodError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    fmt = request.match_info["fmt"]
    who = await current_user(request)
    _ = request.app[CATALOGUES].gettext(who.language)
    extra = survey_tables(await _survey(request, report), _)
    body = (to_csv(report, _, extra).encode("utf-8-sig") if fmt == "csv"
            else to_xlsx(report, _, extra))
    await request.app[AUDIT].record(who.username, "report_exported",
                                    f"report:{report.period.label}", remote=request.remote or "",
                                    details={"format": fmt, "filter": report.filter.label})
    name = f"report-{re.sub(r'[^0-9A-Za-z.-]', '_', report.period.label)}.{fmt}"
    return web.Response(body=body, headers={
        "Content-Type": EXPORT_TYPES[fmt],
        "Content-Disposition": f'attachment; filename="{name}"'})


@require_role(*ROLES)
async def report_json(request: web.Request) -> web.StreamResponse:
    """The report's tables as JSON: {"period", "filter", "tables": {name: {columns, rows}}}."""
    try:
        report = await _report(request)
    except PeriodError as exc:
        who = await current_user(request)
        _ = request.app[CATALOGUES].gettext(who.language)
        return web.json_response({"error": exc.text(_)}, status=400)
    return web.json_response({
        "period": {"label": report.period.label, "first": report.period.first.isoformat(),
                   "last": report.period.last.isoformat(), "timezone": report.period.tz},
        "filter": {"queue": report.filter.queue, "agents": list(report.filter.agents)},
        "tables": {t.name: {"columns": [c.label for c in t.columns], "rows": t.rows}
                   for t in tables(report)},
        "survey": survey_json(await _survey(request, report)),
        "callbacks": asdict(await CallbackRepository(request.app[POOL]).counts(
            report.period.start, report.period.end, report.filter.queue))})


def survey_json(survey: SurveyReport) -> dict[str, Any]:
    """The survey figures of a report as JSON (rates 0..1, null when unknown)."""
    return {"total": survey.total.as_dict(),
            "by_agent": {k: v.as_dict() for k, v in survey.by_agent.items()},
            "by_queue": {k: v.as_dict() for k, v in survey.by_queue.items()},
            "by_day": {k.isoformat(): v.as_dict() for k, v in survey.by_day.items()}}


async def keep_rollup(app: web.Application) -> AsyncIterator[None]:
    """While the app runs: keep the rollup of the last ``KEEP_DAYS`` days current.

    So that the first report of a month, a quarter or a year does not wait
    for it; older periods are rolled up when first asked for.
    """
    async def loop() -> None:
        delay = KEEP_FIRST_S
        while True:
            await asyncio.sleep(delay)
            delay = KEEP_EVERY_S
            settings = app[SETTINGS]
            tz = settings.web.timezone
            yesterday = datetime.now(ZoneInfo(tz)).date() - timedelta(days=1)
            try:
                async with app[POOL].acquire() as conn:
                    await rollup.keep(conn, ServiceLevelRules.from_settings(settings), tz,
                                      yesterday - timedelta(days=KEEP_DAYS - 1), yesterday)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("report_rollup_refresh_failed", error=str(exc))

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    """Add the report page, its exports and its API, the navigation entry, the rollup keeper."""
    r = app.router
    r.add_get("/reports", report_page, name="reports")
    r.add_get(r"/reports/export.{fmt:csv|xlsx}", report_export)
    r.add_get("/api/v1/reports", report_json)
    add_nav(app, "/reports", "Reports", ROLES)
    kpi.add_routes(app)
    app.cleanup_ctx.append(keep_rollup)
