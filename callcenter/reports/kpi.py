"""The KPI report (/reports/kpi): store.kpi_reads by day, week, month, quarter or year,
for the centre or per agent, queue, department or complaint reason, each KPI with its
definition; CSV and XLSX exports of the same table.

Query parameters: ``grain`` (default month), ``from`` and ``to`` (local days, default
this year up to today), ``by`` (default centre), ``queue``, ``agent`` (repeatable).
A bad one gives the page with a message naming it (400).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from callcenter.kpis import local_midnight
from callcenter.store import kpi_reads
from callcenter.store.kpi_reads import DIMENSIONS, GRAINS, KPIS, KpiQuery
from callcenter.web.app import duration
from callcenter.web.auth import current_user, require_role
from callcenter.web.i18n import Gettext, Problem
from callcenter.web.keys import AUDIT, CATALOGUES, POOL, SETTINGS
from callcenter.web.sheets import Seconds, seconds, workbook
from callcenter.web.words import labeller

ROLES = ("supervisor", "admin")
MAX_DAYS = 5 * 366
LABELS = {
    "complaints": "Complaints", "complaint_rate": "Complaint rate %",
    "complaint_handling_time": "Complaint handling time",
    "complaint_on_time_rate": "Complaints answered on time %",
    "satisfaction_rate": "Satisfaction rate %", "survey_satisfaction": "Survey satisfaction %",
    "verdict_satisfaction": "Complaint verdicts satisfied %",
    "response_time": "Response time", "service_norm_compliance": "Service-norm compliance %",
}
"""The column of each KPI (English msgids)."""
BY_LABELS = {"centre": "Whole centre", "agent": "Agent", "queue": "Queue",
             "department": "Department", "reason": "Complaint reason"}
GRAIN_LABELS = {"day": "Day", "week": "Week", "month": "Month", "quarter": "Quarter",
                "year": "Year"}
Cell = str | int | float | None


@dataclass(frozen=True)
class KpiTable:
    """The KPI report: one row per bucket and group; ``definitions`` by KPI name."""

    headings: list[str]
    rows: list[list[Cell]]
    definitions: dict[str, str]
    label: str


def kpi_query(request: web.Request, now: datetime) -> KpiQuery:
    """The query of the request's parameters; raises :class:`Problem` naming a bad one."""
    q, settings = request.query, request.app[SETTINGS]
    tz = settings.web.timezone
    today = now.astimezone(ZoneInfo(tz)).date()
    grain = q.get("grain") or "month"
    by = q.get("by") or "centre"
    for field, value, choices in (("grain", grain, GRAINS), ("by", by, DIMENSIONS)):
        if value not in choices:
            raise Problem("%(field)s: %(value)r is not one of %(choices)s", field=field,
                          value=value, choices=choices)
    first = _day(q.get("from"), "from", today.replace(month=1, day=1))
    last = _day(q.get("to"), "to", today)
    if last < first or (last - first).days >= MAX_DAYS:
        raise Problem("%(field)s: give a day after from, at most %(n)d days later", field="to",
                      n=MAX_DAYS)
    return KpiQuery(local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz),
                    now, tz, grain, by, settings.kpi.department_of(),  # type: ignore[arg-type]
                    settings.kpi.qa_pass_total, settings.kpi.satisfied_min_score,
                    q.get("queue") or None, tuple(a for a in q.getall("agent", []) if a))


