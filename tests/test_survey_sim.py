"""The post-call survey on the simulator: the same events as real Asterisk (real3/survey),
and through the daemon into PostgreSQL (scores stored, /metrics counters)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, generate_latest

from callcenter.asterisk_conf import parse_conf
from callcenter.health import DaemonCollector
from callcenter.ingest.daemon import Daemon
from callcenter.settings import AmiServer, DatabaseSettings, Settings
from callcenter.sim import AgentScript, PBXSimulator, SimConfig, SurveyReply
from callcenter.sim.model import SurveyConfig
from tests.support.tracker import track
from tests.support.wait import until

TRACES = Path(__file__).parent / "traces" / "real3"
SHIPPED = Path(__file__).resolve().parents[1] / "dialplan"
INTERESTING = {"AgentComplete", "VarSet", "Newexten", "DTMFBegin", "DTMFEnd", "UserEvent",
               "Hangup"}
AGENTS = ("agent1001", "agent1002", "agent1003")


def shipped_read() -> str:
    """The read classes of the daemon's AMI user in the shipped manager.conf."""
    conf = parse_conf(SHIPPED / "manager.conf")
    user = conf.first("callcenter")
    assert user is not None
    setting = conf.get(user, "read")
    assert setting is not None
    return setting.value


def surveyed() -> SimConfig:
    config = SimConfig.default()
    config.survey = SurveyConfig(frozenset({"support"}))
    return config


def after_talk(frames: Iterable[dict[str, Any]], channel: str) -> list[tuple[str, ...]]:
    """What the caller's channel did from AgentComplete on, as the survey shows it."""
    out: list[tuple[str, ...]] = []
    for f in frames:
        if f.get("Channel") != channel or f.get("Event") not in INTERESTING:
            continue
        event = f["Event"]
        if event == "AgentComplete":
            out = [(event, f["Reason"])]
        elif not out:
            continue
        elif event == "VarSet" and f["Variable"] in ("QUEUESTATUS", "SCORE", "READSTATUS"):
            out.append((event, f["Variable"], f["Value"]))
        elif event == "Newexten" and f["Application"] in ("Read", "UserEvent"):
            out.append((event, f["Application"]))
        elif event in ("DTMFBegin", "DTMFEnd"):
            out.append((event, f["Digit"]))
        elif event == "UserEvent":
            out.append((event, f["UserEvent"], f["Score"], f["Privilege"]))
        elif event == "Hangup":
            out.append((event,))
    return out


def capture_calls() -> tuple[list[list[tuple[str, ...]]], set[str]]:
    """real3/survey: each call's caller sequence, and the UserEvent's field names."""
    frames = [json.loads(line).get("frame") or {} for line in
              (TRACES / "survey.jsonl").read_text(encoding="utf-8").splitlines()]
    trunks = list(dict.fromkeys(f["Channel"] for f in frames if f.get("Event") == "Newchannel"
                                and f["Channel"].startswith("PJSIP/trunk")))
    fields = next(set(f) for f in frames if f.get("Event") == "UserEvent")
    return [after_talk(frames, ch) for ch in trunks], fields


async def play(sim: PBXSimulator, caller: str, hangup_by: str,
               reply: SurveyReply | None) -> str:
    """One support call answered after 2 s, 4 s of talk; the caller's channel name."""
    script = AgentScript(2.0, 4.0, hangup_by)
    handle = await sim.inbound_call(caller, "800", agents=dict.fromkeys(AGENTS, script),
                                    survey=reply)
    await asyncio.wait_for(handle.wait(), 30)
    return handle.channel


CALLS = [("13800000401", "agent", SurveyReply("4")),     # presses 4
         ("13800000402", "agent", SurveyReply()),        # presses nothing
         ("13800000403", "caller", SurveyReply("5")),    # hangs up first: never asked
         ("13800000404", "agent", SurveyReply(hang_up_s=1.0))]  # hangs up in the prompt
WANT = {"13800000401": (True, 4), "13800000402": (True, None),
        "13800000403": (False, None), "13800000404": (True, None)}
"""Per caller (offered, score): a caller hanging up in the prompt was asked, left no score."""


async def test_simulator_plays_the_survey_as_the_capture() -> None:
    want, capture_fields = capture_calls()
    async with PBXSimulator(speed=200, keep_events=True, config=surveyed()) as sim:
        channels = [await play(sim, *call) for call in CALLS[:3]]
        got = [after_talk(sim.events, ch) for ch in channels]
        fields = next(set(f) for f in sim.events if f.get("Event") == "UserEvent")
    assert got == want
    assert fields == capture_fields


async def test_tracker_on_the_simulator() -> None:
    from callcenter.calls.tracker import CallTracker

    async with PBXSimulator(speed=200, keep_events=True, config=surveyed()) as sim:
        for call in CALLS:
            await play(sim, *call)
        # a queue not surveyed: Queue(sales,t): the caller leaves with the agent
        await asyncio.wait_for((await sim.inbound_call(
            "13800000405", "801", agents=dict.fromkeys(AGENTS, AgentScript(2.0, 4.0)),
            survey=SurveyReply("5"))).wait(), 30)
        events = list(sim.events)
    tracker = CallTracker("sim")
    calls = track((("frame", e, float(e["Timestamp"])) for e in events), tracker)
    got = {c.caller: (c.survey_offered, c.survey_score) for c in calls}
    assert got == {**WANT, "13800000405": (False, None)}
    assert not [e for e in events if e.get("Event") == "Newexten" and e.get("Application")
                == "Read" and e.get("CallerIDNum") in ("13800000403", "13800000405")]


