"""init_app(settings) builds the API: webhook in, indicators, list, alerts and status out; cleanup_ctx owns the
database pool and the Kafka producer."""
from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from aiohttp import web
from prometheus_client import CollectorRegistry

from web.auth import authenticate
from web.limits import errors, limit_reads, security_headers
from web import openapi
from web.metrics import exposition
from web.console import public
from web.console.pages import error_pages
from web.console import views as console_views
from connectors import edge
from web.views import webhook
from connectors.kafka import Publisher, ensure_topics
from core.settings import Settings
from web.pool import BudgetPool, LoopLag
from web.common import HEAVY, LAG, OPERATIONS, POOL, PUBLIC, PUBLISHER, REGISTRY, RELAY_WAKE, SETTINGS, route
from web.views import alerts as alert_views
from web.views import analysis as analysis_views
from web.views import indicators as indicator_views
from web.views import drafts as draft_views
from web.views import powerlist as list_views
from web.views import staffing as org_views
from web.views import demands as demand_views
from web.views import evaluation as evaluation_views
from web.views import archive as archive_views
from web.views import sheets as sheet_views
from web.views import proposals as proposal_views


STATIC = Path(__file__).resolve().parent / "console" / "static"
ECHARTS = Path(__file__).resolve().parents[1] / "infra" / "console" / "node_modules" / "echarts" / "dist" / "echarts.min.js"


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A connection back in the pool keeps its session: asyncpg still rolls back a transaction left open, and the
    API sets no other session state (no LISTEN on the pool, no session advisory locks, no SET, no cursor outside a
    transaction), so the default reset (UNLISTEN, CLOSE ALL, RESET ALL) would only add a round trip to every
    release, two to every authenticated read."""


async def _database(app: web.Application):
    s = app[SETTINGS]
    pool = await asyncpg.create_pool(s.database_url, min_size=1, max_size=s.api_pool_size, reset=_keep_session,
                                     server_settings={
        "statement_timeout": str(int(s.api_statement_timeout_seconds * 1000))})
    app[POOL] = BudgetPool(pool, s.api_pool_size, s.api_pool_wait_seconds)
    app[LAG] = LoopLag()
    app[LAG].start()
    yield
    await app[LAG].stop()
    await app[POOL].close(s.api_stop_seconds)


async def _publisher(app: web.Application):
    await ensure_topics(app[SETTINGS])
    pub = Publisher(app[SETTINGS])
    await pub.start()
    app[PUBLISHER] = pub
    app[RELAY_WAKE] = asyncio.Event()
    relay = asyncio.create_task(edge.relay_forever(app[POOL], pub, app[RELAY_WAKE]))
    yield
    relay.cancel()
    await asyncio.gather(relay, return_exceptions=True)
    await pub.stop()


async def _heavy(app: web.Application):
    from web.heavy import Heavy

    app[HEAVY] = Heavy(app[SETTINGS])
    yield
    await app[HEAVY].close()


async def healthz(request: web.Request) -> web.Response:
    """Alive, and how loaded: no pool connection asked for, so it answers while the pool is exhausted."""
    app = request.app
    heavy = app.get(HEAVY)
    load = {"pool": app[POOL].load(), "loop": app[LAG].load(app[SETTINGS].api_loop_saturated_seconds),
            **({"heavy": heavy.load()} if heavy is not None else {})}
    return web.json_response({"ok": True, "saturated": any(v["saturated"] for v in load.values()), **load})


async def metrics(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        body = await exposition(conn, request.app[REGISTRY])
    return web.Response(body=body, content_type="text/plain", charset="utf-8", headers={"X-Format": "0.0.4"})


def init_app(settings: Settings, registry: CollectorRegistry | None = None) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes,
                          middlewares=[security_headers, error_pages, errors, public.rate_limit(), authenticate,
                                       limit_reads(settings.api_reads_per_caller,
                                                   settings.api_streams_per_person)])
    app[SETTINGS] = settings
    app[REGISTRY] = registry or CollectorRegistry()
    app.cleanup_ctx.extend([_database, _publisher, _heavy])
    route(app, "GET", "/healthz", healthz, PUBLIC)
    route(app, "GET", "/metrics", metrics, OPERATIONS)
    for views in (webhook, indicator_views, list_views, draft_views, alert_views, analysis_views, org_views, demand_views,
                  archive_views, evaluation_views, proposal_views, sheet_views, openapi, public):
        views.add_routes(app)
    console_views.add_routes(app, STATIC, ECHARTS)
    return app
