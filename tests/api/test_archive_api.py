"""The archive over HTTP: a multipart upload (size-limited before reading; a bad file refused with nothing stored), the
workers read it, the document, its original byte for byte, search in the other script, all scoped by region."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import aiohttp
import asyncpg
import pytest

from core.script import to_traditional
from simulator.documents import sanding_text
from tests.conftest import TOKEN, guarded_api, truncate_all
from tests.documents_data import docx, text_pdf
from tests.streams.test_archive import EDU, _units

pytestmark = pytest.mark.broker
LIMIT = 200_000


@pytest.fixture(scope="module")
def api(stack, tmp_path_factory):
    proc, url, env = guarded_api(stack, tmp_path_factory.mktemp("archive"), SHENPI_ARCHIVE_MAX_BYTES=str(LIMIT))
    tokens = {}
    for name, region in (("archive-clerk", "370700"), ("archive-county", "370781")):
        out = subprocess.run([sys.executable, "-m", "shenpi", "users", "add", name, "--role", "viewer", "--region",
                              region], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        tokens[name] = out.stdout.strip()
    yield url, tokens
    proc.terminate()
    proc.wait(10)


async def _post(s, url, data: bytes, name: str, **fields):
    form = aiohttp.FormData()
    for k, v in fields.items():
        form.add_field(k, v)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    async with s.post(url + "/api/v1/org/documents", data=form) as r:
        return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def _ready(s, url, document_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        async with s.get(f"{url}/api/v1/org/documents/{document_id}") as r:
            doc = await r.json()
        if doc["status"] in ("ready", "failed") or time.monotonic() > deadline:
            return doc
        await asyncio.sleep(0.2)


async def test_upload_read_search_and_scope(stack, api):
    url, tokens = api
    truncate_all(stack.settings.database_url)
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        await _units(conn)
        data = docx([to_traditional(sanding_text(unit="潍坊市教育局", year=2019, seq=12))])
        clerk = {"Authorization": f"Bearer {tokens['archive-clerk']}"}
        async with aiohttp.ClientSession(headers=clerk) as s:
            status, body = await _post(s, url, data, "三定.docx")
            assert status == 201, body
            doc_id = body["documents"][0]["document_id"]
            assert (await _post(s, url, data, "again.docx"))[1]["documents"][0]["document_id"] == doc_id
            doc = await _ready(s, url, doc_id)
            assert (doc["status"], doc["doc_no"], doc["unit_code"], doc["doc_type"]) == ("ready", "濰編〔2019〕12號",
                                                                                          EDU, "三定规定")
            async with s.get(f"{url}/api/v1/org/documents/{doc_id}/original") as r:
                assert r.status == 200 and await r.read() == data
            async with s.get(url + "/api/v1/org/documents/search", params={"q": "内设机构 教育局"}) as r:
                hits = await r.json()
            assert hits["total"] == 1 and hits["hits"][0]["document_id"] == doc_id and "<mark>" in hits["hits"][0]["snippet"]
            async with s.get(url + "/api/v1/org/documents", params={"unit": EDU}) as r:
                assert [d["document_id"] for d in (await r.json())["documents"]] == [doc_id]

            before = await conn.fetchval("SELECT count(*) FROM archive_document")
            status, body = await _post(s, url, text_pdf(["潍编〔2019〕1号"])[:-200], "cut.pdf")
            assert status == 422 and "cut short" in body["reason"]
            status, _ = await _post(s, url, b"x" * (LIMIT + 100_000), "big.txt")
            assert status == 413
            assert await conn.fetchval("SELECT count(*) FROM archive_document") == before
            assert await conn.fetchval("SELECT count(*) FROM archive_original") == before

        county = {"Authorization": f"Bearer {tokens['archive-county']}"}
        async with aiohttp.ClientSession(headers=county) as s:
            for path in (f"/api/v1/org/documents/{doc_id}", f"/api/v1/org/documents/{doc_id}/original"):
                async with s.get(url + path) as r:
                    assert r.status == 404
            async with s.get(url + "/api/v1/org/documents/search", params={"q": "内设机构"}) as r:
                assert (await r.json())["total"] == 0
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:
            assert (await _post(s, url, b"hello", "a.txt"))[0] == 403  # a person uploads, not the platform
    finally:
        await conn.close()
