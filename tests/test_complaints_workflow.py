"""The complaint state machine (pure): every (state, step, role) is allowed or refused with
a clear error; the overdue watch; the settings of complaints and KPIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callcenter.complaints import workflow
from callcenter.complaints.overdue import OverdueWatch
from callcenter.complaints.workflow import TransitionError, allowed, step
from callcenter.settings import SettingsError, load_settings

ROLES = ("agent", "supervisor", "admin", "qa")
# (state, step) -> the state after it, and who may take it; anything else is refused
ALLOWED = {
    (None, "register"): ("registered", {"agent", "supervisor", "admin"}),
    ("registered", "investigate"): ("investigating", {"supervisor", "admin"}),
    ("escalated", "investigate"): ("investigating", {"supervisor", "admin"}),
    ("investigating", "record"): ("investigating", {"supervisor", "admin"}),
    ("investigating", "answer"): ("answered", {"supervisor", "admin"}),
    ("answered", "satisfied"): ("closed", {"agent", "supervisor", "admin"}),
    ("answered", "not_satisfied"): ("escalated", {"agent", "supervisor", "admin"}),
    ("answered", "close"): ("closed", {"supervisor", "admin"}),
}


@pytest.mark.parametrize("state", [None, *workflow.STATES])
@pytest.mark.parametrize("action", workflow.ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_every_transition_is_allowed_or_refused_clearly(state: workflow.State | None,
                                                        action: str, role: str) -> None:
    target, roles = ALLOWED.get((state, action), (None, set()))
    if target is not None and role in roles:
        assert step(state, action, role) == target
        return
    with pytest.raises(TransitionError) as err:
        step(state, action, role)
    if target is None:  # not from this state, whoever asks
        assert str(err.value) == f"a complaint that is {state or 'new'} cannot be {action}"
        assert not err.value.role_refused
    else:
        assert str(err.value) == f"a {role} may not take the step {action}"
        assert err.value.role_refused


def test_an_unknown_step_is_named() -> None:
    with pytest.raises(TransitionError, match="'?reopen'? is not a complaint action"):
        step("answered", "reopen", "supervisor")


def test_allowed_lists_the_steps_of_a_role() -> None:
    assert allowed("answered", "agent") == ["satisfied", "not_satisfied"]
    assert allowed("answered", "supervisor") == ["satisfied", "not_satisfied", "close"]
    assert allowed("escalated", "supervisor") == ["investigate"]
    assert allowed("closed", "admin") == [] and allowed("registered", "qa") == []


def test_a_reopened_complaint_goes_round_again() -> None:
    state: workflow.State = "registered"
    path = ["investigate", "answer", "not_satisfied", "investigate", "record", "answer",
            "satisfied"]
    seen = []
    for action in path:
        state = step(state, action, "supervisor")
        seen.append(state)
    assert seen == ["investigating", "answered", "escalated", "investigating", "investigating",
                    "answered", "closed"]


T = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_the_overdue_watch_judges_from_memory() -> None:
    watch = OverdueWatch()
    watch.load({1: T + timedelta(minutes=5), 2: T + timedelta(hours=1)}, T)
    assert watch.alerts(T) == [] and not watch.changed(T)
    late = T + timedelta(minutes=6)
    assert [a.complaint_id for a in watch.alerts(late)] == [1]
    assert watch.changed(late) and not watch.changed(late)  # told once
    watch.set(1, None)  # answered
    assert watch.alerts(late) == [] and watch.changed(late)
    watch.load_failed(late)
    watch.load_failed(late + timedelta(minutes=1))
    assert watch.failing_since == late  # since the first failure
    watch.set(3, T)  # registered in this process, already due
    assert [a.complaint_id for a in watch.alerts(late)] == [3]


@pytest.mark.parametrize(("text", "needle"), [
    ('[complaints]\nreasons = []\n', "complaints.reasons"),
    ('[complaints]\nreasons = ["a", "a"]\n', "unique"),
    ('[complaints]\nreasons = [" "]\n', "complaints.reasons"),
    ('[complaints]\noverdue_refresh_s = 0\n', "complaints.overdue_refresh_s"),
    ('[kpi.departments]\nsales = ["agent1"]\ncare = ["agent1"]\n', "two departments"),
    ('[kpi]\nqa_pass_total = 101\n', "kpi.qa_pass_total"),
    ('[kpi]\nsatisfied_min_score = 6\n', "kpi.satisfied_min_score"),
])
def test_bad_complaint_and_kpi_settings_name_the_key(tmp_path: Path, text: str,
                                                     needle: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, env={})
    assert needle in str(err.value)


def test_departments_map_agents(tmp_path: Path) -> None:
    cfg = tmp_path / "ok.toml"
    cfg.write_text('[kpi.departments]\nsales = ["agent1001"]\ncare = ["agent1002", "agent1003"]\n'
                   '[complaints]\nreasons = ["rude", "late"]\n')
    s = load_settings(cfg, env={})
    assert s.kpi.department_of() == {"agent1001": "sales", "agent1002": "care",
                                     "agent1003": "care"}
    assert s.complaints.reasons == ["rude", "late"]
