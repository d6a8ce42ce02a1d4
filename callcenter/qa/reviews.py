"""The QA review service: work queue, drafts, submit, the agent's answer, resolution.

Who may do what:

- an inspector (role ``qa``) scores the calls assigned to them: a draft may be
  saved any number of times, a submitted review is immutable;
- an agent sees their own submitted reviews and, within
  ``qa.dispute_window_days`` of the submission, acknowledges or disputes one
  (a dispute needs a comment); each review is answered once;
- a supervisor (or admin) sees everything and resolves a dispute: ``upheld``
  keeps the score, ``changed`` rescores the review (the only way a submitted
  review changes).

Every change is written with an audit entry in the same transaction. Totals are
always computed here (``qa.scoring``) on the form version the review was
started on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from callcenter.actors import Actor
from callcenter.calls.model import CallRecord
from callcenter.qa.forms import Form, form_from_definition, latest_forms
from callcenter.qa.scoring import (
    ItemScore,
    ScoreResult,
    ScoringError,
    compute,
    merge_scores,
    prefill,
    scores_from_json,
    scores_to_json,
)
from callcenter.refusals import Conflict, Forbidden, NotFound, Refusal
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.calls import CallRepository
from callcenter.store.qa import QaRepository, QueueEntry, ReviewRow

SCORERS = ("qa",)
SUPERVISORS = ("supervisor", "admin")
RESPONSES = ("acknowledged", "disputed")
DECISIONS = ("upheld", "changed")


class Invalid(Refusal):
    """Scores or input that do not fit; :attr:`problems` maps an item id (or field) → problem."""

    def __init__(self, message: str, problems: Mapping[str, str] | None = None,
                 **params: Any) -> None:
        self.problems = dict(problems or {})
        super().__init__(message, **params)


@dataclass(frozen=True)
class Review:
    """A stored review with its pinned form, item scores and computed result."""

    row: ReviewRow
    form: Form
    scores: dict[str, ItemScore]
    result: ScoreResult
    respond_until: datetime | None
    """Last instant (UTC) the agent may acknowledge or dispute; None before submission."""

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def dispute_open(self) -> bool:
        """True while a dispute waits for a supervisor."""
        return self.row.response == "disputed" and self.row.resolution is None


def forms_directory(settings: Settings) -> Path:
    """``qa.forms_dir``: as given when it exists, else relative to the source checkout."""
    path = Path(settings.qa.forms_dir)
    if path.is_absolute() or path.is_dir():
        return path
    return Path(__file__).resolve().parents[2] / path


class ReviewService:
    """The rules of QA reviews over :class:`QaRepository`; every method checks the actor."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.pool = pool
        self.settings = settings
        self.repo = QaRepository(pool)
        self.calls = CallRepository(pool)
        self.audit = AuditRepository(pool)
        self.clock = clock
        self._forms: dict[str, Form] = {}

    # ------------------------------------------------------------ reading

    def current_form(self) -> Form:
        """The highest version of the configured form (``qa.form``) in the forms directory."""
        forms = latest_forms(forms_directory(self.settings))
        try:
            return forms[self.settings.qa.form]
        except KeyError:
            raise Refusal("No QA form %(form)s in %(directory)s.", form=self.settings.qa.form,
                              directory=str(forms_directory(self.settings))) from None

    def _form_of(self, row: ReviewRow) -> Form:
        form = self._forms.get(row.form_hash)
        if form is None:
            form = form_from_definition(row.form_definition, f"review {row.id}")
            self._forms[row.form_hash] = form
        return form

    def review_of(self, row: ReviewRow) -> Review:
        """A stored row as a :class:`Review` (no permission check: for reports)."""
        form = self._form_of(row)
        scores = scores_from_json(row.scores)
        until = (row.submitted_at + timedelta(days=self.settings.qa.dispute_window_days)
                 if row.submitted_at else None)
        return Review(row, form, scores, compute(form, scores), until)

    async def work_queue(self, actor: Actor, *, include_done: bool = False
                         ) -> list[QueueEntry]:
        """An inspector's own assignments; a supervisor's view of everyone's."""
        if actor.role in SCORERS:
            return await self.repo.work_queue(actor.username, include_done=include_done)
        if actor.role in SUPERVISORS:
            return await self.repo.work_queue(None, include_done=include_done)
        raise Forbidden("only QA inspectors and supervisors have a work queue")

    async def get(self, actor: Actor, review_id: int) -> Review:
        """A review the actor may see (NotFound otherwise, so ids do not leak)."""
        row = await self.repo.review(review_id)
        if row is None or not self._may_see(actor, row):
            raise NotFound("No review %(id)s.", id=review_id)
        return self.review_of(row)

    def _may_see(self, actor: Actor, row: ReviewRow) -> bool:
        if actor.role in SUPERVISORS:
            return True
        if actor.role in SCORERS:
            return row.inspector == actor.username
        return (actor.role == "agent" and actor.agent is not None and row.agent == actor.agent
                and row.status == "submitted")

    async def agent_reviews(self, actor: Actor) -> list[Review]:
        """The actor's own submitted reviews (role agent), newest first."""
        if actor.role != "agent" or not actor.agent:
            raise Forbidden("only agents have their own reviews")
        rows = await self.repo.reviews(agent=actor.agent, status="submitted")
        return [self.review_of(r) for r in rows]

    async def open_disputes(self, actor: Actor) -> list[Review]:
        """Disputes waiting for a supervisor."""
        self._require(actor, SUPERVISORS, "only a supervisor sees disputes")
        return [self.review_of(r) for r in await self.repo.reviews(disputed_open=True)]

    async def call(self, review: Review) -> CallRecord | None:
        """The reviewed call's record (None when it is no longer in the store)."""
        return await self.calls.get_call(review.row.server, review.row.linkedid)

    # ------------------------------------------------------------ scoring

    async def start(self, actor: Actor, assignment_id: int, *, remote: str = "") -> Review:
        """The review of an assignment: the existing one, or a new draft on the current
        form with the auto items prefilled from the call record."""
        self._require(actor, SCORERS, "only QA inspectors score calls")
        entry = await self.repo.assignment(assignment_id)
        if entry is None or entry.inspector != actor.username:
            raise NotFound("No assignment %(id)s in your work queue.", id=assignment_id)
        existing = await self.repo.review_of_assignment(assignment_id)
        if existing is not None:
            return self.review_of(existing)
        call = await self.calls.get_call(entry.server, entry.linkedid)
        if call is None:
            raise NotFound("Call %(call)s is not in the store.",
                           call=f"{entry.server}/{entry.linkedid}")
        form = self.current_form()
        scores = prefill(form, call)
        result = compute(form, scores)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self.repo.insert_review(
                conn, assignment_id=assignment_id, server=entry.server, linkedid=entry.linkedid,
                inspector=actor.username, agent=entry.agent, form_id=form.id,
                form_version=form.version, form_hash=form.hash,
                form_definition=dict(form.definition), scores=scores_to_json(scores),
                total=result.total, raw_total=result.raw_total, grade=result.grade)
            await self._audit(conn, actor, "qa_review_started", row, remote,
                              {"form": f"{form.id} v{form.version}"})
        return self.review_of(row)

    async def save(self, actor: Actor, review_id: int, edits: Mapping[str, ItemScore],
                   comment: str | None = None, *, submit: bool = False,
                   remote: str = "") -> Review:
        """Apply item edits (and the overall comment) to a draft; ``submit`` requires every
        item scored and makes the review final."""
        self._require(actor, SCORERS, "only QA inspectors score calls")
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, review_id)
            if row.inspector != actor.username:
                raise NotFound("No review %(id)s.", id=review_id)
            if row.status != "draft":
                raise Conflict("this review is submitted and can no longer be changed; "
                               "a supervisor can change it by resolving a dispute")
            form = self._form_of(row)
            scores, result = self._score(form, scores_from_json(row.scores), edits, submit)
            values: dict[str, Any] = {
                "scores": scores_to_json(scores), "total": result.total,
                "raw_total": result.raw_total, "grade": result.grade,
                "fatal": bool(result.fatal_failed)}
            if comment is not None:
                values["comment"] = comment
            if submit:
                values.update(status="submitted", submitted_at=self.clock())
            new = await self.repo.update_review(conn, review_id, **values)
            await self._audit(conn, actor, "qa_review_submitted" if submit else
                              "qa_review_saved", new, remote,
                              {"total": result.total, "grade": result.grade,
                               "items": sorted(edits)})
        return self.review_of(new)

    @staticmethod
    def _score(form: Form, base: Mapping[str, ItemScore], edits: Mapping[str, ItemScore],
               complete: bool) -> tuple[dict[str, ItemScore], ScoreResult]:
        merged = merge_scores(base, edits)
        try:
            return merged, compute(form, merged, complete=complete)
        except ScoringError as exc:
            raise Invalid("some items are not scored correctly", exc.problems) from None

    # ------------------------------------------------------------ answer and resolution

    async def respond(self, actor: Actor, review_id: int, response: str, comment: str = "",
                      *, remote: str = "") -> Review:
        """The agent acknowledges or disputes their submitted review, once, within the window."""
        if response not in RESPONSES:
            raise Invalid("response must be one of %(allowed)s", allowed=", ".join(RESPONSES))
        if actor.role != "agent":
            raise Forbidden("only the reviewed agent answers a review")
        if response == "disputed" and not comment.strip():
            raise Invalid("a dispute needs a comment saying what is wrong",
                          {"comment": "required"})
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, review_id)
            if not self._may_see(actor, row):
                raise NotFound("No review %(id)s.", id=review_id)
            if row.response is not None:
                raise Conflict("This review was already %(response)s.", response=row.response)
            now = self.clock()
            assert row.submitted_at is not None
            until = row.submitted_at + timedelta(days=self.settings.qa.dispute_window_days)
            if now > until:
                raise Conflict("The %(days)s-day window to answer this review has passed.",
                               days=self.settings.qa.dispute_window_days)
            new = await self.repo.update_review(conn, review_id, response=response,
                                                response_comment=comment.strip(),
                                                responded_at=now)
            await self._audit(conn, actor, f"qa_review_{response}", new, remote,
                              {"comment": comment.strip()})
        return self.review_of(new)

    async def resolve(self, actor: Actor, review_id: int, decision: str, comment: str,
                      edits: Mapping[str, ItemScore] | None = None, *,
                      remote: str = "") -> Review:
        """A supervisor closes a dispute: ``upheld`` keeps the review, ``changed`` applies
        ``edits`` (rescored on the review's form)."""
        self._require(actor, SUPERVISORS, "only a supervisor resolves disputes")
        if decision not in DECISIONS:
            raise Invalid("decision must be one of %(allowed)s", allowed=", ".join(DECISIONS))
        if not comment.strip():
            raise Invalid("a resolution needs a comment", {"comment": "required"})
        if decision == "changed" and not edits:
            raise Invalid("a 'changed' resolution needs the changed items")
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, review_id)
            if row.response != "disputed" or row.resolution is not None:
                raise Conflict("this review has no open dispute")
            values: dict[str, Any] = {"resolution": decision,
                                      "resolution_comment": comment.strip(),
                                      "resolved_by": actor.username,
                                      "resolved_at": self.clock()}
            details: dict[str, Any] = {"decision": decision, "comment": comment.strip(),
                                       "total_before": row.total}
            if decision == "changed" and edits:
                scores, result = self._score(self._form_of(row), scores_from_json(row.scores),
                                             edits, True)
                values.update(scores=scores_to_json(scores), total=result.total,
                              raw_total=result.raw_total, grade=result.grade,
                              fatal=bool(result.fatal_failed))
                details.update(total_after=result.total, items=sorted(edits),
                               scores_before=row.scores)
            new = await self.repo.update_review(conn, review_id, **values)
            await self._audit(conn, actor, "qa_dispute_resolved", new, remote, details)
        return self.review_of(new)

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _require(actor: Actor, roles: tuple[str, ...], message: str) -> None:
        if actor.role not in roles:
            raise Forbidden(message)

    async def _locked(self, conn: asyncpg.Connection, review_id: int) -> ReviewRow:
        row = await self.repo.review(review_id, conn, lock=True)
        if row is None:
            raise NotFound("No review %(id)s.", id=review_id)
        return row

    async def _audit(self, conn: asyncpg.Connection, actor: Actor, action: str, row: ReviewRow,
                     remote: str, details: dict[str, Any]) -> None:
        await self.audit.record(actor.username, action, f"qa_review:{row.id}", remote=remote,
                                details={"call": f"{row.server}/{row.linkedid}",
                                         "agent": row.agent, **details}, conn=conn)
