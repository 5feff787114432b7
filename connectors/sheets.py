"""Reading a workbook as offices keep it (.xlsx, .xls, .csv in UTF-8 or GB18030): the header row found under title
rows and merged cells, columns named in either script by aliases kept as data, cells as the spreadsheet stored them."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import yaml

from core.script import cn_number, decode_text, to_simplified

ALIASES = Path(__file__).with_name("sheet_columns.yaml")
HEADER_SCAN = 30  # title rows above the header: a real sheet has a few, never this many
MAX_COLUMNS = 200


class SheetError(ValueError):
    """The whole file refused, with why (nothing of it is used)."""


@dataclass(frozen=True)
class Refused:
    row: int
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class Sheet:
    """A sheet's data rows as {field: cell value}, each with its row number as the spreadsheet shows it."""

    header_row: int
    headers: dict[str, str]  # field -> the column's name as written
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)  # cells refused while reading (a hashed field's check)


def _norm(text: Any) -> str:
    s = to_simplified(str(text or ""))
    s = re.sub(r"[（(【\[].*?[）)】\]]", "", s)  # 承诺时限（工作日） is 承诺时限
    return re.sub(r"[\s*＊:：]", "", s).lower()


@lru_cache(maxsize=8)
def aliases(kind: str, extra: Optional[str] = None) -> dict[str, str]:
    """Normalised column name -> field, the shipped names and a deployment's own (SHENPI_SHEET_ALIASES)."""
    out: dict[str, str] = {}
    for path in (ALIASES, *([Path(extra)] if extra else [])):
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SheetError(f"column aliases {path}: {exc}") from None
        for fld, names in (data.get(kind) or {}).items():
            for name in names or ():
                out.setdefault(_norm(name), fld)
    return out


# ----------------------------------------------------------------------------- the grid of cells

def _unpacked_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return sum(i.file_size for i in z.infolist())


def _xlsx(data: bytes, max_unpacked: int) -> list[list[Any]]:
    import openpyxl

    try:
        if _unpacked_size(data) > max_unpacked:
            raise SheetError(f"the workbook expands past {max_unpacked // 2**20} MB: refused")
        wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise SheetError(f"not a readable .xlsx workbook ({exc.__class__.__name__})") from None
    ws = wb.worksheets[0]
    grid = [list(r) for r in ws.iter_rows(values_only=True, max_col=min(ws.max_column, MAX_COLUMNS))]
    for rng in ws.merged_cells.ranges:  # every cell of a merged range reads as its top-left one
        top = ws.cell(rng.min_row, rng.min_col).value
        for r in range(rng.min_row, min(rng.max_row, len(grid)) + 1):
            for c in range(rng.min_col, min(rng.max_col, MAX_COLUMNS) + 1):
                grid[r - 1][c - 1] = top
    return grid


def _xls(data: bytes) -> list[list[Any]]:
    try:
        import xlrd
    except ImportError:
        raise SheetError("an .xls workbook needs the xlrd reader, which is not installed: save it as .xlsx") from None
    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True)
    except Exception as exc:  # xlrd raises its own and bare errors for a damaged file
        raise SheetError(f"not a readable .xls workbook ({exc.__class__.__name__})") from None
    sh = book.sheet_by_index(0)

    def value(c) -> Any:
        if c.ctype == xlrd.XL_CELL_DATE:
            return xlrd.xldate.xldate_as_datetime(c.value, book.datemode)
        return None if c.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK) else c.value

    grid = [[value(sh.cell(r, c)) for c in range(min(sh.ncols, MAX_COLUMNS))] for r in range(sh.nrows)]
    for r0, r1, c0, c1 in sh.merged_cells:
        for r in range(r0, r1):
            for c in range(c0, min(c1, MAX_COLUMNS)):
                grid[r][c] = grid[r0][c0]
    return grid


def _csv(data: bytes) -> list[list[Any]]:
    text = decode_text(data)
    if text is None:
        raise SheetError("a .csv must be UTF-8 or GB18030")
    return [[c if c != "" else None for c in row] for row in csv.reader(io.StringIO(text))]


def grid(data: bytes, filename: str, max_unpacked: int = 200 * 2**20) -> list[list[Any]]:
    """The first sheet's cells, row by row, merged ranges filled."""
    suffix = Path(filename).suffix.lower()
    readers = {".xlsx": lambda: _xlsx(data, max_unpacked), ".xlsm": lambda: _xlsx(data, max_unpacked),
               ".xls": lambda: _xls(data), ".csv": lambda: _csv(data)}
    if suffix not in readers:
        raise SheetError(f"{suffix or 'no suffix'}: a sheet is .xlsx, .xls or .csv")
    try:
        return readers[suffix]()
    except SheetError:
        raise
    except Exception as exc:  # a damaged file fails inside the readers in ways of their own: refused whole
        raise SheetError(f"not a readable {suffix} file ({exc.__class__.__name__})") from None


# ----------------------------------------------------------------------------- the header, then the rows

def _match(row: list[Any], names: dict[str, str]) -> dict[int, str]:
    """Column index -> field for the cells of `row` that name a field (the first column naming it wins)."""
    out: dict[int, str] = {}
    for i, v in enumerate(row):
        f = names.get(_norm(v)) if isinstance(v, str) else None
        if f and f not in out.values():
            out[i] = f
    return out


