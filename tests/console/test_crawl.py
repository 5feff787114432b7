"""Every console page, walked by every role from its menu over a loaded city: each page the menu offers opens, and a
page in Chinese shows no English word and no raw key (the words are in web/console/i18n.py)."""
from __future__ import annotations

import html
import re
import subprocess
import sys
import urllib.parse
from html.parser import HTMLParser

import aiohttp
import pytest

from tests.conftest import guarded_api

pytestmark = pytest.mark.broker
ROLES = (("市督查", "supervisor", "330100"), ("县查看", "viewer", "330102"), ("清单管理", "list_admin", ""),
         ("管理员甲", "admin", ""))
# what may stay Latin on a Chinese page: names of formats and hashes, the other language's own name
ALLOWED = {"PDF", "SHA", "English", "CSV", "xlsx", "PROBE", "CASE", "probe"}  # and the test city's case id, a task
PAGES_PER_ROLE, PER_ROUTE = 60, 2


class _Page(HTMLParser):
    """A page's visible text (no script or style, no attributes) and its links."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def english(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z_.]{2,}", text)
    return [w for w in words if w.strip(".") not in ALLOWED]


@pytest.fixture(scope="module")
def city(stack, tmp_path_factory):
    import asyncio

    from tests.api.test_route_table import _other_county

    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("crawl"))
    data = asyncio.run(_other_county(stack))
    tokens = {}
    for name, role, region in ROLES:
        out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", name, "--role", role,
                              *(["--region", region] if region else [])], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        tokens[name] = out.stdout.strip()
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
    seen, queue, found, routes = {}, ["/"] + menu, [], {}
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
