"""A TCP proxy to PostgreSQL that a test can cut (database outage) and restore."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs, urlsplit


class PgProxy:
    """Listens on 127.0.0.1:0 and forwards to the server of ``dsn``.

    :meth:`cut` drops every connection and refuses new ones (closed at once)
    until :meth:`restore`.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        parts = urlsplit(dsn)
        host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
        self.port_to = parts.port or 5432
        self.unix = host if host.startswith("/") else None
        self.host_to = host
        self.down = False
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def proxied_dsn(self) -> str:
        """``dsn`` pointed at the proxy."""
        parts = urlsplit(self.dsn)
        user = parts.username or "postgres"
        cred = user + (f":{parts.password}" if parts.password else "")
        return f"postgresql://{cred}@127.0.0.1:{self.port}{parts.path}"

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
        if self.unix:
            up_r, up_w = await asyncio.open_unix_connection(f"{self.unix}/.s.PGSQL.{self.port_to}")
        else:
            up_r, up_w = await asyncio.open_connection(self.host_to, self.port_to)
        self._writers |= {writer, up_w}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            w.transport.abort()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
