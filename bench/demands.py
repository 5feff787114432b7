"""Demands at city scale: the worker's rate with classification and linking, and a year's figures by item.

    python bench/demands.py [--n 20000] [--items 800] [--rows 1000000]

A fresh database with `--items` items in force in a city; `--n` demands worded from clauses with blanks (a third
naming an item's name, some with phone numbers to mask) parsed at the edge and applied in takes of 2,000 (what a worker
takes), once as they are and once with classification made to cost `--classify-us`; then `--rows` demands spread over a
year written straight by SQL (the rollup kept by its trigger), and a year's figures by item and by topic, from local
midnights and from 09:30 (partial days read from the rows), median of 7 after one run."""
from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
import psycopg  # noqa: E402

from db.migrate import upgrade  # noqa: E402
from core.tz import TZ  # noqa: E402
from schemas.demands import parse_demand  # noqa: E402
from streams.demands import store  # noqa: E402
from streams.demands.classify import classify  # noqa: E402
from streams.demands.queries import figures  # noqa: E402
from streams.demands.store import apply_demands  # noqa: E402
from streams.powerlist import overlap  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
OBJECTS = ["食品经营", "建筑工程施工", "道路运输经营", "医疗机构执业", "排污", "取水", "户外广告设置", "公共场所卫生",
           "危险化学品经营", "出版物零售", "民办学校设立", "特种设备使用", "动物防疫条件", "旅行社设立", "娱乐场所经营"]
ACTS = ["许可", "登记", "审批", "备案", "核准", "证核发"]
# clauses with blanks, so that texts vary as people's do and the clause cache of the linker is not flattered
CLAUSES = ["材料太多，跑了{n}趟", "等了{n}天还没批", "网上办不了", "希望在{place}就能办", "{place}窗口工作人员态度很差",
           "收费{n}元不合理", "{place}和{place2}说法不一", "大厅空调太冷", "请问需要什么条件", "感谢{place}窗口耐心解答",
           "要我开{doc}", "{doc}在{place}开不出来", "{month}月{n}日去了{place}政务中心", "打了{n}次电话没人接",
           "APP登录不了", "排队{n}个小时", "又让补交{doc}", "系统显示{doc}不合格"]
PLACES = ["县里", "镇上", "西湖区", "余杭区", "萧山区", "临平", "市民中心", "街道", "乡里", "开发区", "滨江区", "拱墅区"]
DOCS = ["无犯罪证明", "亲属关系证明", "房产证复印件", "营业执照副本", "健康证", "消防验收意见", "环评批复", "身份证明"]


def _text(rnd: random.Random, names: list[str], i: int) -> str:
    fill = {"n": rnd.randint(2, 60), "place": rnd.choice(PLACES), "place2": rnd.choice(PLACES), "doc": rnd.choice(DOCS),
            "month": rnd.randint(1, 12)}
    text = "，".join(rnd.choice(CLAUSES).format(**fill) for _ in range(rnd.randint(1, 4)))
    text += ("，办" + rnd.choice(names) if i % 3 == 0 else "") + ("，电话13812345678" if i % 10 == 0 else "")
    return text + "。"


def _emulated(us: int):
    """classify, made to cost at least `us` microseconds a demand (the classifier being rewritten may cost that)."""
    def slow(text, extra=None):
        t = time.perf_counter()
        out = classify(text, extra)
        while (time.perf_counter() - t) * 1e6 < us:
            pass
        return out
    return slow


