"""Validation of what agents type into the panel: customers, call notes, follow-ups.

Each ``*_form`` function takes the submitted fields (strings, as a form or a
JSON body gives them) and returns a typed value, or raises :class:`FormError`
mapping each bad field to an English message (a msgid the web layer translates).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from callcenter.agentpanel.numbers import InvalidNumber, normalise_number

NAME_MAX = 200
TEXT_MAX = 4000
RESULT_MAX = 1000
PHONES_MAX = 10
MAX_EVERY_DAYS = 365
_LIST_SPLIT = re.compile(r"[,;\n]")


class FormError(ValueError):
    """Bad input: ``errors`` maps each field to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class CustomerForm:
    """A customer as entered: ``phones`` normalised, without duplicates."""

    name: str
    company: str
    notes: str
    phones: list[str]


@dataclass(frozen=True)
class NoteForm:
    """A call note as entered (the inbound / outbound record sheet)."""

    category: str
    content: str
    result: str
    follow_up_on: date | None


@dataclass(frozen=True)
class FollowUpForm:
    """A follow-up (回访) as entered: ``due_time`` None means the default time of day;
    ``queue`` names the pool it goes to (None: the agent's own); ``every_days``: recurring."""

    number: str
    due_on: date
    purpose: str
    due_time: time | None = None
    queue: str | None = None
    every_days: int | None = None


def _text(data: Mapping[str, Any], key: str, limit: int, errors: dict[str, str],
          required: bool = False) -> str:
    value = data.get(key)
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[key] = "This field is required."
    elif len(text) > limit:
        errors[key] = "Too long."
    return text


def _date(data: Mapping[str, Any], key: str, errors: dict[str, str], today: date,
          required: bool = False) -> date | None:
    raw = str(data.get(key) or "").strip()
    if not raw:
        if required:
            errors[key] = "This field is required."
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors[key] = "Not a date (YYYY-MM-DD)."
        return None
    if value < today:
        errors[key] = "The date is in the past."
    return value


def phone_list(value: Any) -> list[str]:
    """Numbers from a list or a comma / line separated string, blanks dropped."""
    items = value if isinstance(value, list | tuple) else _LIST_SPLIT.split(str(value or ""))
    return [str(v).strip() for v in items if str(v).strip()]


def customer_form(data: Mapping[str, Any]) -> CustomerForm:
    """Validate a customer: a name, at most 10 valid phone numbers."""
    errors: dict[str, str] = {}
    name = _text(data, "name", NAME_MAX, errors, required=True)
    company = _text(data, "company", NAME_MAX, errors)
    notes = _text(data, "notes", TEXT_MAX, errors)
    phones: list[str] = []
    raw = phone_list(data.get("phones"))
    if len(raw) > PHONES_MAX:
        errors["phones"] = "Too many phone numbers."
    for item in raw:
        try:
            phones.append(normalise_number(item))
        except InvalidNumber:
            errors["phones"] = "Not a phone number."
            break
    if errors:
        raise FormError(errors)
    return CustomerForm(name, company, notes, list(dict.fromkeys(phones)))


def note_form(data: Mapping[str, Any], categories: Sequence[str], today: date) -> NoteForm:
    """Validate a call note: a configured category, a follow-up date not in the past."""
    errors: dict[str, str] = {}
    category = str(data.get("category") or "").strip()
    if category not in categories:
        errors["category"] = "Choose a category from the list."
    content = _text(data, "content", TEXT_MAX, errors)
    result = _text(data, "result", RESULT_MAX, errors)
    follow_up_on = _date(data, "follow_up_on", errors, today)
    if errors:
        raise FormError(errors)
    return NoteForm(category, content, result, follow_up_on)


def follow_up_form(data: Mapping[str, Any], today: date) -> FollowUpForm:
    """Validate a follow-up: a valid number, a due date not in the past."""
    errors: dict[str, str] = {}
    number = ""
    try:
        number = normalise_number(str(data.get("number") or ""))
    except InvalidNumber:
        errors["number"] = "Not a phone number."
    due_on = _date(data, "due_on", errors, today, required=True)
    purpose = _text(data, "purpose", RESULT_MAX, errors)
    due_time = _time(data, "due_time", errors)
    every_days = _every(data, "every_days", errors)
    queue = str(data.get("queue") or "").strip() or None
    if errors or due_on is None:
        raise FormError(errors)
    return FollowUpForm(number, due_on, purpose, due_time, queue, every_days)


def _time(data: Mapping[str, Any], key: str, errors: dict[str, str]) -> time | None:
    raw = str(data.get(key) or "").strip()
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        errors[key] = "Not a time of day (HH:MM)."
        return None


def _every(data: Mapping[str, Any], key: str, errors: dict[str, str]) -> int | None:
    raw = str(data.get(key) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_EVERY_DAYS:
        errors[key] = "Repeat every 1 to 365 days, or leave it empty."
        return None
    return int(raw)


def positive_id(value: Any, field: str = "id") -> int:
    """``value`` as a database id (a positive integer); raises :class:`FormError`."""
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number <= 0 or number >= 2**63:
        raise FormError({field: "Not a valid id."})
    return number
