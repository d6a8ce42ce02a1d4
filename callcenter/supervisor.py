"""Supervised long-lived tasks: an unexpected end is logged, then restarted or fatal.

Every long-lived task of the daemon (pipelines, durable paths, the spool
drainer, consumers' loops) runs under a :class:`Supervisor`. A task that
raises, or returns while it should run, is logged at error level with its
traceback and restarted after a short backoff; one that fails
``max_restarts`` times within ``window_s`` is fatal: ``on_fatal`` is called
(``callcenter run`` then stops and exits non-zero, so systemd or Docker
restarts the process). Never a living process that no longer ingests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger(__name__)

Factory = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Watched:
    """One supervised task and its history."""

    name: str
    factory: Factory
    restart: bool
    task: asyncio.Task[None] | None = None
    restarts: int = 0
    retiring: bool = False
    last_error: str | None = None
    failures: list[float] = field(default_factory=list)


class Supervisor:
    """Starts, watches and stops named tasks."""

    def __init__(self, on_fatal: Callable[[str], None] | None = None, *,
                 max_restarts: int = 5, window_s: float = 60.0,
                 backoff_s: float = 0.5) -> None:
        self.on_fatal = on_fatal
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.backoff_s = backoff_s
        self.fatal: str | None = None
        """The name of the task whose failures were fatal (None: none)."""
        self.watched: dict[str, Watched] = {}
        self._stopping = False
        self._restarts: set[asyncio.Task[None]] = set()

    def spawn(self, name: str, factory: Factory, *, restart: bool = True) -> None:
        """Run ``factory()`` as task ``name`` until :meth:`stop`; ``restart``: start it
        again after an unexpected end (else that end is fatal)."""
        watched = self.watched[name] = Watched(name, factory, restart)
        self._start(watched)

    def _start(self, watched: Watched) -> None:
        watched.task = asyncio.create_task(watched.factory(), name=watched.name)
        watched.task.add_done_callback(lambda task: self._ended(watched, task))

    def _ended(self, watched: Watched, task: asyncio.Task[None]) -> None:
        if self._stopping or task is not watched.task:
            return
        exc = None if task.cancelled() else task.exception()
        if watched.retiring and exc is None:
            return
        why = "cancelled" if task.cancelled() else repr(exc) if exc else "returned"
        watched.last_error = why
        log.error("task_failed", task=watched.name, error=why,
                  exc_info=exc if exc is not None else False)
        now = time.monotonic()
        watched.failures = [t for t in watched.failures if now - t < self.window_s] + [now]
        if not watched.restart or len(watched.failures) > self.max_restarts:
            self.fatal = watched.name
            log.error("task_failed_fatally", task=watched.name, failures=len(watched.failures))
            if self.on_fatal is not None:
                self.on_fatal(watched.name)
            return
        delay = min(10.0, self.backoff_s * 2 ** (len(watched.failures) - 1))
        restart = asyncio.create_task(self._restart_later(watched, delay))
        self._restarts.add(restart)
        restart.add_done_callback(self._restarts.discard)

    async def _restart_later(self, watched: Watched, delay: float) -> None:
        await asyncio.sleep(delay)
        if not self._stopping:
            watched.restarts += 1
            log.warning("task_restarted", task=watched.name, restarts=watched.restarts)
            self._start(watched)

    def health(self) -> dict[str, dict[str, Any]]:
        """Per task: running, restarts, last error."""
        return {name: {"running": w.task is not None and not w.task.done(),
                       "restarts": w.restarts, "last_error": w.last_error}
                for name, w in self.watched.items()}

    async def finish(self, name: str, timeout_s: float) -> bool:
        """Wait at most ``timeout_s`` for task ``name`` to end by itself (it was told to
        stop); True when it did. Its end is then expected, not a failure."""
        watched = self.watched.get(name)
        if watched is None or watched.task is None:
            return True
        watched.retiring = True
        done, _ = await asyncio.wait([watched.task], timeout=timeout_s)
        return bool(done)

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Cancel every task still running; wait at most ``timeout_s`` for them."""
        self._stopping = True
        tasks = [w.task for w in self.watched.values() if w.task and not w.task.done()]
        tasks += list(self._restarts)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
