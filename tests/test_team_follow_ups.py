"""Follow-ups for a team, on PostgreSQL: a time of day (rows planned with a date only
fall due at the configured default), a queue's pool whose follow-ups a member takes
atomically, recurring follow-ups, the overdue ones and the reminders falling due."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from callcenter.agentpanel.followups import FollowUpDesk, TakeRefused
from callcenter.agentpanel.forms import FormError
from callcenter.agentpanel.presence import Presence
from callcenter.refusals import Forbidden, NotFound
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.followups import FollowUpRepository, NotMember, NotTaken
from tests.support.agent_panel import ALICE, BOB, NOW, SUPER

TZ = "Asia/Shanghai"


@pytest.fixture
async def repo(pool: asyncpg.Pool) -> FollowUpRepository:
    """Agents 1001 and 1002 in queue support; 1003 in sales only."""
    await pool.execute(
        "INSERT INTO queue_members (server, queue, interface, agent, in_queue, state, paused,"
        " updated_at) SELECT 'pbx1', q, 'PJSIP/' || a, a, true, 'idle', false, now()"
        " FROM (VALUES ('support', 'agent1001'), ('support', 'agent1002'),"
        " ('sales', 'agent1003')) AS m(q, a)")
    return FollowUpRepository(pool, TZ, time(10, 0))


async def _pooled(repo: FollowUpRepository, every: int | None = None) -> int:
    made = await repo.create(agent=None, queue="support", number="13800000001",
                             due_on=date(2026, 12, 7), due_time=time(15, 30), purpose="visit",
                             customer_id=None, every_days=every)
    return made.id


async def test_a_row_with_a_date_only_falls_due_at_the_default_time(
        pool: asyncpg.Pool, repo: FollowUpRepository) -> None:
    # as migration 008's rows were written: a date, no time of day
    fid = await pool.fetchval("INSERT INTO follow_ups (agent, number, due_on) VALUES"
                              " ('agent1001', '13800000001', '2026-12-07') RETURNING id")
    found = await repo.get(fid)
    assert found is not None and found.due_time is None
    assert found.due_at == datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    later = FollowUpRepository(pool, TZ, time(14, 0))
    assert (await later.get(fid)).due_at == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # type: ignore[union-attr]


async def test_two_members_take_at_once_one_wins_the_other_is_told_who(
        pool: asyncpg.Pool, repo: FollowUpRepository) -> None:
    for _ in range(10):  # a race each round: both UPDATEs are in flight together
        fid = await _pooled(repo)
        results = await asyncio.gather(repo.take(fid, "agent1001"), repo.take(fid, "agent1002"),
                                       return_exceptions=True)
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, NotTaken)]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0].by == won[0].agent and won[0].taken_at is not None
        assert await pool.fetchval("SELECT agent FROM follow_ups WHERE id = $1",
                                   fid) == won[0].agent


async def test_only_a_member_of_the_queue_takes_and_a_closed_one_is_gone(
        repo: FollowUpRepository) -> None:
    fid = await _pooled(repo)
    assert [f.id for f in await repo.pool_of(["support"])] == [fid]
    assert await repo.pool_of(["sales"]) == []
    with pytest.raises(NotMember):
        await repo.take(fid, "agent1003")
    await repo.set_status(fid, "cancelled", "agent1001")
    with pytest.raises(NotTaken) as gone:
        await repo.take(fid, "agent1001")
    assert gone.value.by is None


async def test_a_recurring_follow_up_done_comes_back_n_days_later(
        repo: FollowUpRepository) -> None:
    mine = await repo.create(agent="agent1001", number="13800000002", due_on=date(2026, 12, 7),
                             due_time=time(9, 0), purpose="monthly check", customer_id=None,
                             every_days=30)
    await repo.set_status(mine.id, "done", "agent1001")
    nxt = await repo.next_of(mine.id)
    assert nxt is not None
    assert (nxt.agent, nxt.due_on, nxt.due_time, nxt.every_days, nxt.status, nxt.purpose) == (
        "agent1001", date(2027, 1, 6), time(9, 0), 30, "open", "monthly check")
    # done again (reopened, or two clicks): still one next occurrence
    await repo.set_status(mine.id, "open", "agent1001")
    await repo.set_status(mine.id, "done", "agent1001")
    assert [f.id for f in await repo.of_agent("agent1001")] == [nxt.id]


async def test_a_recurring_pool_follow_up_goes_back_to_the_pool(
        repo: FollowUpRepository) -> None:
    fid = await _pooled(repo, every=7)
    await repo.take(fid, "agent1002")
    await repo.set_status(fid, "done", "agent1002")
    nxt = await repo.next_of(fid)
    assert nxt is not None and (nxt.agent, nxt.queue, nxt.due_on) == (
        None, "support", date(2026, 12, 14))
    assert [f.id for f in await repo.pool_of(["support"])] == [nxt.id]
    once = await repo.create(agent="agent1001", number="13800000003", due_on=date(2026, 12, 7),
                             purpose="", customer_id=None)
    await repo.set_status(once.id, "done", "agent1001")
    assert await repo.next_of(once.id) is None


async def test_overdue_by_agent_and_queue_and_reminders_falling_due(
        repo: FollowUpRepository) -> None:
    pooled = await _pooled(repo)  # 2026-12-07 15:30 Shanghai = 07:30 UTC
    mine = await repo.create(agent="agent1001", number="13800000004", due_on=date(2026, 12, 7),
                             purpose="", customer_id=None)  # 10:00 = 02:00 UTC
    theirs = await repo.create(agent="agent1003", number="13800000005",
                               due_on=date(2026, 12, 8), purpose="", customer_id=None)
    now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert [f.id for f in await repo.overdue(now)] == [mine.id, pooled]
    assert [f.id for f in await repo.overdue(now, agent="agent1001")] == [mine.id]
    assert [f.id for f in await repo.overdue(now, agent="")] == [pooled]
    assert [f.id for f in await repo.overdue(now, queue="support")] == [pooled]
    assert [f.id for f in await repo.overdue(now + timedelta(days=2))] == [
        mine.id, pooled, theirs.id]
    since = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    assert [f.id for f in await repo.falling_due("agent1002", ["support"], since, now)] == [
        pooled]
    assert await repo.falling_due("agent1003", ["sales"], since, now) == []
    assert await repo.next_due("agent1001", ["support"], now) is None
    assert await repo.next_due("agent1003", ["sales"], now) == datetime(
        2026, 12, 8, 2, 0, tzinfo=UTC)


async def test_the_desk_plans_into_own_queues_only_and_checks_who_acts(
        pool: asyncpg.Pool, repo: FollowUpRepository) -> None:
    settings = Settings()
    audit = AuditRepository(pool)
    desk = FollowUpDesk(settings, pool, audit, Presence(settings.agent_panel, pool, None, audit))
    today = {"due_on": "2026-12-07"}
    with pytest.raises(FormError) as bad:
        await desk.add(ALICE, {"number": "13800000001", "queue": "sales", **today}, now=NOW)
    assert set(bad.value.errors) == {"queue"}
    with pytest.raises(FormError) as worse:
        await desk.add(ALICE, {"number": "13800000001", "due_time": "25:61",
                               "every_days": "0", **today}, now=NOW)
    assert set(worse.value.errors) == {"due_time", "every_days"}
    pooled = await desk.add(ALICE, {"number": "13800000001", "queue": "support",
                                    "due_time": "15:30", "every_days": "14", **today}, now=NOW)
    assert (pooled.agent, pooled.queue, pooled.due_time, pooled.every_days) == (
        None, "support", time(15, 30), 14)
    assert [f.id for f in await desk.pool(BOB)] == [pooled.id]
    with pytest.raises(NotFound):  # still in the pool: nobody's own yet
        await desk.set_status(ALICE, pooled.id, "done")
    taken = await desk.take(BOB, pooled.id)
    assert taken.agent == "agent1002"
    with pytest.raises(TakeRefused) as refused:
        await desk.take(ALICE, pooled.id)
    assert refused.value.params == {"agent": "agent1002"}
    with pytest.raises(Forbidden):
        await desk.overdue(ALICE, NOW)
    assert [f.id for f in await desk.overdue(SUPER, NOW + timedelta(days=7))] == [pooled.id]
