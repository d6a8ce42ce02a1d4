"""Validation of the complaint forms: registration and each step's fields.

Each function takes the submitted fields (strings) and returns typed values, or
raises :class:`FormError` mapping each bad field to an English message (a msgid
the web layer translates); the page answers 400 and names the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callcenter.formfields import FormError
from callcenter.numbers import InvalidNumber, normalise_number

TEXT_MAX = 4000
VERDICT_SOURCES = ("follow_up_call", "survey")
REQUIRED = "This field is required."


@dataclass(frozen=True)
class RegisterForm:
    """A complaint registered by hand."""

    reason: str
    text: str
    number: str | None
    customer_id: int | None
    call: tuple[str, str] | None


def text(data: Mapping[str, Any], key: str, errors: dict[str, str], *,
         required: bool = False) -> str:
    """The stripped text of ``key``; notes a missing or too long one in ``errors``."""
    value = str(data.get(key) or "").strip()
    if required and not value:
        errors[key] = REQUIRED
    elif len(value) > TEXT_MAX:
        errors[key] = "Too long."
    return value


def choice(data: Mapping[str, Any], key: str, choices: Sequence[str], errors: dict[str, str],
           *, required: bool = False) -> str | None:
    """``key``'s value when it is one of ``choices`` (None when empty and not required)."""
    value = str(data.get(key) or "").strip()
    if not value and not required:
        return None
    if value not in choices:
        errors[key] = "Choose one of the list." if value else REQUIRED
        return None
    return value


def call_key(data: Mapping[str, Any], errors: dict[str, str]) -> tuple[str, str] | None:
    """A call named as ``server/linkedid`` in ``call`` (None when empty)."""
    value = str(data.get("call") or "").strip()
    if not value:
        return None
    server, _, linkedid = value.partition("/")
    if not server or not linkedid or len(value) > 200:
        errors["call"] = "Give the call as server/linkedid."
        return None
    return server, linkedid


def register_form(data: Mapping[str, Any], reasons: Sequence[str]) -> RegisterForm:
    """The registration form: reason (of ``reasons``), text, number, customer, call."""
    errors: dict[str, str] = {}
    reason = choice(data, "reason", reasons, errors, required=True)
    content = text(data, "text", errors, required=True)
    number = None
    raw = str(data.get("number") or "").strip()
    if raw:
        try:
            number = normalise_number(raw)
        except InvalidNumber:
            errors["number"] = "Not a phone number."
    customer_id = None
    raw_id = str(data.get("customer_id") or "").strip()
    if raw_id:
        customer_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 18 else None
        if customer_id is None:
            errors["customer_id"] = "No such customer."
    call = call_key(data, errors)
    if not (number or customer_id or call or errors):
        errors["number"] = "Give the customer's number, the customer or the call."
    if errors:
        raise FormError(errors)
    assert reason is not None
    return RegisterForm(reason, content, number, customer_id, call)
