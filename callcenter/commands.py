"""The command port: the one outlet for AMI actions (enforcement, agent panel, ...).

Every action the service sends to a PBX leaves through :class:`CommandPort`,
built on the daemon's AMI clients. Each call gives one typed
:class:`CommandResult` and never raises: an unknown server, a dropped link or a
timeout is a ``failed`` result with a reason. :meth:`CommandPort.submit` writes
the action at once and gives a future (the ring rule's deadlines leave in one
burst); the named coroutines serve the web app.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import structlog

from callcenter.ami.client import AMIError
from callcenter.ami.protocol import ProtocolError
from callcenter.calls.responses import classify_response

log = structlog.get_logger(__name__)

Status = Literal["ok", "too_late", "failed"]
"""``ok``: Asterisk answered Success; ``too_late``: the channel or member was already
gone; ``failed``: any other error, a timeout, no connection."""


class ActionSender(Protocol):
    """What the port needs of an AMI client (``callcenter.ami.client.AMIClient``)."""

    def send_action(self, action: Mapping[str, Any],
                    timeout: float | None = None) -> Awaitable[Mapping[str, Any]]: ...


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one action: its status, Asterisk's Message or the error, the response."""

    status: Status
    message: str
    action_id: str = ""
    response: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when Asterisk answered Success."""
        return self.status == "ok"


def _failure(exc: BaseException) -> str:
    """The reason of an action that raised ``exc``."""
    if isinstance(exc, AMIError):
        return str(exc)
    kind = "timeout" if "timeout" in type(exc).__name__.lower() else type(exc).__name__
    return f"{kind}: {exc}".rstrip(": ")


def result_of(response: Mapping[str, Any]) -> CommandResult:
    """The typed result of an action's response frame."""
    status, detail = classify_response(response)
    return CommandResult(status, detail, str(response.get("ActionID") or ""),  # type: ignore[arg-type]
                         dict(response))


class CommandPort:
    """Sends actions to named AMI servers; counts results by action and status."""

    def __init__(self, clients: Mapping[str, ActionSender],
                 allowed: Callable[[str], bool] = lambda server: True) -> None:
        self.clients = clients
        self.allowed = allowed
        """Whether this instance may act on a server now (it holds its lease)."""
        self.results: Counter[tuple[str, str]] = Counter()
        """(action, status) → how many; for ``/metrics``."""

    @property
    def servers(self) -> list[str]:
        """The server names commands can be sent to."""
        return sorted(self.clients)

    def connected(self, server: str) -> bool:
        """True while ``server``'s AMI link is up (an action can leave now)."""
        client = self.clients.get(server)
        return client is not None and getattr(client, "connected", True) is not False

    def submit(self, server: str, action: Mapping[str, Any],
               timeout: float | None = None) -> asyncio.Future[CommandResult]:
        """Write ``action`` to ``server`` now; a future of its result (never an exception)."""
        loop = asyncio.get_running_loop()
        out: asyncio.Future[CommandResult] = loop.create_future()
        name = str(action.get("Action"))
        client = self.clients.get(server)
        if not self.allowed(server):
            self._done(out, name, server, CommandResult(
                "failed", f"this instance does not hold the lease of {server!r}"))
            return out
        if client is None or getattr(client, "connected", True) is False:
            reason = f"unknown server {server!r}" if client is None else "not connected"
            self._done(out, name, server, CommandResult("failed", reason))
            return out
        try:
            sending = asyncio.ensure_future(client.send_action(dict(action), timeout=timeout))
        except (AMIError, ProtocolError, OSError) as exc:
            self._done(out, name, server, CommandResult("failed", _failure(exc)))
            return out

        def answered(done: asyncio.Future[Mapping[str, Any]]) -> None:
            if done.cancelled():
                result = CommandResult("failed", "cancelled")
            elif (exc := done.exception()) is not None:
                result = CommandResult("failed", _failure(exc))
            else:
                result = result_of(done.result())
            self._done(out, name, server, result)

        sending.add_done_callback(answered)
        return out

    async def send(self, server: str, action: Mapping[str, Any],
                   timeout: float | None = None) -> CommandResult:
        """Send ``action`` and wait for its result."""
        return await self.submit(server, action, timeout)

    def _done(self, out: asyncio.Future[CommandResult], name: str, server: str,
              result: CommandResult) -> None:
        self.results[name, result.status] += 1
        (log.warning if result.status == "failed" else log.debug)(
            "command_result", server=server, action=name, status=result.status,
            message=result.message)
        if not out.done():
            out.set_result(result)

    async def queue_add(self, server: str, queue: str, interface: str,
                        member_name: str) -> CommandResult:
        """Log ``interface`` in to ``queue`` (AMI QueueAdd, not paused)."""
        return await self.send(server, {"Action": "QueueAdd", "Queue": queue,
                                        "Interface": interface, "MemberName": member_name,
                                        "Paused": "false"})

    async def queue_remove(self, server: str, queue: str, interface: str) -> CommandResult:
        """Log ``interface`` out of ``queue`` (AMI QueueRemove)."""
        return await self.send(server, {"Action": "QueueRemove", "Queue": queue,
                                        "Interface": interface})

    async def pause(self, server: str, interface: str, paused: bool, reason: str = "",
                    queue: str | None = None) -> CommandResult:
        """Pause or unpause ``interface`` in ``queue``, or in all its queues (AMI QueuePause)."""
        action = {"Action": "QueuePause", "Interface": interface,
                  "Paused": "true" if paused else "false"}
        if queue:
            action["Queue"] = queue
        if reason:
            action["Reason"] = reason
        return await self.send(server, action)

    async def originate(self, server: str, endpoint: str, number: str, context: str,
                        variables: Mapping[str, str] | None = None,
                        action_id: str | None = None) -> CommandResult:
        """Ring ``endpoint`` (an interface such as ``PJSIP/agent1001``), then dial ``number``
        in ``context`` (AMI Originate, Async: the result says it was queued).

        ``variables`` become channel variables of the call (``Variable: K=V``).
        """
        action: dict[str, Any] = {"Action": "Originate", "Channel": endpoint, "Exten": number,
                                  "Context": context, "Priority": "1", "Async": "true"}
        if variables:
            action["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        if action_id:
            action["ActionID"] = action_id
        return await self.send(server, action)
