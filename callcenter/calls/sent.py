"""The actions we sent that change a call, waiting for their responses.

The journal keeps the enforcement actions (Hangup, Redirect) and MixMonitor
actions we send, and their responses: replayed, they give every violation
the action taken and its result (ok | too_late | failed) exactly as live.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from callcenter.calls.callstate import CallState, Enforcement
from callcenter.calls.channels import Fields, event_time, text
from callcenter.calls.responses import classify_response

TRACKED_ACTIONS = frozenset({"hangup", "redirect", "mixmonitor"})
MAX_PENDING = 1000
"""Actions remembered without a response (the oldest is forgotten first)."""



class SentActions:
    """Actions by ActionID until answered, with the enforcement notes they fill in."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[dict[str, Any], datetime, list[Enforcement]]] = {}

    def note(self, action: Fields, sent_at: float, cs: CallState | None) -> None:
        """Remember ``action`` (of the call ``cs``, when known) until its response."""
        name = text(action, "Action").lower()
        action_id = text(action, "ActionID")
        if not action_id or name not in TRACKED_ACTIONS:
            return
        notes: list[Enforcement] = []
        if cs is not None and name != "mixmonitor":
            for ch in _about(cs, name, text(action, "Channel")):
                notes.append(cs.enforced.setdefault(ch, Enforcement(name)))
        self._pending[action_id] = (dict(action), event_time({}, sent_at), notes)
        if len(self._pending) > MAX_PENDING:
            self._pending.pop(next(iter(self._pending)))

    def answer(self, response: Fields) -> tuple[dict[str, Any], datetime, str] | None:
        """Apply a response: (the action, when it was sent, its result), or None if not ours."""
        sent = self._pending.pop(text(response, "ActionID"), None)
        if sent is None:
            return None
        action, sent_at, notes = sent
        result, detail = classify_response(response)
        for note in notes:
            note.result, note.detail = result, detail
            if note.violation is not None:
                note.violation.result, note.violation.detail = result, detail
        return action, sent_at, result


def _about(cs: CallState, name: str, channel: str) -> list[str]:
    """The rung channels an enforcement action is about."""
    if name == "hangup":
        return [channel] if channel in cs.attempts else []
    return [ch for ch, _ in cs.open_attempts()]
