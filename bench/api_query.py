"""The indicator query through the API beside a plain SQL peer on the same events: one month by region.

    python bench/api_query.py [--applicants 200000] [--runs 15] [--keep]

Loads simulated applicants' cases for a year (as bench/queries.py) into `shenpi_bench_api` (kept with --keep and
reused when it already holds them), starts the API, and times, as medians: GET /api/v1/indicators for October by
region with a user's bearer token over a kept-alive connection (what a dashboard does); `indicators()` on one
connection (the engine's own query); and the peer, one plain SQL statement computing the same figures from the raw
events alone. The counts both paths share (received, accepted, completed, rejected, in_progress) are checked equal.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import broker, fresh_database, load_applicants, processes, wait_healthy  # noqa: E402
from core.tz import TZ  # noqa: E402
from schemas import ListChange  # noqa: E402
from shenpi.broker import free_port  # noqa: E402
from simulator.chains import list_changes  # noqa: E402
from streams.cases.reach import apply_list_changes  # noqa: E402
from streams.indicators.queries import Window, indicators  # noqa: E402

END = datetime(2026, 1, 1, tzinfo=TZ)
T0, T1 = datetime(2025, 10, 1, tzinfo=TZ), datetime(2025, 11, 1, tzinfo=TZ)
TOKEN = "bench-api-query"
SHARED = ("received", "accepted", "completed", "in_progress")

# Each case's life from its raw events, then the month's figures by the region of its submission: what one would
# write against the events table with no derived tables (deadlines as the accepted event gives them).
PEER = """
WITH ev AS (
  SELECT case_id, type, occurred_at, channel, score, deadline,
         lead(occurred_at) OVER (PARTITION BY case_id ORDER BY occurred_at, event_id) AS next_at
  FROM case_event
), c AS (
  SELECT case_id,
         min(occurred_at) FILTER (WHERE type = 'accepted') AS accepted_at,
         (array_agg(deadline ORDER BY occurred_at) FILTER (WHERE type = 'accepted'))[1] AS deadline,
         min(occurred_at) FILTER (WHERE type IN ('completed', 'withdrawn')) AS ended_at,
         min(occurred_at) FILTER (WHERE type = 'completed') AS completed_at,
         count(*) FILTER (WHERE type = 'correction_requested') AS corrections,
         coalesce(sum(extract(epoch FROM coalesce(next_at, $2) - occurred_at)) FILTER (WHERE type = 'suspended'), 0)
           AS suspended_s
  FROM ev GROUP BY case_id
), g AS (
  SELECT DISTINCT ON (case_id) case_id, region_code FROM case_event WHERE type = 'submitted'
  ORDER BY case_id, occurred_at
)
SELECT g.region_code,
  (SELECT count(*) FROM case_event e JOIN g g2 USING (case_id)
   WHERE g2.region_code = g.region_code AND e.type = 'submitted' AND e.occurred_at >= $1 AND e.occurred_at < $2)
    AS received,
  count(*) FILTER (WHERE c.accepted_at >= $1 AND c.accepted_at < $2) AS accepted,
  count(*) FILTER (WHERE c.completed_at >= $1 AND c.completed_at < $2) AS completed,
  count(*) FILTER (WHERE c.accepted_at < $2 AND (c.ended_at IS NULL OR c.ended_at >= $2)) AS in_progress,
  count(*) FILTER (WHERE c.accepted_at < $2 AND (c.ended_at IS NULL OR c.ended_at >= $2)
                   AND c.deadline + make_interval(secs => c.suspended_s) < $2) AS overdue,
  count(*) FILTER (WHERE c.completed_at >= $1 AND c.completed_at < $2
                   AND c.completed_at <= c.deadline + make_interval(secs => c.suspended_s))::float
    / nullif(count(*) FILTER (WHERE c.completed_at >= $1 AND c.completed_at < $2 AND c.deadline IS NOT NULL), 0)
    AS on_time_rate,
  count(*) FILTER (WHERE c.completed_at >= $1 AND c.completed_at < $2 AND c.corrections = 1)::float
    / nullif(count(*) FILTER (WHERE c.completed_at >= $1 AND c.completed_at < $2 AND c.corrections > 0), 0)
    AS one_time_correction_rate,
  count(*) FILTER (WHERE c.completed_at >= $1 AND c.completed_at < $2
                   AND (c.completed_at AT TIME ZONE 'Asia/Shanghai')::date
                       = (c.accepted_at AT TIME ZONE 'Asia/Shanghai')::date)::float
    / nullif(count(*) FILTER (WHERE c.completed_at >= $1 AND c.completed_at < $2), 0) AS immediate_rate,
  avg((extract(epoch FROM c.completed_at - c.accepted_at) - c.suspended_s) / 3600)
    FILTER (WHERE c.completed_at >= $1 AND c.completed_at < $2) AS avg_handling_hours
