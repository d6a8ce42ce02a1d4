"""Report periods: whole local days in the centre's time zone, as UTC bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from callcenter.kpis import local_midnight
from callcenter.web.i18n import Problem

PeriodKind = Literal["day", "week", "month", "range"]
KINDS: tuple[PeriodKind, ...] = ("day", "week", "month", "range")
MAX_DAYS = 366


class PeriodError(Problem):
    """A bad period; the message says what to give instead."""


@dataclass(frozen=True)
class Period:
    """Local days ``first`` .. ``last`` (inclusive) in the time zone ``tz``."""

    kind: PeriodKind
    first: date
    last: date
    tz: str

    @property
    def start(self) -> datetime:
        """The first day's local midnight, in UTC."""
        return local_midnight(self.first, self.tz)

    @property
    def end(self) -> datetime:
        """The local midnight after the last day, in UTC (excluded)."""
        return local_midnight(self.last + timedelta(days=1), self.tz)

    @property
    def days(self) -> list[date]:
        """Every local day of the period, in order."""
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def label(self) -> str:
        """A short name: 2026-11, 2026-W45, 2026-11-03 or 2026-11-01..2026-11-15."""
        if self.kind == "month":
            return self.first.strftime("%Y-%m")
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "day":
            return self.first.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError("%(field)s: not a date (YYYY-MM-DD): %(value)r", field=option,
                          value=text) from None


def _month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def default_from(kind: PeriodKind, today: date) -> date:
    """The first day of the last complete period before ``today`` (for cron jobs)."""
    if kind == "week":
        return today - timedelta(days=today.weekday() + 7)
    if kind == "month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1)
    return today - timedelta(days=1)


def parse_period(kind: str, from_text: str | None, to_text: str | None, tz: str,
                 today: date | None = None, flag: str = "--") -> Period:
    """The period of ``kind`` containing ``from_text`` (ISO date); ``range`` needs both ends.

    day: that day; week: its Monday..Sunday; month: the calendar month;
    range: from..to inclusive (at most 366 days). Without ``from_text`` the
    last complete period before ``today`` (the centre's today). Raises
    :class:`PeriodError` with a one-line message naming the parameters as
    ``{flag}from`` etc. (``--from`` on the command line, ``from`` on the web).
    """
    if kind not in KINDS:
        raise PeriodError("%(field)s: %(value)r is not one of %(choices)s",
                          field=f"{flag}period", value=kind, choices=KINDS)
    if to_text is not None and kind != "range":
        raise PeriodError("%(field)s: only with %(field2)s range", field=f"{flag}to",
                          field2=f"{flag}period")
    today = today or datetime.now(ZoneInfo(tz)).date()
    if kind == "range":
        if from_text is None or to_text is None:
            raise PeriodError("%(field)s range needs %(field2)s and %(field3)s",
                              field=f"{flag}period", field2=f"{flag}from", field3=f"{flag}to")
        first, last = _parse_day(from_text, f"{flag}from"), _parse_day(to_text, f"{flag}to")
        if last < first:
            raise PeriodError("%(field)s %(last)s is before %(field2)s %(first)s",
                              field=f"{flag}to", last=last, field2=f"{flag}from", first=first)
        if (last - first).days >= MAX_DAYS:
            raise PeriodError("a range covers at most %(n)d days", n=MAX_DAYS)
        return Period("range", first, last, tz)
    day = _parse_day(from_text, f"{flag}from") if from_text else default_from(kind, today)
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return Period("week", first, first + timedelta(days=6), tz)
    if kind == "month":
        first = day.replace(day=1)
        return Period("month", first, _month_after(first) - timedelta(days=1), tz)
    return Period("day", day, day, tz)
