"""Server-Sent Events: the encoder and the stream loop the wallboard and the agent panel share.

A feature subscribes to its producer (whose bounded queue decides what a slow
reader misses: the wallboard keeps only the latest board, the agent feed drops
its oldest events), then hands :func:`stream` an async generator of encoded
events. :func:`receive` waits for the next item of such a queue, or says the
stream has been idle so long that a keep-alive is due. ``None`` on a queue ends
the stream (the app is shutting down); a browser that went away ends it too:
aiohttp cancels the handler, or a write finds the connection gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator
from enum import Enum
from typing import Final, Literal, TypeVar

from aiohttp import web

T = TypeVar("T")

HEADERS: Final = {"Content-Type": "text/event-stream; charset=utf-8",
                  "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""No caching, and no buffering in a proxy (nginx) in front."""
RETRY: Final = b"retry: 3000\n\n"
"""The first thing sent: a browser that lost the stream reconnects after 3 s."""
KEEPALIVE: Final = b": keepalive\n\n"
"""A comment line: keeps proxies from closing a quiet stream, ignored by the browser."""
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Idle(Enum):
    """Nothing came within the wait: time for a keep-alive."""

    IDLE = "idle"


IDLE: Final = Idle.IDLE


def encode(event: str, data: str) -> bytes:
    """One event named ``event``; each line of ``data`` (split where SSE splits: CR LF, CR
    or LF) is a ``data:`` line, which the browser joins again with LF."""
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return f"event: {event}\n{lines}\n".encode()


async def receive(queue: asyncio.Queue[T], timeout: float) -> T | Literal[Idle.IDLE]:
    """The next item of ``queue``, or :data:`IDLE` when none comes within ``timeout`` s."""
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except TimeoutError:
        return IDLE


async def stream(request: web.Request,
                 events: AsyncGenerator[bytes, None]) -> web.StreamResponse:
    """Send ``RETRY``, then every chunk of ``events`` as it comes, until ``events`` ends
    (then the response is finished) or the browser goes away (then nothing more is
    written). Either way ``events`` is closed before this returns."""
    response = web.StreamResponse(headers=HEADERS)
    await response.prepare(request)
    async with contextlib.aclosing(events):
        with contextlib.suppress(ConnectionResetError):  # the browser went away
            await response.write(RETRY)
            async for chunk in events:
                await response.write(chunk)
            await response.write_eof()
    return response
