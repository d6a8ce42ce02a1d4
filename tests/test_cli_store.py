"""The store-side commands: replay, calls, rebuild, run, demo — input errors and output."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callcenter.calls.model import CallRecord, RingAttempt
from callcenter.cli import main
from callcenter.store.calls import CallRepository

TRACES = Path(__file__).parent / "traces"
T0 = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


async def cli(*argv: str) -> int:
    """Run ``callcenter argv`` in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(main, list(argv))


def record(linkedid: str) -> CallRecord:
    call = CallRecord("pbx", linkedid, T0, caller="+32", callee="800", queue="support",
                      agent="agent1001", answered_at=T0 + timedelta(seconds=8),
                      ended_at=T0 + timedelta(seconds=20), hangup_by="caller",
                      disposition="answered", recordings=[f"{linkedid}.wav"])
    call.ring_attempts = [RingAttempt("agent1001", "PJSIP/agent1001", T0 + timedelta(seconds=1),
                                      ended_at=T0 + timedelta(seconds=8), outcome="answered",
                                      rings=2, within_rule=True)]
    return call


@pytest.mark.parametrize("argv, message", [
    (["replay", "/nonexistent/trace.jsonl"], "cannot open"),
    (["rebuild", "--since", "last tuesday"], "--since: not an ISO 8601"),
    (["run"], "no Asterisk servers configured"),
    (["calls", "--dsn", "postgresql://nobody@127.0.0.1:1/none"], "cannot connect"),
    (["demo", "--for", "-1"], "--for: give a positive"),
])
def test_bad_input_exits_2_with_a_clear_message(argv: list[str], message: str,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLCENTER_CONFIG", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_json_line_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 1.0, "frame": {"Event": "FullyBooted"}}\n{not json\n')
    proc = subprocess.run([sys.executable, "-m", "callcenter", "replay", str(bad)],
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{bad}:2: not a JSON line" in proc.stderr and "Traceback" not in proc.stderr


async def test_calls_table_and_empty(fresh_dsn: str, pool: object,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("calls", "--dsn", fresh_dsn, "--lang", "en") == 0
    assert "no calls yet" in capsys.readouterr().out
    await CallRepository(pool).upsert_calls([record("pbx-1.0")])  # type: ignore[arg-type]
    assert await cli("calls", "--dsn", fresh_dsn, "--lang", "en") == 0
    out = capsys.readouterr().out
    assert "pbx-1.0" in out and "Answered call" in out
    assert "2026-11-22 12:00:00" in out  # the centre's time zone (Asia/Shanghai) at the edge


async def test_calls_json_all(fresh_dsn: str, pool: object,
                              capsys: pytest.CaptureFixture[str]) -> None:
    await CallRepository(pool).upsert_calls([record("pbx-1.0"), record("pbx-2.0")])  # type: ignore[arg-type]
    capsys.readouterr()
    assert await cli("calls", "--json", "--all", "--dsn", fresh_dsn) == 0
    calls = json.loads(capsys.readouterr().out)
    assert [c["linkedid"] for c in calls] == ["pbx-1.0", "pbx-2.0"]
    ra = calls[0]["ring_attempts"][0]
    assert (ra["agent"], ra["outcome"], ra["rings"]) == ("agent1001", "answered", 2)
    assert calls[0]["recordings"] == ["pbx-1.0.wav"]


async def test_rebuild_empty_journal(fresh_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("rebuild", "--dsn", fresh_dsn, "--since", "2026-11-22") == 0
    assert "rebuilt 0 call(s)" in capsys.readouterr().out


async def test_demo_for_seconds_stops_cleanly_with_a_summary(fresh_dsn: str, tmp_path: Path
                                                             ) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CALLCENTER_")}
    env |= {"CALLCENTER_DSN": fresh_dsn, "CALLCENTER_WEB__PORT": "0",
            "XDG_DATA_HOME": str(tmp_path / "data")}  # the spool and the demo's files
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter", "demo", "--for", "4", "--speed", "30",
        "--calls-per-hour", "600", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "PBX simulator on 127.0.0.1:" in text
    summary = text.strip().splitlines()[-1]
    assert summary.startswith("calls logged: ")
    assert int(summary.split()[2]) > 0
    assert "Traceback" not in err.decode()
    logs = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert logs and not [e for e in logs if e["level"] in ("warning", "error")]  # a clean demo
    assert not (tmp_path / ".callcenter").exists() and not (tmp_path / "recordings").exists()


async def test_demo_on_a_taken_port_says_so_in_one_line(fresh_dsn: str, tmp_path: Path) -> None:
    import socket

    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CALLCENTER_")}
    env |= {"CALLCENTER_DSN": fresh_dsn, "XDG_DATA_HOME": str(tmp_path / "data")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callcenter", "demo", "--for", "3", "--port", str(port),
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 90)
    lines = [line for line in err.decode().splitlines() if not line.startswith("{")]
    assert proc.returncode != 0 and "Traceback" not in err.decode()
    assert lines == [(f"callcenter: cannot serve the web UI on 127.0.0.1:{port} (in use): "
                     "pass --port with a free port, or --port 0")]
