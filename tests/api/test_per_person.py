"""Limits per person, not per address (issue 29): reads and live streams on caps of their own, sign-in throttled per
name and address without locking the user out, a person's streams ended when their account changes."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.api.robust import add_user, api, health, session, shenpi

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture(scope="module")
def people(stack, tmp_path_factory):
    with api(stack, tmp_path_factory.mktemp("people"), SHENPI_API_READS_PER_CALLER="4",
             SHENPI_API_STREAMS_PER_PERSON="5", SHENPI_SIGNIN_FAILURES="3",
             SHENPI_SIGNIN_FAILURES_PER_ADDRESS="6") as (_, url, env):
        yield url, env


async def _open_stream(s: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    r = await s.get(url + "/console/stream", timeout=aiohttp.ClientTimeout(total=60, sock_read=30))
    return r


async def test_four_streams_of_one_person_block_neither_them_nor_their_office(people):
    url, env = people
    one, other = add_user(env, "pp-one"), add_user(env, "pp-other")
    async with session(token=one) as s1, \
            session(token=other) as s2:
        streams = [await _open_stream(s1, url) for _ in range(4)]
        assert [r.status for r in streams] == [200] * 4
        async with s1.get(url + "/api/v1/list/items") as r:  # a fifth page of the same person
            assert r.status == 200
        async with s2.get(url + "/api/v1/list/items") as r:  # someone else at the same address
            assert r.status == 200
        fifth, sixth = await _open_stream(s1, url), await _open_stream(s1, url)
        assert (fifth.status, sixth.status) == (200, 429) and sixth.headers["Retry-After"]
        for r in (*streams, fifth, sixth):
            r.close()


async def _stream_ends(r: aiohttp.ClientResponse, within: float) -> bool:
    async def read():
        async for line in r.content:
            if line.startswith(b"event: end"):
                return True
        return False

    return await asyncio.wait_for(read(), within)


async def test_a_token_rotation_or_scope_change_ends_the_persons_streams_at_once(people):
    url, env = people
    token = add_user(env, "pp-rotated", region="330102")
    async with session(token=token) as s:
        r = await _open_stream(s, url)
        assert r.status == 200
        await asyncio.wait_for(r.content.readline(), 10)  # the first message: the stream is live
        # `users add` again: a new token, a narrower scope
        new = shenpi(env, "users", "add", "pp-rotated", "--role", "viewer", "--region", "330103").splitlines()[-1]
        assert await _stream_ends(r, 5)
        r.close()
        async with s.get(url + "/api/v1/list/items") as old:
            assert old.status == 401
    async with session(token=new) as s:
        r = await _open_stream(s, url)
        assert r.status == 200
        shenpi(env, "users", "disable", "pp-rotated")
        assert await _stream_ends(r, 5)
        r.close()


async def _login(s: aiohttp.ClientSession, url: str, name: str, password: str) -> int:
    async with s.get(url + "/login") as r:
        csrf = (await r.text()).split('name="csrf" value="')[1].split('"')[0]
    async with s.post(url + "/login", data={"csrf": csrf, "name": name, "password": password},
                      allow_redirects=False) as r:
        return r.status


async def test_a_stranger_cannot_lock_a_user_out(people):
    url, env = people
    add_user(env, "pp-signer", password="the-right-password")
    async with session("127.0.0.21") as stranger, session("127.0.0.22") as user:
        tries = [await _login(stranger, url, "pp-signer", f"guess-{k}") for k in range(5)]
        assert tries == [401] * 3 + [429, 429]  # the stranger's address, for that name, waits
        assert await _login(user, url, "pp-signer", "the-right-password") == 302  # the user, elsewhere, does not
        # the user's own browser, now known, signs in even from the stranger's address
        user_device = [c for c in user.cookie_jar if c.key == "shenpi_device"]
        assert user_device
        async with session("127.0.0.21") as same_address_known_device:
            same_address_known_device.cookie_jar.update_cookies({"shenpi_device": user_device[0].value})
            assert await _login(same_address_known_device, url, "pp-signer", "the-right-password") == 302
        assert await _login(stranger, url, "pp-signer", "the-right-password") == 429  # still waiting there
        # an administrator's reset forgets the failures
        shenpi(env, "users", "unlock", "pp-signer")
        assert await _login(stranger, url, "pp-signer", "guess-again") == 401
    # one address trying many names is held back as a whole, past its own limit
    async with session("127.0.0.23") as sprayer:
        statuses = [await _login(sprayer, url, f"pp-nobody{k}", "x") for k in range(7)]
    assert statuses == [401] * 6 + [429]
    assert (await health(url))["ok"]


async def test_anonymous_reads_are_counted_per_forwarded_address_only_from_a_trusted_proxy(stack, tmp_path):
    with api(stack, tmp_path, SHENPI_READ_ACCESS="open", SHENPI_API_STREAMS_PER_PERSON="1",
             SHENPI_TRUSTED_PROXIES="127.0.0.31") as (_, url, _env):
        async def two_at_once(address: str, forwarded: tuple[str, str]) -> list[int]:
            async with session(address) as s:
                rs = await asyncio.gather(*(s.get(url + "/console/stream", headers={"X-Forwarded-For": f})
                                            for f in forwarded))
                out = [r.status for r in rs]
                for r in rs:
                    r.close()
                return out

        # behind the trusted proxy: two clients, one stream each; from anyone else the header is nobody
        assert await two_at_once("127.0.0.31", ("10.0.0.1", "10.0.0.2")) == [200, 200]
        assert sorted(await two_at_once("127.0.0.32", ("10.0.0.1", "10.0.0.2"))) == [200, 429]
