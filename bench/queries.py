"""Query cost against history: one month by region, whole days and a window that cuts days, at ~1M events and
again after another year of older history is loaded (the cost must follow the window, not the history).

    python bench/queries.py [--applicants 200000]

Loads simulated applicants' cases (simulator/chains.py) for a year into a fresh database `shenpi_bench_queries`
(or SHENPI_DATABASE_URL), times `indicators()` (the query API's and the CLI's function) as the median of 15 runs,
then loads the year before and times again.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
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
from streams.indicators.queries import Window, indicators  # noqa: E402
from streams.cases.reach import apply_list_changes  # noqa: E402

END = datetime(2026, 1, 1, tzinfo=TZ)
QUERIES = {
    "one month by region (whole days)": Window(datetime(2025, 10, 1, tzinfo=TZ), datetime(2025, 11, 1, tzinfo=TZ)),
    "one month by region, cutting two days": Window(datetime(2025, 10, 1, 9, 30, tzinfo=TZ),
                                                     datetime(2025, 10, 31, 17, 45, tzinfo=TZ)),
    "six hours by region (inside one day)": Window(datetime(2025, 10, 15, 9, tzinfo=TZ),
                                                   datetime(2025, 10, 15, 15, tzinfo=TZ)),
}


async def load(conn: asyncpg.Connection, n: int, start: datetime, seed: int) -> int:
    events = await load_applicants(conn, n, start, seed)
    await conn.execute("ANALYZE")
    return events


async def timings(conn: asyncpg.Connection) -> dict[str, float]:
    out = {}
    for name, w in QUERIES.items():
        runs = []
        for _ in range(15):
            t = time.perf_counter()
            await indicators(conn, w, ("region_code",))
            runs.append(time.perf_counter() - t)
        out[name] = statistics.median(runs) * 1000
    return out


async def main(n: int) -> None:
    conn = await asyncpg.connect(fresh_database("shenpi_bench_queries"))
    start = END - timedelta(days=365)
    await apply_list_changes(conn, [ListChange.model_validate(c) for c in list_changes(start - timedelta(days=400))])
    total = await load(conn, n, start, seed=1)
    first = await timings(conn)
    total2 = total + await load(conn, n, start - timedelta(days=365), seed=2)
    second = await timings(conn)
    print(f"{'query':45} {total:>12,} events {total2:>12,} events   ratio")
    for name in QUERIES:
        print(f"{name:45} {first[name]:>15.1f} ms {second[name]:>15.1f} ms   {second[name] / first[name]:.2f}")
    await conn.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--applicants", type=int, default=200_000)
    asyncio.run(main(ap.parse_args().applicants))
