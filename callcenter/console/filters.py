"""The query strings of the calls and violations pages, parsed and validated.

Each bad input raises :class:`FilterError` naming the field, with an English
msgid (translated when shown) and its parameters. Times are entered in the
centre's time zone: ``2026-12-06`` (a day) or ``2026-12-06T14:30`` (a minute).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.store.call_search import SORT_KEYS, CallFilter, Keyset, Sort
from callcenter.store.violation_log import Keyset as ViolationKeyset
from callcenter.store.violation_log import ViolationFilter

DIRECTIONS = ("inbound", "outbound", "internal")
DISPOSITIONS = ("answered", "abandoned", "timeout", "no_agents", "no_answer", "busy", "failed",
                "incomplete", "callback_requested", "open")
CHOICES = {"yes": True, "no": False, "": None}
MAX_RANGE_DAYS = 366
DEFAULT_DAYS = 7
MAX_NAME = 64
MAX_WAIT_S = 86_400
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_WILDCARDS = re.compile(r"[*＊…]+|\.\.\.")
_NUMBER = re.compile(r"^\+?[0-9*]+$")
_SEPARATORS = re.compile(r"[\s()\-]")


class FilterError(ValueError):
    """A bad filter input: ``field`` (the query parameter), ``msgid`` and its ``params``."""

    def __init__(self, field: str, msgid: str, **params: Any) -> None:
        super().__init__(f"{field}: {msgid % params if params else msgid}")
        self.field, self.msgid, self.params = field, msgid, params


@dataclass(frozen=True)
class CallQuery:
    """A parsed calls query: filter, sort, the keyset to continue after, page size."""

    filter: CallFilter
    sort: Sort
    after: Keyset | None
    size: int


def number_pattern(text: str) -> str:
    """A LIKE pattern for a (partial) phone number: ``*`` (or ``…``) stands for any digits
    (``138*5678``, as numbers are shown masked); without one, the digits may be anywhere."""
    compact = _WILDCARDS.sub("*", _SEPARATORS.sub("", text))
    if len(compact) > 32 or not _NUMBER.match(compact):
        raise FilterError("number", "digits, optionally + first and * for unknown digits")
    if sum(ch.isdigit() for ch in compact) < 3:
        raise FilterError("number", "at least 3 digits")
    pattern = compact.replace("*", "%")
    return pattern if "%" in pattern else f"%{pattern}%"


def local_time(field: str, text: str, tz: str, *, end: bool = False) -> datetime:
    """``text`` (a day or a minute, in ``tz``) as an aware datetime; a day given as an
    ``end`` means the end of that day."""
    try:
        if "T" in text or " " in text:
            naive = datetime.fromisoformat(text.replace(" ", "T"))
        else:
            day = date.fromisoformat(text)
            naive = datetime.combine(day + timedelta(days=1) if end else day, time())
    except ValueError:
        raise FilterError(field, "a date (2026-12-06) or a time (2026-12-06T14:30)") from None
    if naive.tzinfo is not None:
        raise FilterError(field, "a date (2026-12-06) or a time (2026-12-06T14:30)")
    return naive.replace(tzinfo=ZoneInfo(tz))


def time_range(q: Mapping[str, str], tz: str, now: datetime, *, default_days: int
               ) -> tuple[datetime, datetime | None]:
    """``from`` (default: the start of the day ``default_days - 1`` days ago) and ``to``
    (default: open), checked for order and length."""
    today = now.astimezone(ZoneInfo(tz)).date()
    start_text = q.get("from") or (today - timedelta(days=default_days - 1)).isoformat()
    start = local_time("from", start_text, tz)
    end = local_time("to", q["to"], tz, end=True) if q.get("to") else None
    if end is not None and end <= start:
        raise FilterError("to", "must be after the start of the range")
    if (end or now) - start > timedelta(days=MAX_RANGE_DAYS):
        raise FilterError("from", "the range may span at most %(days)d days",
                          days=MAX_RANGE_DAYS)
    return start, end


def name(q: Mapping[str, str], field: str) -> str | None:
    """A free-text name (agent, queue, note category): stripped, at most MAX_NAME characters."""
    value = q.get(field, "").strip()
    if len(value) > MAX_NAME or any(not ch.isprintable() for ch in value):
        raise FilterError(field, "at most %(n)d printable characters", n=MAX_NAME)
    return value or None


def one_of(q: Mapping[str, str], field: str, allowed: tuple[str, ...]) -> str | None:
    """The value of ``field`` if one of ``allowed`` (or empty: None)."""
    value = q.get(field, "")
    if value and value not in allowed:
        raise FilterError(field, "one of: %(allowed)s", allowed=", ".join(allowed))
    return value or None


def yes_no(q: Mapping[str, str], field: str) -> bool | None:
    """``yes`` / ``no`` / empty (either)."""
    value = q.get(field, "")
    if value not in CHOICES:
        raise FilterError(field, "one of: %(allowed)s", allowed="yes, no")
    return CHOICES[value]


def whole_number(q: Mapping[str, str], field: str, low: int, high: int) -> int | None:
    """A whole number from ``low`` to ``high`` (or empty: None)."""
    value = q.get(field, "").strip()
    if not value:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise FilterError(field, "a whole number from %(low)d to %(high)d", low=low, high=high)
    return int(value)


def encode_keyset(key: tuple[Any, ...]) -> str:
    """The opaque ``after`` parameter of the next page (a calls or a violations keyset)."""
    parts = [p.isoformat() if isinstance(p, datetime) else p for p in key]
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _keyset_value(value: Any, sort_key: str) -> Any:
    """The sort value of a decoded keyset, or None when it does not fit ``sort_key``."""
    if sort_key == "started":
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
        return when if when is not None and when.tzinfo is not None else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _decoded(text: str, sort_key: str, size: int) -> list[Any]:
    """The parts of an ``after`` parameter: a sort value, then strings (and an int last
    when ``size`` is 4); FilterError on anything else."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        ok = isinstance(raw, list) and len(raw) == size
        if ok:
            raw[0] = _keyset_value(raw[0], sort_key)
            ok = raw[0] is not None and all(isinstance(p, str) for p in raw[1:3]) and (
                size == 3 or (isinstance(raw[3], int) and not isinstance(raw[3], bool)))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        ok = False
    if not ok:
        raise FilterError("after", "not a page of this search; start again")
    return list(raw)


