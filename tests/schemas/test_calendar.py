"""The working-day calendar file: ranges expand, and contradictions are refused with the days named."""
from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from schemas.calendar import CalendarFile


def test_ranges_and_lists_give_each_day_once_with_its_reason():
    cal = CalendarFile.model_validate({
        "holidays": [{"name": "春節", "from": "2025-01-28", "to": "2025-01-30"}, {"name": "元旦", "days": ["2025-01-01"]}],
        "workdays": [{"name": "調休", "days": ["2025-01-26"]}]})
    assert cal.days() == {date(2025, 1, 28): (False, "春節"), date(2025, 1, 29): (False, "春節"),
                          date(2025, 1, 30): (False, "春節"), date(2025, 1, 1): (False, "元旦"),
                          date(2025, 1, 26): (True, "調休")}


@pytest.mark.parametrize("doc, reason", [
    ({"holidays": [{"name": "x", "days": ["2025-01-01"]}], "workdays": [{"name": "y", "days": ["2025-01-01"]}]},
     "both holiday and workday: 2025-01-01"),
    ({"holidays": [{"name": "x"}]}, "no days"),
    ({"holidays": [{"name": "x", "from": "2025-01-01"}]}, "give both 'from' and 'to'"),
    ({"holiday": []}, "Extra inputs are not permitted"),
])
def test_contradictions_are_refused_with_the_reason(doc, reason):
    with pytest.raises(ValidationError, match=reason):
        CalendarFile.model_validate(doc)
