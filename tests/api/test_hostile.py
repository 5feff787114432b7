"""Hostile and bad input found from the outside: each answered with a clear 4xx, nothing stored twice, nothing
lost, the database and the workers left up."""
from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import datetime

import aiohttp
import pytest

from core.tz import TZ
from tests.conftest import TOKEN, truncate_all, wait_processed

pytestmark = pytest.mark.broker
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def sub(eid: str, **kw) -> dict:
    return {"event_id": eid, "case_id": f"c-{eid}", "type": "submitted", "occurred_at": "2024-05-06T09:00:00+08:00",
            "item_code": "ITEM-H", "region_code": "330102", "department_code": "D1", "channel": "online", **kw}


async def status_of(http: aiohttp.ClientSession, method: str, url: str, **kw) -> int:
    async with http.request(method, url, **kw) as r:
        await r.read()
        return r.status


async def test_a_burst_of_huge_windows_is_refused_or_bounded_and_leaves_everything_up(stack):
    noon = datetime.now(TZ).replace(hour=12, minute=0, second=0, microsecond=0).isoformat()
    async with aiohttp.ClientSession() as http:
        url = f"{stack.url}/api/v1/indicators"
        got = await asyncio.gather(*(status_of(http, "GET", url, params={"from": "0002-01-01", "to": noon})
                                     for _ in range(9)))
        assert set(got) <= {400, 429} and 400 in got, got
        got = await asyncio.gather(*(status_of(http, "GET", url, params={"from": "1970-01-01", "to": noon})
                                     for _ in range(9)))
        assert set(got) <= {200, 429} and got.count(200) >= 4, got
        assert await status_of(http, "GET", f"{stack.url}/healthz") == 200
    assert stack.worker.poll() is None and stack.api.poll() is None


async def test_an_idempotency_key_reused_with_another_body_loses_nothing(stack):
    truncate_all(stack.settings.database_url)
    async with aiohttp.ClientSession(headers=AUTH) as http:
        outs = []
        for body in ([sub("i1")], [sub("i2")], [sub("i2")]):
            async with http.post(f"{stack.url}/api/v1/case-events", json=body,
                                 headers={"Idempotency-Key": "same-key"}) as r:
                assert r.status == 200
                outs.append(await r.json())
    assert outs[1]["batches"] != outs[0]["batches"] and outs[2]["batches"] == outs[1]["batches"]
    wait_processed(stack.settings.database_url, outs[0]["batches"] + outs[1]["batches"], [])
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.url}/api/v1/status") as r:
            t = await r.json()
    assert (t["counted"], t["duplicates"], t["reconciled"]) == (2, 0, True)


async def test_codes_that_would_escape_a_url_path_are_refused(stack):
    change = {"change_id": "x1", "item_code": "X/../REAL", "action": "cancelled",
              "effective_at": "2024-01-01T00:00:00+08:00"}
    async with aiohttp.ClientSession(headers=AUTH) as http:
        for code in ("X/../REAL", "A?b", "A#b", "..", "a//b"):
            async with http.post(f"{stack.url}/api/v1/list-changes", json=[{**change, "item_code": code}]) as r:
                assert r.status == 422, code
                assert "item_code" in (await r.json())["refused"][0]["reason"]


BAD_READS = [
    "/api/v1/list/items?limit=abc", "/api/v1/list/items?limit=-1", "/api/v1/list/items?limit=1e3",
    "/api/v1/list/items?limit=99999999999999999999", "/api/v1/list/sync?limit=abc", "/api/v1/alerts?limit=-1",
    "/api/v1/list/items?item_code=a%00b", "/api/v1/list/sync?status=a%00b", "/api/v1/list/sync?status=done",
    "/api/v1/indicators?from=0001-01-01", "/api/v1/indicators?to=9999-12-31T23:59:59%2B08:00",
    "/api/v1/indicators?from=2024-01-01&format=xml", "/api/v1/list/items?as_of=0001-01-01T00:00:00%2B00:00",
    "/api/v1/list/items?as_of=9999-12-31T23:59:59%2B00:00", "/api/v1/list/items/a%00b",
    "/api/v1/list/items?active=maybe",
]


async def test_bad_parameters_get_400_not_500(stack):
    async with aiohttp.ClientSession() as http:
        for path in BAD_READS:
            assert await status_of(http, "GET", stack.url + path) == 400, path


async def test_bad_alert_actions_get_400_or_404(stack):
    async with aiohttp.ClientSession(headers=AUTH) as http:
        for alert_id in ("abc", "99999999999999999999", "+1", "١", "-1"):
            assert await status_of(http, "POST", f"{stack.url}/api/v1/alerts/{alert_id}/ack", json={}) == 400, alert_id
        base = f"{stack.url}/api/v1/alerts/1/silence"
        for body in (b"{not json", b"[1, 2]"):
            assert await status_of(http, "POST", base, data=body) == 400, body
        for seconds in ("NaN", "Infinity", "1e12", '"abc"', "null", "-5", str(95 * 365 * 86400)):
            assert await status_of(http, "POST", base, data=f'{{"seconds": {seconds}}}') == 400, seconds
        assert await status_of(http, "POST", f"{stack.url}/api/v1/alerts/424242/silence", json={"seconds": 60}) == 404


async def test_an_event_time_given_as_a_number_is_refused(stack):
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.post(f"{stack.url}/api/v1/case-events", json=[sub("n1", occurred_at=1714957200)]) as r:
            assert r.status == 422 and "ISO 8601" in (await r.json())["refused"][0]["reason"]


async def test_a_slow_body_gets_408_and_the_connection_is_closed(stack):
    host, port = "127.0.0.1", stack.settings.api_port

    def trickle() -> bytes:
        with socket.create_connection((host, port), timeout=20) as s:
            s.sendall(f"POST /api/v1/case-events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                      "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[".encode())
            started = time.monotonic()
            s.settimeout(10)
            data = b""
            try:
                while time.monotonic() - started < 10:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                    if b"\r\n\r\n" in data:
                        break
            except socket.timeout:
                pass
            return data

    answer = await asyncio.to_thread(trickle)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]


async def test_an_object_that_repeats_a_key_is_refused_not_read_with_its_last_value(stack):
    good = json.dumps(sub("dk1"))
    repeated = json.dumps(sub("dk2"))[:-1] + ', "region_code": "330106"}'
    body = f"[{good}, {repeated}]".encode()
    async with aiohttp.ClientSession(headers={**AUTH, "Content-Type": "application/json"}) as http:
        async with http.post(f"{stack.url}/api/v1/case-events", data=body) as r:
            out = await r.json()
    assert r.status == 207 and out["accepted"] == 1
    assert out["refused"] == [{"index": 1, "reason": "duplicate key 'region_code'"}]
    wait_processed(stack.settings.database_url, out["batches"], out["dead_letters"])
