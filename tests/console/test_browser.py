"""The console and the public portal in a real browser (Debian's chromium driven by Playwright): sign-in, the
scope enforced by URL and API, a live figure changing when events arrive, acknowledging an alert, public search.
Each page's screenshot goes to docs/screenshots."""
from __future__ import annotations

import asyncio
import os
import tempfile
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import psycopg
import pytest

from core.tz import TZ
from tests.conftest import TOKEN, guarded_api, truncate_all, wait_processed

pytestmark = pytest.mark.broker
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# screenshots go to a temporary folder unless asked for (SHENPI_SCREENSHOTS=docs/screenshots refreshes the README's)
SHOTS = Path(os.environ.get("SHENPI_SCREENSHOTS") or tempfile.mkdtemp(prefix="shenpi-shots-"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def console(stack, tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (infra/local/setup.sh installs it)")
    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("console"), ADMIN_PW="admin-password-1",
                                 COUNTY_PW="county-password")
    for name, role, region, pw in (("admin1", "admin", "", "ADMIN_PW"), ("county1", "viewer", "330102", "COUNTY_PW"),
                                   ("la1", "list_admin", "", "ADMIN_PW"), ("la2", "list_admin", "", "ADMIN_PW")):
        subprocess.run([sys.executable, "-m", "shenpi", "users", "add", name, "--role", role, "--password-env", pw,
                        *(["--region", region] if region else [])], env=env, check=True, capture_output=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield url
    proc.terminate()
    proc.wait(10)


async def post_events(stack, events):
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:
        async with s.post(stack.url + "/api/v1/case-events", json=events) as r:
            wait_processed(stack.settings.database_url, (await r.json())["batches"], [])


def today_case(cid: str, region: str) -> list[dict]:
    now = datetime.now(TZ).isoformat()
    return [{"event_id": f"{cid}-s", "case_id": cid, "type": "submitted", "occurred_at": now, "item_code": "UI-1",
             "region_code": region, "department_code": "D-UI", "channel": "online"}]


async def sign_in(page, url: str, name: str, password: str, ok: bool = True, path: str = "/") -> None:
    """A deep link asks for sign-in and, once signed in, lands where it pointed."""
    await page.goto(url + path)
    assert "/login?next=" in page.url, "a page needs a signed-in user"
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert page.url == url + path if ok else "/login" in page.url, page.url


async def test_the_console_and_the_portal_in_a_browser(stack, console):
    from playwright.async_api import async_playwright

    url = console
    await post_events(stack, today_case("ui-other", "330106"))
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await sign_in(page, url, "county1", "wrong-password", ok=False)
        assert "用户名或密码不对" in await page.content()  # simplified Chinese by default
        await sign_in(page, url, "county1", "county-password")
        before = await page.text_content('[data-k="received"]')
        await post_events(stack, today_case(f"ui-{time.time_ns()}", "330102"))
        for _ in range(60):  # pushed by server-sent events, no reload
            if await page.text_content('[data-k="received"]') != before:
                break
            await asyncio.sleep(0.25)
        else:
            raise AssertionError("the live figure did not change")
        # the tile and the region table come from one message: they agree
        cells = await page.locator("table.live tbody tr td:nth-child(2)").all_text_contents()
        assert sum(int(c.replace(",", "")) for c in cells) == int((await page.text_content('[data-k="received"]'))
                                                                  .replace(",", ""))
        await asyncio.sleep(0.5)  # the chart redrawn
        await page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)
        assert await page.locator(".card").count() == 17, "the 14 indicators and the 3 guard figures"
        shown = int((await page.text_content('[data-k="received"]')).replace(",", ""))
        async with page.expect_navigation():
            await page.click('a.card:has([data-k="received"])')
        assert f": {shown:,}" in await page.text_content("main p strong"), "the list is as long as the figure"
        await page.screenshot(path=str(SHOTS / "cases.png"), full_page=True)
        await page.goto(url + "/drill")  # any number on a page: the drill's too
        cell = page.locator("main table tbody tr:first-child td:nth-child(2) a")
        number = int((await cell.text_content()).replace(",", ""))
        async with page.expect_navigation():
            await cell.click()
        assert f": {number:,}" in await page.text_content("main p strong")
        async with page.expect_navigation():
            await page.click("main table tbody tr:first-child a")
        assert "收件" not in (await page.title()) and "原因" in await page.content()  # a case page with its reasons
        await page.screenshot(path=str(SHOTS / "case.png"), full_page=True)
        resp = await page.goto(url + "/?window=month")
        assert resp.status == 200 and "本月" in await page.content()
        resp = await page.goto(url + "/cases/no-such-case")
        assert resp.status == 404 and "找不到" in await page.content() and "返回" in await page.content()
        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await phone.context.add_cookies(await page.context.cookies())
        await phone.goto(url + "/")
        assert await phone.locator(".card").count() == 17
        assert await phone.evaluate("document.scrollingElement.scrollWidth") <= 391, "no sideways scroll on a phone"
        await phone.screenshot(path=str(SHOTS / "overview-phone.png"), full_page=True)
        await page.goto(url + "/")
        # the scope holds by URL and by API, not just in menus
        resp = await page.goto(url + "/drill?region=330106")
        assert resp.status == 403
        resp = await page.goto(url + "/cases/ui-other")
        assert resp.status == 404
        api = await page.request.get(url + "/api/v1/indicators?group_by=region_code")
        assert {r["region_code"] for r in (await api.json())["rows"]} <= {"330102", "330102001"}
        assert (await page.request.get(url + "/api/v1/status")).status == 403
        await page.goto(url + "/drill")
        await page.screenshot(path=str(SHOTS / "drilldown.png"), full_page=True)

        with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
            c.execute("DELETE FROM alert_state WHERE rule IN ('ui-rule', 'overdue-cases')")
            c.execute("INSERT INTO alert_state (rule, group_key, status, severity, since, fired_at)"
                      " VALUES ('ui-rule', 'all', 'firing', 'critical', now(), now()),"
                      " ('ui-rule', 'region_code=330102,level=county', 'firing', 'critical', now(), now()),"
                      " ('overdue-cases', 'department_code=D-UI', 'firing', 'warning', now(), now())")
        admin = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await sign_in(admin, url, "admin1", "admin-password-1", path="/alerts")
        grouped = admin.locator("tr", has_text="ui-rule").filter(has_text="330102")  # the code only on hover
        assert await grouped.count() == 0
        assert "上城区" in await admin.locator("tr", has_text="ui-rule").nth(1).text_content()
        assert "县级" in await admin.locator("tr", has_text="ui-rule").nth(1).text_content()
        # a shipped rule by its summary, in the reader's script (the rule's name on hover)
        assert await admin.locator("tr", has_text="超期超过3个工作日的在办件").count() == 1
        row = admin.locator("tr", has_text="ui-rule").first
        await row.locator("form[action$='/ack'] button").click()
        await admin.wait_for_url(url + "/alerts")
        assert "admin1" in await admin.locator("tr", has_text="ui-rule").first.text_content()
        await admin.screenshot(path=str(SHOTS / "alerts.png"), full_page=True)
        forged = await admin.request.post(url + "/console/alerts/1/ack", form={"csrf": "forged"})
        assert forged.status == 403, "a form without the page's CSRF token is refused"

        public = await browser.new_page()
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:
            async with s.post(stack.url + "/api/v1/list-changes", json=[{
                    "change_id": "ui-add", "item_code": "UI-PUB-1", "action": "added", "name": "公共場所衛生許可",
                    "category": "行政許可", "effective_at": "2024-01-01T00:00:00+08:00", "department_code": "D-WS",
                    "level": "county", "region_codes": ["330102"]}]) as r:
                assert r.status == 200
        for _ in range(100):
            await public.goto(url + "/public?q=" + "卫生")  # simplified finds traditional
            if "UI-PUB-1" in await public.content():
                break
            await asyncio.sleep(0.1)
        assert "UI-PUB-1" in await public.content()
        await public.screenshot(path=str(SHOTS / "public.png"), full_page=True)
        await browser.close()


async def test_the_comparison_page_marks_a_worse_region(stack, console):
    from playwright.async_api import async_playwright

    now = datetime.now(TZ)
    events = []
    for region, hours in (("330102", 1), ("330105", 1), ("330106", 1), ("330108", 1), ("330110", 9)):
        for k in range(21):
            cid = f"cmp-{region}-{k}-{time.time_ns()}"
            t0 = now.replace(hour=0, minute=1)
            events += [{"event_id": f"{cid}-s", "case_id": cid, "type": "submitted", "occurred_at": t0.isoformat(),
                        "item_code": "UI-CMP", "region_code": region, "department_code": "D-UI", "channel": "online"},
                       {"event_id": f"{cid}-a", "case_id": cid, "type": "accepted", "occurred_at": t0.isoformat()},
                       {"event_id": f"{cid}-c", "case_id": cid, "type": "completed", "outcome": "approved",
                        "occurred_at": (t0 + timedelta(minutes=hours * 60 // 10)).isoformat()}]
    await post_events(stack, events)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await sign_in(page, console, "admin1", "admin-password-1")
        await page.goto(console + "/compare?item=UI-CMP")
        worse = page.locator("tr", has_text="余杭区").locator("span.bad")  # 330110, by its name
        assert await worse.count() >= 1, await page.content()
        assert await page.locator("tr", has_text="上城区").locator("span.bad").count() == 0
        await page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)
        await browser.close()


async def test_a_list_administrator_drafts_sees_the_overlap_and_a_second_approves(stack, console):
    from playwright.async_api import async_playwright

    # a list of the test's own: items other tests left with the same name would fill the five warnings shown
    truncate_all(stack.settings.database_url)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:
        async with s.post(stack.url + "/api/v1/list-changes", json=[{
                "change_id": "ui-dr-base", "item_code": "UI-DR-BASE", "action": "added", "name": "食品經營許可",
                "category": "行政許可", "effective_at": "2024-01-01T00:00:00+08:00", "department_code": "D-SC",
                "level": "county", "region_codes": ["330102"]}, {  # the drafting department, known to the list
                "change_id": "ui-dr-ms", "item_code": "UI-DR-MS", "action": "added", "name": "戶外廣告設置審批",
                "category": "行政許可", "effective_at": "2024-01-01T00:00:00+08:00", "department_code": "D-MS",
                "level": "county", "region_codes": ["330102"]}]) as r:
            assert r.status == 200
    for _ in range(600):  # the worker has put the item on the list (else the test fails here, not below)
        with psycopg.connect(stack.settings.database_url) as c:
            if c.execute("SELECT count(*) FROM list_item_version WHERE item_code IN ('UI-DR-BASE', 'UI-DR-MS')"
                         ).fetchone()[0] == 2:
                break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the base item never reached the list")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        first = await browser.new_page(viewport={"width": 1366, "height": 900})
        await sign_in(first, console, "la1", "admin-password-1", path="/drafts")
        await first.fill("input[name=item_code]", "UI-DR-NEW")
        await first.fill("input[name=name]", "食品经营许可证核发")  # simplified, against a traditional name
        await first.select_option("select[name=category]", "行政許可")
        await first.fill("input[name=department_code]", "D-NOWHERE")  # a department nobody knows: refused
        await first.fill("input[name=region_codes]", "330102")
        await first.select_option("select[name=level]", "county")
        await first.fill("input[name=effective_at]", "2024-06-01")
        async with first.expect_navigation():
            await first.click("form.draft button")
        assert "找不到该部门" in await first.content()
        await first.goto(console + "/drafts")
        await first.fill("input[name=item_code]", "UI-DR-NEW")
        await first.fill("input[name=name]", "食品经营许可证核发")
        await first.select_option("select[name=category]", "行政許可")
        await first.fill("input[name=department_code]", "D-MS")  # a department the list knows, by its code
        await first.fill("input[name=region_codes]", "330102")
        await first.select_option("select[name=level]", "county")
        await first.fill("input[name=effective_at]", "2024-06-01")
        async with first.expect_navigation():
            await first.click("form.draft button")
        row = first.locator("tr", has_text="UI-DR-NEW")
        assert "UI-DR-BASE" in await row.text_content(), "the overlap warning names the item it resembles"
        await first.screenshot(path=str(SHOTS / "drafts.png"), full_page=True)
        second = await browser.new_page(viewport={"width": 1366, "height": 900})
        await sign_in(second, console, "la2", "admin-password-1", path="/drafts")
        async with second.expect_navigation():
            await second.locator("tr", has_text="UI-DR-NEW").locator("form[action$='/approve'] button").click()
        assert "已发布" in await second.locator("tr", has_text="UI-DR-NEW").text_content()
        async with second.expect_navigation():
            await second.click("a:text('UI-DR-NEW')")
        for _ in range(50):  # the trail reaches the platform's acknowledgement
            if "平台已确认" in await second.content():
                break
            await asyncio.sleep(0.2)
            await second.reload()
        assert "平台已确认" in await second.content()
        await second.screenshot(path=str(SHOTS / "draft-trail.png"), full_page=True)
        await browser.close()
