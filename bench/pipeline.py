"""One run: raw aiokafka consume rate of the pipeline's own envelopes, the pipeline's end-to-end rate (both in
events/s, so their ratio compares like with like), and its latency at a steady load.

    python bench/pipeline.py [--events 400000] [--rate 2000] [--seconds 20] [--workers 2]

Uses the embedded broker (started here) and SHENPI_DATABASE_URL, or a fresh database `shenpi_bench` on
the local PostgreSQL.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.kafka import Publisher, ensure_topics  # noqa: E402
from bench._stack import broker, fresh_database, processes  # noqa: E402
from schemas import CaseEvent, ListChange  # noqa: E402
from shenpi.broker import free_port  # noqa: E402
from core.settings import Settings  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
LIFE = ["accepted", "correction_requested", "correction_submitted", "suspended", "resumed", "completed", "evaluated"]


def gen_events(n: int, seed: int = 1, tag: str = "") -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = []
    base = datetime(2025, 1, 1, tzinfo=SH)
    c = 0
    while len(out) < n:
        cid = f"B{tag}{c}"
        t = base + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        out.append({"event_id": f"{cid}-0", "case_id": cid, "type": "submitted", "occurred_at": t.isoformat(),
                    "item_code": f"ITEM-{rng.randrange(500)}", "region_code": rng.choice(["330102", "330105", "330106"]),
                    "department_code": f"D{rng.randrange(20)}", "channel": rng.choice(["online", "window", "mobile"]),
                    "applicant_key": uuid.UUID(int=rng.getrandbits(128)).hex})
        for i, typ in enumerate(LIFE[: rng.randrange(2, len(LIFE) + 1)], 1):
            t += timedelta(hours=rng.randrange(1, 72))
            ev: dict[str, Any] = {"event_id": f"{cid}-{i}", "case_id": cid, "type": typ, "occurred_at": t.isoformat()}
            if typ == "completed":
                ev["outcome"] = "approved"
            if typ == "evaluated":
                ev["score"] = rng.randrange(1, 6)
            out.append(ev)
        c += 1
    return out[:n]


async def raw_consume_rate(settings: Settings, n: int) -> tuple[float, float, float]:
    """Like with like: the same envelopes the pipeline reads (Publisher, same partitions, up to
    envelope_max_events each), produced to a topic of their own, then read back with plain aiokafka and each
    envelope decoded; (events/s, envelopes/s, events per CPU-second of this process), every envelope counted
    once. The last is what a machine with a core to spare for the reader would see."""
    raw = settings.model_copy(update={"topic_prefix": f"bench-raw-{uuid.uuid4().hex[:6]}"})
    await ensure_topics(raw)
    events = [CaseEvent.model_validate(e) for e in gen_events(n, seed=99, tag="r")]
    pub = Publisher(raw)
    await pub.start()
    for i in range(0, n, 5000):
        await pub.case_events(events[i:i + 5000], "bench", f"raw-{i}")
    await pub.stop()
    cons = AIOKafkaConsumer(raw.case_topic, bootstrap_servers=raw.kafka_bootstrap, auto_offset_reset="earliest",
                            enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024)
    await cons.start()
    got = envelopes = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    while got < n:
        batch = await cons.getmany(timeout_ms=500, max_records=1000)
        for msgs in batch.values():
            for m in msgs:
                got += len(orjson.loads(m.value)["events"])
                envelopes += 1
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await cons.stop()
    if got != n:
        raise SystemExit(f"raw consume read {got:,} events, {n:,} were produced")
    return got / elapsed, envelopes / elapsed, got / cpu


async def counted(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT coalesce(sum(n_events), 0) FROM processed_batch")


async def list_items(pub: Publisher) -> None:
    """The bench's items are on the list, as a city's would be."""
    await pub.list_changes([ListChange.model_validate({
        "change_id": f"bench-{i}", "item_code": f"ITEM-{i}", "action": "added", "effective_at": "2020-01-01T00:00:00+08:00",
        "name": f"事項{i}", "category": "行政許可", "department_code": f"D{i % 20}", "level": "county",
        "region_codes": ["330102", "330105", "330106"], "committed_days": 5}) for i in range(500)])


async def end_to_end(settings: Settings, pool: asyncpg.Pool, n: int) -> float:
    events = [CaseEvent.model_validate(e) for e in gen_events(n, seed=2, tag="e")]
    pub = Publisher(settings)
    await pub.start()
    await list_items(pub)
    while await pool.fetchval("SELECT count(*) FROM list_change") < 500:
        await asyncio.sleep(0.05)
    start_count = await counted(pool)
    t0 = time.perf_counter()
    for i in range(0, n, 5000):
        await pub.case_events(events[i:i + 5000], "bench", f"e2e-{i}")
    t_sent = time.perf_counter() - t0
    while await counted(pool) < start_count + n:
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - t0
    await pub.stop()
    print(f"  produced {n:,} events in {t_sent:.2f}s; all counted after {elapsed:.2f}s")
    return n / elapsed


async def latency(settings: Settings, rate: int, seconds: float, run: int = 0) -> tuple[float, float, int]:
    """Chunks every 50 ms at `rate` events/s, happening now, with a list change every second (the alert passes run
    as they do); latency = produce start → today's `received` in the API includes the chunk."""
    per = max(1, rate // 20)
    n_chunks = int(seconds * 20)
    now = datetime.now(SH)
    subs = [CaseEvent.model_validate({
        "event_id": f"L{run}-{k}", "case_id": f"L{run}-{k}", "type": "submitted", "occurred_at": now.isoformat(),
        "item_code": f"ITEM-{k % 500}", "region_code": "330102", "department_code": f"D{k % 20}", "channel": "online",
    }) for k in range(per * n_chunks)]
    url = f"http://127.0.0.1:{settings.api_port}/api/v1/indicators"  # the live view: today, until now
    pub = Publisher(settings)
    await pub.start()
    sent: list[tuple[float, int]] = []
    seen: list[tuple[float, int]] = []
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer bench"}) as http:
        async with http.get(url) as r:
            base = (await r.json())["rows"][0]["received"]
        done = asyncio.Event()

        async def poll():
            while not done.is_set():
                async with http.get(url) as r:
                    seen.append((time.perf_counter(), (await r.json())["rows"][0]["received"] - base))
                await asyncio.sleep(0.05)  # a dashboard refreshing 10 times a second, not a load test of the API

        poller = asyncio.create_task(poll())
        t_next = time.perf_counter()
        total = 0
        for k in range(n_chunks):
            chunk = subs[k * per:(k + 1) * per]
            t = time.perf_counter()
            await pub.case_events(chunk, "bench", f"lat-{run}-{k}")
            if k % 20 == 0:  # the list changes meanwhile
                await pub.list_changes([ListChange.model_validate({
                    "change_id": f"lat-change-{run}-{k}", "item_code": f"ITEM-{k % 500}", "action": "modified",
                    "effective_at": now.isoformat(), "committed_days": 5 + k % 3})])
            total += len(chunk)
            sent.append((t, total))
            t_next += 0.05
            await asyncio.sleep(max(0.0, t_next - time.perf_counter()))
        while not seen or seen[-1][1] < total:
            await asyncio.sleep(0.02)
        done.set()
        await poller
    await pub.stop()
    lat = []
    j = 0
    for t, cum in sent:
        while seen[j][1] < cum:
            j += 1
        lat.append(seen[j][0] - t)
    lat.sort()
    return statistics.median(lat), lat[int(0.99 * (len(lat) - 1))], total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=400_000)
    ap.add_argument("--raw-events", type=int, default=200_000)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=2, help="worker processes (partitions are shared out); 2 as `shenpi up`")
    args = ap.parse_args()

    dsn = fresh_database("shenpi_bench")
    with broker() as b:
        settings = Settings(kafka_bootstrap=b.bootstrap, database_url=dsn, api_port=free_port())
        asyncio.run(ensure_topics(settings))
        env = {"SHENPI_KAFKA_BOOTSTRAP": b.bootstrap, "SHENPI_DATABASE_URL": dsn,
               "SHENPI_API_PORT": str(settings.api_port), "SHENPI_WEBHOOK_TOKENS": "bench",
               "SHENPI_PROPAGATION_ENABLED": "false"}  # no platform here: bench/propagation.py measures that
        with processes(env, *[["worker"]] * args.workers, ["api"]):
            asyncio.run(run(settings, args))


