"""The staffing half against a plain recomputation from the raw changes: any arrival order, redelivery, late
changes; the planted findings found and the look-alikes not; history, search, and identity numbers never stored."""
from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from schemas import parse_list_change
from schemas.staffing import parse_staffing_change
from simulator.org import generate_city, make_uscc
from streams.cases.reach import apply_list_changes
from streams.staffing import checks, queries
from streams.staffing.store import Applied, apply_staffing_changes, sweep_inapplicable

KEY = b"test-identity-key"
NOW = datetime.now(timezone.utc)


def _parsed(raws):
    out = []
    for raw in raws:
        c, refusal = parse_staffing_change(raw, KEY)
        assert refusal is None, refusal
        out.append(c)
    return out


async def _apply(conn, changes, take=500, prefix="d"):
    for i in range(0, len(changes), take):
        await apply_staffing_changes(conn, [(f"{prefix}{i + j}", c) for j, c in enumerate(changes[i:i + take])])


def reference_figures(raws, at):
    """Approved and actual per (unit, kind), replayed plainly from the raw changes."""
    ts = lambda c: datetime.fromisoformat(c["effective_at"])  # noqa: E731
    order = {"staff_in": 0, "staff_moved": 1, "staff_out": 2}
    approved, where, alive = {}, {}, {}
    for c in sorted(raws, key=lambda c: (ts(c), order.get(c["kind"], -1), c["change_id"])):
        if ts(c) > at:
            continue
        k = c["kind"]
        if k == "unit_set":
            alive[c["unit_code"]] = True
        elif k == "unit_abolished":
            alive[c["unit_code"]] = False
        elif k == "quota_set":
            approved[(c["unit_code"], c["quota_kind"])] = c["approved"]
        elif k == "staff_in":
            where[c["person_key"]] = (c["unit_code"], c["quota_kind"])
        elif k == "staff_out":
            where.pop(c["person_key"])
        elif k == "staff_moved" and ("unit_code" in c or "quota_kind" in c):
            u, q = where[c["person_key"]]
            where[c["person_key"]] = (c.get("unit_code", u), c.get("quota_kind", q))
    actual = Counter(where.values())
    keys = {k for k in approved if alive.get(k[0])} | {k for k in actual if alive.get(k[0])}
    return {k: (approved.get(k, 0), actual.get(k, 0)) for k in keys}


async def _tables(conn):
    return [sorted(tuple(r) for r in await conn.fetch(q)) for q in (
        "SELECT unit_code, part, key, valid_from, valid_to, data::text, doc_no FROM org_version",
        "SELECT person_key, valid_from, valid_to, unit_code, body_code, quota_kind, post_level FROM org_staff",
        "SELECT unit_code, kind, subject, opened_at, closed_at FROM org_finding WHERE kind = ANY('{over_quota,"
        "mixed_use,over_posts,unapproved_body}')",  # the takes' own (a stack's worker may sweep duty checks in)
        "SELECT change_id, state FROM staffing_change")]


@pytest.fixture(scope="module")
def city():
    return generate_city(units=24, seed=3)


async def test_figures_equal_a_plain_replay_whatever_the_arrival_order(conn, city):
    ordered = _parsed(city.changes)
    await _apply(conn, ordered)
    expected_tables = await _tables(conn)
    for at in (datetime(1990, 6, 1, tzinfo=timezone.utc), datetime(2010, 1, 1, tzinfo=timezone.utc), NOW):
        got = {(r["unit_code"], r["quota_kind"]): (r["approved"], r["actual"])
               for r in (await queries.figures(conn, at))["rows"]}
        assert got == reference_figures(city.changes, at)
        assert all(r["over"] == max(0, r["actual"] - r["approved"]) for r in (await queries.figures(conn, at))["rows"])
    # shuffled into takes of any size, some records delivered twice, some changes sent twice: the same tables
    await conn.execute("TRUNCATE staffing_change, staffing_delivery, org_version, org_staff, org_document, org_finding")
    rng = random.Random(5)
    shuffled = ordered[:]
    rng.shuffle(shuffled)
    deliveries = [(f"x{i}", c) for i, c in enumerate(shuffled)]
    deliveries += rng.sample(deliveries, 50) + [(f"again{i}", c) for i, c in enumerate(rng.sample(shuffled, 30))]
    rng.shuffle(deliveries)
    i, total, repeated_inside = 0, Applied(), 0
    while i < len(deliveries):
        take = deliveries[i:i + rng.choice((1, 7, 300, 1500))]
        total += await apply_staffing_changes(conn, take)
        repeated_inside += len(take) - len({k for k, _ in take})
        i += len(take)
    assert await _tables(conn) == expected_tables
    taken = await conn.fetchrow("SELECT count(*) FILTER (WHERE fresh) AS f, count(*) FILTER (WHERE NOT fresh) AS d"
                                " FROM staffing_delivery")
    assert (taken["f"], taken["d"]) == (len(ordered), 30)
    # each of the 50 records taken twice is noticed once: as redelivered, or as a repeat within its take
    assert total.redelivered + repeated_inside == 50