FROM c JOIN g USING (case_id)
GROUP BY g.region_code ORDER BY g.region_code
"""


async def prepare(dsn: str, applicants: int) -> int:
    """The year of events (loaded unless already there) and the bench's user; how many events."""
    conn = await asyncpg.connect(dsn)
    try:
        n = await conn.fetchval("SELECT count(*) FROM case_event")
        if not n:
            start = END - timedelta(days=365)
            await apply_list_changes(conn, [ListChange.model_validate(c)
                                            for c in list_changes(start - timedelta(days=400))])
            n = await load_applicants(conn, applicants, start, seed=1)
            await conn.execute("ANALYZE")
        await conn.execute("INSERT INTO app_user (name, role, region_scope, token_digest) VALUES ('bench-api',"
                           " 'viewer', '', $1) ON CONFLICT (name) DO UPDATE SET token_digest = excluded.token_digest,"
                           " disabled = false", hashlib.sha256(TOKEN.encode()).hexdigest())
        return n
    finally:
        await conn.close()


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes have used (from /proc): what a request costs whatever else runs."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def backends(conn: asyncpg.Connection, mine: bool) -> list[int]:
    """The server processes of this database: this connection's alone, or every other client's."""
    if mine:
        return [conn.get_server_pid()]
    return [r[0] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                           " AND backend_type = 'client backend' AND pid <> pg_backend_pid()")]


async def cpu_ms(runs: int, call, pids: list[int]) -> float:
    """CPU per call, in ms, of the given processes over `runs` calls."""
    before = cpu_seconds(pids)
    for _ in range(runs):
        await call()
    return (cpu_seconds(pids) - before) / runs * 1000


async def median_ms(runs: int, call) -> tuple[float, Any]:
    out, times = None, []
    for _ in range(runs):
        t = time.perf_counter()
        out = await call()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, out


async def measure(dsn: str, url: str, runs: int, api_pid: int) -> None:
    conn = await asyncpg.connect(dsn)
    engine_ms, engine_rows = await median_ms(runs, lambda: indicators(conn, Window(T0, T1), ("region_code",)))
    engine_cpu = await cpu_ms(runs, lambda: indicators(conn, Window(T0, T1), ("region_code",)),
                              await backends(conn, True))
    query = f"{url}/api/v1/indicators?from={T0.date()}&to={T1.date()}&group_by=region_code"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        async def get():
            async with http.get(query) as r:
                assert r.status == 200, (r.status, await r.text())
                return (await r.json())["rows"]
        await get()  # the connection opened, as a dashboard's is
        api_ms, api_rows = await median_ms(runs, get)
        api_cpu = await cpu_ms(runs, get, [api_pid, *await backends(conn, False)])
    peer_ms, peer_rows = await median_ms(3, lambda: conn.fetch(PEER, T0, T1))
    await conn.close()
    by_region = {r["region_code"]: r for r in api_rows}
    for p in peer_rows:
        mine = by_region.get(p["region_code"], {})
        for k in SHARED:
            assert (mine.get(k) or 0) == p[k], (p["region_code"], k, mine.get(k), p[k])
    assert {r["region_code"]: r["received"] for r in engine_rows} == {r["region_code"]: r["received"]
                                                                       for r in api_rows}
    print(f"one month by region, {len(api_rows)} regions (same counts on both paths: {', '.join(SHARED)})")
    print(f"  API (GET /api/v1/indicators, a user's bearer token, kept-alive): {api_ms:8.1f} ms (median of {runs});"
          f" CPU {api_cpu:.1f} ms a request (the API process and its database backends)")
    print(f"  engine, indicators() on one connection:                      {engine_ms:8.1f} ms (median of {runs});"
          f" CPU {engine_cpu:.1f} ms a query (its backend)")
    print(f"  plain SQL peer over the raw events:                          {peer_ms:8.1f} ms (median of 3)")
    print(f"RESULT api/peer={api_ms / peer_ms:.4f} engine/peer={engine_ms / peer_ms:.4f} api={api_ms:.1f}ms"
          f" engine={engine_ms:.1f}ms peer={peer_ms:.0f}ms api_cpu={api_cpu:.1f}ms engine_cpu={engine_cpu:.1f}ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--applicants", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--keep", action="store_true", help="reuse shenpi_bench_api when it already holds the events")
    args = ap.parse_args()
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as c:
        there = c.execute("SELECT 1 FROM pg_database WHERE datname = 'shenpi_bench_api'").fetchone()
    dsn = ("postgresql://postgres@127.0.0.1:5432/shenpi_bench_api" if args.keep and there
           else fresh_database("shenpi_bench_api"))
    events = asyncio.run(prepare(dsn, args.applicants))
    print(f"{events:,} events")
    with broker() as b:
        port = free_port()
        env = {"SHENPI_KAFKA_BOOTSTRAP": b.bootstrap, "SHENPI_DATABASE_URL": dsn, "SHENPI_API_PORT": str(port),
               "SHENPI_WEBHOOK_TOKENS": "bench", "SHENPI_PROPAGATION_ENABLED": "false"}
        with processes(env, ["api"]) as (api,):
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url)
            asyncio.run(measure(dsn, url, args.runs, api.pid))


if __name__ == "__main__":
    main()
