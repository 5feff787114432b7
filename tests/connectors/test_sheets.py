"""Reading real sheets: the header under title rows and merged cells, traditional and variant column names, a 序號
column, date cells, serial numbers and 30天, CSV in GB18030, .xls where xlrd reads it; bad files refused whole."""
from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest

from connectors.sheets import SheetError, aliases, day, days, find_header, read_sheet, text


def xlsx(rows, merges=(), title_rows=()) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in (*title_rows, *rows):
        ws.append(list(r))
    for m in merges:
        ws.merge_cells(m)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


LIST_HEADER = ("序號", "事項編碼", "權力事項名稱", "事項類型", "實施主體", "承諾時限（工作日）", "備 註")


def test_header_found_under_a_merged_title_and_traditional_variant_names():
    data = xlsx([LIST_HEADER, (1, "XK-001", "食品經營許可", "行政許可", "市場監督管理局", "30天", None),
                 (None, None, None, None, None, None, None),
                 (2, 330100002, "建築工程施工許可", "行政许可", "住建局", 20, "說明")],
                merges=("A1:G1", "A2:G2"),
                title_rows=(("濰坊市市級權責清單（2026年版）",), ("製表單位：市委編辦",)))
    sheet = read_sheet(data, "list.xlsx", "powerlist", ("item_code", "name"))
    assert sheet.header_row == 3
    assert sheet.headers["name"] == "權力事項名稱" and sheet.headers["committed_days"] == "承諾時限（工作日）"
    assert "seq" not in sheet.headers.values() and set(sheet.headers) >= {"item_code", "category", "department",
                                                                          "note"}
    assert [n for n, _ in sheet.rows] == [4, 6], "the blank row is skipped, the rows keep the sheet's numbers"
    first, second = (v for _, v in sheet.rows)
    assert first["committed_days"] == "30天" and days(first["committed_days"]) == 30
    assert text(second["item_code"]) == "330100002" and second["committed_days"] == 20


def test_a_header_of_two_rows_with_merged_cells():
    rows = [("事项编码", "事项名称", "办理时限", None, "实施机关", "事项类型"),
            (None, None, "法定时限", "承诺时限", None, None),
            ("A-1", "某许可", "二十日", "即办", "某局", "行政许可")]
    data = xlsx(rows, merges=("A1:A2", "B1:B2", "C1:D1", "E1:E2", "F1:F2"))
    sheet = read_sheet(data, "l.xlsx", "powerlist", ("item_code", "name", "department"))
    (n, v), = sheet.rows
    assert n == 3 and days(v["statutory_days"]) == 20 and days(v["committed_days"]) == 0
    assert v["department"] == "某局"


def test_cells_as_excel_stores_them():
    assert day(datetime(2019, 3, 1)) == date(2019, 3, 1)
    assert day(43525) == date(2019, 3, 1)  # an Excel serial number
    assert day("2019年3月1日") == day("2019/3/1") == day("20190301") == day(20190301) == date(2019, 3, 1)
    assert day("2019.03") == date(2019, 3, 1)
    assert [days(v) for v in ("30", "30个工作日", "三十日", "15 天", "即办", "无", None, 7)] == [30, 30, 30, 15, 0, None,
                                                                                         None, 7]
    for bad in ("三十多天", "-3", 2.5):
        with pytest.raises(ValueError):
            days(bad)
    with pytest.raises(ValueError):
        day("下个月")


def test_csv_in_gb18030_and_utf8_and_a_deployment_alias(tmp_path):
    body = "标题行\n序号,事项代码,职权名称,权力类型,行使主体,法定期限\n1,B-1,某确认,行政确认,某局,10\n"
    for enc in ("gb18030", "utf-8-sig"):
        sheet = read_sheet(body.encode(enc), "x.csv", "powerlist", ("item_code", "name"))
        assert sheet.header_row == 2 and sheet.rows[0][1]["name"] == "某确认", enc
    extra = tmp_path / "aliases.yaml"
    extra.write_text("powerlist:\n  name: [本地叫法]\n", encoding="utf-8")
    sheet = read_sheet("事项编码,本地叫法\nC-1,某事项\n".encode(), "y.csv", "powerlist", ("item_code", "name"),
                       extra_aliases=str(extra))
    assert sheet.rows[0][1] == {"item_code": "C-1", "name": "某事项"}
    assert aliases("powerlist")["事项编码"] == "item_code"


def test_bad_files_are_refused_whole():
    with pytest.raises(SheetError, match="no column for name"):
        read_sheet(xlsx([("事項編碼", "備註"), ("A", "b")]), "a.xlsx", "powerlist", ("item_code", "name"))
    with pytest.raises(SheetError, match="readable .xlsx"):
        read_sheet(b"not a zip", "a.xlsx", "powerlist", ("item_code",))
    with pytest.raises(SheetError, match=".xlsx, .xls or .csv"):
        read_sheet(b"", "a.pdf", "powerlist", ("item_code",))
    with pytest.raises(SheetError, match="UTF-8 or GB18030"):
        read_sheet(b"\xff\xfe\x00\x81\x30", "a.csv", "powerlist", ("item_code",))
    with pytest.raises(SheetError, match="no header row"):
        find_header([["a", "b"], [1, 2]], aliases("powerlist"), ("item_code",))
    with pytest.raises(SheetError, match="rows: split"):
        read_sheet(xlsx([("事項編碼", "事項名稱"), *[(f"A{i}", "n") for i in range(5)]]), "a.xlsx", "powerlist",
                   ("item_code",), max_rows=3)


def test_xls_is_read_by_xlrd_with_its_merged_title_and_date_cells():
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("清单")
    ws.write_merge(0, 0, 0, 3, "某县权责清单")
    for j, h in enumerate(("事項編碼", "事項名稱", "實施主體", "入編時間")):
        ws.write(1, j, h)
    ws.write(2, 0, 330100001.0)
    ws.write(2, 1, "某許可")
    ws.write(2, 2, "某局")
    ws.write(2, 3, datetime(2019, 3, 1), xlwt.easyxf(num_format_str="yyyy-mm-dd"))
    buf = io.BytesIO()
    wb.save(buf)
    sheet = read_sheet(buf.getvalue(), "a.xls", "powerlist", ("item_code", "name"))
    (n, v), = sheet.rows
    assert n == 3 and text(v["item_code"]) == "330100001" and v["name"] == "某許可" and v["department"] == "某局"
    roster = read_sheet(buf.getvalue(), "a.xls", "roster", ("entered",))
    assert day(roster.rows[0][1]["entered"]) == date(2019, 3, 1), "a date cell, as a date"
    # a damaged one is refused with the reason, never a crash
    with pytest.raises(SheetError, match="readable .xls"):
        read_sheet(b"\xd0\xcf\x11\xe0 not really", "a.xls", "powerlist", ("item_code",))


def test_a_hashed_field_is_replaced_at_once_and_its_refusal_carries_no_value():
    def check(v):
        if v != "good":
            raise ValueError("the check character is wrong")
        return "HASH"
    data = xlsx([("姓名", "身份證號"), ("甲", "good"), ("乙", "secret-value")])
    sheet = read_sheet(data, "r.xlsx", "roster", ("name",), hashers={"id_number": check})
    assert [(n, v["id_number"]) for n, v in sheet.rows] == [(2, "HASH")], "the refused row goes no further"
    assert [r.as_dict() for r in sheet.refused] == [{"row": 3, "column": "身份證號",
                                                     "reason": "the check character is wrong"}]
