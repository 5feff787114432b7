"""SQL helpers the stores share: rows sent to PostgreSQL as one JSON document."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import asyncpg
import orjson


def recordset(names: Sequence[str], types: Sequence[str], param: int = 1) -> str:
    """Rows travel as one JSON document: far cheaper to encode than one array per column, and as json, not
    jsonb, the server reads each row straight into its columns."""
    return f"json_to_recordset(${param}::json) AS x({', '.join(f'{n} {t}' for n, t in zip(names, types))})"


def as_json(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return orjson.dumps([dict(zip(names, r)) for r in rows]).decode()


async def copy_if_new(conn: asyncpg.Connection, table: str, columns: Sequence[str], records: list[tuple]) -> bool:
    """COPY the rows, in a savepoint: True when none of them existed; False, and nothing written, when one did
    (the caller then inserts them the way that skips those)."""
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(table, columns=columns, records=records)
        return True
    except asyncpg.UniqueViolationError:
        return False
