"""CSV for spreadsheets: every value read back as written, except that a text a spreadsheet would run as a formula
is read back with an apostrophe in front."""
from __future__ import annotations

import csv
import io
import re

from hypothesis import given
from hypothesis import strategies as st

from core.figures import csv_text

CELLS = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                  st.text(max_size=12), st.from_regex(r"-[0-9]{1,3}(\.[0-9])?", fullmatch=True), st.sampled_from(["=1+1", "+1", "-1", "-1.5", "-A", "@SUM(A1)", "\t=x", "-",
                                                         "=HYPERLINK(\"http://x\")", "330102", "-2+3+cmd|' /C calc'!A0"]))


@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), max_size=5))
def test_formulas_are_defused_and_everything_else_reads_back(rows):
    back = list(csv.reader(io.StringIO(csv_text(["a", "b", "c"], rows))))
    assert back[0] == ["a", "b", "c"] and len(back) == len(rows) + 1
    for row, got in zip(rows, back[1:]):
        for v, cell in zip(row, got):
            want = "" if v is None else str(v)
            number = re.fullmatch(r"-[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", v) if isinstance(v, str) else True
            if isinstance(v, str) and v and (v[0] in "=+@\t\r" or (v[0] == "-" and not number)):
                assert cell == "'" + want.replace("\r\n", "\n").replace("\r", "\n") or cell == "'" + want, (v, cell)
            else:
                assert cell == want or cell == want.replace("\r\n", "\n"), (v, cell)
            assert not cell or cell[0] not in "=+@\t\r", cell
