"""SQL helpers the stores share: rows sent to PostgreSQL as one JSON document."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import orjson


def recordset(names: Sequence[str], types: Sequence[str], param: int = 1) -> str:
    """Rows travel as one JSON document: far cheaper to encode than one array per column, and as json, not
    jsonb, the server reads each row straight into its columns."""
    return f"json_to_recordset(${param}::json) AS x({', '.join(f'{n} {t}' for n, t in zip(names, types))})"


def as_json(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return orjson.dumps([dict(zip(names, r)) for r in rows]).decode()
