"""The archive at a city's scale: text documents in (checked, kept, read by the worker: segmented, recognised,
proposed), search over N documents of ~10 pages (p50/p95, either script, phrases, filters, a county's scope), and OCR
pages a minute with two worker processes (as `shenpi up` runs them) while /healthz is asked four times a second.

    .venv/bin/python bench/archive.py [--docs 50000] [--ingest 200] [--scans 8]
"""
from __future__ import annotations

from typing import Any

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import sys
import time
from datetime import date
from functools import lru_cache
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402

from bench._stack import broker, fresh_database, processes  # noqa: E402
from connectors.documents import read  # noqa: E402
from core.script import to_traditional  # noqa: E402
from core.settings import Settings  # noqa: E402
from schemas.staffing import parse_staffing_change  # noqa: E402
from simulator.documents import render_scan, sanding_text  # noqa: E402
from simulator.org import BASES, make_uscc  # noqa: E402
from streams.archive import documents  # noqa: E402
from streams.archive.agents import read_next  # noqa: E402
from streams.archive.search import search  # noqa: E402
from streams.staffing.store import apply_staffing_changes  # noqa: E402
from streams.staffing.words import search_vector  # noqa: E402

CITIES = [("潍坊市", "370700"), ("青州市", "370781"), ("诸城市", "370782"), ("寿光市", "370783")]
QUERIES = ["内设机构", "行政编制", "教育督导", "內設機構", "市场主体登记", '"依法实施"', "档案接收 档案利用",
           "政务服务事项进驻", "卫生健康委员会", "机构改革方案", "食品经营许可", "正科级领导职数"]


@lru_cache(maxsize=1)
def units() -> list[tuple[str, str, str]]:
    return [(make_uscc("11", region, i * 100 + j), city + base[0], region)
            for i, (city, region) in enumerate(CITIES) for j, base in enumerate(BASES)]


async def load_units(conn) -> None:
    raws = [{"change_id": f"bu{k}", "effective_at": "1990-01-01T00:00:00+08:00", "kind": "unit_set",
             "unit_code": code, "doc_no": "潍编〔1990〕1号", "name": name, "region_code": region,
             "nature": "行政机关", "rank": "正处级", "funding": "全额拨款"} for k, (code, name, region) in enumerate(units())]
    await apply_staffing_changes(conn, [(f"bd{i}", parse_staffing_change(r, b"k")[0]) for i, r in enumerate(raws)])


