"""Bodies and files into raw items: a JSON array or object, NDJSON, or CSV; what can't be read is refused."""
from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Iterable, Iterator, Optional, Sequence

import orjson

from schemas import Refusal, parse_case_events, parse_list_change
from schemas.demands import parse_demand, private_demand
from schemas.private import mask_text, scrubbed
from schemas.staffing import mask_identity, parse_staffing_change

Item = tuple[int, Any]  # (index in the input, the decoded value or a Refusal)


# every JSON string, scanned from the start (outside strings JSON has no quotes)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _strings_in_text(text: bytes) -> int:
    """Without a backslash every quote delimits a string: counting them is enough (and costs next to nothing)."""
    return text.count(b'"') // 2 if b"\\" not in text else sum(1 for _ in _STRINGS.finditer(text))


class _Object(dict):
    """A JSON object as the slow parser builds it, knowing the first key it repeated."""

    repeated: Optional[str] = None


def _hook(pairs: list[tuple[str, Any]]) -> _Object:
    out = _Object()
    for k, v in pairs:
        if k in out and out.repeated is None:
            out.repeated = k
        out[k] = v
    return out


def _repeated(v: Any) -> Optional[str]:
    if isinstance(v, _Object) and v.repeated is not None:
        return v.repeated
    for child in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()):
        key = _repeated(child)
        if key is not None:
            return key
    return None


def _strings_in_value(v: Any) -> int:
    n = 0
    if isinstance(v, dict):
        n = len(v)
        v = v.values()
    elif not isinstance(v, list):
        return isinstance(v, str)
    for x in v:
        if x.__class__ is str:
            n += 1
        elif isinstance(x, (dict, list)):
            n += _strings_in_value(x)
    return n


def _without_repeats(text: bytes, value: Any) -> Optional[Any]:
    """None when no object in the text repeats a key (JSON parsers keep the last value silently); else the value
    parsed again, objects knowing their repeats. Every string of the text is a key or a value of the parsed value,
    unless a repeat dropped it: equal counts prove there is none."""
    if _strings_in_text(text) == _strings_in_value(value):
        return None
    return json.loads(text, object_pairs_hook=_hook)


def decode_json_body(body: bytes) -> list[Item]:
    """A JSON array, a single JSON object, or NDJSON (one value a line); an object that repeats a key is refused."""
    text = body.strip()
    if not text:
        return []
    if text[:1] in (b"[", b"{"):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if text[:1] == b"[":
                return [(0, Refusal(0, f"malformed JSON array: {exc}", body.decode("utf-8", "replace")[:10000]))]
        else:
            slow = _without_repeats(text, value)
            items = (value if slow is None else slow)
            items = items if isinstance(items, list) else [items]
            return [(i, v if slow is None or _repeated(v) is None
                     else Refusal(i, f"duplicate key {_repeated(v)!r}", dict(v))) for i, v in enumerate(items)]
    return list(decode_ndjson(text.splitlines()))


def decode_ndjson(lines: Iterable[bytes | str]) -> Iterator[Item]:
    return ((i, v) for i, v, _ in decode_ndjson_texts(lines))


def decode_ndjson_texts(lines: Iterable[bytes | str]) -> Iterator[tuple[int, Any, bytes]]:
    """Each line's index, its value (or Refusal) and its text."""
    i = 0
    for line in lines:
        if not line.strip():
            continue
        raw = line if isinstance(line, bytes) else line.encode()
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield i, Refusal(i, f"line {i + 1}: malformed JSON: {exc}", raw.decode("utf-8", "replace")[:10000]), raw
        else:
            slow = _without_repeats(raw, value)
            key = None if slow is None else _repeated(slow)
            yield i, (value if key is None else Refusal(i, f"line {i + 1}: duplicate key {key!r}", value)), raw
        i += 1


INT_FIELDS = {"score", "statutory_days", "committed_days"}
LIST_FIELDS = {"region_codes"}


def decode_csv(text: str) -> Iterator[Item]:
    """A header row of field names; empty cells are absent; lists are separated by '|'."""
    for i, row in enumerate(csv.DictReader(io.StringIO(text))):
        item: dict[str, Any] = {}
        for k, v in row.items():
            if k is None or v is None or v == "":
                continue
            if k in INT_FIELDS and v.strip().lstrip("-").isdigit():
                item[k] = int(v)
            elif k in LIST_FIELDS:
                item[k] = [x for x in v.split("|") if x]
            else:
                item[k] = v
        yield i, item


def private_scrubbed(items: Sequence[Item], kind: str, identity_key: bytes) -> list[Item]:
    """The one edge's scrub (schemas/private.py), before anything else sees an item: refused ones and malformed
    lines too; a staffing change's identity number, whatever its field's name, becomes its `id_hash`."""
    out = []
    for i, raw in items:
        if isinstance(raw, Refusal):
            out.append((i, Refusal(raw.index, mask_text(raw.reason), scrubbed(raw.raw, identity_key))))
        else:
            own = {"staffing_change": mask_identity, "demand": private_demand}.get(kind)
            out.append((i, scrubbed(own(raw, identity_key) if own else raw, identity_key)))
    return out


def scrubbed_line(item: tuple[int, Any, bytes], identity_key: bytes) -> tuple[int, Any, bytes]:
    """A line of a file with its value and text (the bulk path): scrubbed like private_scrubbed, text and all."""
    i, raw, text = item
    (_, clean), = private_scrubbed([(i, raw)], "case_event", identity_key)
    return (i, clean, text if clean is raw else orjson.dumps(clean.raw if isinstance(clean, Refusal) else clean))


def validate(items: Sequence[Item], kind: str, identity_key: bytes) -> tuple[list[Any], list[Refusal]]:
    """The models of the valid items, and a refusal (with the item's index) for each of the others; private data
    hashed or masked first, under `identity_key` (refusals' reasons too: they may quote the input)."""
    items = private_scrubbed(items, kind, identity_key)
    bad = [Refusal(i, raw.reason, raw.raw) for i, raw in items if isinstance(raw, Refusal)]
    where = [i for i, raw in items if not isinstance(raw, Refusal)]
    raws = [raw for _, raw in items if not isinstance(raw, Refusal)]
    parsed: list[tuple[Any, Optional[Refusal]]]
    if kind == "case_event":
        parsed = parse_case_events(raws)
    elif kind == "staffing_change":
        parsed = [parse_staffing_change(raw, identity_key) for raw in raws]
    elif kind == "demand":
        parsed = [parse_demand(raw, identity_key) for raw in raws]
    else:
        parsed = [parse_list_change(raw) for raw in raws]
    good = []
    for i, (model, refusal) in zip(where, parsed):
        if model is not None:
            good.append(model)
        else:
            bad.append(Refusal(i, mask_text(refusal.reason), refusal.raw))
    return good, sorted(bad, key=lambda r: r.index)
