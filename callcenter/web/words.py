"""The words of stored codes as people read them (English msgids, translated when shown).

Each kind of code has its own msgids, so that a value reads right where the
same English word means something else elsewhere: ``answered`` the call
result ("已接听") is not "answered" the count ("接听数") nor the complaint
status ("已答复"). Pages use ``label(kind, value)`` (in every template's
context); exports and the CLI call ``labeller(_)`` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.web.i18n import Gettext

WORDS: dict[str, dict[str, str]] = {
    "disposition": {
        "answered": "Answered call", "abandoned": "Abandoned in queue",
        "timeout": "Queue timeout", "no_agents": "No agents", "no_answer": "Not answered",
        "busy": "Line busy", "failed": "Call failed", "incomplete": "Incomplete record",
        "callback_requested": "Callback requested", "open": "In progress"},
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
    "state": {"logged_out": "Logged out", "offline": "Logged out",
              "available": "Available", "ringing": "Ringing", "on_call": "On a call",
              "wrap_up": "Wrap-up", "paused": "Paused (busy)",
              "unavailable": "Unreachable"},
    "pause_reason": {"": "No reason given", "ring-no-answer": "Missed a ring (auto pause)",
                     "auto-pause": "Auto pause", "break": "Break", "lunch": "Lunch",
                     "training": "Training", "meeting": "Meeting",
                     "after-call work": "After-call work"},
    "complaint": {"registered": "Registered", "investigating": "Under investigation",
                  "answered": "Replied", "escalated": "Reopened, escalated",
                  "closed": "Closed complaint"},
    "complaint_step": {"register": "Registered", "investigate": "Start the investigation",
                       "record": "Record the investigation", "answer": "Answer the customer",
                       "satisfied": "Customer satisfied",
                       "not_satisfied": "Customer not satisfied: reopen and escalate",
                       "close": "Close without a verdict"},
    "complaint_reason": {"service_attitude": "Service attitude", "wait_time": "Waiting time",
                         "wrong_information": "Wrong information",
                         "product_quality": "Product quality", "billing": "Billing",
                         "other": "Other reason"},
    "verdict": {"satisfied": "satisfied", "not_satisfied": "not satisfied"},
    "verdict_source": {"follow_up_call": "follow-up call", "survey": "survey"},
    "yes_no": {"True": "yes", "False": "no"},
    "field": {"comment": "Comment", "override_reason": "Changed because",
              "response_comment": "Comment", "resolution_comment": "Comment"},
    "qa": {"acknowledged": "acknowledged", "disputed": "disputed", "upheld": "upheld",
           "changed": "changed"},
}


def words_of(label: Gettext, kind: str, extra: Iterable[str] = ()) -> dict[str, str]:
    """Every code of ``kind`` (and ``extra`` ones) → its word: for scripts that show codes."""
    return {code: label(kind, code) for code in [*WORDS.get(kind, {}), *extra]}


def labeller(_: Gettext) -> Gettext:
    """``label(kind, value)``: the translated word of ``value``.

    A value with no word of its kind is translated as a msgid of its own if the
    catalogue has one (a configured pause reason), else shown as is; None is
    the word for "open" (dispositions) or ''.
    """

    def label(kind: str, value: object) -> str:
        if value is None:
            return _(WORDS["disposition"]["open"]) if kind == "disposition" else ""
        text = str(value)
        msgid = WORDS.get(kind, {}).get(text)
        return _(msgid) if msgid else _(text)

    return label
