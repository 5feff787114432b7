"""The edge keeps what it acknowledges: a request's receipt (its counts, the ids its records will be processed
under, and the records themselves) is committed to the database before the caller hears "accepted", then the
records go to the broker. A relay sends again whatever is unsent, or sent but still unprocessed after a while (a
broker that lost them); the workers' batch ids make a second copy a no-op."""
from __future__ import annotations

import asyncio
import logging
from typing import Optional, Sequence

import asyncpg
import orjson

from connectors.kafka import Delivery, Publisher, Record

log = logging.getLogger(__name__)
SEND_TIMEOUT = 10.0


async def record(conn: asyncpg.Connection, d: Delivery, n_received: int, keep_records: bool = True) -> bool:
    """The receipt, in one transaction; False when this request (same id) was recorded before."""
    async with conn.transaction():
        fresh = await conn.fetchval(
            "INSERT INTO edge_receipt (request_id, source, kind, n_received, n_refused, records)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id) DO NOTHING RETURNING request_id",
            d.request_id, d.source, d.kind, n_received, len(d.dl_keys),
            orjson.dumps(d.records).decode() if keep_records else None)
        if fresh is None:
            return False
        keys = [*d.batch_ids, *d.change_ids, *d.delivery_keys, *d.dl_keys]
        delivered = "demand" if d.kind == "demand" else "staffing"
        kinds = (["batch"] * len(d.batch_ids) + ["change"] * len(d.change_ids) + [delivered] * len(d.delivery_keys)
                 + ["dead_letter"] * len(d.dl_keys))
        sizes = [*d.batch_sizes, *([1] * (len(d.change_ids) + len(d.delivery_keys) + len(d.dl_keys)))]
        await conn.execute(
            "INSERT INTO edge_item (key, request_id, kind, n) SELECT k, $1, t, n"
            " FROM unnest($2::text[], $3::text[], $4::int[]) AS x(k, t, n) ON CONFLICT (key) DO NOTHING",
            d.request_id, keys, kinds, sizes)
        return True


async def send(publisher: Publisher, records: Sequence[Record]) -> bool:
    """True once the broker acknowledged every record; False if it could not, in time (the relay tries again)."""
    try:
        await asyncio.wait_for(publisher.send(records), SEND_TIMEOUT)
        return True
    except Exception as exc:  # the broker down or slow: the receipt is kept, nothing is lost
        log.warning("sending %d records failed: %s: %s", len(records), type(exc).__name__, exc)
        return False


async def send_now(pool: asyncpg.Pool, publisher: Publisher, d: Delivery, wake: asyncio.Event,
                   timeout: float = 2.0) -> bool:
    """A recorded delivery sent at once, waiting on the broker at most `timeout`: the caller's answer never hangs
    on it; what could not go is the relay's (woken)."""
    try:
        sent = await asyncio.wait_for(send(publisher, d.records), timeout)
    except asyncio.TimeoutError:
        sent = False
    if sent:
        async with pool.acquire() as conn:
            await mark_relayed(conn, [d.request_id])
    else:
        wake.set()
    return sent


async def mark_relayed(conn: asyncpg.Connection, request_ids: Sequence[str]) -> None:
    await conn.execute("UPDATE edge_receipt SET relayed_at = now() WHERE request_id = ANY($1::text[])",
                       list(request_ids))


async def settle(conn: asyncpg.Connection) -> int:
    """Receipts whose every record the workers have processed, or quarantined (dead-lettered under its own key, see
    streams/quarantine.py: given_up): done, their records dropped, never sent again."""
    return int((await conn.execute(
        "UPDATE edge_receipt r SET settled_at = now(), records = NULL"
        " WHERE r.settled_at IS NULL AND r.relayed_at IS NOT NULL AND NOT EXISTS ("
        "   SELECT 1 FROM edge_item i WHERE i.request_id = r.request_id AND NOT CASE i.kind"
        "     WHEN 'batch' THEN EXISTS (SELECT 1 FROM processed_batch p WHERE p.batch_id = i.key)"
        "     WHEN 'change' THEN EXISTS (SELECT 1 FROM list_change c WHERE c.change_id = i.key)"
        "       OR EXISTS (SELECT 1 FROM dead_letter d WHERE d.dl_key = 'list_change:' || i.key)"
        "     WHEN 'staffing' THEN EXISTS (SELECT 1 FROM staffing_delivery s WHERE s.delivery_key = i.key)"
        "       OR EXISTS (SELECT 1 FROM dead_letter d WHERE d.dl_key = i.key)"
        "     WHEN 'demand' THEN EXISTS (SELECT 1 FROM demand_delivery s WHERE s.delivery_key = i.key)"
        "       OR EXISTS (SELECT 1 FROM dead_letter d WHERE d.dl_key = i.key)"
        "     ELSE EXISTS (SELECT 1 FROM dead_letter d WHERE d.dl_key = i.key) END)")).split()[-1])


RELAY_TAKE = 50  # receipts a pass sends at most; a full pass is followed by another at once


async def relay_once(conn: asyncpg.Connection, publisher: Publisher, resend_after: float = 30.0,
                     limit: int = RELAY_TAKE, settle_first: bool = True) -> int:
    """Send the receipts that are unsent (a second on), or sent `resend_after` seconds ago and still unsettled;
    returns how many were sent. Settling first keeps receipts done meanwhile from being sent again; passes that
    drain a backlog skip it (it costs 74 ms a pass at 100,000 unsettled receipts, and a resend is a no-op)."""
    if settle_first:
        await settle(conn)
    due = await conn.fetch(
        "SELECT request_id, records FROM edge_receipt WHERE settled_at IS NULL AND records IS NOT NULL AND ("
        " (relayed_at IS NULL AND received_at < now() - interval '1 second')"
        " OR relayed_at < now() - make_interval(secs => $1)) ORDER BY received_at LIMIT $2", resend_after, limit)
    sent = []
    for r in due:
        if not await send(publisher, [tuple(x) for x in orjson.loads(r["records"])]):
            break
        sent.append(r["request_id"])
    if sent:
        await mark_relayed(conn, sent)
    return len(sent)


async def relay_forever(pool: asyncpg.Pool, publisher: Publisher, wake: Optional[asyncio.Event] = None,
                        interval: float = 2.0) -> None:
    draining = False
    while True:
        try:
            async with pool.acquire() as conn:
                n = await relay_once(conn, publisher, settle_first=not draining)
            if n:
                log.info("relayed %d receipts", n)
            draining = n == RELAY_TAKE
            if draining:  # a backlog (the broker was away): drain it, not 50 receipts per interval
                continue
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("relay: %s: %s", type(exc).__name__, exc)
        if wake is None:
            await asyncio.sleep(interval)
        else:
            try:
                await asyncio.wait_for(wake.wait(), interval)
            except asyncio.TimeoutError:
                pass
            wake.clear()
