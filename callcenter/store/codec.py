"""JSON-safe dicts of the domain objects the store writes (for the spool).

``record_to_dict``/``record_from_dict`` round-trip a :class:`CallRecord` exactly
(datetimes as ISO 8601 UTC strings); the same for :class:`AgentStateChanged`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from callcenter.calls.model import AgentStateChanged, CallRecord, RingAttempt, Transfer, Violation

_CHILDREN: dict[str, type[Any]] = {
    "ring_attempts": RingAttempt,
    "transfers": Transfer,
    "violations": Violation,
}


def _dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _load(cls: type[Any], data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(value, str) and f.name in ("at", "started_at", "ended_at", "answered_at",
                                                  "talk_ended_at", "queue_joined_at"):
            value = datetime.fromisoformat(value)
        elif f.name in _CHILDREN:
            value = [_load(_CHILDREN[f.name], v) for v in value]
        kwargs[f.name] = value
    return cls(**kwargs)


def record_to_dict(call: CallRecord) -> dict[str, Any]:
    """A JSON-safe dict of ``call`` (every field, children included)."""
    out: dict[str, Any] = _dump(dataclasses.asdict(call))
    return out


def record_from_dict(data: dict[str, Any]) -> CallRecord:
    """The :class:`CallRecord` that :func:`record_to_dict` produced ``data`` from."""
    call: CallRecord = _load(CallRecord, data)
    return call


def state_to_dict(fact: AgentStateChanged) -> dict[str, Any]:
    """A JSON-safe dict of an agent state fact."""
    out: dict[str, Any] = _dump(dataclasses.asdict(fact))
    return out


def state_from_dict(data: dict[str, Any]) -> AgentStateChanged:
    """The fact :func:`state_to_dict` produced ``data`` from."""
    fact: AgentStateChanged = _load(AgentStateChanged, data)
    return fact
