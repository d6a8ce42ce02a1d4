"""Who may see and change what in the agent panel (one table, checked by the services).

| data                         | agent                         | supervisor, admin | qa   |
|------------------------------|-------------------------------|-------------------|------|
| a call and its notes         | calls they answered or placed | all               | read |
| writing a call note          | their own calls               | no                | no   |
| customers (read, create, edit)| yes                          | yes               | no   |
| a customer's call history    | every call; note text of own  | all               | no   |
| follow-ups                   | their own: plan, close, call  | read any agent's  | no   |
| a queue's follow-up pool     | plan into, take (member only) | no                | no   |
| overdue follow-ups (all)     | no                            | read, filter      | no   |
| key-account flag and tier    | read                          | set               | no   |
| queue presence              | themselves                    | pause, unpause, remove any agent | no |
| click-to-call                | themselves                    | no                | no   |
"""

from __future__ import annotations

from callcenter.actors import Actor
from callcenter.calls.model import CallRecord
from callcenter.refusals import Forbidden

MANAGERS = frozenset({"supervisor", "admin"})
CUSTOMER_ROLES = frozenset({"agent", *MANAGERS})
CALL_READERS = frozenset({"qa", *MANAGERS})


def require(actor: Actor, roles: frozenset[str], what: str) -> None:
    """Raise :class:`Forbidden` unless ``actor``'s role is in ``roles``."""
    if actor.role not in roles:
        raise Forbidden("A %(role)s may not %(what)s.", role=actor.role, what=what)


def agent_of(actor: Actor) -> str:
    """The agent endpoint of an agent user; :class:`Forbidden` for anyone else."""
    if actor.role != "agent" or not actor.agent:
        raise Forbidden("Only an agent user (with an agent endpoint) may do this.")
    return actor.agent


def call_agents(call: CallRecord) -> set[str]:
    """The agents who handled ``call``: who it is logged to, who answered a ring, who got
    it by transfer."""
    out = {a.agent for a in call.ring_attempts if a.outcome == "answered"}
    out.update(t.to_agent for t in call.transfers if t.to_agent)
    if call.agent:
        out.add(call.agent)
    return out


def may_read_call(actor: Actor, call: CallRecord) -> bool:
    """True when ``actor`` may see ``call`` and its notes."""
    if actor.role in CALL_READERS:
        return True
    return actor.role == "agent" and actor.agent in call_agents(call)
