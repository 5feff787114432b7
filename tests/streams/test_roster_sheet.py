"""A roster workbook against the staffing data on a date: exactly who came in, left and moved; a bad identity number
refused by row and column and never echoed, logged or stored; persons matched by the keyed hash or 人員編號."""
from __future__ import annotations

import io
import json
import logging
import subprocess
from datetime import date, datetime

import openpyxl
import pytest
from stdnum.cn import ric

from connectors.sheets import read_sheet
from schemas.staffing import identity_hash, parse_staffing_change
from simulator.org import make_uscc
from streams.archive.roster import REQUIRED, hash_identity, import_roster, quota_kind_of
from streams.archive import proposals
from streams.staffing.store import apply_staffing_changes

KEY = b"roster-test-key"
A, B = make_uscc("11", "330100", 41), make_uscc("11", "330100", 42)


def idn(seq: int) -> str:
    base = f"11010119900307{seq:03d}"
    return base + ric.calc_check_digit(base + "0")


BAD = idn(9)[:-1] + ("0" if idn(9)[-1] != "0" else "1")  # the check character wrong


def change(n, kind, **kw):
    return {"change_id": f"S{n}", "kind": kind, "effective_at": "2020-01-01T00:00:00+08:00",
            "doc_no": "潍编〔2020〕2号", **kw}


async def seed(conn):
    unit = dict(region_code="330100", nature="行政机关", rank="正处级", funding="全额拨款")
    raws = [change(1, "unit_set", unit_code=A, name="潍坊市审批服务局", **unit),
            change(2, "unit_set", unit_code=B, name="潍坊市统计局", **unit),
            change(3, "body_set", unit_code=A, body_code="B01", name="办公室"),
            change(4, "quota_set", unit_code=A, quota_kind="行政", approved=10),
            change(5, "staff_in", person_key="P1", name="张三", sex="男", unit_code=A, quota_kind="行政",
                   id_number=idn(1)),
            change(6, "staff_in", person_key="P2", name="李四", sex="女", unit_code=A, quota_kind="行政",
                   id_number=idn(2)),
            change(7, "staff_in", person_key="P3", name="王五", sex="男", unit_code=B, quota_kind="行政",
                   id_number=idn(3)),
            change(8, "staff_in", person_key="E004", name="孙八", sex="女", unit_code=A, quota_kind="事业")]
    parsed = [parse_staffing_change(r, KEY)[0] for r in raws]
    await apply_staffing_changes(conn, [(f"r{i}", c) for i, c in enumerate(parsed)])


def workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["潍坊市审批服务局實名制人員名冊"])
    ws.merge_cells("A1:I1")
    ws.append(["序號", "姓名", "性別", "身份證號碼", "人員編號", "單位名稱", "內設機構", "編制類型", "入編時間"])
    ws.append([1, "张三", "男", idn(1), None, "濰坊市審批服務局", "辦公室", "行政編制", datetime(2010, 5, 1)])  # moved
    ws.append([2, "王五", "男", idn(3), None, "潍坊市审批服务局", None, "行政编制", 40000])       # moved from B
    ws.append([3, "赵六", "女", idn(5), None, "潍坊市审批服务局", None, "行政编制", "2024年3月1日"])  # in
    ws.append([4, "钱七", "男", BAD, None, "潍坊市审批服务局", None, "行政编制", None])             # refused
    ws.append([5, "孙八", "女", None, "E004", "潍坊市审批服务局", None, "事业编制", None])           # unchanged
    ws.append([6, "周九", "男", idn(6), None, "潍坊市审批服务局", "不存在处", "行政编制", None])      # unknown body
    ws.append([7, "吴十", "男", idn(7), None, idn(8), None, "行政编制", None])            # a number in the unit's place
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_quota_kinds_as_written_and_the_identity_check():
    assert [quota_kind_of(v) for v in ("行政編制", "参照公务员法管理事业编制", "机关工勤人员事业编制", "政法专项编制",
                                       "事业")] == ["行政", "参公事业", "工勤", "政法专项", "事业"]
    assert hash_identity(KEY, idn(1).lower()) == identity_hash(KEY, idn(1))
    try:
        hash_identity(KEY, BAD)
    except ValueError as exc:
        assert BAD not in str(exc)
    else:
        raise AssertionError("a wrong check character was accepted")


async def test_exact_in_out_moved_and_the_bad_number_nowhere(conn, database_url, caplog):
    import functools

    caplog.set_level(logging.DEBUG)
    await seed(conn)
    sheet = read_sheet(workbook(), "roster.xlsx", "roster", REQUIRED,
                       hashers={"id_number": functools.partial(hash_identity, KEY)})
    out = await import_roster(conn, sheet.rows, sheet.headers, [r.as_dict() for r in sheet.refused],
                              date(2025, 1, 1), "alice", "roster:t")
    assert out["rows"] == {"accepted": 3, "unchanged": 1, "refused": 3}
    assert out["refused"] == [
        {"row": 6, "column": "身份證號碼",
         "reason": "not a valid identity number (GB 11643: 18 characters, a real date, the check character)"},
        {"row": 8, "column": "內設機構", "reason": "the unit has no internal body named '不存在处' on that date"},
        {"row": 9, "column": "單位名稱", "reason": "no unit named '[id]' on that date"}]
    (p,) = out["proposals"]
    assert p["unit_code"] == A
    got = {(c["kind"], c["person_key"]): {k: v for k, v in c.items() if k not in ("change_id", "effective_at",
                                                                                  "kind", "person_key")}
           for c in p["changes"]}
    new_key = "P" + identity_hash(KEY, idn(5))[:24]
    assert got == {("staff_moved", "P1"): {"body_code": "B01"},
                   ("staff_moved", "P3"): {"unit_code": A},
                   ("staff_in", new_key): {"name": "赵六", "sex": "女", "unit_code": A, "quota_kind": "行政",
                                           "id_hash": identity_hash(KEY, idn(5))},
                   ("staff_out", "P2"): {}}
    assert {c["effective_at"] for c in p["changes"]} == {"2025-01-01T00:00:00+08:00"}
    # every proposed change is one the staffing stream takes; the proposal holds them, unpublished
    assert all(parse_staffing_change(c, KEY)[1] is None for c in p["changes"])
    assert out["proposal_id"] == p["proposal_id"]
    shown = await proposals.show(conn, p["proposal_id"])
    assert shown["status"] == "proposed" and shown["unit_code"] == A and len(shown["changes"]) == 4
    assert await conn.fetchval("SELECT count(*) FROM staffing_change WHERE kind LIKE 'staff_%'") == 4, "as seeded"
    # the uploader may not approve it: a second person does (the archive's two-person rule)
    from core.access import Caller
    with pytest.raises(proposals.ProposalError, match="two-person"):
        await proposals.decide(conn, p["proposal_id"], Caller("alice", "staffing_admin"), True)
    published = await proposals.decide(conn, p["proposal_id"], Caller("bob", "staffing_admin"), True)
    assert sorted(c.kind for c in published) == ["staff_in", "staff_moved", "staff_moved", "staff_out"]
    # the bad number: not in the answer, the logs, nor anywhere in the database
    assert BAD not in json.dumps(out, ensure_ascii=False) and idn(8) not in json.dumps(out, ensure_ascii=False)
    assert BAD not in caplog.text
    dump = subprocess.run(["pg_dump", "--data-only", database_url], capture_output=True, text=True, check=True).stdout
    assert dump and BAD not in dump and idn(5) not in dump and idn(1) not in dump
