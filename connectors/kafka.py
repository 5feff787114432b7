"""Kafka plumbing shared by the connectors: topics, and a producer that packs events into envelopes."""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any, Iterable, Sequence

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from schemas import CASE_EVENTS, CaseEvent, DeadLetter, ListChange, Refusal
from core.settings import Settings


async def ensure_topics(settings: Settings) -> None:
    """Create the project's topics if missing (idempotent; works on any Kafka, Tansu included)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(settings.case_topic, settings.partitions, 1),
            NewTopic(settings.list_topic, settings.partitions, 1, topic_configs={"cleanup.policy": "compact"}),
            NewTopic(settings.dead_letter_topic, settings.partitions, 1),
            NewTopic(settings.violation_topic, settings.partitions, 1),
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


def partition_for(key: str, partitions: int) -> int:
    """Kafka's default partitioner, so envelopes and single keyed events of a case share a partition."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=str)


class Publisher:
    """Sends validated events and dead letters; every call returns only after the broker acknowledged."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=2,
            max_batch_size=1024 * 1024, max_request_size=16 * 1024 * 1024,
        )
        self._partitions = settings.partitions

    async def start(self) -> None:
        await self.producer.start()
        parts = await self.producer.partitions_for(self.settings.case_topic)
        self._partitions = len(parts) if parts else self.settings.partitions

    async def stop(self) -> None:
        await self.producer.stop()

    async def case_events(self, events: Sequence[CaseEvent], source: str, request_id: str | None = None) -> list[str]:
        """One envelope per partition (and per envelope_max_events), so a case's events stay in order."""
        request_id = request_id or uuid.uuid4().hex
        by_part: dict[int, list[CaseEvent]] = defaultdict(list)
        part_of: dict[str, int] = {}  # a case's events come together, and murmur2 is pure Python
        for ev in events:
            part = part_of.get(ev.case_id)
            if part is None:
                part = part_of[ev.case_id] = partition_for(ev.case_id, self._partitions)
            by_part[part].append(ev)
        sends, ids = [], []
        size = self.settings.envelope_max_events
        for part, evs in sorted(by_part.items()):
            for k in range(0, len(evs), size):
                batch_id = f"{source}:{request_id}:{part}:{k // size}"
                ids.append(batch_id)
                body = b"".join((b'{"batch_id":', dumps(batch_id), b',"source":', dumps(source), b',"events":',
                                 CASE_EVENTS.dump_json(evs[k:k + size], exclude_none=True), b"}"))
                sends.append(await self.producer.send(self.settings.case_topic, body, key=batch_id.encode(),
                                                      partition=part))
        await asyncio.gather(*sends)
        return ids

    async def list_changes(self, changes: Sequence[ListChange]) -> None:
        sends = [await self.producer.send(self.settings.list_topic, c.model_dump_json(exclude_none=True).encode(),
                                          key=c.item_code.encode()) for c in changes]
        await asyncio.gather(*sends)

    async def dead_letters(self, refusals: Iterable[Refusal], kind: str, source: str, request_id: str) -> list[str]:
        sends, keys = [], []
        for r in refusals:
            key = f"{source}:{request_id}#{r.index}"
            keys.append(key)
            body = DeadLetter(dl_key=key, stage="edge", kind=kind, source=source, reason=r.reason,
                              payload=r.raw).model_dump_json().encode()
            sends.append(await self.producer.send(self.settings.dead_letter_topic, body, key=key.encode()))
        await asyncio.gather(*sends)
        return keys
