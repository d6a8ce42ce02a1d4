"""Report periods: local days in the centre's time zone, clear errors."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from callcenter.reports.periods import PeriodError, parse_period

TZ = "Asia/Shanghai"


def test_month_week_day_range() -> None:
    m = parse_period("month", "2026-11-17", None, TZ)
    assert (m.first, m.last, m.label, len(m.days)) == (date(2026, 11, 1), date(2026, 11, 30),
                                                       "2026-11", 30)
    # local midnight in Shanghai is 16:00 UTC the day before
    assert m.start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert m.end == datetime(2026, 11, 30, 16, tzinfo=UTC)
    w = parse_period("week", "2026-11-05", None, TZ)                  # a Thursday
    assert (w.first, w.last, w.label) == (date(2026, 11, 2), date(2026, 11, 8), "2026-W45")
    d = parse_period("day", "2026-12-31", None, TZ)
    assert (d.first, d.last, d.label) == (date(2026, 12, 31),) * 2 + ("2026-12-31",)
    r = parse_period("range", "2026-11-01", "2026-11-15", TZ)
    assert (len(r.days), r.label) == (15, "2026-11-01..2026-11-15")
    assert parse_period("month", "2026-12-05", None, TZ).last == date(2026, 12, 31)


def test_default_is_the_last_complete_period() -> None:
    today = date(2026, 11, 4)                                            # a Wednesday
    assert parse_period("day", None, None, TZ, today).first == date(2026, 11, 3)
    assert parse_period("week", None, None, TZ, today).first == date(2026, 10, 26)
    assert parse_period("month", None, None, TZ, today).first == date(2026, 10, 1)
    assert parse_period("month", None, None, TZ, date(2026, 1, 1)).first == date(2025, 12, 1)


def test_dst_zone_days_have_their_real_length() -> None:
    p = parse_period("day", "2026-03-29", None, "Europe/Berlin")         # 23-hour day
    assert (p.end - p.start).total_seconds() == 23 * 3600


@pytest.mark.parametrize(("kind", "start", "end", "message"), [
    ("year", "2026-01-01", None, "--period: 'year' is not one of day, week, month, range"),
    ("month", "2026-13-01", None, "--from: not a date (YYYY-MM-DD): '2026-13-01'"),
    ("month", "2026-11-01", "2026-11-30", "--to: only with --period range"),
    ("range", "2026-11-01", None, "--period range needs --from and --to"),
    ("range", "2026-11-05", "2026-11-01", "--to 2026-11-01 is before --from 2026-11-05"),
    ("range", "2025-01-01", "2026-12-31", "a range covers at most 366 days"),
])
def test_bad_periods(kind: str, start: str | None, end: str | None, message: str) -> None:
    with pytest.raises(PeriodError) as err:
        parse_period(kind, start, end, TZ)
    assert str(err.value) == message
