"""`callcenter check-config`: the shipped dialplan/ is clean, and each inconsistency the
command claims to catch is caught, with its file and line, on a mutated copy."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.ami.protocol import Frame
from callcenter.asterisk_conf import ConfInputError, parse_conf
from callcenter.cli import main
from callcenter.deploy.cel_table import CEL_COLUMNS
from callcenter.deploy.check import check_config, check_database
from callcenter.deploy.dialplan import (
    split_args,
)
from callcenter.deploy.findings import Finding
from callcenter.deploy.pbx_checks import queue_sections
from callcenter.ingest.journal_policy import is_journaled
from callcenter.settings import Settings
from callcenter.sim import AgentScript, PBXSimulator, SimConfig
from callcenter.sim.testing import SimClient
from tests.support.check_config import SHIPPED, line_of, mutate, shipped_dialplan, steps_for


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    target = tmp_path / "asterisk"
    shutil.copytree(SHIPPED, target)
    return target


def settings(**data: Any) -> Settings:
    return Settings.model_validate(data)


def test_shipped_dialplan_is_consistent_with_default_settings() -> None:
    assert check_config(SHIPPED, Settings()) == []


def test_cli_passes_on_shipped_dialplan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(SHIPPED)]) == 0
    assert "consistent" in capsys.readouterr().out


def test_write_all_is_dangerous_twice_on_one_line(
        conf_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mutate(conf_dir, "manager.conf", "write = call,agent,originate,reporting,config",
           "write = all")
    assert main(["check-config", str(conf_dir)]) == 1
    out = capsys.readouterr().out.splitlines()
    where = f"{conf_dir / 'manager.conf'}:{line_of(conf_dir, 'manager.conf', 'write = all')}:"
    dangerous = [line for line in out if line.startswith(where) and ": dangerous, " in line]
    assert [line.split(" write grants ")[1].split(":")[0] for line in dangerous] == [
        "command", "system"]


def test_the_daemon_sends_only_actions_the_shipped_user_may_send() -> None:
    """Every ``"Action": "X"`` in the package (the simulator aside) is a known action, and
    none needs ``command`` or ``system``: the least-privilege user of manager.conf runs it."""
    from callcenter.deploy.privileges import ACTION_CLASSES, WRITE_DANGEROUS

    package = SHIPPED.parent / "callcenter"
    sent = {m.group(1) for path in package.rglob("*.py") if "sim" not in path.parts
            for m in re.finditer(r'"Action": "(\w+)"', path.read_text(encoding="utf-8"))}
    session = {"Login", "Challenge", "Logoff"}
    assert sent - session <= ACTION_CLASSES.keys(), sent - session - ACTION_CLASSES.keys()
    assert "Command" not in sent
    for action in sent - session:
        classes = ACTION_CLASSES[action]
        assert not classes or set(classes) - WRITE_DANGEROUS.keys(), action


def test_config_class_may_go_when_the_daemon_reads_queues_conf(conf_dir: Path) -> None:
    mutate(conf_dir, "manager.conf", "reporting,config", "reporting")
    assert check_config(conf_dir, settings(ring={"queues_conf": "/etc/asterisk/queues.conf"})) == []


# (file, old, new, settings, file:line marker of the finding, words of its message)
CASES: dict[str, tuple[str, str, str, dict[str, Any], str, str]] = {
    "timestampevents missing": (
        "manager.conf", "timestampevents = yes", "", {}, "[general]", "timestampevents is not yes"),
    "timestampevents no": (
        "manager.conf", "timestampevents = yes", "timestampevents = no", {},
        "timestampevents = no", "timestampevents is not yes"),
    "AMI disabled": (
        "manager.conf", "enabled = yes", "enabled = no", {}, "enabled = no", "the AMI is off"),
    "bindaddr unset": (
        "manager.conf", "bindaddr = 127.0.0.1", "", {}, "[general]", "bindaddr is not set"),
    "bindaddr any": (
        "manager.conf", "bindaddr = 127.0.0.1", "bindaddr = 0.0.0.0", {}, "bindaddr",
        "not a private address"),
    "bindaddr public": (
        "manager.conf", "bindaddr = 127.0.0.1", "bindaddr = 8.8.8.8", {}, "bindaddr",
        "not a private address"),
    "bindaddr name": (
        "manager.conf", "bindaddr = 127.0.0.1", "bindaddr = pbx.example.com", {}, "bindaddr",
        "is not an IP address"),
    "AMI over HTTP": (
        "manager.conf", "webenabled = no", "webenabled = yes", {}, "webenabled",
        "over HTTP"),
    "port differs from [[servers]]": (
        "manager.conf", "port = 5038", "port = 5039",
        {"servers": [{"name": "pbx1", "port": 5038}]}, "port = 5039", "connects to port 5038"),
    "daemon user missing": (
        "manager.conf", "[callcenter]", "[someone]", {}, "[general]", "no AMI user [callcenter]"),
    "read lacks dialplan": (
        "manager.conf", "read = call,agent,dialplan", "read = call,agent", {}, "read = call",
        "read lacks dialplan"),
    "read lacks system": (
        "manager.conf", "read = call,agent,dialplan,system", "read = call,agent,dialplan", {},
        "read = call", "read lacks system"),
    "read unset": (
        "manager.conf", "read = call,agent,dialplan", "", {}, "[callcenter]",
        "read lacks call, agent, dialplan"),
    "read more than needed": (
        "manager.conf", "read = call,agent,dialplan", "read = call,agent,dialplan,dtmf", {},
        "read = call", "read grants dtmf"),
    "read all": (
        "manager.conf", "read = call,agent,dialplan", "read = all", {}, "read = all",
        "read grants agi, aoc"),
    "write lacks originate": (
        "manager.conf", "write = call,agent,originate,", "write = call,agent,", {}, "write =",
        "does not allow Originate (originate)"),
    "write lacks config and system": (
        "manager.conf", "reporting,config", "reporting", {}, "write =",
        "GetConfig (system or config)"),
    "write lacks reporting": (
        "manager.conf", "originate,reporting,config", "originate,config", {}, "write =",
        "CoreShowChannels (system or reporting)"),
    "write lacks agent": (
        "manager.conf", "write = call,agent,", "write = call,", {}, "write =",
        "QueuePause (agent), QueueAdd (agent), QueueRemove (agent)"),
    "write lacks call": (
        "manager.conf", "write = call,agent,", "write = agent,", {}, "write =",
        "Hangup (system or call), Redirect (call)"),
    "write system": (
        "manager.conf", "write = call,", "write = system,call,", {}, "write =",
        "write grants system: dangerous, it lets Originate run System(), a shell on the PBX"),
    "write command": (
        "manager.conf", "reporting,config", "reporting,config,command", {}, "write =",
        "write grants command: dangerous, it lets the user run any CLI command, 'core stop"),
    "write more than needed": (
        "manager.conf", "reporting,config", "reporting,config,dtmf", {}, "write =",
        "write grants dtmf beyond what the daemon needs"),
    "unknown class": (
        "manager.conf", "read = call,agent,dialplan", "read = call,agent,dialplan,calls", {},
        "read = call", "unknown class 'calls'"),
    "no ACL": (
        "manager.conf", "permit = 127.0.0.1/255.255.255.255", "", {}, "[callcenter]",
        "has no permit="),
    "queue timeout differs": (
        "queues.conf", "timeout = 15", "timeout = 20", {}, "timeout = 20",
        "queue support: member timeout 20 s is not the ring deadline 15 s"),
    "queue timeout unset vs a 4-ring deadline": (
        "queues.conf", "timeout = 15", "", {"ring": {"rings_allowed": 4}}, "[support]",
        "member timeout 15 s (not set: app_queue's default) is not the ring deadline 20 s"),
    "per-queue override": (
        "queues.conf", "[sales](callcenter-queue)\n", "[sales](callcenter-queue)\ntimeout = 15\n",
        {"queues": {"sales": {"rings_allowed": 4}}}, "timeout = 15\nstrategy = ringall",
        "queue sales: member timeout 15 s is not the ring deadline 20 s"),
    "ringinuse yes": (
        "queues.conf", "ringinuse = no", "ringinuse = yes", {}, "ringinuse = yes",
        "queue billing: ringinuse is not no"),
    "ringinuse unset": (
        "queues.conf", "ringinuse = no", "", {}, "[sales]", "queue sales: ringinuse is not no"),
    "autopause and daemon pause": (
        "queues.conf", "autopause = no", "autopause = all", {}, "autopause = all",
        "autopause = all pauses an agent after one miss"),
    "eventwhencalled": (
        "queues.conf", "strategy = ringall", "strategy = ringall\neventwhencalled = yes", {},
        "eventwhencalled = yes", "queue sales: eventwhencalled no longer exists"),
    "queue records itself": (
        "queues.conf", "strategy = ringall", "strategy = ringall\nmonitor-format = wav", {},
        "monitor-format", "queue sales: monitor-format"),
    "recording elsewhere": (
        "extensions.conf", "same => n,Set(MIXMON_FILE=/var/spool/asterisk/monitor/",
        "same => n,Set(MIXMON_FILE=/var/spool/recordings/", {}, "MixMonitor(${MIXMON_FILE},b)",
        "[from-trunk] 800: MixMonitor writes into '/var/spool/recordings'"),
    "recording dir setting differs": (
        "extensions.conf", "QUEUE_WAIT = 60", "QUEUE_WAIT = 60", {"recordings": {
            "asterisk_dir": "/srv/monitor"}}, "MixMonitor(${MIXMON_FILE},b)",
        "not recordings.asterisk_dir '/srv/monitor'"),
    "recording name without uniqueid": (
        "extensions.conf", "${CALLERID(num)})}-${UNIQUEID}.wav)", "${CALLERID(num)})}.wav)", {},
        "MixMonitor(${MIXMON_FILE},b)", "recording name"),
    "recording name without time": (
        "extensions.conf", "${STRFTIME(${EPOCH},UTC,%Y%m%d-%H%M%S)}", "${EPOCH}", {},
        "MixMonitor(${MIXMON_FILE},b)", "is not <%Y%m%d-%H%M%S>-<caller number>"),
    "MIXMON_FILE not announced": (
        "extensions.conf", " same => n,Set(MIXMON_FILE=", " same => n,Set(OTHER=", {},
        "MixMonitor(${MIXMON_FILE},b)", "MIXMON_FILE is not set before it"),
    "toqueue label missing": (
        "extensions.conf", "n(toqueue),Queue", "n,Queue", {}, "exten => _10XX,1",
        "has no step labelled 'toqueue': the three-ring redirect (from-trunk,<dialled number>"),
    "toqueue label not on Queue()": (
        "extensions.conf", "n(toqueue),Queue(support,ct,,,${QUEUE_WAIT})",
        "n(toqueue),Playback(sorry)", {}, "n(toqueue)", "runs Playback, not Queue()"),
    "NOANSWER branch missing": (
        "extensions.conf", "?toqueue)", "?nowhere)", {}, "Dial(PJSIP/agent${EXTEN}",
        "after Dial() no GotoIf/Goto to 'toqueue'"),
    "direct ring not longer than deadline": (
        "extensions.conf", "DIRECT_RING = 30", "DIRECT_RING = 15", {},
        "Dial(PJSIP/agent${EXTEN},${DIRECT_RING},t)", "Dial timeout 15 s is not longer"),
    "fallback context missing": (
        "extensions.conf", "QUEUE_WAIT = 60", "QUEUE_WAIT = 60", {"ring": {
            "fallback_context": "from-pstn"}}, "; extensions.conf", "[from-pstn]"),
    "fallback priority 1": (
        "extensions.conf", "QUEUE_WAIT = 60", "QUEUE_WAIT = 60", {"ring": {
            "fallback_priority": "1"}}, "[from-trunk]", "ring.fallback_priority = 1"),
    "outbound context missing": (
        "extensions.conf", "[from-internal]", "[click-to-call]", {}, "; extensions.conf",
        "[from-internal] (agent_panel.outbound_context) does not exist"),
    "outbound prefix not dialable": (
        "extensions.conf", "QUEUE_WAIT = 60", "QUEUE_WAIT = 60", {"agent_panel": {
            "outbound_prefix": "0"}}, "[from-internal]",
        "no extension for agent_panel.outbound_prefix + number (e.g. 013800138000)"),
    "endpoint context missing": (
        "pjsip.conf", "context = from-agents", "context = agents", {}, "context = agents",
        "endpoint agent1001: context 'agents' does not exist"),
    "CEL off": (
        "cel.conf", "enable = yes", "enable = no", {}, "enable = no", "enable is not yes: CEL is"),
    "CEL events lack HANGUP": (
        "cel.conf", "ANSWER,HANGUP,", "ANSWER,", {}, "events =", "events lacks HANGUP"),
    "CEL unknown event": (
        "cel.conf", "PARK_END", "PARK_STOP", {}, "events =",
        "events: unknown PARK_STOP: Asterisk rejects cel.conf"),
    "CEL apps = all": (
        "cel.conf", "apps = dial,queue,mixmonitor,", "apps = all,", {}, "apps = all",
        "apps = all is not a keyword in Asterisk 22"),
    "CEL apps lack mixmonitor": (
        "cel.conf", "queue,mixmonitor,", "queue,", {}, "apps =", "apps lacks mixmonitor"),
    "CEL local time": (
        "cel_pgsql.conf", "usegmtime = yes", "usegmtime = no", {}, "usegmtime = no",
        "usegmtime is not yes: eventtime would be the PBX's local time"),
    "CEL table is not cel_table": (
        "cel_pgsql.conf", "table = cel", "table = cel", {
            "servers": [{"name": "pbx1", "cel_table": "cel_pbx1"}]}, "table = cel",
        "table cel is not servers[].cel_table (cel_pbx1)"),
    "CEL table unset": (
        "cel_pgsql.conf", "table = cel\n", "", {
            "servers": [{"name": "pbx1", "cel_table": "cel_pbx1"}]}, "[global]",
        "table cel (not set: cel_pgsql's default) is not servers[].cel_table"),
    "queue member not an endpoint": (
        "queues.conf", "member => PJSIP/agent1003,0,Carol Agent\n\n[sales]",
        "member => PJSIP/agent1004,0,Dan Agent\n\n[sales]", {}, "agent1004",
        "member PJSIP/agent1004 is not an endpoint"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_inconsistency_is_reported_with_file_and_line(conf_dir: Path, case: str) -> None:
    name, old, new, overrides, marker, words = CASES[case]
    mutate(conf_dir, name, old, new)
    findings = check_config(conf_dir, settings(**overrides))
    text = (conf_dir / name).read_text(encoding="utf-8")
    line = text[: text.index(marker)].count("\n") + 1
    at_line = [f for f in findings if (f.file, f.line) == (name, line)]
    assert any(words in f.message for f in at_line), (case, [str(f) for f in findings])


def test_findings_are_sorted_and_printed_as_file_line(
        conf_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mutate(conf_dir, "queues.conf", "timeout = 15", "timeout = 30")
    mutate(conf_dir, "manager.conf", "timestampevents = yes", "timestampevents = no")
    assert main(["check-config", str(conf_dir)]) == 1
    out = capsys.readouterr().out.splitlines()
    stamp_line = line_of(conf_dir, "manager.conf", "timestampevents = no")
    timeout_line = line_of(conf_dir, "queues.conf", "timeout = 30")
    assert out[0].startswith(f"{conf_dir / 'manager.conf'}:{stamp_line}: timestampevents")
    prefix = f"{conf_dir / 'queues.conf'}:{timeout_line}: queue billing: member timeout 30 s"
    assert any(line.startswith(prefix) for line in out)
    assert len(out) == 4  # timestampevents + three queues


def test_servers_username_is_the_user_checked(conf_dir: Path) -> None:
    found = check_config(conf_dir, settings(servers=[{"name": "pbx1", "username": "ops"}]))
    assert [f.message for f in found] == ["no AMI user [ops]: the daemon logs in as 'ops'"]


def test_autopause_is_fine_when_the_daemon_never_pauses(conf_dir: Path) -> None:
    mutate(conf_dir, "queues.conf", "autopause = no", "autopause = yes")
    assert check_config(conf_dir, settings(ring={"misses_before_pause": 0})) == []


@pytest.mark.parametrize("problem", ["missing dir", "missing file", "not utf-8", "unreadable"])
def test_bad_input_exits_2_with_one_line(conf_dir: Path, problem: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    target = conf_dir
    if problem == "missing dir":
        target = conf_dir / "nope"
    elif problem == "missing file":
        (conf_dir / "pjsip.conf").unlink()
    elif problem == "not utf-8":
        (conf_dir / "queues.conf").write_bytes(b"[support]\ntimeout = 15 \xff\n")
    else:
        (conf_dir / "extensions.conf").unlink()
        (conf_dir / "extensions.conf").mkdir()
    assert main(["check-config", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("callcenter check-config: ")
    expected = {"missing dir": "not a directory", "missing file": "pjsip.conf: file not found",
                "not utf-8": "queues.conf: not UTF-8", "unreadable": "cannot read"}[problem]
    assert expected in err[0]
    with pytest.raises(ConfInputError):
        check_config(target, Settings())


def test_parser_comments_templates_append_and_includes(tmp_path: Path) -> None:
    (tmp_path / "secret.conf").write_text("secret = s3cret\n", encoding="utf-8")
    (tmp_path / "x.conf").write_text(
        "[base](!)\nread = call ; a comment\n;-- a block\nread = system\n--;\n"
        "[user](base)\n#include \"secret.conf\"\n#include \"absent.conf\"\n"
        "note = a\\;b\n[user](+)\nwrite = agent\n", encoding="utf-8")
    conf = parse_conf(tmp_path / "x.conf")
    user = conf.named("user")
    assert len(user) == 1
    assert conf.get(user[0], "read").value == "call"  # type: ignore[union-attr]
    secret = conf.get(user[0], "secret")
    assert secret is not None and (secret.value, secret.file, secret.line) == (
        "s3cret", "secret.conf", 1)
    assert conf.get(user[0], "note").value == "a;b"  # type: ignore[union-attr]
    assert conf.get(user[0], "write").line == 11  # type: ignore[union-attr]


def test_finding_text() -> None:
    assert str(Finding("queues.conf", 7, "x")) == "queues.conf:7: x"


# --- the simulator runs the shipped dialplan ---------------------------------------------


async def run_sim_calls(recordings: Path) -> list[Frame]:
    """The events of one call of each kind the simulator knows, on the default config."""
    no = AgentScript(answer_after=None)
    async with PBXSimulator(speed=200, keep_events=True, recordings_dir=recordings) as sim:
        sim.agent_login("agent1002", "billing")
        calls = [
            await sim.inbound_call("+3226550101", "800", agents={"agent1001": AgentScript(2, 3)}),
            await sim.inbound_call("+3226550102", "801", agents={"agent1002": AgentScript(2, 3)}),
            await sim.inbound_call("+3226550103", "802", agents={"agent1003": AgentScript(2, 3)}),
        ]
        for call in calls:
            await asyncio.wait_for(call.wait(), 10)
        for did, scripts in (("803", {"agent1002": AgentScript(2, 3)}),
                             ("1003", {"agent1003": no, "agent1001": AgentScript(2, 3)})):
            await asyncio.wait_for((await sim.inbound_call("+3226550104", did,
                                                            agents=scripts)).wait(), 10)
        await asyncio.wait_for((await sim.outbound_call("agent1002", "900326660701",
                                                        ring=2, talk=3)).wait(), 10)
        client = await SimClient.connect(sim.port)
        await client.login()
        await client.action({"Action": "Originate", "Channel": "PJSIP/agent1003",
                             "Context": "from-internal", "Exten": "900326660702",
                             "Priority": "1"})
        await client.close()
        await sim.advance(60)
    return sim.events


async def test_simulator_event_stream_runs_the_shipped_dialplan(tmp_path: Path) -> None:
    """Every journaled Newexten of the simulator (what the tracker sees) is an application
    of dialplan/ in the same context and extension; MixMonitor, Dial and Queue at the same
    priority and Queue with the same queue; every recording name is the shipped one."""
    dp = shipped_dialplan()
    events = await run_sim_calls(tmp_path)
    ran = [e for e in events if e.get("Event") == "Newexten" and is_journaled(e)
           and e.get("AppData") != "(Outgoing Line)"]
    assert {e["Context"] for e in ran} >= {
        "from-trunk", "from-agents", "from-internal", "sub-record-agent"}
    for event in ran:
        where = (event["Context"], event["Extension"], event["Priority"], event["Application"])
        same_app = [s for s in steps_for(dp, event) if s.app == event["Application"]]
        assert same_app, where
        if event["Application"] in {"MixMonitor", "Dial", "Queue"}:
            step = next((s for s in same_app if s.priority == int(event["Priority"])), None)
            assert step is not None, where
            shipped_arg = split_args(dp.expand(step.data))[0]
            ran_arg = split_args(str(event["AppData"]))[0]
            assert ran_arg.startswith(shipped_arg.split("${")[0]), (where, shipped_arg, ran_arg)
    names = [e for e in events if e.get("Event") == "VarSet"
             and e.get("Variable") == "MIXMONITOR_FILENAME"]
    assert len(names) >= 7
    asterisk_dir = Settings().recordings.asterisk_dir
    for event in names:
        pattern = (re.escape(asterisk_dir) + r"/\d{8}-\d{6}-[0-9A-Za-z+]*-"
                   + re.escape(str(event["Uniqueid"])) + r"\.wav")
        assert re.fullmatch(pattern, str(event["Value"])), event["Value"]


def test_simulator_queues_agents_and_dids_are_the_shipped_ones() -> None:
    sim = SimConfig.default()
    queues = parse_conf(SHIPPED / "queues.conf")
    shipped = {s.name: s for s in queue_sections(queues)}
    assert set(shipped) == {q.name for q in sim.queues}
    for q in sim.queues:
        members = [s.value.split(",")[0] for s in queues.chain(shipped[q.name])
                   if s.key == "member"]
        assert members == ([] if q.dynamic else q.members), q.name
        strategy = queues.get(shipped[q.name], "strategy")
        assert strategy is not None and strategy.value == q.strategy
    pjsip = parse_conf(SHIPPED / "pjsip.conf")
    assert {a.endpoint for a in sim.agents} <= {s.name for s in pjsip.sections}
    dp = shipped_dialplan()
    extensions = dp.contexts["from-trunk"].extensions()
    for did, queue in sim.dids.items():
        queue_steps = [s for s in extensions[did] if s.app == "Queue"]
        assert [dp.expand(s.data).split(",")[0] for s in queue_steps] == [queue], did


def test_real_pbx_captures_ran_the_shipped_dialplan() -> None:
    """The dialplan/ is modelled on the PBX of tests/traces/real2: every step those real calls
    ran (context, extension, priority, application, queue) is a step of dialplan/."""
    dp = shipped_dialplan()
    seen = 0
    for trace in sorted((Path(__file__).parent / "traces" / "real2").glob("*.jsonl")):
        for line in trace.read_text(encoding="utf-8").splitlines():
            if '"Newexten"' not in line:
                continue
            frame = json.loads(line).get("frame") or {}
            if frame.get("Event") != "Newexten" or frame.get("AppData") == "(Outgoing Line)":
                continue
            if frame["Application"] == "Return" and frame["Context"] != "sub-record-agent":
                continue  # the queue gosub returning to the agent channel's own location
            where = (trace.name, frame["Context"], frame["Extension"], frame["Priority"],
                     frame["Application"])
            step = next((s for s in steps_for(dp, frame)
                         if s.priority == int(frame["Priority"])), None)
            assert step is not None and step.app == frame["Application"], where
            if step.app == "Queue":
                assert split_args(dp.expand(step.data))[0] == frame["AppData"].split(",")[0]
            seen += 1
    assert seen > 50


# --- CEL: Asterisk writes the rows the daemon fills outages from ------------------------------

def errors(findings: list[Finding]) -> list[str]:
    return [str(f) for f in findings if not f.warning]


@pytest.mark.parametrize("name", ["cel.conf", "cel_pgsql.conf"])
def test_missing_cel_file_is_a_finding(conf_dir: Path, name: str) -> None:
    (conf_dir / name).unlink()
    found = errors(check_config(conf_dir, Settings()))
    assert len(found) == 1 and found[0].startswith(f"{name}:1: missing:"), found
    assert "outages will not be filled from CEL" in found[0]


def test_empty_cel_table_is_a_warning_and_skips_the_cel_files(
        conf_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (conf_dir / "cel.conf").unlink()
    config = conf_dir / "callcenter.toml"
    config.write_text('[[servers]]\nname = "pbx1"\ncel_table = ""\n', encoding="utf-8")
    found = check_config(conf_dir, Settings.model_validate(
        {"servers": [{"name": "pbx1", "cel_table": ""}]}))
    assert [(f.file, f.warning) for f in found] == [("cel_pgsql.conf", True)]
    assert "pbx1 has cel_table = \"\": this PBX's outages will not be filled" in found[0].message
    assert main(["--config", str(config), "check-config", "--no-database", str(conf_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{conf_dir / 'cel_pgsql.conf'}:1: warning: [[servers]] pbx1" in out
    assert "consistent with the settings (1 warning(s))" in out


def test_cel_over_ami_and_dtmf_are_warnings(conf_dir: Path) -> None:
    mutate(conf_dir, "cel.conf", "enabled = no", "enabled = yes")
    mutate(conf_dir, "cel.conf", "events = CHAN_START,", "events = ALL,CHAN_START,")
    found = check_config(conf_dir, Settings())
    assert all(f.warning for f in found) and len(found) == 2, [str(f) for f in found]
    text = " ".join(f.message for f in found)
    assert "twice the event volume" in text and "events include DTMF" in text


def test_events_all_covers_what_the_daemon_needs(conf_dir: Path) -> None:
    text = (conf_dir / "cel.conf").read_text(encoding="utf-8")
    events = next(line for line in text.splitlines() if line.startswith("events ="))
    mutate(conf_dir, "cel.conf", events, "events = ALL")
    assert errors(check_config(conf_dir, Settings())) == []


def test_server_option_picks_the_cel_table(conf_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    two = {"servers": [{"name": "pbx1"}, {"name": "pbx2", "cel_table": "cel_pbx2"}]}
    assert check_config(conf_dir, settings(**two)) == []  # table cel is pbx1's
    assert check_config(conf_dir, settings(**two), "pbx1") == []
    found = check_config(conf_dir, settings(**two), "pbx2")
    assert [f.message for f in found] == [
        "table cel is not servers[].cel_table (cel_pbx2): the daemon would read another table"]
    with pytest.raises(ConfInputError, match="no \\[\\[servers\\]\\] named 'pbx3'"):
        check_config(conf_dir, settings(**two), "pbx3")
    assert main(["check-config", "--server", "pbx3", str(conf_dir)]) == 2
    assert "no [[servers]] named 'pbx3'" in capsys.readouterr().err


@pytest.mark.parametrize(("modules", "words"), [
    ("[modules]\nautoload = yes\nnoload = cel_pgsql.so\n", "noload = cel_pgsql.so"),
    ("[modules]\nautoload = no\nload = chan_pjsip.so\n", "autoload is not yes and no load"),
    ("[modules]\nautoload = no\nload = cel_pgsql.so\n", None),
    ("[modules]\nautoload = yes\n", None),
])
def test_modules_conf_must_load_cel_pgsql(conf_dir: Path, modules: str,
                                          words: str | None) -> None:
    (conf_dir / "modules.conf").write_text(modules, encoding="utf-8")
    found = check_config(conf_dir, Settings())
    if words is None:
        assert found == []
    else:
        assert [f.file for f in found] == ["modules.conf"] and words in found[0].message


# --- the cel table in the database ------------------------------------------------------------

async def test_migrated_database_has_the_cel_table_cel_pgsql_needs(fresh_dsn: str) -> None:
    assert await check_database(SHIPPED, Settings(), fresh_dsn) == []


async def test_cel_table_missing_or_wrong_is_reported(bare_dsn: str, conf_dir: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    line = line_of(conf_dir, "cel_pgsql.conf", "table = cel")
    found = await check_database(conf_dir, Settings(), bare_dsn)
    assert [(f.file, f.line, f.warning) for f in found] == [("cel_pgsql.conf", line, False)]
    assert "table cel does not exist in the database" in found[0].message
    assert "callcenter migrate creates it" in found[0].message
    conn = await asyncpg.connect(bare_dsn)
    try:
        await conn.execute("CREATE TABLE cel (id serial, eventtype text, "
                           "eventtime timestamptz, uniqueid text)")
    finally:
        await conn.close()
    messages = [f.message for f in await check_database(conf_dir, Settings(), bare_dsn)]
    assert len(messages) == 2, messages
    assert messages[0].startswith("table cel lacks the column(s) userdeftype, cid_name")
    assert "linkedid" in messages[0] and "module unload cel_pgsql.so" in messages[0]
    assert messages[1].startswith("table cel: eventtime is timestamp with time zone")
    cli = ["check-config", "--dsn", bare_dsn, str(conf_dir)]
    assert await asyncio.to_thread(main, cli) == 1
    assert await asyncio.to_thread(main, [*cli, "--no-database"]) == 0
    capsys.readouterr()


async def test_another_pbx_table_is_created_like_cel(fresh_dsn: str, conf_dir: Path) -> None:
    two = settings(servers=[{"name": "pbx1"}, {"name": "pbx2", "cel_table": "cel_pbx2"}])
    found = await check_database(conf_dir, two, fresh_dsn, "pbx2")
    assert len(found) == 1
    assert "table cel_pbx2 does not exist" in found[0].message
    assert "CREATE TABLE cel_pbx2 (LIKE cel INCLUDING ALL)" in found[0].message
    conn = await asyncpg.connect(fresh_dsn)
    try:
        await conn.execute("CREATE TABLE cel_pbx2 (LIKE cel INCLUDING ALL)")
    finally:
        await conn.close()
    assert await check_database(conf_dir, two, fresh_dsn) == []


async def test_unreachable_database_is_a_warning(conf_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once closed
    found = await check_database(conf_dir, Settings(),
                                 f"postgresql://nobody@127.0.0.1:{port}/callcenter")
    assert len(found) == 1 and found[0].warning
    assert found[0].message.startswith("cannot check the CEL table(s) cel in the database: ")


def test_cel_columns_are_the_migration_s() -> None:
    sql = (SHIPPED.parent / "callcenter" / "migrations" / "013_cel_and_outages.sql").read_text(
        encoding="utf-8")
    body = sql.split("CREATE TABLE IF NOT EXISTS cel (")[1].split(");")[0]
    assert tuple(line.split()[0] for line in body.strip().splitlines()) == CEL_COLUMNS
