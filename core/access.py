"""Who a caller is, what their role allows, and which regions they see: a county's user sees that county and the
towns below it, a city's every region of the city, a province's the province; no scope, everywhere."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Optional

ROLES = ("viewer", "supervisor", "list_admin", "staffing_admin", "admin")  # staffing_admin: maintains staffing data
USERS_CHANNEL = "shenpi_users"  # NOTIFY with a user's name: their role, scope or token changed, or they were disabled


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


class RegionError(ValueError):
    """Not a region code."""


_REGION = re.compile(r"[0-9]{6}(?:[0-9]{3}){0,2}")


def parse_region(text: str) -> str:
    """The one reading of a region code: 6 digits (province, city, county), 12 (the statistical code: county, town,
    village; trailing zero groups name the town or county) or the events' 9-digit town; anything else is refused
    rather than read as a prefix (an 8-digit "33010200" would widen a county to its city)."""
    if not isinstance(text, str) or not _REGION.fullmatch(text):
        raise RegionError(f"{text!r} is not a region code (6 or 12 digits, or a 9-digit town)")
    if len(text) == 12:
        text = text[:6] if text.endswith("000000") else text[:9] if text.endswith("000") else text
    return text


def scope_prefix(region_code: str) -> str:
    """The prefix every region code within `region_code`'s subtree starts with."""
    code = parse_region(region_code)
    if len(code) > 6:
        return code
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def narrow(scope: str, region: Optional[str]) -> Optional[str]:
    """The caller's scope intersected with a region asked for: the narrower of the two, or None when they do not
    meet (nothing to see). A region never replaces the scope."""
    if region is None:
        return scope
    region = parse_region(region)
    if within(scope, region):
        return region
    return scope if within(region, scope) else None


def within(scope: str, region_code: Optional[str]) -> bool:
    """Whether `region_code` lies in `scope`'s subtree (a code that is no region code lies nowhere)."""
    if scope == "":
        return True
    try:
        return parse_region(region_code or "").startswith(scope_prefix(scope))
    except RegionError:
        return False


def scope_pattern(scope: str) -> Optional[str]:
    """The LIKE pattern of the region codes a scope sees (None: everywhere)."""
    return scope_prefix(scope) + "%" if scope else None


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % _ and backslashes taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def token_digest(token: str) -> str:
    """What is stored of a bearer token or a session cookie: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()
