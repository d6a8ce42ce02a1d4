"""QA pages: the work queue, the scoring page (player + form), the agent's reviews.

Routes (``setup``):

- ``GET /qa`` — work queue (qa: own; supervisor/admin: everyone's) and open disputes;
- ``POST /qa/sample`` — a supervisor samples a week and assigns the new work;
- ``GET /qa/assignments/{id}`` — open (or start) the review of an assignment;
- ``GET|POST /qa/reviews/{id}`` — the scoring page; POST saves a draft or submits;
- ``POST /qa/reviews/{id}/respond`` — the agent acknowledges or disputes;
- ``POST /qa/reviews/{id}/resolve`` — a supervisor resolves a dispute;
- ``GET /qa/mine`` — an agent's own reviews;
- ``GET /qa/report?period=2026-W48`` — the monitoring sheet of a period, and
  ``/qa/report.csv`` / ``/qa/report.xlsx`` its export (audited).

Item fields of the form: ``score.<item>`` ('' | 'na' | 0..max), ``comment.<item>``,
``reason.<item>`` (why an auto item was changed); ``comment`` overall.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, StringConstraints

from callcenter.formfields import FormError, Plain, validate
from callcenter.qa.forms import Form
from callcenter.qa.report import (
    Sheet,
    build_sheet,
    calibration_rows,
    figure_rows,
    parse_period,
    to_csv,
    to_xlsx,
)
from callcenter.qa.reviews import Invalid, Review, ReviewService
from callcenter.qa.sampling import SamplingError, assign_week, sample_week, week_of
from callcenter.qa.scoring import ItemScore
from callcenter.refusals import Refusal
from callcenter.store.monitoring import MonitoringRepository
from callcenter.store.qa import MissingTable, QaRepository
from callcenter.web.auth import Principal, current_user, require_role
from callcenter.web.home import add_home_section
from callcenter.web.keys import POOL, SETTINGS
from callcenter.web.nav import add_nav

SERVICE = web.AppKey("qa_reviews", ReviewService)
EXPORT_TYPES = {"csv": "text/csv",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_SCORE_RE = re.compile(r"^(|na|[0-9]{1,3})$")
MAX_TEXT = 4000
"""Longest comment, reason or answer accepted (characters)."""
SCORE_PROBLEM = "score must be a whole number on the item's scale"
HOME_ENTRIES = 5
"""Work-queue entries shown on an inspector's home page."""


QaText = Annotated[Plain, StringConstraints(max_length=MAX_TEXT)]


class _ItemPost(BaseModel):
    """One item's posted fields: ``score.<item>``, ``comment.<item>``, ``reason.<item>``."""

    score: Annotated[Plain, StringConstraints(pattern=_SCORE_RE.pattern)]
    comment: QaText = ""
    reason: QaText = ""

    def edit(self) -> ItemScore:
        """The item's score as posted ('' unscored, 'na' not applicable)."""
        value = int(self.score) if self.score.isdigit() else None
        return ItemScore(value, self.score == "na", self.comment, override_reason=self.reason)


def _problem(fields: FormError) -> str:
    """An item's problem: its score's (on the item's scale), else its texts'."""
    return SCORE_PROBLEM if "score" in fields.errors else next(iter(fields.errors.values()))


def parse_edits(form: Form, data: Mapping[str, Any]) -> dict[str, ItemScore]:
    """Item scores from posted fields (only the items the post names); Invalid on bad input."""
    edits: dict[str, ItemScore] = {}
    problems: dict[str, str] = {}
    for item in form.items:
        if f"score.{item.id}" not in data:
            continue
        try:
            edits[item.id] = validate(_ItemPost, {
                k: data.get(f"{k}.{item.id}") for k in ("score", "comment", "reason")}).edit()
        except FormError as exc:
            problems[item.id] = _problem(exc)
    if problems:
        raise Invalid("some items are not scored correctly", problems)
    return edits


def _text(data: Mapping[str, Any], key: str) -> str:
    """The posted text ``key``; Invalid naming it when too long or not text."""
    try:
        return validate(_Text, {"text": data.get(key)}).text
    except FormError as exc:
        raise Invalid(exc.errors["text"], {key: exc.errors["text"]}) from None


class _Text(BaseModel):
    text: QaText = ""


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound(text="404: no such review") from None


