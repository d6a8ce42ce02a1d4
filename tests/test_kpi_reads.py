"""Each KPI pinned to its definition on hand-computed rows (store.kpi_reads, real database).

November 2026, time zone UTC, ``now`` = 2026-12-10. Inbound calls (customer = caller):

    call  caller agent queue start         answer   survey  note
    c1    A      a1    q1    11-02 10:00   +20 s    5
    c2    A      a1    q1    11-03 10:00   +40 s    2
    c3    B      a2    q2    11-04 10:00   +30 s    -       (offered, no answer)
    c4    C      a2    q2    11-05 10:00   never    -       abandoned: not served
    c5    D      a2    q1    11-06 10:00   +10 s    3       start not observed
    c7    G      a1    q1    11-07 10:00   +50 s    -
    c6    E      a1    q1    12-01 10:00   +5 s     -       December

Every call joined its queue 15 s after its start (so queue-entry timing would differ).

    complaint number reason            call agent/responsible opened  first due answered closed
    k1        A      service_attitude  c1   a1 / -            11-02 11 11-04 11  11-03 11 11-05 11
    k2        A      wait_time         -    - / a2            11-10 00 11-12 00  11-13 00 11-20 00
    k3        B      service_attitude  c3   a2 / -            11-25 00 11-27 00  -        -
    k4        F      billing           -    - / -             11-29 00 12-20 00  -        -

Verdicts: k1 satisfied 11-05 11:00; k2 not satisfied 11-14, satisfied 11-20.
QA reviews submitted in November: c1 80 (pass), c2 55 (fail), c3 0 fatal (fail), c7 60
(pass, the boundary); a draft on c5 is not counted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg

from callcenter.store import kpi_reads
from callcenter.store.kpi_reads import KpiQuery
from tests.support.kpi import t, world

__all__ = ["world"]  # the fixture

NOV = date(2026, 11, 1)
START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 10, tzinfo=UTC)
DEPARTMENTS = {"a1": "sales", "a2": "care"}


async def kpi(pool: asyncpg.Pool, name: str, by: str = "centre", grain: str = "month",
              start: datetime = START, end: datetime = END
              ) -> dict[tuple[date, str], float | None]:
    q = KpiQuery(start, end, NOW, "UTC", grain, by, DEPARTMENTS)  # type: ignore[arg-type]
    async with pool.acquire() as conn:
        return {(v.bucket, v.group): v.value for v in await kpi_reads.KPIS[name][0](conn, q)}


async def test_complaint_rate_is_complaining_customers_over_customers_served(
        world: asyncpg.Pool) -> None:
    # complaining customers {A, B, F} = 3; served (answered inbound) {A, B, D, G} = 4
    assert await kpi(world, "complaint_rate") == {(NOV, ""): 3 / 4}
    # a1: complaints k1 -> {A} / served {A, G}; a2: k2 (responsible), k3 -> {A, B} /
    # served {B, D}; k4 has no agent: 1 complaining customer, none served -> unknown
    assert await kpi(world, "complaint_rate", "agent") == {
        (NOV, ""): None, (NOV, "a1"): 1 / 2, (NOV, "a2"): 2 / 2}
    assert await kpi(world, "complaint_rate", "department") == {
        (NOV, ""): None, (NOV, "sales"): 1 / 2, (NOV, "care"): 2 / 2}
    # by reason, each reason's complaining customers over all 4 served
    assert await kpi(world, "complaint_rate", "reason") == {
        (NOV, "billing"): 1 / 4, (NOV, "service_attitude"): 2 / 4, (NOV, "wait_time"): 1 / 4}
    # queue: k1 -> q1 (via c1), k3 -> q2 (via c3), k2 and k4 have no call ('')
    # served q1 {A, D, G}, q2 {B}
    assert await kpi(world, "complaint_rate", "queue") == {
        (NOV, ""): None, (NOV, "q1"): 1 / 3, (NOV, "q2"): 1 / 1}


async def test_periods_bucket_by_grain(world: asyncpg.Pool) -> None:
    # the year: served also E (December) -> 3 / 5; by month December has no complaint: 0 / 1
    year = (t(1, 1), datetime(2027, 1, 1, tzinfo=UTC))
    assert await kpi(world, "complaint_rate", grain="year", start=year[0], end=year[1]) == {
        (date(2026, 1, 1), ""): 3 / 5}
    assert await kpi(world, "complaint_rate", grain="quarter", start=year[0],
                     end=year[1]) == {(date(2026, 10, 1), ""): 3 / 5}
    assert await kpi(world, "complaint_rate", start=year[0], end=year[1]) == {
        (NOV, ""): 3 / 4, (date(2026, 12, 1), ""): 0.0}
    # weeks start on Monday: 2026-11-02 is one
    weeks = await kpi(world, "complaints", grain="week")
    assert weeks == {(date(2026, 11, 2), ""): 1.0, (date(2026, 11, 9), ""): 1.0,
                     (date(2026, 11, 23), ""): 2.0}
    days = await kpi(world, "complaints", grain="day")
    assert days[(date(2026, 11, 25), "")] == 1.0 and len(days) == 4


async def test_no_customers_served_is_unknown_not_zero(pool: asyncpg.Pool) -> None:
    assert await kpi(pool, "complaint_rate") == {}
    await pool.execute("INSERT INTO complaints (number, opened_at, due_at, first_due_at)"
                       " VALUES ('A', $1, $2, $2)", t(11, 3), t(11, 5))
    assert await kpi(pool, "complaint_rate") == {(NOV, ""): None}


async def test_complaint_handling_time_and_on_time_rate(world: asyncpg.Pool) -> None:
    # closed in November: k1 3 days, k2 10 days -> mean 6.5 days
    assert await kpi(world, "complaint_handling_time") == {(NOV, ""): 6.5 * 86400}
    # registered in November: k1 on time; k2 late; k3 past due unanswered; k4 not due yet
    assert await kpi(world, "complaint_on_time_rate") == {(NOV, ""): 1 / 3}
    assert await kpi(world, "complaint_on_time_rate", "reason") == {
        (NOV, "billing"): None, (NOV, "service_attitude"): 1 / 2, (NOV, "wait_time"): 0.0}
    assert await kpi(world, "complaints", "reason") == {
        (NOV, "billing"): 1.0, (NOV, "service_attitude"): 2.0, (NOV, "wait_time"): 1.0}


async def test_satisfaction_from_surveys_verdicts_and_both(world: asyncpg.Pool) -> None:
    # surveys answered: c1 5, c2 2, c5 3 -> 1 of 3 at least 4 (c3 offered, no answer: out)
    assert await kpi(world, "survey_satisfaction") == {(NOV, ""): 1 / 3}
    # verdicts: k1 satisfied, k2 not satisfied then satisfied -> 2 of 3
    assert await kpi(world, "verdict_satisfaction") == {(NOV, ""): 2 / 3}
    # combined: every answer weighs one -> (1 + 2) / (3 + 3)
    assert await kpi(world, "satisfaction_rate") == {(NOV, ""): 3 / 6}
    # a1: surveys c1, c2 (1 of 2) + k1's verdict (1 of 1) -> 2 / 3
    # a2: survey c5 (0 of 1) + k2's two verdicts (1 of 2) -> 1 / 3
    assert await kpi(world, "satisfaction_rate", "agent") == {(NOV, "a1"): 2 / 3,
                                                              (NOV, "a2"): 1 / 3}
    # by reason only verdicts have one: service_attitude k1 1/1, wait_time k2 1/2
    assert await kpi(world, "satisfaction_rate", "reason") == {
        (NOV, "service_attitude"): 1.0, (NOV, "wait_time"): 1 / 2}


async def test_response_time_starts_at_the_call_not_the_queue(world: asyncpg.Pool) -> None:
    # answered in November with start and answer observed: c1 20, c2 40, c3 30, c7 50 s
    # (c5's start is unknown: left out) -> 35 s; from queue entry it would be 20 s
    assert await kpi(world, "response_time") == {(NOV, ""): 35.0}
    assert await kpi(world, "response_time", "queue") == {
        (NOV, "q1"): (20 + 40 + 50) / 3, (NOV, "q2"): 30.0}
    assert await kpi(world, "response_time", "reason") == {}  # calls have no reason


async def test_service_norm_compliance_is_the_share_of_qa_reviews_passing(
        world: asyncpg.Pool) -> None:
    # submitted: c1 80 pass, c2 55 fail, c3 fatal fail, c7 60 pass -> 2 / 4
    assert await kpi(world, "service_norm_compliance") == {(NOV, ""): 2 / 4}
    assert await kpi(world, "service_norm_compliance", "agent") == {
        (NOV, "a1"): 2 / 3, (NOV, "a2"): 0.0}
    assert await kpi(world, "service_norm_compliance", "department") == {
        (NOV, "sales"): 2 / 3, (NOV, "care"): 0.0}


def test_every_kpi_has_its_definition() -> None:
    for name in kpi_reads.KPIS:
        assert " = " in kpi_reads.definition(name), name
    assert kpi_reads.definition("complaint_rate").startswith(
        "Complaint rate = complaining customers / customers served.")
