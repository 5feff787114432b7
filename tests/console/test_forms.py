"""Work started from the console (an evaluation, a manual score, a rectification task, units by name) and the
evidence read by who verifies: text shown, files downloadable, only of accepted types and sizes; the buttons a person
sees are the ones they may use."""
from __future__ import annotations

import base64
import re
import subprocess
import sys

import aiohttp
import asyncpg
import pytest

from tests.conftest import guarded_api

pytestmark = pytest.mark.broker
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def city(stack, tmp_path_factory):
    import asyncio

    from tests.api.test_route_table import _other_county

    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("forms"))
    data = asyncio.run(_other_county(stack))
    tokens = {}
    for name, role, region in (("市督查", "supervisor", "330100"), ("整改人", "viewer", "330106"),
                               ("别县人", "viewer", "330102")):
        out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", name, "--role", role, "--region", region],
                             env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        tokens[name] = out.stdout.strip()

    async def unit_name():
        conn = await asyncpg.connect(stack.settings.database_url)
        try:
            return await conn.fetchval("SELECT data->>'name' FROM org_version WHERE part = 'unit' AND unit_code = $1"
                                       " ORDER BY valid_from DESC LIMIT 1", data["unit"])
        finally:
            await conn.close()

    data["unit_name"] = asyncio.run(unit_name())
    yield url, tokens, data
    proc.terminate()
    proc.wait(10)


def _as(token: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}, cookies={"lang": "zh"})


async def test_an_evaluation_a_score_and_a_task_started_from_the_console(city):
    url, tokens, data = city
    async with _as(tokens["市督查"]) as s:
        async with s.get(url + "/evaluations") as r:
            assert 'action="/console/evaluations"' in await r.text()
        form = {"unit": data["unit_name"], "from": "2026-01-01", "last": "2026-11-30", "type": "执行情况"}
        async with s.post(url + "/console/evaluations", data=form, allow_redirects=False) as r:
            assert r.status == 302, await r.text()
            page = r.headers["Location"]
        async with s.post(url + "/console/evaluations", data={**form, "unit": "没有这个单位"}) as r:
            assert r.status == 400
            assert "no such unit" not in await r.text()  # said in Chinese, or not at all
        async with s.get(url + page) as r:
            text = await r.text()
        assert "2026-01-01 至 2026-11-30" in text, "the period as people mean it (its last day included)"
        async with s.post(url + "/console" + page + "/scores", data={"code": "satisfaction_survey", "value": "88"},
                          allow_redirects=False) as r:
            assert r.status == 302, await r.text()
        async with s.get(url + f"/api/v1/evaluations/{page.rsplit('/', 1)[1]}") as r:
            e = await r.json()
        assert [i["value"] for i in e["indicators"] if i["code"] == "satisfaction_survey"] == [88.0]
        async with s.post(url + "/console/rectifications", data={"unit": data["unit"], "text": "补齐批准文号",
                                                                  "days": "10"}, allow_redirects=False) as r:
            assert r.status == 302, await r.text()
            assert re.fullmatch(r"/rectifications/[0-9]+", r.headers["Location"])
    async with _as(tokens["整改人"]) as s:  # a viewer starts and submits; does not evaluate
        async with s.get(url + "/evaluations") as r:
            assert 'action="/console/evaluations"' not in await r.text()


async def test_evidence_is_readable_by_who_verifies_and_files_are_checked(city):
    url, tokens, data = city
    task = data["task"]
    async with _as(tokens["整改人"]) as s:
        async with s.post(url + f"/api/v1/rectifications/{task}/start", json={}) as r:
            assert r.status == 200, await r.text()
        for name, content in (("report.pdf", b"MZ\x90\x00 not a pdf"), ("tool.exe", PDF),
                              ("big.pdf", PDF + b"x" * (8 * 1024 * 1024))):
            body = {"text": "x", "files": [{"name": name, "content_base64": base64.b64encode(content).decode()}]}
            async with s.post(url + f"/api/v1/rectifications/{task}/submit", json=body) as r:
                assert r.status in (409, 413), (name, r.status)
        body = {"text": "已补齐三份批准文件", "files": [{"name": "批文.pdf", "content_base64": base64.b64encode(PDF).decode()}]}
        async with s.post(url + f"/api/v1/rectifications/{task}/submit", json=body) as r:
            assert r.status == 200, await r.text()
            files = [f for f in (await r.json())["evidence"] if f["text"] is None]
        async with s.get(url + f"/rectifications/{task}") as r:
            mine = await r.text()
        assert "/verify" not in mine and "/close" not in mine, "the submitter is offered no verification"
    async with _as(tokens["市督查"]) as s:
        async with s.get(url + f"/rectifications/{task}") as r:
            page = await r.text()
        assert "已补齐三份批准文件" in page and f"/rectifications/{task}/evidence/{files[0]['id']}" in page
        assert f"/console/rectifications/{task}/verify" in page
        async with s.get(url + f"/rectifications/{task}/evidence/{files[0]['id']}") as r:
            assert r.status == 200 and await r.read() == PDF
            assert r.content_type == "application/pdf" and "attachment" in r.headers["Content-Disposition"]
    async with _as(tokens["别县人"]) as s:
        async with s.get(url + f"/rectifications/{task}/evidence/{files[0]['id']}") as r:
            assert r.status == 404
