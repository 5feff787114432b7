"""The HTTP API: webhook in, indicators and status out. init_app(settings) builds it; cleanup_ctx owns the pools."""
from __future__ import annotations

import asyncpg
from aiohttp import web

from prometheus_client import CollectorRegistry

from connectors import webhook
from connectors.kafka import Publisher, ensure_topics
from shenpi.metrics import exposition
from shenpi.settings import Settings
from streams.alerts import views as alert_views
from streams.indicators import views
from streams.powerlist import views as list_views


async def _database(app: web.Application):
    settings = app[webhook.SETTINGS]
    app[views.POOL] = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=8)
    yield
    await app[views.POOL].close()


async def _publisher(app: web.Application):
    settings = app[webhook.SETTINGS]
    await ensure_topics(settings)
    pub = Publisher(settings)
    await pub.start()
    app[webhook.PUBLISHER] = pub
    yield
    await pub.stop()


async def healthz(request: web.Request) -> web.Response:
    async with request.app[views.POOL].acquire() as conn:
        await conn.fetchval("SELECT 1")
    return web.json_response({"ok": True})


REGISTRY = web.AppKey("registry", CollectorRegistry)


async def metrics(request: web.Request) -> web.Response:
    async with request.app[views.POOL].acquire() as conn:
        body = await exposition(conn, request.app[REGISTRY])
    return web.Response(body=body, content_type="text/plain", charset="utf-8", headers={"X-Format": "0.0.4"})


def init_app(settings: Settings, registry: CollectorRegistry | None = None) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[REGISTRY] = registry or CollectorRegistry()
    app.router.add_get("/metrics", metrics)
    app[webhook.SETTINGS] = settings
    app.cleanup_ctx.extend([_database, _publisher])
    app.router.add_get("/healthz", healthz)
    webhook.add_routes(app)
    views.add_routes(app)
    list_views.add_routes(app)
    alert_views.add_routes(app)
    return app
