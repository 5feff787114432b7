"""The working-day calendar file (工作日安排): statutory holidays and the weekend days worked in their place."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class DaySpan(BaseModel):
    """Named days: listed one by one, or a range from..to (both included)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    days: list[date] = []
    first: Optional[date] = Field(None, alias="from")
    last: Optional[date] = Field(None, alias="to")

    @model_validator(mode="after")
    def _some_days(self) -> "DaySpan":
        if (self.first is None) != (self.last is None):
            raise ValueError("give both 'from' and 'to', or neither")
        if self.first and self.last and self.last < self.first:
            raise ValueError("'to' is before 'from'")
        if not self.days and self.first is None:
            raise ValueError("no days: give 'days' or 'from' and 'to'")
        return self

    def dates(self) -> list[date]:
        span = [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)] if self.first else []
        return [*self.days, *span]


class CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holidays: list[DaySpan] = []
    workdays: list[DaySpan] = Field([], description="weekend days worked instead (調休)")

    @model_validator(mode="after")
    def _no_day_both(self) -> "CalendarFile":
        both = {d for s in self.holidays for d in s.dates()} & {d for s in self.workdays for d in s.dates()}
        if both:
            raise ValueError(f"days both holiday and workday: {', '.join(sorted(map(str, both)))}")
        return self

    def days(self) -> dict[date, tuple[bool, Optional[str]]]:
        """Each day the file sets: whether it is a working day, and why."""
        out = {d: (False, s.name) for s in self.holidays for d in s.dates()}
        out.update({d: (True, s.name) for s in self.workdays for d in s.dates()})
        return out


def load_calendar_file(path: Path) -> CalendarFile:
    return CalendarFile.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