async def _page(request: web.Request, who: Principal, review: Review, *,
                error: Invalid | None = None, posted: Mapping[str, Any] | None = None
                ) -> web.StreamResponse:
    """The scoring page of ``review``: call facts, player, form (editable or not)."""
    svc = request.app[SERVICE]
    repo = QaRepository(request.app[POOL])
    row = review.row
    recordings = [{**r, "url": "/recordings/" + "/".join(
        quote(p, safe="") for p in (row.server, row.linkedid, r["file_name"]))}
        for r in await repo.ready_recordings(row.server, row.linkedid)]
    editable = row.status == "draft" and who.username == row.inspector
    resolving = review.dispute_open and who.role in ("supervisor", "admin")
    context = {
        "review": review, "row": row, "form": review.form, "scores": review.scores,
        "call": await svc.call(review), "recordings": recordings,
        "notes": await repo.notes(row.server, row.linkedid),
        "monitoring": await MonitoringRepository(request.app[POOL]).of_call(row.server,
                                                                             row.linkedid),
        "editable": editable, "resolving": resolving,
        "can_respond": (who.role == "agent" and row.response is None
                        and review.respond_until is not None
                        and svc.clock() <= review.respond_until),
        "items": {i.id: i for i in review.form.items},
        "unscored": [i.text(who.language) for i in review.form.items
                     if i.id in review.result.missing],
        "error": error, "problems": error.problems if error else {},
        "posted": posted or {},
    }
    return aiohttp_jinja2.render_template("qa/review.html", request, context,
                                          status=400 if error else 200)


@require_role("qa", "supervisor", "admin")
async def queue_page(request: web.Request) -> web.StreamResponse:
    who = await current_user(request)
    svc = request.app[SERVICE]
    done = request.query.get("done") == "1"
    entries = await svc.work_queue(who, include_done=done)
    tz = svc.settings.web.timezone
    last_week = week_of(datetime.now(UTC) - timedelta(days=7), tz)
    disputes = await svc.open_disputes(who) if who.role in ("supervisor", "admin") else []
    return aiohttp_jinja2.render_template("qa/queue.html", request, {
        "entries": entries, "disputes": disputes, "done": done, "last_week": last_week,
        "this_week": week_of(datetime.now(UTC), tz)})


@require_role("supervisor", "admin")
async def sample_and_assign(request: web.Request) -> web.StreamResponse:
    """Sample a week (``week``, the centre's ISO week) and assign the new work; audited."""
    who = await current_user(request)
    svc = request.app[SERVICE]
    week = str((await request.post()).get("week", "")).strip()
    try:
        run = await sample_week(svc.repo, svc.settings, week)
        pairs, _ = await assign_week(svc.repo, svc.settings, week)
    except (SamplingError, MissingTable) as exc:
        raise web.HTTPBadRequest(text=f"400: {exc}") from None
    await svc.audit.record(who.username, "qa_sampled", f"qa_week:{week}",
                           remote=request.remote or "",
                           details={"new": run.stored, "assigned": len(pairs)})
    raise web.HTTPFound(f"/qa?sampled={run.stored}&assigned={len(pairs)}&week={quote(week)}")


@require_role("qa")
async def open_assignment(request: web.Request) -> web.StreamResponse:
    who = await current_user(request)
    review = await request.app[SERVICE].start(who, _id(request), remote=request.remote or "")
    raise web.HTTPFound(f"/qa/reviews/{review.id}")


@require_role("qa", "supervisor", "admin", "agent")
async def review_page(request: web.Request) -> web.StreamResponse:
    who = await current_user(request)
    review = await request.app[SERVICE].get(who, _id(request))
    return await _page(request, who, review)


Action = Callable[[ReviewService, Principal, Review, MultiDictProxy[Any], str], Awaitable[str]]


async def _on_review(request: web.Request, action: Action) -> web.StreamResponse:
    """Run ``action`` on the URL's review with the posted fields: success redirects where it
    says, Invalid shows the page again with the problems (400), other refusals their status
    (the error page says them: callcenter.web.errors)."""
    who = await current_user(request)
    svc = request.app[SERVICE]
    data = await request.post()
    review = await svc.get(who, _id(request))
    try:
        target = await action(svc, who, review, data, request.remote or "")
    except Invalid as exc:
        return await _page(request, who, review, error=exc,
                           posted={k: str(v) for k, v in data.items()})
    raise web.HTTPFound(target)


async def _save(svc: ReviewService, who: Principal, review: Review, data: MultiDictProxy[Any],
                remote: str) -> str:
    edits = parse_edits(review.form, data)
    submit = data.get("action") == "submit"
    await svc.save(who, review.id, edits, _text(data, "comment"), submit=submit, remote=remote)
    return f"/qa/reviews/{review.id}?{'submitted' if submit else 'saved'}=1"


async def _respond(svc: ReviewService, who: Principal, review: Review,
                   data: MultiDictProxy[Any], remote: str) -> str:
    await svc.respond(who, review.id, str(data.get("response", "")),
                      _text(data, "response_comment"), remote=remote)
    return "/qa/mine"


async def _resolve(svc: ReviewService, who: Principal, review: Review,
                   data: MultiDictProxy[Any], remote: str) -> str:
    decision = str(data.get("decision", ""))
    edits = parse_edits(review.form, data)
    changed = {k: v for k, v in edits.items() if _differs(v, review.scores.get(k))}
    if decision == "upheld" and changed:
        raise Invalid("You edited items but chose to uphold the score: choose 'change the "
                      "score' to keep your edits, or undo them.",
                      dict.fromkeys(changed, "edited"))
    await svc.resolve(who, review.id, decision, _text(data, "resolution_comment"), changed,
                      remote=remote)
    return f"/qa/reviews/{review.id}"


