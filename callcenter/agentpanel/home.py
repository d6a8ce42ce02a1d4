"""The agent's home page section: my day (figures, calls waiting for notes, follow-ups
due) and my queues (memberships and pauses as Asterisk last reported them)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter.agentpanel.services import panel
from callcenter.agentpanel.views import call_view
from callcenter.web.auth import Principal
from callcenter.web.home import add_home_section
from callcenter.web.masking import mask_number


async def agent_home(request: web.Request, who: Principal) -> dict[str, Any]:
    """Today's figures, the calls still without a note, the follow-ups due, the queues."""
    services = panel(request)
    figures = await services.day.summary(who)
    figures.pop("call_list", None)
    state = await services.presence.state(who)
    return {"day": figures,
            "notes_due": [call_view(c, lambda n: mask_number(n, who))
                          for c in await services.notes.due(who)],
            "follow_ups_due": len(await services.follow_ups.due(who)),
            "members": [m for m in state["members"] if m["in_queue"]]}


def add_home(app: web.Application) -> None:
    """Add the agent's section to the home page (called by
    :func:`callcenter.agentpanel.web.setup`)."""
    add_home_section(app, "agent.html", ("agent",), agent_home)
