"""Heavy work shared fairly (issue 29): analyses in a pool of child processes, a caller's hung job timed out alone,
no pool connection held while a job runs, and no child left behind by an API killed with SIGKILL."""
from __future__ import annotations

import asyncio
import os
import signal

import aiohttp
import psutil
import pytest

from tests.api.robust import add_user, api, async_until, health, locked, session, until

pytestmark = [pytest.mark.broker, pytest.mark.slow]
WIDE = "/api/v1/analysis/chains?from=2000-01-01&to=2100-01-01"


async def _get(token: str, path: str, url: str) -> tuple[int, str]:
    async with session(token=token) as s:
        async with s.get(url + path, timeout=aiohttp.ClientTimeout(total=30)) as r:
            return r.status, r.headers.get("Retry-After", "") or await r.text()


async def test_a_hung_job_times_out_alone_and_holds_no_pool_connection(stack, tmp_path):
    with api(stack, tmp_path, SHENPI_HEAVY_WORKERS="2", SHENPI_ANALYSIS_TIMEOUT_SECONDS="5",
             SHENPI_HEAVY_QUEUE_PER_CALLER="2") as (proc, url, env):
        a, b = add_user(env, "hv-a"), add_user(env, "hv-b")
        assert (await _get(b, WIDE, url))[0] == 200  # b's answer is kept: asked again it reads no case table
        with locked(stack.settings.database_url, "case_state"):  # a's job waits on the lock: a hung job
            hung = asyncio.create_task(_get(a, WIDE + "&min_support=3", url))
            await async_until(lambda: _busy(url), 10, "a's job running in a child")
            queued = asyncio.create_task(_get(a, WIDE + "&min_support=4", url))  # behind a's own, not b's
            load = await health(url)
            assert load["pool"]["in_use"] <= 1 and load["pool"]["waiting"] == 0, load  # none held for the child
            children = psutil.Process(proc.pid).children()
            assert (await _get(b, WIDE, url))[0] == 200 and not hung.done()  # b is not held up behind a
            assert (await _get(a, WIDE + "&min_support=5", url))[0] == 429  # a's queue is full
            status, retry = await hung
            assert status == 503 and retry, status  # a's job overran: a's child is killed...
            assert (await _get(b, WIDE, url))[0] == 200  # ...and b's goes on serving
            assert any(not c.is_running() or c.status() == psutil.STATUS_ZOMBIE for c in children)
            assert (await queued)[0] == 503  # the next of a's jobs waits on the lock too
        assert (await _get(a, WIDE + "&min_support=3", url))[0] == 200  # the pool serves a again


async def _busy(url: str) -> bool:
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/healthz") as r:
            return (await r.json())["heavy"]["busy"] >= 1


async def test_children_end_with_an_api_killed_by_sigkill(stack, tmp_path):
    with api(stack, tmp_path, SHENPI_ANALYSIS_TIMEOUT_SECONDS="30") as (proc, url, env):
        a = add_user(env, "hv-killed")
        with locked(stack.settings.database_url, "case_state"):
            hung = asyncio.create_task(_get(a, WIDE + "&min_support=7", url))
            await async_until(lambda: _busy(url), 10, "a job running in a child")
            children = psutil.Process(proc.pid).children(recursive=True)
            assert children
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
            until(lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children), 5,
                  "the analysis children gone with the API")
            await asyncio.gather(hung, return_exceptions=True)
