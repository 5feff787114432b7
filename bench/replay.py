"""A province-year: a long seeded replay through the whole pipeline, printing per million events the throughput,
the database size and the workers' RSS, which must hold steady.

    python bench/replay.py [--events 10000000] [--block 1000000] [--workers 2]

Uses the embedded broker (started here) and a fresh database `shenpi_bench_replay` (or SHENPI_DATABASE_URL).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import broker, fresh_database, processes  # noqa: E402
from bench.pipeline import gen_events, list_items  # noqa: E402
from connectors.kafka import Publisher, ensure_topics  # noqa: E402
from core.settings import Settings  # noqa: E402
from schemas import CaseEvent  # noqa: E402

CHUNK = 50_000


async def replay(settings: Settings, procs, total: int, block: int) -> None:
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    pub = Publisher(settings)
    await pub.start()
    await list_items(pub)
    rows = []
    for b in range(total // block):
        start = await pool.fetchval("SELECT coalesce(sum(n_events), 0) FROM processed_batch")
        t0 = time.perf_counter()
        for c in range(block // CHUNK):
            events = [CaseEvent.model_validate(e) for e in gen_events(CHUNK, seed=b * 1000 + c, tag=f"{b}-{c}-")]
            await pub.case_events(events, "replay", f"replay-{b}-{c}")
        while await pool.fetchval("SELECT coalesce(sum(n_events), 0) FROM processed_batch") < start + block:
            await asyncio.sleep(0.1)
        rate = block / (time.perf_counter() - t0)
        size = await pool.fetchval("SELECT pg_database_size(current_database())") / 2**30
        rss = sum(psutil.Process(p.pid).memory_info().rss for p in procs) / 2**20
        rows.append((rate, size, rss))
        print(f"block {b + 1} ({(b + 1) * block:,} events in all): {rate:,.0f} events/s, database {size:.2f} GB,"
              f" workers' RSS {rss:.0f} MB", flush=True)
    await pub.stop()
    await pool.close()
    if len(rows) >= 2:
        change = rows[-1][0] / rows[0][0] - 1
        print(f"throughput first → last block: {rows[0][0]:,.0f} → {rows[-1][0]:,.0f} events/s ({change:+.0%});"
              f" RSS {rows[0][2]:.0f} → {rows[-1][2]:.0f} MB; database {rows[-1][1] / (len(rows) * block / 1e6):.2f}"
              " GB per million events")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--block", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    dsn = fresh_database("shenpi_bench_replay")
    with broker() as b:
        settings = Settings(kafka_bootstrap=b.bootstrap, database_url=dsn)
        asyncio.run(ensure_topics(settings))
        env = {"SHENPI_KAFKA_BOOTSTRAP": b.bootstrap, "SHENPI_DATABASE_URL": dsn,
               "SHENPI_PROPAGATION_ENABLED": "false", "SHENPI_ANALYSIS_INTERVAL_SECONDS": "0"}
        with processes(env, *[["worker"]] * a.workers) as procs:
            asyncio.run(replay(settings, procs, a.events, a.block))


if __name__ == "__main__":
    main()
