"""Workbooks in over HTTP and the CLI, against the running stack: the list's drafts published only by a second
administrator, the roster's report with its bad identity number in no answer and no log."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import aiohttp
import asyncpg
import pytest

from tests.conftest import truncate_all
from tests.streams.test_propagation import wait_applied
from tests.streams import test_list_sheet as L
from tests.streams import test_roster_sheet as R

pytestmark = pytest.mark.broker
ALICE, BOB = ({"Authorization": f"Bearer token-{k}"} for k in "ab")


async def fresh(stack, *seeders) -> None:
    """The stack's database emptied, then seeded by each of `seeders` (the streams tests' own)."""
    truncate_all(stack.settings.database_url)
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        for seed in seeders:
            await seed(conn)
    finally:
        await conn.close()


async def post_file(stack, path: str, data: bytes, name: str, who: dict) -> tuple[int, object]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    async with aiohttp.ClientSession(headers=who) as s:
        async with s.post(stack.url + path, data=form) as r:
            return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def test_list_sheet_over_http_then_a_second_person_approves(stack):
    await fresh(stack, L.seed)
    status, text = await post_file(stack, "/api/v1/list/import-sheet?region=330100", L.workbook(), "l.xlsx", {})
    assert status == 401, text
    status, out = await post_file(stack, "/api/v1/list/import-sheet?region=330100", L.workbook(), "l.xlsx", ALICE)
    assert status == 200, out
    assert set(out) == {"rows", "refused", "drafts"} and out["rows"] == {"accepted": 2, "unchanged": 2, "refused": 3}
    status, text = await post_file(stack, "/api/v1/list/import-sheet", b"PK\x03\x04 broken", "l.xlsx", ALICE)
    assert status == 400 and "not a readable .xlsx" in text
    async with aiohttp.ClientSession() as s:
        first = out["drafts"][0]
        async with s.post(f"{stack.url}/api/v1/list/drafts/{first}/approve", headers=ALICE, json={}) as r:
            assert r.status == 403, "the one who imported may not approve"
        async with s.post(f"{stack.url}/api/v1/list/drafts/{first}/approve", headers=BOB, json={}) as r:
            assert r.status == 200 and (await r.json())["status"] == "published"
    wait_applied(stack, [f"draft:{first}"])  # settled before the next test empties the database


def test_list_sheet_through_the_cli(stack, tmp_path):
    asyncio.run(fresh(stack, L.seed))
    f = tmp_path / "list.xlsx"
    f.write_bytes(L.workbook())
    run = subprocess.run([sys.executable, "-m", "shenpi", "list", "import-sheet", str(f), "--region", "330100",
                          "--as", "carol", "--format", "json"], env=stack.env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert set(out) == {"rows", "refused", "drafts"} and len(out["drafts"]) == 4
    assert out["refused"][0] == {"row": 7, "column": "實施主體",
                                 "reason": "no unit named '潍坊市不存在局' in the staffing data"}


def test_roster_through_the_cli_echoes_no_identity_number(stack, tmp_path):
    asyncio.run(fresh(stack, R.seed))
    f = tmp_path / "roster.xlsx"
    f.write_bytes(R.workbook())
    env = {**stack.env, "SHENPI_IDENTITY_KEY": R.KEY.decode()}
    run = subprocess.run([sys.executable, "-m", "shenpi", "org", "import-sheet", str(f), "--as-of", "2025-01-01",
                          "--format", "json"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert {"rows", "refused", "proposal_id"} <= set(out) and out["rows"] == {"accepted": 3, "unchanged": 1,
                                                                              "refused": 3}
    assert out["proposal_id"] and out["proposals"][0]["proposal_id"] == out["proposal_id"]
    kinds = sorted(c["kind"] for p in out["proposals"] for c in p["changes"])
    assert kinds == ["staff_in", "staff_moved", "staff_moved", "staff_out"]
    assert R.BAD not in run.stdout + run.stderr and R.idn(8) not in run.stdout + run.stderr
    logs = "".join(p.read_text(errors="replace") for p in stack.logs.glob("*.log"))
    assert R.BAD not in logs


def _sheet(data: bytes):
    import io

    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in ws[5]]
    return ws, header, [dict(zip(header, (c for c in r))) for r in ws.iter_rows(min_row=6)]


async def test_tables_as_workbooks_from_the_api_and_the_cli(stack, tmp_path):
    await fresh(stack, R.seed, L.seed)
    async with aiohttp.ClientSession() as s:
        async with s.get(stack.url + "/api/v1/org/figures?as_of=2025-01-01&format=xlsx") as r:
            assert r.status == 200 and r.content_type.endswith("spreadsheetml.sheet")
            ws, header, rows = _sheet(await r.read())
        async with s.get(stack.url + "/api/v1/list/items?format=xlsx") as r:
            assert r.status == 200
            _, list_header, items = _sheet(await r.read())
        async with s.get(stack.url + "/api/v1/indicators?format=xlsx&group_by=region_code") as r:
            assert r.status == 200
            _, ind_header, _ = _sheet(await r.read())
    assert ws.freeze_panes == "A6" and ws["A2"].value == "筛选：截至=2025-01-01"
    byunit = {(r["单位代码"].value, r["编制类型"].value): r for r in rows}
    a = byunit[(R.A, "行政")]
    assert a["单位"].value == "潍坊市审批服务局", "the name beside the code"
    assert a["核定"].value == 10 and a["实有"].value == 2 and a["使用率"].value == 0.2
    assert a["使用率"].number_format == "0.0%"
    assert {i["事项编码"].value: i["名称"].value for i in items}["SC-1"] == "食品经营许可"
    assert {i["事项编码"].value: i["部门"].value for i in items}["QX-1"] == "奎文区市场监督管理局"
    assert {"区划代码", "收件量" if "收件量" in ind_header else ind_header[2]} <= set(ind_header)
    out = tmp_path / "findings.xlsx"
    run = subprocess.run([sys.executable, "-m", "shenpi", "org", "check", "--as-of", "2025-01-01", "--format", "xlsx",
                          "--output", str(out)], env=stack.env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    _, fheader, findings = _sheet(out.read_bytes())
    assert {f["类型"].value for f in findings} >= {"mixed_use"} and "单位" in fheader
    run = subprocess.run([sys.executable, "-m", "shenpi", "org", "figures", "--format", "xlsx"], env=stack.env,
                         capture_output=True, text=True)
    assert run.returncode != 0 and "--output" in run.stderr
