"""Polling until a condition holds, for tests that wait on background work."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def until(cond: Callable[[], bool | Awaitable[bool]], timeout_s: float = 20.0,
                every_s: float = 0.05) -> None:
    """Wait until ``cond()`` (sync or async) is true; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(every_s)
