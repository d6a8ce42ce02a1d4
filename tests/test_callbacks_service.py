"""The callback service against PostgreSQL: key-account priority, requests, retries and
give-up, no callback placed twice after a restart, the safe default when PostgreSQL is
down or stalled, the day's counts."""

from __future__ import annotations

import asyncio
import atexit
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.callbacks.agi import AgiRequest
from callcenter.callbacks.fastagi import FastAgiServer
from callcenter.callbacks.order import Pending, QueueView, choose
from callcenter.callbacks.service import (
    PRIORITY_DEFAULT,
    REQUEST_DEFAULT,
    CallbackService,
    callback_linkedid,
)
from callcenter.calls.model import AgentStateChanged, QueueCallerJoined
from callcenter.commands import CommandPort
from callcenter.settings import Settings, SettingsError, load_settings
from callcenter.sim.runconfig import free_port
from callcenter.store.callbacks import CallbackRepository
from callcenter.store.customers import CustomerEdit, CustomerRepository

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def settings(**callbacks: Any) -> Settings:
    base = {"agi_port": 0,
            "queues": {"support": {"offer_after_s": 0, "retries": 1, "retry_interval_s": 60,
                                   "give_up_disposition": "unreachable"}}}
    return Settings.model_validate({"callbacks": base | callbacks,
                                    "customers": {"tiers": {"gold": 20}},
                                    "servers": [{"name": "pbx"}]})


def member(n: int, paused: bool = False) -> AgentStateChanged:
    """agent100n, a member of support, available (or paused)."""
    return AgentStateChanged("pbx", T0, f"PJSIP/agent100{n}", f"agent100{n}", None, "support",
                             "available", paused, None, True)


def agi(script: str, *args: str, callerid: str = "+86 138 0000 0503") -> AgiRequest:
    return AgiRequest(script, list(args), {"callerid": callerid})


class Recorder:
    """An AMI client that answers every action Success and remembers it."""

    connected = True

    def __init__(self) -> None:
        self.actions: list[Mapping[str, Any]] = []

    async def send_action(self, action: Mapping[str, Any],
                          timeout: float | None = None) -> Mapping[str, Any]:
        self.actions.append(action)
        return {"Response": "Success", "Message": "Originate successfully queued"}


def service(pool: asyncpg.Pool, cfg: Settings | None = None) -> tuple[CallbackService, Recorder]:
    svc = CallbackService(cfg or settings(), CallbackRepository(pool), servers=["pbx"])
    ami = Recorder()
    svc.use_commands(CommandPort({"pbx": ami}))
    return svc, ami


async def key_account(pool: asyncpg.Pool, number: str, tier: str | None) -> None:
    customer = await CustomerRepository(pool).create(
        CustomerEdit(name="Key", company="", notes="", phones=[number]), actor="t")
    await pool.execute("UPDATE customers SET key_account = true, tier = $2 WHERE id = $1",
                       customer.id, tier)


async def test_priority_of_key_accounts_by_tier(pool: asyncpg.Pool) -> None:
    svc, _ = service(pool)
    await key_account(pool, "13800000503", "gold")
    await key_account(pool, "13800000504", None)
    assert await svc.priority(agi("priority", "support")) == {
        "QUEUE_PRIO": "20", "CALLBACK_OFFER": "1"}
    assert await svc.priority(agi("priority", "support", callerid="0086 13800000504")) == {
        "QUEUE_PRIO": "10", "CALLBACK_OFFER": "1"}
    assert await svc.priority(agi("priority", "sales", callerid="13800000501")) == {
        "QUEUE_PRIO": "0", "CALLBACK_OFFER": "0"}
    assert await svc.priority(agi("priority", "support", callerid="anonymous")) == {
        "QUEUE_PRIO": "0", "CALLBACK_OFFER": "1"}


async def test_request_is_recorded_once_and_refused_where_not_offered(
        pool: asyncpg.Pool) -> None:
    svc, _ = service(pool, settings(queues={"support": {"offer_after_s": 30}}))
    joined = datetime.now(UTC) - timedelta(seconds=40)
    args = ("support", "pbx-1.1", "3", str(joined.timestamp()))
    answer = await svc.request(agi("callback", *args))
    assert answer["CALLBACK_ACCEPTED"] == "1"
    again = await svc.request(agi("callback", *args))
    assert again == answer  # the same call asking twice keeps its request
    (r,) = await CallbackRepository(pool).open_requests()
    assert (r.server, r.linkedid, r.queue, r.number, r.position, r.status) == (
        "pbx", "pbx-1.1", "support", "13800000503", 3, "waiting")
    assert abs((r.joined_at - joined).total_seconds()) < 0.01
    too_soon = str(datetime.now(UTC).timestamp())
    for refused in (agi("callback", "support", "pbx-1.2", "1", too_soon),
                    agi("callback", "sales", "pbx-1.3", "1", args[3]),
                    agi("callback", "support", "pbx-1.4", "1", args[3], callerid="")):
        assert await svc.request(refused) == REQUEST_DEFAULT


