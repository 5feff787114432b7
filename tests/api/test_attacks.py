"""The outside probe's requests, replayed: each bounded, and the API stays healthy (/healthz under 1 s) while they
run; a header a client writes is nobody, sign-in is throttled."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import aiohttp
import pytest

from tests.conftest import guarded_api

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture(scope="module")
def target(stack, tmp_path_factory):
    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("attacks"), SHENPI_TRUSTED_USER_HEADER="X-User",
                                 SHENPI_ANALYSIS_TIMEOUT_SECONDS="3", SHENPI_BODY_TIMEOUT_SECONDS="2")
    out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", "atk-viewer", "--role", "viewer", "--region",
                          "330102"], env=env, capture_output=True, text=True, check=True)
    subprocess.run([sys.executable, "-m", "shenpi", "users", "add", "atk-admin", "--role", "admin"], env=env,
                   capture_output=True, text=True, check=True)
    yield url, out.stdout.strip()
    proc.terminate()
    proc.wait(10)


async def _health_while(url: str, attack) -> float:
    """The slowest /healthz answer while `attack` runs."""
    task = asyncio.create_task(attack)
    worst = 0.0
    async with aiohttp.ClientSession() as s:
        await asyncio.sleep(0.3)
        while not task.done():
            t = time.perf_counter()
            async with s.get(url + "/healthz", timeout=aiohttp.ClientTimeout(total=5)) as r:
                assert r.status == 200
            worst = max(worst, time.perf_counter() - t)
            await asyncio.sleep(0.2)
    await task
    return worst


async def test_wide_analysis_runs_off_the_event_loop(target):
    url, viewer = target

    async def attack():
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {viewer}"}) as s:
            q = "min_support=1&max_span_days=366&min_confidence=0&min_lift=0&from=2000-01-01&to=2100-01-01"
            async with s.get(url + "/api/v1/analysis/chains?" + q) as r:
                assert r.status in (200, 503)
            # one running at a time per caller: a second while the first runs waits its turn (or is refused)
            first = asyncio.create_task(s.get(url + "/api/v1/analysis/recommendations?from=2000-01-01&to=2100-01-01"))
            await asyncio.sleep(0.05)
            async with s.get(url + "/api/v1/analysis/chains?" + q) as r2:
                assert r2.status in (200, 429, 503)
            (await first).release()

    assert await _health_while(url, attack()) < 1.0


async def test_slow_and_large_bodies_are_cut_off(target):
    url, _ = target
    host, port = url.rsplit("/", 1)[-1].split(":")

    async def hold(n: int):
        writers = []
        for _ in range(n):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: 4000000\r\n\r\nname=a")
            writers.append((reader, writer))
        answers = []
        for reader, writer in writers:  # refused at once: a form that large is never read
            line = await asyncio.wait_for(reader.readline(), 5)
            answers.append(line)
            writer.close()
        assert all(b"413" in a or b"429" in a for a in answers), [a for a in answers if b"413" not in a][:3]
        # a small form trickled in slower than the time limit: 408, not held forever (once the address's rate limit,
        # which refused most of the above before reading anything, has refilled)
        await asyncio.sleep(4.5)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 100\r\n\r\nname=")
        line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        assert b"408" in line, line

    assert await _health_while(url, hold(200)) < 1.0


async def test_a_header_from_a_client_is_nobody(target):
    url, _ = target
    async with aiohttp.ClientSession() as s:
        for name in ("atk-admin", "nobody-such"):
            async with s.get(url + "/api/v1/status", headers={"X-User": name}) as r:
                assert r.status == 401  # the same answer for a real name and an unknown one
                assert name not in await r.text()


async def test_sign_in_is_throttled_and_takes_the_same_time_for_any_name(target):
    url, _ = target
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:  # cookies of an IP host
        async with s.get(url + "/login") as r:
            csrf = (await r.text()).split('name="csrf" value="')[1].split('"')[0]
        timings = {}
        statuses = {True: [], False: []}
        for k in range(14):
            name = "atk-admin" if k % 2 else f"ghost{k}"
            t = time.perf_counter()
            async with s.post(url + "/login", data={"csrf": csrf, "name": name, "password": "wrong-password"}) as r:
                statuses[name == "atk-admin"].append(r.status)
                page = await r.text()
            csrf = page.split('name="csrf" value="')[1].split('"')[0]  # each form carries a fresh token
            if r.status == 401:  # a refusal by the throttle is quick for everyone alike
                timings.setdefault(name == "atk-admin", []).append(time.perf_counter() - t)
    # per name from an address: the sixth try of one name waits; other names from there are not yet held back
    assert statuses[True] == [401] * 5 + [429, 429] and statuses[False] == [401] * 7
    known, unknown = min(timings[True]), min(timings[False])
    assert known > 0.02 and unknown > 0.02 and 0.3 < known / unknown < 3, timings
