"""Checks shared by the web forms: submitted text, and pydantic's errors as the pages'
:class:`FormError` (each field → an English msgid the web layer translates)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INVALID = "Not a valid value."

MESSAGES = {
    "missing": "This field is required.",
    "too_short": "This field is required.",
    "string_too_long": "Too long.",
    "int_parsing": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "greater_than_equal": "The number is out of range.",
    "less_than_equal": "The number is out of range.",
    "literal_error": "Choose from the list.",
    "date_parsing": "Not a date (YYYY-MM-DD).",
    "date_from_datetime_parsing": "Not a date (YYYY-MM-DD).",
    "date_from_datetime_inexact": "Not a date (YYYY-MM-DD).",
}
"""pydantic's error types → our messages (msgids); a ``form`` error carries its own;
anything else: "Not a valid value."."""


class FormError(ValueError):
    """Bad input: ``errors`` maps each field to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def form_errors(exc: ValidationError, prefix: str = "") -> FormError:
    """``exc`` as a :class:`FormError`: each field (``prefix`` + its name) → a msgid."""
    errors: dict[str, str] = {}
    for e in exc.errors():
        field = prefix + str(e["loc"][0]) if e["loc"] else "body"
        errors[field] = e["msg"] if e["type"] == "form" else MESSAGES.get(e["type"], INVALID)
    return FormError(errors)


def bad(msgid: str) -> PydanticCustomError:
    """A field's error carrying its own message (``msgid``)."""
    return PydanticCustomError("form", msgid)


def plain(value: Any) -> str:
    """A submitted scalar as stripped text ('' for none); no objects, no control bytes."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad(INVALID)
    text = str(value).strip()
    if _CONTROL.search(text):
        raise bad(INVALID)
    return text


Plain = Annotated[str, BeforeValidator(plain)]

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Mapping[str, Any], **context: Any) -> M:
    """``data`` as a ``model``; :class:`FormError` naming every bad field."""
    try:
        return model.model_validate(dict(data), context=context)
    except ValidationError as exc:
        raise form_errors(exc) from None
