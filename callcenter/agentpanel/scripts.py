"""The call script on the screen pop (issue #23): what the agent says, per queue and in
the agent's language, placeholders filled in.

The script comes from ``[scripts]`` (see :class:`callcenter.settings.ScriptSettings`):
the greeting with the company's name (``web.company_name``), the agent's
self-introduction with their name (the MemberName Asterisk reports for their queue
interface, else their user name) and department (the queue script's ``department``),
prompts to confirm key facts, asking for other questions, the polite close.
"""

from __future__ import annotations

from typing import Any

from callcenter.agentpanel.presence import Presence
from callcenter.settings import Settings
from callcenter.store.agents import AgentRepository
from callcenter.web.auth import Principal


class ScriptDesk:
    """Fills in the configured scripts for the signed-in agent."""

    def __init__(self, settings: Settings, agents: AgentRepository, presence: Presence) -> None:
        self.settings = settings
        self.agents = agents
        self.presence = presence

    async def agent_name(self, principal: Principal) -> str:
        """How the agent is named to callers."""
        if principal.agent:
            name = await self.agents.display_name(self.presence.interface(principal.agent))
            if name:
                return name
        return principal.username

    async def for_call(self, principal: Principal, queue: str | None,
                       customer_name: str | None) -> dict[str, Any]:
        """The script of ``queue`` in the principal's language, ready to read out."""
        script = self.settings.scripts.script(queue, principal.language)
        values = {"company": self.settings.web.company_name, "queue": queue or "",
                  "agent_name": await self.agent_name(principal),
                  "customer": customer_name or "", "department": ""}
        values["department"] = (script.department or "").format(**values)

        def fill(text: str | None) -> str:
            return (text or "").format(**values)

        return {"greeting": fill(script.greeting), "introduction": fill(script.introduction),
                "confirm": [fill(t) for t in script.confirm or []],
                "other_questions": fill(script.other_questions), "close": fill(script.close),
                "agent_name": values["agent_name"], "department": values["department"]}
