"""A day in the console over a loaded city, by role. Every page walked from the menu by every role: each page the
menu offers opens, and a page in Chinese shows no English word and no raw key (the words are in
web/console/i18n.py). Work started from the console (an evaluation, a manual score, a rectification task, units by
name) and the evidence read by who verifies (text shown, files downloadable, only of accepted types and sizes). In
Chromium: a supervisor's, a county viewer's and two list administrators' day; pages fit a 390 px phone."""
from __future__ import annotations

from typing import Any

import base64
import html
import os
import re
import urllib.parse
from html.parser import HTMLParser

import aiohttp
import asyncpg
import pytest

from core.names import region_name
from tests.conftest import guarded_api
from tests.console.test_browser import CHROMIUM, FLAGS, SHOTS, sign_in

pytestmark = pytest.mark.broker
ROLES = (("市督查", "supervisor", "330100"), ("县查看", "viewer", "330102"), ("清单管理", "list_admin", ""),
         ("管理员甲", "admin", ""))
OTHERS = (("整改人", "viewer", "330106"), ("清单管理乙", "list_admin", ""))  # the task's county; a second drafter
PASSWORD = "day-password-1"
# what may stay Latin on a Chinese page: names of formats and hashes, the other language's own name
ALLOWED = {"PDF", "SHA", "English", "CSV", "xlsx", "Excel", "Word", "PROBE", "CASE", "DEMAND", "probe"}  # and the test city's case and demand ids, a task
PAGES_PER_ROLE, PER_ROUTE = 45, 2


class _Page(HTMLParser):
    """A page's visible text (no script or style, no attributes) and its links."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._skip = 0
        self._closing: list[str] = []  # the skipped tags open, "" for one of their name nested inside

    def handle_starttag(self, tag, attrs):
        # no prose: scripts, styles, an editor's JSON, and text marked as another language's (lang="en")
        if tag in ("script", "style", "textarea") or (dict(attrs).get("lang") or "").startswith("en"):
            self._skip += 1
            self._closing.append(tag)
        elif tag in self._closing:
            self._closing.append("")  # the same tag nested inside a skipped one: its end is not the skip's end
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)

    def handle_endtag(self, tag):
        if tag in self._closing:
            i = len(self._closing) - 1 - self._closing[::-1].index(tag)
            if any(x == "" for x in self._closing[i + 1:]):
                self._closing.pop(next(j for j in range(len(self._closing) - 1, i, -1) if self._closing[j] == ""))
            else:
                self._closing.pop(i)
                self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def english(text: str) -> list[str]:
    # data, not words: hashes (hex runs) and file names as the person gave them
    text = re.sub(r"\b[0-9a-f]{16,}\b|[\w.\-]+\.(?:txt|pdf|docx?|wps|png|jpe?g|tiff?|xlsx?|csv)\b", " ", text)
    words = re.findall(r"[A-Za-z][A-Za-z_.]{2,}", text)
    return [w for w in words if w.strip(".") not in ALLOWED]


async def _people(dsn: str) -> dict[str, str]:
    """The users of the day, written as `shenpi users add` writes them (one password hash for all: argon2 is slow)."""
    import secrets

    from argon2 import PasswordHasher

    from web.auth import token_digest

    hashed, tokens = PasswordHasher().hash(PASSWORD), {}
    conn = await asyncpg.connect(dsn)
    try:
        for name, role, region in ROLES + OTHERS:
            tokens[name] = secrets.token_urlsafe(32)
            await conn.execute("INSERT INTO app_user (name, role, region_scope, password_hash, token_digest)"
                               " VALUES ($1, $2, $3, $4, $5)", name, role, region, hashed, token_digest(tokens[name]))
    finally:
        await conn.close()
    return tokens


@pytest.fixture(scope="module")
def city(stack, tmp_path_factory):
    import asyncio

    from tests.api.test_route_table import _other_county

    proc, url, _ = guarded_api(stack, tmp_path_factory.mktemp("crawl"))
    data = asyncio.run(_other_county(stack))
    tokens = asyncio.run(_people(stack.settings.database_url))

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


async def _walk(s: aiohttp.ClientSession, url: str) -> tuple[dict, list]:
    """Breadth first from the menu: each page's status and the English found on it."""
    from web.console.pages import NAV

    async with s.get(url + "/") as r:
        first = _Page()
        first.feed(await r.text())
    menu = [h for h in first.links if h in {href for href, _ in NAV}]
    queue, found = ["/"] + menu, []
    seen: dict[str, Any] = {}
    routes: dict[str, Any] = {}
    while queue and len(seen) < PAGES_PER_ROLE:
        path = queue.pop(0)
        route = re.sub(r"/[^/]*[0-9][^/]*$", "/{x}", path.split("?")[0])
        if path in seen or path.startswith(("/api/", "/static", "/logout", "/console/")) or "lang=" in path \
                or routes.get(route, 0) >= PER_ROUTE:
            continue
        routes[route] = routes.get(route, 0) + 1
        async with s.get(url + path, allow_redirects=False) as r:
            seen[path] = r.status
            if r.status != 200 or not r.content_type.startswith("text/html"):
                continue
            page = _Page()
            page.feed(await r.text())
        words = english(html.unescape(" ".join(page.text)))
        if words:
            found.append((path, sorted(set(words))[:12]))
        queue += [urllib.parse.urljoin(path, h) for h in page.links if h.startswith(("/", "?"))]
    return {p: seen.get(p) for p in menu}, found


