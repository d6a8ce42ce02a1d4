"""Hostile AMI input through the real client over loopback TCP (issue 17)."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from callcenter.ami.client import AMIClient
from callcenter.ami.protocol import DEFAULT_MAX_FRAME_BYTES, AMIProtocol, serialize_frame

WIDE_FRAMES, WIDE_KEYS = 400, 100_000


def wide_frame() -> bytes:
    """An event of 100,000 distinct keys (``0: 1`` … ``1869f: 1``), under the byte cap."""
    body = b"".join(b"%x: 1\r\n" % i for i in range(WIDE_KEYS))
    frame = b"Event: Wide\r\nPrivilege: call,all\r\n" + body + b"\r\n"
    assert len(frame) < DEFAULT_MAX_FRAME_BYTES
    return frame


async def until(cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


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
        await until(lambda: "After" in names, timeout=120)
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
