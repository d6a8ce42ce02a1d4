"""A report as tables (summary, by day, by hour, agents), and as CSV or XLSX files.

The same tables feed the web page, the CSV and the XLSX export, so every
format shows the same figures. Headers, table names and the words in cells are
in the language of the ``_`` they are built with (English msgids by default, as
the JSON API keeps them). Percentages are 0..100 with one decimal, durations
``Seconds`` with one decimal (a time ``[h]:mm:ss`` in XLSX, where the headers
carry no unit); an empty cell means "not defined" (no calls for a ratio) or "not
available" (QA / notes tables absent). Calls with a wait, talk or hold time that
was not observed are counted in their own columns ("... unknown, left out"),
never as 0 in a sum or an average.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from callcenter.metrics import LEFT_OUT, AgentFigures, CallFigures
from callcenter.reports.build import AgentRow, Report, ReportFilter
from callcenter.web.i18n import Gettext
from callcenter.web.sheets import Seconds, seconds, workbook
from callcenter.web.words import labeller

Cell = str | int | float | None
Kind = Literal["count", "percent", "seconds", "text"]
FORMATS = ("csv", "xlsx")


def english(msgid: str, **params: Any) -> str:
    """The English text of ``msgid`` (the msgids are English)."""
    return msgid % params if params else msgid


@dataclass(frozen=True)
class Column:
    """A column: its header (a msgid, without the unit), the metric it shows (for the
    definition), its kind."""

    label: str
    metric: str
    kind: Kind

    def heading(self, _: Gettext, *, timed: bool = False) -> str:
        """The header in ``_``'s language; seconds say their unit unless ``timed``."""
        name = _(self.label)
        return _("%(name)s s", name=name) if self.kind == "seconds" and not timed else name


@dataclass(frozen=True)
class Table:
    """A table of cells: ``name`` its key (English), ``title`` and ``headings`` as shown."""

    name: str
    title: str
    columns: list[Column]
    headings: list[str]
    rows: list[list[Cell]]


def pct(value: float | None) -> float | None:
    """A 0..1 ratio as a percentage with one decimal (None stays None)."""
    return None if value is None else round(value * 100, 1)


def secs(value: float | None) -> Seconds | None:
    """Seconds with one decimal (None stays None)."""
    return seconds(value)


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
    (Column("ASA", "asa", "seconds"), lambda f, r: secs(f.asa_s)),
    (Column("longest wait", "longest_wait", "seconds"), lambda f, r: secs(f.wait_s_max)),
    (Column("talk + hold per call", "talk", "seconds"), lambda f, r: secs(f.aht_s())),
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
    (Column("talk", "talk", "seconds"), lambda a: secs(a.figures.talk_s)),
    (Column("AHT", "aht", "seconds"), lambda a: secs(a.figures.aht_s)),
    (Column("talk unknown (left out)", "unknown", "count"), lambda a: a.figures.talk_unknown),
    (Column("three-ring rate %", "three_ring_rate", "percent"),
     lambda a: pct(a.figures.three_ring_rate)),
    (Column("missed rings", "missed_rings", "count"), lambda a: a.figures.ring_no_answer),
    (Column("violations", "violations", "count"), lambda a: a.figures.violations),
    (Column("available", "available_time", "seconds"), lambda a: secs(a.figures.available_s)),
    (Column("on call", "occupancy", "seconds"), lambda a: secs(a.figures.on_call_s)),
    (Column("wrap-up", "aht", "seconds"), lambda a: secs(a.figures.wrap_up_s)),
    (Column("occupancy %", "occupancy", "percent"), lambda a: pct(a.figures.occupancy)),
    (Column("paused", "pause_time", "seconds"), lambda a: secs(_paused(a.figures))),
    (Column("QA average", "qa_average", "count"),
     lambda a: None if a.qa_average is None else round(a.qa_average, 1)),
    (Column("QA reviews", "qa_average", "count"), lambda a: a.qa_reviews),
    (Column("notes completeness %", "notes_completeness", "percent"),
     lambda a: pct(a.notes.notes_completeness) if a.notes else None),
    (Column("complaints", "complaints", "count"),
     lambda a: a.notes.complaints if a.notes else None),
    (Column("complaint rate %", "complaint_rate", "percent"),
     lambda a: pct(a.complaint_rate)),
    (Column("response time", "response_time", "seconds"), lambda a: secs(a.response_time_s)),
]


def left_out(fig: CallFigures) -> list[tuple[str, int]]:
    """(note, calls) for each kind of unknown time that ``fig`` leaves out (none: [])."""
    counts = {"wait": fig.wait_unknown, "talk": fig.talk_unknown, "hold": fig.hold_unknown}
    return [(LEFT_OUT[k], n) for k, n in counts.items() if n]


