"""Masking of phone numbers for roles that do not need them (138****5678)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callcenter.calls.model import CallRecord
    from callcenter.web.auth import Principal

FULL_NUMBER_ROLES = frozenset({"agent"})
"""Roles that see whole numbers: agents handle (and call back) their customers."""
EXTENSION_MAX_LEN = 6
"""Numbers this short are internal extensions, never masked."""


def mask(number: str) -> str:
    """``number`` with all but its first 3 and last 4 characters replaced by ``*``.

    Short internal extensions (up to 6 characters) are kept; shorter numbers
    keep fewer leading characters so that at least 4 are hidden (3 for a
    7-character number).
    """
    n = len(number)
    if n <= EXTENSION_MAX_LEN:
        return number
    head = max(0, min(3, n - 8))
    return number[:head] + "*" * (n - head - 4) + number[-4:]


def mask_number(number: str | None, principal: Principal) -> str:
    """``number`` as ``principal`` may see it: whole for agents, masked otherwise; '' for None."""
    if not number:
        return ""
    return number if principal.role in FULL_NUMBER_ROLES else mask(number)


def mask_in(text: str, numbers: Iterable[str | None]) -> str:
    """``text`` with each of ``numbers`` (longer than an extension; also without its
    leading ``+``) replaced by its masked form, e.g. a recording's file name
    ``20261201-080000-13812345678-1.wav`` → ``20261201-080000-138****5678-1.wav``."""
    forms = {f for n in numbers if n for f in (n, n.lstrip("+")) if len(f) > EXTENSION_MAX_LEN}
    for number in sorted(forms, key=len, reverse=True):
        text = text.replace(number, mask(number))
    return text


def mask_call_text(text: str, call: CallRecord | Mapping[str, Any] | None, *,
                   principal: Principal | None) -> str:
    """``text`` (a recording's file name) as ``principal`` may see it: whole for agents,
    else with the caller and callee of ``call`` (a record or a row) masked (:func:`mask_in`)."""
    if principal is not None and principal.role in FULL_NUMBER_ROLES:
        return text
    if call is None:
        return mask_in(text, ())
    row = call if isinstance(call, Mapping) else vars(call)
    return mask_in(text, (row.get("caller"), row.get("callee")))
