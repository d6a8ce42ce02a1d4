"""Active/standby takeover time, and whether a takeover loses or doubles calls.

Simulated PBXs (``--pbxs``, each writing its CEL into its own table ``cel_<name>`` of a
scratch database, as cel_pgsql would) carry steady inbound traffic (answered calls and
callers who give up); ``--instances`` ``callcenter run`` child processes with
``[ha] enabled = true`` share them through leases. First a baseline: ``--clean`` rounds
in which the owner of a PBX is stopped cleanly (SIGTERM: it writes what it has and hands
its leases over at once). Then ``--kills`` rounds of kill -9 of the owner of a PBX (each
PBX in turn): the takeover time is from the kill until another instance is logged in to
that PBX's AMI (``lease_*``: until the ``ha_leases`` row names another owner); the killed
instance is then restarted and the leases are left to settle to a fair share before the
next round. At the end the traffic stops, every call ends, every outage is filled from
CEL, the instances stop, and the stored calls are compared with those the simulators
placed, by (server, linkedid): ``calls_lost`` = placed but not stored, or stored without
an end; ``calls_doubled`` = rows beyond one per placed call, rows of calls no simulator
placed, rows whose disposition is not the simulator's outcome (a second, different
record written over the first), and calls with a ring attempt stored twice (the same
agent channel, or two answered rings: the three-ring rule counts them).

Database: ``--dsn``, else ``CALLCENTER_TEST_DSN``, else the embedded server.
Run: ``PYTHONPATH=. python bench/failover.py [--kills 20] [--takeover-s 5]``.
Last line: ``{"takeover_p50_s": A, "takeover_p99_s": B, "calls_lost": 0,
"calls_doubled": 0, ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from callcenter import db
from callcenter.ha.leases import fair_share
from callcenter.sim import AgentScript, CallHandle, PBXSimulator
from callcenter.sim.runconfig import free_port, write_run_config

SPEED = 10.0
"""Simulated seconds per wall second: a takeover of 5 s is 50 s of calls."""
ANSWERS = AgentScript(answer_after=2.0, talk=25.0)


class Instance:
    """One ``callcenter run`` child process with a fixed HA instance name (a restart is
    the same instance again: same config, spool and name); its output goes to a log."""

    def __init__(self, name: str, config: Path, log_path: Path) -> None:
        self.name, self.config, self.log_path = name, config, log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "callcenter", "--config", str(self.config), "run",
                stdout=out, stderr=asyncio.subprocess.STDOUT)

    async def stop(self, how: str = "term") -> float:
        """SIGTERM (``how`` "term") or SIGKILL ("kill"); the monotonic time it exited."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        await asyncio.wait_for(self.proc.wait(), 30)
        return time.monotonic()


def write_config(directory: Path, name: str, dsn: str, sims: dict[str, PBXSimulator],
                 takeover_s: float) -> Path:
    """Instance ``name``'s configuration: HA on, a CEL table per PBX, fast CEL filling."""
    return write_run_config(
        directory / f"{name}.toml", dsn, sims, spool=directory / f"{name}-spool",
        web_port=free_port(), cel_tables={server: f"cel_{server}" for server in sims},
        extra=f"""
[ha]
enabled = true
instance = "{name}"
takeover_s = {takeover_s}

[cel]
settle_s = 1.0
retry_s = 1.0
""")


@dataclass
class Traffic:
    """Steady inbound calls on every PBX: most answered, some callers give up."""

    sims: dict[str, PBXSimulator]
    interval_s: float
    placed: list[tuple[str, CallHandle]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        rng = random.Random(7)
        n = 0
        while not self._stop.is_set():
            for server, sim in self.sims.items():
                n += 1
                patient = rng.random() < 0.8
                call = await sim.inbound_call(
                    f"+3222{n:07d}", "800", patience=None if patient else rng.uniform(3, 20))
                self.placed.append((server, call))
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval_s)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()


