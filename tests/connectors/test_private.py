"""Private data is scrubbed at the one edge: identity numbers, mobile numbers and e-mail addresses planted under any
field name, nested, in array lines, malformed lines and free text, through the webhook, file ingest and the staffing
import of the real stack, are found nowhere in a dump of the database or in the logs; bidi overrides are gone."""
from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys

import aiohttp
import psycopg
import pytest

from tests.conftest import TOKEN, staffing_totals_settled, truncate_all, wait_processed

pytestmark = pytest.mark.broker
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id18(rnd: random.Random) -> str:
    body = f"{rnd.choice(['110105', '330102', '440305'])}{rnd.randint(1950, 2005)}{rnd.randint(1, 12):02d}" \
           f"{rnd.randint(1, 28):02d}{rnd.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11]


def id15(rnd: random.Random) -> str:
    return f"330102{rnd.randint(50, 99)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}{rnd.randint(0, 999):03d}"


def mobile(rnd: random.Random) -> str:
    return f"1{rnd.choice('3589')}{rnd.randint(0, 999_999_999):09d}"


def test_shapes_are_scrubbed_without_the_stack():
    from schemas.private import mask_text, scrub

    rnd = random.Random(1)
    a, b, m = id18(rnd), id15(rnd), mobile(rnd)
    out = json.dumps(scrub([{"idNumber": "not-valid-123"}, {"x": {"ID_NUMBER": a}}, {"id_no": int(b)},
                            f"{{broken {a} {m[:3]}-{m[3:7]}-{m[7:]} me@example.org", {"name": f"张三{a}"},
                            {"n": "局\u202e反转\x07"}], b"k"), ensure_ascii=False)
    for planted in (a, b, m, f"{m[:3]}-{m[3:7]}-{m[7:]}", "me@example.org", "not-valid-123", "\u202e", "\x07"):
        assert planted not in out
    assert mask_text("20240101000000123") == "20240101000000123"  # not an identity number: its date is no date
    from web.console.pages import esc

    assert esc("某局\u202e反转\x1b") == "某局反转"  # stored before the edge took them out: not shown either


