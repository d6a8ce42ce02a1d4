"""Queue presence: log in / out of queues and pause with a reason, through the command port.

The signed-in agent acts on themselves; a supervisor or an admin may pause, unpause
or remove any agent (``agent=``, from the wallboard). Every action is audited with
the actor and the agent's interface.

What the panel shows is Asterisk's answer, never our wish: the queue member rows
the store keeps from the tracker's AgentStateChanged facts (also after a change
made elsewhere: a supervisor, the three-ring auto-pause), and the same facts
pushed live by :class:`~callcenter.agentpanel.feed.AgentFeed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from callcenter.actors import Actor
from callcenter.agentpanel.access import MANAGERS, agent_of, require
from callcenter.commands import CommandPort, CommandResult
from callcenter.formfields import FormError
from callcenter.settings import AgentPanelSettings
from callcenter.store.audit import AuditRepository
from callcenter.store.presence_reads import PresenceReads


class NoPbx(Exception):
    """No AMI link to send the command on (the web runs without the daemon, or the agent's
    server is unknown)."""


@dataclass(frozen=True)
class Line:
    """Where an agent's phone is: the AMI server and its queue member interface."""

    server: str
    interface: str


class Presence:
    """Queue membership and pauses of the signed-in agent."""

    def __init__(self, settings: AgentPanelSettings, pool: asyncpg.Pool,
                 commands: CommandPort | None, audit: AuditRepository) -> None:
        self.settings, self.commands, self.audit = settings, commands, audit
        self.reads = PresenceReads(pool)

    def interface(self, agent: str) -> str:
        """The queue member interface of ``agent`` (``PJSIP/agent1001``)."""
        return self.settings.interface_template.format(agent=agent)

    async def line(self, actor: Actor, agent: str | None = None) -> Line:
        """The line of the signed-in agent, or of ``agent`` (supervisors and admins only):
        its server (where its interface was last seen, else the only one)."""
        if agent is None:
            agent = agent_of(actor)
        else:
            require(actor, MANAGERS, "act on an agent's queue presence")
        interface = self.interface(agent)
        server = await self.reads.server_of(interface)
        servers = self.commands.servers if self.commands else []
        if server is None and len(servers) == 1:
            server = servers[0]
        if server is None or server not in servers:
            raise NoPbx("no connection to the agent's Asterisk server")
        return Line(server, interface)

    async def state(self, actor: Actor) -> dict[str, Any]:
        """The agent's queue memberships as Asterisk last reported them, and the queues
        known on their server: ``{"interface", "members": [...], "queues": [...]}``."""
        interface = self.interface(agent_of(actor))
        return {"interface": interface, "members": await self.reads.memberships(interface),
                "queues": await self.reads.queue_names()}

    async def join(self, actor: Actor, queue: str, member_name: str) -> CommandResult:
        """QueueAdd of the agent's interface to ``queue``."""
        line = await self.line(actor)
        queue = await self._known_queue(queue)
        assert self.commands is not None
        result = await self.commands.queue_add(line.server, queue, line.interface, member_name)
        await self._audit(actor, "queue_join", line, result, queue=queue)
        return result

    async def leave(self, actor: Actor, queue: str, agent: str | None = None) -> CommandResult:
        """QueueRemove of the agent's (or ``agent``'s) interface from ``queue``."""
        line = await self.line(actor, agent)
        queue = await self._known_queue(queue)
        assert self.commands is not None
        result = await self.commands.queue_remove(line.server, queue, line.interface)
        await self._audit(actor, "queue_leave", line, result, queue=queue)
        return result

    async def pause(self, actor: Actor, paused: bool, reason: str = "",
                    agent: str | None = None) -> CommandResult:
        """QueuePause of the agent (or ``agent``) in all its queues; a pause needs a
        configured reason."""
        line = await self.line(actor, agent)
        if paused and reason not in self.settings.pause_reasons:
            raise FormError({"reason": "Choose a pause reason from the list."})
        assert self.commands is not None
        result = await self.commands.pause(line.server, line.interface, paused,
                                           reason if paused else "")
        await self._audit(actor, "agent_paused" if paused else "agent_unpaused", line, result,
                          reason=reason)
        return result

    async def _known_queue(self, queue: str) -> str:
        queue = queue.strip()
        if not await self.reads.queue_exists(queue):
            raise FormError({"queue": "No such queue."})
        return queue

    async def _audit(self, actor: Actor, action: str, line: Line, result: CommandResult,
                     **details: str) -> None:
        await self.audit.record(actor.username, action, f"agent:{line.interface}",
                                details={"server": line.server, "ok": result.ok,
                                         "message": result.message, **details})
