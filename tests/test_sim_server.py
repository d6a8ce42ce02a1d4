"""The simulator as an AMI server: login, actions and replies, fan-out, recordings, load."""

from __future__ import annotations

import asyncio
import hashlib
import time
import wave
from pathlib import Path

import panoramisk

from callcenter.ami.protocol import serialize_frame
from callcenter.sim import AgentScript, PBXSimulator, SimConfig
from callcenter.sim.testing import SimClient
from tests.support.sim import NO, make_sim, wait_for
from tests.support.wait import until


async def test_banner_login_fullybooted_and_ping() -> None:
    async with make_sim() as sim:
        client = await SimClient.connect(sim.port)
        reply = await client.login()
        assert reply == {"Response": "Success", "ActionID": "t-1",
                         "Message": "Authentication accepted"}
        assert client.proto.banner == "Asterisk Call Manager/11.0.0"
        booted = await client.read_frame()
        assert booted is not None and booted["Event"] == "FullyBooted" and "Timestamp" not in booted
        pong = (await client.action({"Action": "Ping"}))[0]
        assert (pong["Response"], pong["Ping"]) == ("Success", "Pong")
        assert float(pong["Timestamp"]) > 0
        bye = (await client.action({"Action": "Logoff"}))[0]
        assert bye["Response"] == "Goodbye"
        assert await client.read_frame() is None
    assert [a["Action"] for a in sim.actions] == ["Login", "Ping", "Logoff"]


async def test_md5_challenge_login() -> None:
    async with make_sim() as sim:
        client = await SimClient.connect(sim.port)
        challenge = (await client.action({"Action": "Challenge", "AuthType": "MD5"}))[0]["Challenge"]
        key = hashlib.md5((challenge + "secret").encode()).hexdigest()
        reply = await client.action({"Action": "Login", "AuthType": "MD5", "Username": "callcenter",
                                     "Key": key})
        assert reply[0]["Message"] == "Authentication accepted"
        await client.close()


async def test_bad_credentials_error_after_delay_then_close() -> None:
    async with make_sim() as sim:
        sim.auth_fail_delay = 0.2
        for user, secret in (("callcenter", "WRONG"), ("nosuchuser", "secret")):
            client = await SimClient.connect(sim.port)
            t0 = time.monotonic()
            reply = await client.login(user, secret)
            assert reply["Response"] == "Error" and reply["Message"] == "Authentication failed"
            assert time.monotonic() - t0 >= 0.2
            assert await client.read_frame() is None  # the server closed the socket
        kinds = [f["Event"] for f in sim.events]
        assert kinds == ["InvalidPassword", "InvalidAccountID"]


async def test_actions_need_login_and_unknown_actions_fail() -> None:
    async with make_sim() as sim:
        client = await SimClient.connect(sim.port)
        reply = (await client.action({"Action": "QueueStatus"}))[0]
        assert (reply["Response"], reply["Message"]) == ("Error", "Permission denied")
        await client.login()
        reply = (await client.action({"Action": "Queues"}))[0]
        assert reply["Response"] == "Error"
        assert reply["Message"] == ("Invalid/unknown command: Queues. "
                                    "Use Action: ListCommands to show available commands.")
        client.writer.write(b"Foo: bar\r\n\r\n")  # no Action header: an error, not a crash
        reply = (await client.action({"Action": "Ping"}))[0]
        assert reply["Ping"] == "Pong"
        await client.close()


async def test_events_off_and_every_connection_gets_every_event() -> None:
    async with make_sim() as sim:
        a, b, quiet = [await SimClient.connect(sim.port) for _ in range(3)]
        await a.login()
        await b.login()
        await quiet.login(events="off")
        handle = await sim.inbound_call("+3222", "800", agents={"agent1001": AgentScript(1, 2)})
        await handle.wait()
        await asyncio.sleep(0.05)
        for c in (a, b, quiet):
            c.writer.write(serialize_frame({"Action": "Ping", "ActionID": "end"}))
            while (await c.read_frame() or {}).get("ActionID") != "end":
                pass
        # each session sees its own SuccessfulAuth and everything after it
        auths = [i for i, f in enumerate(sim.events) if f["Event"] == "SuccessfulAuth"]
        assert len(auths) == 3
        assert a.events[1:] == sim.events
        assert b.events[1:] == sim.events[auths[1]:]
        assert quiet.events == []


