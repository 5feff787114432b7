"""Backfill at bulk speed: records written straight through the ordinary write path (exact, idempotent, safe beside
live traffic) by several processes at once, each owning its share of the cases, so that none waits on another's
locks and the broker is not in the way."""
from __future__ import annotations

import asyncio
import multiprocessing
import queue
import zlib
from typing import Any, Callable, Iterable, Optional


from core import memory
from streams.cases.write import InBatch, process_case_batches
from streams.db import Database

Chunk = list[tuple[str, list[Any]]]  # (batch id, raw events)


def owner(case_id: Any, jobs: int) -> int:
    """The process a case's events go to (all of them: a case is written by one process). Any stable hash will
    do (Kafka's murmur2 in Python would cost more than the rest of the reading)."""
    return zlib.crc32(case_id.encode() if isinstance(case_id, str) else b"") % jobs


def split(events: Iterable[tuple[Any, bytes]], jobs: int, prefix: str, size: int = 1000) -> list[Chunk]:
    """Per process, the events (each a value and its JSON text: the text is handed over, cheap to pass and
    validated as it is) as batches of at most `size`, with ids derived from `prefix` (the input's fingerprint and
    chunk number: writing the same input again is a no-op)."""
    per: list[list[bytes]] = [[] for _ in range(jobs)]
    for value, text in events:
        per[owner(value.get("case_id") if isinstance(value, dict) else None, jobs)].append(text)
    return [[(f"{prefix}:{j}:{k // size}", evs[k:k + size]) for k in range(0, len(evs), size)] for j, evs in
            enumerate(per)]


def _writer(dsn: str, inbox: "multiprocessing.Queue", outbox: "multiprocessing.Queue", source: str) -> None:
    memory.for_throughput()

    async def run() -> None:
        db = Database(dsn, max_size=1)
        loop = asyncio.get_running_loop()
        while True:
            chunk = await loop.run_in_executor(None, inbox.get)
            if chunk is None:
                break
            batches = [InBatch(b, source, evs) for b, evs in chunk]
            out = await db.run("bulk backfill", lambda conn: process_case_batches(conn, batches))
            outbox.put((sum(len(evs) for _, evs in chunk), out.new, out.duplicate, out.invalid))
        await db.close()

    asyncio.run(run())


class BulkWriter:
    """`jobs` writer processes; put() hands each its share of a chunk, and waits when they are behind."""

    def __init__(self, dsn: str, jobs: int, source: str = "bulk", backlog: int = 4):
        ctx = multiprocessing.get_context("spawn")
        self.inboxes = [ctx.Queue(backlog) for _ in range(jobs)]
        self.outbox = ctx.Queue()
        self.procs = [ctx.Process(target=_writer, args=(dsn, box, self.outbox, source), daemon=True)
                      for box in self.inboxes]
        for p in self.procs:
            p.start()
        self.totals = {"events": 0, "new": 0, "duplicates": 0, "invalid": 0}
        self.jobs = jobs

    async def put(self, chunks: list[Chunk], on_progress: Optional[Callable[[int], None]] = None) -> None:
        loop = asyncio.get_running_loop()
        for box, chunk in zip(self.inboxes, chunks):
            if chunk:
                await loop.run_in_executor(None, box.put, chunk)
        self._collect(on_progress)

    def _collect(self, on_progress: Optional[Callable[[int], None]], block: bool = False) -> int:
        n = 0
        while True:
            try:
                events, new, dup, inv = self.outbox.get(block=block, timeout=1 if block else None)
            except queue.Empty:
                return n
            for k, v in (("events", events), ("new", new), ("duplicates", dup), ("invalid", inv)):
                self.totals[k] += v
            n += 1
            if on_progress:
                on_progress(events)
            if block:
                return n

    async def close(self, expected_events: int, on_progress: Optional[Callable[[int], None]] = None) -> dict:
        loop = asyncio.get_running_loop()
        for box in self.inboxes:
            await loop.run_in_executor(None, box.put, None)
        while self.totals["events"] < expected_events:
            if not any(p.is_alive() for p in self.procs) and self.outbox.empty():
                raise RuntimeError("the bulk writers stopped before every event was written: run it again"
                                   " (it is idempotent)")
            await loop.run_in_executor(None, self._collect, on_progress, True)
        for p in self.procs:
            await loop.run_in_executor(None, p.join, 30)
        return dict(self.totals)
