"""The event contract (shared/spec/events.md) as pydantic models: the one source of truth."""
from schemas.events import (
    CASE_EVENT_TYPES, CASE_EVENTS, ITEM_ATTRS, CaseEvent, ListChange, Refusal, parse_case_event, parse_case_event_texts,
    parse_case_events,
    parse_list_change,
)
from schemas.deadletter import DeadLetter

__all__ = ["CASE_EVENT_TYPES", "CASE_EVENTS", "ITEM_ATTRS", "CaseEvent", "DeadLetter", "ListChange", "Refusal", "parse_case_event",
           "parse_case_event_texts", "parse_case_events", "parse_list_change"]
