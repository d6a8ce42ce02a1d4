"""The FastAGI server in the daemon: asyncio TCP on loopback, one short request per
connection (read the environment, answer with ``SET VARIABLE`` commands, close).

A request that cannot be answered within ``timeout_s`` (PostgreSQL down or slow, a bug)
gets its script's safe default (no priority, no callback offer); input that is not AGI
closes the session. Nothing a caller's PBX sends stops the server.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from callcenter.callbacks.agi import AgiError, AgiReader, AgiReply, AgiRequest, set_variable

log = structlog.get_logger(__name__)

Answer = Mapping[str, str]
Handler = Callable[[AgiRequest], Awaitable[Answer]]
READ_SIZE = 4096


class FastAgiServer:
    """Serves ``handlers`` (script path → coroutine giving the variables to set);
    ``defaults`` (script → variables) answer when a handler fails or is late."""

    def __init__(self, host: str, port: int, handlers: Mapping[str, Handler],
                 defaults: Mapping[str, Answer], *, timeout_s: float = 1.0) -> None:
        self.host, self.port = host, port
        self.handlers, self.defaults = handlers, defaults
        self.timeout_s = timeout_s
        self.requests: Counter[tuple[str, str]] = Counter()
        """(script, outcome) → how many; outcome ok | default | refused."""
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.on_listening: Callable[[int], None] | None = None
        """Told the port once the server listens (the demo's simulated PBX asks there)."""
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[Any]] = set()

    @property
    def listening(self) -> bool:
        """True while the server accepts connections."""
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        """Listen (``port`` 0 picks a free port, then :attr:`port` says which)."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("fastagi_listening", host=self.host, port=self.port)
        if self.on_listening is not None:
            self.on_listening(self.port)

    async def close(self) -> None:
        """Stop listening and end the sessions in progress."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self.session(reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            self._sessions.discard(task)
            writer.close()

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One AGI session, bounded by ``timeout_s`` for the request and each reply."""
        agi = AgiReader()
        script = "?"
        try:
            request = await asyncio.wait_for(_next(reader, agi), self.timeout_s)
            if not isinstance(request, AgiRequest):
                raise AgiError("a reply before the environment")
            script = request.script
            answer, outcome = await self.answer(request)
            for name, value in answer.items():
                writer.write(set_variable(name, value))
                reply = await asyncio.wait_for(_next(reader, agi), self.timeout_s)
                if not isinstance(reply, AgiReply) or reply.hangup:
                    break
            self.requests[script, outcome] += 1
        except (AgiError, TimeoutError, ConnectionError, asyncio.IncompleteReadError,
                ValueError) as exc:
            self.requests[script, "refused"] += 1
            self._error(f"{type(exc).__name__}: {exc}")
            log.warning("fastagi_session_refused", script=script, error=str(exc) or
                        type(exc).__name__)

    async def answer(self, request: AgiRequest) -> tuple[Answer, str]:
        """(variables, ok | default) for ``request``: its handler's answer within the
        timeout, else the script's default."""
        handler = self.handlers.get(request.script)
        if handler is None:
            raise AgiError(f"unknown script {request.script!r}")
        try:
            return await asyncio.wait_for(handler(request), self.timeout_s), "ok"
        except Exception as exc:  # noqa: BLE001 - any failure gets the safe default
            reason = "timeout" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            self._error(f"{request.script}: {reason}")
            log.error("fastagi_default_answer", script=request.script, reason=reason)
            return self.defaults[request.script], "default"

    def _error(self, text: str) -> None:
        self.last_error, self.last_error_at = text[:300], time.time()

    def health(self) -> dict[str, Any]:
        """For ``/readyz``: listening, the last failure, the counts."""
        return {"listening": self.listening, "port": self.port, "last_error": self.last_error,
                "last_error_at": self.last_error_at,
                "requests": {f"{s}:{o}": n for (s, o), n in sorted(self.requests.items())}}


async def _next(reader: asyncio.StreamReader, agi: AgiReader) -> AgiRequest | AgiReply:
    """The next request or reply read from ``reader`` (:class:`AgiError` at end of stream)."""
    while not agi.ready:
        data = await reader.read(READ_SIZE)
        if not data:
            raise AgiError("the PBX closed the session")
        agi.ready.extend(agi.feed(data))
    return agi.ready.pop(0)
