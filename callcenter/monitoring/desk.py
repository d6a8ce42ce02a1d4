"""Starting and stopping monitoring sessions, through the command port, audited.

Start: the daemon originates a call to the supervisor's own softphone running
``ChanSpy`` on the agent's channel (``Async``; the leg's ``ChannelId`` is chosen
here, so the tracker knows it for a spy leg from its first event). Whether the
phone answers, and when ChanSpy starts and stops, the store learns from the
tracker's facts. Stop: the daemon hangs the spy leg up (AMI Hangup).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from callcenter.calls.channels import endpoint_of
from callcenter.calls.model import CallRecord, MonitorMode
from callcenter.calls.spying import chanspy_data, spy_channel_id
from callcenter.commands import CommandPort, CommandResult
from callcenter.monitoring.access import MonitorError, may_stop
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.monitoring import MonitoringRepository, MonitoringSession
from callcenter.store.users import UserRepository
from callcenter.web.auth import Principal, may_monitor

OpenCall = Callable[[str, str], CallRecord | None]
"""The call in progress of (server, linkedid), from the live state; None once over."""


def spy_target(call: CallRecord, agent_interface: str) -> str | None:
    """The channel-name prefix of the agent on ``call`` (``PJSIP/agent1002-``), or None
    when no agent is on it. ``agent_interface`` formats an agent endpoint (``{agent}``)."""
    answered = [a for a in call.ring_attempts if a.outcome == "answered"
                and call.direction != "outbound"]
    if answered:
        return f"{answered[-1].interface}-"
    if call.agent and call.answered:
        return f"{agent_interface.format(agent=call.agent)}-"
    return None


class MonitorDesk:
    """Start, stop and read monitoring sessions for web users."""

    def __init__(self, settings: Settings, sessions: MonitoringRepository,
                 users: UserRepository, audit: AuditRepository,
                 commands: CommandPort | None, open_call: OpenCall | None) -> None:
        self.settings, self.config = settings, settings.monitoring
        self.sessions, self.users, self.audit = sessions, users, audit
        self.commands, self.open_call = commands, open_call

    async def start(self, who: Principal, server: str, linkedid: str,
                    mode: str) -> MonitoringSession:
        """Ring ``who``'s softphone and spy on the agent of the call in ``mode``."""
        if not may_monitor(self.config, who):
            raise MonitorError(403, "forbidden", "You are not allowed to monitor calls.")
        if mode not in self.config.modes:
            raise MonitorError(400, "bad_mode", "This monitoring mode is not offered.")
        user = await self.users.get(who.username)
        endpoint = user.softphone if user else None
        if not endpoint:
            raise MonitorError(400, "no_softphone",
                               "Set your softphone endpoint on your account page first.")
        if self.commands is None or self.open_call is None:
            raise MonitorError(503, "no_daemon",
                               "Live monitoring needs the daemon in this process.")
        if not self.commands.connected(server):
            raise MonitorError(503, "pbx_down", "Asterisk cannot be reached now.")
        call = self.open_call(server, linkedid)
        if call is None:
            raise MonitorError(409, "too_late", "The call has already ended.")
        target = spy_target(call, self.settings.agent_panel.interface_template)
        if target is None:
            raise MonitorError(409, "no_agent", "No agent is on this call yet.")
        session = await self.sessions.request(
            server=server, spy_linkedid=spy_channel_id(), linkedid=linkedid,
            supervisor=who.username, endpoint=endpoint, mode=mode, at=datetime.now(UTC))
        result = await self.commands.send(server, self._originate(session, target, endpoint))
        await self._audit(who, "monitoring_start", session, result, target=target)
        if not result.ok:
            outcome = "failed" if result.status == "failed" else "too_late"
            await self.sessions.fail(session.id, outcome, result.message, datetime.now(UTC))
            raise _refused(result)
        return session

    async def stop(self, who: Principal, session_id: int) -> MonitoringSession:
        """Hang the spy leg of the session up."""
        session = await self.get(who, session_id)
        if not may_stop(who, session.supervisor):
            raise MonitorError(403, "forbidden", "Only its supervisor may stop this session.")
        if session.over:
            raise MonitorError(409, "already_ended", "This monitoring session has already ended.")
        if self.commands is None:
            raise MonitorError(503, "no_daemon",
                               "Live monitoring needs the daemon in this process.")
        result = await self.commands.send(session.server, {
            "Action": "Hangup", "Channel": session.spy_linkedid,
            "ActionID": f"monitor-stop-{session.id}"})
        await self._audit(who, "monitoring_stop", session, result)
        await self.sessions.stopped_by(session.id, who.username)
        if result.status == "too_late":
            raise MonitorError(409, "already_ended", "This monitoring session has already ended.")
        if not result.ok:
            raise _refused(result)
        return session

    async def get(self, who: Principal, session_id: int) -> MonitoringSession:
        """A session its supervisor (or an administrator) may see."""
        session = await self.sessions.get(session_id)
        if session is None or not may_stop(who, session.supervisor):
            raise MonitorError(404, "not_found", "No such monitoring session.")
        return session

    def _originate(self, session: MonitoringSession, target: str,
                   endpoint: str) -> dict[str, Any]:
        mode: MonitorMode = session.mode  # type: ignore[assignment]
        return {
            "Action": "Originate",
            "Channel": self.config.interface_template.format(endpoint=endpoint),
            "Application": "ChanSpy", "Data": chanspy_data(target, mode),
            "CallerID": f'"Monitor {mode}" <{endpoint_of(target.rstrip("-"))}>',
            "Timeout": str(int(self.config.ring_timeout_s * 1000)),
            "ChannelId": session.spy_linkedid, "Async": "true",
            "ActionID": f"monitor-{session.id}"}

    async def _audit(self, who: Principal, action: str, session: MonitoringSession,
                     result: CommandResult, **extra: str) -> None:
        await self.audit.record(who.username, action,
                                f"call:{session.server}/{session.linkedid}", details={
                                    "session": session.id, "mode": session.mode,
                                    "endpoint": session.endpoint, "status": result.status,
                                    "message": result.message, **extra})


def _refused(result: CommandResult) -> MonitorError:
    """The error of an action Asterisk refused or could not get."""
    if result.status == "failed" and not result.response:
        return MonitorError(503, "pbx_down", "Asterisk cannot be reached now.")
    return MonitorError(502, "originate_failed", "Asterisk refused to call your softphone.")
