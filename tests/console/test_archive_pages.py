"""The archive's console pages: a file dropped into the form goes in (a bad one gets a page with the reason), the
document with its pages and the text each field came from, search with marked words in the other script, the unit's
page lists it, and the public portal shows a 三定's text but no other document."""
from __future__ import annotations

import aiohttp
import asyncpg
import pytest

from simulator.documents import sanding_text
from tests.api.test_archive_api import _ready, api  # noqa: F401 - the module's API and users
from tests.conftest import truncate_all
from tests.documents_data import docx, text_pdf
from tests.streams.test_archive import EDU, _units

pytestmark = pytest.mark.broker


async def _drop(s, url, data: bytes, name: str) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return await s.post(url + "/console/archive", data=form, allow_redirects=False)


async def test_drop_show_search_unit_and_public(stack, api):  # noqa: F811
    url, tokens = api
    truncate_all(stack.settings.database_url)
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        await _units(conn)
    finally:
        await conn.close()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {tokens['archive-clerk']}"}) as s:
        r = await _drop(s, url, docx([sanding_text(unit="潍坊市教育局", year=2019, seq=12)]), "三定.docx")
        assert r.status == 303
        doc_id = int(r.headers["Location"].rsplit("/", 1)[1])
        other = await _drop(s, url, "潍坊市教育局关于召开会议的函\n二〇一九年三月五日".encode(), "函.txt")
        other_id = int(other.headers["Location"].rsplit("/", 1)[1])
        assert (await _ready(s, url, doc_id))["status"] == "ready" and (await _ready(s, url, other_id))["status"] == "ready"
        r = await _drop(s, url, text_pdf(["潍编〔2019〕1号"])[:-200], "cut.pdf")
        assert r.status == 422 and "cut short" in await r.text()
        async with s.get(f"{url}/org/archive/{doc_id}") as r:
            page = await r.text()
        assert r.status == 200 and "潍编〔2019〕12号" in page and "第五条" in page and "「潍编〔2019〕12号」" in page
        async with s.get(url + "/org/archive/search", params={"q": "內設機構"}) as r:
            page = await r.text()
        assert f"/org/archive/{doc_id}" in page and "<mark>内设机构</mark>" in page
        async with s.get(f"{url}/org/units/{EDU}") as r:
            page = await r.text()
        assert f"/org/archive/{doc_id}" in page and f"/org/archive/{other_id}" in page
        async with s.get(url + "/org/archive") as r:
            assert 'type="file" name="file"' in await r.text()
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{url}/public/org/{EDU}") as r:
            page = await r.text()
        assert r.status == 200 and "潍编〔2019〕12号" in page and "第二条" in page and "召开会议" not in page
