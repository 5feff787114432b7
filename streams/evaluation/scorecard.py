"""The scorecard as data (a shipped YAML a deployment may replace), validated, and the scoring it defines."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

SHIPPED = Path(__file__).with_name("scorecard.yaml")
SOURCES = ("staffing.over_kinds", "staffing.mixed_kinds", "staffing.over_post_levels", "findings.count", "findings.open_at_end", "duties.exercised_share",
           "duties.unexercised", "cases_per_staff", "list.changes", "reforms.decided",
           *(f"indicators.{k}" for k in ("received", "completed", "completion_rate", "on_time_rate",
                                         "one_time_correction_rate", "immediate_rate", "avg_handling_hours",
                                         "online_rate", "rejection_rate", "satisfaction_rate", "overdue",
                                         "out_of_list")),
           "demands.complaints_per_10k_cases", "demands.satisfaction_rate")


class ScoredIndicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    name: str = Field(min_length=1, max_length=100)
    source: str
    direction: Literal["higher", "lower"]
    weight: float = Field(gt=0)
    zero: float
    full: float

    @model_validator(mode="after")
    def _consistent(self) -> "ScoredIndicator":
        if not (self.source in SOURCES or self.source.startswith("manual:")):
            raise ValueError(f"{self.code}: unknown source {self.source!r}; use one of {', '.join(SOURCES)} or manual:<code>")
        if (self.full > self.zero) != (self.direction == "higher") or self.full == self.zero:
            raise ValueError(f"{self.code}: 'full' must be {'above' if self.direction == 'higher' else 'below'} 'zero'")
        return self

    def score(self, value: Optional[float]) -> Optional[float]:
        if value is None:
            return None
        share = (value - self.zero) / (self.full - self.zero)
        return round(100 * min(1.0, max(0.0, share)), 2)


class Scorecard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=40)
    indicators: list[ScoredIndicator] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "Scorecard":
        codes = [i.code for i in self.indicators]
        if len(set(codes)) != len(codes):
            raise ValueError("indicator codes must be unique")
        return self


def load_scorecard(path: Optional[Path] = None) -> Scorecard:
    p = Path(path) if path else SHIPPED
    try:
        return Scorecard.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"scorecard {p}: {exc}") from None


def value_of(inputs: dict[str, Any], manual: dict[str, float], source: str) -> Optional[float]:
    if source.startswith("manual:"):
        return manual.get(source[len("manual:"):])
    v = inputs.get("values", {}).get(source)
    return None if v is None else float(v)


def score(card: Scorecard, inputs: dict[str, Any], manual: dict[str, float]) -> tuple[list[dict], Optional[float]]:
    """Each indicator's value, score and weight; the total over those with a value (weights renormalised)."""
    rows, num, den = [], 0.0, 0.0
    for i in card.indicators:
        v = value_of(inputs, manual, i.source)
        s = i.score(v)
        rows.append({"code": i.code, "name": i.name, "source": i.source, "direction": i.direction, "value": v,
                     "score": s, "weight": i.weight, "left_out": s is None})
        if s is not None:
            num, den = num + s * i.weight, den + i.weight
    return rows, (round(num / den, 2) if den else None)
