"""The route table is the access policy: every route has one, and every route that reads through the caller's
region scope, asked by a county's user for another county's data, gives nothing of it (probes generated from the
table: a new route with no probe fails here)."""
from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import aiohttp
import asyncpg
import pytest

from web.app import init_app
from core.settings import Settings
from web.common import POLICIES
from schemas import parse_list_change
from schemas.demands import parse_demand
from streams.demands.store import apply_demands
from simulator.org import generate_city
from tests.conftest import TOKEN, guarded_api, truncate_all, wait_processed

pytestmark = pytest.mark.broker
MINE, OTHER = "330102", "330106"


def table():
    app = init_app(Settings(database_url="postgresql://unused/x", kafka_bootstrap="unused:1"))
    return app, app[POLICIES]


def test_every_route_has_a_policy():
    app, policies = table()
    missing = [(r.method, r.resource.canonical) for r in app.router.routes()
               if (r.method, r.resource.canonical) not in policies]
    assert not missing, f"routes without an access policy: {missing}"


# one request per scoped route, aimed at the other county's data ({unit}, {item}, {case}, {evaluation}, {task})
PROBES = {
    ("GET", "/demands"): ["/demands?from=2000-01-01&to=2100-01-01&by=region", "/demands?item={item}&by=item",
                          "/demands?unlinked=1&by=department"],
    ("GET", "/api/v1/demands/figures"): ["/api/v1/demands/figures?from=2000-01-01&to=2100-01-01&by=region",
                                         "/api/v1/demands/figures?from=2000-01-01&to=2100-01-01&region=330106"],
    ("GET", "/api/v1/indicators"): "/api/v1/indicators?from=2000-01-01&to=2100-01-01&group_by=region_code",
    ("GET", "/api/v1/list/items"): "/api/v1/list/items",
    ("GET", "/api/v1/cases"): ["/api/v1/cases?figure=received&from=2000-01-01&to=2100-01-01",
                               "/api/v1/cases?figure=received&from=2000-01-01&to=2100-01-01&region_code=330106"],
    ("GET", "/cases"): "/cases?figure=received&from=2000-01-01&to=2100-01-01",
    ("GET", "/api/v1/list/items/{code}"): "/api/v1/list/items/{item}",
    # an 8-digit "region" once widened a county to its city's prefix, replacing the caller's scope
    ("GET", "/api/v1/org/figures"): ["/api/v1/org/figures?region=330106", "/api/v1/org/figures",
                                     "/api/v1/org/figures?region=33010200", "/api/v1/org/figures?region=330100",
                                     "/api/v1/org/figures?region=330000000000"],
    ("GET", "/api/v1/org/findings"): "/api/v1/org/findings",
    ("GET", "/api/v1/org/search"): "/api/v1/org/search?q=职能配置",
    ("GET", "/api/v1/org/units/{code}"): "/api/v1/org/units/{unit}",
    ("GET", "/api/v1/org/units/{code}/history"): "/api/v1/org/units/{unit}/history",
    ("GET", "/api/v1/org/units/{code}/diff"): "/api/v1/org/units/{unit}/diff?a=2000-01-01",
    ("GET", "/api/v1/evaluations"): "/api/v1/evaluations",
    ("GET", "/api/v1/evaluations/{id}"): "/api/v1/evaluations/{evaluation}",
    ("GET", "/api/v1/evaluations/{id}/report.pdf"): "/api/v1/evaluations/{evaluation}/report.pdf",
    ("GET", "/api/v1/rectifications"): "/api/v1/rectifications",
    ("GET", "/api/v1/rectifications/{id}"): "/api/v1/rectifications/{task}",
    ("POST", "/api/v1/rectifications/{id}/{action}"): "/api/v1/rectifications/{task}/start",
    ("POST", "/api/v1/rectifications"): "/api/v1/rectifications",
    ("POST", "/api/v1/evaluations"): "/api/v1/evaluations",
    ("POST", "/api/v1/evaluations/{id}/scores"): "/api/v1/evaluations/{evaluation}/scores",
    ("GET", "/api/v1/analysis/chains"): "/api/v1/analysis/chains?from=2000-01-01&to=2100-01-01",
    ("GET", "/api/v1/analysis/recommendations"): "/api/v1/analysis/recommendations?from=2000-01-01&to=2100-01-01",
    ("GET", "/api/v1/analysis/compare"): "/api/v1/analysis/compare?item={item}&from=2000-01-01&to=2100-01-01",
    ("GET", "/"): "/", ("GET", "/console/stream"): None,  # the stream sends the overview's figures: as "/"
    ("GET", "/drill"): "/drill?region_code=330106", ("GET", "/cases/{id}"): "/cases/{case}",
    ("GET", "/list"): "/list?code={item}", ("GET", "/analysis"): "/analysis", ("GET", "/compare"): "/compare?item={item}",
    ("GET", "/org"): "/org", ("GET", "/org/findings"): "/org/findings", ("GET", "/org/search"): "/org/search?q=职能配置",
    ("GET", "/org/units/{code}"): "/org/units/{unit}", ("GET", "/evaluations"): "/evaluations",
    ("GET", "/evaluations/{id}"): "/evaluations/{evaluation}", ("GET", "/rectifications"): "/rectifications",
    ("GET", "/rectifications/{id}"): "/rectifications/{task}",
    ("GET", "/rectifications/{id}/evidence/{n}"): "/rectifications/{task}/evidence/1",
    ("POST", "/console/rectifications/{id}/{action}"): "/console/rectifications/{task}/start",
    ("GET", "/alerts"): "/alerts", ("POST", "/console/alerts/{id}/{act}"): "/console/alerts/1/ack",
    ("POST", "/console/evaluations"): "/console/evaluations",
    ("POST", "/console/evaluations/{id}/scores"): "/console/evaluations/{evaluation}/scores",
    ("POST", "/console/rectifications"): "/console/rectifications",
    ("POST", "/logout"): None,  # nothing to read
    ("GET", "/api/v1/org/documents"): ["/api/v1/org/documents", "/api/v1/org/documents?unit={unit}"],
    ("GET", "/api/v1/org/documents/search"): "/api/v1/org/documents/search?q=职能配置",
    ("GET", "/api/v1/org/documents/{id}"): "/api/v1/org/documents/{document}",
    ("GET", "/api/v1/org/documents/{id}/original"): "/api/v1/org/documents/{document}/original",
    ("POST", "/api/v1/org/documents"): "/api/v1/org/documents",
    ("GET", "/org/archive"): "/org/archive", ("GET", "/org/archive/search"): "/org/archive/search?q=职能配置",
    ("GET", "/org/archive/{id}"): "/org/archive/{document}", ("POST", "/console/archive"): "/console/archive",
    ("POST", "/api/v1/org/import-sheet"): "/api/v1/org/import-sheet?as_of=2025-01-01",
    ("POST", "/console/org/import-sheet"): "/console/org/import-sheet", ("GET", "/sheets"): "/sheets",
    ("GET", "/api/v1/org/proposals"): ["/api/v1/org/proposals", "/api/v1/org/proposals?unit={unit}"],
    ("GET", "/api/v1/org/proposals/{id}"): "/api/v1/org/proposals/{proposal}",
    ("POST", "/api/v1/org/proposals/{id}/edit"): "/api/v1/org/proposals/{proposal}/edit",
    ("POST", "/api/v1/org/proposals/{id}/approve"): "/api/v1/org/proposals/{proposal}/approve",
    ("POST", "/api/v1/org/proposals/{id}/reject"): "/api/v1/org/proposals/{proposal}/reject",
    ("GET", "/org/proposals"): "/org/proposals", ("GET", "/org/proposals/{id}"): "/org/proposals/{proposal}",
    ("POST", "/console/proposals/{id}/{act}"): "/console/proposals/{proposal}/reject",
    ("GET", "/demands/{id}"): "/demands/{demand}", ("GET", "/items/{code}"): "/items/{item}",
    ("POST", "/api/v1/demands/{id}/link"): "/api/v1/demands/{demand}/link",
    ("POST", "/console/demands/{id}/link"): "/console/demands/{demand}/link",
}


