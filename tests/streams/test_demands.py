"""Demands stored exactly once by demand_id (a later updated_at wins), linked, classified, counted in figures;
through the broker and the API the totals reconcile and no planted private value is stored or logged."""
from __future__ import annotations

import subprocess
import time
from datetime import datetime, timezone

from schemas import parse_list_change
from schemas.demands import parse_demand
from streams.cases.reach import apply_list_changes
from streams.demands import queries
from streams.demands.store import apply_demands, link_by_hand

KEY = b"test-identity-key"
T0, T1 = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=timezone.utc)


def _d(i, text="材料太多，跑了三趟", **kw):
    raw = {"demand_id": f"D{i}", "received_at": "2026-03-02T10:00:00+08:00", "channel": "12345热线", "kind": "投诉",
           "region_code": "330102", "text": text, **kw}
    d, refusal = parse_demand(raw, KEY)
    assert refusal is None, refusal
    return d


async def _list(conn):
    change, _ = parse_list_change({"change_id": "c1", "item_code": "ITEM-FOOD", "action": "added",
                                   "effective_at": "2020-01-01T00:00:00+08:00", "name": "食品经营许可",
                                   "department_code": "SCJG", "level": "city", "region_codes": ["330100"],
                                   "category": "行政许可"})
    assert change is not None
    await apply_list_changes(conn, [change])


async def test_exactly_once_later_version_wins_linked_and_counted(conn):
    await _list(conn)
    first = _d(1, requester_hash="a" * 64)
    later = _d(1, text="食品经营许可证办了两个月还没批", updated_at="2026-03-05T10:00:00+08:00",
               handled_at="2026-03-04T10:00:00+08:00", outcome="已解決", satisfaction="滿意", requester_hash="a" * 64)
    assert await apply_demands(conn, [("k1", later), ("k2", first)], 0.3) == 1  # the older copy changes nothing
    assert await apply_demands(conn, [("k1", later)], 0.3) == 0  # a redelivered record
    assert await apply_demands(conn, [("k6", first)], 0.3) == 0  # an older copy, later: a duplicate
    assert await apply_demands(conn, [("k3", _d(2, "请问食品经营许可需要什么条件", requester_hash="a" * 64)),
                                      ("k4", _d(3, "大厅的空调太冷", department_code="SCJG")),
                                      ("k5", _d(4, "路灯坏了", item_code="ITEM-X"))], 0.3) == 3
    one = await queries.show(conn, "D1")
    assert one["text"] == "食品经营许可证办了两个月还没批" and one["outcome"] == "已解决"
    assert one["link"]["item_code"] == "ITEM-FOOD" and one["link"]["how"] == "matched" and one["link"]["score"] >= 0.3
    assert [t["topic"] for t in one["topics"]] == ["办理时间长"] and one["topics"][0]["words"]
    d3, d4 = await queries.show(conn, "D3"), await queries.show(conn, "D4")
    assert d3["link"] == {**d3["link"], "item_code": None, "department_code": "SCJG", "how": "given"}
    assert d4["link"]["item_code"] == "ITEM-X" and d4["link"]["how"] == "given"
    unlinked = await queries.listing(conn, unlinked=True)
    assert [d["demand_id"] for d in unlinked["demands"]] == []  # D1, D2 matched; D3, D4 given
    linked = await link_by_hand(conn, "D3", "ITEM-FOOD", "alice")
    assert linked["linked_by"] == "alice" and linked["link_item"] == "ITEM-FOOD"
    rows = {r["item_code"]: r for r in (await queries.figures(conn, T0, T1, "item"))["rows"]}
    food = rows["ITEM-FOOD"]
    assert (food["demands"], food["complaints"], food["repeat_requesters"]) == (3, 3, 1)
    assert food["resolved_rate"] == 1.0 and food["satisfaction_rate"] == 1.0 and food["handling_hours"] == 48.0
    assert food["topics"]["办理时间长"] == 1 and food["complaints_per_10k_cases"] is None
    by_topic = {r["topic"]: r["demands"] for r in (await queries.figures(conn, T0, T1, "topic"))["rows"]}
    assert by_topic["办理时间长"] == 1 and by_topic["政策不明"] == 1
    unit = await queries.department_figures(conn, "SCJG", T0, T1, 20000)  # a unit's evaluation source
    assert unit == {"complaints": 3, "complaints_per_10k_cases": 1.5, "satisfaction_rate": 1.0}
    assert (await queries.department_figures(conn, "SCJG", T0, T1, 0))["complaints_per_10k_cases"] is None
    assert (await queries.figures(conn, T0, T1, "region", scope="330106"))["rows"] == []
    assert (await queries.show(conn, "D1", scope="330106")) is None
    near = [_d("N1", "希望在县里就能办食品经营许可", item_code="ITEM-FOOD", region_code="330106"),
            _d("N2", "希望就近办理", item_code="ITEM-FOOD", region_code="330100"),  # the city itself: not counted
            _d("N3", "就近办理", item_code="ITEM-FOOD", region_code="330106001")]
    await apply_demands(conn, [(d.demand_id, d) for d in near], 0.3)
    assert await queries.nearby_from_counties(conn, T0, T1, ["ITEM-FOOD", "ITEM-X"]) == {"ITEM-FOOD": 2}
    await conn.execute("DELETE FROM demand WHERE demand_id LIKE 'DN%'")
    from web.console.demands import unit_section

    section = await unit_section(conn, "SCJG", "")  # the unit's page (its items' demands, not their texts)
    assert "/demands?" in section and "item=ITEM-FOOD" in section and "还没批" not in section
    assert await unit_section(conn, "SCJG", "330106") == ""  # another county's user sees none
    from streams.analysis.compare import compare
    from streams.indicators.queries import Window

    await conn.execute("INSERT INTO indicator_daily (day, region_code, department_code, item_code, level, received)"
                       " VALUES ('2026-03-02', '330102', 'SCJG', 'ITEM-FOOD', 'county', 40)")
    side = {r["region_code"]: r["demands"] for r in (await compare(conn, Window(T0, T1), "ITEM-FOOD"))["rows"]}
    assert side["330102"]["demands"] == 3 and side["330102"]["complaints_per_10k_cases"] == 750.0  # 3 / 40


