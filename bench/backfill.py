"""Backfill at bulk speed: `shenpi ingest --bulk` of a file until every event is counted, against a plain COPY of
the same raw events into PostgreSQL, in the same run; the file is ordered by time, as platforms export it.

    python bench/backfill.py [--events 1000000] [--jobs 2] [--unlisted]

The generated events' items are put on the power list first (a backfill of the items a platform handles);
with --unlisted they are not, and every event is also recorded as a violation.

It then prints the floor under any backfill into this schema: the rows the ingest left (events with their three
indexes, case states, daily rows, violations) COPYed as they are into a fresh database by `--jobs` connections at
once, with no parsing, validation or evaluation at all. COPY time / floor time is the best ratio this schema allows.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import fresh_database  # noqa: E402
from bench.pipeline import gen_events  # noqa: E402
from schemas import ListChange  # noqa: E402
from streams.cases.reach import apply_list_changes  # noqa: E402

COLS = ("event_id", "case_id", "type", "occurred_at", "item_code", "region_code", "department_code", "channel",
        "applicant_key", "deadline", "outcome", "score")


async def list_items(dsn: str, items: set[str]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await apply_list_changes(conn, [ListChange.model_validate(
            {"change_id": f"bf-{i}", "item_code": i, "action": "added", "effective_at": "2024-01-01T00:00:00+08:00",
             "name": f"事項 {i}", "category": "行政許可", "department_code": "D0", "level": "county",
             "region_codes": ["330102", "330105", "330106"], "committed_days": 10}) for i in sorted(items)])
    finally:
        await conn.close()


STORED = ("case_event", "case_state", "indicator_daily", "violation")


def floor(dsn: str, jobs: int) -> tuple[float, dict[str, int]]:
    """Seconds to COPY the stored rows of `dsn` into a fresh database by `jobs` connections at once."""
    rows: dict[str, list[bytes]] = {}
    with psycopg.connect(dsn) as c:
        for t in STORED:
            with c.cursor().copy(f"COPY (SELECT * FROM {t}) TO STDOUT") as cp:
                rows[t] = [bytes(r) for r in cp]
    shares = [{t: b"".join(r[j::jobs]) for t, r in rows.items()} for j in range(jobs)]  # no Python while timed
    target = fresh_database("shenpi_bench_floor")

    def load(j: int) -> None:
        with psycopg.connect(target) as c:
            for t in STORED:
                with c.cursor().copy(f"COPY {t} FROM STDIN") as cp:
                    cp.write(shares[j][t])

    threads = [threading.Thread(target=load, args=(j,)) for j in range(jobs)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t0, {t: len(r) for t, r in rows.items()}


def time_ordered(events: list[dict], seed: int = 3) -> list[dict]:
    """As a platform exports: ordered by time (a case's events spread through the file), a few late events (0.5 %,
    moved a day's worth of lines later) and duplicates (0.5 %, sent again further on)."""
    import random

    rng = random.Random(seed)
    out = sorted(events, key=lambda e: e["occurred_at"])
    per_day = max(1, len(out) // 365)
    for _ in range(len(out) // 200):
        k = rng.randrange(len(out))
        out.insert(min(len(out), k + per_day), out.pop(k))
    for _ in range(len(out) // 200):
        k = rng.randrange(len(out))
        out.insert(min(len(out), k + rng.randrange(1, per_day * 7)), dict(out[k]))
    return out


def main(n: int, jobs: int, unlisted: bool) -> None:
    events = time_ordered(gen_events(n, seed=3, tag="bf"))
    path = Path(tempfile.mkdtemp()) / "backfill.jsonl"
    with open(path, "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    copy_dsn = fresh_database("shenpi_bench_copy")
    with psycopg.connect(copy_dsn, autocommit=True) as c:
        c.execute("CREATE TABLE raw_event (event_id text PRIMARY KEY, case_id text, type text, occurred_at timestamptz,"
                  " item_code text, region_code text, department_code text, channel text, applicant_key text,"
                  " deadline timestamptz, outcome text, score smallint)")
        t = time.perf_counter()
        with c.cursor().copy(f"COPY raw_event ({', '.join(COLS)}) FROM STDIN") as cp:
            seen = set()
            with open(path) as f:
                for line in f:
                    e = json.loads(line)
                    if e["event_id"] not in seen:  # the file's duplicates once (the table has a primary key)
                        seen.add(e["event_id"])
                        cp.write_row([e.get(k) for k in COLS])
        copy_s = time.perf_counter() - t
    dsn = fresh_database("shenpi_bench_backfill")
    if not unlisted:
        asyncio.run(list_items(dsn, {e["item_code"] for e in events if "item_code" in e}))
    env = dict(os.environ, SHENPI_DATABASE_URL=dsn, SHENPI_STATE_DIR=str(path.parent / "state"))
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "shenpi", "ingest", str(path), "--bulk", "--jobs", str(jobs)],
                         env=env, capture_output=True, text=True)
    bulk_s = time.perf_counter() - t
    if out.returncode:
        raise SystemExit(out.stderr)
    print(f"{n:,} events: COPY {n / copy_s:,.0f} events/s ({copy_s:.1f} s); shenpi ingest --bulk --jobs {jobs}"
          f" until counted {n / bulk_s:,.0f} events/s ({bulk_s:.1f} s); ratio {copy_s / bulk_s:.2f}"
          f" ({'items not listed: every event a violation' if unlisted else 'items listed'})")
    floor_s, counts = floor(dsn, jobs)
    print(f"floor: the stored rows ({', '.join(f'{k} {v:,}' for k, v in counts.items())}) COPYed as they are by {jobs}"
          f" connections, nothing else: {floor_s:.1f} s; the best ratio this schema allows {copy_s / floor_s:.2f}")
    print(out.stdout)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--unlisted", action="store_true")
    a = ap.parse_args()
    main(a.events, a.jobs, a.unlisted)
