"""JSON-safe dicts of the domain objects (for the spool and the live sync).

``record_to_dict``/``record_from_dict`` round-trip a :class:`CallRecord` exactly
(datetimes as ISO 8601 UTC strings); the same for :class:`AgentStateChanged`.
:func:`to_dict`/:func:`from_dict` do it for any of the model's dataclasses (a fact
carrying a call record or a ring attempt included); ``compact`` leaves out the fields
that hold their default, which :func:`from_dict` restores.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypeVar

from callcenter.calls.model import AgentStateChanged, CallRecord, RingAttempt, Transfer, Violation

T = TypeVar("T")
_CHILDREN: dict[str, type[Any]] = {
    "ring_attempts": RingAttempt,
    "transfers": Transfer,
    "violations": Violation,
}
_NESTED: dict[str, type[Any]] = {"call": CallRecord, "attempt": RingAttempt}
_TIMES = ("at", "started_at", "ended_at", "answered_at", "talk_ended_at", "queue_joined_at")


def _dump(value: Any, compact: bool) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value, compact=compact)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_dump(v, compact) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, compact) for k, v in value.items()}
    return value


def _is_default(f: dataclasses.Field[Any], value: Any) -> bool:
    if f.default is not dataclasses.MISSING:
        return bool(value == f.default)
    if f.default_factory is not dataclasses.MISSING:
        return bool(value == f.default_factory())
    return False


def to_dict(obj: Any, *, compact: bool = False) -> dict[str, Any]:
    """A JSON-safe dict of the dataclass ``obj`` (nested ones too); ``compact``: without
    the fields equal to their default."""
    return {f.name: _dump(getattr(obj, f.name), compact) for f in dataclasses.fields(obj)
            if not (compact and _is_default(f, getattr(obj, f.name)))}


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """The ``cls`` instance :func:`to_dict` produced ``data`` from."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(value, str) and f.name in _TIMES:
            value = datetime.fromisoformat(value)
        elif f.name in _CHILDREN:
            value = [from_dict(_CHILDREN[f.name], v) for v in value]
        elif f.name in _NESTED and isinstance(value, dict):
            value = from_dict(_NESTED[f.name], value)
        kwargs[f.name] = value
    return cls(**kwargs)


def record_to_dict(call: CallRecord) -> dict[str, Any]:
    """A JSON-safe dict of ``call`` (every field, children included)."""
    return to_dict(call)


def record_from_dict(data: dict[str, Any]) -> CallRecord:
    """The :class:`CallRecord` that :func:`record_to_dict` produced ``data`` from."""
    return from_dict(CallRecord, data)


def state_to_dict(fact: AgentStateChanged) -> dict[str, Any]:
    """A JSON-safe dict of an agent state fact."""
    return to_dict(fact)


def state_from_dict(data: dict[str, Any]) -> AgentStateChanged:
    """The fact :func:`state_to_dict` produced ``data`` from."""
    return from_dict(AgentStateChanged, data)