async def test_through_the_broker_and_the_api_nothing_private_kept(stack, tmp_path):
    import aiohttp

    from tests.conftest import TOKEN, truncate_all

    truncate_all(stack.settings.database_url)
    planted = ["13987654321", "0571-86668888", "86668888", "11010519491231002X", "li.si@example.org", "王小明"]
    body = [{"demand_id": f"P{i}", "received_at": "2026-04-01T09:00:00+08:00", "channel": "網上留言", "kind": "投訴",
             "region_code": "330102", "requester": "王小明" if i % 2 else "139 8765 4321",
             "text": f"我的电话13987654321，座机0571-86668888，身份证11010519491231002X，li.si@example.org 跑了{i}趟"}
            for i in range(20)]
    body += [{"demand_id": "bad", "channel": "x", "text": "13987654321"}, body[0]]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:
        async with s.post(stack.url + "/api/v1/demands", json=body) as r:
            assert r.status == 207, await r.text()
        for _ in range(300):
            async with s.get(stack.url + "/api/v1/status") as r:
                st = (await r.json())["demands"]
            if st["reconciled"] and st["received"] == len(body):
                break
            time.sleep(0.1)
        assert st["reconciled"] and st["received"] == 22 and st["applied"] == 20, st
        assert st["duplicates"] == 1 and st["dead_lettered"] == 1, st
        async with s.get(stack.url + "/api/v1/demands/figures",
                         params={"from": "2026-01-01", "to": "2027-01-01", "by": "channel"}) as r:
            rows = (await r.json())["rows"]
        assert rows[0]["channel"] == "网上留言" and rows[0]["demands"] == 20 and rows[0]["repeat_requesters"] == 2
    dump = subprocess.run(["pg_dump", "--data-only", stack.settings.database_url], capture_output=True, text=True,
                          check=True).stdout
    logs = "".join(p.read_text(errors="replace") for p in stack.logs.glob("*.log"))
    assert "P19" in dump
    for value in planted:
        assert value not in dump and value not in logs, value


async def test_simplify_recommended_with_counts_and_texts(conn):
    from streams.analysis.recommend import RecommendParams, recommend
    from streams.indicators.queries import Window

    many = [_d(f"S{i}", f"材料太多，第{i}次补材料", item_code="ITEM-HEAVY") for i in range(22)]
    few = [_d(f"T{i}", "跑了三趟", item_code="ITEM-LIGHT") for i in range(5)]
    praise = [_d(f"P{i}", "材料太多", item_code="ITEM-PRAISE", kind="建议") for i in range(30)]
    await apply_demands(conn, [(f"s{i}", d) for i, d in enumerate(many + few + praise)], 0.3)
    window = Window(T0, T1)
    got = await recommend(conn, window, RecommendParams())
    simplify = [r for r in got["recommendations"] if r["kind"] == "simplify"]
    assert [r["item_codes"] for r in simplify] == [["ITEM-HEAVY"]]  # not 5 complaints, not suggestions
    ev = simplify[0]["evidence"]
    assert ev["complaints"] == 22 and ev["by_topic"]["材料繁多"] == 22 and len(ev["sample_texts"]) == 3
    assert simplify[0]["parameters"]["simplify_min_complaints"] == 20
    lower = await recommend(conn, window, RecommendParams(simplify_min_complaints=5))
    assert {tuple(r["item_codes"]) for r in lower["recommendations"] if r["kind"] == "simplify"} == {
        ("ITEM-HEAVY",), ("ITEM-LIGHT",)}
    higher = await recommend(conn, window, RecommendParams(simplify_min_complaints=23))
    assert not [r for r in higher["recommendations"] if r["kind"] == "simplify"]


