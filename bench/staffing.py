"""The staffing half at city scale: import rate through the write path, as-of reads of one unit and of every unit.

    python bench/staffing.py [--units 6500] [--staff-scale 0.2]

A generated city (simulator/org.py) in time order, as an export gives it, applied in takes of 2,000 changes (what a
worker takes from the topic) into a fresh database; then one unit as of 40 dates, and all units' figures as of
10 dates (medians), the findings as the API reads them, and one sweep of the duty checks (a worker's)."""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Optional
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
import psycopg  # noqa: E402

from db.migrate import upgrade  # noqa: E402
from schemas import parse_list_change  # noqa: E402
from schemas.staffing import parse_staffing_change  # noqa: E402
from simulator.org import generate_city  # noqa: E402
from streams.cases.reach import apply_list_changes  # noqa: E402
from streams.staffing import checks, duties  # noqa: E402
from streams.staffing.checks import DutyParams  # noqa: E402
from streams.staffing.queries import figures, unit_as_of  # noqa: E402
from streams.staffing.store import apply_staffing_changes  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
READ_BOUND = 200_000  # findings read as the API does only up to this many


async def reads(conn: asyncpg.Connection, codes: list[str]) -> None:
    """One unit as of 40 dates, all units' figures as of 10, the findings the API reads, the workers' duty sweep."""
    dates = [datetime(y, 6, 30, tzinfo=timezone.utc) for y in range(1986, 2026)]
    one = []
    for k, at in enumerate(dates):
        t = time.perf_counter()
        await unit_as_of(conn, codes[(k * 7919) % len(codes)], at)
        one.append(time.perf_counter() - t)
    everyone = []
    for at in dates[::4]:
        t = time.perf_counter()
        rows = (await figures(conn, at))["rows"]
        everyone.append(time.perf_counter() - t)
    print(f"one unit as of a date: median {statistics.median(one) * 1000:.1f} ms, max {max(one) * 1000:.1f} ms")
    print(f"all units' figures as of a date: median {statistics.median(everyone) * 1000:.0f} ms,"
          f" max {max(everyone) * 1000:.0f} ms ({len(rows):,} rows at the last)")
    t = time.perf_counter()
    swept = await duties.sweep(conn, DutyParams(), force=True)
    print(f"duty checks swept by a worker: {time.perf_counter() - t:.1f}s ({swept})")
    now, took = datetime.now(timezone.utc), []
    n = await conn.fetchval("SELECT count(*) FROM org_findings_at($1)", now)
    if n > READ_BOUND:  # the API's answer would hold them all in memory, five times over
        print(f"all findings as the API reads them: not read ({n:,} open, over {READ_BOUND:,})")
        return print(f"load average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for _ in range(5):
        t = time.perf_counter()
        found = await checks.stored(conn, now)
        took.append(time.perf_counter() - t)
    print(f"all findings as the API reads them: median {statistics.median(took) * 1000:.0f} ms ({len(found):,})")
    print(f"load average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


async def main(units: int, scale: float, keep: bool = False, dsn: Optional[str] = None) -> None:
    if dsn:  # the reads again on a database kept from an earlier run
        conn = await asyncpg.connect(dsn)
        await reads(conn, [r["unit_code"] for r in await conn.fetch(
            "SELECT DISTINCT unit_code FROM org_version WHERE part = 'unit' ORDER BY 1")])
        return await conn.close()
    t = time.perf_counter()
    city = generate_city(units=units, seed=11, staff_scale=scale)
    changes = [parse_staffing_change(c, b"bench")[0] for c in city.changes]
    kinds = {k: sum(1 for c in changes if c.kind == k) for k in ("document", "staff_in")}
    print(f"city: {units} units, {len(changes):,} changes ({kinds['document']:,} documents, {kinds['staff_in']:,}"
          f" staff hired) generated and validated in {time.perf_counter() - t:.1f}s")
    name = f"bench_staffing_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(dsn)
        conn = await asyncpg.connect(dsn)
        t = time.perf_counter()
        for i in range(0, len(changes), 2000):
            await apply_staffing_changes(conn, [(f"b{i + j}", c) for j, c in enumerate(changes[i:i + 2000])])
        took = time.perf_counter() - t
        print(f"import: {len(changes) / took:,.0f} changes/s ({took:.1f}s)")
        # the power list the clauses name (without it every clause naming an item is 不到位)
        await apply_list_changes(conn, [parse_list_change(x)[0] for x in city.list_changes])
        await conn.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps: a take's rewritten rows are dead
        await reads(conn, [u["unit_code"] for u in city.units])
        await conn.close()
    finally:
        if keep:
            print(f"kept: {dsn}")
        else:
            with psycopg.connect(ADMIN, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--units", type=int, default=6500)
    p.add_argument("--staff-scale", type=float, default=0.1)
    p.add_argument("--keep", action="store_true", help="Keep the database (its URL is printed).")
    p.add_argument("--reads", metavar="DSN", help="Only the reads, on a database kept by --keep.")
    a = p.parse_args()
    asyncio.run(main(a.units, a.staff_scale, a.keep, a.reads))
