"""The edge relay: what a broker lost is sent again, a backlog all at once, not one pass per interval."""
from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from connectors import edge
from connectors.kafka import Delivery, Publisher, ensure_topics
from core.settings import Settings

pytestmark = pytest.mark.broker


async def test_a_backlog_of_unsent_receipts_drains_in_one_wake(conn, broker, database_url):
    # topics of its own: no other test's worker reads these records
    s = Settings(kafka_bootstrap=broker.bootstrap, database_url=database_url,
                 topic_prefix=f"relay-{uuid.uuid4().hex[:8]}")
    await ensure_topics(s)
    n = 3 * edge.RELAY_TAKE + 7  # as if the broker had been away while the edge acknowledged them
    for k in range(n):
        d = Delivery("webhook", "case_event", f"r{k}",
                     records=[(s.case_topic, 0, f"c{k}", '{"batch_id": "b%d", "events": []}' % k)],
                     batch_ids=[f"b{k}"], batch_sizes=[0])
        assert await edge.record(conn, d, 1)
    await conn.execute("UPDATE edge_receipt SET received_at = now() - interval '1 minute'")
    pub = Publisher(s)
    await pub.start()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    relay = asyncio.create_task(edge.relay_forever(pool, pub, interval=3600))  # one pass an hour, unless drained
    try:
        for _ in range(100):
            left = await conn.fetchval("SELECT count(*) FROM edge_receipt WHERE relayed_at IS NULL")
            if not left:
                break
            await asyncio.sleep(0.1)
        assert left == 0, f"{left} of {n} receipts still unsent: the relay waited for its interval"
    finally:
        relay.cancel()
        await pool.close()
        await pub.stop()
