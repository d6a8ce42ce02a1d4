"""Live views across instances: each instance publishes the live facts of the PBXs it
owns and folds in those of the others, through PostgreSQL's LISTEN/NOTIFY.

Used when ``[ha] enabled``: a wallboard opened on any instance shows every PBX. See
:mod:`callcenter.live.publish`, :mod:`callcenter.live.listen` and, for the messages,
:mod:`callcenter.live.wire`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg

from callcenter.live.consumer import CallSource, LiveConsumer
from callcenter.live.link import Connect
from callcenter.live.listen import LiveListener
from callcenter.live.present import present_facts
from callcenter.live.publish import LivePublisher


class LiveSync:
    """The publisher and the listener of one instance, tapped into its ``live``
    consumer; ``owns(server)`` says which PBXs this instance serves now."""

    def __init__(self, instance: str, connect: Connect, live: LiveConsumer, *,
                 calls: CallSource, owns: Callable[[str], bool]) -> None:
        self.publisher = LivePublisher(instance, connect,
                                       present=lambda: present_facts(live.state, owns))
        self.listener = LiveListener(instance, connect, live, calls=calls, owns=owns,
                                     on_hello=self.publisher.request_present)
        live.taps.append(self.publisher.tap)

    @classmethod
    def for_dsn(cls, instance: str, dsn: str, live: LiveConsumer, *, calls: CallSource,
                owns: Callable[[str], bool]) -> LiveSync:
        """A sync whose two links are connections to ``dsn``."""
        return cls(instance, lambda: asyncpg.connect(dsn), live, calls=calls, owns=owns)

    def tasks(self) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
        """The long-lived tasks to run (supervised), by name."""
        return {"live-publish": self.publisher.run, "live-listen": self.listener.run}

    def health(self) -> dict[str, Any]:
        """Figures for ``/readyz``."""
        pub, lis = self.publisher, self.listener
        return {"listening": lis.link.connected, "connects": lis.link.connects,
                "publishing": pub.link.connected,
                "published": pub.published, "queued": len(pub.queue),
                "dropped": pub.dropped, "received": lis.received, "malformed": lis.malformed,
                "last_error": lis.link.last_error or pub.link.last_error}
