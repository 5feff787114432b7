"""Records on the case-event topics."""
from __future__ import annotations

from typing import Any, List

import faust


class CaseEventBatch(faust.Record, serializer="json"):
    """The envelope connectors send: many events of one partition in one Kafka record."""

    batch_id: str
    source: str
    events: List[Any]
