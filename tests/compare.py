"""Comparing indicator rows from the system with those of the reference recomputation."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from streams.indicators.queries import GUARDS, INDICATORS
from tests.histories import BASE

KEYS = INDICATORS + GUARDS
WINDOWS = [
    (BASE - timedelta(days=12), BASE + timedelta(days=70)),
    (BASE + timedelta(days=3), BASE + timedelta(days=10)),
    (BASE + timedelta(days=9), BASE + timedelta(days=10)),
    (BASE + timedelta(days=16), BASE + timedelta(days=30)),
    # windows that cut days: answered exactly from the raw events of their edge days
    (BASE + timedelta(days=3, hours=5, minutes=17), BASE + timedelta(days=9, hours=13)),
    (BASE + timedelta(days=9, hours=2), BASE + timedelta(days=9, hours=20, seconds=1)),
]
GROUPINGS = [(), ("region_code",), ("department_code", "item_code"), ("level",),
             ("region_code", "department_code", "item_code", "level")]


def _empty(row: dict) -> bool:
    return all(not row[k] for k in KEYS)


def normalise(rows: dict[tuple, dict]) -> dict[tuple, dict]:
    return {k: {m: r[m] for m in KEYS} for k, r in rows.items() if not _empty(r)}


def assert_same(got: dict[tuple, dict], want: dict[tuple, dict], context: str) -> None:
    got, want = normalise(got), normalise(want)
    assert set(got) == set(want), f"{context}: groups differ: only got {set(got) - set(want)}, only want {set(want) - set(got)}"
    for k in want:
        for m in KEYS:
            g, w = got[k][m], want[k][m]
            if w is None or g is None:
                assert g == w, f"{context} group {k} {m}: got {g}, want {w}"
            else:
                assert math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-12), f"{context} group {k} {m}: got {g}, want {w}"


def rows_by_key(rows: list[dict], group_by: tuple[str, ...]) -> dict[tuple, dict]:
    return {tuple(r[g] for g in group_by): r for r in rows}


def window_label(t0: datetime, t1: datetime) -> str:
    return f"[{t0.date()}, {t1.date()})"
