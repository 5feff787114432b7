"""Workbooks read back with openpyxl: numbers are numbers, rates formatted as percentages, local times, names beside
codes, the header frozen, the filter and time on the sheet, and formula injection kept as text."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import openpyxl

from core.workbook import workbook


def test_a_table_as_people_read_it():
    rows = [{"region_code": "110101", "received": 12, "on_time_rate": 0.8125, "avg_handling_hours": 3.5,
             "case_id": "=HYPERLINK(\"http://x\")", "note": "+1 cmd", "who": "@SUM(A1)", "minus": "-2+3",
             "at": "2026-01-02T00:30:00+00:00", "tags": ["a", "b"]},
            {"region_code": "110102", "received": 0, "on_time_rate": None, "avg_handling_hours": None,
             "case_id": "C-1", "note": "-5", "who": "ok\x01", "minus": None, "at": None, "tags": []}]
    cols = ["region_code", "received", "on_time_rate", "avg_handling_hours", "case_id", "note", "who", "minus", "at",
            "tags"]
    data = workbook("指标", cols, rows, filters={"from": "2026-01-01T00:00:00+08:00", "group_by": "region_code"},
                    as_of=datetime(2026, 1, 2, 4, 0, tzinfo=timezone.utc), names=lambda k, c: {"110101": "东城区"}.get(c),
                    labels={"received": "收件量"})
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws.freeze_panes == "A6" and ws.auto_filter.ref == "A5:K7"
    assert ws["A1"].value == "指标" and ws["A2"].value == "筛选：起=2026-01-01 00:00；分组=region_code"
    assert ws["B3"].value == datetime(2026, 1, 2, 12, 0), "the time of the figures, local"
    header = [c.value for c in ws[5]]
    assert header[:4] == ["区划代码", "区划", "收件量", "on_time_rate"]
    first = {h: c for h, c in zip(header, ws[6])}
    assert first["区划"].value == "东城区" and ws["B7"].value is None
    assert first["收件量"].value == 12 and first["收件量"].data_type == "n"
    assert first["on_time_rate"].value == 0.8125 and first["on_time_rate"].number_format == "0.0%"
    assert first["avg_handling_hours"].value == 3.5
    assert first["at"].value == datetime(2026, 1, 2, 8, 30) and first["at"].is_date
    assert first["tags"].value == "a、b"
    for key, text in (("办件编号", '=HYPERLINK("http://x")'), ("note", "+1 cmd"), ("who", "@SUM(A1)"),
                      ("minus", "-2+3")):
        assert first[key].value == text and first[key].data_type == "s", key  # shown as typed, never a formula
        assert first[key].quotePrefix, key
    second = {h: c for h, c in zip(header, ws[7])}
    assert second["who"].value == "ok" and second["on_time_rate"].value is None
    # no cell anywhere holds a formula
    assert not [c.coordinate for r in ws.iter_rows() for c in r if c.data_type == "f"]
