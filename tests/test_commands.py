"""The command port against the PBX simulator over real AMI (and its error results)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from callcenter.ami.client import AMIClient, AMIError
from callcenter.ami.protocol import Frame
from callcenter.commands import CommandPort
from callcenter.sim import AgentScript, PBXSimulator
from tests.support.wait import until


@pytest.fixture
async def sim_port() -> AsyncIterator[tuple[PBXSimulator, CommandPort]]:
    async with PBXSimulator(speed=60, keep_events=True, auth_fail_delay=0.01) as sim:
        client = AMIClient("sim", "127.0.0.1", sim.port, "callcenter", "secret",
                           action_timeout_s=2.0)
        await client.start()
        try:
            yield sim, CommandPort({"sim": client})
        finally:
            await client.close()


def last(sim: PBXSimulator, name: str) -> Frame:
    return [a for a in sim.actions if a.get("Action") == name][-1]


def without_id(action: Frame) -> dict[str, Any]:
    return {k: v for k, v in action.items() if k != "ActionID"}


async def test_queue_add_remove_and_pause_reach_the_pbx(
        sim_port: tuple[PBXSimulator, CommandPort]) -> None:
    sim, port = sim_port
    removed = await port.queue_remove("sim", "billing", "PJSIP/agent1001")
    assert removed.ok and "PJSIP/agent1001" not in sim.pbx.queues["billing"].members
    assert without_id(last(sim, "QueueRemove")) == {
        "Action": "QueueRemove", "Queue": "billing", "Interface": "PJSIP/agent1001"}

    added = await port.queue_add("sim", "billing", "PJSIP/agent1001", "Alice Agent")
    assert added.ok and added.message == "Added interface to queue"
    assert without_id(last(sim, "QueueAdd")) == {
        "Action": "QueueAdd", "Queue": "billing", "Interface": "PJSIP/agent1001",
        "MemberName": "Alice Agent", "Paused": "false"}
    again = await port.queue_add("sim", "billing", "PJSIP/agent1001", "Alice Agent")
    assert not again.ok and "Already there" in again.message

    paused = await port.pause("sim", "PJSIP/agent1001", True, "lunch")
    assert paused.ok
    assert without_id(last(sim, "QueuePause")) == {
        "Action": "QueuePause", "Interface": "PJSIP/agent1001", "Paused": "true",
        "Reason": "lunch"}
    member = sim.pbx.queues["billing"].members["PJSIP/agent1001"]
    assert (member.paused, member.paused_reason) == (True, "lunch")
    one = await port.pause("sim", "PJSIP/agent1001", False, queue="billing")
    assert one.ok and not member.paused
    assert without_id(last(sim, "QueuePause")) == {
        "Action": "QueuePause", "Interface": "PJSIP/agent1001", "Paused": "false",
        "Queue": "billing"}


async def test_originate_rings_the_agent_then_dials_out(
        sim_port: tuple[PBXSimulator, CommandPort]) -> None:
    sim, port = sim_port
    sim.pbx.agents["PJSIP/agent1002"].script = AgentScript(answer_after=1, talk=2)
    result = await port.originate("sim", "PJSIP/agent1002", "13800000001", "from-internal",
                                  {"FOLLOWUP_ID": "7"}, action_id="fu-7-x")
    assert result.ok and result.message == "Originate successfully queued"
    assert result.action_id == "fu-7-x"
    assert last(sim, "Originate") == {
        "Action": "Originate", "Channel": "PJSIP/agent1002", "Exten": "13800000001",
        "Context": "from-internal", "Priority": "1", "Async": "true",
        "Variable": "FOLLOWUP_ID=7", "ActionID": "fu-7-x"}
    await until(lambda: any(e.get("Event") == "DialBegin" and "trunk" in str(e.get("DestChannel"))
                            for e in sim.events))  # the outbound leg is dialled


async def test_errors_are_results_not_exceptions(
        sim_port: tuple[PBXSimulator, CommandPort]) -> None:
    sim, port = sim_port
    assert (await port.pause("sim", "PJSIP/nobody", True, "x")).message == "Interface not found"
    unknown = await port.queue_add("pbx9", "support", "PJSIP/agent1001", "A")
    assert not unknown.ok and unknown.message == "unknown server 'pbx9'"
    injected = await port.pause("sim", "PJSIP/agent1001", True, "lunch\r\nAction: Hangup")
    assert not injected.ok and "line break" in injected.message
    assert not any(a.get("Action") == "Hangup" for a in sim.actions)


class _Down:
    async def send_action(self, action: Mapping[str, Any],
                          timeout: float | None = None) -> Mapping[str, Any]:
        raise AMIError("AMI server pbx1 is not connected")


async def test_a_dropped_link_is_an_error_result() -> None:
    result = await CommandPort({"pbx1": _Down()}).queue_remove("pbx1", "q", "PJSIP/a")
    assert (result.ok, result.message) == (False, "AMI server pbx1 is not connected")
    assert CommandPort({"b": _Down(), "a": _Down()}).servers == ["a", "b"]
