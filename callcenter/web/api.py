"""The OpenAPI document of the JSON API (``/api/v1/openapi.json``), built from registrations.

Feature modules describe each route they add under ``/api/v1`` with
:func:`add_api`; the document lists them with the roles allowed. Every API
route answers 401 without a session and 403 for other roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from callcenter.web.auth import SESSION_COOKIE
from callcenter.web.keys import API_DOC

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def add_api(app: web.Application, method: str, path: str, *, summary: str,
            roles: Iterable[str], parameters: Iterable[Mapping[str, Any]] = (),
            response: Mapping[str, Any] | None = None) -> None:
    """Describe ``method path`` (an aiohttp path such as ``/api/v1/calls/{linkedid}``).

    ``parameters`` are OpenAPI parameter objects; ``response`` the JSON
    schema of the 200 answer.
    """
    roles = sorted(roles)
    op: dict[str, Any] = {
        "summary": summary, "description": "Roles: " + ", ".join(roles) + ".",
        "x-roles": roles, "parameters": list(parameters),
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {
                "schema": dict(response or {"type": "object"})}}},
            "401": {"description": "not signed in",
                    "content": {"application/json": {"schema": _ERROR}}},
            "403": {"description": "the role may not use this route",
                    "content": {"application/json": {"schema": _ERROR}}},
        },
    }
    app[API_DOC].setdefault(path, {})[method.lower()] = op


def document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.0 document of every registered route."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "callcenter API", "version": "1"},
        "paths": dict(sorted(app[API_DOC].items())),
        "components": {"securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            "token": {"type": "http", "scheme": "bearer",
                      "description": "issued by `callcenter user token NAME`"}}},
        "security": [{"session": []}, {"token": []}],
    }


async def openapi(request: web.Request) -> web.StreamResponse:
    return web.json_response(document(request.app))


def setup(app: web.Application) -> None:
    """Serve the document at /api/v1/openapi.json (no sign-in needed: it holds no data)."""
    app.router.add_get("/api/v1/openapi.json", openapi)
