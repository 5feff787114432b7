"""The database write path alone (no broker, no faust): events/s, and CPU per event in Python and in PostgreSQL.

    python bench/write_path.py [--events 100000] [--take 4]

Envelopes are cut as the connectors cut them (per partition, at most 1,000 events) and written a take at a time
as the worker writes them. Uses SHENPI_DATABASE_URL, or a fresh database `shenpi_bench_wp` on the local
PostgreSQL. The figures per statement show where PostgreSQL's time goes.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import fresh_database  # noqa: E402
from bench.pipeline import gen_events  # noqa: E402
from connectors.kafka import partition_for  # noqa: E402
from schemas import ListChange  # noqa: E402
from streams.cases.write import InBatch, process_case_batches  # noqa: E402
from streams.cases.reach import apply_list_changes  # noqa: E402


def envelopes(events: list[dict], partitions: int = 4, chunk: int = 5000, size: int = 1000) -> list[InBatch]:
    out = []
    for i in range(0, len(events), chunk):
        parts: dict[int, list[dict]] = defaultdict(list)
        for e in events[i:i + chunk]:
            parts[partition_for(e["case_id"], partitions)].append(e)
        for p, evs in sorted(parts.items()):
            out += [InBatch(f"wp-{i}-{p}-{j}", "bench", evs[j:j + size]) for j in range(0, len(evs), size)]
    return out


class Timed(asyncpg.Connection):
    """A connection that adds up the wall time of each kind of statement."""

    spent: Counter = Counter()
    calls: Counter = Counter()

    async def _execute(self, query, args, limit, timeout, *a, **kw):
        t = time.perf_counter()
        try:
            return await super()._execute(query, args, limit, timeout, *a, **kw)
        finally:
            key = " ".join(query.split()[:3])
            Timed.spent[key] += time.perf_counter() - t
            Timed.calls[key] += 1


async def run(dsn: str, n: int, take: int) -> None:
    conn = await asyncpg.connect(dsn, connection_class=Timed)
    await apply_list_changes(conn, [ListChange.model_validate({
        "change_id": f"bench-{i}", "item_code": f"ITEM-{i}", "action": "added",
        "effective_at": "2020-01-01T00:00:00+08:00", "name": f"事項{i}", "category": "行政許可",
        "department_code": f"D{i % 20}", "level": "county", "region_codes": ["330102", "330105", "330106"],
        "committed_days": 5}) for i in range(500)])
    batches = envelopes(gen_events(n, seed=2, tag="w"))
    backend = await conn.fetchval("SELECT pg_backend_pid()")

    def pg_cpu() -> float:
        f = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    Timed.spent.clear()
    Timed.calls.clear()
    c0, p0, t0 = time.process_time(), pg_cpu(), time.perf_counter()
    for k in range(0, len(batches), take):
        await process_case_batches(conn, batches[k:k + take])
    elapsed, py, pg = time.perf_counter() - t0, time.process_time() - c0, pg_cpu() - p0
    await conn.close()
    print(f"{n:,} events in {elapsed:.2f}s: {n / elapsed:,.0f} events/s; CPU per event: "
          f"Python {py / n * 1e6:.1f} µs, PostgreSQL {pg / n * 1e6:.1f} µs")
    for key, s in Timed.spent.most_common():
        print(f"  {s:6.2f}s {Timed.calls[key]:5d}×  {key}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--take", type=int, default=4, help="envelopes per transaction")
    args = ap.parse_args()
    asyncio.run(run(fresh_database("shenpi_bench_wp"), args.events, args.take))


if __name__ == "__main__":
    main()
