"""The contract: the models say exactly what the spec says, and the committed JSON Schema is generated from them."""
from __future__ import annotations

from pathlib import Path

import pytest

from schemas import CASE_EVENT_TYPES, parse_case_event, parse_list_change
from schemas.jsonschema_export import MODELS, render

# as shared/spec/events.md lists them, written out here so that a type the code drops or adds fails the test
SPEC_EVENT_TYPES = ("submitted", "accepted", "rejected", "correction_requested", "correction_submitted", "suspended",
                    "resumed", "completed", "withdrawn", "evaluated")

SUBMITTED = {"event_id": "e1", "case_id": "c1", "type": "submitted", "occurred_at": "2024-01-02T09:00:00+08:00",
             "item_code": "I-1", "region_code": "330102001", "department_code": "D", "channel": "window"}


def test_committed_json_schema_matches_the_models():
    here = Path(__file__).resolve().parents[2] / "schemas" / "jsonschema"
    for name, model in MODELS.items():
        assert (here / name).read_text(encoding="utf-8") == render(model), f"run `shenpi schemas export`: {name}"


def test_the_models_know_exactly_the_spec_event_types():
    assert sorted(CASE_EVENT_TYPES) == sorted(SPEC_EVENT_TYPES)
    _, refusal = parse_case_event(SUBMITTED | {"type": "cancelled"})
    assert refusal is not None and "type: Input should be" in refusal.reason


@pytest.mark.parametrize("typ", SPEC_EVENT_TYPES)
def test_every_event_type_is_accepted_with_its_required_fields(typ):
    ev = {"event_id": "e", "case_id": "c", "type": typ, "occurred_at": "2024-01-02T09:00:00Z"}
    ev |= {"submitted": {k: SUBMITTED[k] for k in ("item_code", "region_code", "department_code", "channel")},
           "completed": {"outcome": "approved"}, "evaluated": {"score": 4}}.get(typ, {})
    model, refusal = parse_case_event(ev)
    assert refusal is None and model.type == typ


@pytest.mark.parametrize("patch, reason", [
    ({"occurred_at": "2024-01-02T09:00:00"}, "occurred_at: Input should have timezone info"),
    ({"region_code": "3301"}, "region_code: String should match pattern"),
    ({"channel": "fax"}, "channel: Input should be"),
    ({"score": 3}, None),
    ({"applicant_key": "x" * 200}, "applicant_key: String should have at most 128 characters"),
    ({"deadline": "soon"}, "deadline: Input should be a valid datetime"),
])
def test_field_errors_are_clear(patch, reason):
    _, refusal = parse_case_event(SUBMITTED | patch)
    if reason is None:
        assert refusal is None
    else:
        assert refusal is not None and reason in refusal.reason


def test_list_change_requirements_follow_the_action():
    base = {"change_id": "x", "item_code": "I", "effective_at": "2024-01-01T00:00:00+08:00"}
    assert parse_list_change(base | {"action": "cancelled"})[1] is None
    assert "devolved_to required" in parse_list_change(base | {"action": "devolved"})[1].reason
    ok, _ = parse_list_change(base | {"action": "devolved", "devolved_to": {"level": "town", "region_codes": ["330102001"]}})
    assert ok.devolved_to.level == "town"
    bad = parse_list_change(base | {"action": "added", "name": "n", "category": "許可", "department_code": "D",
                                    "level": "city", "region_codes": ["330100"]})[1]
    assert bad.reason.startswith("category: Input should be")
