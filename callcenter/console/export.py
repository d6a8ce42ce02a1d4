"""Call search results as CSV or XLSX, with headers and values in the user's language."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from callcenter.store.call_search import CallRow
from callcenter.web.i18n import Gettext
from callcenter.web.sheets import seconds, workbook
from callcenter.web.words import labeller

Cell = str | int | float | None
HEADERS = ("Started", "Direction", "Caller", "Called number", "Queue", "Agent", "Disposition",
           "Wait (s)", "Talk (s)", "Hold (s)", "Violations", "Recordings", "QA reviewed",
           "Note categories", "Server", "Linkedid")
"""Column headers (English msgids)."""


def _secs(value: float | None, _: Gettext) -> Cell:
    return _("unknown") if value is None else seconds(value)


def cells(row: CallRow, _: Gettext, tz: str, mask: Callable[[str | None], str]) -> list[Cell]:
    """One row of the export: local time, translated words, numbers masked by ``mask``."""
    label = labeller(_)
    return [row.started_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S"),
            label("direction", row.direction), mask(row.caller), mask(row.callee),
            row.queue or "", row.agent or "", label("disposition", row.disposition), _secs(row.wait_s, _),
            _secs(row.talk_s, _), _secs(row.hold_s, _), row.violations, row.recordings,
            _("yes") if row.reviewed else _("no"),
            ", ".join(_(c) for c in row.categories), row.server, row.linkedid]


def to_csv(rows: Iterable[list[Cell]], _: Gettext) -> bytes:
    """UTF-8 CSV with a BOM (so that spreadsheet programs read Chinese right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_(h) for h in HEADERS])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: Iterable[list[Cell]], _: Gettext) -> bytes:
    """A one-sheet workbook (waits and talk times as ``[h]:mm:ss`` times)."""
    return workbook([(_("Calls"), [[_(h.removesuffix(" (s)")) for h in HEADERS], *rows])])