def filter_text(flt: ReportFilter, _: Gettext) -> str:
    """The filter in words ('' when unfiltered): the queue, the agents."""
    parts = [_("queue %(queue)s", queue=flt.queue)] if flt.queue else []
    if flt.agents:
        parts.append(_("agent %(agents)s", agents=" ".join(flt.agents)))
    return _(", ").join(parts)


def _table(name: str, columns: list[Column], rows: list[list[Cell]], _: Gettext,
           timed: bool) -> Table:
    return Table(name, _(name), columns, [c.heading(_, timed=timed) for c in columns], rows)


def summary(report: Report, _: Gettext = english, *, timed: bool = False) -> Table:
    """The period's headline figures, one per row, with the metric's name."""
    t, notes, label = report.total, report.notes, labeller(_)
    aht = Column("AHT" if report.wrap_up_s is not None else "AHT (talk + hold, no wrap-up)",
                 "aht", "seconds")
    rows: list[tuple[Column, Cell]] = [
        (Column("period", "", "text"), report.period.label),
        (Column("filter", "", "text"), filter_text(report.filter, _) or _("all calls")),
        *[(c, fn(t, report)) for c, fn in CALL_COLUMNS if c.metric != "talk"],
        (aht, secs(report.aht_s)),
        *[(Column(f"outbound {k}", "outbound", "count"), n) for k, n in sorted(t.outbound.items())],
        (Column("notes completeness %", "notes_completeness", "percent"),
         pct(notes.notes_completeness) if notes else None),
        (Column("complaint rate %", "complaint_rate", "percent"), pct(report.complaint_rate)),
        (Column("response time", "response_time", "seconds"), secs(report.response_time_s)),
    ]

    def heading(c: Column) -> str:
        if c.label.startswith("outbound "):
            return _("outbound: %(result)s", result=label("disposition", c.label[9:]))
        return c.heading(_, timed=timed)

    return Table("summary", _("summary"), [Column("metric", "", "text"),
                                           Column("value", "", "text")],
                 [_("metric"), _("value")], [[heading(c), value] for c, value in rows])


def tables(report: Report, _: Gettext = english, *, timed: bool = False) -> list[Table]:
    """Summary, by day, by hour of day, per agent (with a column per pause reason);
    ``timed``: headers for time-typed durations (XLSX)."""
    cols = [c for c, _fn in CALL_COLUMNS]
    label = labeller(_)
    by_day = _table("by day", [Column("day", "", "text"), *cols],
                    [[d.isoformat(), *[fn(f, report) for _c, fn in CALL_COLUMNS]]
                     for d, f in report.by_day.items()], _, timed)
    by_hour = _table("by hour", [Column("hour", "", "text"), *cols],
                     [[f"{h:02d}:00", *[fn(f, report) for _c, fn in CALL_COLUMNS]]
                      for h, f in report.by_hour.items()], _, timed)
    reasons = sorted({r for a in report.agents for r in a.figures.paused_s})
    pause_cols = [Column(_("paused: %(reason)s", reason=label("pause_reason", r or "")),
                         "pause_time", "seconds") for r in reasons]
    agents = _table(
        "agents", [c for c, _fn in AGENT_COLUMNS] + pause_cols,
        [[fn(a) for _c, fn in AGENT_COLUMNS]
         + [secs(a.figures.paused_s.get(r, 0.0)) for r in reasons] for a in report.agents],
        _, timed)
    return [summary(report, _, timed=timed), by_day, by_hour, agents]


def to_csv(report: Report, _: Gettext = english, extra: Sequence[Table] = ()) -> str:
    """Every table (then ``extra``), each after a line with its title and followed by a
    blank line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for table in [*tables(report, _), *extra]:
        writer.writerow([f"# {table.title}"])
        writer.writerow(table.headings)
        writer.writerows([["" if v is None else v for v in row] for row in table.rows])
        writer.writerow([])
    return out.getvalue()


def to_xlsx(report: Report, _: Gettext = english, extra: Sequence[Table] = ()) -> bytes:
    """An XLSX workbook with one sheet per table, then ``extra`` (bold header row, frozen
    first column, durations as times)."""
    return workbook([(t.title, [t.headings, *t.rows])
                     for t in [*tables(report, _, timed=True), *extra]], freeze="B2")


def write(report: Report, fmt: str, path: str | Path, _: Gettext = english) -> None:
    """Write the report as ``fmt`` (csv | xlsx) to ``path``."""
    data: Any = to_xlsx(report, _) if fmt == "xlsx" else to_csv(report, _).encode("utf-8-sig")
    Path(path).write_bytes(data)
