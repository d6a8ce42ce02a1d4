"""Polling until a condition holds, for tests that wait on background work."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def until(cond: Callable[[], Any], timeout_s: float = 20.0, every_s: float = 0.05) -> Any:
    """Wait until ``cond()`` (sync or async) is truthy and return that value; AssertionError
    after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(every_s)