def test_every_scoped_route_has_a_probe():
    app, policies = table()
    scoped = {k for k, p in policies.items() if p.scoped and k[0] != "HEAD"}
    canon = {(m, re.sub(r"\{(\w+):[^}]+\}", r"{\1}", c)) for m, c in scoped}
    assert canon <= set(PROBES), f"scoped routes without a probe: {sorted(canon - set(PROBES))}"


@pytest.fixture(scope="module")
def county_user(stack, tmp_path_factory):
    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("routes"))
    out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", "probe", "--role", "supervisor", "--region",
                          MINE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    yield url, out.stdout.strip()
    proc.terminate()
    proc.wait(10)


async def _other_county(stack) -> dict[str, str]:
    """A city whose units, items, cases, evaluation and task of the other county are what must not show."""
    from streams.archive import proposals
    from streams.evaluation import evaluate, rectify
    from streams.evaluation.scorecard import load_scorecard
    from streams.cases.reach import apply_list_changes
    from tests.streams.test_evaluation import _load

    truncate_all(stack.settings.database_url)
    city = generate_city(units=64, seed=5)
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        await _load(conn, city)
        other = [u for u in city.units if u["region_code"] == OTHER]
        unit = other[0]["unit_code"]
        item = next(c["item_code"] for c in city.list_changes if c["department_code"] == unit)
        await apply_list_changes(conn, [parse_list_change({
            "change_id": "probe-x", "item_code": item, "action": "modified", "effective_at": "2020-01-01T00:00:00+08:00",
            "region_codes": [OTHER]})[0]])
        now = datetime.now(timezone.utc)
        eid = await evaluate.create(conn, unit, now - timedelta(days=365), now, "执行情况", "x", load_scorecard())
        tid = await rectify.open_task(conn, unit, "probe", 5, "x")
        document = await _archived(conn, other[0])
        pid = await proposals.create_proposal(conn, source="roster", unit_code=unit, changes=[{
            "kind": "quota_set", "unit_code": unit, "quota_kind": "行政", "approved": 1, "doc_no": "probe"}],
            effective_at=now, created_by="x")
        demand, _ = parse_demand({"demand_id": "PROBE-DEMAND", "received_at": now.isoformat(), "channel": "12345热线",
                                  "kind": "投诉", "region_code": OTHER, "text": "材料太多", "item_code": item}, b"k")
        assert await apply_demands(conn, [("probe-d", demand)], 0.3) == 1
    finally:
        await conn.close()
    at = datetime.now(timezone.utc).isoformat()
    events = [{"event_id": "probe-1", "case_id": "PROBE-CASE", "type": "submitted", "occurred_at": at,
               "item_code": item, "region_code": OTHER, "department_code": unit, "channel": "online"}]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:
        async with s.post(stack.url + "/api/v1/case-events", json=events) as r:
            wait_processed(stack.settings.database_url, (await r.json())["batches"], [])
    return {"unit": unit, "item": item, "case": "PROBE-CASE", "evaluation": str(eid), "task": str(tid),
            "document": str(document), "proposal": pid, "demand": "PROBE-DEMAND",
            "secrets": [u["unit_code"] for u in other] + [u["name"] for u in other] + [item, "PROBE-CASE"]}