async def placed(svc: CallbackService, ami: Recorder, joined: datetime, n: int = 1) -> int:
    """A request, a free member of support, one step: the callback's id."""
    made = await svc.repo.request(server="pbx", linkedid=f"pbx-9.{n}", queue="support",
                                  number="13800000503", joined_at=joined, position=1)
    svc.view.apply([member(1)])
    await svc.step(datetime.now(UTC))
    return made.id


async def test_originate_agent_first_with_its_own_linkedid(pool: asyncpg.Pool) -> None:
    svc, ami = service(pool)
    cid = await placed(svc, ami, T0)
    (action,) = ami.actions
    assert action == {"Action": "Originate", "Channel": "PJSIP/agent1001",
                      "Context": "callback-dial", "Exten": "13800000503", "Priority": "1",
                      "Async": "true", "ChannelId": callback_linkedid(cid, 1),
                      "Timeout": "20000",
                      "Variable": [f"CALLBACK_ID={cid}", "CALLBACK_OF=pbx-9.1"]}
    await svc.step(datetime.now(UTC))  # the agent is on it: nothing more
    assert len(ami.actions) == 1


async def test_no_answer_retries_then_gives_up(pool: asyncpg.Pool) -> None:
    svc, ami = service(pool, settings(queues={"support": {
        "offer_after_s": 0, "retries": 1, "retry_interval_s": 0.01,
        "give_up_disposition": "no_contact"}}))
    cid = await placed(svc, ami, T0)
    first = await svc.finish(callback_linkedid(cid, 1), "no_answer")
    assert first is not None and (first.status, first.attempts) == ("waiting", 1)
    await asyncio.sleep(0.02)
    await svc.step(datetime.now(UTC))
    assert [a["ChannelId"] for a in ami.actions] == [callback_linkedid(cid, n) for n in (1, 2)]
    last = await svc.finish(callback_linkedid(cid, 2), "busy")
    assert last is not None and (last.status, last.disposition) == ("gave_up", "no_contact")
    assert await svc.finish(callback_linkedid(cid, 2), "reached") is None  # told twice
    attempts = await svc.repo.attempts(cid)
    assert [(a["attempt"], a["outcome"]) for a in attempts] == [(1, "no_answer"), (2, "busy")]


async def test_agent_not_answering_is_no_customer_try(pool: asyncpg.Pool) -> None:
    svc, ami = service(pool, settings(queues={"support": {"offer_after_s": 0, "retries": 0}}))
    cid = await placed(svc, ami, T0)
    again = await svc.finish(callback_linkedid(cid, 1), "agent_no_answer")
    assert again is not None and again.status == "waiting"
    await svc.step(datetime.now(UTC))
    assert len(ami.actions) == 2
    done = await svc.finish(callback_linkedid(cid, 2), "reached")
    assert done is not None and (done.status, done.disposition) == ("reached", "reached")
    counts = await svc.repo.counts(T0, datetime.now(UTC) + timedelta(minutes=1))
    assert (counts.requested, counts.made, counts.reached) == (1, 1, 1)


async def test_an_attempt_in_progress_at_a_restart_is_never_placed_again(
        pool: asyncpg.Pool) -> None:
    """A daemon killed after writing an attempt (its Originate may have left): the next
    run resolves it from the call record, or waits for one, and never dials it again."""
    first, _ = service(pool)
    cid = await placed(first, Recorder(), T0)
    ongoing = await first.repo.request(server="pbx", linkedid="pbx-9.2", queue="support",
                                       number="13800000504", joined_at=T0, position=2)
    await first.repo.start_attempt(ongoing.id, callback_linkedid(ongoing.id, 1),
                                   "PJSIP/agent1002")
    # the first callback's call was answered and stored by the time of the restart
    await pool.execute("INSERT INTO calls (server, linkedid, started_at, ended_at, direction,"
                       " disposition) VALUES ('pbx', $1, now(), now(), 'outbound', 'answered')",
                       callback_linkedid(cid, 1))
    second, ami = service(pool)
    second.view.apply([member(1), member(2)])
    requests = await second.step(datetime.now(UTC))
    assert ami.actions == []
    assert (await second.repo.get(cid)).status == "reached"  # type: ignore[union-attr]
    assert [r.status for r in requests if r.id == ongoing.id] == ["dialling"]
    # no call record ever appeared: after resolve_after_s it failed (a customer try), and
    # is tried again after the retry interval
    await second.step(datetime.now(UTC) + timedelta(seconds=301))
    assert ami.actions == []
    await second.step(datetime.now(UTC) + timedelta(seconds=400))
    assert [a["ChannelId"] for a in ami.actions] == [callback_linkedid(ongoing.id, 2)]