def find_header(cells: list[list[Any]], names: dict[str, str], required: Iterable[str]) -> tuple[int, dict[int, str]]:
    """The row (0-based) that names most fields among the first rows, with a second header row under it merged in
    (时限 over 法定 and 承诺); refused when it lacks a required field."""
    best, columns = -1, {}  # type: tuple[int, dict[int, str]]
    for r, row in enumerate(cells[:HEADER_SCAN]):
        m = _match(row, names)
        if len(m) > len(columns):
            best, columns = r, m
    if best < 0:
        raise SheetError("no header row: none of the first rows names a known column")
    nxt = _match(cells[best + 1], names) if best + 1 < len(cells) else {}
    if len(nxt) >= 2 or set(nxt.values()) - set(columns.values()):  # a header of two rows: the lower one is finer
        merged: dict[int, str] = {}
        for i in sorted({*columns, *nxt}):
            f = nxt.get(i) or columns[i]
            if f not in merged.values() and not (i not in nxt and f in nxt.values()):
                merged[i] = f
        columns, best = merged, best + 1
    missing = [f for f in required if f not in columns.values()]
    if missing:
        raise SheetError(f"row {best + 1}: no column for {', '.join(missing)}")
    return best, columns


def read_sheet(data: bytes, filename: str, kind: str, required: Iterable[str], extra_aliases: Optional[str] = None,
               hashers: Optional[dict[str, Callable[[Any], str]]] = None, max_rows: int = 100_000,
               max_unpacked: int = 200 * 2**20) -> Sheet:
    """The data rows under the header. A field in `hashers` is replaced at once by what its function makes of it;
    one the function refuses (ValueError) refuses the row with the column and the function's message only."""
    cells = grid(data, filename, max_unpacked)
    r0, columns = find_header(cells, aliases(kind, extra_aliases), required)
    header = cells[r0]
    sheet = Sheet(r0 + 1, {f: str(header[i]).strip() for i, f in columns.items()})
    hashers = hashers or {}
    for n, row in enumerate(cells[r0 + 1:], start=r0 + 2):
        values = {f: _clean(row[i]) if i < len(row) else None for i, f in columns.items() if f != "seq"}
        if all(v is None for v in values.values()) or _repeats_header(values, sheet.headers):
            continue
        if len(sheet.rows) >= max_rows:
            raise SheetError(f"more than {max_rows} rows: split the sheet")
        refused = False
        for f, fn in hashers.items():
            if values.get(f) is not None:
                try:
                    values[f] = fn(values[f])
                except ValueError as exc:  # the row goes no further: refused by its row and column, not its value
                    values[f], refused = None, True
                    sheet.refused.append(Refused(n, sheet.headers[f], str(exc)))
        if not refused:
            sheet.rows.append((n, values))
    return sheet


def _repeats_header(values: dict[str, Any], headers: dict[str, str]) -> bool:
    """A header printed again on each page of a long sheet."""
    return sum(1 for f, v in values.items() if isinstance(v, str) and _norm(v) == _norm(headers.get(f))) >= 2


def _clean(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip().replace("\u3000", " ").strip()
        return v or None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


# ----------------------------------------------------------------------------- cells as the office wrote them

def text(v: Any) -> Optional[str]:
    """A cell as text: a code typed as a number is its digits (330100001, not 330100001.0)."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip() or None


_DAYS = re.compile(r"^(\d+|[零〇一二两三四五六七八九十]+)\s*(个)?\s*(工作日|日|天|d)?$")
_NONE = {"无", "-", "—", "／", "/", "无时限", "不适用", "暂无"}
_NOW = {"即办", "即时办结", "即办件", "当场办结", "立即办理"}


def days(v: Any) -> Optional[int]:
    """A time limit in working days: 30, '30', '30天', '30个工作日', '三十日'; 即办 is 0; blank or 无 is none."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        if v < 0:
            raise ValueError(f"{v}: a time limit is not negative")
        return v
    if isinstance(v, float):
        raise ValueError(f"{v}: a time limit is a whole number of days")
    s = to_simplified(str(v)).strip()
    if s in _NONE:
        return None
    if s in _NOW:
        return 0
    m = _DAYS.match(s)
    n = (int(m.group(1)) if m.group(1).isdigit() else cn_number(m.group(1))) if m else None
    if n is None:
        raise ValueError(f"{str(v)[:40]!r} is not a number of days (30, 30天, 30个工作日, 即办)")
    return n


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(\d{1,2})\s*日?)?\s*月?$")


def day(v: Any) -> Optional[date]:
    """A date as sheets hold it: a date cell, an Excel serial number, 2019-03-01, 2019/3/1, 2019年3月1日, 20190301,
    2019.03 (the month's first day)."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 19000101 <= v <= 22001231 and float(v).is_integer():
            return day(str(int(v)))
        if 1 <= v < 100_000:
            from openpyxl.utils.datetime import from_excel

            return from_excel(v).date()
        raise ValueError(f"{v}: not a date")
    s = str(v).strip()
    if re.fullmatch(r"\d{8}", s):
        s = f"{s[:4]}-{s[4:6]}-{s[6:]}"
    m = _DATE.match(s)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
        return date.fromisoformat(s)
    except ValueError:
        raise ValueError(f"{s[:40]!r} is not a date (2019-03-01, 2019年3月1日, a date cell)") from None


def read_upload(data: bytes, filename: str, kind: str, required: Iterable[str], settings,
                hashers: Optional[dict[str, Callable[[Any], str]]] = None) -> Sheet:
    """read_sheet within the deployment's settings (its aliases file, its bounds)."""
    return read_sheet(data, filename, kind, required, str(settings.sheet_aliases) if settings.sheet_aliases else None,
                      hashers, settings.sheet_max_rows, settings.sheet_max_unpacked_bytes)
