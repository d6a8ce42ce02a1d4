"""AMI actions of the ring rule and the reading of their responses.

Results: ``ok`` (Success), ``too_late`` (the channel or member was already
gone: ``No such channel``, ``Channel does not exist: …``, ``Interface not
found``), ``failed`` (any other Error, a timeout, no connection).
"""

from __future__ import annotations

import re

from callcenter.calls.responses import classify_response

NO_ANSWER_CAUSE = "19"
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


__all__ = ["classify_response", "direct_exten", "hangup_action", "pause_action",
           "redirect_action"]
