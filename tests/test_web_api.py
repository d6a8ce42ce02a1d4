"""The OpenAPI document of /api/v1 and every documented route under odd input (no 5xx)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import asyncpg

from callcenter.calls.model import CallRecord, CallStarted, QueueCallerJoined
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.wallboard.web import LIVE_SCHEMA
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import web_client
from tests.support.live import Clock, new_state

ODD = ["", "0", "-1", "9" * 60, "../../etc/passwd", "<script>alert(1)</script>",
       "'; DROP TABLE users;--", "测试", "%ff", "true", "null", "2026-13-45T99:99"]


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value.replace("/", "_") or "x", path)


def check_schema(value: Any, schema: dict[str, Any]) -> None:
    """The subset of JSON schema the document uses: type, required, properties, items."""
    if value is None:
        assert schema.get("nullable") or "type" not in schema, schema
        return
    kinds = {"object": dict, "array": list, "string": str, "integer": int,
             "number": (int, float), "boolean": bool}
    if "type" in schema:
        assert isinstance(value, kinds[schema["type"]]), (value, schema)
    for key in schema.get("required", []):
        assert key in value, key
    for key, sub in schema.get("properties", {}).items():
        if isinstance(value, dict) and key in value:
            check_schema(value[key], sub)
    if "items" in schema:
        for item in value:
            check_schema(item, schema["items"])


async def test_document_and_every_route_under_odd_input(pool: asyncpg.Pool) -> None:
    settings = Settings()
    live = LiveConsumer.from_settings(settings)
    t = datetime.now(UTC)
    call = CallRecord("pbx1", "1.1", t, direction="inbound", caller="13812345678",
                      queue="support", queue_joined_at=t)
    await live.on_facts([CallStarted("pbx1", t, call),
                         QueueCallerJoined("pbx1", t, "1.1", "support", 1)])
    async with web_client(settings, pool, role=None, live=live,
                          features=CORE_FEATURES) as anonymous:
        doc = await (await anonymous.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.") and "/api/v1/live" in doc["paths"]
    assert doc["paths"]["/api/v1/live"]["get"]["x-roles"] == ["admin", "supervisor"]
    for role in ("admin", "supervisor", "qa", "agent", None):
        async with web_client(settings, pool, role=role, live=live,
                              features=CORE_FEATURES) as client:
            for path, ops in doc["paths"].items():
                for method, op in ops.items():
                    for value in ODD:
                        params = {p["name"]: value for p in op["parameters"]} | {"q": value}
                        resp = await client.request(
                            method, fill(path, value), params=params,
                            headers={"X-CSRF-Token": client.csrf}, allow_redirects=False)
                        assert resp.status < 500, (method, path, role, value)
                        allowed = role in op["x-roles"]
                        assert resp.status == (200 if allowed else 403 if role else 401)
                        body = await resp.json()
                        if allowed:
                            check_schema(body, op["responses"]["200"]["content"][
                                "application/json"]["schema"])
                        else:
                            assert "error" in body
    await live.close()


async def test_unknown_api_routes_are_404(pool: asyncpg.Pool) -> None:
    async with web_client(Settings(), pool, role="supervisor", features=CORE_FEATURES) as c:
        for path in ("/api/v1/nosuch", "/api/v1/live/extra"):
            assert (await c.get(path)).status == 404


def test_the_live_schema_describes_every_key_of_the_board() -> None:
    board = new_state(Clock(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))).snapshot(lambda n: n or "")
    assert set(board) <= set(LIVE_SCHEMA["properties"])  # type: ignore[arg-type]
    assert set(LIVE_SCHEMA["required"]) <= set(board)  # type: ignore[arg-type]
