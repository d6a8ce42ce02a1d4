"""The shared Server-Sent Events helper: encoding, waiting with keep-alives, the stream loop
(a finished stream, a browser that goes away)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callcenter.web import sse
from tests.support.wait import until


def parse(raw: bytes) -> list[dict[str, str]]:
    """The events of a stream as a browser reads them (data lines joined with LF)."""
    events = []
    for block in raw.decode().split("\n\n"):
        fields: dict[str, list[str]] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if line and not line.startswith(":"):
                fields.setdefault(name, []).append(value)
        if "event" in fields:
            events.append({"event": fields["event"][0], "data": "\n".join(fields["data"])})
    return events


@pytest.mark.parametrize("data", ["one line", "", "two\nlines", "crlf\r\nand\rcr", "end\n",
                                  '{"json": "a\\nb"}'])
def test_the_browser_reads_back_the_data_it_was_sent(data: str) -> None:
    encoded = sse.encode("board", data)
    assert encoded.endswith(b"\n\n") and encoded.startswith(b"event: board\n")
    assert parse(encoded) == [{"event": "board",
                               "data": data.replace("\r\n", "\n").replace("\r", "\n")}]


def test_each_line_is_a_data_line() -> None:
    assert sse.encode("x", "a\nb") == b"event: x\ndata: a\ndata: b\n\n"
    assert sse.encode("x", "") == b"event: x\ndata: \n\n"


async def test_receive_gives_the_next_item_or_idle() -> None:
    queue: asyncio.Queue[str | None] = asyncio.Queue(2)
    queue.put_nowait("first")
    queue.put_nowait(None)
    assert await sse.receive(queue, 60) == "first"
    assert await sse.receive(queue, 60) is None
    assert await sse.receive(queue, 0.01) is sse.IDLE


@asynccontextmanager
async def serving(events: Callable[[], AsyncGenerator[bytes, None]],
                  done: list[str]) -> AsyncIterator[TestClient]:
    """A test server whose ``/events`` streams ``events()``; ``done`` gets "returned" when
    the handler returns, "left" when it ends otherwise (aiohttp cancels the handler of a
    connection that is lost)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            response = await sse.stream(request, events())
        except asyncio.CancelledError:
            done.append("left")
            raise
        done.append("returned")
        return response

    app = web.Application()
    app.router.add_get("/events", handler)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_a_finished_stream_is_sent_whole_with_its_headers() -> None:
    done: list[str] = []

    async def two() -> AsyncGenerator[bytes, None]:
        yield sse.encode("a", "1")
        yield sse.KEEPALIVE
        yield sse.encode("b", "2\n3")

    async with serving(two, done) as client:
        response = await client.get("/events")
        raw = await response.read()
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert raw.startswith(sse.RETRY)
    assert parse(raw) == [{"event": "a", "data": "1"}, {"event": "b", "data": "2\n3"}]
    assert done == ["returned"]


async def test_a_browser_that_goes_away_ends_the_stream_and_closes_its_events() -> None:
    done: list[str] = []
    closed = asyncio.Event()

    async def forever() -> AsyncGenerator[bytes, None]:
        try:
            while True:
                yield sse.KEEPALIVE
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    async with serving(forever, done) as client:
        response = await client.get("/events")
        assert await response.content.readexactly(len(sse.RETRY)) == sse.RETRY
        response.close()  # the browser tab is closed
        await until(lambda: closed.is_set() and done)
    assert done in (["left"], ["returned"])  # cancelled, or a write found the connection gone