async def worker(conn, n: int, names: list[str], rnd: random.Random, classify_us: int) -> None:
    key = b"bench-key"
    t = time.perf_counter()
    parsed = []
    for i in range(n):
        d, _ = parse_demand({"demand_id": f"B{i}", "received_at": "2026-05-01T09:00:00+08:00", "channel": "12345热线",
                             "kind": "投诉", "region_code": "330102", "text": _text(rnd, names, i),
                             "requester": f"p{i % 5000}"}, key)
        parsed.append((f"k{i}", d))
    print(f"edge (validate, mask, hash): {n / (time.perf_counter() - t):,.0f} demands/s")
    t = time.perf_counter()
    for text in {d.text for _, d in parsed[:2000]}:
        classify(text)
    print(f"classification alone: {(time.perf_counter() - t) / len({d.text for _, d in parsed[:2000]}) * 1e6:.0f} µs"
          " a demand")
    print(f"texts of {statistics.mean(len(d.text) for _, d in parsed):.0f} characters on average")
    await apply_demands(conn, parsed[:500], 0.3)  # a running worker has loaded jieba and its regions' indexes
    cached = overlap._words
    for label, us, cache in (("as it is", 0, True), (f"classification made {classify_us} µs", classify_us, True),
                             (f"classification made {classify_us} µs, no clause cache", classify_us, False)):
        store.classify = _emulated(us) if us else classify  # type: ignore[attr-defined]
        overlap._words = cached if cache else functools.lru_cache(maxsize=0)(cached.__wrapped__)
        await conn.execute("TRUNCATE demand, demand_delivery")
        overlap._words.cache_clear()
        t = time.perf_counter()
        for i in range(0, n, 2000):
            await apply_demands(conn, parsed[i:i + 2000], 0.3)
        took = time.perf_counter() - t
        info = overlap._words.cache_info()
        linked = await conn.fetchval("SELECT count(*) FROM demand WHERE link_how = 'matched'")
        print(f"worker (classify, link, store, rollup) in takes of 2,000, {label}: {n / took:,.0f} demands/s;"
              f" {linked:,} of {n:,} matched; clauses segmented {info.misses:,}, met again {info.hits:,};"
              f" load {os.getloadavg()[0]:.1f}")
    store.classify = classify  # type: ignore[attr-defined]
    overlap._words = cached


async def year(conn, rows: int, n_items: int) -> None:
    t = time.perf_counter()
    await conn.execute(
        "INSERT INTO demand (demand_id, received_at, version_at, channel, kind, region_code, text, topics, why,"
        " link_item, link_department, link_how, requester_hash, outcome, satisfaction, handled_at)"
        " SELECT 'Y' || g, t, t, (ARRAY['12345热线','网上留言','好差评'])[1 + g % 3],"
        " CASE WHEN g % 3 = 0 THEN '建议' ELSE '投诉' END, (ARRAY['330102','330106','330106001','330110'])[1 + g % 4],"
        " '…', ARRAY[(ARRAY['材料繁多','多次跑动','办理时间长','网上办理'])[1 + g % 4]], '[]', 'I' || (g % $2),"
        " 'D' || (g % 40), 'matched', md5((g % 200000)::text), CASE WHEN g % 2 = 0 THEN '已解决' END,"
        " CASE WHEN g % 5 = 0 THEN '满意' END, t + interval '30 hours'"
        " FROM generate_series(1, $1) g, LATERAL (SELECT timestamptz '2025-06-01' + (g % 365) * interval '1 day'"
        " + (g % 86400) * interval '1 second' AS t) x", rows, n_items)
    await conn.execute("VACUUM ANALYZE demand")
    await conn.execute("VACUUM ANALYZE demand_rollup")
    total = await conn.fetchval("SELECT count(*) FROM demand")
    print(f"{rows:,} demands written by SQL, the rollup by its trigger: {time.perf_counter() - t:.1f} s;"
          f" {await conn.fetchval('SELECT count(*) FROM demand_rollup'):,} rollup rows")
    start = datetime(2025, 6, 1, tzinfo=TZ)
    for label, a in (("local midnights", start), ("09:30 to 09:30", start + timedelta(hours=9, minutes=30))):
        for by in ("item", "topic"):
            times = []
            await figures(conn, a, a + timedelta(days=365), by)  # its pages read once, as a server has them
            for _ in range(7):
                t = time.perf_counter()
                out = await figures(conn, a, a + timedelta(days=365), by)
                times.append(time.perf_counter() - t)
            print(f"a year's figures by {by} ({label}) over {total:,} demands: median"
                  f" {statistics.median(times) * 1000:.0f} ms ({len(out['rows']):,} rows); load {os.getloadavg()[0]:.1f}")


async def run(n: int, n_items: int, rows: int, classify_us: int) -> None:
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
        if n:
            await worker(conn, n, names, rnd, classify_us)
        if rows:
            await year(conn, rows, n_items)
        await conn.close()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--items", type=int, default=800)
    p.add_argument("--rows", type=int, default=1000000)
    p.add_argument("--classify-us", type=int, default=150, help="classification made to cost this, as a second run")
    a = p.parse_args()
    asyncio.run(run(a.n, a.items, a.rows, a.classify_us))
