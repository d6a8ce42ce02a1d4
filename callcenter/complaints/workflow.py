"""The complaint workflow as one state machine (pure: no I/O, no clock).

::

    register ──► registered ──investigate──► investigating ──answer──► answered
                                  ▲              │ record (evidence, responsible agent)
                                  │              ▼
                 escalated ◄──not_satisfied── answered ──satisfied──► closed
                 (reopened, round + 1,                  ──close─────► closed
                  escalated to a supervisor)                (customer not reached)

``record`` (the investigation record, the agent found responsible, a linked call)
keeps the state. Every transition names the roles that may take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal["registered", "investigating", "answered", "escalated", "closed"]
STATES: tuple[State, ...] = ("registered", "investigating", "answered", "escalated", "closed")
PENDING: tuple[State, ...] = ("registered", "investigating", "escalated")
"""States whose complaint still owes the customer an answer (overdue after ``due_at``)."""
Action = Literal["register", "investigate", "record", "answer", "satisfied", "not_satisfied",
                 "close"]
MANAGERS = frozenset({"supervisor", "admin"})
STAFF = frozenset({"agent", *MANAGERS})


@dataclass(frozen=True)
class Transition:
    """``action`` moves a complaint from one of ``sources`` to ``target``; ``roles`` may."""

    action: Action
    sources: tuple[State | None, ...]
    target: State | None
    """None: the state stays (``record``)."""
    roles: frozenset[str]


TRANSITIONS: dict[Action, Transition] = {t.action: t for t in (
    Transition("register", (None,), "registered", STAFF),
    Transition("investigate", ("registered", "escalated"), "investigating", MANAGERS),
    Transition("record", ("investigating",), None, MANAGERS),
    Transition("answer", ("investigating",), "answered", MANAGERS),
    Transition("satisfied", ("answered",), "closed", STAFF),
    Transition("not_satisfied", ("answered",), "escalated", STAFF),
    Transition("close", ("answered",), "closed", MANAGERS),
)}
ACTIONS: tuple[Action, ...] = tuple(TRANSITIONS)


class TransitionError(Exception):
    """A forbidden step; ``msgid`` (English, translated for people) and its parameters."""

    def __init__(self, msgid: str, *, role_refused: bool = False, **params: str) -> None:
        super().__init__(msgid % params)
        self.msgid = msgid
        self.params = params
        self.role_refused = role_refused
        """True when the step exists from this state but the user's role may not take it."""


def step(state: State | None, action: str, role: str) -> State:
    """The state after ``action`` taken by a user of ``role`` on a complaint in ``state``
    (None: not registered yet); raises :class:`TransitionError` when not allowed."""
    transition = TRANSITIONS.get(action)  # type: ignore[call-overload]
    if transition is None:
        raise TransitionError("%(action)s is not a complaint action", action=action)
    if state not in transition.sources:
        raise TransitionError("a complaint that is %(state)s cannot be %(action)s",
                              state=state or "new", action=action)
    if role not in transition.roles:
        raise TransitionError("a %(role)s may not take the step %(action)s", role=role,
                              action=action, role_refused=True)
    target = transition.target or state
    assert target is not None
    return target


def allowed(state: State, role: str) -> list[Action]:
    """The actions a user of ``role`` may take on a complaint in ``state``, in order."""
    return [t.action for t in TRANSITIONS.values() if state in t.sources and role in t.roles]
