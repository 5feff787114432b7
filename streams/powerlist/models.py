"""Records on the power-list topics."""
from __future__ import annotations

import faust


class Violation(faust.Record, serializer="json"):
    """A case event for an item not active in the list at the event's time (清單之外無權力)."""

    event_id: str
    case_id: str
    event_type: str
    item_code: str
    region_code: str
    department_code: str
    occurred_at: str
    rule: str