def _figures_by_name(rows, at):
    """The figures as they were built before records were unpacked by position: each column looked up by name."""
    from streams.staffing.logic import quota_figures

    out, posts = [], []
    for r in rows:
        if r["quota"]:
            out.append({"unit_code": r["unit_code"], "unit_name": r["unit_name"], "region_code": r["region_code"],
                        "quota_kind": r["key"], "approved": r["approved"], "actual": r["actual"],
                        **quota_figures(r["approved"], r["actual"])})
        else:
            posts.append({"unit_code": r["unit_code"], "post_level": r["key"], "posts_approved": r["approved"],
                          "posts_held": r["actual"]})
    return {"as_of": at.isoformat(), "rows": out, "posts": posts}


async def test_figures_are_what_they_were_before_records_were_unpacked_by_position(conn):
    from core.access import scope_pattern

    city = generate_city(units=80, seed=4, staff_scale=0.3)  # past 64 units: streets of the counties too
    await _apply(conn, _parsed(city.changes), take=2000)
    some = city.units[70]["unit_code"]
    for at in (datetime(1990, 6, 1, tzinfo=timezone.utc), datetime(2010, 1, 1, tzinfo=timezone.utc), NOW):
        for scope, unit in (("", None), ("330102", None), ("", some)):
            async with conn.transaction():
                await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
                rows = await conn.fetch(queries.FIGURES, at, scope_pattern(scope), unit)
            got = await queries.figures(conn, at, scope, unit)
            assert got["rows"] and got["posts"]
            assert json.dumps(got, ensure_ascii=False) == json.dumps(_figures_by_name(rows, at), ensure_ascii=False)


async def test_planted_findings_are_found_and_look_alikes_are_not(conn, city):
    await apply_list_changes(conn, [parse_list_change(x)[0] for x in city.list_changes])
    await _apply(conn, _parsed(city.changes))
    found = {(f["kind"], f["unit_code"], f["subject"]) for f in await checks.findings(conn, NOW)}
    assert set(city.planted) == found
    stored = {(r["kind"], r["unit_code"], r["subject"]) for r in await conn.fetch(
        "SELECT kind, unit_code, subject FROM org_finding WHERE closed_at IS NULL AND kind = ANY($1::text[])",
        list(checks.STAFFING_KINDS))}
    assert stored == {f for f in found if f[0] in checks.STAFFING_KINDS}  # the stream's findings are the query's
    was_over = [u for kind, u in city.look_alikes if kind == "was_over"]
    assert was_over and await conn.fetchval(
        "SELECT count(*) FROM org_finding WHERE unit_code = ANY($1::text[]) AND closed_at IS NOT NULL", was_over)


async def test_a_unit_as_it_stood_and_its_history(conn, city):
    await _apply(conn, _parsed(city.changes))
    unit = city.units[3]["unit_code"]
    sets = sorted((c for c in city.changes if c["kind"] == "duties_set" and c["unit_code"] == unit),
                  key=lambda c: c["effective_at"])
    mid = datetime.fromisoformat(sets[1]["effective_at"]) + timedelta(days=1)
    shown = await queries.unit_as_of(conn, unit, mid)
    assert [d["text"] for d in shown["duties"]] == [d["text"] for d in sets[1]["duties"]]
    assert shown["duties"][0]["doc_no"] == sets[1]["doc_no"]
    h = await queries.history(conn, unit)
    assert [g["doc_no"] for g in h["generations"]] == [c["doc_no"] for c in sets]
    d = await queries.diff(conn, unit, mid, NOW)
    assert d["duties"]["changed"] or d["duties"]["added"] or d["duties"]["removed"]
    assert await queries.unit_as_of(conn, unit, datetime(1970, 1, 2, tzinfo=timezone.utc)) is None


def _unit(code, region="330100", **kw):
    return {"kind": "unit_set", "unit_code": code, "name": "测试单位", "region_code": region, "nature": "行政机关",
            "rank": "正处级", "funding": "全额拨款", **kw}


def _c(n, at, **kw):
    return {"change_id": f"C{n}", "effective_at": at, "doc_no": "测编〔2020〕1号", **kw}


