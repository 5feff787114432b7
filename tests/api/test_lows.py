"""The low findings of the outside probe, each with a request that failed before its fix."""
from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import TOKEN

pytestmark = pytest.mark.broker
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _req(stack, method, path, **kw):
    async with aiohttp.ClientSession(headers=AUTH) as s:
        async with s.request(method, stack.url + path, allow_redirects=False, **kw) as r:
            return r.status, r.headers, await r.text()


async def test_security_headers_on_every_page(stack):
    for path in ("/", "/public", "/api/v1/status", "/healthz", "/no-such-page"):
        _, headers, _ = await _req(stack, "GET", path)
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), path
        assert headers.get("X-Content-Type-Options") == "nosniff", path


async def test_deep_nesting_repeated_keys_and_numeric_times_are_refused_plainly(stack):
    deep = "[" * 100_000 + "]" * 100_000
    status, _, text = await _req(stack, "POST", "/api/v1/alerts/1/ack", data=deep,
                                 headers={"Content-Type": "application/json"})
    assert status == 400 and "not JSON" in text
    status, _, text = await _req(stack, "POST", "/api/v1/alerts/1/silence", data='{"seconds": 5, "seconds": 9}',
                                 headers={"Content-Type": "application/json"})
    assert status == 400 and "twice" in text
    change = {"change_id": "low-1", "item_code": "LOW-1", "action": "cancelled", "effective_at": "1700000000"}
    status, _, text = await _req(stack, "POST", "/api/v1/list-changes", json=[change])
    assert status == 422 and "not a number" in text
    lookalike = {**change, "item_code": "ＬＯＷ１", "effective_at": "2024-01-01T00:00:00Z"}
    status, _, text = await _req(stack, "POST", "/api/v1/list-changes", json=[lookalike])
    assert status == 422 and "full-width" in text


async def test_nul_is_not_echoed_and_a_bad_window_is_a_400(stack):
    status, _, text = await _req(stack, "GET", "/drill?from=not-a-date")
    assert status == 400
    status, _, text = await _req(stack, "GET", "/api/v1/list/items", params={"item_code": "a\x00b"})
    assert status == 400 and "invalid byte sequence" not in text


async def test_console_links_are_url_quoted(stack):
    import asyncpg

    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        from schemas import parse_list_change
        from streams.cases.reach import apply_list_changes

        await apply_list_changes(conn, [parse_list_change({
            "change_id": "low-slash", "item_code": "Inrit/Uitweg", "action": "added",
            "effective_at": "2024-01-01T00:00:00Z", "name": "x", "category": "行政許可", "department_code": "D",
            "level": "city", "region_codes": []})[0]])
    finally:
        await conn.close()
    _, _, page = await _req(stack, "GET", "/list")
    assert "/list?code=Inrit%2FUitweg" in page
    status, _, page = await _req(stack, "GET", "/list?code=Inrit%2FUitweg")
    assert status == 200 and "Inrit/Uitweg" in page


async def test_the_cases_download_defuses_formulas_from_the_platform(stack):
    import asyncio
    import csv
    import io

    from streams.indicators.cases import COLUMNS

    ev = {"event_id": "low-csv-1", "case_id": "=HYPERLINK(\"http://x\")", "type": "submitted",
          "occurred_at": "2024-03-05T10:00:00+08:00", "item_code": "LOW-CSV", "region_code": "330102",
          "department_code": "D-1", "channel": "online", "applicant_key": "@cmd"}
    status, _, text = await _req(stack, "POST", "/api/v1/case-events", json=[ev])
    assert status in (200, 202), text
    params = {"figure": "received", "from": "2024-03-05", "to": "2024-03-06", "item_code": "LOW-CSV", "format": "csv"}
    for _ in range(200):
        status, headers, text = await _req(stack, "GET", "/api/v1/cases", params=params)
        rows = list(csv.reader(io.StringIO(text)))
        if len(rows) > 1:
            break
        await asyncio.sleep(0.1)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert rows[0] == list(COLUMNS) and len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert row["case_id"] == "'=HYPERLINK(\"http://x\")" and row["region_code"] == "330102"
