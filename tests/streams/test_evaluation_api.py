"""Evaluations and rectification as people use them: through the API with their tokens (scope and roles), the CLI
acting as a named user, and the report printed to a readable PDF."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import aiohttp
import pytest

from tests.conftest import TOKEN, guarded_api, truncate_all
from tests.streams.test_evaluation import _load, _over
from simulator.org import generate_city

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def people(stack, tmp_path_factory):
    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("eval"))
    tokens = {}
    for name, role, region in (("sup-a", "supervisor", ""), ("sup-b", "supervisor", ""), ("clerk", "viewer", ""),
                               ("county", "supervisor", "330106")):
        out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", name, "--role", role,
                              *(["--region", region] if region else [])], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        tokens[name] = out.stdout.strip()
    yield url, tokens, env
    proc.terminate()
    proc.wait(10)


def cli(env, *args):
    out = subprocess.run([sys.executable, "-m", "shenpi", *args], env=env, capture_output=True, text=True)
    return out.returncode, (json.loads(out.stdout) if out.returncode == 0 else out.stderr)


async def test_evaluate_report_and_rectify_as_people_would(stack, people, conn):
    from pypdf import PdfReader

    url, tokens, env = people
    truncate_all(stack.settings.database_url)
    city = generate_city(units=16, seed=9)
    await _load(conn, city)
    unit, kind = _over(city)
    region = next(u["region_code"] for u in city.units if u["unit_code"] == unit)
    auth = lambda who: {"Authorization": f"Bearer {tokens[who]}"}  # noqa: E731
    async with aiohttp.ClientSession() as s:
        body = {"unit_code": unit, "from": "2025-01-01", "to": "2026-12-01", "type": "执行情况"}
        async with s.post(url + "/api/v1/evaluations", json=body, headers=auth("clerk")) as r:
            assert r.status == 403  # a viewer does not evaluate
        async with s.post(url + "/api/v1/evaluations", json=body, headers=auth("sup-a")) as r:
            assert r.status == 201, await r.text()
            e = await r.json()
        assert any(f["kind"] == "over_quota" for f in e["findings"]) and e["score"] is not None
        async with s.get(url + f"/api/v1/evaluations/{e['evaluation_id']}", headers=auth("county")) as r:
            assert r.status == (200 if region.startswith("3301") and region == "330106" else 404)
        async with s.get(url + f"/api/v1/evaluations/{e['evaluation_id']}/report.pdf", headers=auth("sup-b")) as r:
            assert r.status == 200 and r.content_type == "application/pdf"
            pdf = await r.read()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert e["unit_name"] in text and "综合得分" in text
        # the same report again: the archived one
        async with s.get(url + f"/api/v1/evaluations/{e['evaluation_id']}/report.pdf", headers=auth("sup-a")) as r:
            assert await r.read() == pdf
        async with s.post(url + "/api/v1/rectifications", headers=auth("sup-a"), json={
                "unit_code": unit, "finding": "over_quota", "text": "核减超编人员", "days": 10}) as r:
            assert r.status == 201, await r.text()
            task = await r.json()
        tid = task["task_id"]
        for who, action, payload, status in (
                ("clerk", "start", {}, 200), ("clerk", "submit", {"text": "已调出"}, 200),
                ("clerk", "verify", {}, 403), ("sup-b", "return", {"reason": "材料不全"}, 200),
                ("clerk", "start", {}, 200), ("sup-b", "submit", {"files": [{"name": "a.txt",
                                                                             "content_base64": "YWJj"}]}, 200),
                ("sup-b", "verify", {}, 409),
                ("platform", "verify", {}, 403),  # a machine's token is no second person
                ("sup-a", "verify", {}, 200)):
            headers = {"Authorization": f"Bearer {TOKEN}"} if who == "platform" else auth(who)
            async with s.post(url + f"/api/v1/rectifications/{tid}/{action}", json=payload, headers=headers) as r:
                assert r.status == status, (who, action, await r.text())
    # the CLI, as a named user on the server with their own token: the two-person rule holds there too
    as_b, as_a = {**env, "SHENPI_TOKEN": tokens["sup-b"]}, {**env, "SHENPI_TOKEN": tokens["sup-a"]}
    code, out = cli(as_b, "rectify", "close", str(tid), "--as", "sup-b")
    assert code != 0 and "two-person" in out
    code, out = cli(as_b, "rectify", "close", str(tid), "--as", "sup-a")  # a name without its token
    assert code != 0 and "not theirs" in out
    code, out = cli(env, "rectify", "close", str(tid), "--as", "sup-a")  # no token: the operator, not sup-a
    assert code != 0 and "cli:" in out and "may not close" in out
    code, out = cli(as_a, "rectify", "close", str(tid), "--as", "sup-a")
    assert code == 0 and out["state"] == "closed"
    assert out["events"][-1]["actor"] == "sup-a"
    code, out = cli(as_b, "eval", "show", str(e["evaluation_id"]), "--as", "sup-b")
    assert code == 0 and out["score"] == e["score"] and out["rank"]["of"] >= 1
    code, out = cli(env, "eval", "show", str(e["evaluation_id"]))  # the server's operator, with no token
    assert code == 0 and out["evaluation_id"] == e["evaluation_id"]
    code, out = cli({**env, "SHENPI_TOKEN": "not-a-token"}, "eval", "show", str(e["evaluation_id"]))
    assert code != 0 and "no such user" in out
