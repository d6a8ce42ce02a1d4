"""Listening to the other instances' live facts (``LISTEN callcenter_live``).

On a dedicated connection, kept up with a backoff. On each (re)connect, nothing missed
stays missing: today's stored calls are counted again (those not counted yet) and a
``hello`` asks every owner for the present of its PBXs. The facts of PBXs this instance
does not own are folded into its live consumer; its own messages are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import structlog

from callcenter.db import DATABASE_FAILURES
from callcenter.live.consumer import CallSource, LiveConsumer
from callcenter.live.link import TIMEOUT_S, Connect, LinkHealth, keep_connected
from callcenter.live.wire import CHANNEL, hello, unpack
from callcenter.store.live_channel import notify, ping

log = structlog.get_logger(__name__)

KEEPALIVE_S = 5.0
"""How often an idle link is checked (a silently broken one is replaced)."""


class LiveListener:
    """Feeds ``live`` the facts other instances publish about PBXs ``owns`` says no to;
    ``on_hello`` is called when another instance asks for the present."""

    def __init__(self, instance: str, connect: Connect, live: LiveConsumer, *,
                 calls: CallSource, owns: Callable[[str], bool],
                 on_hello: Callable[[], None]) -> None:
        self.instance = instance
        self.connect = connect
        self.live = live
        self.calls = calls
        self.owns = owns
        self.on_hello = on_hello
        self.link = LinkHealth()
        self.received = 0
        """Notifications received from other instances."""
        self.malformed = 0

    async def run(self) -> None:
        """Listen until cancelled."""
        await keep_connected("listen", self.connect, self._listen, self.link)

    async def _listen(self, conn: asyncpg.Connection) -> None:
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _: closed.set())
        await conn.add_listener(CHANNEL, self._notified)
        with contextlib.suppress(*DATABASE_FAILURES):  # the board runs from live facts meanwhile
            await asyncio.wait_for(self.live.seed(self.calls, again=True), TIMEOUT_S)
        await notify(conn, CHANNEL, [hello(self.instance, 0)])
        log.info("live_sync_listening", instance=self.instance)
        while not closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), KEEPALIVE_S)
                continue
            await asyncio.wait_for(ping(conn), TIMEOUT_S)
        raise ConnectionError("live sync connection closed")

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        try:
            message = unpack(str(payload))
        except (ValueError, KeyError, TypeError):
            self.malformed += 1
            log.error("live_sync_malformed", payload=str(payload)[:200])
            return
        if message.instance == self.instance:
            return
        self.received += 1
        if message.hello:
            self.on_hello()
            return
        facts = [f for f in message.facts if not self.owns(f.server)]
        try:
            self.live.feed_remote(facts)
        except Exception:  # one bad fact must not end the sync
            log.exception("live_sync_apply_failed", sender=message.instance)
