"""The enforcer on one AMI server without the daemon's journal: for benches and lab tests.

AMI client → (observe) → tracker → enforcer, with the client's ``on_sent``
going to the tracker as in the daemon, so enforcement actions are tracked, and
full garbage collections kept away from deadlines as in the daemon.
The daemon wires the same pieces through its journal (see the README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from callcenter.ami.client import AMIClient
from callcenter.calls.model import Fact
from callcenter.quietgc import QuietGC
from callcenter.ringrule.enforcer import RingEnforcer
from callcenter.ringrule.policy import rule_for_settings
from callcenter.settings import Settings


@dataclass
class Harness:
    """A running client + tracker + enforcer; ``facts`` keeps every fact when asked."""

    client: AMIClient
    tracker: Any
    enforcer: RingEnforcer
    facts: list[Fact]
    gc: QuietGC
    frames: int = 0

    async def close(self) -> None:
        """Stop the enforcer, then log off."""
        self.gc.stop()
        await self.enforcer.close()
        await self.client.close()


async def start_harness(
    settings: Settings, enforcer: RingEnforcer, port: int, *, server: str = "sim",
    host: str = "127.0.0.1", username: str = "callcenter", secret: str = "secret",
    keep_facts: bool = True,
) -> Harness:
    """Connect to ``host:port`` and run the enforcer on what the tracker learns."""
    from callcenter.calls.tracker import CallTracker

    tracker = CallTracker(server, rule_for=rule_for_settings(settings))
    facts: list[Fact] = []

    def deliver(new: Sequence[Fact]) -> None:
        if new:
            if keep_facts:
                facts.extend(new)
            enforcer.feed(new)

    def on_frame(frame: Any, received_at: float) -> None:
        harness.frames += 1
        deliver(tracker.feed(frame, received_at))

    async def on_connect(client: AMIClient) -> None:
        await enforcer.on_connect(server, client)

    client = AMIClient(
        server, host, port, username, secret,
        on_event=enforcer.wrap_on_event(server, on_frame),
        on_sent=lambda action, at: deliver(tracker.feed_sent(action, at)),
        on_connect=on_connect,
    )
    harness = Harness(client, tracker, enforcer, facts, QuietGC([enforcer.quiet_for]))
    harness.gc.start()  # as in the daemon
    await client.start()
    return harness
