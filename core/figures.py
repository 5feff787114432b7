"""How a figure is written for people (terminal tables, the console, CSV downloads): rates as percentages, missing
as a dash."""
from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterable, Sequence


def fmt(key: str, v: Any) -> str:
    if v is None:
        return "—"
    if key.endswith("_rate"):
        return f"{v:.1%}"
    if isinstance(v, float):
        return f"{v:.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


_NUMBER = re.compile(r"-[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _cell(v: Any) -> Any:
    """A text a spreadsheet would run as a formula (=, +, @, a tab or CR first, or a "-" before anything but a
    number) is written with a leading apostrophe: case and applicant fields come from outside."""
    if v is None:
        return ""
    if isinstance(v, str) and v and (v[0] in "=+@\t\r" or (v[0] == "-" and not _NUMBER.fullmatch(v))):
        return "'" + v
    return v


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV for people who open it in a spreadsheet: a header, missing as empty."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    w.writerows([_cell(v) for v in r] for r in rows)
    return buf.getvalue()
