"""Decision support at scale: chain mining and recommendations over ~1M events of ~200k applicants, and the
stored result served again.

    python bench/analysis.py [--applicants 200000]

Loads simulated applicants (simulator/chains.py: whole and partial service chains among unrelated items) through
the ordinary write path into a fresh database `shenpi_bench_analysis` (or SHENPI_DATABASE_URL), then times the
first computation (read from the database, mine, store) and a served answer, and prints the peak RSS.
"""
from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import fresh_database, load_applicants  # noqa: E402
from core.tz import TZ  # noqa: E402
from schemas import ListChange  # noqa: E402
from simulator.chains import list_changes  # noqa: E402
from streams.analysis.service import chains, recommendations  # noqa: E402
from streams.indicators.window import Window  # noqa: E402
from streams.cases.reach import apply_list_changes  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(n: int) -> None:
    dsn = fresh_database("shenpi_bench_analysis")
    conn = await asyncpg.connect(dsn)
    end = datetime(2026, 1, 1, tzinfo=TZ)
    start = end - timedelta(days=365)
    await apply_list_changes(conn, [ListChange.model_validate(c) for c in list_changes(start - timedelta(days=30))])
    t = time.perf_counter()
    events = await load_applicants(conn, n, start)
    print(f"loaded {events:,} events of {n:,} applicants in {time.perf_counter() - t:.0f}s"
          f" (rss so far {rss_mb():.0f} MB)")
    window = Window(start, end)
    base = rss_mb()
    for name, fn in (("chains", chains), ("recommendations", recommendations)):
        t = time.perf_counter()
        out = await fn(conn, window)
        first = time.perf_counter() - t
        t = time.perf_counter()
        again = await fn(conn, window)
        served = time.perf_counter() - t
        size = len(out.get("chains", out.get("recommendations", [])))
        print(f"{name}: computed in {first:.1f}s ({size} found), served again in {served * 1000:.0f} ms"
              f" (cached: {again['cached']})")
    print(f"peak RSS {rss_mb():.0f} MB (before the analysis: {base:.0f} MB)")
    await conn.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--applicants", type=int, default=200_000)
    asyncio.run(main(ap.parse_args().applicants))
