"""From evidence to reform over HTTP with the platform simulator: a draft, its overlap warning, approval by a
second administrator, propagation, the audit trail, and the figures before and after; the same person cannot
approve their own draft, a rejected draft never reaches the platform, concurrent approvals publish once."""
from __future__ import annotations

import asyncio

import aiohttp
import psycopg
import pytest

from tests.conftest import TOKEN, truncate_all, wait_processed
from tests.streams.test_propagation import catalog, send_changes, wait_applied

pytestmark = pytest.mark.broker
ALICE, BOB, CAROL = ({"Authorization": f"Bearer token-{k}"} for k in "abc")
BASIS = "《中華人民共和國建築法》第七條"


async def call(stack, method: str, path: str, who: dict | None = None, body=None) -> tuple[int, dict | str]:
    async with aiohttp.ClientSession(headers=who or {}) as s:
        async with s.request(method, stack.url + path, json=body) as r:
            return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def test_draft_warning_second_approver_propagation_trail_and_effect(stack):
    truncate_all(stack.settings.database_url)
    planted = {"change_id": "p1", "item_code": "ZJ-001", "action": "added", "effective_at": "2024-01-01T00:00:00+08:00",
               "name": "建築工程施工許可證核發", "category": "行政許可", "department_code": "D-ZJ", "level": "county",
               "region_codes": ["330102"], "legal_basis": BASIS}
    other = {**planted, "change_id": "p2", "item_code": "SC-001", "name": "食品經營許可", "department_code": "D-SC",
             "legal_basis": "《中華人民共和國食品安全法》第三十五條"}
    await send_changes(stack, [planted, other])
    wait_applied(stack, ["p1", "p2"])
    change = {"item_code": "GH-009", "action": "added", "name": "建築工程施工許可", "category": "行政許可",
              "department_code": "D-GH", "level": "county", "region_codes": ["330102"],
              "legal_basis": "依據《中華人民共和國建築法》第7條", "effective_at": "2024-01-01T00:00:00+08:00"}
    assert (await call(stack, "POST", "/api/v1/list/drafts", None, {"change": change}))[0] == 401
    status, out = await call(stack, "POST", "/api/v1/list/drafts", ALICE, {"change": change})
    assert status == 201, out
    draft = out["drafts"][0]
    warned = {w["item_code"]: w for w in draft["checks"]}
    assert set(warned) == {"ZJ-001"}, "the planted near-duplicate, not the unrelated item"
    assert warned["ZJ-001"]["score"] >= 0.6 and warned["ZJ-001"]["same_articles"] == ["《中華人民共和國建築法》第7條"]
    did = draft["draft_id"]
    status, text = await call(stack, "POST", f"/api/v1/list/drafts/{did}/approve", ALICE, {})
    assert status == 403 and "two-person" in text
    assert "GH-009" not in await catalog(stack), "nothing reaches the platform before approval"
    results = await asyncio.gather(*(call(stack, "POST", f"/api/v1/list/drafts/{did}/approve", who, {})
                                     for who in (BOB, CAROL)))
    assert sorted(s for s, _ in results) == [200, 409], results
    with psycopg.connect(stack.settings.database_url) as c:  # the domain's Conflict audited as the 409 it became
        audited = sorted(r[0] for r in c.execute("SELECT status FROM audit_log WHERE action = %s",
                                                 (f"POST /api/v1/list/drafts/{did}/approve",)))
    assert [200, 409] == [s for s in audited if s != 403], audited
    wait_applied(stack, [f"draft:{did}"])
    assert (await catalog(stack))["GH-009"]["accepting"]
    with psycopg.connect(stack.settings.database_url) as c:
        assert c.execute("SELECT count(*) FROM list_change WHERE item_code = 'GH-009'").fetchone()[0] == 1
    status, out = await call(stack, "GET", "/api/v1/list/items/GH-009/trail")
    steps = [s["step"] for s in out["trail"]]
    assert steps == ["drafted", "checked", "approved", "published", "platform_acknowledged"], steps

    # a devolution, in force from a past day: the item's figures before and after it, in same-length windows
    cases = [{"event_id": f"ev{k}", "case_id": f"cs{k}", "type": "submitted", "item_code": "SC-001",
              "occurred_at": f"2024-03-{day:02d}T10:00:00+08:00", "region_code": "330102", "department_code": "D-SC",
              "channel": "online"} for k, day in enumerate([2, 3, 4, 12, 13])]
    async with aiohttp.ClientSession() as s:
        async with s.post(stack.url + "/api/v1/case-events", json=cases,
                          headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            wait_processed(stack.settings.database_url, (await r.json())["batches"], [])
    devolve = {"item_code": "SC-001", "action": "devolved", "effective_at": "2024-03-10T00:00:00+08:00",
               "devolved_to": {"level": "town", "region_codes": ["330102001"]}}
    status, out = await call(stack, "POST", "/api/v1/list/drafts", BOB, {"change": devolve,
                                                                         "evidence": {"why": "test"}})
    dev = out["drafts"][0]["draft_id"]
    assert (await call(stack, "POST", f"/api/v1/list/drafts/{dev}/approve", CAROL, {}))[0] == 200
    wait_applied(stack, [f"draft:{dev}"])
    status, eff = await call(stack, "GET", f"/api/v1/list/drafts/{dev}/effect")
    assert status == 200 and eff["window_days"] == 90
    before = {r["region_code"]: r["received"] for r in eff["before"]}
    after = {r["region_code"]: r["received"] for r in eff["after"]}
    assert before.get("330102") == 3 and after.get("330102") == 2


async def test_a_rejected_draft_never_reaches_the_platform(stack):
    change = {"item_code": "REJ-1", "action": "added", "name": "某項審批", "category": "行政許可",
              "department_code": "D-X", "level": "county", "region_codes": ["330102"]}
    status, out = await call(stack, "POST", "/api/v1/list/drafts", ALICE, {"change": change})
    did = out["drafts"][0]["draft_id"]
    assert (await call(stack, "POST", f"/api/v1/list/drafts/{did}/reject", BOB, {}))[0] == 400, "a reason is needed"
    status, out = await call(stack, "POST", f"/api/v1/list/drafts/{did}/reject", BOB, {"reason": "與現有事項重複"})
    assert status == 200 and out["status"] == "rejected" and out["reason"] == "與現有事項重複"
    assert (await call(stack, "POST", f"/api/v1/list/drafts/{did}/approve", CAROL, {}))[0] == 409
    # a barrier, not a sleep: a draft approved after it reaches the platform, and the rejected one is not there
    status, out = await call(stack, "POST", "/api/v1/list/drafts", ALICE, {"change": {**change, "item_code": "REJ-M"}})
    assert (await call(stack, "POST", f"/api/v1/list/drafts/{out['drafts'][0]['draft_id']}/approve", BOB, {}))[0] == 200
    for _ in range(300):
        shown = await catalog(stack)
        if "REJ-M" in shown:
            break
        await asyncio.sleep(0.1)
    assert "REJ-M" in shown and "REJ-1" not in shown
    with psycopg.connect(stack.settings.database_url) as c:
        assert c.execute("SELECT count(*) FROM list_change WHERE item_code = 'REJ-1'").fetchone()[0] == 0


async def test_a_recommendation_becomes_a_draft_with_its_evidence(stack):
    rec = {"kind": "cancel", "item_codes": ["ZZ-ZERO"], "region_code": "330102", "evidence": {"applications": 0}}
    status, out = await call(stack, "POST", "/api/v1/list/drafts", ALICE, {"recommendation": rec})
    assert status == 201 and out["drafts"][0]["action"] == "cancelled"
    assert out["drafts"][0]["evidence"]["recommendation"] == rec
    status, _ = await call(stack, "POST", "/api/v1/list/drafts", ALICE,
                           {"recommendation": {"kind": "high_volume", "item_codes": ["X"]}})
    assert status == 400


async def test_the_cli_drafts_approves_and_reports_overlaps(stack, tmp_path):
    import json
    import subprocess
    import sys

    await send_changes(stack, [{"change_id": "p1", "item_code": "ZJ-001", "action": "added",
                                "effective_at": "2024-01-01T00:00:00+08:00", "name": "建築工程施工許可證核發",
                                "category": "行政許可", "department_code": "D-ZJ", "level": "county",
                                "region_codes": ["330102"], "legal_basis": BASIS}])
    wait_applied(stack, ["p1"])

    def shenpi(token: str, *args):
        env = {**stack.env, "SHENPI_LIST_ADMIN_TOKEN": token}
        return subprocess.run([sys.executable, "-m", "shenpi", "list", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    f = tmp_path / "change.json"
    f.write_text(json.dumps({"item_code": "CLI-1", "action": "added", "name": "建築工程施工許可證核發",
                             "category": "行政許可", "department_code": "D-CLI", "level": "county",
                             "region_codes": ["330102"]}, ensure_ascii=False), encoding="utf-8")
    out = shenpi("token-a", "draft", str(f))
    assert out.returncode == 0, out.stderr
    did = json.loads(out.stdout)["drafts"][0]["draft_id"]
    mine = shenpi("token-a", "approve", did)
    assert mine.returncode == 1 and "two-person" in mine.stderr
    assert shenpi("token-b", "approve", did).returncode == 0
    wait_applied(stack, [f"draft:{did}"])
    report = json.loads(shenpi("", "overlaps").stdout)
    assert any(set(o["items"]) == {"CLI-1", "ZJ-001"} for o in report["overlaps"]), report
