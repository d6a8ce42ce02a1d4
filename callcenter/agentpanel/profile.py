"""The customer profile: the configured fields (``[[customers.fields]]``), validated by a
pydantic model built from them.

Form fields are named ``profile.<name>``; errors are keyed the same way, each an
English msgid the web layer translates. Values are stored as JSON: text, int,
ISO date, a choice's value, a list of choice values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model

from callcenter.formfields import Plain, form_errors
from callcenter.settings import ProfileField

PREFIX = "profile."


def _annotation(f: ProfileField) -> Any:
    if f.type == "text":
        return Annotated[Plain, StringConstraints(max_length=f.max_length)]
    if f.type == "int":
        return Annotated[int, Field(ge=f.min, le=f.max)]
    if f.type == "date":
        return date
    values = Literal[tuple(c.value for c in f.choices)]  # type: ignore[valid-type]
    if f.type == "choice":
        return values
    return Annotated[list[values], Field(min_length=1 if f.required else 0)]  # type: ignore[valid-type]


class Profile:
    """Validates profile input against the configured ``fields``."""

    def __init__(self, fields: Sequence[ProfileField]) -> None:
        self.fields = list(fields)
        self.model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            "CustomerProfile", __config__=ConfigDict(extra="ignore", str_strip_whitespace=True),
            **{f.name: (_annotation(f), ... if f.required else None) for f in self.fields})

    def read(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The profile values in form ``data`` (``profile.<name>`` fields; a multi-choice
        from repeated fields or a list), blanks left out."""
        getall = getattr(data, "getall", None)
        out: dict[str, Any] = {}
        for f in self.fields:
            key = PREFIX + f.name
            if f.type == "multi-choice":
                raw = getall(key, []) if getall else data.get(key) or []
                values = [str(v).strip() for v in (raw if isinstance(raw, list) else [raw])]
                out[f.name] = [v for v in values if v]
            elif str(data.get(key) or "").strip():
                out[f.name] = str(data[key]).strip()
        return out

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Checked values, as stored; :class:`FormError` keyed ``profile.<name>``."""
        try:
            checked = self.model.model_validate(dict(values))
        except ValidationError as exc:
            raise form_errors(exc, PREFIX) from None
        return {k: v for k, v in checked.model_dump(mode="json").items()
                if v is not None and v != []}

    def form_values(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """A stored profile as the form's ``profile.<name>`` fields."""
        return {PREFIX + k: v for k, v in profile.items()}

    def shown(self, profile: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
        """(label, value) of each filled field, in ``lang``, choices by their labels."""
        out = []
        for f in self.fields:
            value = profile.get(f.name)
            if value is None or value == []:
                continue
            labels = {c.value: c.label.get(lang) for c in f.choices}
            items = value if isinstance(value, list) else [value]
            out.append((f.label.get(lang), ", ".join(labels.get(str(v), str(v)) for v in items)))
        return out
