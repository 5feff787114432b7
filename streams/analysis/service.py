"""Decision support on demand: a window and parameters in, a result out, computed from the database and stored
with what it was computed from; asked again while the data is unchanged, it is served from storage."""
from __future__ import annotations

import asyncio
import hashlib
import json
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Optional

import asyncpg

from core.tz import TZ
from streams.analysis.chains import ChainParams, mine
from streams.analysis.compare import compare
from streams.analysis.merge import merge_sets
from streams.analysis.recommend import RecommendParams, recommend
from streams.analysis.store import load_applications
from streams.indicators.window import QueryError, Window, parse_window

DEFAULT_DAYS = 365


def analysis_window(start: Optional[str], end: Optional[str], now: Optional[datetime] = None) -> Window:
    """[from, to) on application time; defaults: the last 365 days up to now. An end past now is taken as the next
    local midnight (no application lies between): the same question asked all day is one question, and its answer
    is cached until the data changes."""
    now = now or datetime.now(TZ)
    w = parse_window(start or "2000-01-01", end, now)
    t1 = w.t1
    if t1 >= now:
        local = now.astimezone(TZ)
        t1 = datetime(local.year, local.month, local.day, tzinfo=TZ) + timedelta(days=1)
    return Window(w.t0 if start else t1 - timedelta(days=DEFAULT_DAYS), t1)


async def data_version(conn: asyncpg.Connection) -> str:
    """Changes whenever events, list changes or demands are stored (demands: a linking by hand too)."""
    r = await conn.fetchrow("SELECT (SELECT max(processed_at) FROM processed_batch) AS e,"
                            " (SELECT count(*) FROM processed_batch) AS n,"
                            " (SELECT max(ingested_at) FROM list_change) AS l, (SELECT count(*) FROM list_change) AS m,"
                            " (SELECT n FROM demand_stamp) AS d")
    return f"{r['e']}|{r['n']}|{r['l']}|{r['m']}|{r['d']}"


async def cached(conn: asyncpg.Connection, kind: str, params: dict[str, Any],
                 compute: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:32]
    version = await data_version(conn)
    row = await conn.fetchrow("SELECT result::text AS result, computed_at FROM analysis_result"
                              " WHERE kind = $1 AND key = $2 AND data_version = $3", kind, key, version)
    if row is not None:
        return {**json.loads(row["result"]), "computed_at": row["computed_at"].isoformat(), "cached": True}
    result = await compute()
    await conn.execute("DELETE FROM analysis_result WHERE computed_at < now() - interval '1 day'")
    at = await conn.fetchval(
        "INSERT INTO analysis_result (kind, key, params, data_version, result) VALUES ($1, $2, $3::jsonb, $4, $5::jsonb)"
        " ON CONFLICT (kind, key) DO UPDATE SET params = excluded.params, data_version = excluded.data_version,"
        " result = excluded.result, computed_at = now() RETURNING computed_at",
        kind, key, json.dumps(params, default=str), version, json.dumps(result, default=str, ensure_ascii=False))
    return {**json.loads(json.dumps(result, default=str)), "computed_at": at.isoformat(), "cached": False}


def _guard(fn):
    """Parameters the analysis refuses are the caller's mistake: a QueryError with the reason."""
    try:
        return fn()
    except ValueError as exc:
        raise QueryError(str(exc)) from None


async def off_loop(executor: Optional[Executor], fn, *args):
    """CPU-bound work in the executor when there is one (the worker's schedule), so the event loop goes on."""
    if executor is None:
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)


async def chains(conn: asyncpg.Connection, window: Window, params: ChainParams = ChainParams(),
                 executor: Optional[Executor] = None, scope: str = "") -> dict[str, Any]:
    _guard(params.check)
    desc = {"from": window.t0.isoformat(), "to": window.t1.isoformat(), "scope": scope,
            "min_support": params.min_support,
            "max_span_days": params.max_span / timedelta(days=1), "min_confidence": params.min_confidence,
            "min_lift": params.min_lift, "max_length": params.max_length}

    async def run() -> dict[str, Any]:
        apps = await load_applications(conn, window.t0, window.t1, scope=scope)
        with_key = sum(1 for a in apps if a.applicant)
        return {"from": desc["from"], "to": desc["to"], "parameters": {k: v for k, v in desc.items() if k != "scope"},
                "applications": len(apps), "applications_without_applicant": len(apps) - with_key,
                "chains": await off_loop(executor, mine, apps, params)}

    return await cached(conn, "chains", desc, run)


async def recommendations(conn: asyncpg.Connection, window: Window, params: RecommendParams = RecommendParams(),
                          executor: Optional[Executor] = None, scope: str = "") -> dict[str, Any]:
    _guard(params.check)
    desc = {"from": window.t0.isoformat(), "to": window.t1.isoformat(), "params": repr(params), "scope": scope}
    return await cached(conn, "recommendations", desc, lambda: recommend(
        conn, window, params, lambda apps: off_loop(executor, merge_sets, apps, params.merge), scope))


async def comparison(conn: asyncpg.Connection, window: Window, item: Optional[str], department: Optional[str],
                     min_volume: int = 20, scope: str = "") -> dict[str, Any]:
    desc = {"from": window.t0.isoformat(), "to": window.t1.isoformat(), "item": item, "department": department,
            "min_volume": min_volume, "scope": scope}
    return await cached(conn, "compare", desc, lambda: compare(conn, window, item, department, min_volume, scope))