async def run(settings: Settings, args) -> None:
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    for _ in range(300):  # worker assigned and API up
        if await pool.fetchval("SELECT count(*) FROM worker WHERE partitions > 0 AND seen_at > now() - interval '2s'"
                               ) >= args.workers:
            break
        await asyncio.sleep(0.2)
    print(f"raw aiokafka consume of the pipeline's envelopes ({args.raw_events:,} events, up to"
          f" {settings.envelope_max_events:,} an envelope, each decoded)…")
    raw, raw_envelopes, raw_cpu = await raw_consume_rate(settings, args.raw_events)
    print(f"  {raw:,.0f} events/s ({raw_envelopes:,.0f} envelopes/s); {raw_cpu:,.0f} events per CPU-second")
    print(f"pipeline end to end ({args.events:,} events)…")
    e2e = await end_to_end(settings, pool, args.events)
    print(f"  {e2e:,.0f} events/s")
    print(f"latency at {args.rate:,} events/s for {args.seconds:.0f}s (produce → visible in /api/v1/indicators),"
          " 3 runs, with list changes and alert passes…")
    runs = []
    for run_no in range(3):
        p50, p99, total = await latency(settings, args.rate, args.seconds, run_no)
        runs.append((p50, p99))
        print(f"  run {run_no + 1}: {total:,} events: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    p50, p99 = max(r[0] for r in runs), max(r[1] for r in runs)
    print(f"  worst: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"RESULT raw_consume={raw:,.0f} events/s end_to_end={e2e:,.0f} events/s ratio={e2e / raw:.3f} (events vs events) "
          f"p50={p50 * 1000:.0f}ms p99={p99 * 1000:.0f}ms @ {args.rate}/s")
    await pool.close()


if __name__ == "__main__":
    main()
