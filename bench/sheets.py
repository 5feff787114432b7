"""How long a large workbook takes: reading a list of N rows (header found, cells cleaned) and writing a table of N
rows (names beside codes, formats) — the parts that run in the API's child process or thread."""
from __future__ import annotations

import argparse
import io
import time

import openpyxl

from connectors.sheets import read_sheet
from core.workbook import workbook


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    n = ap.parse_args().rows
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某市权责清单"])
    ws.merge_cells("A1:H1")
    ws.append(["序号", "事项编码", "事项名称", "事项类型", "实施主体", "承诺时限", "法定时限", "设定依据"])
    for i in range(n):
        ws.append([i + 1, f"XK-{i:06d}", f"某某事项{i}", "行政许可", "某市某局", "20天", 30, "《某法》第十条"])
    buf = io.BytesIO()
    wb.save(buf)
    t0 = time.perf_counter()
    sheet = read_sheet(buf.getvalue(), "l.xlsx", "powerlist", ("item_code", "name"))
    t1 = time.perf_counter()
    rows = [{"region_code": "110101", "department_code": f"D{i % 50}", "received": i, "on_time_rate": 0.9,
             "at": "2026-01-01T00:00:00+08:00", "case_id": f"C{i}"} for i in range(n)]
    data = workbook("t", list(rows[0]), rows, names=lambda k, c: "名称")
    t2 = time.perf_counter()
    print(f"read {len(sheet.rows):,} rows in {t1 - t0:.2f} s; wrote {n:,} rows in {t2 - t1:.2f} s"
          f" ({len(data) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
