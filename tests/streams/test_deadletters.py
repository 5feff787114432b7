"""Dead letters keep whatever came in, NULs and all, in a form PostgreSQL stores (a payload it refused stopped the
worker: the dead-letter agent is the last stop, it cannot itself refuse)."""
from __future__ import annotations

import json

from schemas import DeadLetter
from streams.deadletters.store import insert_dead_letters


async def test_a_payload_with_nuls_and_escaped_backslashes_is_stored(private_conn):
    odd = {"text": "a\\u0000b", "nul": "x\x00y", "k\x00ey": ["\\", "\\\\u0000", "\x00"]}
    letter = DeadLetter(dl_key="dl:\x00:1", stage="edge", kind="demand", source="fuzz", reason="bad\x00", payload=odd)
    assert await insert_dead_letters(private_conn, [letter]) == 1
    assert await insert_dead_letters(private_conn, [letter]) == 0  # the same key: kept as it was
    row = await private_conn.fetchrow("SELECT dl_key, reason, payload::text AS payload FROM dead_letter")
    assert row["dl_key"] == "dl:\u2400:1" and row["reason"] == "bad\u2400"
    assert json.loads(row["payload"]) == {"text": "a\\u0000b", "nul": "x\u2400y", "k\u2400ey": ["\\", "\\\\u0000", "\u2400"]}
