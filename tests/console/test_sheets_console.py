"""The console's workbook pages: a list administrator uploads the list, sees the report per row and goes on to the
drafts; a form without its CSRF token is refused; the tables carry their download button."""
from __future__ import annotations

import re
import subprocess
import sys

import aiohttp
import pytest

from tests.api.test_sheets_api import fresh
from tests.streams import test_list_sheet as L

pytestmark = pytest.mark.broker


async def signed_in(stack, name: str, role: str) -> aiohttp.ClientSession:
    env = {**stack.env, "SHEET_PW": "sheet-password-1"}
    run = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", name, "--role", role, "--password-env",
                          "SHEET_PW"], env=env, capture_output=True, text=True)
    assert run.returncode == 0 or "exists" in run.stderr, run.stderr
    s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with s.get(stack.url + "/login") as r:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
    async with s.post(stack.url + "/login", data={"csrf": csrf, "name": name, "password": "sheet-password-1"},
                      allow_redirects=False) as r:
        assert r.status in (302, 303), await r.text()
    return s


async def test_upload_the_list_see_the_rows_and_go_on_to_the_drafts(stack):
    await fresh(stack, L.seed)
    s = await signed_in(stack, "sheetadmin", "list_admin")
    try:
        async with s.get(stack.url + "/sheets") as r:
            page = await r.text()
        assert r.status == 200 and 'enctype="multipart/form-data"' in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)

        def form(with_csrf: bool) -> aiohttp.FormData:
            f = aiohttp.FormData()
            if with_csrf:
                f.add_field("csrf", csrf)
            f.add_field("region", "330100")
            f.add_field("file", L.workbook(), filename="清单.xlsx")
            return f
        async with s.post(stack.url + "/console/list/import-sheet", data=form(False)) as r:
            assert r.status == 403
        async with s.post(stack.url + "/console/list/import-sheet", data=form(True)) as r:
            report = await r.text()
        assert r.status == 200, report
        assert "接受 <strong>2</strong>" in report and "无变化 <strong>2</strong>" in report
        assert "拒绝 <strong>3</strong>" in report and "潍坊市不存在局" in report and "實施主體" in report
        drafts = re.findall(r'href="/drafts/([0-9a-f]{16})"', report)
        assert len(drafts) == 4
        async with s.get(f"{stack.url}/drafts/{drafts[0]}") as r:
            assert r.status == 200
        async with s.get(stack.url + "/list") as r:
            assert "/api/v1/list/items?active=true&amp;format=xlsx" in await r.text()
        async with s.get(stack.url + "/drill?region=330100") as r:
            link = re.search(r'href="(/api/v1/indicators\?[^"]+)"', await r.text()).group(1).replace("&amp;", "&")
        assert "group_by=region_code%2Cdepartment_code" in link and "format=xlsx" in link
        async with s.get(stack.url + link) as r:
            assert r.status == 200 and r.content_type.endswith("spreadsheetml.sheet")
    finally:
        await s.close()


async def test_upload_a_roster_and_go_on_to_its_proposal(stack):
    from tests.streams import test_roster_sheet as R

    await fresh(stack, R.seed)
    s = await signed_in(stack, "sheetstaff", "staffing_admin")
    try:
        async with s.get(stack.url + "/sheets") as r:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
        f = aiohttp.FormData()
        f.add_field("csrf", csrf)
        f.add_field("as_of", "2025-01-01")
        f.add_field("file", R.workbook(), filename="名册.xlsx")
        async with s.post(stack.url + "/console/org/import-sheet", data=f) as r:
            report = await r.text()
        assert r.status == 200, report
        assert "接受 <strong>3</strong>" in report and "拒绝 <strong>3</strong>" in report
        assert R.BAD not in report and R.idn(8) not in report
        (pid,) = re.findall(r'href="/org/proposals/([0-9a-f]{16})"', report)
        async with s.get(f"{stack.url}/org/proposals/{pid}") as r:
            assert r.status == 200 and R.BAD not in await r.text()
    finally:
        await s.close()
