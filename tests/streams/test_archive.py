"""The archive in the engine: a file kept once by its SHA-256 and given back byte for byte (a changed byte noticed),
read by the queue's worker (OCR for a scan, low confidence flagged), recognised, searched in either script with
phrases and filters, every read through the caller's region scope."""
from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from connectors.documents import read
from core.script import to_traditional
from core.settings import Settings
from schemas.staffing import parse_staffing_change
from simulator.documents import sanding_text
from simulator.org import make_uscc
from streams.archive import documents
from streams.archive.agents import read_next
from streams.archive.search import search
from streams.staffing.store import apply_staffing_changes
from tests.documents_data import docx, small_scan, text_pdf

EDU, HEALTH = make_uscc("11", "370700", 1), make_uscc("11", "370781", 2)


async def _units(conn):
    raws = [{"change_id": f"u{i}", "effective_at": "2001-01-01T00:00:00+08:00", "kind": "unit_set", "unit_code": code, "doc_no": "潍编〔2001〕1号",
             "name": name, "region_code": region, "nature": "行政机关", "rank": "正处级", "funding": "全额拨款"}
            for i, (code, name, region) in enumerate(((EDU, "潍坊市教育局", "370700"),
                                                      (HEALTH, "青州市卫生健康局", "370781")))]
    changes = [parse_staffing_change(r, b"k")[0] for r in raws]
    await apply_staffing_changes(conn, [(f"d{i}", c) for i, c in enumerate(changes)])


@pytest.fixture
async def pool(conn, database_url):
    await _units(conn)
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=3)
    yield p
    await p.close()


S = Settings(archive_ocr_engine="rapidocr", archive_min_confidence=0.99)


async def _add(conn, data, name, **given):
    return await documents.add(conn, data, name, read(data, name), uploaded_by="clerk", given=given)


async def _drain(pool, timeout: float = 120):
    """Read the queue here; a stack's worker on the same database may have taken some: wait for those too."""
    deadline = time.monotonic() + timeout
    while await read_next(pool, S) is not None or await pool.fetchval(
            "SELECT count(*) FROM archive_document WHERE status IN ('queued', 'reading')"):
        assert time.monotonic() < deadline, "the queue was not read in time"
        await asyncio.sleep(0.1)


async def test_a_word_file_in_recognised_and_back_byte_for_byte(conn, pool):
    text = sanding_text(unit="潍坊市教育局", year=2019, seq=12)
    data = docx([text[:200], text[200:]])
    first = await _add(conn, data, "三定.docx")
    again = await _add(conn, data, "copy.docx", doc_no="ignored")
    assert first["status"] == "queued" and again["duplicate"] and again["document_id"] == first["document_id"]
    await _drain(pool)
    doc = await documents.get(conn, first["document_id"])
    assert (doc["status"], doc["doc_no"], doc["doc_type"], doc["unit_code"]) == ("ready", "潍编〔2019〕12号", "三定规定", EDU)
    assert doc["title"] == "潍坊市教育局职能配置、内设机构和人员编制规定" and doc["effective_at"].startswith("2019-")
    assert doc["region_code"] == "370700" and len(doc["pages"]) == 2 and not doc["ocr"]
    proposal = await conn.fetchrow("SELECT document_id, unit_code FROM org_proposal WHERE proposal_id = $1",
                                   doc["proposal_id"])  # proposed in the transaction that stored the text
    assert tuple(proposal) == (str(first["document_id"]), EDU)
    assert [p["n"] for p in doc["pages"]] == [1, 2] and doc["pages"][0]["text"].startswith("潍编〔2019〕12号")
    span = doc["spans"]["doc_no"]
    assert doc["pages"][span["page"] - 1]["text"][span["start"]:span["end"]] == "潍编〔2019〕12号"
    name, back = await documents.original(conn, first["document_id"])
    assert back == data and name == "三定.docx"
    await conn.execute("UPDATE archive_original SET bytes = bytes || '\\x00'::bytea")
    with pytest.raises(documents.Corrupted):
        await documents.original(conn, first["document_id"])


async def test_what_the_caller_states_overrides_what_is_read(conn, pool):
    d = await _add(conn, text_pdf([sanding_text(unit="潍坊市教育局")]), "a.pdf", doc_no="潍编〔2020〕1号",
                   unit_code=HEALTH, doc_type="其他")
    await _drain(pool)
    doc = await documents.get(conn, d["document_id"])
    assert (doc["doc_no"], doc["unit_code"], doc["doc_type"], doc["region_code"]) == ("潍编〔2020〕1号", HEALTH, "其他",
                                                                                      "370781")
    assert doc["spans"]["doc_no"] == {"given": True}


async def test_a_scan_through_ocr_flagged_when_unsure(conn, pool):
    d = await _add(conn, small_scan("青州市卫生健康局\n关于调整内设机构的通知"), "scan.png")
    assert d["ocr"] and d["status"] == "queued"
    assert (await documents.queue_status(conn))["documents"]["queued"] == 1
    await _drain(pool)
    doc = await documents.get(conn, d["document_id"])
    page = doc["pages"][0]
    assert doc["status"] == "ready" and page["ocr"] and 0 < page["confidence"] <= 1
    assert "卫生健康局" in page["text"] and doc["unit_code"] == HEALTH
    assert page["low_confidence"] == (page["confidence"] < S.archive_min_confidence)
    status = await documents.queue_status(conn)
    assert status["documents"]["ready"] == 1 and status["ocr_pages"]["in_queue"] == 0


async def test_search_in_either_script_phrases_filters_and_scope(conn, pool):
    trad = to_traditional(sanding_text(unit="潍坊市教育局", year=1998, seq=3, seed=1))
    simp = sanding_text(unit="青州市卫生健康局", year=2019, seq=7, seed=8)
    a = await _add(conn, text_pdf([trad]), "old.pdf")
    b = await _add(conn, docx([simp]), "new.docx")
    await _add(conn, "潍坊市教育局关于会议的函\n与编制无关的内容。".encode("gb18030"), "other.txt")
    await _drain(pool)
    hits = await search(conn, "教育局 内设机构")
    assert [h["document_id"] for h in hits["hits"]] == [a["document_id"]] and hits["total"] == 1
    assert "<mark>" in hits["hits"][0]["snippet"] and hits["hits"][0]["page"] == 1
    assert (await search(conn, "內設機構"))["total"] == 2  # traditional finds both scripts
    assert (await search(conn, '"行政编制"'))["total"] == 2
    assert (await search(conn, '"编制行政"'))["total"] == 0  # a phrase is matched as written
    assert (await search(conn, "内设机构", years=(2000, 2030)))["total"] == 1
    assert (await search(conn, "内设机构", unit=HEALTH))["hits"][0]["document_id"] == b["document_id"]
    assert (await search(conn, "内设机构", doc_type="三定規定"))["total"] == 2
    county = await search(conn, "内设机构", scope="370781")
    assert [h["document_id"] for h in county["hits"]] == [b["document_id"]]
    assert await documents.get(conn, a["document_id"], "370781") is None
    assert await documents.original(conn, a["document_id"], "370781") is None
    assert [d["document_id"] for d in await documents.list_documents(conn, "370781")] == [b["document_id"]]
    assert (await search(conn, "函", public=True))["total"] == 0
