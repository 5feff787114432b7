"""Staffing changes (機構編制變更, shared/spec/staffing.md §1) as one pydantic model: the edge's and the stream's truth."""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from stdnum.cn import uscc

from core.script import to_simplified
from core.sizes import MAX_RECORD_BYTES
from schemas.events import CODE, NO_NUL, REGION, Instant, Refusal, _require, parse_model

KINDS = ("document", "unit_set", "unit_abolished", "body_set", "body_abolished", "quota_set", "posts_set",
         "duties_set", "staff_in", "staff_out", "staff_moved")
STAFF_KINDS = ("staff_in", "staff_out", "staff_moved")

# The spec writes the enums in traditional characters; data comes in simplified. Both are accepted and held in
# simplified, the users' script (the table is OpenCC's, not ours).
DOC_TYPES = tuple(to_simplified(v) for v in ("三定規定", "機構編制審批文件", "調整通知", "其他"))
NATURES = tuple(to_simplified(v) for v in ("行政機關", "參公事業單位", "公益一類事業單位", "公益二類事業單位", "生產經營類事業單位"))
RANKS = tuple(to_simplified(v) for v in ("正廳級", "副廳級", "正處級", "副處級", "正科級", "副科級", "股級", "未定級"))
FUNDINGS = tuple(to_simplified(v) for v in ("全額撥款", "差額撥款", "自收自支"))
QUOTA_KINDS = tuple(to_simplified(v) for v in ("行政", "政法專項", "參公事業", "事業", "工勤"))
# the kinds whose holders count as the staff who handle cases (cases_per_staff)
HANDLING_KINDS = tuple(to_simplified(v) for v in ("行政", "政法專項", "參公事業"))
SEXES = {"男": "男", "女": "女", "m": "男", "f": "女", "male": "男", "female": "女"}


def _canonical(choices: tuple[str, ...]):
    def check(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        s = to_simplified(v.strip())
        if s not in choices:
            raise ValueError(f"{v!r} is not one of {', '.join(choices)}")
        return s
    return BeforeValidator(check)


def _sex(v: Any) -> Any:
    if isinstance(v, str) and v.strip().lower() in SEXES:
        return SEXES[v.strip().lower()]
    raise ValueError("男 or 女")


def _unit_code(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip().upper()
        if len(v) != 18:
            raise ValueError(f"a unified social credit code has 18 characters, not {len(v)}")
        if not uscc.is_valid(v):
            raise ValueError(f"{v!r}: the check character of the unified social credit code is wrong")
    return v


def _issued(v: Any) -> Any:
    """A date, or a time (its local date is taken)."""
    if isinstance(v, str) and "T" in v:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).date()
    return v


UnitCode = Annotated[str, BeforeValidator(_unit_code)]
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE)]
Count = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Duty(BaseModel):
    model_config = _STRICT

    duty_id: Code
    text: Annotated[str, Field(min_length=1, max_length=5000, pattern=NO_NUL)]
    item_codes: list[Code] = Field(default=[], max_length=1000)


_NEEDS = {
    "document": ("doc_no", "title", "issued_at", "doc_type", "text"),
    "unit_set": ("doc_no", "unit_code"),
    "unit_abolished": ("doc_no", "unit_code"),
    "body_set": ("doc_no", "unit_code", "body_code", "name"),
    "body_abolished": ("doc_no", "unit_code", "body_code"),
    "quota_set": ("doc_no", "unit_code", "quota_kind", "approved"),
    "posts_set": ("doc_no", "unit_code", "post_level", "approved"),
    "duties_set": ("doc_no", "unit_code", "duties"),
    "staff_in": ("person_key", "name", "sex", "unit_code", "quota_kind"),
    "staff_out": ("person_key",),
    "staff_moved": ("person_key",),
}
# what each kind may carry besides the common fields; anything else is a mistake worth refusing
_ALLOWED = {
    "document": {"title", "issued_at", "doc_type", "text"},
    "unit_set": {"unit_code", "name", "region_code", "parent_unit_code", "nature", "rank", "funding"},
    "unit_abolished": {"unit_code"},
    "body_set": {"unit_code", "body_code", "name", "rank"},
    "body_abolished": {"unit_code", "body_code"},
    "quota_set": {"unit_code", "quota_kind", "approved"},
    "posts_set": {"unit_code", "post_level", "approved"},
    "duties_set": {"unit_code", "duties"},
    "staff_in": {"person_key", "name", "sex", "unit_code", "body_code", "quota_kind", "post_level", "id_hash"},
    "staff_out": {"person_key", "id_hash"},
    "staff_moved": {"person_key", "unit_code", "body_code", "quota_kind", "post_level", "id_hash"},
}
_COMMON = {"change_id", "kind", "effective_at", "doc_no"}


