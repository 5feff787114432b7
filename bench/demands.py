"""Demands at city scale: the worker's rate with classification and linking, and a year's figures by item.

    python bench/demands.py [--n 20000] [--items 800] [--rows 1000000]

A fresh database with `--items` items in force in a city; `--n` demands worded from templates (a third naming an
item, some with phone numbers to mask) parsed at the edge and applied in takes of 2,000 (what a worker takes); then
`--rows` demands spread over a year written straight by SQL, and the year's figures by item (median of 5)."""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
import psycopg  # noqa: E402

from db.migrate import upgrade  # noqa: E402
from schemas.demands import parse_demand  # noqa: E402
from streams.demands.classify import model  # noqa: E402
from streams.demands.queries import figures  # noqa: E402
from streams.demands.store import apply_demands  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
OBJECTS = ["食品经营", "建筑工程施工", "道路运输经营", "医疗机构执业", "排污", "取水", "户外广告设置", "公共场所卫生",
           "危险化学品经营", "出版物零售", "民办学校设立", "特种设备使用", "动物防疫条件", "旅行社设立", "娱乐场所经营"]
ACTS = ["许可", "登记", "审批", "备案", "核准", "证核发"]
WORDS = ["材料太多，跑了三趟", "等了一个多月还没批", "网上办不了", "希望在县里就能办", "工作人员态度很差",
         "收费不合理", "政策说法不一", "大厅空调太冷", "请问需要什么条件", "感谢窗口耐心解答"]


async def run(n: int, n_items: int, rows: int) -> None:
    name = f"bench_demands_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    dsn = ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(dsn)
        conn = await asyncpg.connect(dsn)
        rnd = random.Random(1)
        names = [f"{o}{a}{'' if k < len(OBJECTS) * len(ACTS) else k}"
                 for k, (o, a) in enumerate((rnd.choice(OBJECTS), rnd.choice(ACTS)) for _ in range(n_items))]
        await conn.executemany(
            "INSERT INTO list_item_version (item_code, valid_from, change_id, action, active, was_listed, name,"
            " department_code, level, region_codes) VALUES ($1, '2020-01-01', $1, 'added', true, true, $2, $3, 'city',"
            " '{330100}')", [(f"I{k}", nm, f"D{k % 40}") for k, nm in enumerate(names)])
        key = b"bench-key"
        t = time.perf_counter()
        parsed = []
        for i in range(n):
            text = rnd.choice(WORDS) + ("，办" + rnd.choice(names) if i % 3 == 0 else "")
            text += "，电话13812345678" if i % 10 == 0 else ""
            d, _ = parse_demand({"demand_id": f"B{i}", "received_at": "2026-05-01T09:00:00+08:00", "channel": "12345热线",
                                 "kind": "投诉", "region_code": "330102", "text": text, "requester": f"p{i % 5000}"},
                                key)
            parsed.append((f"k{i}", d))
        edge = time.perf_counter() - t
        t = time.perf_counter()
        model()  # the topics' model is trained once per process, at first use: not part of the rate
        print(f"topics' model trained in {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        for i in range(0, n, 2000):
            await apply_demands(conn, parsed[i:i + 2000], 0.3)
        took = time.perf_counter() - t
        linked = await conn.fetchval("SELECT count(*) FROM demand WHERE link_how = 'matched'")
        print(f"edge (validate, mask, hash): {n / edge:,.0f} demands/s")
        print(f"worker (classify, link, store) in takes of 2,000: {n / took:,.0f} demands/s;"
              f" {linked:,} of {n:,} matched to an item")
        await conn.execute(
            "INSERT INTO demand (demand_id, received_at, version_at, channel, kind, region_code, text, topics, why,"
            " link_item, link_department, link_how, requester_hash, outcome, satisfaction, handled_at)"
            " SELECT 'Y' || g, t, t, '12345热线', CASE WHEN g % 3 = 0 THEN '建议' ELSE '投诉' END, '330102', '…',"
            " ARRAY[(ARRAY['材料繁多','多次跑动','办理时间长','网上办理'])[1 + g % 4]], '[]', 'I' || (g % $2),"
            " 'D' || (g % 40), 'matched', md5((g % 200000)::text), CASE WHEN g % 2 = 0 THEN '已解决' END,"
            " CASE WHEN g % 5 = 0 THEN '满意' END, t + interval '30 hours'"
            " FROM generate_series(1, $1) g, LATERAL (SELECT timestamptz '2025-06-01' + (g % 365) * interval '1 day'"
            " + (g % 86400) * interval '1 second' AS t) x", rows, n_items)
        await conn.execute("ANALYZE demand")
        start = datetime(2025, 6, 1, tzinfo=timezone.utc)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            out = await figures(conn, start, start + timedelta(days=365), "item")
            times.append(time.perf_counter() - t)
        print(f"a year's figures by item over {rows + n:,} demands: median {statistics.median(times) * 1000:.0f} ms"
              f" ({len(out['rows']):,} rows)")
        await conn.close()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--items", type=int, default=800)
    p.add_argument("--rows", type=int, default=1000000)
    a = p.parse_args()
    asyncio.run(run(a.n, a.items, a.rows))
