"""Hostile AMI input through the real client over loopback TCP (issue 17)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

import asyncpg
from structlog.testing import capture_logs

from callcenter.ami.client import AMIClient
from callcenter.ami.protocol import DEFAULT_MAX_FRAME_BYTES, AMIProtocol, serialize_frame
from callcenter.ingest.daemon import Daemon
from callcenter.settings import AmiServer, DatabaseSettings, Settings
from callcenter.sim import AgentScript, PBXSimulator
from tests.support.wait import until

WIDE_FRAMES, WIDE_KEYS = 400, 100_000


def wide_frame() -> bytes:
    """An event of 100,000 distinct keys (``0: 1`` … ``1869f: 1``), under the byte cap."""
    body = b"".join(b"%x: 1\r\n" % i for i in range(WIDE_KEYS))
    frame = b"Event: Wide\r\nPrivilege: call,all\r\n" + body + b"\r\n"
    assert len(frame) < DEFAULT_MAX_FRAME_BYTES
    return frame


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def test_400_frames_of_100000_keys_are_dropped_in_bounded_memory() -> None:
    frame = wide_frame()
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        proto = AMIProtocol()
        while data := await reader.read(65536):
            for action in proto.feed(data):
                aid = action["ActionID"]
                if action["Action"] == "Login":
                    writer.write(serialize_frame({"Response": "Success", "ActionID": aid}))
                    for _ in range(WIDE_FRAMES):
                        writer.write(frame)
                        await writer.drain()
                    writer.write(b"Event: After\r\nPrivilege: call,all\r\nN: 1\r\n\r\n")
                elif action["Action"] == "Ping":
                    writer.write(serialize_frame({"Response": "Success", "ActionID": aid,
                                                  "Ping": "Pong"}))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    names: list[str] = []  # event names only: the test keeps no frame
    client = AMIClient("hostile", "127.0.0.1", port, "callcenter", "s3cret",
                       on_event=lambda f, t: names.append(str(f.get("Event", "response"))),
                       reconnect_min_s=0.05, reconnect_max_s=0.2)
    rss0 = rss_bytes()
    tracemalloc.start()
    try:
        started = time.monotonic()
        await client.start()
        await until(lambda: "After" in names, timeout_s=120)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = rss_bytes() - rss0
    try:
        print(f"\n{WIDE_FRAMES} frames x {WIDE_KEYS} keys ({len(frame)} bytes each) in "
              f"{elapsed:.2f} s: tracemalloc peak {peak / 2**20:.1f} MiB, "
              f"RSS growth {rss_growth / 2**20:.1f} MiB")
        assert peak < 50 * 2**20 and rss_growth < 50 * 2**20
        assert names == ["response", "After"]  # every wide frame dropped, the next delivered
        assert client.dropped_frames == WIDE_FRAMES
        assert client.connected and client.connects == 1 and len(connections) == 1
        pong = await client.send_action({"Action": "Ping"})
        assert pong["Ping"] == "Pong"  # the link still works
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


SERVERS = ("pbx1", "pbx2", "pbx3")
BAD = "pbx2"  # the one with a wrong secret, between the two good ones


async def _calls_ended(pool: asyncpg.Pool, server: str) -> bool:
    return bool(await pool.fetchval(
        "SELECT count(*) FROM calls WHERE server = $1 AND ended_at IS NOT NULL", server))


async def _one_call(sim: PBXSimulator) -> None:
    call = await sim.inbound_call("+3222000001", "800",
                                  agents={"agent1001": AgentScript(answer_after=1, talk=2)})
    await call.wait()


async def test_daemon_with_one_wrong_secret_among_three_servers(pool: asyncpg.Pool,
                                                                tmp_path: Path) -> None:
    sims = {name: PBXSimulator(speed=40, systemname=name, auth_fail_delay=0.01)
            for name in SERVERS}
    for sim in sims.values():
        await sim.start()
    settings = Settings(
        servers=[AmiServer(name=name, port=sim.port, reconnect_min_s=0.05, reconnect_max_s=0.3,
                           secret="WRONG" if name == BAD else "secret")
                 for name, sim in sims.items()],
        database=DatabaseSettings(spool_dir=str(tmp_path / "spool"), batch_delay_s=0.01))
    daemon = Daemon(settings, pool, log_calls=False)
    try:
        with capture_logs() as logs:
            await daemon.start()  # returns although pbx2 refuses the login
            good = [daemon.clients[n] for n in SERVERS if n != BAD]
            await until(lambda: all(c.connected for c in good), timeout_s=10)
            await asyncio.gather(*(_one_call(sims[n]) for n in SERVERS if n != BAD))
            for name in SERVERS:
                if name != BAD:
                    await until(lambda n=name: _calls_ended(pool, n), timeout_s=20)
            bad = daemon.clients[BAD]
            assert (bad.state, bad.connected) == ("login_rejected", False)
            await asyncio.sleep(1.0)
            rejected = [e for e in logs if e["event"] == "ami_login_rejected"]
            logins = _sent(sims[BAD], "Login")
        assert 3 <= logins <= 6  # about one try per 0.3 s: backoff at its cap, no storm
        assert len(rejected) in (logins, logins - 1)  # one line per refused try
        assert {e["server"] for e in rejected} == {BAD}
        assert all(e["log_level"] == "error" and "exc_info" not in e for e in rejected)
        assert not [e for e in logs if e["log_level"] in ("error", "critical")
                    and e["event"] != "ami_login_rejected"]
        sims[BAD].secret = "WRONG"  # the PBX now accepts the secret we have
        await until(lambda: daemon.clients[BAD].connected, timeout_s=5)
        await _one_call(sims[BAD])
        await until(lambda: _calls_ended(pool, BAD), timeout_s=20)
        assert not daemon.clients[BAD].login_rejected
    finally:
        await daemon.stop()
        for sim in sims.values():
            await sim.stop()


def _sent(sim: PBXSimulator, action: str) -> int:
    """How many ``action`` actions ``sim`` received."""
    return sum(a.get("Action") == action for a in sim.actions)


async def test_callcenter_run_with_a_wrong_secret_is_one_line_per_try(
        fresh_dsn: str, tmp_path: Path) -> None:
    """`callcenter run` in a subprocess: no traceback, the good servers connect, the bad
    one logs one line per try and the process keeps running until SIGTERM."""
    sims = {name: PBXSimulator(systemname=name, auth_fail_delay=0.01) for name in SERVERS}
    for sim in sims.values():
        await sim.start()
    servers = "".join(
        f'[[servers]]\nname = "{name}"\nport = {sim.port}\nreconnect_max_s = 0.5\n'
        f'secret = "{"WRONG" if name == BAD else "secret"}"\n\n'
        for name, sim in sims.items())
    config = tmp_path / "callcenter.toml"
    config.write_text(f'log_format = "json"\n\n{servers}[database]\n'
                      f'spool_dir = "{tmp_path / "spool"}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])  # this checkout's package
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter", "--config", str(config), "run", "--no-web",
        "--dsn", fresh_dsn, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        await until(lambda: all(_sent(s, "CoreShowChannels") for n, s in sims.items()
                                if n != BAD)  # logged in, resynchronising
                    and _sent(sims[BAD], "Login") >= 3, timeout_s=30)
        assert proc.returncode is None  # still running
    finally:
        proc.terminate()
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        for sim in sims.values():
            await sim.stop()
    lines = [json.loads(ln) for ln in out.decode().splitlines() if ln.startswith("{")]
    text = out.decode()
    assert "Traceback" not in text and proc.returncode == 0, text[-3000:]
    rejected = [ln for ln in lines if ln["event"] == "ami_login_rejected"]
    assert len(rejected) >= 2 and {ln["server"] for ln in rejected} == {BAD}
    assert {ln["server"] for ln in lines if ln["event"] == "ami_connected"} == {"pbx1", "pbx3"}
