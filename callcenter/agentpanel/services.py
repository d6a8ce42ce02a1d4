"""The agent panel's services, built once per web app and kept under ``app[PANEL]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aiohttp import web

from callcenter.agentpanel.customers import CustomerDesk
from callcenter.agentpanel.day import AgentDay
from callcenter.agentpanel.feed import AgentFeed
from callcenter.agentpanel.followups import FollowUpDesk
from callcenter.agentpanel.notes import NoteDesk
from callcenter.agentpanel.presence import Presence
from callcenter.agentpanel.scripts import ScriptDesk
from callcenter.commands import CommandPort
from callcenter.store.agents import AgentRepository
from callcenter.web.keys import AUDIT, COMMANDS, POOL, SETTINGS


@dataclass
class Panel:
    """The services; ``feed`` is the daemon's live feed once attached (None without it)."""

    presence: Presence
    customers: CustomerDesk
    notes: NoteDesk
    follow_ups: FollowUpDesk
    day: AgentDay
    scripts: ScriptDesk
    feed: AgentFeed | None = None


PANEL = web.AppKey("agent_panel", Panel)


def build_panel(app: web.Application) -> Panel:
    """The services on the app's settings, pool, audit log and command port."""
    settings, pool, audit = app[SETTINGS], app[POOL], app[AUDIT]
    commands = cast("CommandPort | None", app[COMMANDS])
    presence = Presence(settings.agent_panel, pool, commands, audit)
    customers = CustomerDesk(pool, audit, settings.agent_panel.outbound_prefix,
                             settings.customers)
    return Panel(presence, customers, NoteDesk(settings, pool, audit),
                 FollowUpDesk(settings, pool, audit, presence),
                 AgentDay(pool, settings.web.timezone),
                 ScriptDesk(settings, AgentRepository(pool), presence))


def panel(request: web.Request) -> Panel:
    """The services of the request's app."""
    return request.app[PANEL]