async def test_every_role_opens_its_menu_and_reads_only_chinese(city):
    url, tokens, _ = city
    failures = {}
    for name, role, _ in ROLES:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {tokens[name]}"},
                                         cookies={"lang": "zh"}) as s:
            menu, found = await _walk(s, url)
        assert len(menu) >= 5, (role, menu)
        refused = {p: st for p, st in menu.items() if st != 200}
        if refused or found:
            failures[role] = (refused, found)
    import pprint
    assert not failures, pprint.pformat(failures, width=200)


async def test_the_english_page_is_english(city):
    url, tokens, _ = city
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {tokens['管理员甲']}"}) as s:
        async with s.get(url + "/rectifications?lang=en") as r:
            text = await r.text()
    assert "Rectification" in text and "整改" not in text.split("</header>", 1)[1]


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


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
    async with _as(tokens["县查看"]) as s:
        async with s.get(url + f"/rectifications/{task}/evidence/{files[0]['id']}") as r:
            assert r.status == 404


async def fits_a_phone(browser, cookies, url: str, path: str, shot: str = "") -> None:
    phone = await browser.new_page(viewport={"width": 390, "height": 844})
    await phone.context.add_cookies(cookies)
    resp = await phone.goto(url + path)
    assert resp.status == 200, (path, resp.status)
    width = await phone.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 391, f"{path} is {width} px wide on a 390 px phone"
    if shot:
        await phone.screenshot(path=str(SHOTS / shot), full_page=True)
    await phone.close()


