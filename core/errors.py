"""Domain errors: what a caller asked for and cannot have, by kind; the HTTP layer maps each kind to its status."""
from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; the message says why."""


class Invalid(DomainError, ValueError):
    """The request is malformed or breaks a rule of its own fields."""


class Refused(DomainError):
    """The caller may not do this (the two-person rule, a region outside the caller's)."""


class NotFound(DomainError, LookupError):
    """What the request names does not exist."""


class Conflict(DomainError):
    """The request clashes with the thing's present state (already decided, not yet in effect)."""
