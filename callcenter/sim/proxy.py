"""A loopback TCP proxy for fault drills (tests, benches): cut it (drop and refuse
connections), stall it (connections stay open but nothing is forwarded: a database
that hangs), restore it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

Upstream = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class CutProxy:
    """Listens on 127.0.0.1:0 and forwards each client to ``upstream()``.

    :meth:`cut` drops every connection and refuses new ones (closed at once)
    until :meth:`restore`; :meth:`stall` keeps connections open but forwards
    nothing (in either direction, new connections included) until :meth:`restore`.
    """

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.down = False
        self.flowing = asyncio.Event()
        self.flowing.set()
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

    def stall(self) -> None:
        self.flowing.clear()

    def restore(self) -> None:
        self.down = False
        self.flowing.set()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        await self.flowing.wait()
        up_r, up_w = await self.upstream()
        self._writers |= {writer, up_w}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await r.read(65536):
                    await self.flowing.wait()
                    w.write(data)
                    await w.drain()
            w.transport.abort()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))


def pg_proxy(dsn: str) -> tuple[CutProxy, Callable[[], str]]:
    """A proxy to the PostgreSQL server of ``dsn``, and the DSN pointed at it (once started)."""
    parts = urlsplit(dsn)
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    port = parts.port or 5432
    proxy = CutProxy(
        (lambda: asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")) if host.startswith("/")
        else (lambda: asyncio.open_connection(host, port)))
    user = parts.username or "postgres"
    cred = user + (f":{parts.password}" if parts.password else "")
    return proxy, lambda: f"postgresql://{cred}@127.0.0.1:{proxy.port}{parts.path}"
