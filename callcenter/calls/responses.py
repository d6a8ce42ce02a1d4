"""Reading the response to an action we sent: ok | too_late | failed.

``too_late`` means the channel or member was already gone (``No such
channel``, ``Channel does not exist: …``, ``Interface not found``): the PBX
had moved on before the action arrived, which is not a failure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOO_LATE = re.compile(
    r"^(No such channel|Channel does not exist\b|Interface not found)", re.IGNORECASE
)


def _text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def classify_response(response: Mapping[str, object]) -> tuple[str, str]:
    """``(result, detail)`` of an action's response frame: ok | too_late | failed."""
    status = _text(response.get("Response")).strip()
    message = _text(response.get("Message")).strip()
    if status.lower() == "success":
        return "ok", message
    if status.lower() == "error" and _TOO_LATE.match(message):
        return "too_late", message
    return "failed", f"{status or 'no Response'}: {message}" if message else status or "no Response"
