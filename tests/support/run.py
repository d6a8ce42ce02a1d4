"""``callcenter run`` as a child process, with its ``/readyz`` polled."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.sim import PBXSimulator
from callcenter.sim.runconfig import free_port, write_run_config
from tests.support.wait import until


class Running:
    """A ``callcenter run`` child process and its /readyz."""

    def __init__(self, proc: asyncio.subprocess.Process, web_port: int) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{web_port}/readyz"
        self.output = b""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        """Keep the child's output (read all along: a full pipe would block its logging)."""
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(65536):
            self.output += chunk

    async def readyz(self) -> tuple[int, dict[str, Any]] | None:
        try:
            async with aiohttp.ClientSession() as http, http.get(
                    self.url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                return resp.status, await resp.json()
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def until_ready(self, want: Any, timeout_s: float = 30.0) -> dict[str, Any]:
        """Poll /readyz until ``want(status, report)``; the report."""
        async def matched() -> tuple[int, dict[str, Any]] | None:
            assert self.proc.returncode is None, "callcenter run exited"
            got = await self.readyz()
            return got if got is not None and want(*got) else None

        try:
            got: tuple[int, dict[str, Any]] = await until(matched, timeout_s, every_s=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: /readyz never matched; last: {await self.readyz()}; "
                                 f"output: {self.output[-3000:].decode(errors='replace')}"
                                 ) from None
        return got[1]

    async def terminate(self) -> float:
        """SIGTERM; the seconds until the process exited (its output kept)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.send_signal(signal.SIGABRT)
            await asyncio.sleep(2)
            raise AssertionError("no exit 30 s after SIGTERM; output: "
                                 + self.output[-3000:].decode(errors="replace")) from None
        stopped = time.monotonic() - started
        await asyncio.wait_for(self._reader, 5)
        return stopped


@contextlib.asynccontextmanager
async def running(dsn: str, sim: PBXSimulator | dict[str, PBXSimulator], tmp_path: Path, *,
                  spool: Path | None = None, extra: str = "", name: str = "callcenter",
                  cel_tables: dict[str, str] | None = None) -> AsyncIterator[Running]:
    """``callcenter run`` against ``sim`` (or several, by server name) and ``dsn``
    (``extra``: more TOML settings; ``name``: of its config file and default spool;
    ``cel_tables``: a server's CEL table when not ``cel``)."""
    web_port = free_port()
    sims = {"sim": sim} if isinstance(sim, PBXSimulator) else sim
    default_spool = tmp_path / ("spool" if name == "callcenter" else f"{name}-spool")
    config = write_run_config(tmp_path / f"{name}.toml", dsn, sims, spool=spool or default_spool,
                              web_port=web_port, cel_tables=cel_tables, extra=extra)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter", "--config", str(config), "run",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    run = Running(proc, web_port)
    try:
        yield run
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