def decode_keyset(text: str, sort_key: str) -> Keyset:
    """The keyset of an ``after`` parameter made by :func:`encode_keyset` for ``sort_key``."""
    value, server, linkedid = _decoded(text, sort_key, 3)
    return value, server, linkedid


def decode_violation_keyset(text: str) -> ViolationKeyset:
    """The keyset of the violations page's ``after`` parameter."""
    at, server, linkedid, idx = _decoded(text, "started", 4)
    return at, server, linkedid, idx


def parse_calls(q: Mapping[str, str], tz: str, now: datetime) -> CallQuery:
    """The calls page's query string ``q`` (see the module doc for times)."""
    start, end = time_range(q, tz, now, default_days=DEFAULT_DAYS)
    number = q.get("number", "").strip()
    sort = Sort(one_of(q, "sort", tuple(SORT_KEYS)) or "started",
                (one_of(q, "order", ("desc", "asc")) or "desc") == "desc")
    wait = whole_number(q, "wait_over", 0, MAX_WAIT_S)
    flt = CallFilter(
        start=start, end=end, number=number_pattern(number) if number else None,
        agent=name(q, "agent"), queue=name(q, "queue"),
        direction=one_of(q, "direction", DIRECTIONS),
        disposition=one_of(q, "disposition", DISPOSITIONS),
        min_wait_s=None if wait is None else float(wait),
        violation=yes_no(q, "violation"), recording=yes_no(q, "recording"),
        reviewed=yes_no(q, "reviewed"), note_category=name(q, "category"))
    after = decode_keyset(q["after"], sort.key) if q.get("after") else None
    size = whole_number(q, "size", 1, MAX_PAGE_SIZE) or PAGE_SIZE
    return CallQuery(flt, sort, after, size)


def parse_violations(q: Mapping[str, str], tz: str, now: datetime
                     ) -> tuple[ViolationFilter, ViolationKeyset | None]:
    """The violations page's query string: ``from``, ``to`` (default: the last 7 days up to
    now), ``agent``, ``queue``, and ``after`` (the page to continue after)."""
    start, end = time_range(q, tz, now, default_days=DEFAULT_DAYS)
    after = decode_violation_keyset(q["after"]) if q.get("after") else None
    return ViolationFilter(start, end or now, name(q, "agent"), name(q, "queue")), after
