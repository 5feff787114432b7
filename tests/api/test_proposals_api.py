"""Proposals through the real stack: read in the caller's scope, edited and decided by people who maintain staffing
data there (two of them: never the uploader or the last editor, never a machine's token), and an approval
published into the staffing stream once, however often it is asked for; the CLI acting as a named user."""
from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import time


import aiohttp
import asyncpg
import psycopg
import pytest

from streams.archive import proposals
from web.auth import token_digest
from tests.conftest import TOKEN, guarded_api, truncate_all
from tests.streams.test_evaluation_api import cli
from tests.streams.test_proposals import T1, UNIT, _city, _propose

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def people(stack, tmp_path_factory):
    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("proposals"))
    out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", "alice", "--role", "staffing_admin",
                          "--region", "330102"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    tokens = {"alice": out.stdout.strip()}
    with psycopg.connect(stack.settings.database_url, autocommit=True) as c:  # the others as the command adds them
        for name, role, region in (("bob", "staffing_admin", "330102"), ("dave", "staffing_admin", "330100"),
                                   ("far", "staffing_admin", "330106"), ("viewer1", "viewer", "330102")):
            tokens[name] = secrets.token_urlsafe(16)
            c.execute("INSERT INTO app_user (name, role, region_scope, token_digest) VALUES (%s, %s, %s, %s)"
                      " ON CONFLICT (name) DO UPDATE SET role = excluded.role, region_scope = excluded.region_scope,"
                      " token_digest = excluded.token_digest", (name, role, region, token_digest(tokens[name])))
    yield url, tokens, env
    proc.terminate()
    proc.wait(10)


async def _applied(dsn: str, pid: str, n: int, timeout: float = 60) -> list:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = await conn.fetch("SELECT change_id, state FROM staffing_change WHERE change_id LIKE $1",
                                    f"proposal:{pid}:%")
            if len(rows) >= n:
                return rows
            await asyncio.sleep(0.1)
        raise AssertionError(f"only {len(rows)}/{n} changes of {pid} reached the staffing data")
    finally:
        await conn.close()


async def test_two_people_scope_and_one_publication(stack, people, conn):
    url, tokens, env = people
    truncate_all(stack.settings.database_url)
    await _city(conn)
    pid = await _propose(conn)
    auth = lambda who: {"Authorization": f"Bearer {tokens[who] if who != 'platform' else TOKEN}"}  # noqa: E731
    base = f"{url}/api/v1/org/proposals"
    async with aiohttp.ClientSession() as s:
        async with s.get(base, headers=auth("viewer1")) as r:
            assert r.status == 200 and [p["proposal_id"] for p in (await r.json())["proposals"]] == [pid]
        async with s.get(base, headers=auth("far")) as r:
            assert (await r.json())["proposals"] == []
        async with s.get(f"{base}/{pid}", headers=auth("far")) as r:
            assert r.status == 404
        async with s.get(f"{base}/{pid}", headers=auth("viewer1")) as r:
            shown = await r.json()
        assert {"proposal_id", "document_id", "unit_code", "doc_no", "effective_at", "status", "changes", "unsure",
                "diff", "would_open", "would_close", "trail"} <= set(shown)
        assert any(f["kind"] == "over_quota" for f in shown["would_open"])
        pages = {}
        for who in ("viewer1", "alice", "dave"):  # the console: the document beside it, actions only for who may
            async with s.get(f"{url}/org/proposals/{pid}", headers=auth(who)) as r:
                assert r.status == 200
                pages[who] = await r.text()
        assert "区市场监督管理局主要职责是" in pages["viewer1"] and "超编" in pages["viewer1"]
        assert "比对提示问题" in pages["viewer1"]  # the trail in the reader's script
        assert "/approve" not in pages["viewer1"] and "/edit" not in pages["viewer1"]
        assert "/approve" not in pages["alice"] and "/edit" in pages["alice"] and "/approve" in pages["dave"]
        for who, status in (("alice", 403), ("viewer1", 403), ("platform", 403), ("far", 404)):
            async with s.post(f"{base}/{pid}/approve", headers=auth(who), json={}) as r:
                assert r.status == status, (who, await r.text())
        changes = [c for c in shown["changes"] if c["kind"] != "quota_set"]
        changes.append({"kind": "quota_set", "unit_code": UNIT, "quota_kind": "行政", "approved": 4})
        async with s.post(f"{base}/{pid}/edit", headers=auth("bob"), json={"changes": changes}) as r:
            assert r.status == 200, await r.text()
            edited = await r.json()
        assert edited["edited_by"] == "bob" and not any(f["kind"] == "over_quota" for f in edited["would_open"])
        async with s.post(f"{base}/{pid}/approve", headers=auth("bob"), json={}) as r:
            assert r.status == 403  # the last editor
        # two approvals at once by others: one publishes, the other finds it decided
        answers = await asyncio.gather(*(s.post(f"{base}/{pid}/approve", headers=auth("dave"), json={}),
                                         s.post(f"{base}/{pid}/approve", headers=auth("dave"), json={})))
        assert sorted(a.status for a in answers) == [200, 409]
    rows = await _applied(stack.settings.database_url, pid, len(changes))
    assert len(rows) == len(changes) and {r["state"] for r in rows} == {"applied"}
    assert await conn.fetchval("SELECT count(*) FROM edge_receipt WHERE request_id = $1",
                               proposals.publication_id(pid)) == 1
    from streams.staffing.queries import unit_as_of

    u = await unit_as_of(conn, UNIT, T1)
    assert {q["quota_kind"]: q["approved"] for q in u["quotas"]} == {"行政": 4}
    assert "登记注册科" in {b["name"] for b in u["bodies"]}
    code, out = cli(env, "org", "proposals", "show", pid, "--as", "viewer1", "--format", "json")
    assert code == 0 and out["status"] == "published" and out["publication"]["taken"] == len(changes)
    assert [s["step"] for s in out["trail"]][-2:] == ["approved", "published"]


