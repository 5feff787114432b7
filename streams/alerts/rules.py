"""Alert rules and receivers from YAML (SHENPI_ALERT_RULES), validated at start-up with a clear error."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.tz import TZ, midnight
from streams.indicators.definitions import GUARDS, INDICATORS
from streams.indicators.window import GROUP_KEYS, Window

DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")
WindowName = Literal["today", "last_7_days", "this_month", "last_30_days"]
OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
       "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


class RuleError(ValueError):
    """A rules file that cannot be used: the message names the rule and the field."""


class Receiver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: Literal["webhook", "wecom", "dingtalk", "email", "alertmanager"]
    url: Optional[str] = None
    url_env: Optional[str] = Field(None, description="read the URL (it may hold a key) from this variable")
    secret_env: Optional[str] = Field(None, description="DingTalk signing secret, from this variable")
    to: list[str] = []
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    sender: str = "shenpi@localhost"
    username_env: Optional[str] = None
    password_env: Optional[str] = None

    @model_validator(mode="after")
    def _complete(self) -> "Receiver":
        if self.type == "email" and not self.to:
            raise ValueError("an email receiver needs 'to'")
        if self.type != "email" and not (self.url or self.url_env):
            raise ValueError(f"a {self.type} receiver needs 'url' or 'url_env'")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.:\-]+$")
    indicator: str
    group_by: list[str] = []
    where: dict[str, str] = {}
    window: WindowName = "today"
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    threshold: float
    min_volume: int = Field(0, ge=0)
    for_seconds: float = Field(0, ge=0, alias="for")
    resolve_after_seconds: Optional[float] = Field(None, ge=0)
    repeat_seconds: float = Field(4 * 3600, gt=0, alias="repeat")
    severity: Literal["info", "warning", "critical"] = "warning"
    receivers: list[str] = []
    summary: str = ""
    overdue_by_working_days: Optional[int] = Field(
        None, ge=0, description="with indicator overdue: count only cases past their deadline by more than this")

    @field_validator("indicator")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in INDICATORS + GUARDS:
            raise ValueError(f"unknown indicator {v!r}; one of {', '.join(INDICATORS + GUARDS)}")
        return v

    @field_validator("group_by")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        bad = [g for g in v if g not in GROUP_KEYS]
        if bad:
            raise ValueError(f"unknown group key(s) {', '.join(bad)}; use {', '.join(GROUP_KEYS)}")
        return [g for g in GROUP_KEYS if g in v]

    @field_validator("where")
    @classmethod
    def _filters(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if k not in GROUP_KEYS]
        if bad:
            raise ValueError(f"unknown filter key(s) {', '.join(bad)}; use {', '.join(GROUP_KEYS)}")
        return v

    @model_validator(mode="after")
    def _overdue_only(self) -> "Rule":
        if self.overdue_by_working_days is not None and self.indicator != "overdue":
            raise ValueError("overdue_by_working_days goes with indicator: overdue")
        return self

    @property
    def resolve_after(self) -> float:
        return self.resolve_after_seconds if self.resolve_after_seconds is not None else max(self.for_seconds, 60.0)

    def holds(self, value: Optional[float]) -> bool:
        return value is not None and OPS[self.op](value, self.threshold)

    def window_at(self, now: datetime) -> Window:
        today = midnight(now.astimezone(TZ).date())
        start = {"today": today, "last_7_days": today - timedelta(days=6), "last_30_days": today - timedelta(days=29),
                 "this_month": today.replace(day=1)}[self.window]
        return Window(start, now)


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receivers: list[Receiver] = []
    rules: list[Rule] = []
    # who hears of staffing findings opening and closing (None: every receiver)
    findings_receivers: Optional[list[str]] = None

    @model_validator(mode="after")
    def _references(self) -> "RuleFile":
        names = {r.name for r in self.receivers}
        for rule in self.rules:
            missing = [r for r in rule.receivers if r not in names]
            if missing:
                raise ValueError(f"rule {rule.name!r}: unknown receiver(s) {', '.join(missing)}")
        missing = [r for r in self.findings_receivers or () if r not in names]
        if missing:
            raise ValueError(f"findings_receivers: unknown receiver(s) {', '.join(missing)}")
        dup = {r.name for r in self.rules if sum(x.name == r.name for x in self.rules) > 1}
        if dup:
            raise ValueError(f"rule names must be unique: {', '.join(sorted(dup))}")
        return self


def load_rules(path: Optional[Path] = None) -> RuleFile:
    path = Path(path) if path else DEFAULT_RULES
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: cannot read the rules: {exc}") from None
    try:
        return RuleFile.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors(include_url=False):
            loc = list(err["loc"])
            if len(loc) >= 2 and loc[0] in ("rules", "receivers") and isinstance(loc[1], int):
                items = data.get(loc[0]) or []
                name = items[loc[1]].get("name", f"#{loc[1]}") if loc[1] < len(items) else f"#{loc[1]}"
                loc = [f"{loc[0][:-1]} {name!r}", *loc[2:]]
            parts.append(f"{'.'.join(str(x) for x in loc) or 'file'}: {err['msg']}")
        raise RuleError(f"{path}: " + "; ".join(parts)) from None
