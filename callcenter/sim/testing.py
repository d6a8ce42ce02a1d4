"""A minimal AMI test client for the simulator and replay server (no reconnects)."""

from __future__ import annotations

import asyncio
import itertools

from callcenter.ami.protocol import AMIProtocol, Frame, serialize_frame


class SimClient:
    """Logs in, sends actions, collects events; for tests and demos only."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.proto = AMIProtocol()
        self.events: list[Frame] = []
        self.frames: list[Frame] = []
        self._ids = itertools.count(1)
        self._pending: list[Frame] = []

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> SimClient:
        """Open a connection (the banner is read with the first frames)."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def read_frame(self, timeout: float = 5.0) -> Frame | None:
        """The next frame (None at end of stream); events are also kept in :attr:`events`."""
        while not self._pending:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                return None
            self._pending.extend(self.proto.feed(data))
        frame = self._pending.pop(0)
        self.frames.append(frame)
        if "Event" in frame:
            self.events.append(frame)
        return frame

    async def action(self, action: dict[str, str], timeout: float = 5.0) -> list[Frame]:
        """Send ``action``; return its response and, for a list, its events up to Complete."""
        aid = action.get("ActionID") or f"t-{next(self._ids)}"
        self.writer.write(serialize_frame({**action, "ActionID": aid}))
        out: list[Frame] = []
        listing = False
        while True:
            frame = await self.read_frame(timeout)
            if frame is None:
                return out
            if frame.get("ActionID") != aid:
                continue
            out.append(frame)
            if "Response" in frame:
                listing = frame.get("EventList") == "start"
            if not listing or frame.get("EventList") == "Complete":
                return out

    async def login(self, username: str = "callcenter", secret: str = "secret",
                    events: str = "on") -> Frame:
        """Plain Login; returns the response frame."""
        reply = await self.action({"Action": "Login", "Username": username, "Secret": secret,
                                   "Events": events})
        return reply[0] if reply else {}

    async def close(self) -> None:
        """Close the socket."""
        self.writer.close()
