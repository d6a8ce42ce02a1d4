"""One CEL row as ``cel_pgsql`` writes it, read from PostgreSQL or from a CSV export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class CelRowError(ValueError):
    """A CEL row that cannot be read (its event type or time is missing or malformed)."""


@dataclass(frozen=True)
class CelRow:
    """The columns of a CEL row the translator uses; ``eventtime`` is aware UTC
    (cel_pgsql with ``usegmtime = yes`` writes naive UTC) and ``extra`` is parsed."""

    id: int
    eventtype: str
    eventtime: datetime
    channame: str
    uniqueid: str
    linkedid: str
    cid_name: str = ""
    cid_num: str = ""
    exten: str = ""
    context: str = ""
    appname: str = ""
    appdata: str = ""
    peer: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> CelRow:
        """A row from a database record or a CSV line (strings); raises :class:`CelRowError`."""
        eventtype = str(row.get("eventtype") or "")
        if not eventtype:
            raise CelRowError(f"CEL row {row.get('id')!r}: no eventtype")
        return cls(
            id=_int(row.get("id")), eventtype=eventtype, eventtime=_utc(row.get("eventtime")),
            channame=_s(row, "channame"), uniqueid=_s(row, "uniqueid"),
            linkedid=_s(row, "linkedid"), cid_name=_s(row, "cid_name"),
            cid_num=_s(row, "cid_num"), exten=_s(row, "exten"), context=_s(row, "context"),
            appname=_s(row, "appname"), appdata=_s(row, "appdata"), peer=_s(row, "peer"),
            extra=_extra(row.get("extra")))

    @property
    def epoch(self) -> float:
        """The event time as a Unix time."""
        return self.eventtime.timestamp()


def read_cel_csv(path: str | Path) -> Iterator[CelRow]:
    """The rows of a CSV export of the ``cel`` table (a header line first)."""
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for n, line in enumerate(csv.DictReader(fh), 2):
            try:
                yield CelRow.from_mapping(line)
            except CelRowError as exc:
                raise CelRowError(f"{path}:{n}: {exc}") from None


def _s(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise CelRowError(f"eventtime {value!r} is not a time") from None
    if not isinstance(value, datetime):
        raise CelRowError(f"eventtime {value!r} is not a time")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _extra(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if not value:
        return {}
    try:
        parsed = json.loads(str(value))
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
