"""Kafka plumbing shared by the connectors: topics, and a producer that packs events into envelopes."""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, cast

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from schemas import CASE_EVENTS, CaseEvent, DeadLetter, ListChange, Refusal
from schemas.deadletter import Kind
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
            NewTopic(settings.staffing_topic, settings.partitions, 1),
            NewTopic(settings.demand_topic, settings.partitions, 1),
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
            max_batch_size=settings.broker_message_bytes, max_request_size=settings.broker_message_bytes,
        )
        self._partitions = settings.partitions

    async def start(self) -> None:
        await self.producer.start()
        parts = await self.producer.partitions_for(self.settings.case_topic)
        self._partitions = len(parts) if parts else self.settings.partitions

    async def stop(self) -> None:
        await self.producer.stop()

    def prepare(self, kind: str, good: Sequence[Any], bad: Sequence[Refusal], source: str,
                request_id: str) -> "Delivery":
        """The Kafka records a request becomes, and the ids the workers will record them under."""
        d = Delivery(source, kind, request_id)
        if kind == "case_event":
            self._envelopes(d, good)
        elif kind in ("staffing_change", "demand"):
            staffing = kind == "staffing_change"
            for i, c in enumerate(good):  # one record each, under a key of its own: a record taken twice is no-op
                key = f"{source}:{request_id}@{i}"
                d.delivery_keys.append(key)
                topic, field, by = ((self.settings.staffing_topic, b',"change":', c.unit_code or c.person_key or c.doc_no)
                                    if staffing else (self.settings.demand_topic, b',"demand":', c.demand_id))
                d.records.append((topic, None, by,
                                  b"".join((b'{"delivery":', dumps(key), field, dumps(c.payload()), b"}")).decode()))
        else:
            for c in good:
                d.change_ids.append(c.change_id)
                d.records.append((self.settings.list_topic, None, c.item_code,
                                  c.model_dump_json(exclude_none=True)))
        for r in bad:
            key = f"{source}:{request_id}#{r.index}"
            d.dl_keys.append(key)
            d.records.append((self.settings.dead_letter_topic, None, key, DeadLetter(
                dl_key=key, stage="edge", kind=cast(Kind, kind), source=source, reason=r.reason, payload=r.raw).model_dump_json()))
        return d

    def _envelopes(self, d: "Delivery", events: Sequence[CaseEvent]) -> None:
        """One envelope per partition (and per envelope_max_events), so a case's events stay in order."""
        by_part: dict[int, list[CaseEvent]] = defaultdict(list)
        part_of: dict[str, int] = {}  # a case's events come together, and murmur2 is pure Python
        for ev in events:
            part = part_of.get(ev.case_id)
            if part is None:
                part = part_of[ev.case_id] = partition_for(ev.case_id, self._partitions)
            by_part[part].append(ev)
        size = self.settings.envelope_max_events
        for part, evs in sorted(by_part.items()):
            n = 0
            for k in range(0, len(evs), size):
                n = self._pack(d, part, evs[k:k + size], n)

    def _pack(self, d: "Delivery", part: int, chunk: Sequence[CaseEvent], n: int) -> int:
        """The chunk as envelope n of the partition, or halved until each envelope fits the broker's message
        (events carry long texts rarely, so the common case encodes once); the next envelope's number."""
        batch_id = f"{d.source}:{d.request_id}:{part}:{n}"
        body = b"".join((b'{"batch_id":', dumps(batch_id), b',"source":', dumps(d.source), b',"events":',
                         CASE_EVENTS.dump_json(list(chunk), exclude_none=True), b"}"))
        if len(body) > self.settings.broker_message_bytes - 1024 and len(chunk) > 1:
            half = len(chunk) // 2
            return self._pack(d, part, chunk[half:], self._pack(d, part, chunk[:half], n))
        d.batch_ids.append(batch_id)
        d.batch_sizes.append(len(chunk))
        d.records.append((self.settings.case_topic, part, batch_id, body.decode()))
        return n + 1

    async def send(self, records: Sequence[Record]) -> None:
        """Every record acknowledged by the broker, or an exception."""
        sends = [await self.producer.send(topic, value.encode(), key=key.encode(), partition=part)
                 for topic, part, key, value in records]
        await asyncio.gather(*sends)

    async def case_events(self, events: Sequence[CaseEvent], source: str, request_id: str | None = None) -> list[str]:
        """Straight to the broker, with no receipt at an edge (benchmarks, tests of the stream alone)."""
        d = self.prepare("case_event", events, (), source, request_id or uuid.uuid4().hex)
        await self.send(d.records)
        return d.batch_ids

    async def list_changes(self, changes: Sequence[ListChange]) -> None:
        await self.send(self.prepare("list_change", changes, (), "direct", uuid.uuid4().hex).records)


Record = tuple[str, Optional[int], str, str]  # topic, partition (None: by key), key, value


@dataclass
class Delivery:
    """A request as the broker gets it: its records, and the ids under which the workers will account for it."""

    source: str
    kind: str
    request_id: str
    records: list[Record] = field(default_factory=list)
    batch_ids: list[str] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    change_ids: list[str] = field(default_factory=list)
    delivery_keys: list[str] = field(default_factory=list)  # staffing changes' or demands' records
    dl_keys: list[str] = field(default_factory=list)
