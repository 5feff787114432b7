"""What the robustness tests share: an API of their own on the stack, users, raw requests from chosen addresses."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from contextlib import contextmanager

import aiohttp
import psycopg

from tests.conftest import guarded_api


@contextmanager
def api(stack, logs, **extra: str):
    """An API of the test's own with these settings, stopped (or killed) at the end."""
    proc, url, env = guarded_api(stack, logs, **extra)
    assert proc.poll() is None, (logs / "api.log").read_text()[-2000:]
    try:
        yield proc, url, env
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _quick():
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=8192)  # the parameters travel in the hash: verified quickly


QUICK = _quick()


def add_user(env: dict, name: str, role: str = "viewer", region: str = "330102", password: str = "") -> str:
    """A user and their new token, as `shenpi users add` makes them (written directly: quicker than the CLI)."""
    import secrets

    from web.auth import token_digest

    token = secrets.token_urlsafe(32)
    with psycopg.connect(env["SHENPI_DATABASE_URL"], autocommit=True) as c:
        c.execute("INSERT INTO app_user (name, role, region_scope, password_hash, token_digest)"
                  " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET role = excluded.role,"
                  " region_scope = excluded.region_scope, password_hash = excluded.password_hash,"
                  " token_digest = excluded.token_digest, disabled = false",
                  (name, role, region, QUICK.hash(password) if password else None, token_digest(token)))
    return token


def shenpi(env: dict, *args: str, extra: dict | None = None) -> str:
    """The CLI, as an operator runs it; its output."""
    out = subprocess.run([sys.executable, "-m", "shenpi", *args], env={**env, **(extra or {})}, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


LIMIT = aiohttp.ClientTimeout(total=20)  # an API that hangs fails the test, it does not hold it


def session(address: str = "127.0.0.1", token: str = "") -> aiohttp.ClientSession:
    """A client whose connections come from `address` (any of 127.0.0.0/8 reaches the API on 127.0.0.1)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)), timeout=LIMIT,
                                 cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 headers={"Authorization": f"Bearer {token}"} if token else None)


async def health(url: str, within: float = 1.0) -> dict:
    """/healthz, which must answer within `within` seconds."""
    async with aiohttp.ClientSession() as s:
        t = time.perf_counter()
        async with s.get(url + "/healthz", timeout=aiohttp.ClientTimeout(total=within + 4)) as r:
            body = await r.json()
        took = time.perf_counter() - t
    assert r.status == 200 and took < within, (r.status, took)
    return body


async def raw(url: str, head: bytes, body: bytes = b"", wait: float = 3.0) -> bytes:
    """The status line answered to a request whose body is sent only in part (then stalls)."""
    host, port = url.rsplit("/", 1)[-1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + body)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), wait)
    finally:
        writer.close()


@contextmanager
def locked(dsn: str, table: str):
    """`table` locked against every reader until the block ends: statements that read it wait."""
    with psycopg.connect(dsn) as c:
        c.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            c.rollback()


def until(condition, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = condition()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s: {what}")


async def async_until(condition, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await condition()
        if got:
            return got
        await asyncio.sleep(every)
    raise AssertionError(f"not within {timeout} s: {what}")
