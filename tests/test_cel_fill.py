"""Outages completed from CEL (pure): every real3 capture, cut, with the cut part given as
the CEL rows Asterisk itself wrote (``.cel.csv``), yields the capture's expected calls."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from callcenter.ingest.cel.rows import CelRow, CelRowError
from callcenter.ingest.cel.translate import frames_from_cel
from tests.support.cel_fill import (
    cel_rows,
    cut_and_fill,
    ended_calls,
    scenario,
    shutdown_of,
)
from tests.support.expected import TRACES, check_calls, expected_calls

REAL3 = sorted((TRACES / "real3").glob("*.expected.json"))
CUTS = [(0.0, 1.0), (0.1, 0.4), (0.3, 0.7), (0.45, 0.55), (0.6, 0.95), (0.2, 1.0)]


@pytest.mark.parametrize("expected", REAL3, ids=scenario)
def test_cel_alone_gives_the_captures_calls(expected: Path) -> None:
    rows = cel_rows(expected)
    frames = frames_from_cel(rows, shutdown_at=shutdown_of(expected, rows))
    check_calls(ended_calls(("frame", f, t) for f, t in frames), expected_calls(expected))


@pytest.mark.parametrize("cut", CUTS, ids=lambda c: f"{c[0]:.2f}-{c[1]:.2f}")
@pytest.mark.parametrize("expected", REAL3, ids=scenario)
async def test_capture_cut_and_filled_from_cel_gives_its_calls(expected: Path,
                                                                cut: tuple[float, float]) -> None:
    check_calls(await cut_and_fill(expected, *cut), expected_calls(expected))


def test_rows_outside_the_window_only_teach_and_are_not_replayed() -> None:
    """The translator uses the rows before the window (who rang whom) without emitting them."""
    expected = TRACES / "real3" / "b_first_agent_no_answer.expected.json"
    rows = cel_rows(expected)
    answer = next(r for r in rows if r.eventtype == "ANSWER" and "agent1001" in r.channame)
    frames = frames_from_cel(rows, since=answer.eventtime.replace(microsecond=0))
    assert {f["Event"] for f, _ in frames} >= {"DialEnd", "Hangup"}
    assert "AgentCalled" not in {f["Event"] for f, _ in frames}
    [answered] = [f for f, _ in frames if f["Event"] == "DialEnd"]
    assert answered["DialStatus"] == "ANSWER" and answered["Channel"] == "PJSIP/trunk-00000004"


def test_a_restart_is_told_by_the_shutdown_time_not_by_cause_zero_alone() -> None:
    """Without knowing that the PBX went away, cause-0 hang-ups are ordinary ones."""
    expected = TRACES / "real3" / "j_core_restart.expected.json"
    rows = cel_rows(expected)
    plain = ended_calls(("frame", f, t) for f, t in frames_from_cel(rows))
    assert {c["disposition"] for c in plain} != {"failed"}
    shut = ended_calls(("frame", f, t) for f, t in frames_from_cel(rows, shutdown_at=max(
        r.eventtime for r in rows)))
    assert {c["disposition"] for c in shut} == {"failed"}
    assert all(c["incomplete_reason"] for c in shut)


@pytest.mark.parametrize("row", [
    {"id": "1", "eventtype": "", "eventtime": "2026-12-07 00:00:00"},
    {"id": "1", "eventtype": "HANGUP", "eventtime": "yesterday"},
    {"id": "1", "eventtype": "HANGUP", "eventtime": None},
])
def test_unreadable_cel_rows_are_refused_with_a_reason(row: dict[str, Any]) -> None:
    with pytest.raises(CelRowError):
        CelRow.from_mapping(row)


def test_odd_extra_is_read_as_empty() -> None:
    row = CelRow.from_mapping({"id": "7", "eventtype": "HANGUP",
                               "eventtime": "2026-12-07 00:00:00.5", "extra": "{not json"})
    assert row.extra == {} and row.eventtime.tzinfo is UTC
