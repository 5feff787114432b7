"""A workbook of the power list against the list in force: exactly the additions, modifications and cancellations it
asks for (cancellations only within the departments and regions it covers), none for unchanged rows, the unknown
department's row refused, drafts that a second person must approve, nothing in the list before then."""
from __future__ import annotations

import io
import json

import openpyxl

from connectors.sheets import read_sheet
from schemas import parse_list_change
from schemas.staffing import parse_staffing_change
from simulator.org import make_uscc
from streams.cases.reach import apply_list_changes
from streams.powerlist import drafts
from streams.powerlist.sheet import REQUIRED, import_rows
from streams.staffing.store import apply_staffing_changes

AT = "2024-01-01T00:00:00+08:00"
MARKET, HOUSING, OTHER = (make_uscc("11", "330100", n) for n in (31, 32, 33))
COUNTY_MARKET = make_uscc("11", "330102", 34)
UNITS = {MARKET: ("潍坊市市场监督管理局", "330100"), HOUSING: ("潍坊市住房和城乡建设局", "330100"),
         OTHER: ("潍坊市教育局", "330100"), COUNTY_MARKET: ("奎文区市场监督管理局", "330102")}


def item(code, dept, name, regions=("330100",), **kw):
    return {"change_id": f"L-{code}", "item_code": code, "action": "added", "effective_at": AT, "name": name,
            "category": "行政許可", "department_code": dept, "level": "city", "region_codes": list(regions), **kw}


IN_FORCE = [item("SC-1", MARKET, "食品经营许可", committed_days=20),
            item("SC-2", MARKET, "计量器具检定"),
            item("SC-4", MARKET, "特种设备使用登记"),                     # absent from the sheet: cancelled
            item("SC-3", MARKET, "计量器具型式批准", regions=("330100", "330200")),  # absent: stopped here only
            item("ZJ-1", HOUSING, "建筑工程施工许可证核发", committed_days=7,
                 legal_basis="《中华人民共和国建筑法》第七条"),
            item("JY-1", OTHER, "教师资格认定"),                           # a department the sheet does not cover
            item("QX-1", COUNTY_MARKET, "个体工商户登记", regions=("330102", "330103")),
            item("QX-3", COUNTY_MARKET, "农民专业合作社登记", regions=("330103",))]  # not the sheet's region


async def seed(conn):
    raws = [{"change_id": f"U{i}", "kind": "unit_set", "effective_at": "2020-01-01T00:00:00+08:00",
             "doc_no": "潍编〔2020〕1号", "unit_code": code, "name": name, "region_code": region,
             "nature": "行政机关", "rank": "正处级", "funding": "全额拨款"}
            for i, (code, (name, region)) in enumerate(UNITS.items())]
    await apply_staffing_changes(conn, [(f"d{i}", parse_staffing_change(r, b"k")[0]) for i, r in enumerate(raws)])
    await apply_list_changes(conn, [parse_list_change(x)[0] for x in IN_FORCE])


def workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["濰坊市市級權責清單（2026年版）"])
    ws.merge_cells("A1:H1")
    ws.append(["序號", "事項編碼", "事項名稱", "子項名稱", "事項類型", "實施主體", "承諾時限", "設定依據"])
    ws.append([1, "SC-1", "食品經營許可", None, "行政許可", "濰坊市市場監督管理局", "20天", None])  # unchanged (traditional)
    ws.append([2, "ＳＣ－２", "計量器具檢定", None, "行政許可", "潍坊市市场监督管理局", None, None])  # unchanged (full-width)
    ws.append([3, "ZJ-1", "建築工程施工許可證核發", None, "行政許可", "潍坊市住房和城乡建设局", "5个工作日",
               "《中华人民共和国建筑法》第七条"])                                          # modified: 7 -> 5 days
    ws.append([4, "SC-9", "食品生產許可", "低風險食品", "行政許可", "潍坊市市场监督管理局", 15, None])    # added
    ws.append([5, "XX-1", "某某許可", None, "行政許可", "潍坊市不存在局", 10, None])           # unknown department
    ws.append([6, "SC-8", "廣告發布登記", None, "行政許可", "潍坊市市场监督管理局", "很快", None])  # bad time limit
    ws.append([7, "ZJ-1", "重複一行", None, "行政許可", "潍坊市住房和城乡建设局", None, None])       # code repeated
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_exact_drafts_and_the_row_report(conn):
    await seed(conn)
    sheet = read_sheet(workbook(), "list.xlsx", "powerlist", REQUIRED)
    out = await import_rows(conn, sheet.rows, sheet.headers, [], "alice", 0.6, "330100", {"file": "list.xlsx"})
    assert out["rows"] == {"accepted": 2, "unchanged": 2, "refused": 3}
    assert [(r["row"], r["column"]) for r in out["refused"]] == [(7, "實施主體"), (8, "承諾時限"), (9, "事項編碼")]
    assert "潍坊市不存在局" in out["refused"][0]["reason"]
    made = {d["item_code"]: d for d in [await drafts.get(conn, i) for i in out["drafts"]]}
    assert set(made) == {"ZJ-1", "SC-9", "SC-4", "SC-3"}, "no draft for unchanged rows or other departments"
    assert {k: v for k, v in made["ZJ-1"]["change"].items() if k not in ("change_id", "effective_at")} == {
        "item_code": "ZJ-1", "action": "modified", "committed_days": 5}
    added = made["SC-9"]["change"]
    assert (added["action"], added["name"], added["department_code"], added["region_codes"], added["level"],
            added["committed_days"]) == ("added", "食品生產許可（低風險食品）", MARKET, ["330100"], "city", 15)
    assert made["SC-4"]["change"]["action"] == "cancelled" and "region_codes" not in made["SC-4"]["change"]
    assert made["SC-3"]["change"]["region_codes"] == ["330100"], "in force in 330200 too: stopped in 330100 only"
    assert {d["status"] for d in made.values()} == {"draft"} and {d["drafted_by"] for d in made.values()} == {"alice"}
    assert made["SC-9"]["evidence"]["row"] == 6
    # nothing changed in the list before approval
    assert await conn.fetchval("SELECT count(*) FROM list_change") == len(IN_FORCE)
    # the same sheet again drafts nothing new
    again = await import_rows(conn, sheet.rows, sheet.headers, [], "alice", 0.6, "330100", {"file": "list.xlsx"})
    assert sorted(again["drafts"]) == sorted(out["drafts"])
    assert await conn.fetchval("SELECT count(*) FROM list_draft") == 4
    # the second person's approval is what publishes (the two-person rule of the draft workflow)
    change = await drafts.decide(conn, made["SC-9"]["draft_id"], "bob", True)
    assert change.item_code == "SC-9" and json.loads(change.model_dump_json())["action"] == "added"


async def test_an_overlapping_addition_is_warned_and_a_county_sheet_stays_in_its_county(conn):
    await seed(conn)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["事项编码", "事项名称", "事项类型", "实施机关"])
    ws.append(["QX-1", "个体工商户登记", "行政许可", "奎文区市场监督管理局"])
    ws.append(["QX-2", "建筑工程施工许可证核发", "行政许可", "奎文区市场监督管理局"])
    buf = io.BytesIO()
    wb.save(buf)
    sheet = read_sheet(buf.getvalue(), "county.xlsx", "powerlist", REQUIRED)
    out = await import_rows(conn, sheet.rows, sheet.headers, [], "alice", 0.6, "330102", {})
    assert out["rows"] == {"accepted": 1, "unchanged": 1, "refused": 0}
    (d,) = [await drafts.get(conn, i) for i in out["drafts"]]
    assert d["change"]["region_codes"] == ["330102"] and d["change"]["level"] == "county"
    assert [w["item_code"] for w in d["checks"]] == ["ZJ-1"], "the city's look-alike item is named"
