"""Unknown is not zero (issue 18): calls with a wait, talk or hold time not observed are
counted apart and left out of the sums, averages and service level; the SQL form agrees."""

from __future__ import annotations

import asyncpg
import pytest

from callcenter.calls.model import CallRecord
from callcenter.kpis import (
    AgentFigures,
    CallFigures,
    agent_call_figures,
    call_figures,
    note_figures,
)
from callcenter.store import report_reads as sql
from callcenter.store.calls import CallRepository
from tests.support.metrics import MS, answered, approx, at, query, sample, unanswered


def end_unseen() -> CallRecord:
    """u1: answered after 10 s, its end not seen (closed at a bound 50 s later)."""
    c = answered("u1", wait=10, talk=50)
    c.disposition, c.hold_s = "incomplete", None
    c.unknown = ["talk", "hold", "end"]
    return c


def bridge_answered() -> CallRecord:
    """u2: answered before the daemon joined, learnt from a bridge: no answer time."""
    c = answered("u2", wait=4, talk=30)
    c.answered_at, c.hold_s = None, None
    c.ring_attempts[0].ended_at = c.ring_attempts[0].within_rule = None
    c.unknown = ["wait", "answer", "ring_attempts", "talk", "hold"]
    return c


def start_unseen() -> CallRecord:
    """u3: abandoned after 3 s, first seen 1000 s after a bound start."""
    c = unanswered("u3", 3, "abandoned")
    c.started_at = c.queue_joined_at = at(-1000)
    c.unknown = ["start", "wait", "ring_attempts"]
    return c


def hold_unseen() -> CallRecord:
    """u4: answered after 6 s (AgentComplete dated it), talked 40 s, hold not seen."""
    c = answered("u4", wait=6, talk=40)
    c.hold_s, c.unknown = None, ["hold"]
    return c


def unknown_calls() -> list[CallRecord]:
    return [end_unseen(), bridge_answered(), start_unseen(), hold_unseen()]


def test_unknown_parts_are_counted_apart_and_left_out() -> None:
    f = call_figures(sample() + unknown_calls(), MS, now=at(160))
    # sample(): offered 10, answered 5, handled 4, waits 5+20+12+30+8 (4 within 20 s),
    # talk 340 s, hold 10 s, longest wait 300 s, 1 waiting, 1 short abandon
    assert f.offered == 14
    assert f.answered == 8                             # u2 answered at an unknown time too
    assert (f.wait_unknown, f.answered_wait_unknown) == (2, 1)         # u2, u3 / u2
    assert (f.talk_unknown, f.hold_unknown) == (2, 3)  # u1 u2 / u1 u2 u4
    assert f.handled == 5 and f.talk_s == 340 + 40     # u4 only: u1's 50 s is a bound
    assert f.aht_s() == 380 / 5                        # not 430 / 6, nor 380 / 7
    assert f.hold_s == 10 and f.hold_avg_s == 10 / 4   # c1..c4; u4's unknown hold is not 0
    assert f.answer_wait_s == 75 + 10 + 6 and f.asa_s == 91 / 7      # u2 out of ASA
    assert f.wait_s_max == 300                         # not u3's bound of 1003 s
    assert (f.abandoned, f.short_abandoned) == (2, 1)  # u3: abandoned, not known to be short
    assert f.answered_in_sl == 6                       # + u1 (10 s), u4 (6 s)
    # decided: 14 offered - 1 waiting - 2 with unknown wait = 11
    assert f.service_level("offered") == 6 / 11
    assert f.service_level("offered_minus_short") == 6 / 10
    assert f.service_level("answered") == 6 / 7        # answered 8 - u2


def test_complete_calls_have_no_unknown_counts() -> None:
    f = call_figures(sample(), MS, now=at(160))
    assert (f.wait_unknown, f.answered_wait_unknown, f.talk_unknown, f.hold_unknown) == (
        0, 0, 0, 0)


def test_agents_talk_unknown_left_out_of_aht() -> None:
    known = agent_call_figures(sample())["a1"]
    got = agent_call_figures(sample() + unknown_calls())["a1"]
    assert got.answered == known.answered + 3          # u1, u2, u4
    assert got.talk_unknown == 2                       # u1 (end unseen), u2 (answer unseen)
    assert got.talk_s == known.talk_s + 40
    assert got.aht_s == (known.talk_s + 40) / (known.answered + 1)


def test_outbound_talk_unknown() -> None:
    o = CallRecord(server="pbx", linkedid="o2", started_at=at(0), direction="outbound",
                   agent="a1", ended_at=at(60), disposition="answered", unknown=["answer"])
    fig = agent_call_figures([o])["a1"]
    assert (fig.outbound, fig.outbound_talk_s, fig.outbound_talk_unknown) == (1, 0.0, 1)


def test_notes_count_calls_answered_at_an_unknown_time() -> None:
    assert note_figures([bridge_answered()], [])[""].answered == 1


async def test_sql_agrees_on_unknown_parts(pool: asyncpg.Pool) -> None:
    calls = sample() + unknown_calls()
    await CallRepository(pool).upsert_calls(calls)
    async with pool.acquire() as conn:
        by_hour = await sql.call_figures_by_hour(conn, MS, query())
        closed = await sql.call_figures_by_hour(conn, MS, query(closed_only=True))
        agents = await sql.agent_call_figures(conn, query())
    total = sum(by_hour.values(), CallFigures())
    expected = call_figures(calls, MS, at(160))
    assert expected.talk_unknown == 2
    assert approx(total.as_dict()) == expected.as_dict()
    assert sum(closed.values(), CallFigures()).hold_unknown == 3
    per_agent: dict[str, AgentFigures] = {}
    for (_day, _queue, agent), fig in agents.items():
        per_agent[agent] = per_agent.get(agent, AgentFigures()) + fig
    for agent, fig in agent_call_figures(calls).items():
        assert approx(per_agent[agent].as_dict()) == fig.as_dict()


@pytest.mark.parametrize("field", ["wait_unknown", "talk_unknown", "hold_unknown",
                                   "answered_wait_unknown"])
def test_unknown_counts_add(field: str) -> None:
    a, b = CallFigures(**{field: 1}), CallFigures(**{field: 2})
    assert getattr(a + b, field) == 3