async def until(check: Callable[[], Any], timeout_s: float, what: str,
                every_s: float = 0.02) -> float:
    """Poll ``check`` (sync or async) until true; the monotonic time it first was."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ok = check()
        if asyncio.iscoroutine(ok):
            ok = await ok
        if ok:
            return time.monotonic()
        await asyncio.sleep(every_s)
    raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")


def logged_in(sim: PBXSimulator) -> bool:
    """Some instance is logged in to the PBX's AMI (it serves it)."""
    return any(session.authed for session in sim._sessions)


class Cluster:
    """The instances, the PBXs and the lease table, as the rounds need them."""

    def __init__(self, pool: asyncpg.Pool, instances: dict[str, Instance],
                 sims: dict[str, PBXSimulator], takeover_s: float) -> None:
        self.pool, self.instances, self.sims = pool, instances, sims
        self.takeover_s = takeover_s
        self.rng = random.Random(11)

    async def owners(self) -> dict[str, str]:
        """server → owner of its unexpired lease."""
        rows = await self.pool.fetch(
            "SELECT server, owner FROM ha_leases WHERE expires_at > now()")
        return {r["server"]: r["owner"] for r in rows}

    async def settled(self) -> bool:
        """Every instance running and seen, every PBX leased and served, a fair share each."""
        live = [r["instance"] for r in await self.pool.fetch(
            "SELECT instance FROM ha_instances WHERE seen_at > now() - make_interval(secs => $1)",
            self.takeover_s / 2)]
        owners = await self.owners()
        if sorted(live) != sorted(self.instances) or set(owners) != set(self.sims):
            return False
        held = Counter(owners.values())
        return (all(held[i] == fair_share(len(self.sims), live, i, held) for i in live)
                and all(logged_in(sim) for sim in self.sims.values()))

    async def settle(self) -> None:
        await until(self.settled, 60 + 4 * self.takeover_s, "leases settled", every_s=0.2)

    async def round(self, server: str, how: str) -> dict[str, float]:
        """Stop (``how``: "kill" or "term") the owner of ``server``; the seconds until
        another instance holds its lease and is logged in to its AMI; restart it."""
        victim = self.instances[(await self.owners())[server]]
        sim = self.sims[server]
        # a failure comes at any moment of the owner's renewal cycle (takeover_s / 3)
        await asyncio.sleep(self.rng.uniform(0, self.takeover_s / 3))
        started = time.monotonic()
        stopping = asyncio.create_task(victim.stop(how))
        lease_at = await until(
            lambda: self._owned_by_other(server, victim.name), 10 * self.takeover_s, "lease")
        served_at = await until(lambda: logged_in(sim), 10 * self.takeover_s, "AMI login")
        stopped_at = await stopping
        await victim.start()
        await self.settle()
        return {"lease_s": lease_at - started, "takeover_s": served_at - started,
                "stop_s": stopped_at - started}

    async def _owned_by_other(self, server: str, victim: str) -> bool:
        owner = (await self.owners()).get(server)
        return owner is not None and owner != victim


async def evidence(pool: asyncpg.Pool, server: str, linkedid: str, out: Path) -> None:
    """What the journal, the PBX's CEL and the outages hold of a call gone wrong."""
    journal = await pool.fetch(
        "SELECT seq, kind, received_at, event_time, event, frame::text AS frame FROM journal"
        " WHERE server = $1 AND (linkedid = $2 OR kind = 'resync') ORDER BY seq", server, linkedid)
    cel = await pool.fetch(f"SELECT * FROM cel_{server} WHERE linkedid = $1 ORDER BY id",
                           linkedid)
    gaps = await pool.fetch("SELECT * FROM journal_gaps WHERE server = $1 ORDER BY lost_at",
                            server)
    out.write_text("\n".join(str(dict(r)) for section in (journal, cel, gaps)
                             for r in [*section, {"--": "--"}]), encoding="utf-8")


