"""Events validated from their JSON text get the same verdicts as from their parsed values."""
from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import parse_case_event_texts, parse_case_events

ODD = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
                st.text(max_size=12), st.sampled_from(["4", "4.0", " x ", "\u00a0y", "ITEM/../A", "330102", "33010200",
                                                        "online", "EVALUATED", "2025-01-01"]))
TIMES = st.one_of(ODD, st.sampled_from([
    "2025-01-01T00:00:00+08:00", "2025-01-01T00:00:00Z", "2025-01-01 00:00:00+08:00", "2025-01-01T00:00:00",
    "2025-01-01T00:00:00.1234567+08:00", "20250101T000000Z", "2025-01-01T00:00:00+08", "2025-01-01T24:00:00Z",
    "1969-12-31T23:59:59Z", "2199-12-31T23:59:59.999999Z", "2200-01-01T00:00:00Z", "1e9", "2025-02-29T00:00:00Z"]))
BASES = [
    {"event_id": "e1", "case_id": "c1", "type": "submitted", "occurred_at": "2025-01-01T09:00:00+08:00",
     "item_code": "ITEM-1", "region_code": "330102", "department_code": "D-1", "channel": "online"},
    {"event_id": "e2", "case_id": "c1", "type": "accepted", "occurred_at": "2025-01-02T09:00:00Z",
     "deadline": "2025-01-09T09:00:00+08:00"},
    {"event_id": "e3", "case_id": "c1", "type": "evaluated", "occurred_at": "2025-01-03T09:00:00Z", "score": 4},
    {"event_id": "e4", "case_id": "c1", "type": "completed", "occurred_at": "2025-01-03T09:00:00Z",
     "outcome": "approved"},
]
FIELDS = ["event_id", "case_id", "type", "occurred_at", "item_code", "region_code", "department_code", "channel",
          "applicant_key", "deadline", "outcome", "score", "extra"]


@st.composite
def event(draw):
    """A valid event with one field changed to an odd value (often still valid: the text path then decides)."""
    ev = dict(draw(st.sampled_from(BASES)))
    field = draw(st.sampled_from(FIELDS))
    ev[field] = draw(TIMES if field in ("occurred_at", "deadline") else ODD)
    return ev


@settings(max_examples=600, deadline=None)
@given(st.lists(event(), min_size=1, max_size=2))
def test_text_and_value_verdicts_agree(values):
    by_value = parse_case_events(values)
    by_text = parse_case_event_texts([orjson.dumps(v) for v in values])
    assert [(e, r and r.reason) for e, r in by_text] == [(e, r and r.reason) for e, r in by_value]
