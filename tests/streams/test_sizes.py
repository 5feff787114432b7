"""Sizes below every limit: a staffing change as large as the schema takes is applied and indexed, a larger one is
refused at the edge with a dead letter cut to size (and the SHA-256 of the rest), envelopes fit the broker's message,
and the worker keeps running."""
from __future__ import annotations

import asyncio
import hashlib
import json
import random
import string

import aiohttp
import psycopg
import pytest

from core.settings import Settings
from core.sizes import DEAD_LETTER_PAYLOAD_BYTES, MAX_RECORD_BYTES, bounded_payload
from tests.conftest import TOKEN, guarded_api

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _document(cid: str, text: str) -> dict:
    return {"change_id": cid, "kind": "document", "effective_at": "2024-01-01T00:00:00+08:00", "doc_no": cid,
            "title": "大文件", "issued_at": "2024-01-01", "doc_type": "其他", "text": text}


async def _until(dsn: str, sql: str, args: tuple, want, tries: int = 600):
    got = None
    for _ in range(tries):
        with psycopg.connect(dsn, autocommit=True) as c:
            row = c.execute(sql, args).fetchone()
        got = row[0] if row else None
        if got == want:
            return got
        await asyncio.sleep(0.1)
    return got


@pytest.mark.broker
@pytest.mark.slow  # ~20 s: a 6 MB request, and a worker segmenting 100,000 characters
async def test_the_largest_document_is_indexed_and_a_larger_one_is_refused_small(stack, tmp_path):
    rnd = random.Random(7)
    # distinct words enough that all their lexemes would pass PostgreSQL's 1 MB tsvector
    words = list(dict.fromkeys("".join(rnd.choices(string.ascii_lowercase, k=6)) for _ in range(80_000)))
    text = " ".join(words)
    while len(json.dumps(_document("size-big", text), ensure_ascii=False)) > MAX_RECORD_BYTES - 1000:
        text = text[:-1000]
    huge = "审批" * 1_000_000  # within the old schema's 2,000,000 characters; 6 MB of UTF-8
    proc, url, _ = guarded_api(stack, tmp_path, SHENPI_MAX_BODY_BYTES=str(16 * 1024 * 1024))
    try:
        async with aiohttp.ClientSession(headers=AUTH) as s:
            async with s.post(url + "/api/v1/staffing-changes",
                              json=[_document("size-big", text), _document("size-huge", huge)]) as r:
                assert r.status == 207, await r.text()
                answer = await r.json()
    finally:
        proc.terminate()
        proc.wait(10)
    assert [x["index"] for x in answer["refused"]] == [1], answer
    dsn = stack.settings.database_url
    assert await _until(dsn, "SELECT tsv IS NOT NULL FROM org_document WHERE doc_no = 'size-big'", (), True) is True
    with psycopg.connect(dsn, autocommit=True) as c:
        found = c.execute("SELECT count(*) FROM org_document WHERE doc_no = 'size-big' AND tsv @@ %s::tsquery",
                          (words[0],)).fetchone()[0]
        letter = c.execute("SELECT payload FROM dead_letter WHERE kind = 'staffing_change' AND stage = 'edge'"
                           " AND payload::text LIKE '%%size-huge%%'").fetchone()[0]
    assert found == 1
    assert len(json.dumps(letter, ensure_ascii=False).encode()) < DEAD_LETTER_PAYLOAD_BYTES + 1024
    assert letter["bytes"] > 6_000_000 and len(letter["rest_sha256"]) == 64
    assert stack.worker.poll() is None


def test_a_dead_letter_keeps_a_bounded_head_and_the_hash_of_the_rest():
    payload = {"text": "x" * 200_000}
    cut = bounded_payload(payload)
    whole = json.dumps(payload).encode()
    head = cut["truncated"].encode()
    assert whole.startswith(head) and len(json.dumps(cut).encode()) <= DEAD_LETTER_PAYLOAD_BYTES
    assert bounded_payload(cut) == cut
    assert cut["rest_sha256"] == hashlib.sha256(whole[len(head):]).hexdigest()
    assert bounded_payload({"a": 1}) == {"a": 1}


async def test_envelopes_are_packed_below_the_brokers_message_size():
    from connectors.kafka import Publisher
    from schemas.events import parse_case_event

    s = Settings(kafka_bootstrap="unused:1", broker_message_bytes=600_000)
    events = [parse_case_event({"event_id": f"e{i}", "case_id": "c1", "type": "submitted",
                           "occurred_at": "2024-01-01T00:00:00+08:00", "item_code": "I", "region_code": "330102",
                           "department_code": "D", "channel": "online", "applicant_key": "\U0001f600" * 128})[0]
              for i in range(3000)]
    d = Publisher(s).prepare("case_event", events, (), "test", "r1")
    assert max(len(v.encode()) for _, _, _, v in d.records) <= s.broker_message_bytes
    # one case, one partition: three envelopes of 1,000 events would each be over the size, so they are halved
    assert sum(d.batch_sizes) == 3000 and len(set(d.batch_ids)) == len(d.batch_ids) > 3
    with pytest.raises(ValueError):
        Settings(broker_message_bytes=100_000)  # below the largest record the schemas accept