async def _archived(conn, unit: dict) -> int:
    """A 三定 of the other county's unit in the archive, read by the stack's worker."""
    from connectors.documents import read
    from simulator.documents import sanding_text
    from streams.archive import documents

    data = sanding_text(unit=unit["name"]).encode()
    doc = await documents.add(conn, data, "probe.txt", read(data, "probe.txt"), uploaded_by="probe")
    for _ in range(600):
        if await conn.fetchval("SELECT status FROM archive_document WHERE document_id = $1", doc["document_id"]) \
                in ("ready", "failed"):
            break
        await asyncio.sleep(0.1)
    assert await conn.fetchval("SELECT region_code FROM archive_document WHERE document_id = $1",
                               doc["document_id"]) == OTHER
    return doc["document_id"]


async def test_a_county_user_gets_nothing_of_another_county_from_any_route(stack, county_user):
    url, token = county_user
    data = await _other_county(stack)
    leaks = []
    requests = [(method, probe.format(**{k: v for k, v in data.items() if k != "secrets"}))
                for (method, _), probes in sorted(PROBES.items())
                for probe in ([probes] if isinstance(probes, str) else probes or [])]
    body = {"unit_code": data["unit"], "from": "2025-01-01", "to": "2026-01-01", "type": "执行情况", "text": "x",
            "days": 3, "code": "satisfaction_survey", "value": 80}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as s:
        for method, path in requests:
            sent = body if method == "POST" else None
            async with s.request(method, url + path, json=sent, allow_redirects=False) as r:
                text = (await r.read()).decode("utf-8", "replace")
            if r.status < 300 and method == "POST":
                leaks.append((path, r.status, "a write on another county's data was accepted"))
            # what the request itself named may be echoed ("no unit X in your regions"); nothing else
            asked = path + str(sent or "")
            leaks += [(path, r.status, x) for x in data["secrets"] if x in text and x not in asked]
    assert not leaks, leaks