async def test_database_down_or_stalled_gives_the_safe_default(pool: asyncpg.Pool) -> None:
    """PostgreSQL refusing connections, or accepting and never answering: the dialplan
    still gets its answer (no priority, no offer) within the request timeout."""
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(60)

    stalled = await asyncio.start_server(stall, "127.0.0.1", 0)
    ports = [free_port(), stalled.sockets[0].getsockname()[1]]
    try:
        for port in ports:
            dead = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{port}/x",
                                             min_size=0, timeout=30)
            svc, _ = service(dead, settings(request_timeout_s=0.3))
            server = FastAgiServer("127.0.0.1", 0, {"priority": svc.priority},
                                   {"priority": PRIORITY_DEFAULT}, timeout_s=0.3)
            answer, outcome = await asyncio.wait_for(server.answer(agi("priority", "support")),
                                                     2)
            assert (answer, outcome) == (PRIORITY_DEFAULT, "default")
            dead.terminate()
    finally:
        stalled.close()


def test_choose_keeps_the_callers_place() -> None:
    """A callback whose caller joined before the head of the queue goes first; a later
    one waits; each takes a different free member."""
    view = QueueView()
    view.apply([QueueCallerJoined("pbx", T0 + timedelta(seconds=10), "b", "support", 1),
                QueueCallerJoined("pbx", T0 + timedelta(seconds=30), "vip", "support", 1),
                member(1), member(2), member(3)])
    assert view.head("pbx", "support") == T0 + timedelta(seconds=30)  # the key account
    early = Pending(1, "pbx", "support", T0)
    late = Pending(2, "pbx", "support", T0 + timedelta(seconds=40))
    also_early = Pending(3, "pbx", "support", T0 + timedelta(seconds=5))
    assert choose([late, early, also_early], view, {"PJSIP/agent1001"}) == [
        (early, "PJSIP/agent1002"), (also_early, "PJSIP/agent1003")]
    view.apply([member(2, paused=True)])
    assert choose([early], view, {"PJSIP/agent1001", "PJSIP/agent1003"}) == []


def test_settings_refuse_a_fastagi_address_beyond_loopback() -> None:
    for bad in ('agi_host = "0.0.0.0"', 'agi_host = "10.0.0.5"', "agi_port = 70000",
                "key_account_priority = -1",
                '[callbacks.queues.support]\ngive_up_disposition = "Bad Words"'):
        toml = bad if bad.startswith("[callbacks.") else f"[callbacks]\n{bad}"
        with pytest.raises(SettingsError, match="callbacks"):
            load_settings(tmp_path_of(toml), env={})


def tmp_path_of(toml: str) -> Path:
    """A TOML file holding ``toml`` (removed at exit)."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(toml)
    atexit.register(os.unlink, f.name)
    return Path(f.name)


async def test_fastagi_port_taken_is_reported_and_retried(pool: asyncpg.Pool) -> None:
    from tests.support.wait import until

    taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = taken.sockets[0].getsockname()[1]
    svc, _ = service(pool, settings(agi_port=port))
    task = asyncio.create_task(svc.serve_forever())
    try:
        await until(lambda: svc.last_error is not None)
        health = svc.health()
        assert not health["listening"] and f"cannot listen on 127.0.0.1:{port}" in health["error"]
        taken.close()
        await taken.wait_closed()
        await until(lambda: svc.agi.listening)
        await until(lambda: svc.last_error is None)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_dispatch_with_the_database_down_is_reported_and_goes_on() -> None:
    from tests.support.wait import until

    dead = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{free_port()}/x",
                                     min_size=0)
    svc, _ = service(dead)
    task = asyncio.create_task(svc.serve_forever())
    try:
        await until(lambda: "database unreachable" in (svc.last_error or ""))
        assert not task.done() and svc.agi.listening  # the dialplan still gets its answers
        assert "database unreachable" in svc.health()["error"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        dead.terminate()
