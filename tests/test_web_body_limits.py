"""Hostile bodies: oversized and endless uploads to a real app on loopback, raw sockets.

The app runs in this process, so its memory is this process's resident set
(VmRSS in /proc/self/status), read before and after the attack.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.settings import Settings
from callcenter.web.app import CORE_FEATURES
from callcenter.web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from callcenter.web.limits import ANONYMOUS_LIMIT, FORM_LIMIT
from callcenter.web.testing import web_client
from tests.support.auth import csrf_of

MB = 1_000_000
CHUNK = b"x" * 65536
GIVE_UP_S = 5.0


def rss_bytes() -> int:
    """This process's resident set size."""
    status = Path("/proc/self/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) * 1024


async def raw_post(port: int, path: str, *, length: int, headers: dict[str, str],
                   chunked: bool = False, send_body: bool = True) -> int | None:
    """POST ``length`` bytes of body to 127.0.0.1:``port``, streamed (declared in
    Content-Length, or chunked), until the server answers or closes; the answer's status
    (None when it closed without one). Gives up after ``GIVE_UP_S`` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(length)}
    head = "".join(f"{k}: {v}\r\n" for k, v in {
        "Host": f"127.0.0.1:{port}", "Content-Type": "application/x-www-form-urlencoded",
        **framing, **headers}.items())
    writer.write(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())

    async def send() -> None:
        sent = 0
        while sent < length:
            chunk = CHUNK[:length - sent]
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            await writer.drain()
            sent += len(chunk)
        if chunked:
            writer.write(b"0\r\n\r\n")

    sender = asyncio.create_task(send() if send_body else asyncio.sleep(0))
    try:
        status_line = await asyncio.wait_for(reader.readline(), GIVE_UP_S)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return int(status_line.split()[1]) if status_line else None


@pytest.fixture
def settings() -> Settings:
    return Settings.model_validate({"web": {"secure_cookies": False}})


async def login_cookie_and_token(client: Any) -> dict[str, str]:
    """Headers of a browser that opened /login: its CSRF cookie (the token for the body)."""
    page = await client.get("/login")
    token = csrf_of(await page.text())
    return {"Cookie": f"{LOGIN_CSRF_COOKIE}={token}"}


async def test_ten_concurrent_60_mb_sign_ins_are_refused_unread(settings: Settings,
                                                                pool: asyncpg.Pool) -> None:
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        headers = await login_cookie_and_token(client)
        port = client.server.port
        assert await raw_post(port, "/login", length=60 * MB, headers=headers) == 413  # warm
        gc.collect()
        before = rss_bytes()
        for chunked in (False, True):
            statuses = await asyncio.gather(*(
                raw_post(port, "/login", length=60 * MB, headers=headers, chunked=chunked)
                for _ in range(10)))
            assert statuses == [413] * 10, (chunked, statuses)
        gc.collect()
        growth = rss_bytes() - before
        assert growth < 20 * MB, growth
        # the server is still fine, and a browser's sign-in form still works
        assert (await client.get("/healthz")).status == 200


async def test_csrf_is_refused_before_a_body_is_read(settings: Settings,
                                                     pool: asyncpg.Pool) -> None:
    async with web_client(settings, pool, role="qa", features=CORE_FEATURES) as client:
        port = client.server.port
        session = client.session.cookie_jar.filter_cookies(client.make_url("/"))
        cookie = f"{SESSION_COOKIE}={session[SESSION_COOKIE].value}"
        # headers only, the body never comes: the answer must not wait for it
        for headers in ({}, {"Cookie": cookie, "X-CSRF-Token": "forged"}):
            assert await raw_post(port, "/logout", length=1000, headers=headers,
                                  send_body=False) == 403
        # a signed-in form within the limit is read (for its token) and served
        big = {"csrf_token": client.csrf, "language": "en", "pad": "x" * (FORM_LIMIT // 2)}
        assert (await client.post("/language", data=big, allow_redirects=False)).status == 302
        too_big = {**big, "pad": "x" * FORM_LIMIT}
        assert (await client.post("/language", data=too_big)).status == 413
        assert await raw_post(port, "/language", length=2 * FORM_LIMIT, chunked=True,
                              headers={"Cookie": cookie}) == 413


async def test_anonymous_bodies_are_small(settings: Settings, pool: asyncpg.Pool) -> None:
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        headers = await login_cookie_and_token(client)
        port = client.server.port
        assert await raw_post(port, "/language", length=ANONYMOUS_LIMIT + 1,
                              headers=headers) == 413
        token = headers["Cookie"].partition("=")[2]
        form = {"csrf_token": token, "language": "en", "pad": "x" * (ANONYMOUS_LIMIT // 2)}
        assert (await client.post("/language", data=form, allow_redirects=False)).status == 302
