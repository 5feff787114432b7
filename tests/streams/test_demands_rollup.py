"""Demands figures read from the daily and monthly rollup (and the rows at a window's ends) equal a plain recomputation
from the demand rows, whatever versions, duplicates, links by hand and deletions came before, for any window."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tz import TZ
from schemas.demands import COMPLAINT, OUTCOMES, SATISFACTIONS, parse_demand
from schemas import parse_list_change
from streams.cases.reach import apply_list_changes
from streams.demands import queries
from streams.demands.store import apply_demands, link_by_hand

KEY = b"test-identity-key"
BASE = datetime(2026, 1, 28, tzinfo=TZ)  # a window crosses days and the end of January
TEXTS = ["食品经营许可证办了两个月还没批", "请问取水许可需要什么材料，跑了三趟", "大厅空调太冷", "网上办不了，态度很差",
         "希望在县里就能办食品经营许可", "收费不合理"]


async def reference(conn, start, end, by="item", scope="", item=None, department=None) -> list[dict[str, Any]]:
    """The figures as they were computed before the rollup: from the demand rows alone."""
    name, col = queries.GROUPS[by]
    topic_join = "CROSS JOIN LATERAL unnest(d.topics) AS t(topic)"
    src = f"demand d {topic_join if by == 'topic' else ''} WHERE {queries._WHERE}{queries._ABOUT}"
    args = (start, end, (scope + "%"), item, department)
    rows = await conn.fetch(
        f"SELECT {col} AS key, count(*) AS demands, count(*) FILTER (WHERE d.kind = $6) AS complaints,"
        f" count(*) FILTER (WHERE d.outcome = $7) AS resolved,"
        f" count(*) FILTER (WHERE d.outcome IS NOT NULL OR d.handled_at IS NOT NULL) AS handled,"
        f" count(*) FILTER (WHERE d.satisfaction = ANY($8::text[])) AS satisfied,"
        f" count(*) FILTER (WHERE d.satisfaction IS NOT NULL) AS rated,"
        f" avg(extract(epoch FROM d.handled_at - d.received_at)) / 3600 AS hours"
        f" FROM {src} GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST", *args, COMPLAINT, OUTCOMES[0], list(SATISFACTIONS[:2]))
    same = " AND x.tt = t.topic" if by == "topic" else ""
    topics: dict[Any, dict[str, int]] = {}
    for r in await conn.fetch(
            f"SELECT {col} AS key, x.tt AS topic, count(*) AS n FROM demand d {topic_join if by == 'topic' else ''}"
            f" CROSS JOIN LATERAL unnest(d.topics) AS x(tt) WHERE {queries._WHERE}{queries._ABOUT}{same}"
            f" GROUP BY 1, 2", *args):
        topics.setdefault(r["key"], {})[r["topic"]] = r["n"]
    repeat = {r["key"]: r["n"] for r in await conn.fetch(
        f"SELECT key, count(*) AS n FROM (SELECT {col} AS key, d.requester_hash FROM {src}"
        f" AND d.requester_hash IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) r GROUP BY 1", *args)}
    return [{name: r["key"], "demands": r["demands"], "complaints": r["complaints"], "topics": topics.get(r["key"], {}),
             "repeat_requesters": repeat.get(r["key"], 0),
             "resolved_rate": round(r["resolved"] / r["handled"], 4) if r["handled"] else None,
             "satisfaction_rate": round(r["satisfied"] / r["rated"], 4) if r["rated"] else None,
             "handling_hours": None if r["hours"] is None else round(float(r["hours"]), 2),
             "complaints_per_10k_cases": None} for r in rows]


async def _list(conn):
    for code, name in (("ITEM-FOOD", "食品经营许可"), ("ITEM-WATER", "取水许可")):
        change, _ = parse_list_change({"change_id": code, "item_code": code, "action": "added",
                                       "effective_at": "2020-01-01T00:00:00+08:00", "name": name,
                                       "department_code": "SCJG" if code == "ITEM-FOOD" else "SLJ", "level": "city",
                                       "region_codes": ["330100"], "category": "行政许可"})
        assert change is not None
        await apply_list_changes(conn, [change])


def _demand(i: int, version: int, minutes: int, text: int, given: Optional[str], region: str, kind: str,
            outcome: Optional[str], satisfaction: Optional[str], hours: Optional[int], requester: Optional[int]):
    at = BASE + timedelta(minutes=minutes)
    raw = {"demand_id": f"P{i}", "received_at": at.isoformat(), "updated_at": (BASE + timedelta(days=400 + version)
                                                                               ).isoformat(),
           "channel": "12345热线" if i % 2 else "网上留言", "kind": kind, "region_code": region, "text": TEXTS[text],
           "item_code": given, "outcome": outcome, "satisfaction": satisfaction,
           "handled_at": (at + timedelta(hours=hours, seconds=7)).isoformat() if hours is not None else None,
           "requester_hash": None if requester is None else f"{requester:064d}"}
    d, refusal = parse_demand({k: v for k, v in raw.items() if v is not None}, KEY)
    assert refusal is None, refusal
    return d


PUT = st.tuples(st.just("put"), st.integers(0, 9), st.integers(0, 3), st.integers(0, 60 * 24 * 40),
                st.integers(0, len(TEXTS) - 1), st.sampled_from([None, None, "ITEM-FOOD", "ITEM-X"]),
                st.sampled_from(["330102", "330106", "330106001"]), st.sampled_from(["投诉", "咨询", "建议"]),
                st.sampled_from([None, "已解决", "未解决"]), st.sampled_from([None, "满意", "不满意", "基本满意"]),
                st.sampled_from([None, 0, 5, 30]), st.sampled_from([None, 1, 2, 1]))
OPS = st.lists(st.one_of(PUT, PUT, PUT, st.tuples(st.just("link"), st.integers(0, 9),
                                                  st.sampled_from(["ITEM-WATER", "ITEM-FOOD", "ITEM-Y"])),
                         st.tuples(st.just("delete"), st.integers(0, 9))), min_size=1, max_size=25)
WINDOW = st.tuples(st.integers(-24 * 3, 24 * 35), st.integers(1, 24 * 40), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, windows=st.lists(WINDOW, min_size=1, max_size=3), scope=st.sampled_from(["", "330106"]),
       item=st.sampled_from([None, None, "ITEM-FOOD"]))
async def test_rollup_figures_equal_a_recomputation_from_the_rows(conn, ops, windows, scope, item):
    await conn.execute("TRUNCATE demand, demand_delivery")
    if not await conn.fetchval("SELECT count(*) FROM list_item_version"):
        await _list(conn)
    take: list = []
    for n, op in enumerate(ops):
        if op[0] == "put":  # copies taken together, duplicates and older versions among them
            d = _demand(*op[1:])
            take += [(f"k{n}", d), (f"k{n}", d)]
            continue
        if take:
            await apply_demands(conn, take, 0.3)
            take = []
        if op[0] == "link":
            await link_by_hand(conn, f"P{op[1]}", op[2], "alice")
        else:
            await conn.execute("DELETE FROM demand WHERE demand_id = $1", f"P{op[1]}")
    if take:
        await apply_demands(conn, take, 0.3)
    for hours, length, midnights in windows:
        start = BASE + timedelta(hours=hours // 24 * 24 if midnights else hours, minutes=0 if midnights else 17)
        end = start + timedelta(hours=length // 24 * 24 + 24 if midnights else length)
        for by in queries.GROUPS:
            got = await queries.figures(conn, start.astimezone(timezone.utc), end, by, scope, item)
            assert got["rows"] == await reference(conn, start, end, by, scope, item), (by, start, end)


async def test_a_year_reads_months_less_the_days_they_lack_and_a_window_inside_one_day_reads_rows(conn):
    start = datetime(2025, 6, 3, 9, tzinfo=TZ)
    rows, spans = queries.parts(start, start.replace(year=2026))
    assert rows == [start, datetime(2025, 6, 4, tzinfo=TZ), datetime(2026, 6, 3, tzinfo=TZ), start.replace(year=2026)]
    assert [(s, a.isoformat(), b.isoformat(), sign) for s, a, b, sign in spans] == [
        ("day", "2025-06-01", "2025-06-04", -1), ("day", "2026-06-01", "2026-06-03", 1),
        ("month", "2025-06-01", "2026-06-01", 1)]
    inside, none = queries.parts(start, start + timedelta(hours=3))
    assert inside[:2] == [start, start + timedelta(hours=3)] and inside[2] == inside[3] and none == []


async def test_repeat_requesters_by_item_when_windows_and_scopes_cut_a_requesters_demands(conn):
    await _list(conn)
    spread = [(0, "330102", 1), (3, "330106", 1), (6, "330106", 1), (9, "330106001", 2), (12, "330102", 2),
              (15, "330102", None), (0, "330102", 3), (1, "330102", 3)]
    await apply_demands(conn, [(f"r{i}", _demand(i, 0, day * 60 * 24 + 600, 0, "ITEM-FOOD", region, "投诉", None,
                                                 None, None, who)) for i, (day, region, who) in enumerate(spread)], 0.3)
    await link_by_hand(conn, "P4", "ITEM-WATER", "alice")  # requester 2 left with one demand about the item
    seen = set()
    for first in range(-1, 17):
        for days in range(1, 19, 2):
            start, end = BASE + timedelta(days=first), BASE + timedelta(days=first + days, hours=7)
            for scope in ("", "330106", "330102"):
                got = (await queries.figures(conn, start, end, "item", scope))["rows"]
                assert got == await reference(conn, start, end, "item", scope), (start, end, scope)
                seen.update(r["repeat_requesters"] for r in got)
    assert seen == {0, 1, 2}


async def test_two_writers_at_once_leave_the_pairs_as_their_demands_are(conn, database_url):
    import asyncio
    from pathlib import Path

    import asyncpg

    from core import locks

    assert str(locks.DEMAND_PAIRS) in Path("db/migrations/0031_demand_rollup.sql").read_text()
    await _list(conn)
    other = await asyncpg.connect(database_url)
    try:
        tx = conn.transaction()
        await tx.start()
        await apply_demands(conn, [("a", _demand(1, 0, 60, 0, "ITEM-FOOD", "330102", "投诉", None, None, None, 7))], 0.3)
        late = asyncio.create_task(apply_demands(other, [("b", _demand(2, 0, 120, 0, "ITEM-FOOD", "330106", "投诉", None,
                                                                          None, None, 7))], 0.3))
        pid = other.get_server_pid()
        for _ in range(500):  # until the second writer waits for the first (or, were there no lock, is done)
            if late.done() or await conn.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", pid):
                break
            await asyncio.sleep(0.01)
        await tx.commit()
        await late
    finally:
        await other.close()
    pairs = [dict(r) for r in await conn.fetch("SELECT item_code, demands, region_code FROM demand_item_requester")]
    assert pairs == [{"item_code": "ITEM-FOOD", "demands": 2, "region_code": None}]