async def test_queue_member_actions_and_their_errors() -> None:
    async with make_sim() as sim:
        c = await SimClient.connect(sim.port)
        await c.login()
        add = {"Action": "QueueAdd", "Queue": "sales", "Interface": "PJSIP/agent1001",
               "Penalty": "2", "MemberName": "Alice Agent"}
        assert (await c.action(add))[0]["Message"] == "Added interface to queue"
        again = (await c.action(add))[0]
        assert (again["Response"], again["Message"]) == ("Error", "Unable to add interface: Already there")
        rm = {"Action": "QueueRemove", "Queue": "sales", "Interface": "PJSIP/agent1001"}
        assert (await c.action(rm))[0]["Message"] == "Removed interface from queue"
        static = (await c.action({**rm, "Queue": "support"}))[0]
        assert (static["Response"], static["Message"]) == ("Error", "Member not dynamic")
        gone = (await c.action({**rm, "Interface": "PJSIP/agent9999"}))[0]
        assert gone["Message"] == "Unable to remove interface: Not there"
        pause = (await c.action({"Action": "QueuePause", "Queue": "support",
                                 "Interface": "PJSIP/agent1001", "Paused": "true",
                                 "Reason": "Break"}))[0]
        assert pause["Message"] == "Interface paused successfully"
        await c.close()
    names = [(f["Event"], f["Queue"]) for f in sim.events if f["Event"].startswith("QueueMember")]
    assert names == [("QueueMemberAdded", "sales"), ("QueueMemberRemoved", "sales"),
                     ("QueueMemberPause", "support")]
    added = next(f for f in sim.events if f["Event"] == "QueueMemberAdded")
    assert (added["Membership"], added["Penalty"], added["MemberName"]) == ("dynamic", "2", "Alice Agent")


async def test_list_actions_during_a_call() -> None:
    async with make_sim() as sim:
        c = await SimClient.connect(sim.port)
        await c.login()
        scripts = {"agent1001": AgentScript(1, 1000), "agent1002": NO, "agent1003": NO}
        await sim.inbound_call("+3225550101", "800", agents=scripts)
        await wait_for(sim, lambda f: f["Event"] == "AgentConnect")
        for idle in ("PJSIP/agent1002", "PJSIP/agent1003"):  # the next caller waits, ringing no one
            await c.action({"Action": "QueuePause", "Interface": idle, "Paused": "true"})
        waiting = await sim.inbound_call("+3225550102", "800", agents=scripts)
        await wait_for(sim, lambda f: f["Event"] == "QueueCallerJoin" and f["Position"] == "1"
                       and f["Channel"] == waiting.channel)
        status = await c.action({"Action": "QueueStatus", "Queue": "support"})
        assert status[0] == {"Response": "Success", "ActionID": status[0]["ActionID"],
                             "EventList": "start", "Message": "Queue status will follow"}
        kinds = [f["Event"] for f in status[1:]]
        assert kinds == ["QueueParams", "QueueMember", "QueueMember", "QueueMember",
                         "QueueEntry", "QueueStatusComplete"]
        member = status[2]
        assert list(member)[:4] == ["Event", "Queue", "Name", "Location"]
        assert member["Status"] == "2" and member["InCall"] == "1"
        assert status[-1]["ListItems"] == "5"
        assert all("Privilege" not in f for f in status)
        summary = await c.action({"Action": "QueueSummary", "Queue": "support"})
        assert summary[1]["Callers"] == "1" and summary[-1]["Event"] == "QueueSummaryComplete"
        chans = await c.action({"Action": "CoreShowChannels"})
        assert chans[0]["Message"] == "Channels will follow"
        assert {f["Channel"] for f in chans[1:-1]} == set(sim.pbx.channels)
        assert chans[-1]["ListItems"] == str(len(sim.pbx.channels))
        st = await c.action({"Action": "Status"})
        assert st[-1]["Event"] == "StatusComplete" and st[-1]["Items"] == str(len(st) - 2)
        cmd = (await c.action({"Action": "Command", "Command": "core show version"}))[0]
        assert cmd["Message"] == "Command output follows" and "Asterisk 22" in cmd["Output"]
        await c.close()