async def test_a_move_before_its_entry_waits_and_applies_when_the_entry_comes(conn):
    u = make_uscc("11", "330100", 901)
    await _apply(conn, _parsed([_c(1, "2020-01-01T00:00:00+08:00", **_unit(u)),
                                _c(2, "2020-03-01T00:00:00+08:00", kind="staff_moved", person_key="P1",
                                   post_level="正处")]))
    assert await conn.fetchval("SELECT state FROM staffing_change WHERE change_id = 'C2'") == "pending"
    await _apply(conn, _parsed([_c(3, "2020-02-01T00:00:00+08:00", kind="staff_in", person_key="P1", name="张三",
                                   sex="男", unit_code=u, quota_kind="行政", id_number="110101199003074512")]),
                 prefix="late")
    assert await conn.fetchval("SELECT count(*) FROM staffing_change WHERE state = 'applied'") == 3
    assert await conn.fetchval("SELECT post_level FROM org_staff WHERE valid_to IS NULL") == "正处"
    # the unit has no quota at all: the person is 混编 (not also 超编), and over the posts
    kinds = {f["kind"] for f in await checks.findings(conn, NOW)}
    assert {"mixed_use", "over_posts"} <= kinds and "over_quota" not in kinds
    # the identity number reached no table, only its keyed hash
    dump = json.dumps([list(map(str, r)) for t in ("staffing_change", "org_staff", "dead_letter")
                       for r in await conn.fetch(f"SELECT * FROM {t}")], ensure_ascii=False)
    assert "110101199003074512" not in dump and len(await conn.fetchval("SELECT id_hash FROM org_staff")) == 64


async def test_what_never_applies_is_dead_lettered_after_the_grace_period(conn):
    await _apply(conn, _parsed([_c(1, "2020-03-01T00:00:00+08:00", kind="staff_out", person_key="GHOST")]))
    assert await sweep_inapplicable(conn, timedelta(hours=1)) == []
    letters = await sweep_inapplicable(conn, timedelta(seconds=0))
    assert [d.dl_key for d in letters] == ["staffing:C1"] and "not in the establishment" in letters[0].reason
    assert await conn.fetchval("SELECT state FROM staffing_change") == "dead"


def test_refusals_say_why_and_hide_identity_numbers():
    bad = parse_staffing_change({"change_id": "x", "kind": "quota_set", "effective_at": "2020-01-01T00:00:00+08:00",
                                 "doc_no": "a", "unit_code": "11330100000000011X", "quota_kind": "行政",
                                 "approved": -1, "id_number": "11010119900307451X"}, KEY)[1]
    assert "check character" in bad.reason and "approved" in bad.reason
    assert "11010119900307451X" not in json.dumps(bad.raw)
    assert parse_staffing_change({"change_id": "x", "kind": "quota_set", "effective_at": "2020-01-01T00:00:00+08:00",
                                  "doc_no": "a", "unit_code": make_uscc("11", "330100", 1), "quota_kind": "政法專項",
                                  "approved": 3}, KEY)[0].quota_kind == "政法专项"


async def test_duty_checks_against_the_list(conn):
    a, b, c = (make_uscc("11", "330100", n) for n in (11, 12, 13))
    at = "2021-01-01T00:00:00+08:00"
    raws = [_c(1, at, **_unit(a)), _c(2, at, **_unit(b)), _c(3, at, **_unit(c)),
            _c(4, at, kind="duties_set", unit_code=a, duties=[
                {"duty_id": "A1", "text": "负责食品经营许可和食品安全监督检查。", "item_codes": ["FOOD-1"]},
                {"duty_id": "A2", "text": "负责人才引进和人才发展规划。", "item_codes": ["GONE-1"]},
                {"duty_id": "A9", "text": "完成市委、市政府交办的其他任务。", "item_codes": []}]),
            _c(5, at, kind="duties_set", unit_code=b, duties=[
                {"duty_id": "B1", "text": "承担食品经营许可及食品安全的监督检查工作。", "item_codes": []},
                {"duty_id": "B9", "text": "完成市委、市政府交办的其他任务。", "item_codes": []}]),
            _c(6, at, kind="duties_set", unit_code=c, duties=[
                {"duty_id": "C1", "text": "负责港口航道建设管理。", "item_codes": []},
                {"duty_id": "C9", "text": "完成市委市政府交办的其他任务。", "item_codes": []}])]
    await _apply(conn, _parsed(raws))
    await list_items(conn, at, a, c, "330100")
    got = {(f["kind"], f["unit_code"], f["subject"].split("~")[0]) for f in await checks.findings(conn, NOW)}
    assert ("duty_unexercised", a, "A2") in got
    assert ("power_without_duty", c, "EXTRA-1") in got
    assert ("duty_overlap", a, "A1") in got and ("duty_overlap", b, "B1") in got
    assert not any(k == "duty_overlap" and s in ("A9", "B9", "C9") for k, _, s in got)  # boilerplate
    assert ("duty_unexercised", a, "A1") not in got
    # search by words, both scripts, and a two-character term
    for q in ("人才", "食品經營", "监督检查"):
        assert (await queries.search(conn, q))["duties"], q
    assert not (await queries.search(conn, "港口", scope="330102"))["duties"]


