"""A small connector base: a source of raw items, and a run() loop that validates and publishes them in chunks."""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

import asyncpg

from connectors import edge
from connectors.kafka import Publisher
from connectors.parsing import Item, validate


@dataclass
class RunReport:
    received: int = 0
    accepted: int = 0
    refused: int = 0
    batch_ids: list[str] = field(default_factory=list)
    dl_keys: list[str] = field(default_factory=list)
    delivery_keys: list[str] = field(default_factory=list)
    change_ids: list[str] = field(default_factory=list)
    unsent: int = 0  # records kept in receipts the broker did not take: the API's relay sends them
    reasons: list[str] = field(default_factory=list)


class Connector:
    """Subclasses give `kind`, `source` and `items()`; run() does the rest.

    Chunk ids derive from the input's content, so re-running the same input is a no-op downstream."""

    kind = "case_event"
    source = "connector"
    chunk_size = 5000
    identity_key = b""  # the key that hashes private data (schemas/private.py); the CLI sets the stack's

    def items(self) -> Iterator[Item]:
        raise NotImplementedError

    def fingerprint(self) -> str:
        return "run"

    async def run(self, publisher: Publisher, on_progress: Optional[Callable[[int], None]] = None,
                  receipts: Optional[asyncpg.Connection] = None) -> RunReport:
        """Validate and send every item. With `receipts`, each chunk is first recorded as an edge receipt: list and
        staffing changes with their records, like the webhook's, so that what a broker loses is sent again by the
        relay; case events without (the file is the durable copy: ingest it again, a no-op for what was taken)."""
        report = RunReport()
        chunk: list[Item] = []
        n = 0
        for item in self.items():
            chunk.append(item)
            if len(chunk) >= self.chunk_size:
                await self._send(publisher, chunk, f"{self.fingerprint()}-{n}", report, receipts)
                n += 1
                if on_progress:
                    on_progress(len(chunk))
                chunk = []
                await asyncio.sleep(0)
        if chunk:
            await self._send(publisher, chunk, f"{self.fingerprint()}-{n}", report, receipts)
            if on_progress:
                on_progress(len(chunk))
        return report

    async def _send(self, publisher: Publisher, chunk: list[Item], request_id: str, report: RunReport,
                    receipts: Optional[asyncpg.Connection]) -> None:
        good, bad = validate(chunk, self.kind, self.identity_key)
        report.received += len(chunk)
        report.accepted += len(good)
        report.refused += len(bad)
        report.reasons += [r.reason for r in bad[:20 - len(report.reasons)]] if len(report.reasons) < 20 else []
        d = publisher.prepare(self.kind, good, bad, self.source, request_id)
        kept = receipts is not None and self.kind != "case_event"
        if receipts is not None:
            await edge.record(receipts, d, len(chunk), keep_records=kept)
        if kept:  # recorded whole: a broker that does not take them now gets them from the relay
            if await edge.send(publisher, d.records):
                await edge.mark_relayed(receipts, [d.request_id])
            else:
                report.unsent += len(d.records)
        else:
            await publisher.send(d.records)
            if receipts is not None:
                await edge.mark_relayed(receipts, [d.request_id])
        report.change_ids += d.change_ids
        report.batch_ids += d.batch_ids
        report.dl_keys += d.dl_keys
        report.delivery_keys += d.delivery_keys


def file_digest(path, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]
