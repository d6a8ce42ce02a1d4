"""Validation of what agents type into the panel: customers, call notes, follow-ups.

Each form is a pydantic model; each ``*_form`` function takes the submitted fields
(strings, as a form or a JSON body gives them) and returns the model, or raises
:class:`FormError` mapping each bad field to an English message (a msgid the web layer
translates; :func:`callcenter.formfields.form_errors` makes it from pydantic's errors).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, time
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from callcenter.formfields import FormError, Plain, bad, plain, validate
from callcenter.numbers import InvalidNumber, normalise_number

__all__ = [
    "CustomerForm",
    "FollowUpForm",
    "FormError",
    "NoteForm",
    "customer_form",
    "follow_up_form",
    "note_form",
    "phone_list",
    "positive_id",
]

NAME_MAX = 200
TEXT_MAX = 4000
RESULT_MAX = 1000
PHONES_MAX = 10
MAX_EVERY_DAYS = 365
_LIST_SPLIT = re.compile(r"[,;\n]")
Name = Annotated[Plain, StringConstraints(max_length=NAME_MAX)]
Result = Annotated[Plain, StringConstraints(max_length=RESULT_MAX)]
Text = Annotated[Plain, StringConstraints(max_length=TEXT_MAX)]


def phone_number(value: Any) -> str:
    """A submitted phone number in its stored form."""
    try:
        return normalise_number(plain(value))
    except InvalidNumber:
        raise bad("Not a phone number.") from None


def _parsed(parse: Callable[[str], Any], msgid: str,
            required: bool = False) -> Callable[[Any], Any]:
    """A before-validator: ``parse(text)``, ``msgid`` when it fails; blank → None (or
    "required")."""

    def check(value: Any) -> Any:
        text = plain(value)
        if not text and required:
            raise bad("This field is required.")
        if not text:
            return None
        try:
            return parse(text)
        except ValueError:
            raise bad(msgid) from None

    return check


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_EVERY_DAYS:
        raise ValueError(text)
    return int(text)


def _not_past(value: date | None, info: ValidationInfo) -> date | None:
    if value is not None and value < (info.context or {})["today"]:
        raise bad("The date is in the past.")
    return value


_NOT_A_DATE = "Not a date (YYYY-MM-DD)."
Day = Annotated[date | None, BeforeValidator(_parsed(date.fromisoformat, _NOT_A_DATE)),
                AfterValidator(_not_past)]
DueDay = Annotated[date, BeforeValidator(_parsed(date.fromisoformat, _NOT_A_DATE, True)),
                   AfterValidator(_not_past)]


def phone_list(value: Any) -> list[str]:
    """Numbers from a list or a comma / line separated string, blanks dropped."""
    items = value if isinstance(value, list | tuple) else _LIST_SPLIT.split(str(value or ""))
    return [str(v).strip() for v in items if str(v).strip()]


def _phones(value: Any) -> list[str]:
    raw = phone_list(value if isinstance(value, list | tuple) else plain(value))
    if len(raw) > PHONES_MAX:
        raise bad("Too many phone numbers.")
    return list(dict.fromkeys(phone_number(item) for item in raw))


def _or_none(value: Any) -> str | None:
    return plain(value) or None


class _Form(BaseModel):
    model_config = ConfigDict(frozen=True, validate_default=True)


class CustomerForm(_Form):
    """A customer as entered: ``phones`` normalised, without duplicates."""

    name: Annotated[Name, StringConstraints(min_length=1)] = ""
    company: Name = ""
    notes: Text = ""
    phones: Annotated[list[str], BeforeValidator(_phones)] = []


class NoteForm(_Form):
    """A call note as entered (the inbound / outbound record sheet)."""

    category: Plain = ""
    content: Text = ""
    result: Result = ""
    follow_up_on: Day = None

    @field_validator("category")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        if value not in (info.context or {})["categories"]:
            raise bad("Choose a category from the list.")
        return value


class FollowUpForm(_Form):
    """A follow-up (回访) as entered: ``due_time`` None means the default time of day;
    ``queue`` names the pool it goes to (None: the agent's own); ``every_days``: recurring."""

    number: Annotated[str, BeforeValidator(phone_number)] = ""
    due_on: DueDay
    purpose: Result = ""
    due_time: Annotated[time | None, BeforeValidator(_parsed(
        time.fromisoformat, "Not a time of day (HH:MM)."))] = None
    queue: Annotated[str | None, BeforeValidator(_or_none)] = None
    every_days: Annotated[int | None, BeforeValidator(_parsed(
        _days, "Repeat every 1 to 365 days, or leave it empty."))] = None


def customer_form(data: Mapping[str, Any]) -> CustomerForm:
    """Validate a customer: a name, at most 10 valid phone numbers."""
    return validate(CustomerForm, data)


def note_form(data: Mapping[str, Any], categories: Sequence[str], today: date) -> NoteForm:
    """Validate a call note: a configured category, a follow-up date not in the past."""
    return validate(NoteForm, data, categories=categories, today=today)


def follow_up_form(data: Mapping[str, Any], today: date) -> FollowUpForm:
    """Validate a follow-up: a valid number, a due date not in the past."""
    return validate(FollowUpForm, data, today=today)


def positive_id(value: Any, field: str = "id") -> int:
    """``value`` as a database id (a positive integer); raises :class:`FormError`."""
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number <= 0 or number >= 2**63:
        raise FormError({field: "Not a valid id."})
    return number
