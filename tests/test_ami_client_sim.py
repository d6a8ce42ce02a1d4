"""AMI client against the PBX simulator (a real TCP AMI server from callcenter.sim)."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.ami.client import AMIAuthError, AMIClient
from callcenter.ami.protocol import Frame
from callcenter.sim import PBXSimulator
from tests.support.wait import until


def client_for(sim: object, **kw: object) -> AMIClient:
    opts: dict[str, object] = {
        "reconnect_min_s": 0.01,
        "reconnect_max_s": 0.2,
        "action_timeout_s": 2.0,
    }
    opts.update(kw)
    secret = str(opts.pop("secret", "secret"))
    return AMIClient("sim", "127.0.0.1", sim.port, "callcenter", secret, **opts)  # type: ignore[attr-defined,arg-type]


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_login_list_action_and_call_events(auth: str) -> None:
    events: list[Frame] = []
    connects: list[int] = []

    async def on_connect(c: AMIClient) -> None:
        connects.append(c.connects)

    async with PBXSimulator(speed=60, auth_fail_delay=0.01) as sim:
        client = client_for(sim, auth=auth, on_event=lambda f, t: events.append(f),
                            on_connect=on_connect)  # fmt: skip
        await client.start()
        try:
            assert client.connected and client.banner == "Asterisk Call Manager/11.0.0"
            status = await client.send_list_action({"Action": "QueueStatus"})
            assert status.response["Response"] == "Success"
            assert {e["Event"] for e in status.events} >= {"QueueParams", "QueueMember"}
            assert status.complete is not None and status.complete["Event"] == "QueueStatusComplete"
            handle = await sim.inbound_call("+3225550101", "800")
            await until(lambda: any(e.get("Event") == "AgentCalled" for e in events))
            assert any(e.get("Linkedid") == handle.linkedid for e in events)
            sim.disconnect_all()
            await until(lambda: connects == [1, 2])
        finally:
            await client.close()
        assert sim.actions[-1]["Action"] == "Logoff"


async def test_wrong_secret_against_the_simulator_retries_until_it_is_right() -> None:
    async with PBXSimulator(auth_fail_delay=0.01) as sim:
        client = client_for(sim, secret="WRONG")
        await client.start()
        try:
            assert client.state == "login_rejected"
            assert isinstance(client.last_error, AMIAuthError)
            assert "Authentication failed" in str(client.last_error)
            await asyncio.sleep(0.3)
            assert 2 <= sum(a.get("Action") == "Login" for a in sim.actions) <= 3  # every 0.2 s
            sim.secret = "WRONG"
            await until(lambda: client.connected)
        finally:
            await client.close()
