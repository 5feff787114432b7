"""Many watchers, one computation: the database's transactions per second and the API's CPU with N live streams
open over M scopes, against one stream; and how long a new case takes to reach every stream.

    python bench/watchers.py [--streams 80] [--scopes 4] [--seconds 20]

The stack as `shenpi up` runs it (broker, worker, API) on a fresh database with a day's traffic; streams are the
console's server-sent events, each with a user of its scope's token. Cases arrive at a steady rate meanwhile."""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import broker, fresh_database, processes, wait_healthy  # noqa: E402
from shenpi.broker import free_port  # noqa: E402

TOKEN = "bench-token"
REGIONS = ("330102", "330105", "330106", "330108", "330109", "330110")


def _case(cid: str, region: str) -> list[dict]:
    now = datetime.now(timezone.utc).isoformat()
    return [{"event_id": f"{cid}-0", "case_id": cid, "type": "submitted", "occurred_at": now, "item_code": "W-1",
             "region_code": region, "department_code": "D1", "channel": "online"}]


async def _stream(session: aiohttp.ClientSession, url: str, token: str, seen: dict, key: int, stop: asyncio.Event):
    async with session.get(url + "/console/stream", headers={"Authorization": f"Bearer {token}"}) as r:
        async for line in r.content:
            if line.startswith(b"data:"):
                seen.setdefault(key, []).append((time.monotonic(), line))
            if stop.is_set():
                return


def _xacts(dsn: str) -> int:
    with psycopg.connect(dsn) as c:
        return c.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database"
                         " WHERE datname = current_database()").fetchone()[0]


async def measure(url: str, dsn: str, tokens: list[str], api_pid: int, seconds: float) -> dict:
    seen: dict = {}
    stop = asyncio.Event()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as s:
        tasks = [asyncio.create_task(_stream(s, url, tok, seen, k, stop)) for k, tok in enumerate(tokens)]
        # every stream open and served its first message; and PostgreSQL's backends flush their counts of what they
        # did (at most 10 s late when idle): opening the streams is not counted in the window
        await asyncio.sleep(12)
        api = psutil.Process(api_pid)
        cpu0, x0, t0 = api.cpu_times(), _xacts(dsn), time.monotonic()
        latencies = []
        n = 0
        while time.monotonic() - t0 < seconds:
            n += 1
            before = {k: len(v) for k, v in seen.items()}
            sent = time.monotonic()
            async with s.post(url + "/api/v1/case-events", json=_case(f"W{uuid.uuid4().hex[:8]}", REGIONS[n % 2]),
                              headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                assert r.status == 200
            # the streams of the case's region and of everywhere get it
            for _ in range(100):
                await asyncio.sleep(0.05)
                if sum(len(v) > before.get(k, 0) for k, v in seen.items()) >= max(1, len(tokens) // 2):
                    break
            latencies += [v[-1][0] - sent for k, v in seen.items() if len(v) > before.get(k, 0)]
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - sent)))
        took = time.monotonic() - t0
        cpu1, x1 = api.cpu_times(), _xacts(dsn)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    q = sorted(latencies) or [float("nan")]
    return {"tps": (x1 - x0) / took, "api_cpu": (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / took,
            "p50": statistics.median(q), "p99": q[min(len(q) - 1, int(0.99 * len(q)))], "updates": len(latencies)}


def main(n: int, m: int, seconds: float) -> None:
    dsn = fresh_database("shenpi_bench_watchers")
    with broker() as b:
        port = free_port()
        env = {"SHENPI_KAFKA_BOOTSTRAP": b.bootstrap, "SHENPI_DATABASE_URL": dsn, "SHENPI_API_PORT": str(port),
               "SHENPI_WEBHOOK_TOKENS": TOKEN, "SHENPI_TOPIC_PREFIX": f"w{uuid.uuid4().hex[:6]}",
               "SHENPI_PROPAGATION_ENABLED": "false", "SHENPI_ALERTS_ENABLED": "false",
               "SHENPI_API_READS_PER_CALLER": "1000"}
        scopes = [("", "supervisor")] + [(r, "viewer") for r in REGIONS[:m - 1]]
        tokens = {}
        for k, (scope, role) in enumerate(scopes):
            out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", f"w{k}", "--role", role,
                                  *(["--region", scope] if scope else [])], env=dict(os.environ, **env),
                                 capture_output=True, text=True, check=True)
            tokens[scope] = out.stdout.strip()
        with processes(env, ["worker"], ["api"]) as procs:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url)
            time.sleep(5)  # the worker joins its group
            api = procs[1].pid
            idle = asyncio.run(measure(url, dsn, [], api, seconds))
            one = asyncio.run(measure(url, dsn, [tokens[""]], api, seconds))
            many = asyncio.run(measure(url, dsn, [tokens[scopes[k % m][0]] for k in range(n)], api, seconds))
    for label, r in (("no stream", idle), ("1 stream", one), (f"{n} streams over {m} scopes", many)):
        print(f"{label}: database {r['tps']:.1f} transactions/s, API CPU {r['api_cpu'] * 100:.0f} %, update after a"
              f" new case p50 {r['p50'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms ({r['updates']} updates)")
    print(f"ratio of database load: {many['tps'] / one['tps']:.2f}x (target ≤ 1.5x + 5/s)")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--streams", type=int, default=80)
    p.add_argument("--scopes", type=int, default=4)
    p.add_argument("--seconds", type=float, default=20)
    a = p.parse_args()
    main(a.streams, a.scopes, a.seconds)