async def test_a_fuzzed_ingest_leaves_nothing_private_in_the_database_or_the_logs(stack, tmp_path):
    rnd = random.Random(29)
    truncate_all(stack.settings.database_url)
    ids = [id18(rnd) for _ in range(15)]
    old, phones = id15(rnd), [mobile(rnd) for _ in range(4)]
    mails = [f"p{rnd.randint(0, 10**9)}@example.org" for _ in range(3)]
    at = "2025-03-01T09:00:00+08:00"
    ev = lambda eid, case, **kw: {"event_id": eid, "case_id": case, "type": "submitted", "occurred_at": at,  # noqa
                                  "item_code": "PRIV-I", "region_code": "330102", "department_code": "D",
                                  "channel": "online", **kw}
    lines = [ev("p1", "PRIV-1", applicant_key=ids[0]), ev("p2", "PRIV-2", idNumber=ids[1]),
             [ev("p3", "PRIV-3", x={"ID_NUMBER": ids[2]})], ev("p5", old),
             ev("p6", "PRIV-6", applicant_key=f"{phones[0][:3]} {phones[0][3:7]} {phones[0][7:]}")]
    body = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + f'\n{{"event_id": "p4", "note": "{ids[3]}\n'
    unit = "91330102MA2H3L4X5D"
    staffing = [
        {"change_id": "s1", "kind": "unit_set", "effective_at": at, "doc_no": f"文{ids[4]}号", "unit_code": unit,
         "name": "某局\u202e反转", "region_code": "330102", "nature": "行政机关", "rank": "正处级", "funding": "全额拨款"},
        {"change_id": "s2", "kind": "staff_in", "effective_at": at, "person_key": ids[5], "name": f"张三{phones[1]}",
         "sex": "男", "unit_code": unit, "quota_kind": "行政", "idNumber": ids[6]},
        {"change_id": "s3", "kind": "body_set", "effective_at": at, "doc_no": "d3", "unit_code": unit,
         "body_code": "B1", "name": f"办公室 {mails[0]}"},
        {"change_id": "s4", "kind": "document", "effective_at": at, "doc_no": "d4", "title": "通知", "issued_at":
         "2025-03-01", "doc_type": "其他", "text": f"联系人身份证{ids[7]}，电话{phones[2]}，邮箱{mails[1]}"},
        {"change_id": "s5", "kind": "staff_in", "effective_at": at, "person_key": "k5", "name": "李四", "sex": "女",
         "unit_code": unit, "quota_kind": "行政", "nested": {"sfzh": ids[8]}},
    ]
    listed = {"change_id": "l1", "item_code": "PRIV-I", "action": "added", "effective_at": "2024-01-01T00:00:00+08:00",
              "name": f"事项{mails[2]}", "category": "行政许可", "department_code": "D", "level": "county",
              "region_codes": ["330102"], "legal_basis": f"依据{ids[9]}"}
    async with aiohttp.ClientSession(headers=AUTH) as s:
        async with s.post(stack.url + "/api/v1/list-changes", json=[listed]) as r:
            assert r.status == 200, await r.text()
        async with s.post(stack.url + "/api/v1/case-events", data=body.encode(),
                          headers={"Content-Type": "application/x-ndjson"}) as r:
            events = await r.json()
        async with s.post(stack.url + "/api/v1/staffing-changes", json=staffing) as r:
            assert r.status in (200, 207), await r.text()
    file = tmp_path / "events.jsonl"
    file.write_text(json.dumps(ev("f1", "PRIV-F", applicant_key=ids[10])) + f"\n[broken {ids[11]} {phones[3]}\n")
    org = tmp_path / "org.jsonl"
    org.write_text(json.dumps({"change_id": "o1", "kind": "staff_in", "effective_at": at, "person_key": "k-o1",
                               "name": "王五", "sex": "男", "unit_code": unit, "quota_kind": "行政",
                               "ID_NO": ids[12]}, ensure_ascii=False) + "\n")
    lists = tmp_path / "list.jsonl"
    lists.write_text(json.dumps({**listed, "change_id": "l2", "action": "modified", "name": f"事项{ids[13]}"},
                                ensure_ascii=False) + "\n")
    bulk = tmp_path / "bulk.jsonl"
    bulk.write_text(json.dumps(ev("b1", "PRIV-B", applicant_key=f"申请人{ids[14]}")) + "\n")
    for args in (["ingest", str(file), "--wait"], ["ingest", str(bulk), "--bulk"], ["org", "import", str(org), "--wait"],
                 ["ingest", str(lists), "--kind", "list-changes"]):
        out = subprocess.run([sys.executable, "-m", "shenpi", *args], env=stack.env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        assert not any(x in out.stdout + out.stderr for x in ids), out.stdout
    wait_processed(stack.settings.database_url, events["batches"], events["dead_letters"])
    async with aiohttp.ClientSession(headers=AUTH) as s:
        assert (await staffing_totals_settled(s, stack.url))["reconciled"]
    dsn = stack.settings.database_url
    for _ in range(100):
        with psycopg.connect(dsn, autocommit=True) as c:
            if c.execute("SELECT count(*) FROM list_change WHERE change_id IN ('l1', 'l2')").fetchone()[0] == 2:
                break
        await asyncio.sleep(0.1)
    dump = subprocess.run(["pg_dump", "--data-only", dsn], capture_output=True, text=True, check=True).stdout
    logs = "".join(p.read_text(errors="replace") for p in stack.logs.glob("*") if p.is_file())
    planted = [*ids, old, *phones, *mails, f"{phones[0][:3]} {phones[0][3:7]}"]
    assert [x for x in planted if x in dump] == []
    assert [x for x in planted if x in logs] == []
    assert "\u202e" not in dump and "某局反转" in dump
    async with aiohttp.ClientSession() as s:  # the anonymous portal shows the name as written, not reversed
        async with s.get(f"{stack.url}/public/org/{unit}") as r:
            page = await r.text()
    assert r.status == 200 and "某局反转" in page and "\u202e" not in page
    assert not [x for x in planted if x in page]
    with psycopg.connect(dsn, autocommit=True) as c:  # the person is still one person: hashed, not dropped
        assert c.execute("SELECT count(*) FROM staffing_change WHERE payload->>'id_hash' IS NOT NULL").fetchone()[0] >= 2
