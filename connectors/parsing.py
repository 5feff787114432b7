"""Bodies and files into raw items: a JSON array or object, NDJSON, or CSV; what can't be read is refused."""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Iterator, Sequence

import orjson

from schemas import CaseEvent, ListChange, Refusal, parse_case_events, parse_list_change

Item = tuple[int, Any]  # (index in the input, the decoded value or a Refusal)


def decode_json_body(body: bytes) -> list[Item]:
    """A JSON array, a single JSON object, or NDJSON (one value a line)."""
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
            return list(enumerate(value if isinstance(value, list) else [value]))
    return list(decode_ndjson(text.splitlines()))


def decode_ndjson(lines: Iterable[bytes | str]) -> Iterator[Item]:
    i = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            yield i, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raw = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            yield i, Refusal(i, f"line {i + 1}: malformed JSON: {exc}", raw[:10000])
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


def validate(items: Sequence[Item], kind: str) -> tuple[list[CaseEvent | ListChange], list[Refusal]]:
    """The models of the valid items, and a refusal (with the item's index) for each of the others."""
    bad = [Refusal(i, raw.reason, raw.raw) for i, raw in items if isinstance(raw, Refusal)]
    where = [i for i, raw in items if not isinstance(raw, Refusal)]
    raws = [raw for _, raw in items if not isinstance(raw, Refusal)]
    parsed = parse_case_events(raws) if kind == "case_event" else [parse_list_change(raw) for raw in raws]
    good = []
    for i, (model, refusal) in zip(where, parsed):
        if model is not None:
            good.append(model)
        else:
            bad.append(Refusal(i, refusal.reason, refusal.raw))
    return good, sorted(bad, key=lambda r: r.index)
