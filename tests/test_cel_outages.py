"""Outages recorded and completed from the ``cel`` table in PostgreSQL, as the daemon and
``callcenter rebuild`` do it: the stored calls equal the capture's expected calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from structlog.testing import capture_logs

from callcenter import db
from callcenter.cel.filler import OutageFiller
from callcenter.cel.rows import read_cel_csv
from callcenter.cel.source import QUIET_AFTER
from callcenter.cli.calls_cmd import call_json
from callcenter.daemon import make_tracker
from callcenter.pipeline import Item
from callcenter.pipeline_replay import ingest_items, read_capture, rebuild
from callcenter.settings import AmiServer, Settings
from callcenter.sim.proxy import pg_proxy
from callcenter.store.calls import CallRepository
from callcenter.store.consumer import StoreConsumer
from callcenter.store.gaps import Outage, OutageRepository
from callcenter.store.writer import StoreWriter
from tests.support.cel import active_at, load_cel_csv
from tests.support.expected import TRACES, check_calls, expected_calls
from tests.support.wait import until

REAL3 = TRACES / "real3"
SERVER = "pbx4"


def settings(cel_table: str = "cel") -> Settings:
    return Settings(servers=[AmiServer(name=SERVER, cel_table=cel_table)],
                    cel={"settle_s": 0, "retry_s": 1})


async def ingest_with_outage(pool: asyncpg.Pool, scenario: str, lo: float, hi: float,
                             spool: Path, *, extra_after: list[Item] = ()  # type: ignore[assignment]
                             ) -> Outage:
    """Journal and store the capture without the share ``lo``..``hi`` of its time (the link
    was down), with the resync the reconnect makes; the outage."""
    items = list(read_capture(REAL3 / f"{scenario}.jsonl"))
    first, last = items[0][2], items[-1][2]
    lost_at, resumed_at = first + lo * (last - first), first + hi * (last - first)
    before = [i for i in items if i[2] < lost_at]
    after = [*extra_after, *(i for i in items if i[2] >= resumed_at)]
    writer = StoreWriter(pool, spool)
    await writer.start()
    rows = list(read_cel_csv(REAL3 / f"{scenario}.cel.csv"))
    active = active_at(rows, datetime.fromtimestamp(resumed_at, UTC))
    await ingest_items([*before, ("resync", active, resumed_at), *after], SERVER,
                       make_tracker(SERVER, Settings()), writer, [StoreConsumer(writer)])
    await writer.close()
    return Outage(SERVER, "link_down", datetime.fromtimestamp(before[-1][2], UTC),
                  datetime.fromtimestamp(resumed_at, UTC))


async def stored(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    return [call_json(c) for c in await CallRepository(pool).list_calls(limit=None)]


@pytest.mark.parametrize("scenario", ["i_hold_attended_transfer", "e_outbound_busy_noanswer_answer",
                                      "c_direct_daemon_redirect"])
async def test_an_outage_is_completed_from_cel_and_rebuild_agrees(
        pool: asyncpg.Pool, tmp_path: Path, scenario: str) -> None:
    want = expected_calls(REAL3 / f"{scenario}.expected.json")
    outage = await ingest_with_outage(pool, scenario, 0.35, 0.8, tmp_path)
    with pytest.raises(AssertionError):  # what the journal alone gives is wrong
        check_calls(await stored(pool), want)
    await load_cel_csv(pool, REAL3 / f"{scenario}.cel.csv")
    alerts: list[Any] = []
    filler = OutageFiller(pool, settings(), lambda s: make_tracker(s, Settings()), alerts.append)
    filler.note(outage)
    await filler.pass_once()
    check_calls(await stored(pool), want)
    [row] = await OutageRepository(pool).recent()
    assert row.filled_at is not None and row.filled_calls and row.fill_note
    assert filler.health.unfilled == [] and filler.health.calls_filled == row.filled_calls
    assert [a.active for a in alerts] == [True, False]
    done = await rebuild(pool, lambda s: make_tracker(s, Settings()), None, {SERVER: "cel"})
    assert done[SERVER] >= len(want)
    check_calls(await stored(pool), want)


async def test_a_pbx_restart_within_the_outage_fails_the_waiting_callers(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """real3/j: the link went down before `core restart now` and came back to a new PBX
    (FullyBooted Uptime): the CEL hang-ups of the old PBX's last moment are the restart."""
    items = list(read_capture(REAL3 / "j_core_restart.jsonl"))
    back = items[-1][2] + 5
    booted = ("frame", {"Event": "FullyBooted", "Privilege": "system,all",
                        "Status": "Fully Booted", "Uptime": "3", "LastReload": "3",
                        "Timestamp": f"{back:.6f}"}, back)
    outage = await ingest_with_outage(pool, "j_core_restart", 0.5, 1.0, tmp_path,
                                      extra_after=[booted])
    outage = Outage(SERVER, "link_down", outage.lost_at, datetime.fromtimestamp(back - 0.01, UTC))
    await load_cel_csv(pool, REAL3 / "j_core_restart.cel.csv")
    filler = OutageFiller(pool, settings(), lambda s: make_tracker(s, Settings()))
    filler.note(outage)
    await filler.pass_once()
    check_calls(await stored(pool), expected_calls(REAL3 / "j_core_restart.expected.json"))
    [row] = await OutageRepository(pool).recent()
    assert row.pbx_started_at is not None


