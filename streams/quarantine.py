"""A take that fails on its data, not on the database, is split until the record at fault is found; that one is
dead-lettered whole and the rest goes through, so one bad record cannot stop a stream (or, restarted, end it)."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable, Sequence, TypeVar

import asyncpg
from pydantic import BaseModel

from schemas import DeadLetter
from schemas.deadletter import Kind
from streams.db import is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def reason_of(error: BaseException) -> str:
    return f"could not be processed: {type(error).__name__}: {error}"[:1000]


def given_up(key: str, kind: Kind, record: BaseModel, error: BaseException) -> DeadLetter:
    """The dead letter of a validated record the write path failed on: the record as it came, and the error."""
    return DeadLetter(dl_key=key, stage="invalid", kind=kind, source="kafka", reason=reason_of(error),
                      payload=record.model_dump(mode="json", exclude_none=True))


async def bisect(conn: asyncpg.Connection, items: Sequence[T], run: Callable[[asyncpg.Connection, Sequence[T]],
                 Awaitable[R]], add: Callable[[R, R], R], zero: R) -> tuple[R, list[tuple[T, BaseException]]]:
    """`run` the items (atomically: it fails whole); when it fails on their data, the halves, down to the items at
    fault. The outcome of those that went through (added up with `add`; `zero` when none did), and each item at
    fault with its error."""
    try:
        return await run(conn, items), []
    except Exception as exc:
        if is_transient(exc, conn) or not items:
            raise
        if len(items) == 1:
            log.error("a record given up: %s", reason_of(exc))
            return zero, [(items[0], exc)]
        half = len(items) // 2
        (a, bad_a), (b, bad_b) = (await bisect(conn, items[:half], run, add, zero),
                                  await bisect(conn, items[half:], run, add, zero))
        return add(a, b), bad_a + bad_b


async def quarantined(conn: asyncpg.Connection, deliveries: Sequence[tuple[str, BaseModel]],
                      run: Callable[[asyncpg.Connection, Sequence[tuple[str, BaseModel]]], Awaitable[R]],
                      add: Callable[[R, R], R], zero: R, kind: Kind, letters: list[DeadLetter],
                      key: Callable[[str, BaseModel], str] = lambda k, _: k) -> tuple[R, list[DeadLetter]]:
    """A take of (delivery key, record) pairs through `run`, quarantined by `bisect`; the records at fault are
    dead-lettered under `key` (default their delivery key) beside the take's other `letters`, in the same
    transaction. What `run` gave for the rest, and the dead letters, for the worker to publish."""
    from streams.deadletters.store import insert_dead_letters

    done, failed = await bisect(conn, deliveries, run, add, zero)
    dead = letters + [given_up(key(k, record), kind, record, error) for (k, record), error in failed]
    await insert_dead_letters(conn, dead)
    return done, dead


async def store_keyed(conn: asyncpg.Connection, deliveries: Sequence[tuple[str, BaseModel]],
                      run: Callable[[asyncpg.Connection, Sequence[tuple[str, BaseModel]]], Awaitable[R]],
                      add: Callable[[R, R], R], zero: R, kind: Kind, letters: list[DeadLetter]) -> list[DeadLetter]:
    """`quarantined`, for a stream whose take announces nothing but its dead letters."""
    return (await quarantined(conn, deliveries, run, add, zero, kind, letters))[1]
