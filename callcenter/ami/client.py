"""Asyncio AMI client: login, actions by ActionID, event lists, keepalive, reconnect.

One :class:`AMIClient` per Asterisk server (``name``). Every frame received
(events *and* responses, in arrival order) goes to ``on_event(frame,
received_at)``; ``on_connect(client)`` runs after each successful login so
consumers can resynchronise; ``on_sent(action, sent_at)`` sees each action
written (secrets masked), right after the loop turn that wrote it and before
any frame received later. Times are Unix seconds (UTC).

Reconnect policy: exponential backoff from ``reconnect_min_s`` doubling up to
``reconnect_max_s``, with jitter (a wait is drawn from [d/2, d]). Bad
credentials: a rejected login (the first or on a reconnect) is one error line
(``ami_login_rejected``, no traceback) and is retried every
``reconnect_max_s`` (no retry storm, no ban by fail2ban's first rule); it
never raises out of :meth:`AMIClient.start`, so one wrong secret never stops
the other servers. :attr:`AMIClient.state`, ``connected``, ``login_rejected``
and ``last_error`` tell a health check where the link stands.

Hostile input: the protocol's bounds (:mod:`callcenter.ami.protocol`) drop a
frame over its byte, key or line cap whole (:attr:`AMIClient.dropped_frames`);
the connection and the frames after it go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from callcenter.ami.protocol import (
    AMIProtocol,
    FieldValue,
    Frame,
    ProtocolError,
    log_due,
    serialize_action,
)
from callcenter.ami.writes import TurnWriter


class ServerConfig(Protocol):
    """What :meth:`AMIClient.from_settings` reads of a ``[[servers]]`` entry
    (``callcenter.settings.AmiServer``; the protocol layer imports nothing of the rest)."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def secret(self) -> str: ...
    @property
    def auth(self) -> str: ...
    @property
    def ping_interval_s(self) -> float: ...
    @property
    def ping_timeout_s(self) -> float: ...
    @property
    def action_timeout_s(self) -> float: ...
    @property
    def reconnect_min_s(self) -> float: ...
    @property
    def reconnect_max_s(self) -> float: ...

log = structlog.get_logger(__name__)

EventHandler = Callable[[Frame, float], Any]
ConnectHandler = Callable[["AMIClient"], Awaitable[Any]]
SentHandler = Callable[[dict[str, FieldValue], float], Any]
_MASKED = ("Secret", "Key")


class AMIError(Exception):
    """An AMI link problem: not connected, connection lost, client closed."""


class AMIAuthError(AMIError):
    """Asterisk rejected the username / secret."""


class AMITimeout(AMIError, TimeoutError):
    """No response to an action within its timeout."""


@dataclass
class ListResult:
    """The response of an event-list action and the events of its list, in order."""

    response: Frame
    events: list[Frame] = field(default_factory=list)
    complete: Frame | None = None


@dataclass
class _Pending:
    future: asyncio.Future[Any]
    events: list[Frame] | None = None  # None: a plain action
    response: Frame | None = None


def backoff_delay(failures: int, min_s: float, max_s: float) -> float:
    """Seconds to wait before reconnect attempt ``failures`` (1, 2, ...): ``min_s``
    doubling per failure, capped at ``max_s``, drawn from [d/2, d] (jitter)."""
    cap = min(max_s, min_s * 2 ** min(failures - 1, 60))
    return random.uniform(cap / 2, cap)


