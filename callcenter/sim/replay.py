"""Serve a recorded AMI capture (JSON Lines) over TCP, with its pacing or as fast as possible.

A client connects, gets the capture's banner, logs in (any credentials) and
then receives the capture's frames in order. The capture's own Login reply is
replaced by a reply to the client's Login; replies to the recorder's other
actions are served as recorded. At the capture's end the socket is closed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from callcenter.ami.protocol import AMIProtocol, Frame, serialize_frame

log = structlog.get_logger(__name__)


class CaptureError(Exception):
    """The capture file cannot be read."""


@dataclass
class Capture:
    """A capture: its banner and its received frames with their receive times (s)."""

    banner: str
    frames: list[tuple[float, Frame]]


def load_capture(path: str | Path) -> Capture:
    """Read a capture, dropping the recorder's Login reply. Raises :class:`CaptureError`."""
    banner = "Asterisk Call Manager/11.0.0"
    frames: list[tuple[float, Frame]] = []
    login_ids: set[str] = set()
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CaptureError(f"{path}: {exc}") from exc
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaptureError(f"{path}:{no}: not JSON ({exc.msg})") from exc
        if not isinstance(entry, dict):
            raise CaptureError(f"{path}:{no}: not a JSON object")
        if "banner" in entry:
            banner = str(entry["banner"])
        elif "sent" in entry and str(entry["sent"].get("Action", "")).lower() == "login":
            login_ids.add(str(entry["sent"].get("ActionID", "")))
        elif "frame" in entry:
            frame = entry["frame"]
            if "Response" in frame and frame.get("ActionID", "") in login_ids:
                continue
            frames.append((float(entry.get("t", 0.0)), frame))
    return Capture(banner, frames)


class ReplayServer:
    """Serves one capture to every client that connects (each gets the whole capture)."""

    def __init__(self, path: str | Path, host: str = "127.0.0.1", port: int = 0, *,
                 fast: bool = False, speed: float = 1.0) -> None:
        self.capture = load_capture(path)
        self.host, self.port, self.fast, self.speed = host, port, fast, speed
        self.actions: list[Frame] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Listen; ``port`` is updated when 0 was asked."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the server and every connection."""
        if self._server is None:
            return
        self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def serve_forever(self) -> None:
        """Run until cancelled."""
        assert self._server is not None
        await self._server.serve_forever()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            writer.write(self.capture.banner.encode() + b"\r\n")
            proto = AMIProtocol()
            logged_in = asyncio.Event()
            answer = asyncio.get_running_loop().create_task(
                self._answer(reader, writer, proto, logged_in))
            await logged_in.wait()
            await self._play(writer)
            answer.cancel()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      proto: AMIProtocol, logged_in: asyncio.Event) -> None:
        while data := await reader.read(65536):
            for action in proto.feed(data):
                self.actions.append(action)
                name = str(action.get("Action", "")).lower()
                head: Frame = {"Response": "Success"}
                if "ActionID" in action:
                    head["ActionID"] = action["ActionID"]
                if name == "login":
                    writer.write(serialize_frame(head | {"Message": "Authentication accepted"}))
                    logged_in.set()
                elif name == "ping":
                    writer.write(serialize_frame(head | {"Ping": "Pong", "Timestamp": "0.000000"}))
                elif name == "logoff":
                    writer.write(serialize_frame(
                        {**head, "Response": "Goodbye", "Message": "Thanks for all the fish."}))
                    writer.close()
                    return
                else:
                    writer.write(serialize_frame(head | {
                        "Response": "Error", "Message": "Replay server: action not supported"}))
        logged_in.set()

    async def _play(self, writer: asyncio.StreamWriter) -> None:
        prev: float | None = None
        for t, frame in self.capture.frames:
            if writer.is_closing():
                return
            if not self.fast and prev is not None and t > prev:
                await writer.drain()
                await asyncio.sleep((t - prev) / self.speed)
            prev = t
            writer.write(serialize_frame(frame))
        await writer.drain()
