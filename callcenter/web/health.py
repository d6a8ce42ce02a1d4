"""``/readyz`` (JSON per server; 503 when not ready) and ``/metrics`` (Prometheus text).

Both read the running daemon only (no database query), so they answer while
PostgreSQL is down or stalled. Public like ``/healthz``: they carry no customer
data; restrict them at the network level (see docs/running.md, Health and metrics).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from callcenter.health import DaemonCollector, readiness

if TYPE_CHECKING:
    from callcenter.ingest.daemon import Daemon


def setup(app: web.Application, daemon: Daemon) -> None:
    """Serve the daemon's readiness and metrics on ``app``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DaemonCollector(daemon))

    async def readyz(request: web.Request) -> web.StreamResponse:
        ready, report = readiness(daemon)
        return web.json_response(report, status=200 if ready else 503)

    async def metrics(request: web.Request) -> web.StreamResponse:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
