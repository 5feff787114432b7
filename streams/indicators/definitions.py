"""The 14 indicators and the guard figures, defined once: each as a sum of additive components, or the ratio of
two sums. The query API, the edge-day recomputation, the alert volumes and the Grafana boards all derive from
this table, in Python (`value`, `volume`) or in SQL (`sql`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from streams.cases.logic import METRICS

# Figures at an instant, counted from case state and the list at the window's ends (not from daily components).
POINT = ("open_at_start", "in_progress", "overdue", "items_active", "zero_case_items")
COMPONENTS = (*METRICS, *POINT)


@dataclass(frozen=True)
class Indicator:
    key: str
    zh: str
    en: str
    num: tuple[str, ...]  # components added up; a leading "-" subtracts one
    den: tuple[str, ...] = ()  # empty: a count; else a ratio, null when this is 0
    scale: float = 1.0

    @property
    def is_ratio(self) -> bool:
        return bool(self.den)

    def value(self, c: Mapping[str, int]) -> Union[int, float, None]:
        if not self.den:
            return _sum(self.num, c)
        d = _sum(self.den, c)
        return None if d == 0 else _sum(self.num, c) * self.scale / d

    def volume(self, c: Mapping[str, int]) -> int:
        """What a figure rests on: a ratio's denominator, a count itself (alert rules' min_volume)."""
        return _sum(self.den or self.num, c)

    def sql(self, agg: str = "sum", points: Optional[Mapping[str, str]] = None) -> str:
        """The figure over rows of daily components (indicator_daily), e.g. for a Grafana panel; a POINT component
        it needs is given as an SQL expression in `points`."""
        num = _sql_sum(self.num, agg, points or {})
        if not self.den:
            return f"coalesce({num}, 0)"
        scale = "" if self.scale == 1.0 else f" * {self.scale!r}"
        return f"({num})::float8{scale} / nullif({_sql_sum(self.den, agg, points or {})}, 0)"


def _sum(terms: tuple[str, ...], c: Mapping[str, int]) -> int:
    return sum(-c[t[1:]] if t.startswith("-") else c[t] for t in terms)


def _sql_sum(terms: tuple[str, ...], agg: str, points: Mapping[str, str]) -> str:
    out = ""
    for t in terms:
        neg, name = t.startswith("-"), t.lstrip("-")
        if name in POINT and name not in points:
            raise ValueError(f"{name} is counted at an instant, not summed from daily rows: give it in points")
        if name in points:
            term = points[name]
        elif not agg:
            term = name
        elif points:  # beside a point figure, no daily rows means zero (as the API counts), not an unknown
            term = f"coalesce({agg}({name}), 0)"
        else:
            term = f"{agg}({name})"
        out += (" - " if neg else " + ") + term if out else ("-" if neg else "") + term
    return out


HOURS_PER_US = 1 / 3_600_000_000

TABLE: tuple[Indicator, ...] = (
    Indicator("items_active", "在冊事項數", "Items on the list", ("items_active",)),
    Indicator("received", "收件量", "Received", ("received",)),
    Indicator("accepted", "受理量", "Accepted", ("accepted",)),
    Indicator("completed", "辦結量", "Completed", ("completed",)),
    Indicator("completion_rate", "辦結率", "Completion rate", ("completed",), ("open_at_start", "accepted")),
    Indicator("in_progress", "在辦件數", "In progress", ("in_progress",)),
    Indicator("overdue", "超期在辦件數", "Overdue", ("overdue",)),
    # completions without a deadline are left out on both sides, and counted in completed_without_deadline
    Indicator("on_time_rate", "按時辦結率", "On-time rate", ("on_time",), ("completed", "-no_deadline")),
    Indicator("one_time_correction_rate", "一次性補正率", "One-time correction rate", ("corr_once",), ("corr_cases",)),
    Indicator("immediate_rate", "即辦件率", "Immediate rate", ("immediate",), ("completed",)),
    Indicator("avg_handling_hours", "平均辦理時長", "Average handling (h)", ("handling_us",), ("handled",),
              HOURS_PER_US),
    Indicator("online_rate", "網上申請率", "Online rate", ("online",), ("received",)),
    Indicator("rejection_rate", "不予受理率", "Rejection rate", ("rejected",), ("accepted", "rejected")),
    Indicator("satisfaction_rate", "好評率", "Satisfaction rate", ("satisfied",), ("evaluated",)),
)
GUARD_TABLE: tuple[Indicator, ...] = (
    Indicator("out_of_list", "清單外", "Outside the list", ("out_of_list",)),
    Indicator("zero_case_items", "零辦件事項", "Items without cases", ("zero_case_items",)),
    Indicator("completed_without_deadline", "無時限辦結", "Completed without a deadline", ("no_deadline",)),
)
BY_KEY = {i.key: i for i in (*TABLE, *GUARD_TABLE)}
INDICATORS = tuple(i.key for i in TABLE)
GUARDS = tuple(i.key for i in GUARD_TABLE)


def figures(c: Mapping[str, int]) -> dict[str, Union[int, float, None]]:
    """Every indicator and guard figure from one group's components."""
    return {i.key: i.value(c) for i in (*TABLE, *GUARD_TABLE)}


def get(key: str) -> Optional[Indicator]:
    return BY_KEY.get(key)


def group_row(keys: Mapping[str, Any], components: Mapping[str, int]) -> dict[str, Any]:
    """A group's answer: its keys, the 14 indicators, the guard figures, and the components they come from."""
    out = dict(keys)
    out.update(figures(components))
    out["components"] = {"open_at_start": components["open_at_start"], **{m: components[m] for m in METRICS}}
    return out
