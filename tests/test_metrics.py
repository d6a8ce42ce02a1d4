"""The metrics on hand-built calls; every expected value is worked out by hand."""

from __future__ import annotations

import pytest

from callcenter.kpis import (
    CENTRE,
    DEFINITIONS,
    AgentFigures,
    NotedCall,
    ServiceLevelRules,
    agent_call_figures,
    agent_time_figures,
    call_figures,
    note_figures,
)
from callcenter.settings import Settings
from tests.support.metrics import MS, T0, at, sample, state


def test_every_metric_has_both_languages() -> None:
    assert all(set(d) == {"en", "zh"} and all(d.values()) for d in DEFINITIONS.values())
    for name in ("offered", "answered", "service_level", "asa", "aht", "three_ring_rate",
                 "occupancy", "notes_completeness", "transfer_rate"):
        assert name in DEFINITIONS


def test_metric_settings_from_settings() -> None:
    s = Settings.model_validate({"web": {"service_level_s": 30, "short_abandon_s": 2,
                                         "service_level_denominator": "answered"}})
    assert ServiceLevelRules.from_settings(s) == ServiceLevelRules(30, "answered", 2)


def test_call_figures_by_hand() -> None:
    f = call_figures(sample(), MS, now=at(160))
    assert f.offered == 10                       # c1..c10
    assert f.answered == 5                       # c1..c5 (c5 still talking)
    assert f.handled == 4                        # c5 is open: no talk time yet
    assert f.waiting == 1                        # c6
    assert (f.short_abandoned, f.abandoned) == (1, 1)   # c7 3 s < 5 s; c8 5 s is not short
    assert f.timeouts == 1                       # c9 (c10 no_agents is neither)
    assert f.answered_in_sl == 4                 # waits 5, 20, 12, 8 (30 is late)
    assert f.answer_wait_s == 5 + 20 + 12 + 30 + 8
    assert f.asa_s == 75 / 5
    assert f.wait_s_max == 300                   # c9; c6 waits only 60 s at now
    assert f.talk_s == 60 + 120 + 100 + 60
    assert f.hold_s == 10
    assert f.aht_s() == 340 / 4
    assert f.aht_s(wrap_up_s=60) == 400 / 4
    # service level: decided = 10 offered - 1 waiting = 9
    assert f.service_level("offered") == 4 / 9
    assert f.service_level("answered") == 4 / 5
    assert f.service_level("offered_minus_short") == 4 / 8
    # answered ring attempts with a known rule result: c1, c2 (20 s: late), c3 (a1, a2),
    # c4 (a2 after 30 s: late), c5
    assert (f.ring_answered, f.ring_answered_within) == (6, 4)
    assert f.three_ring_rate == 4 / 6
    assert f.ring_no_answer == 1 and f.violations == 1
    assert f.transfer_rate == 1 / 5
    assert f.outbound == {"answered": 1}


def test_open_call_waiting_counts_up_to_now() -> None:
    f = call_figures(sample()[5:6], MS, now=at(500))
    assert (f.offered, f.waiting, f.wait_s_max) == (1, 1, 400)
    assert f.service_level("offered") is None    # nothing decided yet


def test_figures_add_up() -> None:
    calls = sample()
    a = call_figures(calls[:5], MS, at(160))
    b = call_figures(calls[5:], MS, at(160))
    assert (a + b).as_dict() == call_figures(calls, MS, at(160)).as_dict()


def test_agent_call_figures_split_talk_at_transfer() -> None:
    figs = agent_call_figures(sample())
    a1, a2 = figs["a1"], figs["a2"]
    # a1 answered c1 (60), c2 (120), c3 until the transfer at 54 (54 - 14 = 40), c5 (open: 0)
    assert a1.answered == 4 and a1.talk_s == 60 + 120 + 40
    assert (a1.ring_no_answer, a1.violations) == (1, 1)     # c4
    assert (a1.outbound, a1.outbound_talk_s) == (1, 60)
    # a2 took c3 at 57 until its end at 114 (57 s) and answered c4 late (60 s talk)
    assert a2.answered == 2 and a2.talk_s == 57 + 60
    assert (a2.ring_answered, a2.ring_answered_within) == (2, 1)


def test_agent_time_clipped_to_period() -> None:
    before = {"a1": state("a1", -3600, "available")}
    history = [state("a1", 100, "ringing"), state("a1", 110, "on_call"),
               state("a1", 170, "wrap_up"), state("a1", 200, "available"),
               state("a1", 300, "available", paused=True, reason="lunch"),
               state("a1", 900, "available"), state("a1", 1000, "logged_out", in_queue=False),
               state("a2", 500, "available", paused=True)]
    figs = agent_time_figures(history, at(0), at(1200), before)
    a1 = figs["a1"]
    # available from 0 (clipped) to 300 and 900..1000: 400 s
    assert a1.available_s == 400
    assert (a1.on_call_s, a1.wrap_up_s) == (60, 30)
    assert a1.paused_s == {"lunch": 600}
    assert a1.occupancy == 90 / 400
    assert figs["a2"].paused_s == {"": 700} and figs["a2"].occupancy is None


def test_agent_figures_add() -> None:
    a = AgentFigures(answered=1, paused_s={"lunch": 5})
    b = AgentFigures(answered=2, paused_s={"lunch": 1, "break": 2})
    assert (a + b).answered == 3 and (a + b).paused_s == {"lunch": 6, "break": 2}


@pytest.mark.parametrize("denominator", ["offered", "answered", "offered_minus_short"])
def test_empty_figures_have_no_ratios(denominator: str) -> None:
    f = call_figures([], MS, T0)
    assert f.service_level(denominator) is None  # type: ignore[arg-type]
    assert f.asa_s is None and f.aht_s() is None and f.three_ring_rate is None


def test_note_figures_by_hand() -> None:
    calls = sample()
    notes = [NotedCall("pbx", "c1", "a1", complaint=False),
             NotedCall("pbx", "c3", "a2", complaint=True),     # a2 took c3 after a1
             NotedCall("pbx", "c4", "a1", complaint=False),    # a1 missed c4: not its call
             NotedCall("pbx", "c7", "a1", complaint=True)]     # c7 was abandoned: ignored
    figs = note_figures(calls, notes)
    centre = figs[CENTRE]
    # answered c1..c5; with notes c1, c3, c4; a complaint on c3
    assert (centre.answered, centre.noted, centre.complaints) == (5, 3, 1)
    assert centre.notes_completeness == 3 / 5
    # a1 answered c1 c2 c3 c5 (own notes: c1), c3 has a complaint
    assert (figs["a1"].answered, figs["a1"].noted, figs["a1"].complaints) == (4, 1, 1)
    # a2 answered c3 and c4; own note on c3
    assert (figs["a2"].answered, figs["a2"].noted, figs["a2"].complaints) == (2, 1, 1)