async def test_counts_ranks_and_totals_are_of_the_callers_regions(stack, county_user):
    """Not only names and codes: a count, a rank or a total a county's user sees holds nothing of another county."""
    from pypdf import PdfReader

    from streams.evaluation import evaluate
    from streams.evaluation.scorecard import load_scorecard

    url, token = county_user
    data = await _other_county(stack)
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        nature = await conn.fetchval("SELECT unit_nature FROM evaluation WHERE evaluation_id = $1",
                                     int(data["evaluation"]))
        unit = await conn.fetchval(
            "SELECT unit_code FROM org_version WHERE data->>'region_code' = $1 AND data->>'nature' = $2 LIMIT 1",
            MINE, nature)
        assert unit
        t0, t1 = datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 1, tzinfo=timezone.utc)
        card = load_scorecard()
        own = await evaluate.create(conn, unit, t0, t1, "执行情况", "x", card)
        for u in [r["unit_code"] for r in await conn.fetch(
                "SELECT DISTINCT unit_code FROM org_version WHERE data->>'region_code' = $1 AND data->>'nature' = $2",
                OTHER, nature)]:
            await evaluate.create(conn, u, t0, t1, "执行情况", "x", card)
        item = await conn.fetchval("SELECT item_code FROM list_item_version WHERE $1 = ANY(region_codes) LIMIT 1", MINE)
        await conn.executemany(
            "INSERT INTO violation (event_id, case_id, event_type, item_code, region_code, department_code,"
            " occurred_at, rule) VALUES ($1, $1, 'submitted', $2, $3, 'd', now(), 'outside_regions')",
            [(f"probe-v{i}", item, OTHER) for i in range(3)])
        own_violations = await conn.fetchval(
            "SELECT count(*) FROM violation WHERE item_code = $1 AND region_code LIKE $2", item, MINE + "%")
    finally:
        await conn.close()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:  # printed first city-wide
        async with s.get(f"{stack.url}/api/v1/evaluations/{own}/report.pdf") as r:
            assert r.status == 200, await r.text()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as s:
        async with s.get(f"{url}/api/v1/evaluations/{own}") as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["rank"]["of"] <= 1, "ranked among another county's evaluations"
        async with s.get(f"{url}/api/v1/evaluations/{own}/report.pdf") as r:  # the archived copy the county reads
            text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(await r.read())).pages)
        assert re.search(r"排名\s*\S+\s*/\s*1\b", text), text[:400]
        async with s.get(f"{url}/api/v1/list/items/{item}") as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["violations"] == own_violations, "another county's violations counted"
        for region in ("33010200", "3301", "330102x", "33010"):
            async with s.get(f"{url}/api/v1/org/figures", params={"region": region}) as r:
                assert r.status == 400, (region, r.status)