@require_role("qa")
async def save_review(request: web.Request) -> web.StreamResponse:
    """Save the draft, or submit it (``action=submit``)."""
    return await _on_review(request, _save)


@require_role("agent")
async def respond(request: web.Request) -> web.StreamResponse:
    """The agent acknowledges or disputes (``response``, ``response_comment``)."""
    return await _on_review(request, _respond)


@require_role("supervisor", "admin")
async def resolve(request: web.Request) -> web.StreamResponse:
    """A supervisor resolves a dispute (``decision``, ``resolution_comment``, items)."""
    return await _on_review(request, _resolve)


def _differs(edit: ItemScore, stored: ItemScore | None) -> bool:
    """True when a posted item differs from the stored one (the post carries no prefill)."""
    if stored is None:
        return edit.scored or bool(edit.comment)
    return (edit.value, edit.na, edit.comment, edit.override_reason) != (
        stored.value, stored.na, stored.comment, stored.override_reason)


async def _sheet(request: web.Request) -> tuple[Sheet, str]:
    """The sheet of ``?period=`` (default: this week) and the page language."""
    settings = request.app[SETTINGS]
    tz = settings.web.timezone
    text = request.query.get("period") or week_of(datetime.now(UTC), tz)
    try:
        sheet = await build_sheet(request.app[SERVICE], parse_period(text, tz))
    except (SamplingError, Refusal) as exc:
        raise web.HTTPBadRequest(text=f"400: {exc}") from None
    who = await current_user(request)
    return sheet, who.language


@require_role("qa", "supervisor", "admin")
async def report_page(request: web.Request) -> web.StreamResponse:
    sheet, lang = await _sheet(request)
    return aiohttp_jinja2.render_template("qa/report.html", request, {
        "sheet": sheet, "figures": figure_rows([*sheet.agents, sheet.overall], sheet.items,
                                               lang),
        "teams": figure_rows(sheet.teams, sheet.items, lang),
        "calibration": calibration_rows(sheet.calibration, sheet.items, lang)})


@require_role("qa", "supervisor", "admin")
async def report_export(request: web.Request) -> web.StreamResponse:
    """The sheet as ``.csv`` (reviews) or ``.xlsx`` (workbook); every export is audited."""
    sheet, lang = await _sheet(request)
    fmt = request.match_info["fmt"]
    tz = request.app[SETTINGS].web.timezone
    body = to_csv(sheet, lang, tz) if fmt == "csv" else to_xlsx(sheet, lang, tz)
    who = await current_user(request)
    await request.app[SERVICE].audit.record(who.username, "qa_report_exported",
                                            f"qa_period:{sheet.period.label}",
                                            remote=request.remote or "", details={"format": fmt})
    name = f"qa-{re.sub(r'[^0-9A-Za-z.-]', '_', sheet.period.label)}.{fmt}"
    return web.Response(body=body, content_type=EXPORT_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


async def qa_home(request: web.Request, who: Principal) -> dict[str, Any]:
    """The inspector's home section: the open work queue (the first few) and its size."""
    entries = await request.app[SERVICE].work_queue(who)
    return {"entries": entries[:HOME_ENTRIES], "open": len(entries),
            "drafts": sum(e.status == "draft" for e in entries)}


@require_role("agent")
async def my_reviews(request: web.Request) -> web.StreamResponse:
    who = await current_user(request)
    reviews = await request.app[SERVICE].agent_reviews(who)
    return aiohttp_jinja2.render_template("qa/mine.html", request, {"reviews": reviews})


def setup(app: web.Application) -> None:
    """Add the QA pages and their navigation entries."""
    app[SERVICE] = ReviewService(app[POOL], app[SETTINGS])
    r = app.router
    r.add_get("/qa", queue_page, name="qa_queue")
    r.add_get("/qa/mine", my_reviews, name="qa_mine")
    r.add_post("/qa/sample", sample_and_assign)
    r.add_get("/qa/assignments/{id}", open_assignment, name="qa_assignment")
    r.add_get("/qa/reviews/{id}", review_page, name="qa_review")
    r.add_post("/qa/reviews/{id}", save_review)
    r.add_post("/qa/reviews/{id}/respond", respond)
    r.add_post("/qa/reviews/{id}/resolve", resolve)
    r.add_get("/qa/report", report_page, name="qa_report")
    r.add_get(r"/qa/report.{fmt:csv|xlsx}", report_export)
    add_nav(app, "/qa", "QA work queue", ("qa", "supervisor", "admin"))
    add_nav(app, "/qa/report", "QA report", ("qa", "supervisor", "admin"))
    add_nav(app, "/qa/mine", "My QA reviews", ("agent",))
    add_home_section(app, "qa.html", ("qa",), qa_home)
