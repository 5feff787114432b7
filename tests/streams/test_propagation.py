"""The list binds the platform: every change reaches the simulator over real HTTP, once, in order, through outages."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import defaultdict

import aiohttp
import psycopg
import pytest

from tests.conftest import PLATFORM_TOKEN, TOKEN

pytestmark = pytest.mark.broker
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAUTH = {"Authorization": f"Bearer {PLATFORM_TOKEN}"}


def added(cid, code, regions=("330100",), level="city", t="2024-01-01T00:00:00+08:00", **kw):
    return {"change_id": cid, "item_code": code, "action": "added", "effective_at": t, "name": f"事項 {code}",
            "category": "行政許可", "department_code": "D-1", "level": level, "region_codes": list(regions), **kw}


async def send_changes(stack, changes):
    async with aiohttp.ClientSession() as s:
        async with s.post(stack.url + "/api/v1/list-changes", json=changes, headers=AUTH) as r:
            assert r.status == 200, await r.text()


async def catalog(stack) -> dict[str, dict]:
    async with aiohttp.ClientSession(headers=PAUTH) as s:
        async with s.get(stack.platform_url + "/catalog/items") as r:
            return {e["item_code"]: e for e in await r.json()}


async def applied(stack) -> list[dict]:
    async with aiohttp.ClientSession(headers=PAUTH) as s:
        async with s.get(stack.platform_url + "/_sim/applied") as r:
            return await r.json()


def wait_applied(stack, change_ids, timeout=60.0):
    deadline = time.monotonic() + timeout
    with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
        while True:
            n = c.execute("SELECT count(*) FROM list_sync WHERE status = 'applied' AND change_id = ANY(%s)",
                          (list(change_ids),)).fetchone()[0]
            if n == len(set(change_ids)):
                return
            assert time.monotonic() < deadline, f"only {n}/{len(set(change_ids))} changes applied"
            time.sleep(0.05)


async def test_each_action_is_reflected_in_the_catalog_and_a_repeat_applies_once(stack):
    await send_changes(stack, [added("p-a1", "P-ADD"), added("p-c1", "P-CAN"), added("p-d1", "P-DEV"),
                               added("p-m1", "P-MOD", committed_days=10)])
    await send_changes(stack, [
        {"change_id": "p-c2", "item_code": "P-CAN", "action": "cancelled", "effective_at": "2024-02-01T00:00:00+08:00"},
        {"change_id": "p-d2", "item_code": "P-DEV", "action": "devolved", "effective_at": "2024-02-01T00:00:00+08:00",
         "devolved_to": {"level": "county", "region_codes": ["330102", "330105"]}},
        {"change_id": "p-m2", "item_code": "P-MOD", "action": "modified", "effective_at": "2024-02-01T00:00:00+08:00",
         "name": "新名稱", "committed_days": 3},
    ])
    await send_changes(stack, [added("p-a1", "P-ADD")])  # the same change delivered again
    wait_applied(stack, ["p-a1", "p-c1", "p-d1", "p-m1", "p-c2", "p-d2", "p-m2"])
    cat = await catalog(stack)
    assert cat["P-ADD"]["accepting"] and cat["P-ADD"]["region_codes"] == ["330100"]
    assert not cat["P-CAN"]["accepting"]
    assert (cat["P-DEV"]["level"], cat["P-DEV"]["region_codes"], cat["P-DEV"]["accepting"]) == \
        ("county", ["330102", "330105"], True)
    assert (cat["P-MOD"]["name"], cat["P-MOD"]["committed_days"]) == ("新名稱", 3)
    keys = [a["key"] for a in await applied(stack) if a["item_code"].startswith("P-")]
    assert sorted(keys) == sorted(["p-a1", "p-c1", "p-d1", "p-m1", "p-c2", "p-d2", "p-m2"])
    async with aiohttp.ClientSession() as s:
        async with s.get(stack.url + "/api/v1/list/sync", params={"item_code": "P-DEV"}) as r:
            sync = await r.json()
    assert [c["status"] for c in sync["changes"]] == ["applied", "applied"]
    assert all(c["latency_ms"] is not None and c["attempts"] == 1 for c in sync["changes"])


async def test_devolution_never_shows_the_item_at_both_levels_or_neither(stack):
    await send_changes(stack, [added("v-1", "V-ITEM", regions=["330100"])])
    wait_applied(stack, ["v-1"])
    seen = set()
    stop = asyncio.Event()

    async def watch():
        async with aiohttp.ClientSession(headers=PAUTH) as s:
            while not stop.is_set():
                async with s.get(stack.platform_url + "/catalog/items/V-ITEM") as r:
                    e = await r.json()
                assert e["accepting"], "the item was offline at some moment"
                seen.add(tuple(e["region_codes"]))
                async with s.post(stack.platform_url + "/catalog/items/V-ITEM/cases",
                                  json={"region_code": "330100"}) as a, \
                        s.post(stack.platform_url + "/catalog/items/V-ITEM/cases",
                               json={"region_code": "330102001"}) as b:
                    assert (a.status == 201) or (b.status == 201), "an applicant could apply nowhere"

    async def seen_also(regions: tuple[str, ...]) -> None:
        deadline = time.monotonic() + 15
        while regions not in seen and not watcher.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    await seen_also(("330100",))  # the watcher is looking before the change goes out
    await send_changes(stack, [{"change_id": "v-2", "item_code": "V-ITEM", "action": "devolved",
                                "effective_at": "2024-03-01T00:00:00+08:00",
                                "devolved_to": {"level": "town", "region_codes": ["330102001"]}}])
    await asyncio.to_thread(wait_applied, stack, ["v-2"])
    await seen_also(("330102001",))  # and has seen the platform after it
    stop.set()
    await watcher
    assert seen == {("330100",), ("330102001",)}


async def test_an_outage_mid_burst_ends_with_every_change_applied_once_in_order(stack):
    items = [f"B-{i:03d}" for i in range(100)]
    changes = []
    for k in range(10):
        for code in items:
            if k == 0:
                changes.append(added(f"{code}-0", code))
            else:
                changes.append({"change_id": f"{code}-{k}", "item_code": code, "action": "modified",
                                "effective_at": "2024-01-02T00:00:00+08:00", "committed_days": k})
    await send_changes(stack, changes[:300])
    async with aiohttp.ClientSession(headers=PAUTH) as s:
        async with s.post(stack.platform_url + "/_sim/faults", json={"mode": "outage", "seconds": 30}) as r:
            assert r.status == 200
    t_outage = time.monotonic()
    for i in range(300, 1000, 100):
        await send_changes(stack, changes[i:i + 100])
    await asyncio.to_thread(wait_applied, stack, [c["change_id"] for c in changes], 120)
    assert time.monotonic() - t_outage >= 29, "the outage must have been in the way"
    log = [a for a in await applied(stack) if a["item_code"].startswith("B-")]
    keys = [a["key"] for a in log]
    assert len(keys) == len(set(keys)) == 1000, "every change applied exactly once"
    per_item = defaultdict(list)
    for a in log:
        per_item[a["item_code"]].append(int(a["key"].rsplit("-", 1)[1]))
    assert all(seq == list(range(10)) for seq in per_item.values()), "per-item order"
    cat = await catalog(stack)
    assert all(cat[c]["committed_days"] == 9 for c in items)
    with psycopg.connect(stack.settings.database_url) as c:
        retried = c.execute("SELECT count(*) FROM list_sync WHERE item_code LIKE 'B-%%' AND attempts > 1").fetchone()[0]
    assert retried > 0, "some changes met the outage and were retried"


async def test_reconcile_reports_and_repairs_drift(stack):
    await send_changes(stack, [added("r-1", "R-KEEP"), added("r-2", "R-GONE")])
    wait_applied(stack, ["r-1", "r-2"])
    async with aiohttp.ClientSession(headers=PAUTH) as s:  # someone changes the platform behind the list's back
        for url, key in (("/catalog/items/R-GONE/withdraw", "manual-1"),):
            async with s.post(stack.platform_url + url, headers={"Idempotency-Key": key}) as r:
                assert r.status == 200
        async with s.put(stack.platform_url + "/catalog/items/R-ROGUE", json={"name": "x", "region_codes": ["330100"]},
                         headers={"Idempotency-Key": "manual-2"}) as r:
            assert r.status == 200

    def run(*args):
        out = subprocess.run([sys.executable, "-m", "shenpi", "reconcile", *args], env=stack.env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return {(d["item_code"], d["kind"]): d for d in json.loads(out.stdout)}

    drift = run("--dry-run")
    assert ("R-GONE", "offline") in drift and ("R-ROGUE", "unlisted_online") in drift
    assert not any(d["repaired"] for d in drift.values())
    repaired = run()
    assert repaired[("R-GONE", "offline")]["repaired"] and repaired[("R-ROGUE", "unlisted_online")]["repaired"]
    assert not [k for k in run("--dry-run") if k[0].startswith("R-")]
    cat = await catalog(stack)
    assert cat["R-GONE"]["accepting"] and not cat["R-ROGUE"]["accepting"]


async def test_flaky_and_slow_answers_still_end_with_each_change_once(stack):
    async with aiohttp.ClientSession(headers=PAUTH) as s:
        async with s.post(stack.platform_url + "/_sim/faults",
                          json={"mode": "5xx", "probability": 0.5, "seconds": 6}) as r:
            assert r.status == 200
    changes = [added(f"f-{i}", f"F-{i:02d}") for i in range(40)]
    await send_changes(stack, changes)
    await asyncio.to_thread(wait_applied, stack, [c["change_id"] for c in changes], 90)
    async with aiohttp.ClientSession(headers=PAUTH) as s:  # now slower than the client's timeout
        async with s.post(stack.platform_url + "/_sim/faults", json={"mode": "slow", "delay": 3, "seconds": 4}) as r:
            assert r.status == 200
    await send_changes(stack, [added("f-slow", "F-SLOW")])
    await asyncio.to_thread(wait_applied, stack, ["f-slow"], 90)
    keys = [a["key"] for a in await applied(stack) if a["item_code"].startswith("F-")]
    assert sorted(keys) == sorted([c["change_id"] for c in changes] + ["f-slow"])
    with psycopg.connect(stack.settings.database_url) as c:
        errors = c.execute("SELECT count(*) FROM list_sync WHERE item_code LIKE 'F-%%' AND attempts > 1").fetchone()[0]
    assert errors > 0, "some calls met the faults and were retried"


async def test_a_cancellation_in_one_region_stops_the_item_there_only(stack):
    """events.md: a cancellation that carries region_codes stops the item in those regions only; a recommendation
    about one region becomes such a cancellation, never an item-wide one."""
    from streams.powerlist.drafts import from_recommendation

    await send_changes(stack, [added("rc-1", "RC-ITEM", regions=("330102", "330105", "330106"), level="county")])
    wait_applied(stack, ["rc-1"])
    (change,) = from_recommendation({"kind": "cancel", "item_codes": ["RC-ITEM"], "region_code": "330105"},
                                    "2024-02-01T00:00:00+08:00")
    await send_changes(stack, [{"change_id": "rc-2", **change}])
    wait_applied(stack, ["rc-2"])
    item = (await catalog(stack))["RC-ITEM"]
    assert item["accepting"] and sorted(item["region_codes"]) == ["330102", "330106"], item
    with psycopg.connect(stack.settings.database_url) as c:
        active, stopped = c.execute("SELECT active, stopped_in FROM list_item_version WHERE change_id = 'rc-2'"
                                    ).fetchone()
    assert active and stopped == ["330105"]


async def test_a_change_id_no_header_can_carry_is_sent_encoded_and_twins_stay_apart(stack):
    # control and non-ASCII characters pass the contract (only NUL is refused); the key is percent-encoded, "%" too
    ids = ["p-key\n\x01中", "p-key%0A%01%E4%B8%AD"]
    await send_changes(stack, [added(ids[0], "P-KEY1"), added(ids[1], "P-KEY2")])
    wait_applied(stack, ids)
    keys = {a["item_code"]: a["key"] for a in await applied(stack) if a["item_code"] in ("P-KEY1", "P-KEY2")}
    assert keys == {"P-KEY1": "p-key%0A%01%E4%B8%AD", "P-KEY2": "p-key%250A%2501%25E4%25B8%25AD"}
    assert (await catalog(stack))["P-KEY1"]["accepting"]


async def test_a_change_that_breaks_the_call_is_parked_and_the_others_go_on(stack, private_conn):
    """An error no one foresaw, raised by one item's call (injected around the real client), parks that change
    with the error; the other items of the round reach the simulator."""
    from connectors.platform import PlatformClient
    from schemas import parse_list_change
    from streams.cases.reach import apply_list_changes
    from streams.propagation.store import propagate_once

    class Faulty(PlatformClient):
        async def publish(self, code, attrs, key):
            if code == "P-BREAK":
                raise TypeError("injected: nobody foresaw this")
            return await super().publish(code, attrs, key)

    conn = private_conn
    await apply_list_changes(conn, [parse_list_change(added(c, c.upper()))[0] for c in ("p-break", "p-fine")])
    from pydantic import SecretStr

    settings = stack.settings.model_copy(update={"platform_url": stack.platform_url,
                                                 "platform_token": SecretStr(PLATFORM_TOKEN)})
    async with Faulty(settings) as client:
        outcomes = {o.change_id: o for o in await propagate_once(conn, client, settings)}
    assert outcomes["p-fine"].ok and not outcomes["p-break"].ok and not outcomes["p-break"].retryable
    rows = {r["change_id"]: r for r in await conn.fetch("SELECT change_id, status, last_error FROM list_sync")}
    assert rows["p-fine"]["status"] == "applied"
    assert rows["p-break"]["status"] == "parked" and "injected" in rows["p-break"]["last_error"]
    assert (await catalog(stack))["P-FINE"]["accepting"]
