"""Comparing stored or tracked calls with a capture's ``.expected.json`` (its SIP truth)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRACES = Path(__file__).resolve().parents[1] / "traces"


def expected_calls(expected: Path) -> list[dict[str, Any]]:
    """The ``expected.calls`` of a capture's ``.expected.json``."""
    calls: list[dict[str, Any]] = json.loads(expected.read_text())["expected"]["calls"]
    return calls


def near(a: float | None, b: float | None) -> bool:
    """Equal within the captures' ±1 s (SIP times against AMI times)."""
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1.0)


def check_call(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Assert that ``got`` (``calls --json`` shape) is the expected call ``want``."""
    for key in ("direction", "disposition", "queue", "hangup_by", "caller", "callee"):
        assert got[key] == want[key], key
    if want["direction"] == "inbound":
        assert got["agent"] == want["answered_by"]
    else:
        assert (got["agent"] or "").endswith(want["caller"])
    assert near(got["wait_s"], want["wait_s"]), ("wait_s", got["wait_s"], want["wait_s"])
    assert near(got["talk_s"], want["talk_s"]), ("talk_s", got["talk_s"], want["talk_s"])
    ras = got["ring_attempts"]
    assert [(r["agent"], r["outcome"]) for r in ras] == [
        (r["agent"], r["outcome"]) for r in want["ring_attempts"]]
    for r, w in zip(ras, want["ring_attempts"], strict=True):
        assert near(r["ring_s"], w["ring_s"]), ("ring_s", r, w)
        assert isinstance(r["rings"], int) and r["rings"] >= 1
    assert got["transfers"] == want["transfers"]
    assert got["recordings"] == want["recordings"]


def check_calls(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """The customer calls of ``got`` (internal ones left out), in start order, are ``want``."""
    customer = sorted((c for c in got if c["direction"] != "internal"),
                      key=lambda c: c["started_at"])
    assert len(customer) == len(want), [(c["caller"], c["callee"]) for c in customer]
    for g, w in zip(customer, want, strict=True):
        check_call(g, w)
