"""The overdue-complaint alert of the wallboard: deadlines kept in memory.

:class:`OverdueWatch` is pure (the clock is passed in): it holds the deadline of
every complaint still owing the customer an answer, read from the database every
``complaints.overdue_refresh_s`` and updated at once by the steps taken in this
process. Whether a complaint is overdue is judged from memory on every tick, so
an alert appears when the deadline passes (no page reload, no database work per
tick) and clears when the complaint is answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OverdueAlert:
    """A complaint past its deadline ``due_at`` (UTC) without an answer."""

    complaint_id: int
    due_at: datetime


class OverdueWatch:
    """Deadlines of the pending complaints; ``loaded_at`` None until first read."""

    def __init__(self) -> None:
        self.deadlines: dict[int, datetime] = {}
        self.loaded_at: datetime | None = None
        self.failing_since: datetime | None = None
        """Since when rereading the deadlines fails (the alerts may be stale)."""
        self._shown: tuple[int, ...] = ()

    def load(self, deadlines: Mapping[int, datetime], at: datetime) -> None:
        """Replace the deadlines with those read from the database at ``at``."""
        self.deadlines = dict(deadlines)
        self.loaded_at, self.failing_since = at, None

    def load_failed(self, at: datetime) -> None:
        """Rereading failed at ``at``: keep judging from the deadlines known."""
        self.failing_since = self.failing_since or at

    def set(self, complaint_id: int, due_at: datetime | None) -> None:
        """A step was taken: the complaint's deadline now (None: it owes no answer)."""
        if due_at is None:
            self.deadlines.pop(complaint_id, None)
        else:
            self.deadlines[complaint_id] = due_at

    def alerts(self, now: datetime) -> list[OverdueAlert]:
        """The complaints overdue at ``now``, the longest overdue first."""
        late = sorted((due, cid) for cid, due in self.deadlines.items() if due < now)
        return [OverdueAlert(cid, due) for due, cid in late]

    def changed(self, now: datetime) -> bool:
        """True when the overdue set differs from the one at the previous call."""
        shown = tuple(a.complaint_id for a in self.alerts(now))
        if shown == self._shown:
            return False
        self._shown = shown
        return True