async def list_items(conn, at: str, food: str, port: str, region: str) -> None:
    """Two items in force: 食品经营许可 of `food`, 港口经营许可 of `port`."""
    level = "city" if region.endswith("00") else "county"
    await apply_list_changes(conn, [parse_list_change(x)[0] for x in (
        {"change_id": f"L{n}", "item_code": code, "action": "added", "effective_at": at, "name": name,
         "category": "行政许可", "department_code": dept, "level": level, "region_codes": [region]}
        for n, (code, name, dept) in enumerate((("FOOD-1", "食品经营许可", food), ("EXTRA-1", "港口经营许可", port))))])


@pytest.mark.broker
async def test_through_the_broker_and_the_api(stack, city):
    """The webhook's receipts, the worker's stream, the API's reads, and the totals reconcile."""
    import aiohttp

    from tests.conftest import TOKEN, staffing_totals_settled, truncate_all

    truncate_all(stack.settings.database_url)
    sample = [c for c in city.changes if c["kind"] != "staff_moved"][:800]
    body = [*sample, {"change_id": "bad", "kind": "quota_set"}, sample[0]]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.post(stack.url + "/api/v1/staffing-changes", json=body) as r:
            assert r.status == 207
            answer = await r.json()
        assert len(answer["refused"]) == 1 and len(answer["deliveries"]) == len(sample) + 1
        st = await staffing_totals_settled(s, stack.url)
        assert st["reconciled"] and st["duplicates"] == 1 and st["dead_lettered"] == 1, st
        assert st["received"] == len(body)
        async with s.get(stack.url + "/api/v1/org/figures", params={"as_of": "2000-01-01"}) as r:
            rows = (await r.json())["rows"]
        at = datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=8)))
        expected = reference_figures(sample, at)
        assert {(x["unit_code"], x["quota_kind"]): (x["approved"], x["actual"]) for x in rows} == expected
        async with s.get(stack.url + "/api/v1/org/figures", params={"as_of": "2000-01-01", "region": "330102"}) as r:
            assert all(x["region_code"].startswith("330102") for x in (await r.json())["rows"])
        async with s.get(stack.url + "/api/v1/org/search", params={"q": "職能配置"}) as r:
            assert (await r.json())["documents"]


@pytest.mark.broker
async def test_console_and_public_pages(stack, city):
    """The pages people read: figures with their bars, findings with evidence, a unit with its timeline, search,
    and the public 機構檢索 with a roster that shows no identity data."""
    import aiohttp

    from tests.conftest import truncate_all

    truncate_all(stack.settings.database_url)
    import asyncpg

    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        await _apply(conn, _parsed(city.changes))
    finally:
        await conn.close()
    planted = next(p for p in city.planted if p[0] == "over_quota")
    unit = next(u for u in city.units if u["unit_code"] == planted[1])
    async with aiohttp.ClientSession() as s:
        async def page(path, **params):
            async with s.get(stack.url + path, params=params) as r:
                assert r.status == 200, (path, r.status, await r.text())
                return await r.text()

        org = await page("/org")
        assert unit["name"] in org and 'class="bar over"' in org
        findings = await page("/org/findings")
        assert "超编" in findings and unit["name"] in findings and "实有" in findings  # simplified by default, figures in words
        shown = await page(f"/org/units/{unit['unit_code']}", as_of="2010-01-01")
        assert "主要职责" in shown and "编〔" in shown
        assert unit["name"] in await page("/org/search", q=unit["topics"][0])
        public = await page("/public/org", q=unit["name"][1:4])
        assert unit["name"] in public
        roster = await page(f"/public/org/{unit['unit_code']}")
        assert "实名公示" in roster and "P0" not in roster and unit["unit_code"] not in roster.split("</h1>", 1)[1]
        async with s.get(stack.url + "/org", params={"as_of": "not-a-date"}) as r:
            assert r.status == 400