async def test_without_cel_rows_the_outage_stays_open_and_says_why(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    outage = await ingest_with_outage(pool, "a_queue_answer", 0.5, 0.8, tmp_path)
    filler = OutageFiller(pool, settings(), lambda s: make_tracker(s, Settings()))
    filler.note(outage)
    await filler.pass_once()
    [row] = await OutageRepository(pool).recent()
    assert row.filled_at is None and "cel_pgsql" in (row.fill_note or "")
    assert [o.lost_at for o in filler.health.unfilled] == [outage.lost_at]
    assert filler.health.errors and filler.health.failures == 1


async def test_a_missing_cel_table_or_none_configured_is_said(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC) - QUIET_AFTER
    outage = Outage(SERVER, "daemon_down", now - timedelta(seconds=30), now)
    filler = OutageFiller(pool, settings("cel_elsewhere"), lambda s: make_tracker(s, Settings()))
    filler.note(outage)
    await filler.pass_once()
    assert "does not exist" in (await OutageRepository(pool).recent())[0].fill_note  # type: ignore[operator]
    quiet = OutageFiller(pool, settings(""), lambda s: make_tracker(s, Settings()))
    assert not await quiet.fill(outage)
    assert "no CEL table" in (await OutageRepository(pool).recent())[0].fill_note  # type: ignore[operator]


async def test_an_outage_of_a_quiet_pbx_is_filled_with_no_calls(pool: asyncpg.Pool) -> None:
    """No event since the link came back: the outage waits for one to date its end in the
    PBX's clock, then, the PBX staying quiet, ends at the link's return."""
    now = datetime.now(UTC)
    filler = OutageFiller(pool, settings(), lambda s: make_tracker(s, Settings()))
    recent = Outage(SERVER, "daemon_down", now - timedelta(minutes=1), now)
    filler.note(recent)
    await filler.pass_once()
    [row] = await OutageRepository(pool).recent()
    assert row.filled_at is None and row.fill_note == "waiting for an event after the outage"
    quiet = Outage(SERVER, "daemon_down", now - timedelta(minutes=20), now - QUIET_AFTER)
    filler.note(quiet)
    await filler.pass_once()
    rows = {o.lost_at: o for o in await OutageRepository(pool).recent()}
    assert rows[quiet.lost_at].filled_at is not None and rows[quiet.lost_at].filled_calls == 0
    assert filler.health.errors == {}


async def test_the_same_outage_noted_twice_is_recorded_once(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    outage = Outage(SERVER, "link_down", now - timedelta(seconds=9), now)
    repo = OutageRepository(pool)
    await repo.record(outage)
    await repo.record(outage)
    assert len(await repo.recent()) == 1


async def test_the_database_lost_in_the_middle_of_a_fill_is_said_and_the_fill_redone(
        fresh_dsn: str, tmp_path: Path) -> None:
    scenario = "i_hold_attended_transfer"
    want = expected_calls(REAL3 / f"{scenario}.expected.json")
    proxy, proxied = pg_proxy(fresh_dsn)
    await proxy.start()
    pool = await db.create_pool(proxied(), min_size=1, max_size=2)
    filler_task = None
    try:
        outage = await ingest_with_outage(pool, scenario, 0.35, 0.8, tmp_path)
        await load_cel_csv(pool, REAL3 / f"{scenario}.cel.csv")
        filler = OutageFiller(pool, settings(), lambda s: make_tracker(s, Settings()))
        record_fill = filler.outages.note
        cut: list[bool] = []

        async def cut_then_note(*args: Any, **kwargs: Any) -> None:
            if kwargs.get("filled_at") and not cut:  # the calls are written, not yet the fill
                cut.append(True)
                proxy.cut()
            await record_fill(*args, **kwargs)

        filler.outages.note = cut_then_note  # type: ignore[method-assign]
        filler.note(outage)
        with capture_logs() as logs:
            filler_task = asyncio.create_task(filler.run())
            await until(lambda: filler.health.failures >= 1, 20)
            assert filler.health.filled == 0 and cut
            proxy.restore()
            await until(lambda: filler.health.filled == 1, 20)
        assert "outage_fill_failed" in [e["event"] for e in logs if e["log_level"] == "error"]
        check_calls(await stored(pool), want)  # written twice, stored once
        [row] = await OutageRepository(pool).recent()
        assert row.filled_at is not None and row.filled_calls == len(want)
    finally:
        if filler_task is not None:
            filler_task.cancel()
            await asyncio.gather(filler_task, return_exceptions=True)
        proxy.restore()
        await db.close_pool(pool, 2.0)
        await proxy.stop()
