"""The callback service: answers the dialplan's FastAGI questions (key-account priority,
callback offer and request) and places the callbacks through the command port.

A real-time consumer of the tracker's facts (the queues' waiting callers and members,
the end of each callback's call). Requests live in PostgreSQL (:mod:`callcenter.store.
callbacks`); the loop places the ones whose turn has come, agent first (Originate to the
agent's phone, whose dialplan leg then dials the customer), with a linkedid chosen here
(``cc-cb-<id>-<attempt>``) and written before the action leaves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from callcenter.callbacks.agi import AgiRequest
from callcenter.callbacks.fastagi import Answer, FastAgiServer
from callcenter.callbacks.order import Pending, QueueView, choose
from callcenter.calls.model import CallbacksWaiting, CallEnded, CallRecord, Fact
from callcenter.commands import CommandPort
from callcenter.db import DATABASE_FAILURES
from callcenter.numbers import try_normalise
from callcenter.settings import CallbackSettings, Settings
from callcenter.store.callbacks import CallbackRepository, CallbackRequest

log = structlog.get_logger(__name__)

PRIORITY_DEFAULT: Answer = {"QUEUE_PRIO": "0", "CALLBACK_OFFER": "0"}
REQUEST_DEFAULT: Answer = {"CALLBACK_ACCEPTED": "0"}
LINKEDID_PREFIX = "cc-cb-"
TICK_S = 1.0
MIN_STEP_S = 0.05
STEP_TIMEOUT_S = 10.0
"""A dispatch round taking longer (PostgreSQL stalled) is given up and tried again."""
Locate = Callable[[str], tuple[str, CallRecord] | None]
"""linkedid → (server, its open call record) in the daemon's trackers, or None."""


def callback_linkedid(callback_id: int, attempt: int) -> str:
    """The linkedid (Originate ChannelId) of a callback's ``attempt``."""
    return f"{LINKEDID_PREFIX}{callback_id}-{attempt}"


def attempt_outcome(record: CallRecord) -> str:
    """reached | no_answer | busy | agent_no_answer | failed, from the callback's call."""
    if record.disposition == "answered":
        return "reached"
    if record.disposition in ("no_answer", "busy"):
        return record.disposition
    dialled_out = any(a.agent != record.agent for a in record.ring_attempts)
    return "failed" if dialled_out else "agent_no_answer"


