"""A backfill knows its whole input: each case's events brought together before anything is evaluated, so a case
spread through a file ordered by time is evaluated once, not once per chunk it appears in. Inputs larger than the
memory budget are partitioned by case into temporary files first (an external grouping)."""
from __future__ import annotations

import os
import tempfile
import zlib
from typing import Any, Iterable, Iterator

import orjson

Text = tuple[int, Any, bytes]  # (index in the input, the decoded value or a Refusal, the JSON text)


def _case(value: Any) -> str:
    c = value.get("case_id") if isinstance(value, dict) else None
    return c if isinstance(c, str) else ""


def by_case(items: Iterable[Text], budget_bytes: int = 512 * 1024 * 1024, partitions: int = 16) -> Iterator[Text]:
    """The items, every case's together (cases in the order first seen; a case's events in input order).
    Anything that is not an object with a case (a refusal, say) comes first, as it is."""
    groups: dict[str, list[Text]] = {}
    size, spill = 0, None
    for item in items:
        i, value, text = item
        if not isinstance(value, dict):
            yield item
            continue
        groups.setdefault(_case(value), []).append(item)
        size += len(text) + 64
        if size > budget_bytes:
            spill = spill or _Spill(partitions)
            spill.write(groups)
            groups, size = {}, 0
    if spill is None:
        for group in groups.values():
            yield from group
        return
    spill.write(groups)
    yield from spill.read()


class _Spill:
    """Partition files by case: each fits the budget when the input is at most `partitions` budgets."""

    def __init__(self, partitions: int):
        self.dir = tempfile.TemporaryDirectory(prefix="shenpi-group-")
        self.files = [open(os.path.join(self.dir.name, f"p{k}"), "wb") for k in range(partitions)]

    def write(self, groups: dict[str, list[Text]]) -> None:
        for case, group in groups.items():
            f = self.files[zlib.crc32(case.encode()) % len(self.files)]
            for i, _, text in group:
                f.write(b"%d\t" % i + text.replace(b"\n", b" ") + b"\n")

    def read(self) -> Iterator[Text]:
        try:
            for f in self.files:
                f.close()
                groups: dict[str, list[Text]] = {}
                with open(f.name, "rb") as g:
                    for line in g:
                        i, _, text = line.rstrip(b"\n").partition(b"\t")
                        value = orjson.loads(text)
                        groups.setdefault(_case(value), []).append((int(i), value, text))
                for group in groups.values():
                    yield from group
        finally:
            self.dir.cleanup()
