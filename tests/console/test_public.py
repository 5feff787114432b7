"""The public portal: monthly figures from stored snapshots (the worker computes them when the data changes), and a
rate limit per client that a header cannot dodge, believed only from a configured proxy."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime

import aiohttp
import pytest

from core.tz import TZ
from tests.conftest import TOKEN, guarded_api, wait_processed

pytestmark = pytest.mark.broker


async def test_published_figures_come_from_snapshots(stack):
    now = datetime.now(TZ).isoformat()
    event = {"event_id": "pub-ev-1", "case_id": "pub-case-1", "type": "submitted", "occurred_at": now,
             "item_code": "PUB-1", "region_code": "330102", "department_code": "D-PUBLIC", "channel": "online"}
    async with aiohttp.ClientSession() as s:
        async with s.post(stack.url + "/api/v1/case-events", json=[event],
                          headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            wait_processed(stack.settings.database_url, (await r.json())["batches"], [])
        subprocess.run([sys.executable, "-m", "shenpi", "public", "publish", "D-PUBLIC"], env=stack.env, check=True,
                       capture_output=True)
        for _ in range(100):
            async with s.get(stack.url + "/public/figures") as r:
                page = await r.text()
            if "D-PUBLIC" in page:
                break
            await asyncio.sleep(0.2)
        assert "D-PUBLIC" in page and datetime.now(TZ).strftime("%Y-%m") in page
        import psycopg

        with psycopg.connect(stack.settings.database_url) as c:
            n = c.execute("SELECT count(*) FROM public_snapshot WHERE department_code = 'D-PUBLIC'").fetchone()[0]
        assert n == 12


async def _burst(url: str, forwarded: str, n: int = 30) -> list[int]:
    async with aiohttp.ClientSession() as s:
        out = []
        for _ in range(n):
            async with s.get(url + "/public", headers={"X-Forwarded-For": forwarded}) as r:
                out.append(r.status)
        return out


async def test_the_rate_limit_believes_a_forwarded_address_only_from_a_proxy(stack, tmp_path_factory):
    statuses = [s for k in range(30) for s in await _burst(stack.url, f"10.9.0.{k}", 1)]
    assert 429 in statuses, "a header the client writes does not buy another bucket"
    proc, url, _ = guarded_api(stack, tmp_path_factory.mktemp("proxy"), SHENPI_TRUSTED_PROXIES="127.0.0.1")
    try:
        assert 429 in await _burst(url, "10.8.0.1")
        assert (await _burst(url, "10.8.0.2", 1)) == [200], "behind the proxy, each client has its own"
    finally:
        proc.terminate()
        proc.wait(10)