async def test_random_callers_answer_some_and_hang_up_some() -> None:
    config = surveyed()
    config.survey = SurveyConfig(frozenset({"support"}), answer_p=0.5, hang_up_p=0.25)
    async with PBXSimulator(speed=500, keep_events=True, config=config, seed=7) as sim:
        for n in range(24):
            await play(sim, f"1390000{n:04d}", "agent", None)
        events = list(sim.events)
    scores = [e["Score"] for e in events if e.get("Event") == "UserEvent"]
    hang_ups = [e for e in events if e.get("Event") == "VarSet"
                and e.get("Variable") == "READSTATUS" and e.get("Value") == "HANGUP"]
    assert len(scores) + len(hang_ups) == 24
    assert {s for s in scores if s} <= set("12345") and "" in scores and hang_ups
    assert len({s for s in scores if s}) >= 2


async def stored(pool: asyncpg.Pool, n: int) -> dict[str, tuple[bool, int | None]]:
    """The callers' surveys once ``n`` ended calls are stored."""
    async def ended() -> list[asyncpg.Record] | None:
        rows = await pool.fetch("SELECT caller, survey_offered, survey_score FROM calls"
                                " WHERE ended_at IS NOT NULL")
        return rows if len(rows) >= n else None

    rows = await until(ended, 30, every_s=0.1)
    return {r["caller"]: (r["survey_offered"], r["survey_score"]) for r in rows}


async def test_daemon_stores_scores_and_counts_them(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The shipped AMI user's read classes (with ``user``) bring the UserEvent to the daemon,
    which stores the scores; without ``user`` the surveys are seen to run (the Read, class
    dialplan) but no answer reaches it."""
    no_answers = {caller: (offered, None) for caller, (offered, _) in WANT.items()}
    for read, want in ((shipped_read(), WANT), ("call,agent,dialplan,system", no_answers)):
        await pool.execute("DELETE FROM calls")
        async with PBXSimulator(speed=200, config=surveyed(), read=read) as sim:
            settings = Settings(
                servers=[AmiServer(name="sim", port=sim.port, secret="secret")],
                database=DatabaseSettings(spool_dir=str(tmp_path / "spool"), batch_delay_s=0.01))
            daemon = Daemon(settings, pool, log_calls=False)
            await daemon.start()
            try:
                for call in CALLS:
                    await play(sim, *call)
                assert await stored(pool, len(CALLS)) == want
                registry = CollectorRegistry()
                registry.register(DaemonCollector(daemon))
                text = generate_latest(registry).decode()
            finally:
                await daemon.stop()
        answered = sum(score is not None for _, score in want.values())
        assert 'callcenter_surveys_offered_total{server="sim"} 3.0' in text
        assert f'callcenter_surveys_answered_total{{server="sim"}} {answered:.1f}' in text
        assert 'callcenter_surveys_invalid_total{server="sim"} 0.0' in text


def test_sim_cli_refuses_survey_shares_over_one(capsys: Any) -> None:
    from callcenter.cli import main

    assert main(["sim", "--survey-answer", "0.9", "--survey-hangup", "0.5"]) == 2
    assert "--survey-answer and --survey-hangup" in capsys.readouterr().err


async def test_surveyed_simulator_runs_the_shipped_dialplan() -> None:
    """Each step the simulator runs for a survey (DIDs 800 and 802, a queue timeout too) is
    the shipped dialplan's step of that context, extension and priority."""
    from tests.support.check_config import shipped_dialplan, steps_for

    dp = shipped_dialplan()
    config = surveyed()
    config.queues[0].max_wait = 5.0  # support: a caller nobody answers times out
    async with PBXSimulator(speed=200, keep_events=True, config=config) as sim:
        await play(sim, "13800000401", "agent", SurveyReply("5"))
        script = AgentScript(2.0, 4.0, "agent")
        await asyncio.wait_for((await sim.inbound_call(
            "13800000402", "802", agents=dict.fromkeys(AGENTS, script),
            survey=SurveyReply())).wait(), 30)
        await asyncio.wait_for((await sim.inbound_call(
            "13800000403", "800", agents=dict.fromkeys(AGENTS, AgentScript(None)))).wait(), 30)
        events = list(sim.events)
    ran = [e for e in events if e.get("Event") == "Newexten"
           and (e["Context"] == "cc-survey" or e["Application"] in ("Gosub", "Hangup"))]
    assert {(e["CallerIDNum"], e["Context"], e["Application"]) for e in ran} >= {
        ("13800000401", "cc-survey", "Read"), ("13800000402", "cc-survey", "UserEvent"),
        ("13800000403", "cc-survey", "GotoIf"), ("13800000403", "from-trunk", "Hangup")}
    for event in ran:
        step = next((s for s in steps_for(dp, event) if s.priority == int(event["Priority"])),
                    None)
        assert step is not None and step.app == event["Application"], event
