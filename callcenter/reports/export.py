"""A report as tables (summary, by day, by hour, agents), and as CSV or XLSX files.

The same tables feed the web page, the CSV and the XLSX export, so every
format shows the same figures. Percentages are 0..100 with one decimal,
durations seconds with one decimal; an empty cell means "not defined" (no
calls for a ratio) or "not available" (QA / notes tables absent). Calls with a
wait, talk or hold time that was not observed are counted in their own
columns ("... unknown, left out"), never as 0 in a sum or an average.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from callcenter.metrics import LEFT_OUT, AgentFigures, CallFigures
from callcenter.reports.build import AgentRow, Report

Cell = str | int | float | None
Kind = Literal["count", "percent", "seconds", "text"]
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Column:
    """A column: its header, the metric it shows (for the definition), its kind."""

    label: str
    metric: str
    kind: Kind


@dataclass(frozen=True)
class Table:
    """A titled table of cells."""

    name: str
    columns: list[Column]
    rows: list[list[Cell]]


def pct(value: float | None) -> float | None:
    """A 0..1 ratio as a percentage with one decimal (None stays None)."""
    return None if value is None else round(value * 100, 1)


def secs(value: float | None) -> float | None:
    """Seconds with one decimal (None stays None)."""
    return None if value is None else round(value, 1)


CallCol = tuple[Column, Callable[[CallFigures, Report], Cell]]

CALL_COLUMNS: list[CallCol] = [
    (Column("offered", "offered", "count"), lambda f, r: f.offered),
    (Column("answered", "answered", "count"), lambda f, r: f.answered),
    (Column("abandoned", "abandoned", "count"), lambda f, r: f.abandoned),
    (Column("short abandoned", "short_abandoned", "count"), lambda f, r: f.short_abandoned),
    (Column("queue timeouts", "timeouts", "count"), lambda f, r: f.timeouts),
    (Column("waiting", "waiting", "count"), lambda f, r: f.waiting),
    (Column("service level %", "service_level", "percent"),
     lambda f, r: pct(f.service_level(r.ms.denominator))),
    (Column("ASA s", "asa", "seconds"), lambda f, r: secs(f.asa_s)),
    (Column("longest wait s", "longest_wait", "seconds"), lambda f, r: secs(f.wait_s_max)),
    (Column("talk + hold per call s", "talk", "seconds"), lambda f, r: secs(f.aht_s())),
    (Column("three-ring rate %", "three_ring_rate", "percent"),
     lambda f, r: pct(f.three_ring_rate)),
    (Column("ring no answer", "ring_no_answer", "count"), lambda f, r: f.ring_no_answer),
    (Column("violations", "violations", "count"), lambda f, r: f.violations),
    (Column("transfer rate %", "transfer_rate", "percent"), lambda f, r: pct(f.transfer_rate)),
    (Column("outbound", "outbound", "count"), lambda f, r: sum(f.outbound.values())),
    (Column("wait unknown (left out)", "unknown", "count"), lambda f, r: f.wait_unknown),
    (Column("talk unknown (left out)", "unknown", "count"), lambda f, r: f.talk_unknown),
    (Column("hold unknown (left out)", "unknown", "count"), lambda f, r: f.hold_unknown),
]


def _paused(f: AgentFigures) -> float:
    return sum(f.paused_s.values())


AgentCol = tuple[Column, Callable[[AgentRow], Cell]]

AGENT_COLUMNS: list[AgentCol] = [
    (Column("agent", "agent_calls", "text"), lambda a: a.agent),
    (Column("answered", "agent_calls", "count"), lambda a: a.figures.answered),
    (Column("outbound", "agent_calls", "count"), lambda a: a.figures.outbound),
    (Column("talk s", "talk", "seconds"), lambda a: secs(a.figures.talk_s)),
    (Column("AHT s", "aht", "seconds"), lambda a: secs(a.figures.aht_s)),
    (Column("talk unknown (left out)", "unknown", "count"), lambda a: a.figures.talk_unknown),
    (Column("three-ring rate %", "three_ring_rate", "percent"),
     lambda a: pct(a.figures.three_ring_rate)),
    (Column("missed rings", "missed_rings", "count"), lambda a: a.figures.ring_no_answer),
    (Column("violations", "violations", "count"), lambda a: a.figures.violations),
    (Column("available s", "available_time", "seconds"), lambda a: secs(a.figures.available_s)),
    (Column("on call s", "occupancy", "seconds"), lambda a: secs(a.figures.on_call_s)),
    (Column("wrap-up s", "aht", "seconds"), lambda a: secs(a.figures.wrap_up_s)),
    (Column("occupancy %", "occupancy", "percent"), lambda a: pct(a.figures.occupancy)),
    (Column("paused s", "pause_time", "seconds"), lambda a: secs(_paused(a.figures))),
    (Column("QA average", "qa_average", "count"),
     lambda a: None if a.qa_average is None else round(a.qa_average, 1)),
    (Column("QA reviews", "qa_average", "count"), lambda a: a.qa_reviews),
    (Column("notes completeness %", "notes_completeness", "percent"),
     lambda a: pct(a.notes.notes_completeness) if a.notes else None),
    (Column("complaints", "complaints", "count"),
     lambda a: a.notes.complaints if a.notes else None),
    (Column("complaint rate %", "complaint_rate", "percent"),
     lambda a: pct(a.notes.complaint_rate) if a.notes else None),
]


def left_out(fig: CallFigures) -> list[tuple[str, int]]:
    """(note, calls) for each kind of unknown time that ``fig`` leaves out (none: [])."""
    counts = {"wait": fig.wait_unknown, "talk": fig.talk_unknown, "hold": fig.hold_unknown}
    return [(LEFT_OUT[k], n) for k, n in counts.items() if n]


def summary(report: Report) -> Table:
    """The period's headline figures, one per row, with the metric's name."""
    t, notes = report.total, report.notes
    rows: list[tuple[str, str, Kind, Cell]] = [
        ("period", "", "text", report.period.label),
        ("filter", "", "text", report.filter.label or "all"),
        *[(c.label, c.metric, c.kind, fn(t, report)) for c, fn in CALL_COLUMNS
          if c.metric != "talk"],
        ("AHT s" + ("" if report.wrap_up_s is not None else " (talk + hold, no wrap-up)"),
         "aht", "seconds", secs(report.aht_s)),
        *[(f"outbound {k}", "outbound", "count", n) for k, n in sorted(t.outbound.items())],
        ("notes completeness %", "notes_completeness", "percent",
         pct(notes.notes_completeness) if notes else None),
        ("complaint rate %", "complaint_rate", "percent",
         pct(notes.complaint_rate) if notes else None),
    ]
    return Table("summary", [Column("metric", "", "text"), Column("value", "", "text")],
                 [[label, value] for label, _m, _k, value in rows])


def tables(report: Report) -> list[Table]:
    """Summary, by day, by hour of day, per agent (with a column per pause reason)."""
    cols = [c for c, _ in CALL_COLUMNS]
    by_day = Table("by day", [Column("day", "", "text"), *cols],
                   [[d.isoformat(), *[fn(f, report) for _, fn in CALL_COLUMNS]]
                    for d, f in report.by_day.items()])
    by_hour = Table("by hour", [Column("hour", "", "text"), *cols],
                    [[f"{h:02d}:00", *[fn(f, report) for _, fn in CALL_COLUMNS]]
                     for h, f in report.by_hour.items()])
    reasons = sorted({r for a in report.agents for r in a.figures.paused_s})
    agents = Table(
        "agents",
        [c for c, _ in AGENT_COLUMNS]
        + [Column(f"paused {r or 'no reason'} s", "pause_time", "seconds") for r in reasons],
        [[fn(a) for _, fn in AGENT_COLUMNS]
         + [secs(a.figures.paused_s.get(r, 0.0)) for r in reasons] for a in report.agents])
    return [summary(report), by_day, by_hour, agents]


def to_csv(report: Report) -> str:
    """Every table, each after a line with its name and followed by a blank line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for table in tables(report):
        writer.writerow([f"# {table.name}"])
        writer.writerow([c.label for c in table.columns])
        writer.writerows([["" if v is None else v for v in row] for row in table.rows])
        writer.writerow([])
    return out.getvalue()


def to_xlsx(report: Report) -> bytes:
    """An XLSX workbook with one sheet per table (bold header row, frozen first column)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for table in tables(report):
        ws = wb.create_sheet(table.name)
        ws.append([c.label for c in table.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            ws.append(row)
        for i, col in enumerate(table.columns, start=1):
            letter = ws.cell(row=1, column=i).column_letter
            ws.column_dimensions[letter].width = max(10, len(col.label) + 2)
        ws.freeze_panes = "B2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write(report: Report, fmt: str, path: str | Path) -> None:
    """Write the report as ``fmt`` (csv | xlsx) to ``path``."""
    data: Any = to_xlsx(report) if fmt == "xlsx" else to_csv(report).encode("utf-8-sig")
    Path(path).write_bytes(data)
