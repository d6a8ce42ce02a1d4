"""AMI actions of the ring rule and the reading of their responses.

Results: ``ok`` (Success), ``too_late`` (the channel or member was already
gone: ``No such channel``, ``Channel does not exist: …``, ``Interface not
found``), ``failed`` (any other Error, a timeout, no connection).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from callcenter.ami.protocol import Frame

NO_ANSWER_CAUSE = "19"
_TOO_LATE = re.compile(
    r"^(No such channel|Channel does not exist\b|Interface not found)", re.IGNORECASE
)
_EXTEN = re.compile(r"(\d+)$")


def hangup_action(channel: str) -> dict[str, str]:
    """Hang up ``channel`` as 'no answer' (Cause 19; never without a Cause)."""
    return {"Action": "Hangup", "Channel": channel, "Cause": NO_ANSWER_CAUSE}


def redirect_action(channel: str, context: str, exten: str, priority: str) -> dict[str, str]:
    """Send the caller's ``channel`` to ``context,exten,priority`` (a label, e.g. ``toqueue``)."""
    return {
        "Action": "Redirect",
        "Channel": channel,
        "Context": context,
        "Exten": exten,
        "Priority": priority,
    }


def pause_action(interface: str, reason: str) -> dict[str, str]:
    """Pause ``interface`` in all its queues (no ``Queue`` header) with ``reason``."""
    return {"Action": "QueuePause", "Interface": interface, "Paused": "true", "Reason": reason}


def direct_exten(callee: str | None, agent: str) -> str | None:
    """The extension a direct call dialled (``callee``), else the digits ending ``agent``."""
    if callee:
        return callee
    m = _EXTEN.search(agent)
    return m.group(1) if m else None


def _text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def classify_response(response: Mapping[str, object] | Frame) -> tuple[str, str]:
    """``(result, detail)`` of an action's response frame: ok | too_late | failed."""
    status = _text(response.get("Response")).strip()
    message = _text(response.get("Message")).strip()
    if status.lower() == "success":
        return "ok", message
    if status.lower() == "error" and _TOO_LATE.match(message):
        return "too_late", message
    return "failed", f"{status or 'no Response'}: {message}" if message else status or "no Response"
