"""How a figure is written for people (terminal tables, the console): rates as percentages, missing as a dash."""
from __future__ import annotations

from typing import Any


def fmt(key: str, v: Any) -> str:
    if v is None:
        return "—"
    if key.endswith("_rate"):
        return f"{v:.1%}"
    if isinstance(v, float):
        return f"{v:.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)