class StaffingChange(BaseModel):
    """One change to a unit's 三定, its quotas, posts, bodies or staff, or a document of the archive."""

    model_config = _STRICT

    change_id: str = Field(min_length=1, max_length=128, pattern=NO_NUL)
    kind: Literal["document", "unit_set", "unit_abolished", "body_set", "body_abolished", "quota_set", "posts_set",
                  "duties_set", "staff_in", "staff_out", "staff_moved"]
    effective_at: Instant
    doc_no: Optional[str] = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    # document
    title: Optional[Text] = None
    issued_at: Annotated[Optional[date], BeforeValidator(_issued)] = None
    doc_type: Annotated[Optional[str], _canonical(DOC_TYPES)] = None
    text: Optional[str] = Field(default=None, max_length=MAX_RECORD_BYTES, pattern=NO_NUL)  # and the whole change
    # units and their parts
    unit_code: Optional[UnitCode] = None
    name: Optional[Text] = None
    region_code: Optional[str] = Field(default=None, pattern=REGION)
    parent_unit_code: Optional[UnitCode] = None
    nature: Annotated[Optional[str], _canonical(NATURES)] = None
    rank: Optional[Annotated[str, Field(min_length=1, max_length=20, pattern=NO_NUL)]] = None
    funding: Annotated[Optional[str], _canonical(FUNDINGS)] = None
    body_code: Optional[Code] = None
    quota_kind: Annotated[Optional[str], _canonical(QUOTA_KINDS)] = None
    post_level: Optional[Annotated[str, Field(min_length=1, max_length=20, pattern=NO_NUL)]] = None
    approved: Optional[Count] = None
    duties: Optional[list[Duty]] = Field(default=None, max_length=500)
    # staff
    person_key: Optional[str] = Field(default=None, min_length=1, max_length=128, pattern=NO_NUL)
    sex: Annotated[Optional[str], BeforeValidator(_sex)] = None
    id_hash: Optional[str] = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _by_kind(self) -> "StaffingChange":
        extra = self.model_fields_set - _COMMON - _ALLOWED[self.kind]
        if extra:
            raise ValueError(f"{', '.join(sorted(extra))} not allowed on {self.kind!r} changes")
        if self.kind == "unit_set" and self.rank is not None and to_simplified(self.rank) not in RANKS:
            raise ValueError(f"rank: {self.rank!r} is not one of {', '.join(RANKS)}")
        if self.kind == "duties_set":
            ids = [d.duty_id for d in self.duties or ()]
            if len(set(ids)) != len(ids):
                raise ValueError("duties: duty_id repeated")
        if self.kind == "staff_moved" and not self.model_fields_set & {"unit_code", "body_code", "quota_kind",
                                                                         "post_level"}:
            raise ValueError("staff_moved needs at least one of unit_code, body_code, quota_kind, post_level")
        if self.kind == "staff_moved" and "quota_kind" in self.model_fields_set and self.quota_kind is None:
            raise ValueError("quota_kind: a person in the establishment holds a kind (use staff_out to leave)")
        if self.kind in ("document", "duties_set") and len(self.model_dump_json(exclude_unset=True)) > MAX_RECORD_BYTES:
            raise ValueError(f"the change is over {MAX_RECORD_BYTES:,} bytes as JSON: split the document or the"
                             " duties over several changes")
        return _require(self, _NEEDS, self.kind, "changes")

    @property
    def ranked(self) -> Optional[str]:
        return None if self.rank is None else to_simplified(self.rank)

    def payload(self) -> dict[str, Any]:
        """As stored: what was given (an explicit null on a move means "none"), enums in canonical form."""
        out = self.model_dump(mode="json", exclude_unset=True)
        if self.kind == "unit_set" and self.rank is not None:
            out["rank"] = self.ranked
        return out


# an identity number (18 characters, the last a digit or X) wherever it may hide in refused text
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def identity_hash(key: bytes, id_number: str) -> str:
    return hmac.new(key, id_number.strip().upper().encode(), hashlib.sha256).hexdigest()


def mask_identity(raw: Any, key: bytes) -> Any:
    """An identity number (`id_number`, `idNumber`, `ID_NO`, …: schemas/private.py) replaced by its keyed hash as
    `id_hash` before anything else sees the change; in text that could not be read, anything shaped like one is
    blotted out."""
    from schemas.private import IDENTITY_FIELD, private_key

    named = [k for k in raw if isinstance(k, str) and private_key(k) and IDENTITY_FIELD.search(k)] \
        if isinstance(raw, dict) and "id_hash" not in raw else []
    if named:
        number = raw[named[0]]
        out = {k: v for k, v in raw.items() if k not in named}
        if isinstance(number, (str, int)) and str(number).strip():
            out["id_hash"] = identity_hash(key, str(number))
        return out
    if isinstance(raw, str):
        return _ID_LIKE.sub("[id]", raw)
    return raw


def parse_staffing_change(raw: Any, key: bytes, index: int = 0) -> tuple[Optional[StaffingChange], Optional[Refusal]]:
    return parse_model(StaffingChange, mask_identity(raw, key), index, lambda reason: _ID_LIKE.sub("[id]", reason))
