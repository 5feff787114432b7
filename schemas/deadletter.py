"""A dead letter: an input refused or given up on, kept whole with its reason, so that the totals reconcile."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

# edge: refused by a connector; invalid: refused by the stream; orphan: its case never got a `submitted`;
# inapplicable: a staffing change that still did not apply where it stands after the grace period
Stage = Literal["edge", "invalid", "orphan", "inapplicable"]
Kind = Literal["case_event", "list_change", "staffing_change", "unknown"]


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dl_key: str  # unique: a dead letter recorded twice is recorded once
    stage: Stage
    kind: Kind
    source: str
    reason: str
    payload: Any = None
