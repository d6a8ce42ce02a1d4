"""Request body limits per route, enforced before a body is read.

A route's limit is :data:`FORM_LIMIT` unless its handler is decorated with
:func:`max_body`; a request without a session gets at most
:data:`ANONYMOUS_LIMIT`, whatever the route. A declared ``Content-Length`` over
the limit is answered 413 at once, the body unread; a chunked body is cut off
with 413 as soon as reading it passes the limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from callcenter.web.auth import UNSAFE_METHODS, load_session

FORM_LIMIT = 1024 * 1024
"""Forms and JSON of signed-in users (bytes)."""
ANONYMOUS_LIMIT = 16 * 1024
"""Any request without a session: the sign-in and language forms (bytes)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)


def max_body(limit: int) -> Callable[[H], H]:
    """Decorate a handler whose route takes bodies up to ``limit`` bytes (e.g. an upload)."""

    def decorate(handler: H) -> H:
        handler.max_body = limit  # type: ignore[attr-defined]
        return handler

    return decorate


def route_limit(request: web.Request) -> int:
    """The body limit of the request's route (bytes), before the session is considered."""
    return int(getattr(request.match_info.handler, "max_body", FORM_LIMIT))


def too_large(limit: int) -> web.HTTPRequestEntityTooLarge:
    """413 (and the connection closes once the client stops sending)."""
    exc = web.HTTPRequestEntityTooLarge(
        limit, text=f"413: the request body is too large (at most {limit} bytes here)")
    exc.force_close()
    return exc


@web.middleware
async def body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """413 for a body over the route's limit, without reading it; the handler reads at
    most the limit."""
    if not request.body_exists and request.method not in UNSAFE_METHODS:
        return await handler(request)
    limit = route_limit(request)
    if limit > ANONYMOUS_LIMIT and await load_session(request) is None:
        limit = ANONYMOUS_LIMIT
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    if limit != request.client_max_size:
        request = request.clone(client_max_size=limit)
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:  # a chunked body passed the limit while read
        pass
    # raised here, not in the except clause: the reader's exception, whose traceback holds
    # what was read, is dropped now rather than kept while the connection lingers
    raise too_large(limit)