class CallbackService:
    """See the module docstring; ``run()`` is its long-lived task."""

    realtime = True

    def __init__(self, settings: Settings, repo: CallbackRepository, *,
                 locate: Locate = lambda linkedid: None, servers: Sequence[str] = (),
                 on_board: Callable[[Fact], None] | None = None) -> None:
        self.cfg: CallbackSettings = settings.callbacks
        self.tiers = settings.customers.tiers
        self.interface_template = settings.agent_panel.interface_template
        self.repo = repo
        self.locate = locate
        self.servers = list(servers)
        self.on_board = on_board
        self.view = QueueView()
        self.commands: CommandPort | None = None
        self.busy: dict[str, str] = {}
        """interface → linkedid of the callback it is on."""
        self.placed = self.failed_dispatches = 0
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._ending: set[asyncio.Future[None]] = set()
        self.agi = FastAgiServer(self.cfg.agi_host, self.cfg.agi_port,
                                 {"priority": self.priority, "callback": self.request},
                                 {"priority": PRIORITY_DEFAULT, "callback": REQUEST_DEFAULT},
                                 timeout_s=self.cfg.request_timeout_s)

    def use_commands(self, port: CommandPort) -> None:
        self.commands = port

    def attach_daemon(self, daemon: Any) -> None:
        """Take the daemon's trackers (which server holds a call) and its live board."""
        from callcenter.live import LiveConsumer

        self.locate = daemon.locate
        live = next((c for c in daemon.consumers if isinstance(c, LiveConsumer)), None)
        if live is not None:
            self.on_board = lambda fact: live.feed([fact])

    async def serve_forever(self) -> None:
        """:meth:`run` (the daemon's supervisor runs it)."""
        await self.run()

    # -- facts ---------------------------------------------------------------------
    def feed(self, facts: Sequence[Fact]) -> None:
        """Follow the queues; end the attempts whose call ended."""
        self.view.apply(facts)
        for f in facts:
            if isinstance(f, CallEnded) and f.call.linkedid.startswith(LINKEDID_PREFIX):
                task = asyncio.ensure_future(self._ended(f.call))
                self._ending.add(task)
                task.add_done_callback(self._ending.discard)
        self._wake.set()

    async def _ended(self, record: CallRecord) -> None:
        try:
            await self.finish(record.linkedid, attempt_outcome(record))
        except Exception as exc:  # noqa: BLE001 - the loop resolves it from the call record
            self._problem(f"callback result not stored: {type(exc).__name__}: {exc}")

    # -- FastAGI handlers ------------------------------------------------------------
    async def priority(self, request: AgiRequest) -> Answer:
        """QUEUE_PRIO of the caller (key accounts by tier) and whether their queue offers
        a callback."""
        queue = request.args[0] if request.args else ""
        offer = "1" if self._offers(queue) else "0"
        number = try_normalise(request.get("callerid"))
        account = await self.repo.key_account(number) if number else None
        prio = 0 if account is None else self.tiers.get(account, self.cfg.key_account_priority)
        return {"QUEUE_PRIO": str(prio), "CALLBACK_OFFER": offer}

    async def request(self, request: AgiRequest) -> Answer:
        """Record a callback request (args: queue, linkedid, position, join epoch, the
        PBX's epoch now)."""
        args = [*request.args, "", "", "", "", ""]
        queue, linkedid, position, joined, pbx_now = args[:5]
        number = try_normalise(request.get("callerid"))
        found = self.locate(linkedid) if linkedid else None
        server = found[0] if found else (self.servers[0] if len(self.servers) == 1 else None)
        if not (self._offers(queue) and number and linkedid and server):
            return REQUEST_DEFAULT
        now = _epoch(pbx_now) or datetime.now(UTC)  # waits count on the PBX's clock
        joined_at = _joined(found[1] if found else None, joined, now)
        if (now - joined_at).total_seconds() < self.cfg.queues[queue].offer_after_s:
            return REQUEST_DEFAULT
        made = await self.repo.request(server=server, linkedid=linkedid, queue=queue,
                                       number=number, joined_at=joined_at,
                                       position=int(position) if position.isdigit()
                                       and int(position) > 0 else None)
        log.info("callback_requested", server=server, linkedid=linkedid, queue=queue,
                 callback_id=made.id)
        self._wake.set()
        return {"CALLBACK_ACCEPTED": "1", "CALLBACK_ID": str(made.id)}

    def _offers(self, queue: str) -> bool:
        q = self.cfg.queues.get(queue)
        return q is not None and q.enabled

    # -- placing callbacks ---------------------------------------------------------------
    async def run(self) -> None:
        """Serve FastAGI and place callbacks until cancelled."""
        try:
            while True:
                await self._listen()
                try:
                    await asyncio.wait_for(self.step(datetime.now(UTC)), STEP_TIMEOUT_S)
                    if self.agi.listening or not self.cfg.agi_enabled:
                        self.last_error = None
                except DATABASE_FAILURES as exc:
                    self._problem(f"database unreachable or stalled: {type(exc).__name__}: "
                                  f"{exc}")
                await asyncio.sleep(MIN_STEP_S)  # a burst of facts makes one round
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), TICK_S)
                except TimeoutError:
                    pass
        finally:
            await self.agi.close()

    async def _listen(self) -> None:
        """Start the FastAGI server when it should listen and does not (its port taken:
        an error, tried again next round; callers meanwhile get AGISTATUS=FAILURE)."""
        if not self.cfg.agi_enabled or self.agi.listening:
            return
        try:
            await self.agi.start()
        except OSError as exc:
            self._problem(f"FastAGI cannot listen on {self.cfg.agi_host}:"
                          f"{self.cfg.agi_port}: {exc}")

    async def step(self, now: datetime) -> list[CallbackRequest]:
        """One round: resolve attempts left in progress, publish the board, place what
        may be placed now; returns the open requests."""
        requests = await self.repo.open_requests()
        for r in requests:
            if r.status == "dialling" and r.dialling:
                await self._resolve(r, now)
        self.busy = {i: lid for i, lid in self.busy.items()
                     if any(r.dialling == lid for r in requests)}
        self._board(requests)
        due = [Pending(r.id, r.server, r.queue, r.joined_at) for r in requests
               if r.status == "waiting" and r.next_attempt_at <= now]
        for pending, interface in choose(due, self.view, set(self.busy)):
            await self.place(next(r for r in requests if r.id == pending.id), interface)
        return requests

    async def place(self, r: CallbackRequest, interface: str) -> bool:
        """Originate callback ``r`` to the agent on ``interface``; True when it left."""
        if self.commands is None:
            return False
        linkedid = callback_linkedid(r.id, r.attempts + 1)
        if not await self.repo.start_attempt(r.id, linkedid, interface):
            return False
        self.busy[interface] = linkedid
        result = await self.commands.send(r.server, {
            "Action": "Originate", "Channel": interface, "Context": self.cfg.originate_context,
            "Exten": r.number, "Priority": "1", "Async": "true", "ChannelId": linkedid,
            "Timeout": str(int(self.cfg.agent_ring_s * 1000)),
            "Variable": [f"CALLBACK_ID={r.id}", f"CALLBACK_OF={r.linkedid}"]})
        if not result.ok and "timeout" not in result.message.lower():
            await self.repo.undo_attempt(r.id, linkedid)  # nothing was placed
            self.busy.pop(interface, None)
            self.failed_dispatches += 1
            self._problem(f"callback {r.id} not placed: {result.message}")
            return False
        self.placed += 1
        log.info("callback_placed", server=r.server, linkedid=linkedid, callback_id=r.id,
                 interface=interface, original=r.linkedid)
        return True

    async def finish(self, linkedid: str, outcome: str) -> CallbackRequest | None:
        """End attempt ``linkedid``: reached, retried later, or given up."""
        now = datetime.now(UTC)
        self.busy = {i: lid for i, lid in self.busy.items() if lid != linkedid}
        callback_id = int(linkedid.removeprefix(LINKEDID_PREFIX).split("-")[0])
        current = await self.repo.get(callback_id)
        if current is None:
            return None
        q = self.cfg.queues.get(current.queue)
        tries = await self.repo.customer_tries(callback_id) + (
            outcome in ("no_answer", "busy", "failed"))
        give_up = (q.give_up_disposition if q else "unreachable") if (
            tries > (q.retries if q else 0)) else None
        delay = 0.0 if outcome == "agent_no_answer" else (q.retry_interval_s if q else 0.0)
        done = await self.repo.finish_attempt(
            linkedid, outcome, retry_at=now + timedelta(seconds=delay),
            give_up=None if outcome == "reached" else give_up, at=now)
        log.info("callback_attempt_ended", linkedid=linkedid, outcome=outcome,
                 status=done.status if done else None)
        self._wake.set()
        return done

    async def _resolve(self, r: CallbackRequest, now: datetime) -> None:
        """An attempt still in progress in the database whose call is not going on (a
        restart, or its end not stored): from its call record when there is one; failed
        when none appeared in ``resolve_after_s``."""
        assert r.dialling is not None
        if self.locate(r.dialling) is not None:
            return  # still going on: its CallEnded will tell
        outcome = await self.repo.call_outcome(r.server, r.dialling)
        if outcome is not None and outcome[1]:
            await self.finish(r.dialling, _outcome_of(outcome[0]))
        elif outcome is None and r.dialling_since is not None and (
                now - r.dialling_since).total_seconds() > self.cfg.resolve_after_s:
            await self.finish(r.dialling, "failed")

    # -- board and health -----------------------------------------------------------
    def _board(self, requests: Sequence[CallbackRequest]) -> None:
        if self.on_board is None:
            return
        by_queue: dict[str, list[datetime]] = {}
        for r in requests:
            by_queue.setdefault(r.queue, []).append(r.requested_at)
        self.on_board(CallbacksWaiting("", datetime.now(UTC), tuple(
            (q, len(times), min(times)) for q, times in sorted(by_queue.items()))))

    def _problem(self, text: str) -> None:
        """Log ``text`` at error level once (until it changes or things work again)."""
        if text != self.last_error:
            log.error("callback_problem", detail=text)
        self.last_error = text

    def health(self) -> dict[str, Any]:
        """For ``/readyz`` and ``/metrics``."""
        return {**self.agi.health(), "enabled": self.cfg.agi_enabled, "placed": self.placed,
                "failed_dispatches": self.failed_dispatches, "error": self.last_error,
                "on_callbacks": len(self.busy)}

    async def close(self) -> None:
        await self.agi.close()


def _outcome_of(disposition: str | None) -> str:
    """An attempt's outcome from its stored call's disposition."""
    if disposition == "answered":
        return "reached"
    return disposition if disposition in ("no_answer", "busy") else "failed"


def _joined(record: CallRecord | None, epoch: str, now: datetime) -> datetime:
    """When the caller joined the queue: the tracked call's, else the dialplan's epoch,
    else now."""
    if record is not None and record.queue_joined_at is not None:
        return record.queue_joined_at
    return _epoch(epoch) or now


def _epoch(text: str) -> datetime | None:
    """A dialplan ``${EPOCH}`` as a UTC time; None when empty or not a number."""
    try:
        return datetime.fromtimestamp(float(text), UTC) if text else None
    except (ValueError, OverflowError, OSError):
        return None
