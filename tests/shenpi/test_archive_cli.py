"""`shenpi org archive` as a user runs it: files in (a bad one refused with its reason, nothing of it stored), --wait
until the workers read them, show, list, search in the other script, the original back byte for byte, the queue."""
from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest

from core.script import to_traditional
from simulator.documents import sanding_text
from tests.conftest import truncate_all
from tests.documents_data import encrypted_pdf, text_pdf

pytestmark = pytest.mark.broker


def shenpi(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shenpi", "org", "archive", *args], env=stack.env,
                          capture_output=True, text=True, timeout=300)


def test_add_wait_show_search_get_status(stack, tmp_path):
    truncate_all(stack.settings.database_url)
    good = tmp_path / "三定.pdf"
    good.write_bytes(text_pdf([to_traditional(sanding_text(unit="潍坊市教育局", year=2019, seq=12))]))
    bad = tmp_path / "locked.pdf"
    bad.write_bytes(encrypted_pdf(good.read_bytes()))
    out = shenpi(stack, "add", str(bad), "--format", "json")
    assert out.returncode == 1 and "encrypted PDF" in out.stderr
    with psycopg.connect(stack.settings.database_url) as c:
        assert c.execute("SELECT (SELECT count(*) FROM archive_document) + (SELECT count(*) FROM archive_original)"
                         ).fetchone()[0] == 0
    out = shenpi(stack, "add", str(good), "--type", "三定規定", "--wait", "--timeout", "120", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)["documents"][0]
    assert {"document_id", "sha256", "doc_no", "title", "issued_at", "doc_type", "unit_code", "effective_at", "pages",
            "ocr", "chars", "proposal_id", "status"} <= doc.keys()
    assert (doc["status"], doc["doc_no"], doc["doc_type"], doc["pages"], doc["ocr"]) == ("ready", "濰編〔2019〕12號",
                                                                                          "三定规定", 1, False)
    shown = json.loads(shenpi(stack, "show", str(doc["document_id"]), "--format", "json").stdout)
    assert shown["pages"][0]["n"] == 1 and shown["pages"][0]["ocr"] is False and "第二條" in shown["pages"][0]["text"]
    found = json.loads(shenpi(stack, "search", "内设机构", "--from", "2019", "--to", "2019", "--format", "json").stdout)
    assert found["total"] == 1 and found["hits"][0]["document_id"] == doc["document_id"]
    assert {"document_id", "doc_no", "title", "unit_code", "page", "snippet"} <= found["hits"][0].keys()
    listed = json.loads(shenpi(stack, "list", "--format", "json").stdout)["documents"]
    assert [d["document_id"] for d in listed] == [doc["document_id"]]
    back = tmp_path / "back.pdf"
    assert shenpi(stack, "get", str(doc["document_id"]), "--output", str(back)).returncode == 0
    assert back.read_bytes() == good.read_bytes()
    status = json.loads(shenpi(stack, "status", "--format", "json").stdout)
    assert status["documents"]["ready"] == 1 and status["documents"]["queued"] == 0