async def test_the_cli_edits_and_approves_as_people(stack, people, conn, tmp_path):
    env, tokens = people[2], people[1]
    as_ = lambda name: {**env, "SHENPI_TOKEN": tokens[name]}  # noqa: E731  (--as needs the person's own token)
    truncate_all(stack.settings.database_url)
    await _city(conn)
    pid = await _propose(conn)
    edit = tmp_path / "edit.json"
    edit.write_text(json.dumps({"changes": [{"kind": "quota_set", "unit_code": UNIT, "quota_kind": "行政",
                                             "approved": 9, "doc_no": "上编〔2019〕7号"}]}), encoding="utf-8")
    code, out = cli(as_("bob"), "org", "proposals", "edit", pid, "--file", str(edit), "--as", "bob")
    assert code == 0 and out["changes"][0]["change_id"] == f"proposal:{pid}:0" and out["edited_by"] == "bob"
    assert out["diff"][UNIT]["quotas"][0]["approved"] == {"before": 5, "after": 9}
    code, out = cli(as_("dave"), "org", "proposals", "approve", pid, "--as", "dave")
    assert code == 0 and out["status"] == "published" and out["sent"] is True
    rows = await _applied(stack.settings.database_url, pid, 1)
    assert [r["state"] for r in rows] == ["applied"]
    code, listed = cli(as_("far"), "org", "proposals", "list", "--status", "published", "--as", "far")
    assert code == 0 and listed["proposals"] == []  # another county's
    # the console's form, as a person who may (and one who may not)
    other = await _propose(conn, doc_id="doc-console")
    url = people[0]
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{url}/console/proposals/{other}/reject", data={"reason": "改用新文件"},
                          headers={"Authorization": f"Bearer {tokens['viewer1']}"}, allow_redirects=False) as r:
            assert r.status == 403
        async with s.post(f"{url}/console/proposals/{other}/reject", data={"reason": "改用新文件"},
                          headers={"Authorization": f"Bearer {tokens['dave']}"}, allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == f"/org/proposals/{other}"
    assert await conn.fetchval("SELECT (status, reason, decided_by) = ('rejected', '改用新文件', 'dave')"
                               " FROM org_proposal WHERE proposal_id = $1", other)
    assert await conn.fetchval("SELECT count(*) FROM staffing_change WHERE change_id LIKE $1",
                               f"proposal:{other}:%") == 0  # a rejected proposal never reaches the staffing data
