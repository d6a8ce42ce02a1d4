"""Every real call capture, replayed through tracker and store into PostgreSQL, read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.cli.calls_cmd import call_json
from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline_replay import read_capture
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from tests.support.expected import check_calls, expected_calls
from tests.support.ingest import store_capture

TRACES = Path(__file__).parent / "traces"
CAPTURES = sorted(p for d in ("real", "real2", "real3")
                  for p in (TRACES / d).glob("*.expected.json"))


async def ingest(pool: asyncpg.Pool, capture: Path, spool: Path) -> list[dict[str, Any]]:
    """Replay ``capture`` through the pipeline into ``pool``; the stored calls as JSON."""
    await store_capture(pool, capture, spool)
    calls = await CallRepository(pool).list_calls(limit=None, newest_first=False)
    return [call_json(c) for c in calls]


@pytest.mark.parametrize("expected", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_capture_stored_matches_expected(pool: asyncpg.Pool, expected: Path,
                                               tmp_path: Path) -> None:
    capture = expected.with_name(expected.name.replace(".expected.json", ".jsonl"))
    check_calls(await ingest(pool, capture, tmp_path), expected_calls(expected))


async def test_replaying_twice_changes_nothing(pool: asyncpg.Pool, tmp_path: Path) -> None:
    capture = TRACES / "real" / "concurrent_burst.jsonl"
    await ingest(pool, capture, tmp_path)
    tables = ("journal", "calls", "ring_attempts", "transfers", "violations", "agents",
              "queue_members", "agent_state_history", "queues")

    async def dump() -> dict[str, list[Any]]:
        return {t: [tuple(r.values()) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2, 3")]
                for t in tables}

    first = await dump()
    assert len(first["calls"]) >= 20
    await ingest(pool, capture, tmp_path)
    assert await dump() == first


def tracked(items: list[Any], journaled_only: bool) -> list[dict[str, Any]]:
    """Calls (as JSON) from feeding every item, or only what the journal keeps, to a tracker."""
    from callcenter.ingest.pipeline import JournalFilter, apply_entry
    from callcenter.store.consumer import calls_in

    tracker = make_tracker("s", Settings())
    keep = JournalFilter("s")
    calls: dict[str, Any] = {}
    for item in items:
        if journaled_only and keep.entry(item) is None:
            continue
        kind, body, t = item
        calls.update((c.linkedid, c) for c in calls_in(apply_entry(tracker, kind, body, t)))
    return [call_json(c) for c in calls.values()]


@pytest.mark.parametrize("capture", sorted((TRACES / "real").glob("*.jsonl"))
                         + sorted((TRACES / "real2").glob("*.jsonl"))
                         + sorted((TRACES / "real3").glob("*.jsonl"))
                         + sorted((TRACES / "enforce").glob("*.jsonl")), ids=lambda p: p.stem)
def test_noise_filter_drops_nothing_the_tracker_uses(capture: Path) -> None:
    """The tracker gives the same calls from the journaled entries as from all of them."""
    items = list(read_capture(capture))
    assert tracked(items, journaled_only=True) == tracked(items, journaled_only=False)
