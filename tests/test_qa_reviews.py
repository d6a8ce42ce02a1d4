"""The QA review service: drafts, submit, immutability, answers, disputes, audit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from callcenter.qa.reviews import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Review,
    ReviewService,
)
from callcenter.qa.sampling import assign_week, sample_week
from callcenter.qa.scoring import ItemScore
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.qa import QaRepository
from tests.support.qa import (
    AGENT,
    ANN,
    BOB,
    BOSS,
    FULL,
    OTHER_AGENT,
    SHIPPED,
    WEEK,
    Clock,
    add_call,
    settings_for,
)


async def assigned(pool: asyncpg.Pool, settings: Settings, n: int = 1) -> list[int]:
    """Store ``n`` calls of agent 1001, sample and assign them; the assignment ids."""
    for i in range(n):
        await add_call(pool, i, hold_s=10.0)
    repo = QaRepository(pool)
    await sample_week(repo, settings, WEEK)
    await assign_week(repo, settings, WEEK)
    return [e.assignment_id for e in await repo.work_queue("ann")]


def full_scores() -> dict[str, ItemScore]:
    return {k: ItemScore(v) for k, v in FULL.items()}


async def submitted(svc: ReviewService, assignment_id: int) -> Review:
    review = await svc.start(ANN, assignment_id)
    return await svc.save(ANN, review.id, full_scores(), "good call", submit=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> Settings:
    return settings_for()


@pytest.fixture
def svc(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> ReviewService:
    return ReviewService(pool, settings, clock=clock)


async def test_draft_prefilled_then_submitted_total_on_server(
        pool: asyncpg.Pool, svc: ReviewService) -> None:
    [aid] = await assigned(pool, svc.settings)
    review = await svc.start(ANN, aid)
    assert review.row.status == "draft" and review.row.form_version == 1
    # auto items prefilled from the call record: no ring attempt → N/A, hold 10 s → yes
    assert review.scores["answer_within_three_rings"].na
    assert review.scores["hold_time"].value == 1
    assert review.scores["transfer_handled"].na
    assert (await svc.start(ANN, aid)).id == review.id  # one review per assignment

    draft = await svc.save(ANN, review.id, {"standard_greeting": ItemScore(1, comment="ok")})
    assert draft.row.status == "draft" and draft.scores["standard_greeting"].comment == "ok"
    with pytest.raises(Invalid) as exc:
        await svc.save(ANN, review.id, {}, submit=True)
    assert exc.value.problems["polite_close"] == "not scored yet"

    done = await svc.save(ANN, review.id, full_scores(), "polite close missing", submit=True)
    # (1·10 + 1·5 + 4/4·10 + 3/4·15 + 4/4·20 + 1·5 + 1·5 + 0·5 + 1·5) / 80 · 100
    assert done.row.total == pytest.approx(71.25 / 80 * 100, abs=0.01)
    assert done.row.grade == "exceeds" and done.row.status == "submitted"
    assert done.row.comment == "polite close missing" and done.row.submitted_at == svc.clock()
    queue = await svc.work_queue(ANN)
    assert queue == []  # submitted work leaves the queue
    assert [e.status for e in await svc.work_queue(ANN, include_done=True)] == ["submitted"]


async def test_override_of_auto_item_needs_reason(pool: asyncpg.Pool, svc: ReviewService) -> None:
    [aid] = await assigned(pool, svc.settings)
    review = await svc.start(ANN, aid)
    with pytest.raises(Invalid) as exc:
        await svc.save(ANN, review.id, {"hold_time": ItemScore(0)})
    assert exc.value.problems == {"hold_time": "changing an auto-scored item needs a reason"}
    ok = await svc.save(ANN, review.id, {"hold_time": ItemScore(0, override_reason="muted")})
    assert ok.scores["hold_time"].overridden and ok.scores["hold_time"].auto is not None


async def test_submitted_review_is_immutable(pool: asyncpg.Pool, svc: ReviewService) -> None:
    [aid] = await assigned(pool, svc.settings)
    review = await submitted(svc, aid)
    with pytest.raises(Conflict, match="submitted"):
        await svc.save(ANN, review.id, {"polite_close": ItemScore(1)})
    # the database refuses it too, whatever the code path
    with pytest.raises(asyncpg.RaiseError, match="immutable|dispute"):
        await pool.execute("UPDATE qa_reviews SET total = 100 WHERE id = $1", review.id)
    with pytest.raises(asyncpg.RaiseError):
        await pool.execute("UPDATE qa_reviews SET status = 'draft' WHERE id = $1", review.id)


async def test_version_pinning(pool: asyncpg.Pool, tmp_path: Path, clock: Clock) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    (tmp_path / "v1.toml").write_text(text, encoding="utf-8")
    settings = settings_for(tmp_path)
    svc = ReviewService(pool, settings, clock=clock)
    first, second = await assigned(pool, settings, 2)
    old = await svc.start(ANN, first)
    v2 = text.replace("version = 1", "version = 2").replace("weight = 20", "weight = 40")
    (tmp_path / "v2.toml").write_text(v2, encoding="utf-8")
    new = await svc.start(ANN, second)
    assert (old.row.form_version, new.row.form_version) == (1, 2)
    done = await svc.save(ANN, old.id, full_scores(), submit=True)
    assert done.form.version == 1 and done.form.item("accurate_truthful").weight == 20
    assert done.row.total == pytest.approx(71.25 / 80 * 100, abs=0.01)
    (tmp_path / "v1.toml").unlink()  # the old file is gone: the review keeps its snapshot
    assert (await svc.get(BOSS, old.id)).form.version == 1


async def test_permissions(pool: asyncpg.Pool, svc: ReviewService) -> None:
    [aid] = await assigned(pool, svc.settings)
    with pytest.raises(NotFound):
        await svc.start(BOB, aid)  # not in bob's queue
    with pytest.raises(Forbidden):
        await svc.start(AGENT, aid)
    with pytest.raises(Forbidden):
        await svc.work_queue(AGENT)
    review = await svc.start(ANN, aid)
    with pytest.raises(NotFound):
        await svc.save(BOB, review.id, {"polite_close": ItemScore(1)})
    with pytest.raises(NotFound):
        await svc.get(AGENT, review.id)  # a draft is not shown to the agent
    await svc.save(ANN, review.id, full_scores(), submit=True)
    assert (await svc.get(AGENT, review.id)).id == review.id
    assert [r.id for r in await svc.agent_reviews(AGENT)] == [review.id]
    assert await svc.agent_reviews(OTHER_AGENT) == []
    for who in (OTHER_AGENT, BOB):
        with pytest.raises(NotFound):
            await svc.get(who, review.id)
    with pytest.raises(NotFound):
        await svc.respond(OTHER_AGENT, review.id, "acknowledged")
    with pytest.raises(Forbidden):
        await svc.resolve(ANN, review.id, "upheld", "no")


async def test_acknowledge_once_within_window(pool: asyncpg.Pool, svc: ReviewService,
                                              clock: Clock) -> None:
    first, second = await assigned(pool, svc.settings, 2)
    a = await submitted(svc, first)
    b = await submitted(svc, second)
    clock.now += timedelta(days=6)
    acked = await svc.respond(AGENT, a.id, "acknowledged", "thanks")
    assert acked.row.response == "acknowledged" and acked.row.responded_at == clock.now
    with pytest.raises(Conflict, match="already acknowledged"):
        await svc.respond(AGENT, a.id, "disputed", "changed my mind")
    clock.now += timedelta(days=1, seconds=1)
    with pytest.raises(Conflict, match="7-day window"):
        await svc.respond(AGENT, b.id, "disputed", "too late")
    with pytest.raises(Invalid):
        await svc.respond(AGENT, b.id, "maybe")


async def test_dispute_and_resolution(pool: asyncpg.Pool, svc: ReviewService) -> None:
    first, second = await assigned(pool, svc.settings, 2)
    a = await submitted(svc, first)
    b = await submitted(svc, second)
    with pytest.raises(Invalid, match="comment"):
        await svc.respond(AGENT, a.id, "disputed", " ")
    with pytest.raises(Conflict, match="no open dispute"):
        await svc.resolve(BOSS, a.id, "upheld", "fine")
    await svc.respond(AGENT, a.id, "disputed", "I did close politely at 03:10")
    await svc.respond(AGENT, b.id, "disputed", "hold was the customer's request")
    assert {r.id for r in await svc.open_disputes(BOSS)} == {a.id, b.id}

    with pytest.raises(Invalid, match="comment"):
        await svc.resolve(BOSS, a.id, "changed", "", {"polite_close": ItemScore(1)})
    changed = await svc.resolve(BOSS, a.id, "changed", "agreed, heard it",
                                {"polite_close": ItemScore(1)})
    assert changed.row.total == pytest.approx(76.25 / 80 * 100, abs=0.01)
    assert changed.row.resolution == "changed" and changed.row.resolved_by == "zhao"
    upheld = await svc.resolve(BOSS, b.id, "upheld", "the score stands")
    assert upheld.row.total == b.row.total and not upheld.dispute_open
    with pytest.raises(Conflict):
        await svc.resolve(BOSS, a.id, "changed", "again", {"polite_close": ItemScore(0)})
    assert await svc.open_disputes(BOSS) == []

    entries = await AuditRepository(pool).entries(object=f"qa_review:{a.id}")
    assert [e.action for e in reversed(entries)] == [
        "qa_review_started", "qa_review_submitted", "qa_review_disputed",
        "qa_dispute_resolved"]
    resolved = entries[0]
    assert resolved.actor == "zhao" and resolved.details["total_before"] == a.row.total
    assert resolved.details["total_after"] == changed.row.total
