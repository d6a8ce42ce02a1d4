"""AMI client against a small fake AMI server on 127.0.0.1 (real TCP, fast timings)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from callcenter.ami.client import (
    AMIAuthError,
    AMIClient,
    AMIError,
    AMITimeout,
    ListResult,
    backoff_delay,
)
from callcenter.ami.protocol import AMIProtocol, Frame, serialize_frame
from tests.support.wait import until


class FakeAMI:
    """Greets, checks secrets (plain and md5), answers actions, can stay silent or cut."""

    def __init__(self, secret: str = "s3cret") -> None:
        self.secret = secret
        self.actions: list[Frame] = []
        self.silent: set[str] = set()  # actions never answered
        self.connections = 0
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        self.drop()
        await self.server.wait_closed()

    def count(self, action: str) -> int:
        return sum(a.get("Action") == action for a in self.actions)

    def emit(self, frame: Frame) -> None:
        for w in self.writers:
            w.write(serialize_frame(frame))

    def drop(self, partial: bytes = b"") -> None:
        """Close every connection, after writing ``partial`` (half a frame)."""
        for w in list(self.writers):
            w.write(partial)
            w.close()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.add(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        proto, challenge = AMIProtocol(), ""
        try:
            while data := await reader.read(65536):
                for action in proto.feed(data):
                    self.actions.append(action)
                    name, aid = str(action.get("Action")), str(action.get("ActionID"))
                    if name in self.silent:
                        continue
                    if name == "Challenge":
                        challenge = "145769581"
                        self._reply(writer, aid, "Success", Challenge=challenge)
                    elif name == "Login":
                        key = hashlib.md5(f"{challenge}{self.secret}".encode()).hexdigest()
                        if action.get("Secret") == self.secret or (
                            challenge and action.get("Key") == key
                        ):
                            self._reply(writer, aid, "Success", Message="Authentication accepted")
                            writer.write(
                                serialize_frame({"Event": "FullyBooted", "Status": "Fully Booted"})
                            )
                        else:
                            self._reply(writer, aid, "Error", Message="Authentication failed")
                            writer.close()
                    elif name == "Logoff":
                        self._reply(writer, aid, "Goodbye", Message="Thanks for all the fish.")
                        writer.close()
                    elif name == "Echo":  # answered late, later ones first
                        delay = 0.05 - int(str(action["Value"])) * 0.004
                        asyncio.get_running_loop().call_later(
                            delay,
                            lambda a=aid, v=action["Value"]: self._reply(
                                writer, a, "Success", Value=v
                            ),
                        )
                    elif name == "QueueStatus":
                        self._reply(
                            writer,
                            aid,
                            "Success",
                            EventList="start",
                            Message="Queue status will follow",
                        )
                        for i in range(3):
                            writer.write(
                                serialize_frame(
                                    {"Event": "QueueMember", "ActionID": aid, "Name": f"a{i}"}
                                )
                            )
                        writer.write(
                            serialize_frame(
                                {
                                    "Event": "QueueStatusComplete",
                                    "ActionID": aid,
                                    "EventList": "Complete",
                                    "ListItems": "3",
                                }
                            )
                        )
                    elif name == "Ping":
                        self._reply(writer, aid, "Success", Ping="Pong")
                    else:
                        self._reply(writer, aid, "Error", Message="Invalid/unknown command")
        except ConnectionError:
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    @staticmethod
    def _reply(writer: asyncio.StreamWriter, aid: str, response: str, **fields: Any) -> None:
        if not writer.is_closing():
            writer.write(serialize_frame({"Response": response, "ActionID": aid, **fields}))


@pytest.fixture
async def fake() -> AsyncIterator[FakeAMI]:
    server = FakeAMI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_client(fake: FakeAMI) -> AsyncIterator[Callable[..., AMIClient]]:
    clients: list[AMIClient] = []

    def make(**kw: Any) -> AMIClient:
        opts: dict[str, Any] = {
            "ping_interval_s": 5.0, "ping_timeout_s": 0.1, "action_timeout_s": 0.5,
            "reconnect_min_s": 0.01, "reconnect_max_s": 0.2,
        }  # fmt: skip
        opts.update(kw)
        secret = opts.pop("secret", "s3cret")
        client = AMIClient("pbx1", "127.0.0.1", fake.port, "callcenter", secret, **opts)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def test_plain_login_events_and_journal_hooks(fake: FakeAMI, make_client: Any) -> None:
    events: list[Frame] = []
    sent: list[dict[str, Any]] = []
    connects: list[AMIClient] = []

    async def on_connect(c: AMIClient) -> None:
        connects.append(c)

    client = make_client(on_event=lambda f, t: events.append(f), on_sent=lambda a, t: sent.append(a),
                         on_connect=on_connect)  # fmt: skip
    await client.start()
    assert client.connected and client.banner == "Asterisk Call Manager/11.0.0"
    await until(lambda: len(connects) == 1 and any(e.get("Event") == "FullyBooted" for e in events))
    login = fake.actions[0]
    assert login["Action"] == "Login" and login["Secret"] == "s3cret" and login["Events"] == "on"
    assert sent[0]["Action"] == "Login" and sent[0]["Secret"] == "***"  # never journal a secret
    assert events[0]["Response"] == "Success"  # responses reach on_event too, in order


async def test_md5_challenge_login(fake: FakeAMI, make_client: Any) -> None:
    client = make_client(auth="md5")
    await client.start()
    assert client.connected
    challenge, login = fake.actions[:2]
    assert challenge["Action"] == "Challenge" and challenge["AuthType"] == "md5"
    assert login["AuthType"] == "md5" and "Secret" not in login
    assert login["Key"] == hashlib.md5(b"145769581s3cret").hexdigest()


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_wrong_secret_is_one_clear_line_per_try_never_a_raise(
    fake: FakeAMI, make_client: Any, auth: str
) -> None:
    client = make_client(secret="WRONG", auth=auth, reconnect_max_s=0.15)
    with capture_logs() as logs:
        await client.start()  # returns: the other servers of a daemon go on starting
        await asyncio.sleep(0.5)
    assert (client.connected, client.login_rejected, client.state) == (
        False, True, "login_rejected")
    assert isinstance(client.last_error, AMIAuthError)
    assert "rejected: Authentication failed" in str(client.last_error)
    tries = fake.count("Login")
    assert 2 <= tries <= 5 and fake.connections == tries  # one try per 0.15 s, never a storm
    assert {e["event"] for e in logs} == {"ami_login_rejected"}  # one line per refusal
    assert len(logs) in (tries, tries - 1)
    assert all(e["log_level"] == "error" and "exc_info" not in e for e in logs)
    assert "rejected: Authentication failed" in logs[0]["error"]
    fake.secret = "WRONG"  # the PBX's secret changed to the one we have
    await until(lambda: client.connected)
    assert (client.login_rejected, client.state) == (False, "connected")


async def test_rejected_on_reconnect_retries_only_at_the_cap(
    fake: FakeAMI, make_client: Any
) -> None:
    client = make_client(reconnect_max_s=0.15)
    await client.start()
    fake.secret = "rotated"
    fake.drop()
    await asyncio.sleep(0.5)
    assert 2 <= fake.count("Login") <= 5  # 1 + one try per 0.15 s, never a storm
    assert isinstance(client.last_error, AMIAuthError)


async def test_server_closes_mid_frame_then_reconnect_and_resync(
    fake: FakeAMI, make_client: Any
) -> None:
    events: list[Frame] = []
    connects: list[int] = []

    async def on_connect(c: AMIClient) -> None:
        connects.append(c.connects)

    client = make_client(on_event=lambda f, t: events.append(f), on_connect=on_connect)
    await client.start()
    await until(lambda: connects == [1])
    fake.drop(partial=b"Event: Newchannel\r\nChannel: PJSIP/age")
    await until(lambda: connects == [1, 2])
    assert client.connected and fake.connections == 2
    fake.emit({"Event": "Hangup", "Channel": "PJSIP/agent1001-1"})
    await until(lambda: events[-1].get("Event") == "Hangup")
    assert not any(e.get("Event") == "Newchannel" for e in events)  # the half frame is dropped


async def test_action_without_answer_times_out(fake: FakeAMI, make_client: Any) -> None:
    client = make_client()
    await client.start()
    fake.silent.add("QueuePause")
    t0 = time.monotonic()
    with pytest.raises(AMITimeout, match="no response to QueuePause"):
        await client.send_action(
            {"Action": "QueuePause", "Interface": "PJSIP/agent1001"}, timeout=0.05
        )
    assert time.monotonic() - t0 < 0.5
    assert client.connected  # a lost answer does not drop the link


async def test_ten_concurrent_actions_get_their_own_responses(
    fake: FakeAMI, make_client: Any
) -> None:
    client = make_client()
    await client.start()
    results = await asyncio.gather(
        *(client.send_action({"Action": "Echo", "Value": str(i)}) for i in range(10))
    )
    assert [r["Value"] for r in results] == [str(i) for i in range(10)]
    assert len({r["ActionID"] for r in results}) == 10


async def test_ping_timeout_detects_half_open_link_and_reconnects(
    fake: FakeAMI, make_client: Any
) -> None:
    client = make_client(ping_interval_s=0.03, ping_timeout_s=0.03)
    await client.start()
    fake.silent.add("Ping")  # the peer vanished without a FIN
    await until(lambda: fake.connections >= 2 and client.connected)
    assert client.connects >= 2


async def test_handler_exception_never_drops_events(fake: FakeAMI, make_client: Any) -> None:
    seen: list[str] = []

    def on_event(frame: Frame, received_at: float) -> None:
        if frame.get("Event") == "UserEvent":
            seen.append(str(frame["N"]))
            if frame["N"] == "3":
                raise RuntimeError("consumer bug")

    client = make_client(on_event=on_event)
    await client.start()
    for i in range(200):
        fake.emit({"Event": "UserEvent", "N": str(i)})
    await until(lambda: len(seen) == 200)
    assert seen == [str(i) for i in range(200)]  # arrival order
    assert client.connects == 1 and client.connected


async def test_event_list_collected_into_one_result(fake: FakeAMI, make_client: Any) -> None:
    client = make_client()
    await client.start()
    result = await client.send_list_action({"Action": "QueueStatus"})
    assert isinstance(result, ListResult)
    assert result.response["EventList"] == "start"
    assert [e["Name"] for e in result.events] == ["a0", "a1", "a2"]
    assert result.complete is not None and result.complete["ListItems"] == "3"
    error = await client.send_list_action({"Action": "NoSuchList"})
    assert error.response["Response"] == "Error" and error.events == []


async def test_close_logs_off_and_pending_actions_fail_on_disconnect(
    fake: FakeAMI, make_client: Any
) -> None:
    client = make_client()
    await client.start()
    fake.silent.add("Status")
    pending = asyncio.ensure_future(client.send_action({"Action": "Status"}, timeout=5))
    await until(lambda: fake.count("Status") == 1)
    fake.drop()
    with pytest.raises(AMIError, match="lost"):
        await pending
    await until(lambda: client.connected)
    await client.close()
    assert fake.actions[-1]["Action"] == "Logoff"
    assert not client.connected
    with pytest.raises(AMIError, match="not connected"):
        await client.send_action({"Action": "Ping"})
    await asyncio.sleep(0.05)
    assert fake.connections == 2  # closed means no reconnect


async def test_start_while_server_down_then_backoff_until_it_comes_up() -> None:
    server = FakeAMI()
    await server.start()
    port = server.port
    await server.stop()
    client = AMIClient("pbx2", "127.0.0.1", port, "callcenter", "s3cret",
                       reconnect_min_s=0.01, reconnect_max_s=0.05)  # fmt: skip
    await client.start()  # returns: not connected, retrying
    assert not client.connected and isinstance(client.last_error, OSError)
    revived = FakeAMI()
    revived.server = await asyncio.start_server(revived._serve, "127.0.0.1", port)
    try:
        await until(lambda: client.connected)
    finally:
        await client.close()
        await revived.stop()


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    for failures, low, high in ((1, 0.25, 0.5), (2, 0.5, 1.0), (5, 4.0, 8.0), (60, 15.0, 30.0)):
        waits = [backoff_delay(failures, 0.5, 30.0) for _ in range(200)]
        assert low <= min(waits) and max(waits) <= high
        assert len(set(waits)) > 100  # jittered, so clients do not reconnect in lockstep
    assert backoff_delay(10_000, 0.5, 30.0) <= 30.0  # never hours


async def test_slow_async_consumer_is_not_taken_for_a_dead_link(
    fake: FakeAMI, make_client: Any
) -> None:
    seen: list[str] = []

    async def on_event(frame: Frame, received_at: float) -> None:
        if frame.get("Event") == "UserEvent":
            await asyncio.sleep(0.02)  # back-pressure from a full queue
            seen.append(str(frame["N"]))

    client = make_client(on_event=on_event, ping_interval_s=0.01, ping_timeout_s=0.02)
    await client.start()
    for i in range(15):
        fake.emit({"Event": "UserEvent", "N": str(i)})
    await until(lambda: len(seen) == 15)
    assert seen == [str(i) for i in range(15)]
    assert client.connects == 1 and fake.connections == 1


async def test_several_named_servers_at_once(make_client: Any) -> None:
    servers = [FakeAMI(), FakeAMI()]
    got: list[tuple[str, str]] = []
    clients = []
    for i, server in enumerate(servers):
        await server.start()
        name = f"pbx{i + 1}"
        client = AMIClient(name, "127.0.0.1", server.port, "callcenter", "s3cret",
                           on_event=lambda f, t, n=name: got.append((n, str(f.get("Event")))))  # fmt: skip
        await client.start()
        clients.append(client)
    servers[1].emit({"Event": "Hangup"})
    await until(lambda: ("pbx2", "Hangup") in got)
    assert ("pbx1", "Hangup") not in got
    for client, server in zip(clients, servers):
        await client.close()
        await server.stop()


async def test_actions_need_a_logged_in_link(fake: FakeAMI, make_client: Any) -> None:
    client = make_client()
    with pytest.raises(AMIError, match="not connected"):
        await client.send_action({"Action": "Ping"})
    await client.start()
    assert (await client.send_action({"Action": "Ping"}))["Ping"] == "Pong"
