"""Records on the case-event topics."""
from __future__ import annotations

from typing import Any, List

import faust


class CaseEventBatch(faust.Record, serializer="json"):
    """The envelope connectors send: many events of one partition in one Kafka record."""

    batch_id: str
    source: str
    events: List[Any]


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
