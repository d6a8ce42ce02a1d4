"""Masking of phone numbers for roles that do not need them (138****5678)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
