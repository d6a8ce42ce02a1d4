"""Phone numbers in one form, so a caller ID finds its customer.

The stored form is the Chinese domestic dialling form, digits only: mobiles
``13812345678``, landlines with their trunk ``0`` (``01012345678``). Caller IDs
arrive as ``+8613812345678``, ``008613812345678``, ``8613812345678`` or
``138 1234 5678`` depending on the trunk and on who typed them; all of these
give the same stored number. Numbers of other countries keep their country
code after a ``+`` (``0044 20 ...`` → ``+4420...``). Short internal
extensions (``1001``) are kept as they are.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().\u00a0/]")
_VALID = re.compile(r"^\+?\d{3,20}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class InvalidNumber(ValueError):
    """Not a phone number; the message says why."""


def normalise_number(raw: str) -> str:
    """The stored form of ``raw`` (see the module docstring); raises :class:`InvalidNumber`."""
    number = _SEPARATORS.sub("", raw or "")
    if not _VALID.match(number):
        raise InvalidNumber(f"not a phone number: {raw!r} (digits, an optional leading +)")
    if number.startswith("00"):
        number = "+" + number[2:]
    if number.startswith("+86"):
        return _domestic(number[3:])
    if number.startswith("86") and _MOBILE.match(number[2:]):
        return number[2:]
    return number


def _domestic(national: str) -> str:
    """The domestic form of a number given without its country code."""
    national = national.removeprefix("0")
    return national if _MOBILE.match(national) else "0" + national


def try_normalise(raw: str | None) -> str | None:
    """:func:`normalise_number`, or None for an empty or invalid caller ID."""
    try:
        return normalise_number(raw) if raw else None
    except InvalidNumber:
        return None


def caller_id_forms(number: str) -> list[str]:
    """The forms a trunk may show ``number`` (stored form) in: for matching raw caller IDs."""
    if number.startswith("+"):
        return [number, "00" + number[1:]]
    international = number.removeprefix("0")
    forms = {number, "+86" + international, "0086" + international}
    if _MOBILE.match(number):
        forms.add("86" + number)
    return sorted(forms)
