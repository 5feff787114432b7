"""The connection budget and identity before bodies (issue 29): failed sign-ins, waits for a connection, a stop on
SIGTERM, refused callers' bodies and oversize chunked forms; against a real API on the test stack."""
from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
import pytest

from tests.api.robust import add_user, api, async_until, health, locked, raw, session

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture(scope="module")
def small(stack, tmp_path_factory):
    """An API with a pool of 2 connections, waits for one bounded to 1 s, bodies given 10 s."""
    with api(stack, tmp_path_factory.mktemp("budget"), SHENPI_API_POOL_SIZE="2", SHENPI_API_POOL_WAIT_SECONDS="1",
             SHENPI_BODY_TIMEOUT_SECONDS="10", SHENPI_API_STOP_SECONDS="1") as (_, url, env):
        add_user(env, "bud-user", password="a-long-password-1")
        yield url, env, add_user(env, "bud-viewer")


async def holding(url: str, n: int) -> None:
    """Until the API's pool has `n` connections in use (requests stuck on the locked table)."""
    async def in_use() -> bool:
        return (await health(url))["pool"]["in_use"] >= n

    await async_until(in_use, 10, f"{n} connections in use")


async def _failed_login(url: str, address: str) -> int:
    async with session(address) as s:
        async with s.get(url + "/login") as r:
            csrf = (await r.text()).split('name="csrf" value="')[1].split('"')[0]
        async with s.post(url + "/login", data={"csrf": csrf, "name": "bud-user", "password": "wrong-password"},
                          allow_redirects=False, timeout=aiohttp.ClientTimeout(total=15)) as r:
            return r.status


async def test_failed_sign_ins_from_many_addresses_do_not_exhaust_the_pool(small):
    url, _, _ = small
    statuses = await asyncio.gather(*(_failed_login(url, f"127.0.0.{10 + k}") for k in range(8)))
    assert all(s in (401, 503) for s in statuses) and statuses.count(401) >= 6, statuses
    load = await health(url)
    assert load["pool"]["nested"] == 0 and load["pool"]["in_use"] <= 1, load  # none held two, none left held


async def test_a_wait_for_a_connection_is_bounded_and_health_needs_none(small, stack):
    url, _, token = small
    async with session(token=token) as s:
        with locked(stack.settings.database_url, "app_user"):  # each token lookup holds its connection meanwhile
            held = [asyncio.create_task(s.get(url + "/api/v1/list/items")) for _ in range(2)]
            await holding(url, 2)  # the two have taken the pool's connections (the wait below is what is measured)
            t = time.perf_counter()
            async with s.get(url + "/api/v1/list/items") as r:
                assert r.status == 503 and r.headers["Retry-After"], r.status
            assert time.perf_counter() - t < 3
            load = await health(url)
            assert load["pool"]["in_use"] == 2 and load["pool"]["timed_out"] >= 1, load
        for task in held:
            (await task).release()
    assert (await health(url))["pool"]["in_use"] <= 1


async def test_sigterm_stops_an_api_whose_connections_are_stuck(stack, tmp_path):
    with api(stack, tmp_path, SHENPI_API_POOL_SIZE="2", SHENPI_API_STOP_SECONDS="1") as (proc, url, env):
        token = add_user(env, "bud-stuck")
        async with session(token=token) as s:
            with locked(stack.settings.database_url, "app_user"):
                held = [asyncio.create_task(s.get(url + "/api/v1/list/items")) for _ in range(3)]
                await holding(url, 2)
                t = time.perf_counter()
                proc.send_signal(signal.SIGTERM)
                while proc.poll() is None and time.perf_counter() - t < 10:
                    await asyncio.sleep(0.1)
                took = time.perf_counter() - t
                assert proc.poll() is not None, "the API did not stop on SIGTERM"
            await asyncio.gather(*held, return_exceptions=True)
    assert took < 6, took


async def test_a_refused_caller_is_answered_before_its_body(small):
    url, _, _ = small
    for path in (b"/api/v1/case-events", b"/api/v1/alerts/1/ack", b"/api/v1/staffing-changes"):
        t = time.perf_counter()
        line = await raw(url, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 1000000\r\n\r\n", b"[{", wait=3)
        assert b" 401 " in line and time.perf_counter() - t < 2, (path, line)
    # a wrong token too: the credentials are in the headers
    line = await raw(url, b"POST /api/v1/case-events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n"
                          b"Content-Length: 1000000\r\n\r\n", b"[", wait=3)
    assert b" 401 " in line, line
    assert (await health(url))["ok"]


async def test_a_chunked_form_over_the_cap_is_refused_without_waiting_for_its_end(small):
    url, _, _ = small
    chunk = b"x" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10))  # 80 KB, never ended
    for kind in (b"application/x-www-form-urlencoded", b"text/plain"):  # sign-in needs no more, whatever it is
        line = await raw(url, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: " + kind + b"\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n", body, wait=4)
        assert b" 413 " in line, (kind, line)


async def test_no_page_holds_two_connections(small):
    """Every page without a path parameter, asked by an administrator and a county viewer: none asks for a second
    pool connection while it holds one (the deadlock of the sign-in handler, anywhere)."""
    from core.settings import Settings
    from web.app import init_app
    from web.limits import STREAMS

    url, env, viewer = small
    app = init_app(Settings(database_url="postgresql://unused/x", kafka_bootstrap="unused:1"))
    paths = sorted({r.resource.canonical for r in app.router.routes() if r.method == "GET"
                    and "{" not in r.resource.canonical and r.resource.canonical not in STREAMS})
    assert len(paths) > 20
    admin = add_user(env, "bud-admin", role="admin", region="")
    for token in (admin, viewer):
        async with session(token=token) as s:
            for path in paths:
                async with s.get(url + path) as r:
                    assert r.status < 500 or r.status == 503, (path, r.status)
    load = await health(url)
    assert load["pool"]["nested"] == 0, load
