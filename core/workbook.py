"""Tables as .xlsx workbooks for people (the CSV helper's sibling, core/figures.py): names beside codes, local times,
numbers as numbers, rates as percentages, the header frozen, the filter and the time of the figures on the sheet, and
a text that a spreadsheet would run as a formula kept as text."""
from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from core.tz import TZ

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# a code column and the column of its name put beside it
NAMED = {"region_code": "region_name", "department_code": "department_name", "unit_code": "unit_name",
         "item_code": "item_name"}
LABELS = {
    "region_code": "区划代码", "region_name": "区划", "department_code": "部门代码", "department_name": "部门",
    "unit_code": "单位代码", "unit_name": "单位", "item_code": "事项编码", "item_name": "事项", "level": "层级",
    "name": "名称", "category": "事项类型", "region_codes": "适用区划", "statutory_days": "法定时限（工作日）",
    "committed_days": "承诺时限（工作日）", "legal_basis": "设定依据", "valid_from": "生效时间", "active": "在用",
    "quota_kind": "编制类型", "approved": "核定", "actual": "实有", "vacant": "空编", "over": "超编",
    "usage_rate": "使用率", "kind": "类型", "basis": "依据", "opened_at": "发现时间", "candidate": "待研判",
    "case_id": "办件编号", "state": "状态", "deadline": "期限", "submitted_at": "收件时间",
    "accepted_at": "受理时间", "ended_at": "办结时间", "evaluation_id": "评估编号", "type": "类型",
    "from": "起", "to": "止", "score": "得分", "created_by": "创建人", "created_at": "创建时间", "task_id": "任务编号",
    "text": "内容", "due_at": "期限", "overdue": "逾期", "subject": "对象", "figures": "数据", "as_of": "截至",
    "group_by": "分组", "mine": "我的", "valid_to": "失效时间", "change_id": "变更编号", "action": "变更类型",
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def label(key: str, labels: Optional[Mapping[str, str]] = None) -> str:
    return (labels or {}).get(key) or LABELS.get(key, key)


def _local(v: datetime) -> datetime:
    return v.astimezone(TZ).replace(tzinfo=None) if v.tzinfo else v


def _put(cell, key: str, v: Any) -> None:
    """One value as a spreadsheet should hold it."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(v, str) and _ISO.match(v):
        v = datetime.fromisoformat(v.replace("Z", "+00:00"))
    if isinstance(v, datetime):
        cell.value, cell.number_format = _local(v), "yyyy-mm-dd hh:mm"
    elif isinstance(v, date):
        cell.value, cell.number_format = v, "yyyy-mm-dd"
    elif isinstance(v, bool) or v is None:
        cell.value = v
    elif isinstance(v, (int, float)):
        cell.value = v
        if key.endswith("_rate") or key.endswith("_share"):
            cell.number_format = "0.0%"
        elif isinstance(v, float):
            cell.number_format = "0.00"
    else:
        if isinstance(v, (list, tuple)):
            v = "、".join(str(x) for x in v)
        elif isinstance(v, dict):
            v = json.dumps(v, ensure_ascii=False, default=str)
        text = ILLEGAL_CHARACTERS_RE.sub("", str(v))
        cell.value = text
        if text.startswith(_FORMULA):  # data from outside: shown as typed, never run
            cell.data_type = "s"
            cell.quotePrefix = True


def _shown(v: Any) -> str:
    if isinstance(v, str) and _ISO.match(v):
        v = datetime.fromisoformat(v.replace("Z", "+00:00"))
    return _local(v).strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else str(v)


def _columns(columns: Sequence[str], named: bool) -> list[str]:
    out: list[str] = []
    for c in columns:
        out.append(c)
        if named and c in NAMED and NAMED[c] not in columns and not (c == "item_code" and "name" in columns):
            out.append(NAMED[c])
    return out


def workbook(title: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *,
             filters: Optional[Mapping[str, Any]] = None, as_of: Any = None,
             names: Optional[Callable[[str, Optional[str]], Optional[str]]] = None,
             labels: Optional[Mapping[str, str]] = None) -> bytes:
    """One sheet: the title, the filter and the time of the figures, a blank row, the header (frozen, filterable)
    and the rows; `names(code_column, code)` gives the name put beside each code, `labels` the headers of keys of
    the caller's own (the indicators' names)."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "sheet"
    cols = _columns(columns, names is not None)
    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=13)
    shown = "；".join(f"{label(k, labels)}={_shown(v)}" for k, v in (filters or {}).items()
                     if v not in (None, "", [], ()))
    _put(ws.cell(2, 1), "", f"筛选：{shown or '无'}")
    when = as_of if as_of is not None else datetime.now(TZ)
    if isinstance(when, str) and _ISO.match(when):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    ws.cell(3, 1, "数据时间（北京时间）")
    _put(ws.cell(3, 2), "", when)
    for j, c in enumerate(cols, start=1):
        ws.cell(5, j, label(c, labels)).font = Font(bold=True)
    widths = [len(label(c, labels)) * 2 + 2 for c in cols]
    n = 5
    for n, row in enumerate(rows, start=6):
        for j, c in enumerate(cols, start=1):
            code_col = next((k for k, v in NAMED.items() if v == c), None)
            v = row.get(c) if c in row or code_col is None else names(code_col, row.get(code_col))
            _put(ws.cell(n, j), c, v)
            widths[j - 1] = max(widths[j - 1], min(50, len(str(v)) + 2 if v is not None else 0))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(8, w)
    ws.freeze_panes = "A6"
    if cols:
        ws.auto_filter.ref = f"A5:{get_column_letter(len(cols))}{max(n, 5)}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def columns_of(rows: Sequence[Mapping[str, Any]], first: Sequence[str] = ()) -> list[str]:
    """`first`, then every other key of the rows, in the order first met (an empty table still has its header)."""
    return list(dict.fromkeys([*first, *(k for r in rows for k in r)]))


async def table_workbook(conn, title: str, rows: Sequence[Mapping[str, Any]], *,
                         columns: Optional[Sequence[str]] = None, **kw: Any) -> bytes:
    """workbook() with the names of the rows' codes looked up (units, departments, items, regions)."""
    from core.names import names_for

    return workbook(title, columns_of(rows, columns or ()), rows, names=await names_for(conn, rows), **kw)
