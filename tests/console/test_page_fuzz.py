"""Every console and portal page, asked with odd parameters and path segments by a signed-in admin and by
nobody, answers without a server error (the OpenAPI fuzz covers the API; these pages are not in its document)."""
from __future__ import annotations

import re
import subprocess
import urllib.parse
import sys

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web.app import init_app
from core.settings import Settings

pytestmark = pytest.mark.broker
KEYS = ["from", "to", "figure", "region_code", "department_code", "item_code", "level", "page", "q", "as_of",
        "lang", "unit", "status", "code", "next", "window", "item", "department", "limit", "offset", "kind"]
ODD = st.one_of(st.sampled_from(["", "2024-01-01", "2024-02-30", "1969-12-31", "2200-01-01", "9999-12-31T23:59:59Z",
                                 "-1", "0", "99999999999999999999", "330102", "330102001", "../x", "a/b", "%", "%00",
                                 "'; SELECT 1 --", "received", "overdue", "on_time_rate", "zh-Hant", "en", "全部",
                                 "x" * 3000, "1e400", "NaN", "county", "open", "closed"]),
                st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30))


def _pages() -> list[str]:
    app = init_app(Settings(database_url="postgresql://unused/x", kafka_bootstrap="unused:1"))
    return sorted({r.resource.canonical for r in app.router.routes() if r.method == "GET" and r.resource is not None
                   and not r.resource.canonical.startswith(("/api/", "/static", "/console/stream", "/metrics"))})


PAGES = _pages()


@pytest.fixture(scope="module")
async def known(stack):
    """An admin's token, and the ids of real things (a city, its list, a case, an evaluation and a task)."""
    from tests.api.test_route_table import _other_county

    data = await _other_county(stack)
    out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", "fuzzer", "--role", "admin"],
                         env=stack.env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip(), [data[k] for k in ("unit", "item", "case", "evaluation", "task", "proposal")]


def test_the_pages_are_found():
    assert len(PAGES) >= 20 and "/cases/{id}" in PAGES and "/public/org/{code}" in PAGES


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_no_page_gives_a_server_error(stack, known, data):
    token, ids = known
    real = st.sampled_from(ids)
    page = data.draw(st.sampled_from(PAGES))
    params = data.draw(st.dictionaries(st.sampled_from(KEYS), ODD | real, max_size=4))
    segment = data.draw(real | ODD.filter(bool))
    path = re.sub(r"\{(id|code|n)\}", "{x}", page).format(x=urllib.parse.quote(segment, safe=""))
    headers = {"Authorization": f"Bearer {token}"} if data.draw(st.booleans()) else {}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.get(stack.url + path, params=params, allow_redirects=False) as r:
            body = await r.text()
    assert r.status < 500, (path, params, r.status, body[:300])
