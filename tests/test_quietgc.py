"""QuietGC: full collections on its own schedule, away from ring deadlines."""

from __future__ import annotations

import asyncio
import gc

from callcenter.ingest.quietgc import NEVER, QuietGC


class Recorder:
    """A stand-in for gc.collect that notes the loop time of each call."""

    def __init__(self) -> None:
        self.at: list[float] = []

    def __call__(self) -> int:
        self.at.append(asyncio.get_running_loop().time())
        return 0


async def test_start_takes_generation_2_and_stop_gives_it_back() -> None:
    before = gc.get_threshold()
    quiet = QuietGC([], interval_s=60, collect=Recorder())
    quiet.start()
    try:
        assert gc.get_threshold() == (before[0], before[1], NEVER)
    finally:
        quiet.stop()
    assert gc.get_threshold() == before


async def test_collects_every_interval_when_no_deadline_is_near() -> None:
    rec = Recorder()
    quiet = QuietGC([lambda: None, lambda: 30.0], interval_s=0.05, collect=rec)
    t0 = asyncio.get_running_loop().time()
    quiet.start()
    await asyncio.sleep(0.23)
    quiet.stop()
    assert 3 <= len(rec.at) <= 5
    assert rec.at[0] - t0 >= 0.05
    assert quiet.collections == len(rec.at)


async def test_waits_for_a_near_deadline_to_pass_then_collects() -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 0.15
    rec = Recorder()
    quiet = QuietGC([lambda: deadline - loop.time()], interval_s=0.05, margin_s=0.5,
                    max_wait_s=60, collect=rec)
    quiet.start()
    await asyncio.sleep(0.12)
    assert rec.at == []  # the deadline is within the margin: no pause before it
    acted = loop.time()
    deadline = acted + 3600  # acted on; the next one is far
    await asyncio.sleep(0.12)
    quiet.stop()
    assert rec.at and rec.at[0] >= acted


async def test_a_busy_source_delays_a_collection_by_max_wait_at_most() -> None:
    rec = Recorder()
    quiet = QuietGC([lambda: 0.0], interval_s=0.02, margin_s=0.5, max_wait_s=0.1, collect=rec)
    t0 = asyncio.get_running_loop().time()
    quiet.start()
    await asyncio.sleep(0.25)
    quiet.stop()
    assert rec.at, "never collected although max_wait_s passed"
    assert rec.at[0] - t0 >= 0.1


async def test_the_last_one_stopped_gives_the_thresholds_back() -> None:
    before = gc.get_threshold()
    first, second = QuietGC([], interval_s=60), QuietGC([], interval_s=60)
    first.start()
    second.start()
    first.stop()
    assert gc.get_threshold()[2] == NEVER  # the second still runs
    second.stop()
    second.stop()  # twice: harmless
    assert gc.get_threshold() == before
