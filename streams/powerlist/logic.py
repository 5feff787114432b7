"""Pure power-list logic: an item's versions from its changes, and the guard "no power outside the list"."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Iterable, Optional

from schemas import ITEM_ATTRS


@dataclass(frozen=True)
class Version:
    """The item as it stood from valid_from until valid_to (None: still in force)."""

    item_code: str
    valid_from: datetime
    valid_to: Optional[datetime]
    change_id: str
    action: str
    active: bool
    was_listed: bool
    name: Optional[str] = None
    category: Optional[str] = None
    department_code: Optional[str] = None
    level: Optional[str] = None
    region_codes: tuple[str, ...] = ()
    statutory_days: Optional[int] = None
    committed_days: Optional[int] = None
    legal_basis: Optional[str] = None
    devolved_from: tuple[str, ...] = field(default=())
    stopped_in: tuple[str, ...] = field(default=())  # regions a regional cancellation stopped it in


def build_versions(item_code: str, changes: Iterable[dict[str, Any]]) -> list[Version]:
    """Replay an item's changes in effective order; the same set of changes gives the same history
    whatever order they arrived in."""
    ordered = sorted(changes, key=lambda c: (c["effective_at"], c["change_id"]))
    out: list[Version] = []
    cur: Optional[Version] = None
    for ch in ordered:
        attrs = {k: ch.get(k) for k in ITEM_ATTRS if ch.get(k) is not None}
        if "region_codes" in attrs:
            attrs["region_codes"] = tuple(attrs["region_codes"])
        base = cur or Version(item_code, ch["effective_at"], None, ch["change_id"], ch["action"], False, False)
        action = ch["action"]
        if action in ("added", "modified"):
            if "region_codes" in attrs:  # a region listed again is no longer stopped
                attrs["stopped_in"] = tuple(c for c in base.stopped_in if c not in attrs["region_codes"])
            nxt = replace(base, active=True, **attrs) if action == "added" else replace(base, **attrs)
        elif action == "cancelled":
            where = tuple(ch.get("region_codes") or ())
            remaining = tuple(c for c in base.region_codes if c not in where)
            if where and base.active and (remaining or not base.region_codes):
                # stopped there only: in force elsewhere (an item of everywhere keeps everywhere but those)
                nxt = replace(base, region_codes=remaining,
                              stopped_in=tuple(dict.fromkeys(base.stopped_in + where)))
            else:
                nxt = replace(base, active=False)
        else:  # devolved
            to = ch["devolved_to"]
            moved = tuple(c for c in base.region_codes if c not in to["region_codes"])
            nxt = replace(base, active=True, level=to["level"], region_codes=tuple(to["region_codes"]),
                          devolved_from=tuple(dict.fromkeys(base.devolved_from + moved)))
        nxt = replace(nxt, valid_from=ch["effective_at"], valid_to=None, change_id=ch["change_id"],
                      action=action, was_listed=base.was_listed or base.active)
        if out:
            out[-1] = replace(out[-1], valid_to=nxt.valid_from)
        out.append(nxt)
        cur = nxt
    return out


class PowerList:
    """Versions of many items, answering 'what was in force at t'."""

    def __init__(self, versions: Iterable[Version]):
        self._by_item: dict[str, list[Version]] = {}
        for v in sorted(versions, key=lambda v: (v.item_code, v.valid_from, v.change_id)):
            self._by_item.setdefault(v.item_code, []).append(v)
        self._starts = {k: [v.valid_from for v in vs] for k, vs in self._by_item.items()}

    def at(self, item_code: str, ts: datetime) -> Optional[Version]:
        starts = self._starts.get(item_code)
        if not starts:
            return None
        i = bisect.bisect_right(starts, ts) - 1
        return self._by_item[item_code][i] if i >= 0 else None

    def guard(self, item_code: str, region_code: str, ts: datetime) -> Optional[str]:
        """None when the item is active for the region at ts, else the rule the event breaks."""
        v = self.at(item_code, ts)
        if v is None or not (v.active or v.was_listed):
            return "never_listed"
        if not v.active or region_code in v.stopped_in:
            return "cancelled"
        if v.region_codes and region_code not in v.region_codes:
            return "devolved_away" if region_code in v.devolved_from else "outside_regions"
        return None

    def deadline_days(self, item_code: str, ts: datetime) -> Optional[int]:
        """The working days a case accepted at ts has, by the item's version in force then: its committed days
        (承諾時限), else its statutory days (法定時限), else none."""
        v = self.at(item_code, ts)
        if v is None:
            return None
        return v.committed_days if v.committed_days is not None else v.statutory_days