async def check_calls(pool: asyncpg.Pool, placed: list[tuple[str, CallHandle]],
                      directory: Path) -> dict[str, int]:
    """Stored calls against the placed ones, by (server, linkedid); what the database
    holds of the first calls gone wrong goes to ``directory``."""
    outcome = {(server, call.linkedid): call.task.result() for server, call in placed}
    rows = await pool.fetch("SELECT server, linkedid, disposition, ended_at FROM calls")
    stored = Counter((r["server"], r["linkedid"]) for r in rows)
    ended = {(r["server"], r["linkedid"]): r["disposition"] for r in rows
             if r["ended_at"] is not None}
    lost = [key for key in outcome if key not in ended]
    extra = sum(n - 1 for n in stored.values()) + sum(k not in outcome for k in stored)
    wrong = [(key, ended[key], want) for key, want in outcome.items()
             if key in ended and ended[key] != want]
    rings_doubled = await pool.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM ring_attempts GROUP BY server, linkedid"
        " HAVING count(*) > count(DISTINCT uniqueid)"
        " OR count(*) FILTER (WHERE outcome = 'answered') > 1) AS twice")
    for key in lost[:5]:
        print(f"  lost: {key} (simulator: {outcome[key]})")
    for key, got, want in wrong[:5]:
        print(f"  wrong record: {key} stored {got}, simulator {want}")
    for server, linkedid in [*lost[:5], *(key for key, _, _ in wrong[:5])]:
        await evidence(pool, server, linkedid, directory / f"evidence-{linkedid}.txt")
    return {"lost": len(lost), "extra_rows": extra, "wrong_disposition": len(wrong),
            "incomplete": sum(d == "incomplete" for d in ended.values()),
            "rings_doubled": int(rings_doubled)}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, server_dsn: str) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="cc-bench-failover-"))
    names = [f"pbx{chr(ord('a') + n)}" for n in range(args.pbxs)]
    async with db.scratch_database(server_dsn, "cc_bench_failover_", migrated=True) as dsn:
        pool = await db.create_pool(dsn)
        for name in names:  # CEL rows carry no PBX name: one table per PBX
            await pool.execute(f"CREATE TABLE cel_{name} (LIKE cel INCLUDING ALL)")
        sims = {name: PBXSimulator(speed=SPEED, systemname=name, seed=n + 1, cel_dsn=dsn,
                                   cel_table=f"cel_{name}") for n, name in enumerate(names)}
        for sim in sims.values():
            sim.pbx.default_script = ANSWERS
            await sim.start()
        instances = {name: Instance(name, write_config(directory, name, dsn, sims,
                                                       args.takeover_s),
                                    directory / f"{name}.log")
                     for name in (f"cc{n + 1}" for n in range(args.instances))}
        cluster = Cluster(pool, instances, sims, args.takeover_s)
        traffic = Traffic(sims, args.interval_s)
        t0 = time.monotonic()
        try:
            for instance in instances.values():
                await instance.start()
            await cluster.settle()
            feeding = asyncio.create_task(traffic.run())  # calls before any instance ran
            print(f"{args.instances} instances, {args.pbxs} PBXs (speed {SPEED:g}), "
                  f"takeover_s {args.takeover_s:g}; logs in {directory}")
            clean = [await cluster.round(names[n % len(names)], "term")
                     for n in range(args.clean)]
            if clean:
                print(f"clean stop (SIGTERM) x{len(clean)}: takeover p50 "
                      f"{percentile([r['takeover_s'] for r in clean], 50):.2f} s (the process "
                      f"exited after p50 {percentile([r['stop_s'] for r in clean], 50):.2f} s)")
            kills: list[dict[str, float]] = []
            for n in range(args.kills):
                kills.append(await cluster.round(names[n % len(names)], "kill"))
                print(f"kill -9 #{n + 1}: lease {kills[-1]['lease_s']:.2f} s, "
                      f"served {kills[-1]['takeover_s']:.2f} s", flush=True)
            traffic.stop()
            await feeding
            await asyncio.wait_for(asyncio.gather(*(c.task for _, c in traffic.placed)), 300)
            await until(lambda: unfilled(pool), 120, "outages filled", every_s=0.5)
            for instance in instances.values():
                await instance.stop()
            checked = await check_calls(pool, traffic.placed, directory)
            gaps = await pool.fetch("SELECT kind, count(*) AS n, sum(filled_calls) AS calls"
                                    " FROM journal_gaps GROUP BY kind ORDER BY kind")
        finally:
            traffic.stop()
            for instance in instances.values():
                if instance.proc is not None and instance.proc.returncode is None:
                    instance.proc.kill()
            for sim in sims.values():
                await sim.stop()
            await pool.close()
    took = [r["takeover_s"] for r in kills]
    lease = [r["lease_s"] for r in kills]
    base = [r["takeover_s"] for r in clean]
    print(f"kill -9 x{len(kills)}: takeover (AMI logged in) p50 {percentile(took, 50):.2f} s, "
          f"p99 {percentile(took, 99):.2f} s, max {max(took):.2f} s; lease p50 "
          f"{percentile(lease, 50):.2f} s")
    print(f"calls placed {len(traffic.placed)}, outages "
          + ", ".join(f"{g['kind']} {g['n']} ({g['calls'] or 0} calls from CEL)" for g in gaps)
          + f"; run {time.monotonic() - t0:.0f} s")
    print(f"lost {checked['lost']}, extra rows {checked['extra_rows']}, wrong dispositions "
          f"{checked['wrong_disposition']}, calls with a ring stored twice "
          f"{checked['rings_doubled']}, stored incomplete {checked['incomplete']}")
    return {"takeover_p50_s": round(percentile(took, 50), 2),
            "takeover_p99_s": round(percentile(took, 99), 2),
            "calls_lost": checked["lost"],
            "calls_doubled": (checked["extra_rows"] + checked["wrong_disposition"]
                              + checked["rings_doubled"]),
            "kills": len(kills), "takeover_s_setting": args.takeover_s,
            "lease_p50_s": round(percentile(lease, 50), 2),
            "clean_takeover_p50_s": round(percentile(base, 50), 2) if base else None,
            "calls_placed": len(traffic.placed), "instances": args.instances,
            "pbxs": args.pbxs}


