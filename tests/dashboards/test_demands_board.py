"""The demands board gives, for the Grafana time range as whole local days, the figures `shenpi demands figures` gives:
demands written by the worker's write path, every panel's SQL run with Grafana's macros and variables expanded."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any, Optional

from core.tz import local_day, midnight
from dashboards.boards import panels, render
from schemas import ListChange
from schemas.demands import CHANNELS, KINDS, OUTCOMES, SATISFACTIONS, parse_demand
from streams.cases.reach import apply_list_changes
from streams.cases.write import InBatch, process_case_batches
from streams.demands.queries import figures, listing
from streams.demands.store import apply_demands
from tests.dashboards.test_boards import expand
from tests.histories import BASE, random_histories

KEY = b"test-identity-key"
T0, T1 = BASE - timedelta(days=10), BASE + timedelta(days=35)  # 20 Feb to 5 Apr 2024: all of March a monthly row
TEXTS = ["食品经营许可证办了两个月还没批", "取水许可要的材料太多，跑了三趟", "大厅空调太冷", "网上办不了，态度很差",
         "希望在县里就能办食品经营许可证", "收费不合理"]


def _demand(rng: random.Random, i: int, at) -> Any:
    given = rng.choice([None, None, None, "ITEM-X", "DEPT"])  # ITEM-X: listed nowhere, no cases
    outcome = rng.choice([None, *OUTCOMES])
    raw = {"demand_id": f"B{i}", "received_at": at.isoformat(), "channel": rng.choice(CHANNELS[:3]),
           "kind": rng.choice(KINDS[:3]), "region_code": rng.choice(["330102", "330106", "330100"]),
           "text": rng.choice(TEXTS), "requester_hash": f"{rng.randrange(30):064d}",
           "item_code": given if given == "ITEM-X" else None, "department_code": "D-FGW" if given == "DEPT" else None,
           "outcome": outcome, "satisfaction": rng.choice([None, *SATISFACTIONS]),
           "handled_at": (at + timedelta(hours=rng.randrange(1, 90), seconds=7)).isoformat() if outcome else None}
    d, refusal = parse_demand({k: v for k, v in raw.items() if v is not None}, KEY)
    assert refusal is None, refusal
    return d


async def _load(conn) -> None:
    await apply_list_changes(conn, [ListChange.model_validate(
        {"change_id": f"n{i}", "item_code": code, "action": "added", "effective_at": "2024-01-01T00:00:00+08:00",
         "name": name, "category": "行政许可", "department_code": "D-FGW", "level": "county",
         "region_codes": ["330100"], "committed_days": 3})
        for i, (code, name) in enumerate([("ITEM-A", "食品经营许可证核发"), ("ITEM-B", "取水许可")])])
    events = random_histories(random.Random(11), 300)
    for i in range(0, len(events), 200):
        await process_case_batches(conn, [InBatch(f"c{i}", "test", events[i:i + 200])])
    rng = random.Random(5)
    ats = [T0 - timedelta(minutes=1), T0, T1 - timedelta(minutes=1), T1]  # either side of the range's ends
    ats += [T0 + timedelta(minutes=rng.randrange(-5 * 1440, 50 * 1440)) for _ in range(300)]
    demands = [_demand(rng, i, at) for i, at in enumerate(ats)]
    for i in range(0, len(demands), 70):
        await apply_demands(conn, [(f"k{d.demand_id}", d) for d in demands[i:i + 70]], 0.3)


async def _board(conn, variables: dict[str, list[str]]) -> dict[str, list[dict]]:
    out = {}
    for p in panels(json.loads(render("demands"))):
        for target in p.get("targets", []):
            sql = expand(target["rawSql"], T0, T1 - timedelta(milliseconds=1), variables)
            out[p["title"]] = [dict(r) for r in await conn.fetch(sql)]
    return out


def _rounded(v: Optional[float], digits: int) -> Optional[float]:
    return None if v is None else round(v, digits)


def _stats_equal(board: dict[str, list[dict]], row: dict[str, Any]) -> None:
    def value(title: str) -> Any:
        return board[title][0]["value"]

    assert value("诉求量 Demands") == row["demands"] > 0
    assert value("投诉量 Complaints") == row["complaints"]
    assert _rounded(value("解决率 Resolved rate"), 4) == row["resolved_rate"] is not None
    assert _rounded(value("满意率 Satisfaction rate"), 4) == row["satisfaction_rate"] is not None
    assert _rounded(value("平均办理时长 Average handling hours"), 2) == row["handling_hours"] is not None


def _items_equal(rows: list[dict], fig: dict[str, Any]) -> None:
    want = {r["item_code"]: r for r in fig["rows"] if r["item_code"] is not None}
    assert [r["item_code"] for r in rows] == sorted(want, key=lambda k: (-want[k]["complaints"], -want[k]["demands"], k))
    for r in rows:
        w = want[r["item_code"]]
        assert (r["demands"], r["complaints"]) == (w["demands"], w["complaints"]), r
        assert _rounded(r["complaints_per_10k_cases"], 2) == w["complaints_per_10k_cases"], r
        assert _rounded(r["resolved_rate"], 4) == w["resolved_rate"], r
        assert _rounded(r["satisfaction_rate"], 4) == w["satisfaction_rate"], r


async def test_the_demands_board_gives_the_figures_of_the_query_api(private_conn):
    conn = private_conn
    await _load(conn)
    start, end = midnight(local_day(T0)), midnight(local_day(T1 - timedelta(milliseconds=1)) + timedelta(days=1))
    assert (start, end) == (T0, T1)
    assert await conn.fetchval("SELECT count(*) FROM demand_rollup WHERE span = 'month' AND day = '2024-03-01'")
    offered: dict[str, list[str]] = {}
    for var in json.loads(render("demands"))["templating"]["list"]:
        offered[var["name"]] = [r["__value"] for r in await conn.fetch(expand(var["query"], T0, T1, {}))]
    for name, col in (("region", "region_code"), ("department", "department_code"), ("item", "item_code")):
        present = {r[0] for r in await conn.fetch(f"SELECT {col} FROM indicator_daily UNION SELECT {col}"
                                                  " FROM demand_rollup WHERE day >= '2024-02-01' AND day < $1",
                                                  local_day(T1))}
        assert set(offered[name]) == present, name
    assert "" in offered["item"] and "" in offered["department"]  # 'All' takes in unlinked demands too

    board = await _board(conn, offered)
    by_region = await figures(conn, start, end, "region")
    assert board["诉求量 Demands"][0]["value"] == sum(r["demands"] for r in by_region["rows"])
    assert board["投诉量 Complaints"][0]["value"] == sum(r["complaints"] for r in by_region["rows"])
    by_item = await figures(conn, start, end, "item")
    _items_equal(board["投诉最多的事项 Items by complaints, per 10,000 received cases"], by_item)
    per_10k = [r["complaints_per_10k_cases"] for r in by_item["rows"] if r["item_code"]]
    assert None in per_10k and any(v is not None for v in per_10k), "an item without cases, and items with"
    channels = {r["metric"]: r["value"] for r in board["渠道 Demands by channel"]}
    assert channels == {r["channel"]: r["demands"] for r in (await figures(conn, start, end, "channel"))["rows"]}
    topics: dict[str, int] = {}
    for r in board["每日诉求（按主题） Demands per day by topic"]:
        assert T0 <= r["time"] < T1
        topics[r["metric"]] = topics.get(r["metric"], 0) + r["value"]
    assert topics == {r["topic"]: r["demands"] for r in (await figures(conn, start, end, "topic"))["rows"]}
    unlinked = [d for d in (await listing(conn, unlinked=True, limit=10_000))["demands"]
                if start <= datetime.fromisoformat(d["received_at"]) < end]
    assert 0 < len(unlinked) < 100
    assert board["未关联诉求 Unlinked demands"][0]["value"] == len(unlinked)
    assert [(r["demand_id"], r["text"], r["region_code"]) for r in board[
        "待关联的诉求 Latest unlinked demands, to link to an item"]] == [
        (d["demand_id"], d["text"], d["region_code"]) for d in unlinked]

    for region in ("330102", "330106", "330100"):  # one region chosen: every stat is that region's row
        chosen = await _board(conn, {**offered, "region": [region]})
        row = next(r for r in by_region["rows"] if r["region_code"] == region)
        _stats_equal(chosen, row)
    chosen = await _board(conn, {**offered, "region": ["330106"]})
    _items_equal(chosen["投诉最多的事项 Items by complaints, per 10,000 received cases"],
                 await figures(conn, start, end, "item", scope="330106"))
    chosen = await _board(conn, {**offered, "item": ["ITEM-A"]})
    _stats_equal(chosen, (await figures(conn, start, end, "item", item="ITEM-A"))["rows"][0])