def _day(text: str | None, field: str, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Problem("%(field)s: not a date (YYYY-MM-DD): %(value)r", field=field,
                      value=text) from None


def bucket_label(day: date, grain: str, _: Gettext) -> str:
    """2026-11-03, 2026-W45, 2026-11, 2026-Q4 (in ``_``'s language) or 2026."""
    if grain == "week":
        year, week, _weekday = day.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "quarter":
        return _("%(year)d-Q%(quarter)d", year=day.year, quarter=(day.month - 1) // 3 + 1)
    return {"day": day.isoformat(), "month": day.strftime("%Y-%m"),
            "year": str(day.year)}.get(grain, day.isoformat())


def cell(kind: str, value: float | None) -> Cell:
    """A KPI value as shown: a rate as a percentage (one decimal), a mean as Seconds."""
    if value is None:
        return None
    if kind == "rate":
        return round(value * 100, 1)
    if kind == "mean_s":
        return seconds(value)
    return int(value)


async def kpi_table(request: web.Request, q: KpiQuery, _: Gettext) -> KpiTable:
    """Every KPI of ``q``, one row per (bucket, group), in ``_``'s language."""
    values: dict[tuple[date, str], dict[str, Cell]] = {}
    async with request.app[POOL].acquire() as conn:
        for name, (read, kind) in KPIS.items():
            for v in await read(conn, q):
                values.setdefault((v.bucket, v.group), {})[name] = cell(kind, v.value)
    rows: list[list[Cell]] = [
        [bucket_label(b, q.grain, _), group_word(q.by, g, _), *(found.get(n) for n in KPIS)]
        for (b, g), found in sorted(values.items())]
    headings = [_("Period"), _(BY_LABELS[q.by]), *(_(LABELS[n]) for n in KPIS)]
    start = q.start.astimezone(ZoneInfo(q.tz)).date()
    end = (q.end.astimezone(ZoneInfo(q.tz)) - timedelta(days=1)).date()
    return KpiTable(headings, rows, {n: _(kpi_reads.definition(n)) for n in KPIS},
                    f"{start.isoformat()}..{end.isoformat()}")


def shown(value: Cell) -> Cell:
    """A cell on the page: unknown as an em dash, a duration as ``m:ss``."""
    if value is None:
        return "—"
    return duration(value) if isinstance(value, Seconds) else value


def group_word(by: str, group: str, _: Gettext) -> str:
    """A group as shown: the centre, '(none)', a reason's word, else the name itself."""
    if by == "centre":
        return _(BY_LABELS["centre"])
    if not group:
        return _("(none)")
    return labeller(_)("complaint_reason", group) if by == "reason" else group


@require_role(*ROLES)
async def kpi_page(request: web.Request) -> web.StreamResponse:
    who = await current_user(request)
    _ = request.app[CATALOGUES].gettext(who.language)
    context: dict[str, Any] = {"query": request.query, "grains": GRAIN_LABELS,
                               "dimensions": BY_LABELS, "labels": LABELS,
                               "export_query": request.query_string, "shown": shown}
    try:
        q = kpi_query(request, datetime.now(UTC))
    except Problem as exc:
        context["error"] = exc.text(_)
        return aiohttp_jinja2.render_template("reports/kpi.html", request, context, status=400)
    context["table"] = await kpi_table(request, q, _)
    return aiohttp_jinja2.render_template("reports/kpi.html", request, context)


@require_role(*ROLES)
async def kpi_export(request: web.Request) -> web.StreamResponse:
    """The KPI table as CSV or XLSX; every export is audited."""
    who = await current_user(request)
    _ = request.app[CATALOGUES].gettext(who.language)
    try:
        q = kpi_query(request, datetime.now(UTC))
    except Problem as exc:
        raise web.HTTPBadRequest(text=exc.text(_)) from None
    table = await kpi_table(request, q, _)
    fmt = request.match_info["fmt"]
    await request.app[AUDIT].record(who.username, "kpi_report_exported", f"kpi:{table.label}",
                                    remote=request.remote or "",
                                    details={"format": fmt, "grain": q.grain, "by": q.by})
    rows: list[list[Cell]] = [list(table.headings), *table.rows]
    body = to_csv(rows).encode("utf-8-sig") if fmt == "csv" else workbook(
        [(_("KPIs"), rows)], freeze="C2")
    name = f"kpi-{re.sub(r'[^0-9A-Za-z.-]', '_', table.label)}-{q.grain}-{q.by}.{fmt}"
    return web.Response(body=body, headers={
        "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f'attachment; filename="{name}"'})


def to_csv(rows: list[list[Cell]]) -> str:
    """Rows as CSV; an unknown value is an empty cell, a duration plain seconds."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [["" if v is None else float(v) if isinstance(v, Seconds) else v for v in row]
         for row in rows])
    return out.getvalue()


def add_routes(app: web.Application) -> None:
    """The KPI page and its exports (called by :func:`callcenter.reports.web.setup`)."""
    app.router.add_get("/reports/kpi", kpi_page, name="kpi_report")
    app.router.add_get(r"/reports/kpi/export.{fmt:csv|xlsx}", kpi_export)