def document_pages(k: int, pages: int) -> list[str]:
    _, name, _ = units()[k % len(units())]
    text = sanding_text(unit=name, year=1980 + k % 45, seq=k % 300 + 1, seed=k, clauses=8)
    body = text.split("\n")
    return [text] + ["\n".join(random.Random(k * 31 + p).sample(body, len(body) // 2)) for p in range(pages - 1)]


async def ingest(dsn: str, n: int, pages: int) -> dict:
    """Text documents in through the edge (checked whole, kept) and the worker (read, segmented, recognised, stored
    with its proposal): documents a second each way and end to end, one process."""
    from tests.documents_data import docx

    files = [docx(document_pages(10_000_000 + k, pages)) for k in range(n)]
    s = Settings(database_url=dsn)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    t0 = time.perf_counter()
    async with pool.acquire() as conn:
        for k, data in enumerate(files):
            await documents.add(conn, data, f"in{k}.docx", read(data, f"in{k}.docx"), uploaded_by="bench")
    t1, c1 = time.perf_counter(), time.process_time()
    while await read_next(pool, s) is not None:
        pass
    t2, c2 = time.perf_counter(), time.process_time()
    ready = await pool.fetchval("SELECT count(*) FROM archive_document WHERE status = 'ready'")
    await pool.close()
    return {"documents": n, "pages_each": pages, "ready": ready, "edge_per_second": round(n / (t1 - t0), 1),
            "worker_per_second_one_process": round(n / (t2 - t1), 1), "end_to_end_per_second": round(n / (t2 - t0), 1),
            "worker_python_cpu_ms_per_document": round((c2 - c1) / n * 1000, 1)}


async def bulk(dsn: str, n: int, pages: int) -> float:
    """N documents of `pages` pages straight into the tables (text segmented as the worker does), for search."""
    conn = await asyncpg.connect(dsn)
    t0 = time.perf_counter()
    vectors: dict[str, str] = {}
    await conn.execute("CREATE TEMP TABLE staging (document_id bigint, n int, text text, words text)")
    us = units()
    for start in range(0, n, 1000):
        docs, rows, pages_rows = [], [], []
        for k in range(start, min(n, start + 1000)):
            code, _, region = us[k % len(us)]
            ps = document_pages(k, pages)
            if k % 5 == 0:
                ps = [to_traditional(p) for p in ps]
            sha = hashlib.sha256(f"bench-{k}".encode()).hexdigest()
            docs.append((sha, f"bench-{k}".encode()))
            rows.append((k + 1, sha, f"d{k}.docx", "docx", 100, "ready", ps[0].split("\n")[0], ps[0].split("\n")[1],
                         date(1980 + k % 45, 6, 1), "三定规定", code, region, pages,
                         sum(map(len, ps)), "bench"))
            for i, p in enumerate(ps, 1):  # a page's words are its lines' words: lines repeat, pages do not
                for line in p.split("\n"):
                    if line not in vectors:
                        vectors[line] = search_vector(line)
                pages_rows.append((k + 1, i, p, " ".join(vectors[line] for line in p.split("\n"))))
        await conn.copy_records_to_table("archive_original", records=docs, columns=["sha256", "bytes"])
        await conn.copy_records_to_table("archive_document", records=rows, columns=[
            "document_id", "sha256", "filename", "kind", "size_bytes", "status", "doc_no", "title", "issued_at",
            "doc_type", "unit_code", "region_code", "pages", "chars", "uploaded_by"])
        await conn.copy_records_to_table("staging", records=pages_rows)
    await conn.execute("DROP INDEX archive_page_tsv_idx")
    await conn.execute("INSERT INTO archive_page (document_id, n, text, plain, ocr, tsv) SELECT document_id, n, text,"
                       " NULL, false, to_tsvector('simple', words) FROM staging")
    await conn.execute("CREATE INDEX archive_page_tsv_idx ON archive_page USING gin (tsv)")
    await conn.execute("DROP INDEX archive_document_tsv_idx")
    await conn.execute("UPDATE archive_document d SET tsv = w.tsv FROM (SELECT document_id, to_tsvector('simple',"
                       " string_agg(words, ' ')) AS tsv FROM staging GROUP BY 1) w WHERE w.document_id = d.document_id")
    await conn.execute("CREATE INDEX archive_document_tsv_idx ON archive_document USING gin (tsv) WHERE tsv IS NOT NULL")
    await conn.execute("SELECT setval('archive_document_document_id_seq', $1)", n + 1)
    await conn.execute("ANALYZE archive_document; ANALYZE archive_page")
    await conn.close()
    return time.perf_counter() - t0


async def searches(dsn: str, rounds: int) -> dict:
    conn = await asyncpg.connect(dsn)
    await search(conn, "预热")
    times: list[float] = []
    totals: dict[str, Any] = {}
    rng = random.Random(3)
    for i in range(rounds):
        q = QUERIES[i % len(QUERIES)]
        kw: dict[str, Any] = rng.choice([{}, {"scope": "370781"}, {"years": (2000, 2010)}, {"doc_type": "三定規定"},
                         {"unit": units()[rng.randrange(len(units()))][0]}])
        t = time.perf_counter()
        r = await search(conn, q, **kw)
        times.append((time.perf_counter() - t) * 1000)
        totals[q] = max(totals.get(q, 0), r["total"])
    await conn.close()
    times.sort()
    return {"queries": rounds, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1), "max_ms": round(times[-1], 1),
            "largest_totals": totals}


async def ocr_under_load(dsn: str, scans: int) -> dict:
    """Scanned pages read by two worker processes (one OCR child each: two cores) while /healthz is asked."""
    from bench._stack import LOGS
    from shenpi.broker import free_port

    port = free_port()
    images = [render_scan(sanding_text(seed=k, year=1990 + k), seed=k) for k in range(scans)]
    with broker() as b:
        env = {"SHENPI_DATABASE_URL": dsn, "SHENPI_KAFKA_BOOTSTRAP": b.bootstrap, "SHENPI_API_PORT": str(port),
               "SHENPI_TOPIC_PREFIX": "benchar", "SHENPI_STATE_DIR": str(LOGS), "SHENPI_WEBHOOK_TOKENS": "bench"}
        with processes(env, ["api"], ["worker"], ["worker"]):
            url = f"http://127.0.0.1:{port}/healthz"
            conn = await asyncpg.connect(dsn)
            for _ in range(600):
                if await conn.fetchval("SELECT count(*) FROM worker WHERE seen_at > now() - interval '3 s'") >= 2:
                    break
                await asyncio.sleep(0.5)
            for k, im in enumerate(images):
                await documents.add(conn, im, f"scan{k}.png", read(im, f"scan{k}.png"), uploaded_by="bench")
            health, t0 = [], time.perf_counter()
            while await conn.fetchval("SELECT count(*) FROM archive_document WHERE ocr AND status IN"
                                      " ('queued', 'reading')"):
                t = time.perf_counter()
                try:
                    urllib.request.urlopen(url, timeout=5).read()
                    health.append(time.perf_counter() - t)
                except OSError:
                    health.append(5.0)
                await asyncio.sleep(0.25)
            wall = time.perf_counter() - t0
            conf = await conn.fetchval("SELECT avg(confidence) FROM archive_page WHERE ocr")
            await conn.close()
    health.sort()
    return {"pages": scans, "minutes": round(wall / 60, 2), "pages_per_minute": round(scans / wall * 60, 1),
            "mean_confidence": round(conf or 0, 3), "healthz_p50_ms": round(statistics.median(health) * 1000, 1),
            "healthz_max_ms": round(health[-1] * 1000, 1), "healthz_samples": len(health)}


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--docs", type=int, default=50_000)
    p.add_argument("--pages", type=int, default=10)
    p.add_argument("--ingest", type=int, default=200)
    p.add_argument("--searches", type=int, default=200)
    p.add_argument("--scans", type=int, default=8)
    a = p.parse_args()
    dsn = fresh_database("shenpi_bench_archive")
    conn = await asyncpg.connect(dsn)
    await load_units(conn)
    await conn.close()
    out = {"bulk_seconds": round(await bulk(dsn, a.docs, a.pages), 1), "documents": a.docs, "pages_each": a.pages}
    print(json.dumps(out), flush=True)
    out["search"] = await searches(dsn, a.searches)
    print(json.dumps(out["search"], ensure_ascii=False), flush=True)
    out["ingest"] = await ingest(dsn, a.ingest, a.pages)
    print(json.dumps(out["ingest"]), flush=True)
    if a.scans:
        out["ocr"] = await ocr_under_load(dsn, a.scans)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
