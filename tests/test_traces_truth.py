"""Every real Asterisk capture with calls, replayed through the production pipeline into
PostgreSQL and read back, agrees with its ``.truth.json``: what really happened, taken
from the SIP messages (not from AMI). ``test_ingest_traces`` checks the normalised
``.expected.json``; this checks the raw truth itself, so a slip in that normalisation
cannot hide a wrong call. Times match to ±1 s, as the traces' README says."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.cli.calls_cmd import call_json
from callcenter.store.calls import CallRepository
from tests.support.expected import TRACES
from tests.support.ingest import store_capture

TRUTHS = sorted(p for d in ("real", "real2") for p in (TRACES / d).glob("*.truth.json")
                if json.loads(p.read_text(encoding="utf-8")).get("calls"))
HANGUP = {"customer": "caller"}
"""Who hung up, in the truth's words → ours; "pbx" is the agent's side when answered, the
PBX itself (a queue timeout) when not."""
PSTN = {"486": "busy", "487": "no_answer"}
"""An outbound call's final SIP response from the outside party → its disposition."""


def close(got: float | None, want: float | None) -> bool:
    return got is not None and want is not None and abs(got - want) <= 1.0


def at(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def base(path: str | None) -> str | None:
    return path.rsplit("/", 1)[-1] if path else None


def check_inbound(got: dict[str, Any], truth: dict[str, Any]) -> None:
    answered = truth["answered_by"]
    assert got["direction"] == "inbound" and got["caller"] == truth["caller_number"]
    assert got["agent"] == answered
    assert close(at(got["started_at"]), truth["invite_t"])
    assert close(at(got["ended_at"]), truth["call_end_t"])
    said = truth["hangup_by"]
    assert got["hangup_by"] == HANGUP.get(said, "agent" if answered else "system")
    if answered:
        assert got["disposition"] == "answered" and close(got["wait_s"], truth["queue_wait_s"])
        first = next(a for a in truth["agents_rung"] if a["agent"] == answered)
        assert close(got["talk_s"], first["talk_s"])  # the answering agent's talk
    else:
        assert got["disposition"] == ("abandoned" if said == "customer" else "timeout")
        assert got["talk_s"] is None
    stored = [(r["agent"], r["ring_s"], r["outcome"]) for r in got["ring_attempts"]]
    for rung in truth["agents_rung"]:  # every ring the phones saw, as long as they rang
        assert any(agent == rung["agent"] and close(ring_s, rung["ring_s"])
                   and (outcome == "answered") == rung["answered"]
                   for agent, ring_s, outcome in stored), (rung, stored)


def check_outbound(got: dict[str, Any], truth: dict[str, Any]) -> None:
    assert got["direction"] == "outbound" and got["agent"] == truth["agent"]
    assert got["callee"] == truth["dialed"].removeprefix("sip:").split("@")[0]
    final = truth.get("pstn_final_response")
    if final:
        assert got["disposition"] == PSTN[final.split()[1]] and got["talk_s"] is None
    else:
        assert got["disposition"] == "answered" and close(got["talk_s"], truth["talk_s"])


@pytest.mark.parametrize("truth_file", TRUTHS, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_stored_calls_agree_with_the_sip_truth(pool: asyncpg.Pool, truth_file: Path,
                                                    tmp_path: Path) -> None:
    truth = json.loads(truth_file.read_text(encoding="utf-8"))["calls"]
    capture = truth_file.with_name(truth_file.name.replace(".truth.json", ".jsonl"))
    await store_capture(pool, capture, tmp_path)
    stored = {c.linkedid: call_json(c) for c in await CallRepository(pool).list_calls(limit=None)}
    assert len(stored) == len(truth)  # one call per customer call, none made up
    for call in truth:
        got = stored[call["uniqueid"]]
        (check_outbound if call.get("direction") == "outbound" else check_inbound)(got, call)
        recording = base((call.get("recording") or {}).get("file"))
        if recording is not None:
            assert recording in got["recordings"]
