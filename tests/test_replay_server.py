"""The replay server serves a capture's frames over TCP, paced or as fast as possible."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.sim.replay import CaptureError, ReplayServer, load_capture
from callcenter.sim.testing import SimClient

TRACES = Path(__file__).parent / "traces"


def recorded_frames(path: Path) -> list[dict]:
    """Every received frame of the capture except the reply to the recorder's Login."""
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    login_ids = {e["sent"]["ActionID"] for e in entries
                 if "sent" in e and e["sent"]["Action"] == "Login"}
    return [e["frame"] for e in entries if "frame" in e
            and not ("Response" in e["frame"] and e["frame"].get("ActionID") in login_ids)]


async def read_all(port: int) -> tuple[SimClient, dict, list[dict]]:
    client = await SimClient.connect(port)
    reply = await client.login("anyone", "anything")
    frames = []
    while (frame := await client.read_frame()) is not None:
        frames.append(frame)
    return client, reply, frames


@pytest.mark.parametrize("capture", ["real2/q_rna_twice.jsonl", "enforce/enforce_pause.jsonl",
                                     "real/ami_actions.jsonl"])
async def test_fast_replay_serves_the_capture_frames(capture: str) -> None:
    server = ReplayServer(TRACES / capture, fast=True)
    await server.start()
    try:
        client, reply, frames = await read_all(server.port)
    finally:
        await server.stop()
    assert client.proto.banner == "Asterisk Call Manager/11.0.0"
    assert reply["Response"] == "Success" and reply["Message"] == "Authentication accepted"
    assert frames == recorded_frames(TRACES / capture)
    assert server.actions[0]["Action"] == "Login"


async def test_replay_keeps_the_original_pacing() -> None:
    path = TRACES / "real2/q_rna_twice.jsonl"
    span = load_capture(path).frames[-1][0] - load_capture(path).frames[0][0]
    server = ReplayServer(path, speed=100.0)  # pacing scaled 100x to keep the test short
    await server.start()
    try:
        t0 = time.monotonic()
        _, _, frames = await read_all(server.port)
        wall = time.monotonic() - t0
    finally:
        await server.stop()
    assert len(frames) == len(recorded_frames(path))
    assert span / 100 * 0.9 <= wall <= span / 100 + 2


async def test_two_clients_each_get_the_whole_capture() -> None:
    path = TRACES / "real2/out_busy.jsonl"
    server = ReplayServer(path, fast=True)
    await server.start()
    try:
        results = await asyncio.gather(read_all(server.port), read_all(server.port))
    finally:
        await server.stop()
    assert results[0][2] == results[1][2] == recorded_frames(path)


def test_bad_capture_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 1, "banner": "Asterisk Call Manager/11.0.0"}\nnot json\n')
    with pytest.raises(CaptureError, match="bad.jsonl:2"):
        load_capture(bad)
    assert main(["replay-server", str(bad), "--port", "0"]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err
    assert main(["replay-server", str(tmp_path / "missing.jsonl"), "--port", "0"]) == 2


def test_sim_cli_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--speed", "0", "--port", "0"]) == 2
    assert "--speed" in capsys.readouterr().err
