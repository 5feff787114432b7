"""Backfill from files: JSON Lines, a JSON array, or CSV (optionally gzip-compressed)."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, Iterator, Optional

import orjson

from connectors.base import Connector, file_digest
from connectors.parsing import Item, decode_csv, decode_json_body, decode_ndjson, decode_ndjson_texts

FORMATS = ("jsonl", "json", "csv")


def guess_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    ext = suffixes[-1].lstrip(".") if suffixes else ""
    if ext in ("jsonl", "ndjson"):
        return "jsonl"
    if ext in FORMATS:
        return ext
    raise ValueError(f"cannot tell the format of {path.name}: use .jsonl, .json or .csv, or pass --format")


class FileConnector(Connector):
    source = "file"

    def __init__(self, path: Path, kind: str = "case_event", fmt: Optional[str] = None):
        self.path = Path(path)
        self.kind = kind
        self.fmt = fmt or guess_format(self.path)

    def fingerprint(self) -> str:
        return file_digest(self.path, self.kind)

    def _open(self):
        return gzip.open(self.path, "rb") if self.path.suffix == ".gz" else open(self.path, "rb")

    def items(self) -> Iterator[Item]:
        with self._open() as f:
            if self.fmt == "jsonl":
                yield from decode_ndjson(f)
            elif self.fmt == "csv":
                yield from decode_csv(f.read().decode("utf-8-sig"))
            else:
                yield from decode_json_body(f.read())

    def texts(self) -> Iterator[tuple[int, Any, bytes]]:
        """The items with their JSON texts: a JSON Lines file's own lines (no need to write them again)."""
        if self.fmt == "jsonl":
            with self._open() as f:
                yield from decode_ndjson_texts(f)
        else:
            for i, v in self.items():
                yield i, v, orjson.dumps(v)


def write_jsonl(path: Path, items) -> int:
    n = 0
    with open(path, "wb") as f:
        for it in items:
            f.write(orjson.dumps(it) + b"\n")
            n += 1
    return n
