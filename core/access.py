"""Who a caller is, what their role allows, and which regions they see: a county's user sees that county and the
towns below it, a city's every region of the city, a province's the province; no scope, everywhere."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

ROLES = ("viewer", "supervisor", "list_admin", "staffing_admin", "admin")  # staffing_admin: maintains staffing data


@dataclass(frozen=True)
class Caller:
    name: str
    role: str  # one of ROLES, or "service" (the platform's credentials: writes events, reads everything)
    scope: str = ""  # a region code; "" = everywhere

    @property
    def everywhere(self) -> bool:
        return self.scope == ""

    def can(self, *roles: str) -> bool:
        return self.role in roles or self.role in ("admin", "service")


def scope_prefix(region_code: str) -> str:
    """The prefix every region code within `region_code`'s subtree starts with."""
    if len(region_code) == 9:
        return region_code
    if region_code.endswith("0000"):
        return region_code[:2]
    if region_code.endswith("00"):
        return region_code[:4]
    return region_code


def within(scope: str, region_code: Optional[str]) -> bool:
    return scope == "" or (region_code or "").startswith(scope_prefix(scope))


def scope_pattern(scope: str) -> Optional[str]:
    """The LIKE pattern of the region codes a scope sees (None: everywhere)."""
    return scope_prefix(scope) + "%" if scope else None


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % _ and backslashes taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
