"""A dead letter: an input refused or given up on, kept (up to a bound) with its reason, so the totals reconcile."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from core.sizes import MAX_REASON_CHARS, bounded_payload

# edge: refused by a connector; invalid: refused by the stream; orphan: its case never got a `submitted`;
# inapplicable: a staffing change that still did not apply where it stands after the grace period
Stage = Literal["edge", "invalid", "orphan", "inapplicable"]
Kind = Literal["case_event", "list_change", "staffing_change", "demand", "unknown"]


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dl_key: str  # unique: a dead letter recorded twice is recorded once
    stage: Stage
    kind: Kind
    source: str
    reason: str
    payload: Any = None

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        """Kept whole up to a bound, so that any dead letter fits the broker's message (core/sizes.py)."""
        if isinstance(data, dict):
            data = {**data, "payload": bounded_payload(data.get("payload"))}
            if isinstance(data.get("reason"), str) and len(data["reason"]) > MAX_REASON_CHARS:
                data["reason"] = data["reason"][:MAX_REASON_CHARS] + "…"
        return data
