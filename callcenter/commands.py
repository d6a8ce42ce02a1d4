"""The command port: the few AMI actions the web app may ask of a PBX.

The web never talks AMI itself; it calls :class:`CommandPort`, built on the
daemon's AMI clients (``CommandPort(daemon.clients)``). Every method returns a
:class:`CommandResult` read from Asterisk's response and never raises: an
unknown server, a dropped link or a timeout is an error result too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from callcenter.ami.client import AMIError
from callcenter.ami.protocol import ProtocolError

log = structlog.get_logger(__name__)


class ActionSender(Protocol):
    """What the port needs of an AMI client (``callcenter.ami.client.AMIClient``)."""

    def send_action(self, action: Mapping[str, Any],
                    timeout: float | None = None) -> Awaitable[Mapping[str, Any]]: ...


@dataclass(frozen=True)
class CommandResult:
    """``ok`` when Asterisk answered Success; ``message`` is its Message (or the error)."""

    ok: bool
    message: str
    action_id: str = ""


def _text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


class CommandPort:
    """Queue membership, pauses and click-to-call on named AMI servers."""

    def __init__(self, clients: Mapping[str, ActionSender]) -> None:
        self.clients = clients

    @property
    def servers(self) -> list[str]:
        """The server names commands can be sent to."""
        return sorted(self.clients)

    async def queue_add(self, server: str, queue: str, interface: str,
                        member_name: str) -> CommandResult:
        """Log ``interface`` in to ``queue`` (AMI QueueAdd, not paused)."""
        return await self._send(server, {"Action": "QueueAdd", "Queue": queue,
                                         "Interface": interface, "MemberName": member_name,
                                         "Paused": "false"})

    async def queue_remove(self, server: str, queue: str, interface: str) -> CommandResult:
        """Log ``interface`` out of ``queue`` (AMI QueueRemove)."""
        return await self._send(server, {"Action": "QueueRemove", "Queue": queue,
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
        return await self._send(server, action)

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
        return await self._send(server, action)

    async def _send(self, server: str, action: dict[str, Any]) -> CommandResult:
        client = self.clients.get(server)
        if client is None:
            return CommandResult(False, f"unknown server {server!r}")
        try:
            response = await client.send_action(action)
        except (AMIError, ProtocolError) as exc:
            log.warning("command_failed", server=server, action=action["Action"], error=str(exc))
            return CommandResult(False, str(exc))
        ok = _text(response.get("Response")).lower() == "success"
        message = _text(response.get("Message"))
        log.info("command_sent", server=server, action=action["Action"], ok=ok, message=message)
        return CommandResult(ok, message or ("ok" if ok else "error"),
                             _text(response.get("ActionID")))
