"""Pydantic models of approval case events and power-list changes, exactly as the spec says."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

CASE_EVENT_TYPES = (
    "submitted", "accepted", "rejected", "correction_requested", "correction_submitted",
    "suspended", "resumed", "completed", "withdrawn", "evaluated",
)
CaseEventType = Literal[
    "submitted", "accepted", "rejected", "correction_requested", "correction_submitted",
    "suspended", "resumed", "completed", "withdrawn", "evaluated",
]
Channel = Literal["online", "mobile", "window", "self_service", "post"]
Outcome = Literal["approved", "denied", "transferred", "terminated"]
Level = Literal["province", "city", "county", "town"]


class Category(str, Enum):
    licensing = "行政許可"
    penalty = "行政處罰"
    enforcement = "行政強制"
    levy = "行政征收"
    benefit = "行政給付"
    inspection = "行政檢查"
    confirmation = "行政確認"
    reward = "行政獎勵"
    adjudication = "行政裁決"
    other_power = "其他行政權力"
    public_service = "公共服務"


CODE = r"^[^\s\x00-\x1f]+$"
REGION = r"^(\d{6}|\d{9})$"
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)


def _in_range(ts: Optional[datetime]) -> Optional[datetime]:
    if ts is not None and not EARLIEST <= ts < LATEST:
        raise ValueError("must lie between 1970 and 2200")
    return ts


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]


def _no_nul(data: Any) -> Any:
    """Text the database cannot store is refused here, not discovered in the stream."""
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, str) and "\x00" in v:
                raise ValueError(f"{k}: NUL characters are not allowed")
    return data


def _require(model: BaseModel, fields: tuple[str, ...], where: str):
    missing = [f for f in fields if getattr(model, f) is None]
    if missing:
        raise ValueError(f"{', '.join(missing)} required on {where}")
    return model


class CaseEvent(BaseModel):
    """One step in the life of an approval case (審批辦件事件)."""

    model_config = _STRICT

    event_id: str = Field(min_length=1, max_length=128)
    case_id: str = Field(min_length=1, max_length=128)
    type: CaseEventType
    occurred_at: Instant
    item_code: Optional[str] = Field(default=None, min_length=1, max_length=64, pattern=CODE)
    region_code: Optional[str] = Field(default=None, pattern=REGION, description="6 digits: city/county; 9: town")
    department_code: Optional[str] = Field(default=None, min_length=1, max_length=64, pattern=CODE)
    channel: Optional[Channel] = None
    applicant_key: Optional[str] = Field(default=None, max_length=128)
    deadline: Optional[Instant] = None
    outcome: Optional[Outcome] = None
    score: Optional[int] = Field(default=None, ge=1, le=5, strict=True)

    _nul = model_validator(mode="before")(classmethod(lambda cls, data: _no_nul(data)))

    @model_validator(mode="after")
    def _required_by_type(self) -> "CaseEvent":
        return _require(self, {
            "submitted": ("item_code", "region_code", "department_code", "channel"),
            "completed": ("outcome",),
            "evaluated": ("score",),
        }.get(self.type, ()), f"{self.type!r} events")


class DevolvedTo(BaseModel):
    model_config = _STRICT

    level: Level
    region_codes: list[Annotated[str, Field(pattern=REGION)]] = Field(min_length=1)


class ListChange(BaseModel):
    """A change to the power and responsibility list (權責清單變更)."""

    model_config = _STRICT

    change_id: str = Field(min_length=1, max_length=128)
    item_code: str = Field(min_length=1, max_length=64, pattern=CODE)
    action: Literal["added", "modified", "cancelled", "devolved"]
    effective_at: Instant
    name: Optional[str] = Field(default=None, min_length=1, max_length=500)
    category: Optional[Category] = None
    department_code: Optional[str] = Field(default=None, min_length=1, max_length=64, pattern=CODE)
    level: Optional[Level] = None
    region_codes: Optional[list[Annotated[str, Field(pattern=REGION)]]] = None
    statutory_days: Optional[int] = Field(default=None, ge=0, le=3650, strict=True)
    committed_days: Optional[int] = Field(default=None, ge=0, le=3650, strict=True)
    devolved_to: Optional[DevolvedTo] = None
    legal_basis: Optional[str] = Field(default=None, max_length=2000)

    _nul = model_validator(mode="before")(classmethod(lambda cls, data: _no_nul(data)))

    @model_validator(mode="after")
    def _required_by_action(self) -> "ListChange":
        return _require(self, {
            "added": ("name", "category", "department_code", "level", "region_codes"),
            "devolved": ("devolved_to",),
        }.get(self.action, ()), f"{self.action!r} changes")


@dataclass(frozen=True)
class Refusal:
    """Why one input was refused: the dead-letter reason."""

    index: int
    reason: str
    raw: Any


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _parse(model: type[BaseModel], raw: Any, index: int):
    if not isinstance(raw, dict):
        return None, Refusal(index, f"not a JSON object but {type(raw).__name__}", raw)
    try:
        return model.model_validate(raw), None
    except ValidationError as exc:
        return None, Refusal(index, _explain(exc), raw)


def parse_case_event(raw: Any, index: int = 0) -> tuple[Optional[CaseEvent], Optional[Refusal]]:
    return _parse(CaseEvent, raw, index)


def parse_list_change(raw: Any, index: int = 0) -> tuple[Optional[ListChange], Optional[Refusal]]:
    return _parse(ListChange, raw, index)
