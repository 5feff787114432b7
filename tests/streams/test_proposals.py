"""Proposals against the real staffing tables: a document's changes proposed with stable codes and kept links, the
diff in one script, would_open/would_close from the staffing rules, edits recorded, the two-person rule."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from core.access import Caller
from core.script import to_traditional
from schemas import parse_list_change
from schemas.staffing import parse_staffing_change
from simulator.org import make_uscc
from streams.archive import proposals
from streams.archive.proposals import ProposalError
from streams.cases.reach import apply_list_changes
from streams.staffing.store import apply_staffing_changes

UNIT = make_uscc("11", "330102", 11)
OTHER = make_uscc("11", "330102", 12)
T0 = datetime(2015, 1, 1, tzinfo=timezone.utc)
T1 = datetime(2019, 3, 1, tzinfo=timezone.utc)
DOC = "杭编〔2015〕3号"

SANDING = """杭州市上城区市场监督管理局职能配置、内设机构和人员编制规定
第一条　根据有关规定，制定本规定。
第二条　区市场监督管理局是区政府工作部门，为正处级。
第三条　区市场监督管理局主要职责是：
（一）负责市场主体统一登记注册。
（二）负责食品经营许可的审批和监督管理。
（三）负责城市道路挖掘许可的审批。
（四）完成区委、区政府交办的其他任务。
第四条　区市场监督管理局设下列内设机构：
（一）办公室。负责机关日常运转。
（二）登记注册科。负责登记。
（三）食品经营科。负责食品经营监管。
第五条　区市场监督管理局机关行政编制2名。设局长1名，副局长1名。
第六条　本规定自2019年3月1日起施行。
"""


def _change(**c):
    parsed, refusal = parse_staffing_change(c, b"k")
    assert refusal is None, refusal
    return parsed


async def _city(conn):
    """Two units of one county: ours with an office, a registration clause (linked) and 3 行政 staff; the other
    already owning road digging permits (城市道路挖掘许可)."""
    base = dict(effective_at=T0.isoformat(), doc_no=DOC)
    changes = [_change(change_id="d", kind="document", title="三定", issued_at="2015-01-01", doc_type="三定规定",
                       text="三定", **base)]
    for code, name in ((UNIT, "杭州市上城区市场监督管理局"), (OTHER, "杭州市上城区城市管理局")):
        changes.append(_change(change_id=f"u{code}", kind="unit_set", unit_code=code, name=name,
                               region_code="330102", nature="行政机关", rank="正处级", funding="全额拨款", **base))
        changes.append(_change(change_id=f"q{code}", kind="quota_set", unit_code=code, quota_kind="行政", approved=5,
                               **base))
    changes += [
        _change(change_id="b1", kind="body_set", unit_code=UNIT, body_code="B1", name="辦公室", **base),
        _change(change_id="b2", kind="body_set", unit_code=UNIT, body_code="B2", name="综合科", **base),
        _change(change_id="dd", kind="duties_set", unit_code=UNIT, duties=[
            {"duty_id": "D1", "text": "負責市場主體統一登記註冊。", "item_codes": ["REG-1"]}], **base),
        _change(change_id="do", kind="duties_set", unit_code=OTHER, duties=[
            {"duty_id": "D1", "text": "负责城市道路挖掘许可的审批和监督。", "item_codes": ["ROAD-1"]}], **base),
    ]
    for n in range(3):
        changes.append(_change(change_id=f"s{n}", kind="staff_in", person_key=f"p{n}", name=f"张{n}", sex="男",
                               unit_code=UNIT, quota_kind="行政", effective_at=T0.isoformat()))
    await apply_staffing_changes(conn, [(c.change_id, c) for c in changes])
    await conn.execute("INSERT INTO app_user (name, role, region_scope) SELECT n, 'staffing_admin', '330102'"
                       " FROM unnest($1::text[]) AS n ON CONFLICT (name) DO NOTHING", ["alice", "bob", "dave", "carol"])
    items = [("REG-1", "市场主体登记注册", UNIT), ("FOOD-1", "食品经营许可", UNIT), ("ROAD-1", "城市道路挖掘许可", OTHER)]
    await apply_list_changes(conn, [parse_list_change({
        "change_id": f"l{code}", "item_code": code, "action": "added", "name": name, "department_code": dept,
        "category": "行政许可", "level": "county",
        "effective_at": "2010-01-01T00:00:00+08:00", "region_codes": ["330102"]})[0] for code, name, dept in items])


ALICE, BOB, CAROL = (Caller("alice", "staffing_admin", "330102"), Caller("bob", "staffing_admin", "330102"),
                     Caller("carol", "staffing_admin", "330106"))


async def _propose(conn, text=SANDING, doc_id="doc-1"):
    cut = text.index("第四条")
    return await proposals.propose_for_document(
        conn, document_id=doc_id, text=text, pages=[text[:cut - 1], text[cut:]], doc_no="上编〔2019〕7号",
        doc_type="三定规定",
        unit_code=UNIT, effective_at=T1, uploaded_by="alice")


async def test_a_document_proposes_checked_changes(conn):
    await _city(conn)
    pid = await _propose(conn)
    assert await _propose(conn) == pid  # the same document proposes once
    p = await proposals.show(conn, pid)
    kinds = [c["kind"] for c in p["changes"]]
    assert kinds[0] == "document" and "duties_set" in kinds and kinds.count("body_set") == 3
    duties = next(c for c in p["changes"] if c["kind"] == "duties_set")["duties"]
    # the clause the unit had (in the other script) keeps its id and items; a new one gets its suggested item
    assert duties[0] == {"duty_id": "D1", "text": "负责市场主体统一登记注册。", "item_codes": ["REG-1"]}
    assert duties[1]["item_codes"] == ["FOOD-1"] and duties[1]["duty_id"] not in ("D1",)
    assert any(u["field"].startswith(f"duties[{duties[1]['duty_id']}]") for u in p["unsure"])
    bodies = {c["name"]: c["body_code"] for c in p["changes"] if c["kind"] == "body_set"}
    assert bodies["办公室"] == "B1" and bodies["登记注册科"] not in ("B1", "B2")
    assert {c["body_code"] for c in p["changes"] if c["kind"] == "body_abolished"} == {"B2"}
    opened = {(f["kind"], f["subject"]) for f in p["would_open"]}
    assert ("over_quota", "行政") in opened  # 2 approved, 3 hold it
    overlap = [f for f in p["would_open"] if f["kind"] == "duty_overlap"]
    assert overlap and overlap[0]["other_unit_code"] == OTHER and "道路挖掘" in overlap[0]["other_text"]
    d = p["diff"][UNIT]
    assert d["quotas"][0]["approved"] == {"before": 5, "after": 2}
    assert [x["body_code"] for x in d["bodies"]["removed"]] == ["B2"]
    assert not d["duties"]["removed"] and len(d["duties"]["added"]) == 3  # D1 unchanged across scripts
    assert {s["step"] for s in p["trail"]} >= {"uploaded", "extracted", "warned"}
    spans = p["spans"][kinds.index("quota_set")]["approved"]  # on the second page, where it is written
    assert spans["page"] == 2 and SANDING[spans["start"]:spans["end"]] == spans["text"] == "行政编制2名"
    assert p["spans"][kinds.index("duties_set")]["duties"][0]["page"] == 1


async def test_a_traditional_copy_is_no_change(conn):
    await _city(conn)
    first = await _propose(conn)
    p = await proposals.show(conn, first)
    async with conn.transaction():
        await proposals.decide(conn, first, BOB, True)
    good = [c for c in json.loads(await conn.fetchval("SELECT changes::text FROM org_proposal")) ]
    await apply_staffing_changes(conn, [(f"x{c['change_id']}", _change(**c)) for c in good])
    again = await proposals.propose_for_document(
        conn, document_id="doc-2", text=to_traditional(SANDING), pages=[], doc_no="上编〔2019〕8号",
        doc_type="三定規定", unit_code=UNIT, effective_at=T1 + timedelta(days=1), uploaded_by="carol")
    q = await proposals.show(conn, again)
    d = q["diff"][UNIT]
    assert not any(d["duties"][k] for k in ("added", "removed", "changed", "relinked")), d["duties"]
    assert not any(d["bodies"].values()) and not d["quotas"] and not d["posts"] and not d["attributes"]
    assert not q["would_open"] and not q["would_close"]
    assert p["would_open"]  # the first one did warn


async def test_two_people_and_edits(conn):
    await _city(conn)
    pid = await _propose(conn)
    with pytest.raises(ProposalError) as e:
        await proposals.decide(conn, pid, ALICE, True)  # the uploader
    assert e.value.status == 403
    with pytest.raises(ProposalError) as e:
        await proposals.decide(conn, pid, CAROL, True)  # another county's maintainer: not found for her
    assert e.value.status == 404
    with pytest.raises(ProposalError) as e:
        await proposals.decide(conn, pid, Caller("platform", "service"), True)  # a machine
    assert e.value.status == 403
    p = await proposals.show(conn, pid)
    changes = [c for c in p["changes"] if c["kind"] != "quota_set"]
    changes.append({"kind": "quota_set", "unit_code": UNIT, "quota_kind": "行政", "approved": 4})
    await proposals.edit(conn, pid, changes, BOB, effective_at="2019-04-01")
    p = await proposals.show(conn, pid)
    assert p["edited_by"] == "bob" and ("over_quota", "行政") not in {(f["kind"], f["subject"]) for f in p["would_open"]}
    moved = datetime(2019, 3, 31, 16, tzinfo=timezone.utc)  # the local midnight of 2019-04-01
    assert datetime.fromisoformat(p["effective_at"]) == moved
    assert {datetime.fromisoformat(c["effective_at"]) for c in p["changes"]} == {moved}
    with pytest.raises(ProposalError) as e:
        await proposals.edit(conn, pid, changes, BOB, effective_at="soon")
    assert e.value.status == 400
    assert [s["step"] for s in p["trail"]].count("edited") == 1
    with pytest.raises(ProposalError) as e:
        await proposals.decide(conn, pid, BOB, True)  # the last editor
    assert e.value.status == 403
    with pytest.raises(ProposalError):
        await proposals.decide(conn, pid, Caller("dave", "staffing_admin", "330102"), False, " ")  # no reason
    async with conn.transaction():
        published = await proposals.decide(conn, pid, Caller("dave", "staffing_admin", "330102"), True)
    assert [c.change_id for c in published] == [c["change_id"] for c in changes_of(await proposals.show(conn, pid))]
    with pytest.raises(ProposalError) as e:
        await proposals.decide(conn, pid, Caller("erin", "admin"), True)
    assert e.value.status == 409
    # from a machine: a person reviews it before another approves
    machine = await proposals.propose_for_document(
        conn, document_id="doc-m", text=SANDING, pages=[], doc_no="上编〔2019〕9号", doc_type="三定规定",
        unit_code=UNIT, effective_at=T1, uploaded_by="platform")
    with pytest.raises(ProposalError) as e:
        await proposals.decide(conn, machine, BOB, True)
    assert e.value.status == 403 and "machine" in str(e.value)
    await proposals.edit(conn, machine, (await proposals.show(conn, machine))["changes"], BOB)
    async with conn.transaction():
        assert await proposals.decide(conn, machine, Caller("dave", "staffing_admin", "330102"), True)


def changes_of(p):
    return p["changes"]


async def test_a_roster_proposal_warns_before_people_exceed_the_quota(conn):
    await _city(conn)
    at = T1
    entering = [{"kind": "staff_in", "person_key": f"n{k}", "name": f"李{k}", "sex": "女", "unit_code": UNIT,
                 "quota_kind": "行政"} for k in range(3)]
    pid = await proposals.create_proposal(conn, source="roster", unit_code=UNIT, changes=entering, effective_at=at,
                                          created_by="sheets:alice")
    p = await proposals.show(conn, pid)
    assert [(f["kind"], f["subject"], f["actual"]) for f in p["would_open"]] == [("over_quota", "行政", 6)]
    assert p["diff"][UNIT]["staff"]["by_kind"] == {"行政": {"before": 3, "after": 6}}
    assert [s["step"] for s in p["trail"]] == ["proposed", "warned"]
    # a move to the other unit touches both; leaving people and a figure raised close what was open
    moved = await proposals.create_proposal(conn, source="roster", unit_code=UNIT, changes=[
        {"kind": "staff_moved", "person_key": "p0", "unit_code": OTHER}], effective_at=at, created_by="sheets:alice")
    m = await proposals.show(conn, moved)
    assert set(m["diff"]) == {UNIT, OTHER}
    assert m["diff"][OTHER]["staff"]["by_kind"] == {"行政": {"before": 0, "after": 1}}
    await apply_staffing_changes(conn, [(f"over-d{k}", _change(change_id=f"over{k}", kind="staff_in", person_key=f"o{k}",
                                                           name="王", sex="男", unit_code=UNIT, quota_kind="行政",
                                                           effective_at=T0.isoformat())) for k in range(3)])
    raised = await proposals.create_proposal(conn, source="document", unit_code=UNIT, doc_no=DOC, changes=[
        {"kind": "quota_set", "unit_code": UNIT, "quota_kind": "行政", "approved": 8}], effective_at=at,
        created_by="alice")
    r = await proposals.show(conn, raised)
    assert [(f["kind"], f["subject"]) for f in r["would_close"]] == [("over_quota", "行政")] and not r["would_open"]
    with pytest.raises(ProposalError):
        await proposals.create_proposal(conn, source="roster", unit_code=UNIT, changes=[
            {"kind": "staff_in", "person_key": "x", "id_number": "11010519491231002X", "name": "x", "sex": "男",
             "unit_code": UNIT, "quota_kind": "行政"}], effective_at=at, created_by="x")
    assert await conn.fetchval("SELECT count(*) FROM org_proposal WHERE changes::text LIKE '%11010519491231002X%'") == 0


async def test_an_edit_cannot_reach_another_county(conn):
    await _city(conn)
    far_unit = make_uscc("11", "330106", 99)
    base = dict(effective_at=T0.isoformat(), doc_no=DOC)
    await apply_staffing_changes(conn, [("far", _change(change_id="far", kind="unit_set", unit_code=far_unit,
                                                        name="拱墅区某局", region_code="330106", nature="行政机关",
                                                        rank="正科级", funding="全额拨款", **base))])
    pid = await _propose(conn)
    sneaky = [{"kind": "quota_set", "unit_code": far_unit, "quota_kind": "行政", "approved": 0}]
    with pytest.raises(ProposalError) as e:
        await proposals.edit(conn, pid, sneaky, BOB)
    assert e.value.status == 403 and far_unit in str(e.value)
    await proposals.edit(conn, pid, sneaky, Caller("city", "staffing_admin"))  # who sees everywhere may
    with pytest.raises(ProposalError) as e:
        await proposals.decide(conn, pid, BOB, True)
    assert e.value.status == 403


async def test_duty_checks_open_and_close_with_the_clauses_proposed(conn):
    await _city(conn)
    duties = [{"duty_id": "D1", "text": "负责市场主体统一登记注册。", "item_codes": ["REG-1"]},
              {"duty_id": "D2", "text": "负责某项早已取消的审批。", "item_codes": ["NOPE-1"]},
              {"duty_id": "D3", "text": "负责食品经营许可。", "item_codes": ["FOOD-1"]}]
    pid = await proposals.create_proposal(conn, source="document", unit_code=UNIT, doc_no=DOC, changes=[
        {"kind": "duties_set", "unit_code": UNIT, "duties": duties}], effective_at=T1, created_by="alice")
    p = await proposals.show(conn, pid)
    assert [(f["kind"], f["subject"]) for f in p["would_open"]] == [("duty_unexercised", "D2")]
    assert [(f["kind"], f["subject"]) for f in p["would_close"]] == [("power_without_duty", "FOOD-1")]
    assert [d["duty_id"] for d in p["diff"][UNIT]["duties"]["added"]] == ["D2", "D3"]