async def test_recordings_are_real_wav_files(tmp_path: Path) -> None:
    async with make_sim(recordings_dir=tmp_path) as sim:
        talked = await sim.inbound_call("+3226550201", "800", agents={"agent1001": AgentScript(2, 8)})
        assert await talked.wait() == "answered"
        abandoned = await sim.inbound_call("+3226550401", "800", agents={"agent1002": NO}, patience=5)
        assert await abandoned.wait() == "abandoned"
    names = [f["Value"] for f in sim.events
             if f["Event"] == "VarSet" and f["Variable"] == "MIXMONITOR_FILENAME"]
    assert len(names) == 2 and all(n.startswith("/var/spool/asterisk/monitor/") for n in names)
    first = tmp_path / Path(names[0]).name
    assert first.name.endswith(f"-+3226550201-{talked.linkedid}.wav")
    with wave.open(str(first)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        assert 7.8 <= w.getnframes() / 8000 <= 8.5
    second = tmp_path / Path(names[1]).name
    assert second.stat().st_size == 44
    with wave.open(str(second)) as w:
        assert w.getnframes() == 0


async def test_originate_rings_the_agent_first() -> None:
    async with make_sim() as sim:
        c = await SimClient.connect(sim.port)
        await c.login()
        sim.set_agent("agent1001", AgentScript(2, 5))
        reply = (await c.action({"Action": "Originate", "Channel": "PJSIP/agent1001",
                                 "Context": "from-internal", "Exten": "900326660701",
                                 "Priority": "1", "Async": "true"}))[0]
        assert reply["Message"] == "Originate successfully queued"
        await wait_for(sim, lambda f: f["Event"] == "Hangup" and "trunk" in f["Channel"])
        bad = (await c.action({"Action": "Originate", "Channel": "PJSIP/nobody", "Exten": "9"}))[0]
        assert bad["Response"] == "Error"
        await c.close()
    names = [f["Event"] for f in sim.events if f["Event"] in
             ("Newstate", "OriginateResponse", "DialBegin", "DialEnd")]
    assert names[:3] == ["Newstate", "OriginateResponse", "Newstate"]
    assert "DialBegin" in names and names.index("OriginateResponse") < names.index("DialBegin")


async def test_third_party_client_panoramisk_receives_events() -> None:
    """panoramisk (PyPI) logs in to the simulator and gets its events: it speaks real AMI."""
    async with make_sim() as sim:
        got: list[str] = []
        manager = panoramisk.Manager(host="127.0.0.1", port=sim.port, username="callcenter",
                                     secret="secret", ping_delay=60,
                                     loop=asyncio.get_running_loop())
        manager.register_event("*", lambda m, event: got.append(event.event))
        await manager.connect()
        await until(lambda: manager.authenticated)
        resp = await manager.send_action({"Action": "Ping"})
        assert resp.success and resp.ping == "Pong"
        queue_status = await manager.send_action({"Action": "QueueStatus", "Queue": "support"})
        assert [m.event for m in queue_status][-1] == "QueueStatusComplete"
        handle = await sim.inbound_call("+3222", "800", agents={"agent1001": AgentScript(1, 2)})
        await handle.wait()
        await until(lambda: {"QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete",
                             "Hangup"} <= set(got))
        manager.close()


async def test_hundreds_of_concurrent_calls_and_ringing_phones() -> None:
    """300 calls ringing 300 agents at once, then talking together; nothing leaks."""
    n = 300
    config = SimConfig.default(n)
    async with PBXSimulator(speed=50, config=config) as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        sim.pbx.default_script = AgentScript(answer_after=4, talk=6)
        t0 = time.monotonic()
        handles = [await sim.inbound_call(f"+32{i:07d}", "800") for i in range(n)]
        await sim.advance(2)
        assert sum(a.status == 6 for a in sim.pbx.agents.values()) == n
        outcomes = await asyncio.wait_for(asyncio.gather(*(h.wait() for h in handles)), 30)
        wall = time.monotonic() - t0
        assert outcomes == ["answered"] * n
        assert not sim.pbx.channels and all(a.status == 1 for a in sim.pbx.agents.values())
        reply = await client.action({"Action": "Ping"})
        assert reply[0]["Ping"] == "Pong"
        await client.close()
    assert wall < 20


async def test_cli_runs_the_simulator_with_random_traffic(tmp_path: Path) -> None:
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter", "sim", "--port", "0", "--speed", "300",
        "--calls-per-hour", "600", "--recordings", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = ""
        while not line.startswith("simulated PBX on"):
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            assert line, "the simulator exited"
        port = int(line.split("127.0.0.1:")[1].split()[0])
        client = await SimClient.connect(port)
        assert (await client.login())["Message"] == "Authentication accepted"
        while not any(e["Event"] == "Hangup" for e in client.events):
            await client.read_frame(timeout=10)
        await client.close()
    finally:
        proc.terminate()
        await proc.wait()


async def test_did_802_records_on_the_agent_channel(tmp_path: Path) -> None:
    async with make_sim(recordings_dir=tmp_path) as sim:
        handle = await sim.inbound_call("+3226550101", "802", agents={"agent1001": AgentScript(2, 8)})
        await handle.wait()
    start = next(f for f in sim.events if f["Event"] == "MixMonitorStart")
    assert start["Channel"].startswith("PJSIP/agent1001-") and start["Context"] == "sub-record-agent"
    (wav,) = tmp_path.iterdir()
    assert wav.name.endswith(f"-1001-{start['Uniqueid']}.wav")
    with wave.open(str(wav)) as w:
        assert 7.8 <= w.getnframes() / 8000 <= 8.5
