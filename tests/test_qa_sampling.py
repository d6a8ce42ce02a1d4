"""QA sampling: rules, repeatability, never twice, ready recordings only, assignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from callcenter.calls.model import RingAttempt
from callcenter.qa.sampling import (
    Rules,
    SamplingError,
    assign,
    assign_week,
    sample_week,
    select,
    week_bounds,
    week_of,
)
from callcenter.settings import Settings
from callcenter.store.qa import Candidate, MissingTable, QaRepository, Sample
from tests.support.qa import MONDAY, WEEK, add_call


def cand(n: int, agent: str = "1001", **kw: object) -> Candidate:
    return Candidate("pbx1", f"1.{n}", agent, MONDAY + timedelta(minutes=n),  # type: ignore
                     **kw)


# ---------------------------------------------------------------- pure


def test_week_bounds_in_the_centre_time_zone() -> None:
    start, end = week_bounds(WEEK, "Asia/Shanghai")
    assert start == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=7)
    assert week_of(start, "Asia/Shanghai") == WEEK
    assert week_of(start - timedelta(seconds=1), "Asia/Shanghai") == "2026-W47"
    for bad in ("2026-48", "2026-W54", "W48", ""):
        with pytest.raises(SamplingError, match="bad week"):
            week_bounds(bad, "UTC")


def test_rules_always_sample_and_random_per_agent() -> None:
    calls = [cand(i) for i in range(10)] + [cand(20 + i, "1002") for i in range(10)]
    calls += [cand(40, ring_no_answer=True), cand(41, complaint=True), cand(42, hold_s=61.0),
              cand(43, talk_s=900.0), cand(44, hold_s=59.0, talk_s=899.0)]
    rules = Rules(per_agent=2, long_hold_s=60, long_talk_s=900, seed=7)
    out = select(calls, rules, WEEK)
    by_reason = {s.linkedid: s.reasons for s in out}
    assert by_reason["1.40"] == ("ring_no_answer",) and by_reason["1.41"] == ("complaint",)
    assert by_reason["1.42"] == ("long_hold",) and by_reason["1.43"] == ("long_talk",)
    assert "1.44" not in by_reason
    randoms = [s for s in out if s.reasons == ("random",)]
    assert sorted(s.agent for s in randoms) == ["1001", "1001", "1002", "1002"]
    # only the rules that are switched on
    off = select(calls, Rules(per_agent=0, rules=("complaint",)), WEEK)
    assert [s.linkedid for s in off] == ["1.41"]


def test_random_draw_is_repeatable_and_seeded() -> None:
    calls = [cand(i, agent) for i in range(30) for agent in ("1001", "1002")]
    calls = [Candidate(c.server, f"{c.agent}.{c.linkedid}", c.agent, c.started_at)
             for c in calls]
    a = select(calls, Rules(per_agent=3, seed=1), WEEK)
    assert a == select(list(reversed(calls)), Rules(per_agent=3, seed=1), WEEK)
    assert a != select(calls, Rules(per_agent=3, seed=2), WEEK)
    assert a != select(calls, Rules(per_agent=3, seed=1), "2026-W49")


def test_never_the_same_call_twice_and_top_up() -> None:
    calls = [cand(i) for i in range(6)] + [cand(9, ring_no_answer=True)]
    first = select(calls, Rules(per_agent=2), WEEK)
    again = select(calls, Rules(per_agent=2), WEEK, sampled=[s.key for s in first],
                   random_taken={"1001": 2})
    assert again == []
    # a bigger quota tops up with calls not sampled before
    more = select(calls, Rules(per_agent=4), WEEK, sampled=[s.key for s in first],
                  random_taken={"1001": 2})
    assert len(more) == 2 and not {s.key for s in more} & {s.key for s in first}


def test_assign_least_loaded_and_by_team() -> None:
    samples = [Sample("pbx1", f"1.{i}", "1001" if i < 4 else "1002", ("random",))
               for i in range(6)]
    pairs = assign(samples, ["ann", "bob"], load={"ann": 2})
    assert [i for _, i in pairs] == ["bob", "bob", "ann", "bob", "ann", "bob"]
    pairs = assign(samples, ["ann", "bob", "cy"], teams={"cy": ["1002"]})
    assert {i for s, i in pairs if s.agent == "1002"} == {"cy"}
    with pytest.raises(SamplingError, match="no inspectors"):
        assign(samples, [])
    with pytest.raises(SamplingError, match="twice"):
        assign(samples, ["ann", "ann"])


# ---------------------------------------------------------------- database


async def test_sample_week_from_the_store(pool: asyncpg.Pool) -> None:
    repo = QaRepository(pool)
    settings = Settings()
    settings.qa.random_per_agent_per_week = 1
    for n in range(4):
        await add_call(pool, n)
    miss = RingAttempt(agent="1002", interface="PJSIP/agent1002", started_at=MONDAY,
                       ended_at=MONDAY + timedelta(seconds=15), outcome="no_answer")
    await add_call(pool, 10, ring_attempts=[miss])
    await add_call(pool, 11, hold_s=300.0)
    await add_call(pool, 12, hold_s=300.0, recording="missing")
    await add_call(pool, 13, hold_s=300.0, recording=None)
    await add_call(pool, 14, hold_s=300.0, at=MONDAY + timedelta(days=7))  # next week

    run = await sample_week(repo, settings, WEEK)
    assert run.candidates == 6 and run.stored == 3
    assert run.complaint_rule == await repo.table_exists("call_notes")
    keys = {s.linkedid: s.reasons for s in run.new}
    assert keys.pop("1.10") == ("ring_no_answer",) and keys.pop("1.11") == ("long_hold",)
    assert list(keys.values()) == [("random",)]
    assert {s.linkedid for s in await repo.samples(WEEK)} == {s.linkedid for s in run.new}

    again = await sample_week(repo, settings, WEEK)
    assert again.new == [] and again.stored == 0

    # the same data in another database gives the same sample
    dry = await sample_week(repo, settings, WEEK, seed=settings.qa.seed, dry_run=True)
    assert dry.new == []


async def test_complaint_rule_reads_call_notes_when_present(pool: asyncpg.Pool) -> None:
    repo = QaRepository(pool)
    settings = Settings()
    settings.qa.random_per_agent_per_week = 0
    await add_call(pool, 1)
    await add_call(pool, 2)
    await pool.execute("CREATE TABLE IF NOT EXISTS call_notes (server text, linkedid text,"
                       " agent text, category text)")
    await pool.execute("INSERT INTO call_notes (server, linkedid, agent, category)"
                       " VALUES ('pbx1', '1.2', '1001', 'complaint'),"
                       " ('pbx1', '1.1', '1001', 'sales')")
    run = await sample_week(repo, settings, WEEK)
    assert run.complaint_rule and [(s.linkedid, s.reasons) for s in run.new] == [
        ("1.2", ("complaint",))]


async def test_no_recordings_table_is_a_clear_error(pool: asyncpg.Pool) -> None:
    await pool.execute("DROP TABLE IF EXISTS recordings")
    with pytest.raises(MissingTable, match="recordings"):
        await sample_week(QaRepository(pool), Settings(), WEEK)


async def test_assign_week_and_calibration(pool: asyncpg.Pool) -> None:
    repo = QaRepository(pool)
    settings = Settings()
    settings.qa.random_per_agent_per_week = 4
    settings.qa.inspectors = ["ann", "bob"]
    for n in range(4):
        await add_call(pool, n)
    await sample_week(repo, settings, WEEK)
    pairs, added = await assign_week(repo, settings, WEEK, calibration=1)
    assert sorted(i for _, i in pairs) == ["ann", "ann", "bob", "bob"] and added == 1
    ann, bob = await repo.work_queue("ann"), await repo.work_queue("bob")
    assert (len(ann), len(bob)) == (2, 3) and [e.calibration for e in bob].count(True) == 1
    assert {e.linkedid for e in ann} & {e.linkedid for e in bob} == {"1.0"}  # the oldest call
    assert all(e.agent == "1001" and e.queue == "support" for e in ann + bob)
    again, added = await assign_week(repo, settings, WEEK, calibration=1)
    assert again == [] and added == 0


async def test_assign_by_team_from_settings(pool: asyncpg.Pool) -> None:
    repo = QaRepository(pool)
    settings = Settings()
    settings.qa.random_per_agent_per_week = 3
    settings.qa.inspectors = ["ann", "cy"]
    settings.qa.assign_by = "team"
    settings.qa.teams = {"north": ["1002"], "south": ["1001"]}
    settings.qa.team_inspectors = {"north": ["cy"]}
    for n in range(3):
        await add_call(pool, n, "1001")
        await add_call(pool, 10 + n, "1002")
    await sample_week(repo, settings, WEEK)
    pairs, _ = await assign_week(repo, settings, WEEK)
    assert {i for s, i in pairs if s.agent == "1002"} == {"cy"}
    # south has no inspector of its own: its calls go to anyone, the least loaded first
    assert sorted(i for s, i in pairs if s.agent == "1001") == ["ann", "ann", "cy"]