class AMIClient:
    """An AMI connection to one server that keeps itself alive (see module doc)."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        auth: str = "plain",
        on_event: EventHandler | None = None,
        on_connect: ConnectHandler | None = None,
        on_sent: SentHandler | None = None,
        ping_interval_s: float = 10.0,
        ping_timeout_s: float = 5.0,
        action_timeout_s: float = 10.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
    ) -> None:
        if auth not in ("plain", "md5"):
            raise ValueError(f"auth must be 'plain' or 'md5', not {auth!r}")
        self.name, self.host, self.port = name, host, port
        self.username, self._secret, self.auth = username, secret, auth
        self.on_event, self.on_connect, self.on_sent = on_event, on_connect, on_sent
        self.ping_interval_s, self.ping_timeout_s = ping_interval_s, ping_timeout_s
        self.action_timeout_s = action_timeout_s
        self.reconnect_min_s, self.reconnect_max_s = reconnect_min_s, reconnect_max_s
        self.connected = False
        self.connects = 0  # successful logins so far
        self.last_received_at: float | None = None
        """When data last arrived (any session)."""
        self.lost_at: float | None = None
        """When data last arrived in the latest session that ended (None: none ended yet)."""
        self.connected_at: float | None = None
        """When the current session's login succeeded."""
        self.login_rejected = False  # the latest login attempt was refused (bad credentials)
        self.last_error: Exception | None = None  # the latest failure, kept after a reconnect
        self._log = log.bind(server=name)
        self._proto = AMIProtocol(on_error=self._protocol_error)
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, _Pending] = {}
        self._out = TurnWriter(self._write)  # the actions of one loop turn: one write
        self._sent: list[tuple[Frame, float]] = []  # written this turn, for on_sent
        self._ids = itertools.count(1)
        self._closing = False
        self._logging_in = False
        self._handler_busy = False  # the reader waits on on_event: our side is slow, not the link
        self._run_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_settings(cls, server: ServerConfig, **callbacks: Any) -> AMIClient:
        """A client for one ``[[servers]]`` entry; ``callbacks``: on_event/on_connect/on_sent."""
        return cls(
            server.name, server.host, server.port, server.username, server.secret,
            auth=server.auth, ping_interval_s=server.ping_interval_s,
            ping_timeout_s=server.ping_timeout_s, action_timeout_s=server.action_timeout_s,
            reconnect_min_s=server.reconnect_min_s, reconnect_max_s=server.reconnect_max_s,
            **callbacks,
        )  # fmt: skip

    # --- public API --------------------------------------------------------------------

    @property
    def banner(self) -> str | None:
        """The greeting of the current (or last) connection, e.g. ``Asterisk Call Manager/11.0.0``."""
        return self._proto.banner

    @property
    def state(self) -> str:
        """``connected``, ``login_rejected`` (retrying every ``reconnect_max_s``),
        ``connecting`` (first attempt or retrying with backoff) or ``closed``."""
        if self.connected:
            return "connected"
        if self._closing:
            return "closed"
        return "login_rejected" if self.login_rejected else "connecting"

    @property
    def dropped_frames(self) -> int:
        """Frames received and dropped over a bound (bytes, keys, lines) since creation."""
        return self._proto.dropped_frames

    async def start(self) -> None:
        """Connect and keep connected in the background.

        Returns after the first attempt: connected, or not (then retrying in the
        background). Never raises for a refused or failed connection: a rejected
        login is logged and retried (see the module doc; :attr:`state`).
        """
        first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closing = False
        self._run_task = asyncio.create_task(self._run(first), name=f"ami-{self.name}")
        await first

    async def close(self) -> None:
        """Log off (if connected), stop reconnecting, fail pending actions."""
        self._closing = True
        if self.connected:
            with contextlib.suppress(AMIError):
                await self.send_action(
                    {"Action": "Logoff"}, timeout=min(2.0, self.action_timeout_s)
                )
        if self._writer is not None:
            self._writer.close()
        if self._run_task is not None:
            self._run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run_task
        self._fail_pending(AMIError(f"AMI client {self.name} closed"))

    def send_action(
        self, action: Mapping[str, FieldValue], timeout: float | None = None
    ) -> asyncio.Future[Frame]:
        """Send ``action`` now; the returned future gets its response frame (Success or Error).

        The action is written before this returns (no task hop: a burst of
        actions leaves at once). Adds an ActionID unless given. The future
        raises :class:`AMITimeout` after ``timeout`` seconds (default
        ``action_timeout_s``), :class:`AMIError` when the connection drops
        first; :class:`AMIError` is raised here when not connected.
        """
        return self._submit(action, None, timeout)

    def send_list_action(
        self, action: Mapping[str, FieldValue], timeout: float | None = None
    ) -> asyncio.Future[ListResult]:
        """Send an event-list action (QueueStatus, CoreShowChannels...); the future
        gets its events up to the ``...Complete`` one. An Error response gives no events."""
        return self._submit(action, [], timeout)

    # --- sending -----------------------------------------------------------------------

    def _submit(
        self, action: Mapping[str, FieldValue], events: list[Frame] | None, timeout: float | None
    ) -> asyncio.Future[Any]:
        writer = self._writer
        if writer is None or writer.is_closing() or not (self.connected or self._logging_in):
            raise AMIError(f"AMI server {self.name} is not connected")
        out = dict(action)
        aid = str(out.setdefault("ActionID", f"{self.name}-{next(self._ids)}"))
        data = serialize_action(out)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending[aid] = _Pending(future, events)
        self._out.write(data)
        if self.on_sent is not None:
            if not self._sent:
                loop.call_soon(self._report_sent)  # after the turn's write: a burst leaves first
            self._sent.append((out, time.time()))
        wait = self.action_timeout_s if timeout is None else timeout
        expiry = loop.call_later(wait, self._expire, future, out.get("Action"), aid, wait)

        def settled(_: asyncio.Future[Any]) -> None:
            expiry.cancel()
            pending = self._pending.get(aid)
            if pending is not None and pending.future is future:
                del self._pending[aid]

        future.add_done_callback(settled)
        return future

    def _report_sent(self) -> None:
        """Tell ``on_sent`` of the actions written this turn (secrets masked)."""
        sent, self._sent = self._sent, []
        if self.on_sent is None:
            return
        for out, at in sent:
            masked = {k: ("***" if k in _MASKED else v) for k, v in out.items()}
            self._call(self.on_sent, masked, at)

    def _write(self, data: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    def _expire(self, future: asyncio.Future[Any], action: Any, aid: str, wait: float) -> None:
        if not future.done():
            future.set_exception(AMITimeout(
                f"no response to {action} (ActionID {aid}) from {self.name} within {wait:g} s"
            ))

    # --- connection loop ---------------------------------------------------------------

    async def _run(self, first: asyncio.Future[None]) -> None:
        failures = 0
        while not self._closing:
            delay: float | None = None
            connects = self.connects
            try:
                await self._connect_and_serve(first)
            except AMIAuthError as exc:
                self.last_error, self.login_rejected = exc, True
                delay = self.reconnect_max_s
                self._log.error("ami_login_rejected", error=str(exc), retry_in_s=delay)
            except (OSError, AMIError, ProtocolError) as exc:
                self.last_error = exc
                if not self._closing:
                    self._log.warning("ami_connection_failed", error=str(exc) or type(exc).__name__)
            except Exception as exc:  # noqa: BLE001 - a bug costs a reconnect, never the link
                self.last_error = exc
                self._log.exception("ami_connection_crashed")
            finally:
                await self._disconnect()
            if not first.done():
                first.set_result(None)
            if self._closing:
                return
            failures = 1 if self.connects > connects else failures + 1
            if delay is None:
                delay = backoff_delay(failures, self.reconnect_min_s, self.reconnect_max_s)
                self._log.info("ami_reconnect_wait", wait_s=round(delay, 3))
            await asyncio.sleep(delay)

    async def _connect_and_serve(self, first: asyncio.Future[None]) -> None:
        reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.action_timeout_s
        )
        self._proto.reset()
        read_task = self._spawn(self._read(reader))
        self._logging_in = True
        try:
            await self._login_or_lost(read_task)
        finally:
            self._logging_in = False
        self.connected, self.login_rejected = True, False
        self.connects += 1
        self.connected_at = time.time()
        self._log.info("ami_connected", banner=self._proto.banner, connects=self.connects)
        if not first.done():
            first.set_result(None)
        if self.on_connect is not None:
            self._spawn(self._guard(self.on_connect(self), "ami_on_connect_failed"))
        ping_task = self._spawn(self._keepalive())
        done, _ = await asyncio.wait({read_task, ping_task}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if (exc := task.exception()) is not None:
                raise exc
        raise AMIError(f"connection to {self.name} lost")

    async def _login_or_lost(self, read_task: asyncio.Task[Any]) -> None:
        """Log in, failing at once (not after the action timeout) if the server hangs up."""
        login = self._spawn(self._login())
        await asyncio.wait({read_task, login}, return_when=asyncio.FIRST_COMPLETED)
        if not login.done():
            login.cancel()
            if (exc := read_task.exception()) is not None:
                raise exc
            raise AMIError(f"connection to {self.name} closed during login")
        login.result()

    async def _login(self) -> None:
        action: dict[str, FieldValue] = {"Action": "Login", "Username": self.username}
        if self.auth == "md5":
            challenge = await self.send_action({"Action": "Challenge", "AuthType": "md5"})
            if challenge.get("Response") != "Success" or "Challenge" not in challenge:
                raise AMIAuthError(
                    f"{self.name}: MD5 challenge refused: {challenge.get('Message')}"
                )
            key = hashlib.md5(f"{challenge['Challenge']}{self._secret}".encode()).hexdigest()
            action.update(AuthType="md5", Key=key)
        else:
            action["Secret"] = self._secret
        action["Events"] = "on"
        response = await self.send_action(action)
        if response.get("Response") != "Success":
            raise AMIAuthError(
                f"{self.name}: login as {self.username!r} rejected: {response.get('Message')}"
            )

    async def _disconnect(self) -> None:
        if self.connected:
            self.lost_at = self.last_received_at
        self.connected = False
        for task in list(self._tasks):
            task.cancel()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None
        self._fail_pending(AMIError(f"connection to AMI server {self.name} lost"))

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            sent_at = time.time()
            try:
                await self.send_action({"Action": "Ping"}, timeout=self.ping_timeout_s)
            except AMITimeout:
                if self._handler_busy or (self.last_received_at or 0.0) >= sent_at:
                    continue  # data flows: the Pong sits unread behind a slow consumer
                self._log.warning("ami_ping_timeout", timeout_s=self.ping_timeout_s)
                raise AMIError(
                    f"{self.name}: no Pong within {self.ping_timeout_s:g} s (half-open?)"
                ) from None

    # --- receiving ---------------------------------------------------------------------

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(65536):
            received_at = self.last_received_at = time.time()
            for frame in self._proto.feed(data):
                if self.on_event is not None:
                    await self._call_ordered(self.on_event, frame, received_at)
                self._route(frame)

    def _route(self, frame: Frame) -> None:
        aid = frame.get("ActionID")
        pending = self._pending.get(aid) if isinstance(aid, str) else None
        if pending is None or pending.future.done():
            return
        if pending.events is None:
            if "Response" in frame:
                pending.future.set_result(frame)
        elif "Response" in frame:
            pending.response = frame
            if frame["Response"] != "Success":
                pending.future.set_result(ListResult(frame))
        elif "Event" in frame and pending.response is not None:
            if frame.get("EventList") == "Complete" or str(frame["Event"]).endswith("Complete"):
                pending.future.set_result(ListResult(pending.response, pending.events, frame))
            else:
                pending.events.append(frame)

    # --- helpers -----------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, coro: Awaitable[Any], event: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a consumer's bug must not reach the link
            self._log.exception(event)

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            result = fn(*args)
            if inspect.isawaitable(result):
                self._spawn(self._guard(result, "ami_handler_failed"))
        except Exception:  # noqa: BLE001 - a consumer's bug must not reach the link
            self._log.exception("ami_handler_failed", handler=getattr(fn, "__name__", repr(fn)))

    async def _call_ordered(self, fn: EventHandler, frame: Frame, received_at: float) -> None:
        """Run the event handler (awaited if async) so events stay in order; never raise."""
        try:
            result = fn(frame, received_at)
            if inspect.isawaitable(result):
                self._handler_busy = True
                try:
                    await result
                finally:
                    self._handler_busy = False
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one event's failure must not drop the others
            self._log.exception("ami_event_handler_failed", ami_event=frame.get("Event"))

    def _fail_pending(self, exc: AMIError) -> None:
        self._out.discard()  # their connection is gone: never write them to the next one
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(exc)
                pending.future.exception()  # retrieved: no "never retrieved" warning
        self._pending.clear()

    def _protocol_error(self, err: ProtocolError) -> None:
        count = self._proto.error_count
        if log_due(count):
            self._log.warning("ami_protocol_error", error=str(err), errors=count,
                              dropped_frames=self._proto.dropped_frames)
