"""The public portal under anonymous load: page views per second and latency of the monthly figures, and what each
view costs the database (nothing but the stored snapshots).

    python bench/portal.py [--views 3000] [--concurrency 32] [--departments 20]

The API on a fresh database with a year of simulated cases, departments published and their snapshots computed;
the clients come through a trusted proxy (each view from another forwarded address, so the per-client rate limit
does not throttle the benchmark itself)."""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import broker, fresh_database, load_applicants, processes, wait_healthy  # noqa: E402
from core.tz import TZ  # noqa: E402
from shenpi.broker import free_port  # noqa: E402
from streams.public.snapshots import refresh  # noqa: E402


def _xacts(dsn: str) -> int:
    with psycopg.connect(dsn) as c:
        return c.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


async def prepare(dsn: str, departments: int) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        n = await load_applicants(conn, 3000, datetime.now(TZ) - timedelta(days=360))
        depts = [r[0] for r in await conn.fetch(
            "SELECT department_code FROM case_state GROUP BY 1 ORDER BY count(*) DESC LIMIT $1", departments)]
        await conn.executemany("INSERT INTO public_department (department_code) VALUES ($1) ON CONFLICT DO NOTHING",
                               [(d,) for d in depts])
        await refresh(conn)
        return n
    finally:
        await conn.close()


async def load(url: str, views: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(views))

    async def client(s: aiohttp.ClientSession) -> None:
        for k in counter:
            t = time.perf_counter()
            async with s.get(url + "/public/figures", headers={"X-Forwarded-For": f"10.{k // 65536 % 256}."
                                                                                  f"{k // 256 % 256}.{k % 256}"}) as r:
                await r.read()
                assert r.status == 200, r.status
            latencies.append(time.perf_counter() - t)

    async with aiohttp.ClientSession() as s:
        await asyncio.gather(*(client(s) for _ in range(concurrency)))
    return latencies


def main(views: int, concurrency: int, departments: int) -> None:
    dsn = fresh_database("shenpi_bench_portal")
    events = asyncio.run(prepare(dsn, departments))
    with broker() as b:
        port = free_port()
        env = {"SHENPI_KAFKA_BOOTSTRAP": b.bootstrap, "SHENPI_DATABASE_URL": dsn, "SHENPI_API_PORT": str(port),
               "SHENPI_WEBHOOK_TOKENS": "bench", "SHENPI_TRUSTED_PROXIES": "127.0.0.1"}
        with processes(env, ["api"]):
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url)
            asyncio.run(load(url, 200, concurrency))  # warm
            x0, t0 = _xacts(dsn), time.perf_counter()
            lat = asyncio.run(load(url, views, concurrency))
            took = time.perf_counter() - t0
            time.sleep(11)  # backends flush their counts at most 10 s late
            x1 = _xacts(dsn)
    lat.sort()
    print(f"{events:,} events, {departments} departments published (12 months each): {views / took:,.0f} page views/s"
          f" at {concurrency} at once; latency p50 {statistics.median(lat) * 1000:.1f} ms,"
          f" p99 {lat[int(0.99 * len(lat))] * 1000:.1f} ms; database transactions per view"
          f" {(x1 - x0) / views:.2f} (the snapshots read, no indicator query)")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--views", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--departments", type=int, default=20)
    a = p.parse_args()
    main(a.views, a.concurrency, a.departments)
