"""Exports (CSV, XLSX) and the ``callcenter report`` command."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from openpyxl import load_workbook

from callcenter.cli import main
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.export import tables, to_csv, to_xlsx
from callcenter.reports.periods import parse_period
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.web.sheets import Seconds
from tests.support.reports import NOW, calls


def as_time(value: object) -> object:
    """A cell as openpyxl reads it back: a duration as a timedelta."""
    return timedelta(seconds=float(value)) if isinstance(value, Seconds) else value


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def report(pool: asyncpg.Pool):  # type: ignore[no-untyped-def]
    await CallRepository(pool).upsert_calls(calls())
    period = parse_period("range", "2026-11-03", "2026-11-04", "Asia/Shanghai")
    return await build_report(pool, Settings(), period, ReportFilter(), now=NOW)


def sections(text: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for row in csv.reader(io.StringIO(text)):
        if row and row[0].startswith("# "):
            current = out.setdefault(row[0][2:], [])
        elif row:
            current.append(row)
    return out


async def test_csv_and_xlsx_hold_the_same_tables(pool: asyncpg.Pool) -> None:
    r = await report(pool)
    text = to_csv(r)
    parts = sections(text)
    assert list(parts) == ["summary", "by day", "by hour", "agents"]
    summary = dict(parts["summary"][1:])
    assert summary["offered"] == "5" and summary["service level %"] == "25.0"
    assert summary["AHT s"] == "212.5" and summary["outbound: Not answered"] == "1"
    by_day = parts["by day"]
    assert [row[0] for row in by_day[1:]] == ["2026-11-03", "2026-11-04"]
    assert by_day[1][1:3] == ["3", "2"]                     # Nov 3: offered 3, answered 2
    agents = {row[0]: row for row in parts["agents"][1:]}
    assert agents["a2"][1] == "2" and agents["a2"][3] == "360.0"
    wb = load_workbook(io.BytesIO(to_xlsx(r)))
    assert wb.sheetnames == ["summary", "by day", "by hour", "agents"]
    for table in tables(r, timed=True):
        sheet = [list(row) for row in wb[table.name].iter_rows(values_only=True)]
        assert sheet[0] == table.headings
        assert sheet[1:] == [[as_time(v) for v in row] for row in table.rows]


async def test_report_command_writes_the_files(fresh_dsn: str, pool: asyncpg.Pool,
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    await CallRepository(pool).upsert_calls(calls())
    out = tmp_path / "nov.xlsx"
    assert await cli("report", "--dsn", fresh_dsn, "--period", "month", "--from", "2026-11-01",
                     "--out", str(out), "--lang", "en") == 0
    assert "wrote" in capsys.readouterr().out
    wb = load_workbook(out)
    rows = dict(list(wb["summary"].iter_rows(values_only=True))[1:])
    assert rows["period"] == "2026-11" and rows["offered"] == 5
    csv_out = tmp_path / "support.csv"
    assert await cli("report", "--dsn", fresh_dsn, "--from", "2026-11-03", "--period", "day",
                     "--queue", "support", "--format", "csv", "--out", str(csv_out),
                     "--lang", "en") == 0
    text = csv_out.read_text(encoding="utf-8-sig")
    summary = dict(sections(text)["summary"][1:])
    assert summary["filter"] == "queue support"
    assert (summary["offered"], summary["queue timeouts"]) == ("2", "1")      # A and E


@pytest.mark.parametrize(("argv", "message"), [
    (["--period", "year"], "--period: 'year' is not one of day, week, month, range"),
    (["--from", "2026-02-30"], "--from: not a date (YYYY-MM-DD): '2026-02-30'"),
    (["--format", "pdf", "--out", "x.pdf"], "--format: 'pdf' is not one of csv, xlsx"),
    (["--format", "xlsx"], "--format xlsx needs --out FILE"),
    (["--out", "/nonexistent/dir/r.csv"], "--out: directory of /nonexistent/dir/r.csv"),
    (["--period", "range", "--from", "2026-11-02"], "--period range needs --from and --to"),
])
def test_bad_options_one_line_exit_2(argv: list[str], message: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("callcenter: " + message) and "\n" not in err


async def test_report_command_csv_on_stdout_for_a_team(fresh_dsn: str, pool: asyncpg.Pool,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    await CallRepository(pool).upsert_calls(calls())
    capsys.readouterr()
    assert await cli("report", "--dsn", fresh_dsn, "--period", "range", "--from", "2026-11-03",
                     "--to", "2026-11-04", "--agent", "a1", "--agent", "a2", "--lang", "en") == 0
    parts = sections(capsys.readouterr().out)
    summary = dict(parts["summary"][1:])
    assert summary["filter"] == "agent a1 a2" and summary["offered"] == "2"     # A and C
    assert [row[0] for row in parts["agents"][1:]] == ["a1", "a2"]
