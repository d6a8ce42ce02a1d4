"""The AGI protocol (pure), the daemon's FastAGI server against hostile and slow input,
and the simulator's AGI client when the daemon is away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from callcenter.callbacks.agi import AgiError, AgiReader, AgiReply, AgiRequest, set_variable
from callcenter.callbacks.fastagi import FastAgiServer
from callcenter.sim.agi import environment, run_agi
from callcenter.sim.clock import SimClock
from callcenter.sim.model import SimConfig
from callcenter.sim.pbx import PBX
from callcenter.sim.runconfig import free_port

ENV = (b"agi_network: yes\nagi_network_script: priority\n"
       b"agi_request: agi://127.0.0.1:4573/priority\nagi_channel: PJSIP/trunk-00000067\n"
       b"agi_callerid: 13800000503\nagi_dnid: unknown\nagi_arg_1: support\n"
       b"agi_arg_2: pbx4-1796602341.103\n\n")


def feed_bytewise(reader: AgiReader, data: bytes) -> list[AgiRequest | AgiReply]:
    out: list[AgiRequest | AgiReply] = []
    for i in range(len(data)):
        out += reader.feed(data[i:i + 1])
    return out


def test_environment_gives_the_request_in_any_chunking() -> None:
    for items in (AgiReader().feed(ENV), feed_bytewise(AgiReader(), ENV)):
        assert len(items) == 1 and isinstance(items[0], AgiRequest)
        req = items[0]
        assert req.script == "priority" and req.args == ["support", "pbx4-1796602341.103"]
        assert req.get("callerid") == "13800000503" and req.get("dnid") == ""


def test_script_from_the_request_url_and_crlf() -> None:
    env = b"agi_request: agi://127.0.0.1/callback?x=1\r\nagi_arg_1: support\r\n\r\n"
    (req,) = AgiReader().feed(env)
    assert isinstance(req, AgiRequest) and req.script == "callback" and req.args == ["support"]


def test_replies_results_usage_text_and_hangup() -> None:
    reader = AgiReader()
    reader.feed(ENV)
    items = reader.feed(b"200 result=1\n200 result=0 (timeout)\n510 Invalid or unknown command"
                        b"\n520-Invalid command syntax.  Proper usage follows:\nUsage: SET "
                        b"VARIABLE <variablename> <value>\n520 End of proper usage.\nHANGUP\n")
    assert items == [AgiReply(200, 1, ""), AgiReply(200, 0, "timeout"),
                     AgiReply(510, None, "Invalid or unknown command"),
                     AgiReply(520, None, "End of proper usage."), AgiReply(511, hangup=True)]


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",            # not AGI at all
    b"agi_network: yes\n\n",                          # no script
    b"agi_network_script: ../../etc/passwd\n\n",      # a path, not a script name
    b"agi_network_script: priority\nagi_x: \x00\n\n",  # control characters
    b"agi_network_script: \xff\xfe\n\n",              # not UTF-8
    b"agi_" + b"a" * 5000,                            # a line without end
    b"".join(b"agi_v%d: 1\n" % n for n in range(100)),  # an endless environment
    ENV + b"200 ok\n",                                # a 200 reply without result=
    ENV + b"hello\n",                                 # not a reply
])
def test_hostile_input_is_an_agi_error(data: bytes) -> None:
    with pytest.raises(AgiError):
        AgiReader().feed(data)
    with pytest.raises(AgiError):
        feed_bytewise(AgiReader(), data)


def test_set_variable_quotes_and_refuses_what_would_inject_a_command() -> None:
    assert set_variable("QUEUE_PRIO", "10") == b'SET VARIABLE QUEUE_PRIO "10"\n'
    assert set_variable("X", 'a "b" \\') == b'SET VARIABLE X "a \\"b\\" \\\\"\n'
    for name, value in (("X Y", "1"), ("X", "1\nHANGUP"), ("", "1")):
        with pytest.raises(ValueError):
            set_variable(name, value)


# --- the server ----------------------------------------------------------------------------

async def slow(request: AgiRequest) -> dict[str, str]:
    await asyncio.sleep(30)
    return {"QUEUE_PRIO": "99"}


async def broken(request: AgiRequest) -> dict[str, str]:
    raise OSError("connection refused (PostgreSQL)")


async def fine(request: AgiRequest) -> dict[str, str]:
    return {"QUEUE_PRIO": "10", "CALLBACK_OFFER": "1"}


@pytest.fixture
async def server() -> AsyncIterator[FastAgiServer]:
    srv = FastAgiServer("127.0.0.1", 0, {"priority": fine, "slow": slow, "broken": broken},
                        {"priority": {"QUEUE_PRIO": "0"}, "slow": {"QUEUE_PRIO": "0"},
                         "broken": {"QUEUE_PRIO": "0"}}, timeout_s=0.3)
    await srv.start()
    yield srv
    await srv.close()


async def exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` as a PBX would and answer every command with 200; all the server sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    got = b""
    while line := await asyncio.wait_for(reader.readline(), 5):
        got += line
        writer.write(b"200 result=1\n")
    writer.close()
    return got


async def test_server_answers_with_set_variable_then_closes(server: FastAgiServer) -> None:
    got = await exchange(server.port, ENV)
    assert got == b'SET VARIABLE QUEUE_PRIO "10"\nSET VARIABLE CALLBACK_OFFER "1"\n'
    assert server.requests["priority", "ok"] == 1


@pytest.mark.parametrize("script", ["slow", "broken"])
async def test_slow_or_failing_handler_gets_the_safe_default(server: FastAgiServer,
                                                             script: str) -> None:
    env = ENV.replace(b"agi_network_script: priority", b"agi_network_script: " + script.encode())
    assert await exchange(server.port, env) == b'SET VARIABLE QUEUE_PRIO "0"\n'
    assert server.requests[script, "default"] == 1
    assert server.last_error is not None and script in server.last_error


async def test_hostile_sessions_are_closed_and_the_server_serves_on(
        server: FastAgiServer) -> None:
    for data in (b"\x00\x01\x02\n\n", b"agi_network_script: nope\n\n", b"x" * 10000,
                 b"agi_network: yes\n"):  # the last one never ends its environment
        assert await exchange(server.port, data) == b""
    assert server.requests["?", "refused"] == 3 and server.requests["nope", "refused"] == 1
    assert server.listening and await exchange(server.port, ENV)
    assert server.health()["requests"]["priority:ok"] == 1


async def test_sim_agi_client_talks_to_the_server(server: FastAgiServer) -> None:
    pbx = PBX(SimConfig.default(), SimClock())
    pbx.agi_address = ("127.0.0.1", server.port)
    ch = pbx.new_channel("trunk", "13800000503", "Cust", "from-trunk", "810", 6)
    assert environment(pbx, ch, "agi://x/priority", "priority", ["support"]).endswith(
        b"agi_arg_1: support\n\n")
    got = await run_agi(pbx, ch, "5", "priority", ["support", ch.linkedid])
    assert got == {"QUEUE_PRIO": "10", "CALLBACK_OFFER": "1", "AGISTATUS": "SUCCESS"}


async def test_daemon_away_is_agistatus_failure_at_once() -> None:
    events: list[dict[str, object]] = []
    pbx = PBX(SimConfig.default(), SimClock())
    pbx.listeners.append(events.append)
    pbx.agi_address = ("127.0.0.1", free_port())  # nobody listens there
    ch = pbx.new_channel("trunk", "13800000501", "Cust", "from-trunk", "810", 6)
    got = await asyncio.wait_for(run_agi(pbx, ch, "5", "priority", ["support"]), 3)
    assert got == {"AGISTATUS": "FAILURE"}
    assert [(e["Variable"], e["Value"]) for e in events if e["Event"] == "VarSet"] == [
        ("AGISTATUS", "FAILURE")]
