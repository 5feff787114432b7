"""Dead letters in the database, where the reconciliation counts them."""
from __future__ import annotations

import json
from typing import Any, Sequence

import asyncpg

from schemas import DeadLetter


def _storable(text: str) -> str:
    """PostgreSQL text and jsonb hold no NUL: whatever came in is kept, with ␀ in its place."""
    return text.replace("\x00", "\u2400")


def _storable_json(value: Any) -> Any:
    """The payload with every NUL (in keys and values, at any depth) made ␀ before it is encoded: replacing the
    escape in the encoded text would break an escaped backslash followed by u0000 (a stopped worker, once)."""
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, list):
        return [_storable_json(v) for v in value]
    if isinstance(value, dict):
        return {_storable(str(k)): _storable_json(v) for k, v in value.items()}
    return value


async def insert_dead_letters(conn: asyncpg.Connection, letters: Sequence[DeadLetter]) -> int:
    """Record them (a dead letter recorded before is left as it was); returns how many were new."""
    if not letters:
        return 0
    cols = [[_storable(str(getattr(d, k))) for d in letters] for k in ("dl_key", "stage", "kind", "source", "reason")]
    res = await conn.fetch(
        "INSERT INTO dead_letter (dl_key, stage, kind, source, reason, payload)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])"
        " ON CONFLICT (dl_key) DO NOTHING RETURNING id",
        *cols, [json.dumps(_storable_json(d.payload), default=str, ensure_ascii=False) for d in letters],
    )
    return len(res)
