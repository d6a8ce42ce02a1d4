"""The words of stored values as the console shows them (English msgids, translated when
shown): own msgids, so that a value reads right where the same English word is a column
heading elsewhere (``answered`` the disposition, not "answered" the count)."""

from __future__ import annotations

from callcenter.web.i18n import Gettext

WORDS: dict[str, dict[str, str]] = {
    "disposition": {
        "answered": "Answered call", "abandoned": "Abandoned in queue",
        "timeout": "Queue timeout", "no_agents": "No agents", "no_answer": "Not answered",
        "busy": "Line busy", "failed": "Call failed", "incomplete": "Incomplete record",
        "open": "In progress"},
    "direction": {"inbound": "Inbound", "outbound": "Outbound", "internal": "Internal"},
    "hangup_by": {"caller": "The customer hung up", "agent": "The agent hung up",
                  "system": "Ended by the system"},
    "outcome": {"answered": "Picked up", "no_answer": "Not picked up",
                "caller_hangup": "Caller hung up while ringing", "cancelled": "Ringing stopped",
                "busy": "Agent busy", "unavailable": "Agent unreachable"},
    "transfer": {"blind": "Blind transfer", "attended": "Attended transfer"},
    "action": {"hangup": "Ringing stopped (hang-up)", "redirect": "Call redirected",
               "record": "Recorded only", "pause": "Agent paused", "none": "No action"},
    "result": {"ok": "Done", "failed": "Failed", "not_taken": "Not taken"},
}


def labeller(_: Gettext) -> Gettext:
    """``label(kind, value)``: the translated word of ``value``; an unknown value as is,
    None as the word for "open" (dispositions) or ''."""

    def label(kind: str, value: str | None) -> str:
        if value is None:
            return _(WORDS["disposition"]["open"]) if kind == "disposition" else ""
        msgid = WORDS.get(kind, {}).get(value)
        return _(msgid) if msgid else value

    return label