async def unfilled(pool: asyncpg.Pool) -> bool:
    """True when every outage recorded has been filled from CEL."""
    return not await pool.fetchval(
        "SELECT count(*) FROM journal_gaps WHERE lost_at IS NOT NULL AND filled_at IS NULL")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pbxs", type=int, default=2, choices=range(2, 5))
    parser.add_argument("--instances", type=int, default=3, choices=range(2, 4))
    parser.add_argument("--kills", type=int, default=20, help="kill -9 rounds")
    parser.add_argument("--clean", type=int, default=4, help="SIGTERM rounds (the baseline)")
    parser.add_argument("--takeover-s", type=float, default=5.0,
                        help="[ha] takeover_s of the instances (the product's default: 5)")
    parser.add_argument("--interval-s", type=float, default=0.5,
                        help="wall seconds between two calls on each PBX")
    parser.add_argument("--dsn", default=os.environ.get("CALLCENTER_TEST_DSN", ""),
                        help="PostgreSQL server (default: CALLCENTER_TEST_DSN, else embedded)")
    args = parser.parse_args()
    if args.kills < 1:
        parser.error("--kills: at least 1")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    dsn = args.dsn or db.embedded_dsn(Path(tempfile.gettempdir()) / "cc-bench-pgdata")
    print(json.dumps(asyncio.run(run(args, dsn))))


if __name__ == "__main__":
    main()
