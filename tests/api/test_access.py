"""Access by role and region, with reads needing credentials (the default): a county's user sees that county and
its towns in every read, not just in menus; operations are for callers who see everywhere; writes by role; a
disabled user is refused; every write is audited."""
from __future__ import annotations

import subprocess
import sys

import aiohttp
import psycopg
import pytest

from tests.conftest import TOKEN, guarded_api, truncate_all, wait_processed

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def guarded(stack, tmp_path_factory):
    """A second API on the same database and broker, with the default: reads need credentials."""
    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("guarded"))
    tokens = {}
    for name, role, region in (("county", "viewer", "330102"), ("countysup", "supervisor", "330102"),
                               ("boss", "admin", ""), ("gone", "viewer", "")):
        out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", name, "--role", role,
                              *(["--region", region] if region else [])], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        tokens[name] = out.stdout.strip()
    subprocess.run([sys.executable, "-m", "shenpi", "users", "disable", "gone"], env=env, check=True,
                   capture_output=True)
    yield url, tokens
    proc.terminate()
    proc.wait(10)


def sub(eid, region, item="ACC-1"):
    return {"event_id": eid, "case_id": f"c-{eid}", "type": "submitted", "occurred_at": "2024-06-03T09:00:00+08:00",
            "item_code": item, "region_code": region, "department_code": "D1", "channel": "online"}


async def get(url: str, token: str | None = None) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.get(url) as r:
            return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def test_reads_go_through_the_callers_region_scope(stack, guarded):
    url, tokens = guarded
    truncate_all(stack.settings.database_url)
    events = [sub("a1", "330102"), sub("a2", "330102001"), sub("a3", "330106"), sub("a4", "330106")]
    changes = [{"change_id": f"acc-{code}", "item_code": code, "action": "added", "name": code, "category": "行政許可",
                "effective_at": "2024-01-01T00:00:00+08:00", "department_code": "D1", "level": "county",
                "region_codes": regions} for code, regions in (("ACC-1", ["330102", "330106"]), ("ACC-2", ["330106"]))]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:
        async with s.post(stack.url + "/api/v1/list-changes", json=changes) as r:
            assert r.status == 200
        async with s.post(stack.url + "/api/v1/case-events", json=events) as r:
            wait_processed(stack.settings.database_url, (await r.json())["batches"], [])
    q = "/api/v1/indicators?from=2024-06-01&to=2024-07-01"
    assert (await get(url + q))[0] == 401, "reads need credentials by default"
    assert (await get(url + q, "not-a-token"))[0] == 401
    assert (await get(url + q, tokens["gone"]))[0] == 401, "a disabled user is refused"
    status, everything = await get(url + q, TOKEN)
    assert status == 200 and everything["rows"][0]["received"] == 4
    status, county = await get(url + q + "&group_by=region_code", tokens["county"])
    assert status == 200 and {r["region_code"]: r["received"] for r in county["rows"]} == {"330102": 1, "330102001": 1}
    status, total = await get(url + q, tokens["county"])
    assert total["rows"][0]["received"] == 2, "the total is the scope's total"
    cut = "/api/v1/indicators?from=2024-06-03T08:00:00%2B08:00&to=2024-06-03T12:00:00%2B08:00"
    assert (await get(url + cut, tokens["county"]))[1]["rows"][0]["received"] == 2, "and so is an edge-day answer"
    status, items = await get(url + "/api/v1/list/items", tokens["county"])
    assert [i["item_code"] for i in items["items"]] == ["ACC-1"]
    assert (await get(url + "/api/v1/list/items/ACC-2", tokens["county"]))[0] == 404
    assert (await get(url + "/api/v1/list/items/ACC-2", tokens["boss"]))[0] == 200
    status, cmp_ = await get(url + "/api/v1/analysis/compare?item=ACC-1&from=2024-06-01&to=2024-07-01",
                             tokens["county"])
    assert status == 200 and {r["region_code"] for r in cmp_["rows"]} <= {"330102", "330102001"}
    for path in ("/api/v1/status", "/api/v1/alerts", "/api/v1/list/sync", "/metrics", "/api/v1/list/drafts"):
        assert (await get(url + path, tokens["county"]))[0] == 403, path
        assert (await get(url + path, tokens["boss"]))[0] == 200, path
    assert (await get(url + "/healthz"))[0] == 200


async def test_writes_by_role_and_audited(stack, guarded):
    url, tokens = guarded
    with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
        aid = c.execute("INSERT INTO alert_state (rule, group_key, status, severity, since, fired_at)"
                        " VALUES ('acc', 'all', 'firing', 'warning', now(), now()) RETURNING id").fetchone()[0]
    async with aiohttp.ClientSession() as s:
        for who, want in (("county", 403), ("countysup", 403), ("boss", 200)):
            async with s.post(f"{url}/api/v1/alerts/{aid}/ack", json={},
                              headers={"Authorization": f"Bearer {tokens[who]}"}) as r:
                assert r.status == want, who
        async with s.post(f"{url}/api/v1/case-events", json=[sub("w1", "330102")],
                          headers={"Authorization": f"Bearer {tokens['boss']}"}) as r:
            assert r.status == 401, "events come from the platform's credentials only"
    with psycopg.connect(stack.settings.database_url) as c:
        acked = c.execute("SELECT acknowledged_by FROM alert_state WHERE id = %s", (aid,)).fetchone()[0]
        audited = c.execute("SELECT actor, status FROM audit_log WHERE action = %s ORDER BY id",
                            (f"POST /api/v1/alerts/{aid}/ack",)).fetchall()
    assert acked == "boss"
    # the write is audited; refusals are audited bounded per address (test_refusals_are_audited_bounded)
    assert [tuple(a) for a in audited if a[1] == 200] == [("boss", 200)]
    assert {a[1] for a in audited} <= {200, 403}


async def test_refusals_are_audited_bounded(stack, tmp_path_factory):
    """Fifty refused attempts from one address: one row now, the rest counted into the next minute's row."""
    proc, url, _ = guarded_api(stack, tmp_path_factory.mktemp("refusals"))
    try:
        with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
            before = c.execute("SELECT count(*) FROM audit_log WHERE status IN (401, 403)").fetchone()[0]
        async with aiohttp.ClientSession() as s:
            for _ in range(50):
                async with s.get(f"{url}/api/v1/status", headers={"Authorization": "Bearer nobody"}) as r:
                    assert r.status == 401
        with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
            after = c.execute("SELECT count(*) FROM audit_log WHERE status IN (401, 403)").fetchone()[0]
        assert after - before == 1
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_recommendation_is_drafted_from_the_console_for_a_list_administrator(stack, guarded):
    import json as _json

    url, tokens = guarded
    rec = {"kind": "cancel", "item_codes": ["ACC-REC"], "region_code": "330102", "evidence": {"applications": 0}}
    async with aiohttp.ClientSession() as s:
        for who, want in (("countysup", 403), ("boss", 302)):
            async with s.post(url + "/console/recommendations/draft", data={"recommendation": _json.dumps(rec)},
                              headers={"Authorization": f"Bearer {tokens[who]}"}, allow_redirects=False) as r:
                assert r.status == want, (who, await r.text())
    with psycopg.connect(stack.settings.database_url) as c:
        row = c.execute("SELECT drafted_by, status, change->>'action' FROM list_draft WHERE item_code = 'ACC-REC'"
                        ).fetchone()
    assert row == ("boss", "draft", "cancelled")