async def test_demand_surge_fires_once_and_resolves_once(conn):
    from datetime import timedelta

    from streams.demands import surge

    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    before = [_d(f"W{w}-{i}", "材料太多", item_code="ITEM-S",
                 received_at=(now - timedelta(days=7 * w + 3)).isoformat()) for w in range(1, 13) for i in range(2)]
    burst = [_d(f"B{i}", "材料太多", item_code="ITEM-S", received_at=(now - timedelta(hours=i + 1)).isoformat())
             for i in range(9)]
    await apply_demands(conn, [(d.demand_id, d) for d in before + burst], 0.3)
    assert await surge.evaluate(conn, now, 3, 10, ["log"]) == 0  # 9 < n
    extra = _d("B9", "材料太多", item_code="ITEM-S", received_at=(now - timedelta(hours=20)).isoformat())
    await apply_demands(conn, [("b9", extra)], 0.3)
    assert await surge.evaluate(conn, now, 3, 10, ["log"]) == 1  # 10 >= n and > 3 x 2
    assert await surge.evaluate(conn, now + timedelta(hours=1), 3, 10, ["log"]) == 0  # told once
    assert await surge.evaluate(conn, now + timedelta(days=8), 3, 10, ["log"]) == 1  # resolved, once
    assert await surge.evaluate(conn, now + timedelta(days=9), 3, 10, ["log"]) == 0
    kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM alert_event WHERE rule = 'demand_surge' ORDER BY id")]
    assert kinds == ["firing", "resolved"]
    assert await conn.fetchval("SELECT count(*) FROM alert_notification n JOIN alert_event e ON e.id = n.event_id"
                               " WHERE e.rule = 'demand_surge'") == 2


async def test_cached_recommendations_follow_new_demands_and_links_by_hand(conn):
    from streams.analysis.service import recommendations
    from streams.demands.store import link_by_hand
    from streams.indicators.queries import Window

    window = Window(T0, T1)

    async def simplified() -> tuple[list, bool]:
        got = await recommendations(conn, window)
        return [r["item_codes"] for r in got["recommendations"] if r["kind"] == "simplify"], got["cached"]

    await apply_demands(conn, [("c0", _d("C0", "材料太多", item_code="ITEM-HEAVY"))], 0.3)
    assert await simplified() == ([], False)
    assert await simplified() == ([], True)
    many = [_d(f"C{i}", f"材料太多，第{i}次补材料", item_code="ITEM-HEAVY") for i in range(1, 20)]
    await apply_demands(conn, [(f"c{i}", d) for i, d in enumerate(many, 1)], 0.3)
    assert await simplified() == ([["ITEM-HEAVY"]], False), "20 complaints now: the cached answer is not served"
    assert await link_by_hand(conn, "DC1", "ITEM-OTHER", "tester")
    assert await simplified() == ([], False), "19 left after a person moved one"


async def test_an_item_dated_ahead_is_not_linked_before_its_day(conn):
    from datetime import datetime, timedelta, timezone

    await _list(conn)
    soon = datetime.now(timezone.utc) + timedelta(days=30)
    ahead, _ = parse_list_change({"change_id": "c2", "item_code": "ITEM-PARK", "action": "added",
                                  "effective_at": soon.isoformat(), "name": "临时停车场设置审批",
                                  "department_code": "JTJ", "level": "city", "region_codes": ["330100"],
                                  "category": "行政许可"})
    assert ahead is not None
    await apply_list_changes(conn, [ahead])
    said = [("p1", _d("P1", "临时停车场设置审批要跑三趟")), ("f1", _d("F1", "食品经营许可材料太多"))]
    assert await apply_demands(conn, said, 0.3) == 2
    links = dict(await conn.fetch("SELECT demand_id, link_item FROM demand ORDER BY 1"))
    assert links == {"DF1": "ITEM-FOOD", "DP1": None}, "the parking item is not on the list yet"
    await conn.execute("UPDATE list_item_version SET valid_from = now() - interval '1 day' WHERE item_code = 'ITEM-PARK'")
    assert await apply_demands(conn, [("p2", _d("P2", "临时停车场设置审批要跑三趟"))], 0.3) == 1
    assert await conn.fetchval("SELECT link_item FROM demand WHERE demand_id = 'DP2'") == "ITEM-PARK", \
        "in force now: the region's kept index is built again"
