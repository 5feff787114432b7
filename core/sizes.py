"""The sizes every record is held to, so that any record accepted, and any dead letter, fits the broker's message."""
from __future__ import annotations

import hashlib
import json
from typing import Any

MAX_RECORD_BYTES = 512 * 1024  # a staffing change (a document's text, a 三定's duties) as JSON, at most
DEAD_LETTER_PAYLOAD_BYTES = 64 * 1024  # what a dead letter keeps of what came in; the rest by its SHA-256
MAX_REASON_CHARS = 2000
# the broker's message size must hold the largest record with its envelope (settings.broker_message_bytes)
MIN_MESSAGE_BYTES = MAX_RECORD_BYTES + 64 * 1024


def json_size(obj: Any) -> int:
    return len(json.dumps(obj, ensure_ascii=False, default=str).encode())


def bounded_payload(payload: Any, limit: int = DEAD_LETTER_PAYLOAD_BYTES) -> Any:
    """`payload` itself when its JSON fits `limit` bytes; else its JSON text cut there, with the size of the whole
    and a SHA-256 of the part cut off (so the original can still be matched to it)."""
    if isinstance(payload, dict) and payload.keys() == {"truncated", "bytes", "rest_sha256"}:
        return payload  # cut already (at the edge; the dead-letter stream reads it back)
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, default=str)
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return payload
    kept = raw[:limit - 256].decode("utf-8", "ignore")  # room for the rest's size and hash: the whole within limit
    rest = raw[len(kept.encode()):]
    return {"truncated": kept, "bytes": len(raw), "rest_sha256": hashlib.sha256(rest).hexdigest()}
