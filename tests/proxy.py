"""A loopback TCP proxy that a test can cut (drop and refuse connections) and restore."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

Upstream = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class CutProxy:
    """Listens on 127.0.0.1:0 and forwards each client to ``upstream()``.

    :meth:`cut` drops every connection and refuses new ones (closed at once)
    until :meth:`restore`.
    """

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.down = False
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @classmethod
    def to_port(cls, port: int) -> CutProxy:
        """A proxy to 127.0.0.1:``port``."""
        return cls(lambda: asyncio.open_connection("127.0.0.1", port))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.down = True
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.down = False

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        up_r, up_w = await self.upstream()
        self._writers |= {writer, up_w}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            w.transport.abort()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
