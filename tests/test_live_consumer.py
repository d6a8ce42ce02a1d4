"""The live consumer's fan-out: one render per kind of viewer, latest board wins, rate cap."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from callcenter.calls.model import CallRecord, CallStarted, QueueCallerJoined
from callcenter.live import LiveConsumer, LiveState
from callcenter.settings import Settings

T = datetime.now(UTC)


def caller(lid: str) -> list[Any]:
    call = CallRecord("pbx1", lid, T, direction="inbound", queue="support", queue_joined_at=T)
    return [CallStarted("pbx1", T, call), QueueCallerJoined("pbx1", T, lid, "support", 1)]


def waiting(state: LiveState) -> int:
    return len(state.waiting)


async def test_updates_are_rendered_once_per_kind_and_capped_in_rate() -> None:
    live = LiveConsumer.from_settings(Settings())
    live.min_interval_s = 0.3
    renders: list[str] = []

    def render_for(kind: str) -> Any:
        def render(state: LiveState) -> tuple[str, int]:
            renders.append(kind)
            return kind, waiting(state)
        return render

    subs = [live.subscribe("zh", render_for("zh")) for _ in range(3)]
    en = live.subscribe("en", render_for("en"))
    assert [s.queue.get_nowait() for s in [*subs, en]] == [("zh", 0)] * 3 + [("en", 0)]
    renders.clear()
    await live.on_facts(caller("1"))
    first = await asyncio.wait_for(subs[0].queue.get(), 1)
    assert first == ("zh", 1) and sorted(renders) == ["en", "zh"]  # one render per kind
    t0 = asyncio.get_running_loop().time()
    for i in range(2, 6):  # a burst: one update, after the interval
        await live.on_facts(caller(str(i)))
    assert await asyncio.wait_for(subs[0].queue.get(), 1) == ("zh", 5)
    assert asyncio.get_running_loop().time() - t0 >= 0.2
    # a subscriber that did not read keeps only the latest board
    assert subs[1].queue.qsize() == 1 and subs[1].queue.get_nowait() == ("zh", 5)
    live.unsubscribe(subs[2])
    await live.close()
    assert en.queue.get_nowait() is None  # told to finish


async def test_seed_reads_todays_calls_once() -> None:
    live = LiveConsumer.from_settings(Settings())
    asked: list[datetime | None] = []

    class Calls:
        async def list_calls(self, *, limit: int | None = 50, since: datetime | None = None,
                             server: str | None = None, newest_first: bool = True
                             ) -> list[CallRecord]:
            asked.append(since)
            return []

    await live.seed(Calls())
    await live.seed(Calls())
    assert len(asked) == 1 and asked[0] is not None and asked[0] <= datetime.now(UTC)
    await live.close()
