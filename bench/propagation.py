"""Propagation latency: a list change posted to the webhook → the platform (simulator) acknowledged it.

    python bench/propagation.py [--rate 100] [--seconds 20]

Starts the embedded broker, the worker, the API and the platform simulator; uses SHENPI_DATABASE_URL or a
fresh database `shenpi_bench_prop` on the local PostgreSQL.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import broker, fresh_database, processes  # noqa: E402
from shenpi.broker import free_port, wait_port  # noqa: E402


async def run(api: str, platform: str, rate: int, seconds: float) -> list[float]:
    n = int(rate * seconds)
    posted: dict[str, float] = {}
    hdr = {"Authorization": "Bearer bench"}
    async with aiohttp.ClientSession() as http:
        t_next = time.perf_counter()
        for k in range(n):
            code = f"BP-{k % 200}"
            change = ({"change_id": f"bp-{k}", "item_code": code, "action": "added",
                       "effective_at": "2024-01-01T00:00:00+08:00", "name": code, "category": "公共服務",
                       "department_code": "D", "level": "county", "region_codes": ["330102"]} if k < 200 else
                      {"change_id": f"bp-{k}", "item_code": code, "action": "modified",
                       "effective_at": "2024-01-01T00:00:00+08:00", "committed_days": k % 30})
            posted[str(change["change_id"])] = time.time()
            async with http.post(api + "/api/v1/list-changes", json=[change], headers=hdr) as r:
                assert r.status == 200, await r.text()
            t_next += 1 / rate
            await asyncio.sleep(max(0.0, t_next - time.perf_counter()))
        deadline = time.monotonic() + 120
        while True:
            async with http.get(platform + "/_sim/applied", headers={"Authorization": "Bearer bench"}) as r:
                log = {a["key"]: a["at"] for a in await r.json()}
            if all(k in log for k in posted) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    return sorted(log[k] - t for k, t in posted.items() if k in log)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    dsn = fresh_database("shenpi_bench_prop")
    with broker() as b:
        api_port, sim_port = free_port(), free_port()
        env = {"SHENPI_KAFKA_BOOTSTRAP": b.bootstrap, "SHENPI_DATABASE_URL": dsn, "SHENPI_API_PORT": str(api_port),
               "SHENPI_WEBHOOK_TOKENS": "bench", "SHENPI_PLATFORM_TOKEN": "bench",
               "SHENPI_PLATFORM_URL": f"http://127.0.0.1:{sim_port}"}
        with processes(env, ["platform-sim", "--port", str(sim_port)], ["worker"], ["api"]):
            wait_port("127.0.0.1", sim_port, 30)
            wait_port("127.0.0.1", api_port, 30)
            with psycopg.connect(dsn, autocommit=True) as c:
                while not c.execute("SELECT count(*) FROM worker WHERE partitions > 0"
                                    " AND seen_at > now() - interval '2s'").fetchone()[0]:
                    time.sleep(0.2)
            lat = asyncio.run(run(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{sim_port}", args.rate,
                                  args.seconds))
    n = int(args.rate * args.seconds)
    p50, p99 = statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]
    print(f"RESULT propagation: {len(lat)}/{n} changes acknowledged at {args.rate}/s: "
          f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
