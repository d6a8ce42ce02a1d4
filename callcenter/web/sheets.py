"""Spreadsheet cells shared by every export: typed durations, widths that fit, one writer.

A duration is a ``Seconds`` (a float subclass): a plain number of seconds in
CSV, JSON and on a page, and a time value with the ``[h]:mm:ss`` number format
in XLSX. Column widths fit the header and the cells, a CJK (wide) character
counting as two.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

DURATION_FORMAT = "[h]:mm:ss"
MIN_WIDTH = 8
MAX_WIDTH = 60
WIDTH_SAMPLE = 2000
"""Rows a column's width is measured over (an export may hold many thousands)."""


class Seconds(float):
    """A duration in seconds (written as a time in XLSX, as a number elsewhere)."""

    __slots__ = ()


def seconds(value: float | None, ndigits: int = 1) -> Seconds | None:
    """``value`` rounded to ``ndigits`` as a ``Seconds`` (None stays None)."""
    return None if value is None else Seconds(round(value, ndigits))


def text_width(value: Any) -> int:
    """How many columns ``value`` takes when shown: wide (CJK) characters count two."""
    if value is None:
        return 0
    if isinstance(value, Seconds):
        return len("000:00:00")
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def column_widths(rows: Sequence[Sequence[Any]]) -> list[int]:
    """The width of each column of ``rows`` (the header first), within MIN/MAX_WIDTH."""
    widths: list[int] = []
    for row in rows[:WIDTH_SAMPLE]:
        for i, value in enumerate(row):
            if i == len(widths):
                widths.append(MIN_WIDTH)
            widths[i] = max(widths[i], min(MAX_WIDTH, text_width(value) + 2))
    return widths


def workbook(sheets: Iterable[tuple[str, Sequence[Sequence[Any]]]], *,
             freeze: str = "A2") -> bytes:
    """An XLSX workbook: per (title, rows) a sheet whose first row is a bold header.

    ``Seconds`` cells become time values shown as ``[h]:mm:ss``; None an empty cell.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, rows in sheets:
        ws = book.create_sheet(_sheet_title(title))
        for i, width in enumerate(column_widths(rows), start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = freeze
        for n, row in enumerate(rows):
            cells = []
            for value in row:
                cell = WriteOnlyCell(ws, value=_xlsx_value(value))
                if n == 0:
                    cell.font = bold
                elif isinstance(value, Seconds):
                    cell.number_format = DURATION_FORMAT
                cells.append(cell)
            ws.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Seconds):
        return timedelta(seconds=float(value))
    return value


def _sheet_title(title: str) -> str:
    """A valid sheet title (at most 31 characters, none of ``[]:*?/\\``)."""
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in title)[:31] or "Sheet"
