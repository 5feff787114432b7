"""What the HTTP API's parts share: the application keys, and JSON answers that carry dates and Chinese text."""
from __future__ import annotations

import json
from typing import Any

import asyncpg
from aiohttp import web
from prometheus_client import CollectorRegistry

from core.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
PUBLISHER = web.AppKey("publisher", object)  # connectors.kafka.Publisher: the connectors sit above this package
REGISTRY = web.AppKey("registry", CollectorRegistry)


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str, ensure_ascii=False)


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.json_response(obj, status=status, dumps=dumps)
