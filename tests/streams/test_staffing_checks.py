"""The checks as spec/staffing.md §3 settles them: 職能交叉 found in a region of any size (common wording judged on the
whole city), 混編 never also 超編, evaluations showing each kind and each finding as of `to`; the duty checks kept in
org_finding by the workers' sweep, told in its transaction."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from simulator.org import make_uscc
from streams.evaluation import evaluate
from streams.evaluation.scorecard import load_scorecard
from streams.staffing import checks, duties
from streams.staffing.checks import DutyParams, finding
from streams.staffing.overlap import overlaps
from tests.streams.test_staffing import _apply, _c, _parsed, _unit, list_items

NOW = datetime.now(timezone.utc)
AT = "2021-01-01T00:00:00+08:00"
TEMPLATES = ["负责{t}工作，拟订{t}相关政策并组织实施。", "承担{t}的审核和监督管理，依法实施{t}行政许可。",
             "组织开展{t}的统计分析和信息发布，指导下级部门{t}业务。", "负责{t}有关的行政执法和投诉处理。"]
# the planted pair: one substance, worded apart; and a look-alike worded the same way about something else
PAIR = ("负责食品经营许可和食品安全监督检查。", "承担食品经营许可及食品安全的监督检查工作。")
LOOK_ALIKE = "负责药械广告审查和价格违法查处。"
CLOSING = ["完成市委、市政府交办的其他任务。", "完成区委区政府交办的其他工作。"]
POOL = [chr(c) for c in range(0x5B00, 0x6300)]  # topics of their own: no two share a character pair


def _topic(rng: random.Random) -> str:
    return "".join(rng.sample(POOL, 4))


def _region(n: int, region: str, seed: int, pair: bool = True) -> list[dict]:
    """n units of one government, each with clauses in the same 三定 phrasing about its own topics and the closing
    boilerplate; the first and the last share a substance in other words."""
    rng = random.Random(seed)
    out = []
    for u in range(n):
        code = f"{region}-{u}"
        texts = [TEMPLATES[(u + k) % len(TEMPLATES)].format(t=_topic(rng)) for k in range(3)]
        if pair and u == 0:
            texts.append(PAIR[0])
        elif pair and u == n - 1:
            texts.append(PAIR[1])
        elif u == 1:
            texts.append(LOOK_ALIKE)
        texts.append(CLOSING[u % 2])
        out += [{"unit_code": code, "duty_id": f"D{k + 1}", "text": t, "region_code": region, "item_codes": []}
                for k, t in enumerate(texts)]
    return out


@pytest.mark.parametrize("n", [3, 5, 10, 60])
def test_the_planted_pair_is_found_in_a_region_of_any_size(n):
    city = _region(n, "330102", n) + _region(16, "330100", 99, pair=False)  # beside the city's own units
    alone = _region(n, "330102", n)  # and as the whole city
    for duties_ in (city, alone):
        units = {d["unit_code"] for d in duties_}
        got = {(f["unit_code"], f["subject"]) for f in overlaps(duties_, units, 0.6, finding)}
        first, last = "330102-0", f"330102-{n - 1}"
        assert got == {(first, f"D4~{last}#D4"), (last, f"D4~{first}#D4")}, (n, got)


def test_a_city_wide_clause_is_boilerplate_and_words_two_units_share_are_not_phrasing():
    city = _region(10, "330102", 1) + _region(40, "330100", 2, pair=False)
    for d in city:  # one more clause every unit carries, worded alike
        if d["duty_id"] == "D1":
            city.append({**d, "duty_id": "D8", "text": "负责本部门安全生产和保密工作。"})
    got = overlaps(city, {d["unit_code"] for d in city}, 0.6, finding)
    assert {f["subject"].split("~")[0] for f in got} == {"D4"}


async def test_mixed_use_alone_and_counted_once_in_an_evaluation(conn):
    u = make_uscc("11", "330100", 701)
    raws = [_c(1, "2020-01-01T00:00:00+08:00", **_unit(u)),
            _c(2, "2020-01-01T00:00:00+08:00", kind="quota_set", unit_code=u, quota_kind="行政", approved=2),
            _c(3, "2020-01-01T00:00:00+08:00", kind="quota_set", unit_code=u, quota_kind="工勤", approved=0)]
    raws += [_c(10 + k, "2020-02-01T00:00:00+08:00", kind="staff_in", person_key=f"W{k}", name="李四", sex="女",
                unit_code=u, quota_kind="工勤") for k in range(2)]
    await _apply(conn, _parsed(raws))
    assert {(f["kind"], f["subject"]) for f in await checks.findings(conn, NOW)} == {("mixed_use", "工勤")}
    assert [r["kind"] for r in await conn.fetch("SELECT kind FROM org_finding")] == ["mixed_use"]
    eid = await evaluate.create(conn, u, datetime(2020, 1, 1, tzinfo=timezone.utc), NOW, "执行情况", "a",
                                load_scorecard())
    v = (await evaluate.show(conn, eid))["inputs"]["values"]
    assert (v["staffing.over_kinds"], v["staffing.mixed_kinds"], v["findings.count"]) == (0, 1, 0)


async def test_an_evaluation_shows_each_kind_and_each_finding_as_of_its_end(conn):
    u = make_uscc("11", "330100", 702)
    raws = [_c(1, "2020-01-01T00:00:00+08:00", **_unit(u)),
            _c(2, "2020-01-01T00:00:00+08:00", kind="quota_set", unit_code=u, quota_kind="行政", approved=40)]
    raws += [_c(100 + k, "2020-02-01T00:00:00+08:00", kind="staff_in", person_key=f"P{k}", name="王五", sex="男",
                unit_code=u, quota_kind="行政") for k in range(41)]
    raws += [_c(200 + k, "2024-06-01T00:00:00+08:00", kind="staff_in", person_key=f"Q{k}", name="赵六", sex="男",
                unit_code=u, quota_kind="行政") for k in range(2)]
    await _apply(conn, _parsed(raws))
    t1 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    e = await evaluate.show(conn, await evaluate.create(conn, u, datetime(2024, 1, 1, tzinfo=timezone.utc), t1,
                                                        "执行情况", "a", load_scorecard()))
    quota = next(q for q in e["inputs"]["staffing"]["quotas"] if q["quota_kind"] == "行政")
    assert (quota["approved"], quota["actual"], quota["over"]) == (40, 43, 3)
    f = next(f for f in e["findings"] if f["kind"] == "over_quota")
    assert (f["figures"]["approved"], f["figures"]["actual"], f["figures"]["over"]) == (40, 43, 3)
    assert (f["opened_figures"]["actual"], f["opened_at"][:10]) == (41, "2020-01-31")
    assert f["as_of"] == t1.isoformat()


async def _city_with_duties(conn):
    a, b, c = (make_uscc("11", "330102", n) for n in (21, 22, 23))
    raws = [_c(1, AT, **_unit(a, "330102")), _c(2, AT, **_unit(b, "330102")), _c(3, AT, **_unit(c, "330102")),
            _c(4, AT, kind="duties_set", unit_code=a, duties=[
                {"duty_id": "A1", "text": PAIR[0], "item_codes": ["FOOD-1"]},
                {"duty_id": "A2", "text": "负责人才引进和人才发展规划。", "item_codes": ["GONE-1"]}]),
            _c(5, AT, kind="duties_set", unit_code=b, duties=[{"duty_id": "B1", "text": PAIR[1], "item_codes": []}]),
            _c(6, AT, kind="duties_set", unit_code=c, duties=[
                {"duty_id": "C1", "text": "负责港口航道建设管理。", "item_codes": []}])]
    await _apply(conn, _parsed(raws))
    await list_items(conn, AT, a, c, "330102")
    return a, b, c


async def test_the_sweep_keeps_the_duty_findings_and_tells_them_in_its_transaction(private_conn):
    conn = private_conn  # a database no stack worker sweeps
    a, b, c = await _city_with_duties(conn)
    out = await duties.sweep(conn, DutyParams(), ["log"])
    stored = {(f["kind"], f["unit_code"], f["subject"].split("~")[0]) for f in await checks.stored(conn, datetime.now(timezone.utc))}
    assert {("duty_unexercised", a, "A2"), ("power_without_duty", c, "EXTRA-1"), ("duty_overlap", a, "A1"),
            ("duty_overlap", b, "B1")} == stored
    assert out["opened"] == 4 == await conn.fetchval("SELECT count(*) FROM alert_event WHERE kind = 'firing'")
    assert await duties.sweep(conn, DutyParams(), ["log"]) == {"opened": 0, "closed": 0, "kept": 0}  # nothing moved
    # b's 三定 rewritten: the pair is gone, closed and told as resolved by the next sweep
    await _apply(conn, _parsed([_c(7, "2022-01-01T00:00:00+08:00", kind="duties_set", unit_code=b, duties=[
        {"duty_id": "B1", "text": "负责城市道路照明设施管理。", "item_codes": []}])]), prefix="again")
    out = await duties.sweep(conn, DutyParams(), ["log"])
    assert out["closed"] == 2 and await conn.fetchval("SELECT count(*) FROM alert_event WHERE kind = 'resolved'") == 2
    assert not [f for f in await checks.stored(conn, datetime.now(timezone.utc)) if f["kind"] == "duty_overlap"]


async def test_a_failed_sweep_leaves_neither_finding_nor_alert(private_conn):
    conn = private_conn  # a database no stack worker sweeps
    await _city_with_duties(conn)
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            await duties.sweep(conn, DutyParams(), ["log"])
            raise RuntimeError("crash after the sweep, before the commit")
    assert (await conn.fetchval("SELECT count(*) FROM org_finding WHERE kind LIKE 'duty%'"),
            await conn.fetchval("SELECT count(*) FROM alert_event")) == (0, 0)


async def test_staffing_findings_are_told_in_the_take_that_finds_them(private_conn):
    conn = private_conn  # a database no stack worker sweeps
    from streams.staffing.store import apply_staffing_changes

    u = make_uscc("11", "330100", 703)
    raws = [_c(1, AT, **_unit(u)), _c(2, AT, kind="quota_set", unit_code=u, quota_kind="行政", approved=0),
            _c(3, AT, kind="staff_in", person_key="X1", name="钱七", sex="男", unit_code=u, quota_kind="行政")]
    await apply_staffing_changes(conn, [(f"k{i}", c) for i, c in enumerate(_parsed(raws))], ["log"])
    rows = await conn.fetch("SELECT e.rule, n.receiver FROM alert_event e JOIN alert_notification n ON n.event_id = e.id")
    assert [(r["rule"], r["receiver"]) for r in rows] == [("staffing:mixed_use", "log")]


async def test_a_staff_change_for_a_unit_that_does_not_stand_waits_then_applies_or_dies(conn):
    from streams.staffing.store import sweep_inapplicable

    u, ghost = make_uscc("11", "330100", 704), make_uscc("11", "330100", 705)
    await _apply(conn, _parsed([_c(1, AT, kind="staff_in", person_key="Y1", name="孙八", sex="女", unit_code=u,
                                   quota_kind="行政"),
                                _c(2, AT, kind="staff_in", person_key="Y2", name="周九", sex="女", unit_code=ghost,
                                   quota_kind="行政")]))
    assert await conn.fetchval("SELECT count(*) FROM staffing_change WHERE state = 'pending'") == 2
    assert await conn.fetchval("SELECT count(*) FROM org_staff") == 0
    await _apply(conn, _parsed([_c(3, "2020-01-01T00:00:00+08:00", **_unit(u))]), prefix="late")
    assert await conn.fetchval("SELECT state FROM staffing_change WHERE change_id = 'C1'") == "applied"
    assert await conn.fetchval("SELECT person_key FROM org_staff") == "Y1"
    letters = await sweep_inapplicable(conn, timedelta(seconds=0))
    assert [d.dl_key for d in letters] == ["staffing:C2"] and "does not stand" in letters[0].reason


async def test_a_change_rewrites_only_the_versions_it_touches(conn):
    u = make_uscc("11", "330100", 706)
    raws = [_c(1, "2010-01-01T00:00:00+08:00", **_unit(u)),
            _c(2, "2010-01-01T00:00:00+08:00", kind="quota_set", unit_code=u, quota_kind="行政", approved=5),
            _c(3, "2010-01-01T00:00:00+08:00", kind="duties_set", unit_code=u,
               duties=[{"duty_id": "D1", "text": "负责港口航道建设管理。", "item_codes": []}]),
            _c(4, "2015-06-01T00:00:00+08:00", kind="quota_set", unit_code=u, quota_kind="行政", approved=6)]
    await _apply(conn, _parsed(raws))
    before = {(r["part"], r["valid_from"]): r["xmin"] for r in await conn.fetch(
        "SELECT part, valid_from, xmin::text FROM org_version")}
    await _apply(conn, _parsed([_c(5, "2020-06-01T00:00:00+08:00", kind="quota_set", unit_code=u, quota_kind="行政",
                                   approved=7)]), prefix="next")
    after = {(r["part"], r["valid_from"]): r["xmin"] for r in await conn.fetch(
        "SELECT part, valid_from, xmin::text FROM org_version")}
    changed = {k for k in after if before.get(k) != after[k]}
    # the 2015 quota version ends now (rewritten) and the 2020 one is new; the unit, its duty, the 2010 quota stand
    assert {(p, t.year) for p, t in changed} == {("quota", 2015), ("quota", 2020)}


async def test_a_change_dated_in_the_future_is_not_in_force_yet(conn):
    from streams.staffing import queries

    u = make_uscc("11", "330100", 707)
    later = (NOW + timedelta(days=30)).isoformat()
    await _apply(conn, _parsed([_c(1, "2020-01-01T00:00:00+08:00", **_unit(u)),
                                _c(2, later, **_unit(u, name="改名单位"))]))
    assert (await queries.unit_as_of(conn, u, NOW))["name"] == "测试单位"
    assert await conn.fetchval("SELECT data->>'name' FROM org_units_at(now(), NULL)") == "测试单位"


@pytest.mark.broker
async def test_the_api_answers_from_what_the_workers_keep(stack):
    """Now: the findings the worker's sweep stored (rows taken out of the table are out of the answer); another time:
    computed in the API's bounded child. The public pages decide "now" by time."""
    import asyncio

    import aiohttp
    import asyncpg

    from tests.conftest import truncate_all

    truncate_all(stack.settings.database_url)
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        a, b, _ = await _city_with_duties(conn)
        later = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
        await _apply(conn, _parsed([_c(9, later, **_unit(a, "330102", name="改名单位"))]), prefix="future")
        for _ in range(150):  # the worker sweeps within a second of a change
            if await conn.fetchval("SELECT count(*) FROM org_finding WHERE kind = 'duty_overlap'") == 2:
                break
            await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as s:
            async def found(**params):
                async with s.get(stack.url + "/api/v1/org/findings", params=params) as r:
                    assert r.status == 200, await r.text()
                    return {(f["kind"], f["unit_code"]) for f in (await r.json())["findings"]}

            assert {("duty_overlap", a), ("duty_overlap", b)} <= await found()
            await conn.execute("DELETE FROM org_finding WHERE kind = 'duty_overlap'")
            assert not {k for k, _ in await found()} & {"duty_overlap"}
            asked = {"as_of": datetime.now(timezone.utc).isoformat()}
            assert {("duty_overlap", a), ("duty_overlap", b)} <= await found(**asked)
            async with s.get(stack.url + "/public/org", params={"q": "单位"}) as r:
                page = await r.text()
            assert "测试单位" in page and "改名单位" not in page
            async with s.get(stack.url + f"/public/org/{a}") as r:
                assert "改名单位" not in await r.text()
    finally:
        await conn.close()