@pytest.mark.slow
async def test_a_day_in_chromium(city):
    SHOTS.mkdir(parents=True, exist_ok=True)
    from playwright.async_api import async_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (infra/local/setup.sh installs it)")
    url, _, data = city
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        sup = await browser.new_page(viewport={"width": 1366, "height": 768})
        await sign_in(sup, url, "市督查", PASSWORD, path="/alerts")
        assert "告警" in await sup.title()
        menu = await sup.locator("header a").all_text_contents()
        assert "清单草稿" not in menu and "告警" in menu, menu
        # an evaluation, by the unit's name, over a period given by its last day
        await sup.goto(url + "/evaluations")
        await sup.fill("form.start input[name=unit]", data["unit_name"])
        await sup.fill("form.start input[name=from]", "2026-01-01")
        await sup.fill("form.start input[name=last]", "2026-11-30")
        async with sup.expect_navigation():
            await sup.click("form.start button")
        assert "2026-01-01 至 2026-11-30" in await sup.content()
        evaluation = sup.url[len(url):]
        await sup.screenshot(path=str(SHOTS / "evaluation.png"), full_page=True)
        # a rectification task from the evaluation's page (its unit filled in)
        await sup.fill("form[action='/console/rectifications'] input[name=text]", "补齐内设机构批准文件")
        async with sup.expect_navigation():
            await sup.click("form[action='/console/rectifications'] button")
        task = sup.url[len(url):]
        assert task.startswith("/rectifications/")

        viewer = await browser.new_page(viewport={"width": 1366, "height": 768})
        await sign_in(viewer, url, "整改人", PASSWORD, path=task)
        async with viewer.expect_navigation():
            await viewer.click("form[action$='/start'] button")
        await viewer.fill("form[action$='/submit'] input[name=text]", "已报批，批文见附件")
        async with viewer.expect_navigation():
            await viewer.click("form[action$='/submit'] button")
        assert await viewer.locator("form[action$='/verify']").count() == 0, "the submitter may not verify"
        assert "已报批，批文见附件" in await viewer.content()

        await sup.goto(url + task)
        assert "已报批，批文见附件" in await sup.content(), "the verifier reads the evidence"
        async with sup.expect_navigation():
            await sup.click("form[action$='/verify'] button")
        assert "已验证" in await sup.content()
        await sup.screenshot(path=str(SHOTS / "rectification.png"), full_page=True)
        cookies = await sup.context.cookies()
        for path, shot in ((evaluation, "evaluation-phone.png"), (task, ""), ("/rectifications", ""),
                           ("/org", "org-phone.png"), ("/org/findings", ""), (f"/org/units/{data['unit']}", ""),
                           ("/alerts", ""), ("/analysis", ""), ("/compare", ""), ("/", ""), ("/list", ""),
                           ("/drill", ""), ("/public", ""), ("/public/org", ""), ("/public/figures", ""),
                           (f"/public/org/{data['unit']}", "public-unit-phone.png")):
            await fits_a_phone(browser, cookies, url, path, shot)
        await sup.goto(url + "/org/findings")
        await sup.screenshot(path=str(SHOTS / "findings.png"), full_page=True)

        la1 = await browser.new_page(viewport={"width": 1366, "height": 768})
        await sign_in(la1, url, "清单管理", PASSWORD, path="/drafts")
        await la1.fill("form.draft input[name=item_code]", "DAY-NEW-1")
        await la1.fill("form.draft input[name=name]", "临时占道审批")
        await la1.select_option("form.draft select[name=category]", "行政許可")
        await la1.fill("form.draft input[name=department_code]", data["unit_name"])  # by name
        await la1.fill("form.draft input[name=region_codes]", region_name("330106"))
        await la1.select_option("form.draft select[name=level]", "county")
        await la1.fill("form.draft input[name=effective_at]", "2026-12-31")
        async with la1.expect_navigation():
            await la1.click("form.draft button")
        mine = la1.locator("tr", has_text="DAY-NEW-1")
        assert await mine.count() == 1, await la1.text_content("main")
        assert await mine.locator("form[action$='/approve']").count() == 0
        async with la1.expect_navigation():
            await mine.locator("a").first.click()
        assert data["unit"] in await la1.content() and "西湖区" in await la1.text_content("main")  # names, codes on hover
        await la1.goto(url + "/drafts")
        await fits_a_phone(browser, await la1.context.cookies(), url, "/drafts")
        la2 = await browser.new_page(viewport={"width": 1366, "height": 768})
        await sign_in(la2, url, "清单管理乙", PASSWORD, path="/drafts")
        assert await la2.locator("tr", has_text="DAY-NEW-1").locator("form[action$='/approve']").count() == 1
        await la2.screenshot(path=str(SHOTS / "drafts-review.png"), full_page=True)
        await browser.close()
