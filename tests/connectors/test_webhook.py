"""The webhook on the real broker: who may write, what is refused and why, and that nothing is lost."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import aiohttp
import pytest

from tests.conftest import HMAC_KEY, TOKEN, truncate_all, wait_processed

pytestmark = pytest.mark.broker

GOOD = {"event_id": "w1", "case_id": "wc1", "type": "submitted", "occurred_at": "2024-05-06T09:00:00+08:00",
        "item_code": "ITEM-W", "region_code": "330102", "department_code": "D1", "channel": "online"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def signed(path: str, ts: str, body: bytes, method: str = "POST") -> str:
    """The documented scheme, computed here apart from the code: HMAC-SHA256 over 'ts\\nMETHOD\\npath\\n' + body."""
    msg = ts.encode() + b"\n" + method.encode() + b"\n" + path.encode() + b"\n" + body
    return "sha256=" + hmac.new(HMAC_KEY.encode(), msg, hashlib.sha256).hexdigest()


async def post(stack, body: bytes, headers: dict, path: str = "/api/v1/case-events"):
    async with aiohttp.ClientSession() as s:
        async with s.post(stack.url + path, data=body, headers=headers) as r:
            text = await r.text()
            return r.status, (json.loads(text) if r.content_type == "application/json" else text)


async def test_refuses_callers_without_valid_credentials(stack):
    body = json.dumps([GOOD]).encode()
    status, text = await post(stack, body, {})
    assert status == 401 and "missing credentials" in text
    status, _ = await post(stack, body, {"Authorization": "Bearer wrong"})
    assert status == 401
    assert "invalid bearer token" in (await post(stack, body, {"Authorization": "Bearer wrong"}))[1]
    now = str(int(time.time()))
    status, text = await post(stack, body, {"X-Signature": "sha256=" + "0" * 64, "X-Timestamp": now})
    assert status == 401 and "does not match" in text
    path = "/api/v1/case-events"
    good = signed(path, now, body)
    status, _ = await post(stack, body + b" ", {"X-Signature": good, "X-Timestamp": now})
    assert status == 401, "a signature is over the exact body"
    status, _ = await post(stack, body, {"X-Signature": good, "X-Timestamp": now}, "/api/v1/list-changes")
    assert status == 401, "and over the path: it cannot be used on another endpoint"
    status, _ = await post(stack, body, {"X-Signature": good, "X-Timestamp": str(int(now) + 1)})
    assert status == 401, "and over the timestamp"
    stale = str(int(time.time()) - 3600)
    status, text = await post(stack, body, {"X-Signature": signed(path, stale, body), "X-Timestamp": stale})
    assert status == 401 and "X-Timestamp" in text, "an old signed request cannot be replayed"
    status, out = await post(stack, body, {"X-Signature": good, "X-Timestamp": now})
    assert status == 200 and out["accepted"] == 1
    wait_processed(stack.settings.database_url, out["batches"], [])
    status, text = await post(stack, body, {"X-Signature": good, "X-Timestamp": now})
    assert status == 401 and "used before" in text, "nor replayed within the window"


async def test_every_bad_event_is_refused_with_its_reason_and_nothing_is_lost(stack):
    truncate_all(stack.settings.database_url)
    bad = [
        {**GOOD, "event_id": "b1", "colour": "red"},                       # unknown field
        {**GOOD, "event_id": "b2", "occurred_at": "yesterday"},            # wrong type
        {k: v for k, v in GOOD.items() if k != "case_id"} | {"event_id": "b3"},  # missing required
        {**GOOD, "event_id": "b4", "type": "teleported"},                  # unknown event type
        {**GOOD, "event_id": "b5", "channel": None},                       # required on submitted
        {"event_id": "b6", "case_id": "wc1", "type": "evaluated", "occurred_at": "2024-05-06T10:00:00+08:00",
         "score": 9},                                                      # out of range
        "not an object",
    ]
    body = json.dumps([GOOD] + bad).encode()
    status, out = await post(stack, body, AUTH)
    assert status == 207
    assert out["accepted"] == 1 and len(out["refused"]) == len(bad)
    reasons = {r["index"]: r["reason"] for r in out["refused"]}
    assert "colour: Extra inputs are not permitted" in reasons[1]
    assert reasons[2].startswith("occurred_at:")
    assert "case_id: Field required" in reasons[3]
    assert reasons[4].startswith("type: Input should be")
    assert "channel required on 'submitted'" in reasons[5]
    assert "score: Input should be less than or equal to 5" in reasons[6]
    assert "not a JSON object" in reasons[7]

    # NDJSON with a malformed line
    nd = json.dumps({**GOOD, "event_id": "n1", "case_id": "wc2"}).encode() + b"\n{oops\n"
    status, out2 = await post(stack, nd, {**AUTH, "Content-Type": "application/x-ndjson"})
    assert status == 207 and "malformed JSON" in out2["refused"][0]["reason"]

    # a malformed JSON array: refused whole, dead-lettered
    status, out3 = await post(stack, b'[{"event_id": "x"', AUTH)
    assert status == 422 and out3["refused"][0]["reason"].startswith("malformed JSON array: ")
    assert "char" in out3["refused"][0]["reason"], "the position of the fault is given"

    wait_processed(stack.settings.database_url, out["batches"] + out2["batches"],
                   out["dead_letters"] + out2["dead_letters"] + out3["dead_letters"])
    async with aiohttp.ClientSession() as s:
        async with s.get(stack.url + "/api/v1/status") as r:
            totals = await r.json()
    assert totals["received"] == 1 + len(bad) + 2 + 1
    assert totals["counted"] == 2 and totals["dead_lettered"] == len(bad) + 2
    assert totals["reconciled"] is True


async def test_oversized_body_is_refused(stack):
    big = json.dumps([GOOD] * 8000).encode()
    assert len(big) > stack.settings.max_body_bytes
    status, _ = await post(stack, big, AUTH)
    assert status == 413


async def test_list_changes_are_validated_too(stack):
    body = json.dumps([{"change_id": "c1", "item_code": "I1", "action": "added", "effective_at": "2024-01-01T00:00:00+08:00"}])
    status, out = await post(stack, body.encode(), AUTH, "/api/v1/list-changes")
    assert status == 422
    assert "name, category, department_code, level, region_codes required on 'added'" in out["refused"][0]["reason"]


async def test_indicator_query_errors_are_clear(stack):
    async with aiohttp.ClientSession() as s:
        async with s.get(stack.url + "/api/v1/indicators?group_by=colour") as r:
            assert r.status == 400 and "unknown key(s) colour" in await r.text()
        async with s.get(stack.url + "/api/v1/indicators?from=2024-02-01&to=2024-01-01") as r:
            assert r.status == 400 and "empty window" in await r.text()
        async with s.get(stack.url + "/api/v1/indicators?from=soon") as r:
            assert r.status == 400 and "neither a date" in await r.text()
