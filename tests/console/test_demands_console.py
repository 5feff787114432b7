"""Linking a demand by hand in a real browser (Debian's chromium driven by Playwright): a county supervisor picks the
item by name in the other script and sees the link with who and when, on the demand's page and the item's page; an
item of another county is refused in words; a viewer sees no button and is refused in words; the API does the same
within the caller's regions."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import aiohttp
import asyncpg
import pytest

from schemas import parse_list_change
from schemas.demands import parse_demand
from streams.cases.reach import apply_list_changes
from streams.demands.store import apply_demands
from tests.conftest import TOKEN, guarded_api, truncate_all
from tests.console.test_browser import CHROMIUM, FLAGS, SHOTS, sign_in

pytestmark = pytest.mark.broker
PW = "demands-password-1"


def _item(code: str, name: str, regions: list[str]):
    change, refusal = parse_list_change({
        "change_id": f"c-{code}", "item_code": code, "action": "added", "name": name, "category": "行政许可",
        "effective_at": "2020-01-01T00:00:00+08:00", "department_code": "SCJG", "level": "county",
        "region_codes": regions})
    assert refusal is None, refusal
    return change


def _demand(i: str, region: str, text: str):
    d, refusal = parse_demand({"demand_id": i, "received_at": "2026-03-02T10:00:00+08:00", "channel": "12345热线",
                               "kind": "投诉", "region_code": region, "text": text}, b"k")
    assert refusal is None, refusal
    return d


@pytest.fixture(scope="module")
def console(stack, tmp_path_factory):
    truncate_all(stack.settings.database_url)
    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("demands-console"), DEM_PW=PW)
    tokens = {}
    for name, role in (("dsup", "supervisor"), ("dview", "viewer")):
        out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", name, "--role", role, "--region",
                              "330102", "--password-env", "DEM_PW"], env=env, check=True, capture_output=True, text=True)
        tokens[name] = out.stdout.strip().splitlines()[-1]
    asyncio.run(_seed(stack.settings.database_url))
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield url, tokens
    proc.terminate()
    proc.wait(10)


async def _seed(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await apply_list_changes(conn, [_item("IT-FOOD", "食品经营许可", ["330102"]),
                                        _item("IT-WEST", "西湖游船许可", ["330106"])])
        await apply_demands(conn, [(d.demand_id, d) for d in (
            _demand("DM-1", "330102", "路灯坏了一个月没人修，电话打了好几次"),
            _demand("DM-2", "330106", "路灯坏了一个月没人修"))], 0.3)
    finally:
        await conn.close()


async def _link_of(dsn: str, demand_id: str):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow("SELECT link_item, link_how, linked_by, linked_at FROM demand WHERE demand_id = $1",
                                   demand_id)
    finally:
        await conn.close()


async def test_a_supervisor_links_by_name_a_viewer_may_not(stack, console):
    from playwright.async_api import async_playwright

    url, tokens = console
    dsn = stack.settings.database_url
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await sign_in(page, url, "dsup", PW, path="/demands?from=2026-03-01&to=2026-04-01&unlinked=1")
        assert "DM-2" not in await page.content(), "a demand of another county is not shown"
        async with page.expect_navigation():
            await page.click('a[href="/demands/DM-1"]:text("未关联")')  # the link column says so, and leads there
        assert await page.locator('datalist#items option[value="食品经营许可"]').count() == 1
        assert await page.locator('datalist#items option[value="西湖游船许可"]').count() == 0, "not in force here"
        await page.fill("input[name=item]", "西湖遊船許可")  # typed anyway: refused in words
        async with page.expect_navigation():
            await page.click("form.start button")
        assert "找不到该事项" in await page.content()
        assert (await _link_of(dsn, "DM-1"))["link_item"] is None
        await page.goto(url + "/demands/DM-1")
        await page.fill("input[name=item]", "食品經營許可")  # the name in the other script
        async with page.expect_navigation():
            await page.click("form.start button")
        assert page.url == url + "/demands/DM-1"
        text = await page.text_content("main")
        assert "食品经营许可" in text and "人工关联" in text and "dsup" in text and "更正关联" in text
        row = await _link_of(dsn, "DM-1")
        assert (row["link_item"], row["link_how"], row["linked_by"]) == ("IT-FOOD", "manual", "dsup")
        assert row["linked_at"] is not None
        assert await page.evaluate("document.scrollingElement.scrollWidth") <= 391, "no sideways scroll on a phone"
        await page.screenshot(path=str(SHOTS / "demand.png"), full_page=True)
        async with page.expect_navigation():
            await page.click('main a[href="/items/IT-FOOD"]')
        text = await page.text_content("main")
        assert "食品经营许可" in text and "行政许可" in text and "路灯坏了一个月没人修" in text and "人工关联" in text
        assert await page.evaluate("document.scrollingElement.scrollWidth") <= 391
        await page.screenshot(path=str(SHOTS / "item.png"), full_page=True)

        viewer = await (await browser.new_context()).new_page()
        await sign_in(viewer, url, "dview", PW, path="/demands/DM-1")
        assert await viewer.locator("form.start").count() == 0, "no button for a role that may not link"
        assert "人工关联由监督人员或清单管理员办理" in await viewer.text_content("main")
        csrf = await viewer.get_attribute('form[action="/logout"] input[name=csrf]', "value")
        refused = await viewer.evaluate(
            """async (csrf) => { const r = await fetch('/console/demands/DM-1/link', {method: 'POST',
                 headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                 body: 'csrf=' + csrf + '&item=IT-FOOD'}); return [r.status, await r.text()]; }""", csrf)
        assert refused[0] == 403 and "您的角色无权执行此操作" in refused[1]
        await browser.close()
    assert (await _link_of(dsn, "DM-1"))["linked_by"] == "dsup"


async def test_the_api_links_within_the_callers_regions(stack, console):
    url, tokens = console
    dsn = stack.settings.database_url

    async def post(token: str, demand_id: str, item: str) -> tuple[int, str]:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as s:
            async with s.post(f"{url}/api/v1/demands/{demand_id}/link", json={"item": item}) as r:
                return r.status, await r.text()

    assert (await post(tokens["dsup"], "DM-2", "IT-WEST"))[0] == 404  # another county's demand
    status, text = await post(tokens["dsup"], "DM-1", "IT-WEST")
    assert status == 400 and "no such item in force" in text
    assert (await post(tokens["dview"], "DM-1", "IT-FOOD"))[0] == 403
    assert (await post(TOKEN, "DM-1", "IT-FOOD"))[0] == 403, "the platform's token is no person"
    status, text = await post(tokens["dsup"], "DM-1", "IT-FOOD")
    assert status == 200 and '"linked_by": "dsup"' in text.replace('":"', '": "'), text
    assert (await _link_of(dsn, "DM-1"))["link_how"] == "manual"
