"""A demand (企業群眾訴求: a complaint, suggestion, enquiry or praise), as the edge accepts it (spec/demands.md §1)."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Optional

from pydantic import BaseModel, Field, model_validator

from core.script import to_simplified
from schemas.events import CODE, NO_NUL, REGION, Instant, Refusal, parse_model
from schemas.private import keyed_hash, mask_text, neutralise
from schemas.staffing import _STRICT, _canonical

# the spec writes them in traditional characters; either script is accepted and held in simplified
CHANNELS = tuple(to_simplified(v) for v in ("12345熱線", "網上留言", "好差評", "走訪調研", "其他"))
KINDS = tuple(to_simplified(v) for v in ("投訴", "建議", "咨詢", "表揚"))
OUTCOMES = tuple(to_simplified(v) for v in ("已解決", "未解決"))
SATISFACTIONS = tuple(to_simplified(v) for v in ("滿意", "基本滿意", "不滿意"))
COMPLAINT = KINDS[0]

# landlines the shared scrubber leaves (it knows mobiles, identity numbers, e-mails): an area code of 0 and two or
# three digits, then 7 or 8 digits, with or without a dash, a space or brackets; an extension may follow
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3})[\s-]?\d{7,8}(?:-\d{1,5})?(?![0-9A-Za-z])"
                       r"|(?<![0-9A-Za-z])[2-8]\d{3}-\d{4}(?![0-9A-Za-z])")
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE)]


def mask_private(text: str) -> str:
    """Every mobile, landline, identity number and e-mail address in a person's words masked."""
    return mask_text(_LANDLINE.sub("[tel]", neutralise(text)))


def requester_hash(key: bytes, requester: Any) -> str:
    """The keyed hash a requester (name, phone or account) becomes: the same phone however it is written."""
    text = str(requester).strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 11 and re.fullmatch(r"[\d\s+()\-（）]+", text):
        text = digits[-11:]
    return keyed_hash(key, text)


def private_demand(raw: Any, key: bytes) -> Any:
    """Before anything else sees a demand: its requester hashed, landlines in its texts masked (the shared scrubber
    then does the rest)."""
    if isinstance(raw, str):
        return mask_private(raw)
    if not isinstance(raw, dict):
        return raw
    out = {k: (mask_private(v) if isinstance(v, str) else v) for k, v in raw.items() if k != "requester"}
    if raw.get("requester") not in (None, ""):
        out["requester_hash"] = requester_hash(key, raw["requester"])
    return out


class Demand(BaseModel):
    model_config = _STRICT

    demand_id: Code
    received_at: Instant
    updated_at: Optional[Instant] = None
    channel: Annotated[str, _canonical(CHANNELS)]
    kind: Annotated[str, _canonical(KINDS)]
    region_code: str = Field(pattern=REGION)
    text: str = Field(min_length=1, max_length=5000, pattern=NO_NUL)
    item_code: Optional[Code] = None
    department_code: Optional[Code] = None
    case_id: Optional[Code] = None
    requester_hash: Optional[str] = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    handled_at: Optional[Instant] = None
    outcome: Annotated[Optional[str], _canonical(OUTCOMES)] = None
    satisfaction: Annotated[Optional[str], _canonical(SATISFACTIONS)] = None

    @model_validator(mode="after")
    def _masked(self) -> "Demand":
        if self.handled_at is not None and self.handled_at < self.received_at:
            raise ValueError("handled_at is before received_at")
        masked = mask_private(self.text)
        if masked != self.text:
            object.__setattr__(self, "text", masked)
        return self

    @property
    def version(self) -> datetime:
        """What decides between two copies of one demand: the later wins."""
        return self.updated_at or self.received_at

    def payload(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True)


def parse_demand(raw: Any, key: bytes, index: int = 0) -> tuple[Optional[Demand], Optional[Refusal]]:
    return parse_model(Demand, private_demand(raw, key), index, mask_private)
