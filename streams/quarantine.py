"""A take that fails on its data, not on the database, is split until the record at fault is found; that one is
dead-lettered whole and the rest goes through, so one bad record cannot stop a stream (or, restarted, end it)."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable, Sequence, TypeVar

import asyncpg

from streams.db import is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def reason_of(error: BaseException) -> str:
    return f"could not be processed: {type(error).__name__}: {error}"[:1000]


async def bisect(conn: asyncpg.Connection, items: Sequence[T], run: Callable[[asyncpg.Connection, Sequence[T]],
                 Awaitable[R]], give_up: Callable[[asyncpg.Connection, T, BaseException], Awaitable[R]],
                 add: Callable[[R, R], R]) -> R:
    """`run` the items (atomically: it fails whole); when it fails on their data, the halves, down to the one
    item at fault, which `give_up` accounts for. The outcomes add up with `add`."""
    try:
        return await run(conn, items)
    except Exception as exc:
        if is_transient(exc, conn) or not items:
            raise
        if len(items) == 1:
            log.error("a record given up: %s", reason_of(exc))
            return await give_up(conn, items[0], exc)
        half = len(items) // 2
        return add(await bisect(conn, items[:half], run, give_up, add),
                   await bisect(conn, items[half:], run, give_up, add))
