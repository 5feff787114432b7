"""Pydantic models of approval case events and power-list changes, exactly as the spec says."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from datetime import datetime, timezone
from typing import Annotated, Any, Callable, Literal, Optional, TypeVar, get_args

import orjson
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

CaseEventType = Literal[
    "submitted", "accepted", "rejected", "correction_requested", "correction_submitted",
    "suspended", "resumed", "completed", "withdrawn", "evaluated",
]
CASE_EVENT_TYPES: tuple[str, ...] = get_args(CaseEventType)
Channel = Literal["online", "mobile", "window", "self_service", "post"]
Outcome = Literal["approved", "denied", "transferred", "terminated"]
Level = Literal["province", "city", "county", "town"]
# An item's attributes as a list change sets them and as the platform's catalog holds them.
ITEM_ATTRS = ("name", "category", "department_code", "level", "region_codes", "statutory_days", "committed_days",
              "legal_basis")


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


def _category(v: Any) -> Any:
    """Either script: data comes in simplified characters, the spec writes traditional (held as the spec writes it)."""
    if isinstance(v, str) and not isinstance(v, Category):
        from core.script import to_simplified

        s = to_simplified(v.strip())
        for c in Category:
            if to_simplified(c.value) == s:
                return c
    return v


# Codes (item, department): letters of any script, digits, and _ . - : / (real codes hold "/", e.g. WABO's
# "Inrit/Uitweg"); no "." or ".." segment. Whoever builds a URL from one escapes it.
CODE = r"^[\w.\-:/]+$"
REGION = r"^(\d{6}|\d{9})$"
MAX_REGIONS = 5000  # a list change's regions: every town of a province, and its record still small
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)


# Every check but the per-type required fields runs inside pydantic-core: validation is the workers' hottest path.
def _iso_text(v: Any) -> Any:
    if isinstance(v, (int, float)) or (isinstance(v, str) and v.strip().lstrip("+-").replace(".", "", 1).isdigit()):
        raise ValueError("give an ISO 8601 time with an offset, not a number")
    return v


def _utc(v: datetime) -> datetime:
    return v.astimezone(timezone.utc)


# the bounds next to the type, so that pydantic-core checks them natively
Instant = Annotated[AwareDatetime, Field(ge=EARLIEST, lt=LATEST), BeforeValidator(_iso_text), Field(
    json_schema_extra={"formatMinimum": "1970-01-01T00:00:00Z", "formatExclusiveMaximum": "2200-01-01T00:00:00Z"})]
# A case event's instants are held in UTC: its offset says nothing more, and instants that share their tzinfo compare
# without asking it for offsets (the case logic sorts and bisects them: half its time, measured). A list change keeps
# the offset it was written with: drafts show it back to the people who wrote it.
EventInstant = Annotated[Instant, AfterValidator(_utc)]
# Text the database cannot store is refused here, not discovered in the stream.
NO_NUL = r"^[^\x00]*$"


def _require(model: BaseModel, needs: dict[str, tuple[str, ...]], kind: str, noun: str):
    missing = [f for f in needs.get(kind, ()) if getattr(model, f) is None]
    if missing:
        raise ValueError(f"{', '.join(missing)} required on {kind!r} {noun}")
    return model


def _plain_code(code: str, name: str) -> None:
    """Full-width and other compatibility forms (ＡＢＣ１) would publish a look-alike beside the ASCII code."""
    import unicodedata

    if unicodedata.normalize("NFKC", code) != code:
        raise ValueError(f"{name}: {code!r} has full-width or compatibility characters; write {unicodedata.normalize('NFKC', code)!r}")


def _no_dot_segments(code: str, name: str) -> None:
    if any(part in ("", ".", "..") for part in code.split("/")):
        raise ValueError(f"{name}: {code!r} has an empty, '.' or '..' segment")


_NEEDS_BY_TYPE = {
    "submitted": ("item_code", "region_code", "department_code", "channel"),
    "completed": ("outcome",),
    "evaluated": ("score",),
}
_NEEDS_BY_ACTION = {
    "added": ("name", "category", "department_code", "level", "region_codes"),
    "devolved": ("devolved_to",),
}


class CaseEvent(BaseModel):
    """One step in the life of an approval case (審批辦件事件)."""

    model_config = _STRICT

    event_id: str = Field(min_length=1, max_length=128, pattern=NO_NUL)
    case_id: str = Field(min_length=1, max_length=128, pattern=NO_NUL)
    type: CaseEventType
    occurred_at: EventInstant
    item_code: Optional[str] = Field(default=None, min_length=1, max_length=64, pattern=CODE)
    region_code: Optional[str] = Field(default=None, pattern=REGION, description="6 digits: city/county; 9: town")
    department_code: Optional[str] = Field(default=None, min_length=1, max_length=64, pattern=CODE)
    channel: Optional[Channel] = None
    applicant_key: Optional[str] = Field(default=None, max_length=128, pattern=NO_NUL)
    deadline: Optional[EventInstant] = None
    outcome: Optional[Outcome] = None
    score: Optional[int] = Field(default=None, ge=1, le=5, strict=True)

    @model_validator(mode="after")
    def _required_by_type(self) -> "CaseEvent":
        if self.item_code is not None and "." in self.item_code:
            _no_dot_segments(self.item_code, "item_code")
        if self.item_code is not None and not self.item_code.isascii():
            _plain_code(self.item_code, "item_code")
        return _require(self, _NEEDS_BY_TYPE, self.type, "events") if self.type in _NEEDS_BY_TYPE else self


class DevolvedTo(BaseModel):
    model_config = _STRICT

    level: Level
    region_codes: list[Annotated[str, Field(pattern=REGION)]] = Field(min_length=1, max_length=MAX_REGIONS)


class ListChange(BaseModel):
    """A change to the power and responsibility list (權責清單變更)."""

    model_config = _STRICT

    change_id: str = Field(min_length=1, max_length=128, pattern=NO_NUL)
    item_code: str = Field(min_length=1, max_length=64, pattern=CODE)
    action: Literal["added", "modified", "cancelled", "devolved"]
    effective_at: Instant
    name: Optional[str] = Field(default=None, min_length=1, max_length=500, pattern=NO_NUL)
    category: Annotated[Optional[Category], BeforeValidator(_category)] = None
    department_code: Optional[str] = Field(default=None, min_length=1, max_length=64, pattern=CODE)
    level: Optional[Level] = None
    region_codes: Optional[list[Annotated[str, Field(pattern=REGION)]]] = Field(default=None, max_length=MAX_REGIONS)
    statutory_days: Optional[int] = Field(default=None, ge=0, le=3650, strict=True)
    committed_days: Optional[int] = Field(default=None, ge=0, le=3650, strict=True)
    devolved_to: Optional[DevolvedTo] = None
    legal_basis: Optional[str] = Field(default=None, max_length=2000, pattern=NO_NUL)

    @model_validator(mode="after")
    def _required_by_action(self) -> "ListChange":
        _no_dot_segments(self.item_code, "item_code")
        _plain_code(self.item_code, "item_code")
        if self.department_code:
            _plain_code(self.department_code, "department_code")
        return _require(self, _NEEDS_BY_ACTION, self.action, "changes")


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
        nul = err["type"] == "string_pattern_mismatch" and "\x00" in str(err["input"])
        parts.append(f"{loc}: {'NUL characters are not allowed' if nul else err['msg']}")
    return "; ".join(parts)


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], raw: Any, index: int = 0,
                mask: Callable[[str], str] = str) -> tuple[Optional[M], Optional[Refusal]]:
    """One input as `model`, or why not (the reason through `mask`, for sources that carry private data)."""
    if not isinstance(raw, dict):
        return None, Refusal(index, f"not a JSON object but {type(raw).__name__}", raw)
    try:
        return model.model_validate(raw), None
    except ValueError as exc:
        return None, Refusal(index, mask(_explain(exc) if isinstance(exc, ValidationError) else str(exc)), raw)


def parse_case_event(raw: Any, index: int = 0) -> tuple[Optional[CaseEvent], Optional[Refusal]]:
    return parse_model(CaseEvent, raw, index)


CASE_EVENTS = TypeAdapter(list[CaseEvent])


def parse_case_event_texts(texts: list[bytes]) -> list[tuple[Optional[CaseEvent], Optional[Refusal]]]:
    """Events given as JSON texts (each a well-formed object without repeated keys), all at once from the text;
    the same verdicts as parse_case_events on the parsed values (a test holds them equal)."""
    try:
        return [(ev, None) for ev in CASE_EVENTS.validate_json(b"[" + b",".join(texts) + b"]")]
    except ValidationError:
        return [parse_case_event(orjson.loads(t), i) for i, t in enumerate(texts)]


def parse_case_events(raws: list[Any]) -> list[tuple[Optional[CaseEvent], Optional[Refusal]]]:
    """All at once inside pydantic-core; only a list with a bad event in it is gone through one by one."""
    try:
        return [(ev, None) for ev in CASE_EVENTS.validate_python(raws)]
    except ValidationError:
        return [parse_case_event(raw, i) for i, raw in enumerate(raws)]


def parse_list_change(raw: Any, index: int = 0) -> tuple[Optional[ListChange], Optional[Refusal]]:
    return parse_model(ListChange, raw, index)
