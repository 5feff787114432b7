"""A bounded soak: a steady load with list changes and alert passes, and every minute the figures that must stay
flat: worker and API RSS, open database connections, events in flight, p99 of produce → visible.

    python bench/soak.py [--minutes 20] [--rate 500]

Runs `shenpi up` (embedded broker, the local PostgreSQL in a fresh database `shenpi_soak`, or
SHENPI_DATABASE_URL), posts events through the webhook at `rate` per second (cases with today's times, so that
alert rules see them), a list change every 10 s, and prints one line a minute, then the drift from the first
minute to the last.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import fresh_database  # noqa: E402
from core.tz import TZ  # noqa: E402


def case(k: int, rng: random.Random) -> list[dict]:
    now = datetime.now(TZ).isoformat()
    cid = f"soak-{k}"
    evs = [{"event_id": f"{cid}-s", "case_id": cid, "type": "submitted", "occurred_at": now,
            "item_code": f"SOAK-{rng.randrange(50)}", "region_code": rng.choice(["330102", "330105"]),
            "department_code": f"D{rng.randrange(5)}", "channel": "online"},
           {"event_id": f"{cid}-a", "case_id": cid, "type": "accepted", "occurred_at": now}]
    if rng.random() < 0.7:
        evs.append({"event_id": f"{cid}-c", "case_id": cid, "type": "completed", "occurred_at": now,
                    "outcome": "approved"})
    return evs


async def main(minutes: float, rate: int) -> None:
    state = Path(tempfile.mkdtemp(prefix="shenpi-soak-"))
    env = dict(os.environ, SHENPI_DATABASE_URL=fresh_database("shenpi_soak"), SHENPI_STATE_DIR=str(state),
               SHENPI_ALERT_INTERVAL_SECONDS="5")
    env.pop("SHENPI_KAFKA_BOOTSTRAP", None)
    up = subprocess.run([sys.executable, "-m", "shenpi", "up", "--detach"], env=env, capture_output=True, text=True)
    if up.returncode:
        raise SystemExit(up.stderr)
    run = json.loads((state / "run.json").read_text())
    db = await asyncpg.connect(run["database_url"])
    rng, k = random.Random(1), 0
    lat: list[float] = []
    rows: list = []
    url = run["api_url"]
    headers = {"Authorization": f"Bearer {run['webhook_token']}"}
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            start = time.monotonic()
            minute = start + 60
            while time.monotonic() - start < minutes * 60:
                tick = time.monotonic()
                events: list[dict] = []
                while len(events) < rate // 5:
                    events += case(k, rng)
                    k += 1
                async with http.post(f"{url}/api/v1/case-events", json=events) as r:
                    out = await r.json()
                if k % 50 == 0:  # one visible-latency probe now and then
                    asyncio.create_task(probe(run["database_url"], out["batches"], time.monotonic(), lat))
                if int(tick - start) % 10 == 0 and tick - start > 1:
                    code = f"SOAK-{rng.randrange(50)}"
                    change = {"change_id": f"soak-change-{k}", "item_code": code, "action": "added",
                              "effective_at": datetime.now(TZ).isoformat(), "name": code, "category": "行政許可",
                              "department_code": "D0", "level": "county", "region_codes": ["330102", "330105"]}
                    async with http.post(f"{url}/api/v1/list-changes", json=[change]):
                        pass
                if time.monotonic() >= minute:
                    rows.append(await sample(db, run, lat))
                    lat.clear()
                    print(json.dumps(rows[-1]), flush=True)
                    minute += 60
                await asyncio.sleep(max(0.0, 0.2 - (time.monotonic() - tick)))
    finally:
        await db.close()
        subprocess.run([sys.executable, "-m", "shenpi", "down"], env=env, capture_output=True)
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        print("drift first → last minute:", {key: f"{first[key]} → {last[key]}" for key in first if key != "minute"})


async def probe(dsn: str, batches: list[str], t0: float, lat: list[float]) -> None:
    """How long until the request's envelopes are processed (counted, visible to every query)."""
    pool_conn = await asyncpg.connect(dsn)
    try:
        while time.monotonic() - t0 < 30:
            if await pool_conn.fetchval("SELECT count(*) FROM processed_batch WHERE batch_id = ANY($1::text[])",
                                        batches) == len(batches):
                lat.append(time.monotonic() - t0)
                return
            await asyncio.sleep(0.02)
    finally:
        await pool_conn.close()


async def sample(db: asyncpg.Connection, run: dict, lat: list[float]) -> dict:
    def rss(name: str) -> float:
        try:
            return round(psutil.Process(run["pids"][name]).memory_info().rss / 2**20, 1)
        except (psutil.Error, KeyError):
            return -1.0

    conns = await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
    flight = await db.fetchval("SELECT coalesce(sum(i.n), 0) FROM edge_item i JOIN edge_receipt r USING (request_id)"
                               " WHERE r.settled_at IS NULL AND i.kind = 'batch' AND NOT EXISTS"
                               " (SELECT 1 FROM processed_batch p WHERE p.batch_id = i.key)")
    p99 = statistics.quantiles(lat, n=100)[98] if len(lat) >= 2 else (lat[0] if lat else None)
    return {"minute": time.strftime("%H:%M"), "worker_rss_mb": rss("worker"), "api_rss_mb": rss("api"),
            "db_connections": conns, "in_flight": flight, "p99_s": p99 and round(p99, 3)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--rate", type=int, default=500)
    a = ap.parse_args()
    asyncio.run(main(a.minutes, a.rate))
