"""Simulated PBXs for ``callcenter run`` instances in active/standby, for tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from callcenter.sim import PBXSimulator
from tests.support.run import Running
from tests.support.wait import until

HA = """
[ha]
enabled = true
takeover_s = 3.0

[cel]
settle_s = 0.5
retry_s = 0.5
"""


CEL = {name: f"cel_{name}" for name in ("pbxa", "pbxb")}
"""CEL rows carry no PBX name: one table per PBX (docs/high-availability.md)."""


@contextlib.asynccontextmanager
async def pbxs(dsn: str, pool: asyncpg.Pool, speed: float = 10.0
               ) -> AsyncIterator[dict[str, PBXSimulator]]:
    """Two simulated PBXs, each writing its CEL into its own table."""
    for table in CEL.values():
        await pool.execute(f"CREATE TABLE {table} (LIKE cel INCLUDING ALL)")
    sims = {name: PBXSimulator(speed=speed, systemname=name, seed=n, cel_dsn=dsn,
                               cel_table=CEL[name])
            for n, name in enumerate(CEL)}
    try:
        for sim in sims.values():
            await sim.start()
        yield sims
    finally:
        for sim in sims.values():
            await sim.stop()


def serving(report: dict[str, Any]) -> set[str]:
    return set((report.get("ha") or {}).get("serving") or {})


async def both_ready(one: Running, two: Running) -> list[dict[str, Any]]:
    """Both instances up, each serving one PBX (the leases spread)."""
    async def spread() -> list[dict[str, Any]] | None:
        got = [await one.readyz(), await two.readyz()]
        reports = [g[1] for g in got if g is not None]
        served = sorted(map(serving, reports), key=sorted)
        return reports if len(reports) == 2 and served == [{"pbxa"}, {"pbxb"}] else None

    try:
        reports: list[dict[str, Any]] = await until(spread, 30, every_s=0.3)
    except AssertionError:
        raise AssertionError(f"the PBXs were never both served: {one.output[-2000:]!r}"
                             ) from None
    return reports
