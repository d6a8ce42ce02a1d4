"""The post-call survey in the tracker and the store: real3/survey replayed, hostile scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest
from structlog.testing import capture_logs

from callcenter.calls.replay import record_to_json
from callcenter.calls.tracker import CallTracker
from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.journal_policy import is_journaled
from callcenter.ingest.pipeline_replay import read_capture, rebuild
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from tests.support.ingest import store_capture
from tests.support.tracker import replay, track

CAPTURE = Path(__file__).parent / "traces" / "real3" / "survey.jsonl"
WANT = {"13800000401": (True, 4), "13800000402": (True, None), "13800000403": (False, None)}
"""Per caller: (offered, score). 401 pressed 4, 402 pressed nothing, 403 hung up first."""


def survey_of(calls: list[dict[str, Any]]) -> dict[str, tuple[bool, int | None]]:
    return {c["caller"]: (c["survey_offered"], c["survey_score"]) for c in calls}


def test_capture_scores_attach_to_their_calls() -> None:
    tracker = CallTracker("pbx4")
    calls = replay("real3/survey", tracker)
    assert survey_of(calls) == WANT
    assert [c["hangup_by"] for c in calls] == ["agent", "agent", "caller"]
    assert (tracker.surveys.offered, tracker.surveys.answered, tracker.surveys.invalid) == (2, 1, 0)


def test_journal_keeps_the_survey_event() -> None:
    frames = [body for kind, body, _ in read_capture(CAPTURE)
              if kind == "frame" and body.get("Event") == "UserEvent"]
    assert len(frames) == 2 and all(is_journaled(f) for f in frames)


def _with_score(value: Any) -> list[Any]:
    """real3/survey with call 1's Score replaced by ``value`` (a list: a repeated header)."""
    out = []
    for kind, body, t in read_capture(CAPTURE):
        if kind == "frame" and body.get("Event") == "UserEvent" and body.get("Score") == "4":
            body = {**body, "Score": value}
        out.append((kind, body, t))
    return out


@pytest.mark.parametrize("value", ["7", "0", "x", "４", "-1", "4 5", ["1", "9"], None])
def test_hostile_score_is_offered_without_score(value: Any) -> None:
    tracker = CallTracker("pbx4")
    with capture_logs() as logs:
        calls = [record_to_json(c) for c in track(_with_score(value), tracker)]
    assert survey_of([c for c in calls if c["direction"] == "inbound"]) == {
        **WANT, "13800000401": (True, None)}
    invalid = 0 if value is None else 1
    assert tracker.surveys.invalid == invalid
    assert [e["linkedid"] for e in logs if e["event"] == "survey_score_invalid"] == (
        ["pbx4-1796602166.92"] * invalid)


def test_other_user_events_and_repeats_are_ignored() -> None:
    items = list(read_capture(CAPTURE))
    extra = []
    for kind, body, t in items:
        extra.append((kind, body, t))
        if kind == "frame" and body.get("Event") == "UserEvent":
            extra.append((kind, {**body, "UserEvent": "Other", "Score": "1"}, t))
            extra.append((kind, {**body, "Score": "2"}, t))  # the dialplan ran it twice
    tracker = CallTracker("pbx4")
    calls = [record_to_json(c) for c in track(extra, tracker)]
    assert survey_of([c for c in calls if c["direction"] == "inbound"]) == WANT
    assert tracker.surveys.offered == 2


async def test_store_and_rebuild_keep_the_scores(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await store_capture(pool, CAPTURE, tmp_path)

    async def stored() -> dict[str, tuple[bool, int | None]]:
        rows = await pool.fetch("SELECT caller, survey_offered, survey_score FROM calls"
                                " WHERE direction = 'inbound'")
        return {r["caller"]: (r["survey_offered"], r["survey_score"]) for r in rows}

    assert await stored() == WANT
    calls = await CallRepository(pool).list_calls(limit=None)
    assert {c.caller: (c.survey_offered, c.survey_score) for c in calls
            if c.direction == "inbound"} == WANT
    await pool.execute("UPDATE calls SET survey_offered = false, survey_score = NULL")
    await rebuild(pool, lambda server: make_tracker(server, Settings()))
    assert await stored() == WANT


def test_cel_alone_gives_the_scores() -> None:
    """An AMI outage over the survey: CEL's APP_START of Read and UserEvent (cel.conf apps
    read,userevent) carry it; its own 'Linkedid:' header does not override the row's."""
    from callcenter.ingest.cel.rows import read_cel_csv
    from callcenter.ingest.cel.translate import frames_from_cel

    rows = list(read_cel_csv(CAPTURE.with_name("survey.cel.csv")))
    frames = frames_from_cel(rows)
    events = [f for f, _ in frames if f["Event"] == "UserEvent"]
    assert [(e["UserEvent"], e["Score"], e["Linkedid"]) for e in events] == [
        ("Survey", "4", "pbx4-1796602166.92"), ("Survey", "", "pbx4-1796602177.94")]
    calls = [record_to_json(c) for c in track((("frame", f, t) for f, t in frames),
                                                CallTracker("pbx4"))]
    assert survey_of([c for c in calls if c["direction"] == "inbound"]) == WANT


@pytest.mark.parametrize("cut", [(0.0, 1.0), (0.3, 0.7), (0.5, 0.6), (0.55, 0.9)])
async def test_outage_over_the_survey_is_filled_from_cel(cut: tuple[float, float]) -> None:
    from tests.support.cel_fill import cut_and_fill

    calls = await cut_and_fill(CAPTURE.with_name("survey.expected.json"), *cut)
    assert survey_of([c for c in calls if c["direction"] == "inbound"]) == WANT
