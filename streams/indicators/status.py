"""Reconciliation: every event in is counted, pending, a duplicate, or dead-lettered with its reason."""
from __future__ import annotations

from typing import Any

import asyncpg

from streams.cases.rebuild import pending

TOTALS_SQL = """
SELECT
  (SELECT coalesce(sum(n_received), 0) FROM edge_receipt WHERE kind = 'case_event') AS at_edges,
  (SELECT coalesce(sum(p.n_events), 0) FROM processed_batch p
   WHERE NOT EXISTS (SELECT 1 FROM edge_item i WHERE i.key = p.batch_id)) AS direct,
  (SELECT count(*) FROM dead_letter d WHERE d.kind NOT IN ('list_change', 'staffing_change', 'demand') AND d.stage = 'edge'
   AND NOT EXISTS (SELECT 1 FROM edge_item i WHERE i.key = d.dl_key)) AS dl_edge_direct,
  (SELECT coalesce(sum(n_duplicate), 0) FROM processed_batch) AS duplicates,
  (SELECT count(*) FROM case_event e JOIN case_state s USING (case_id) WHERE s.submitted_at IS NOT NULL) AS counted,
  (SELECT count(*) FROM case_event e JOIN case_state s USING (case_id) WHERE s.submitted_at IS NULL) AS pending,
  (SELECT count(*) FROM dead_letter WHERE kind NOT IN ('list_change', 'staffing_change', 'demand') AND stage = 'edge')
    AS dl_edge,
  (SELECT count(*) FROM dead_letter WHERE kind = 'case_event' AND stage = 'invalid') AS dl_invalid,
  (SELECT count(*) FROM dead_letter WHERE kind = 'case_event' AND stage = 'orphan') AS dl_orphan,
  (SELECT count(*) FROM list_change) AS list_changes,
  (SELECT count(*) FROM dead_letter WHERE kind = 'list_change') AS dl_list,
  (SELECT count(*) FROM violation) AS violations,
  (SELECT count(*) FROM processed_batch) AS batches
"""
# events acknowledged at an edge that the workers have not accounted for yet; those of receipts older than the
# stall limit point at a loss (the relay sends kept records again; a file's must be ingested again)
IN_FLIGHT_SQL = """
SELECT coalesce(sum(i.n), 0) AS n,
       coalesce(sum(i.n) FILTER (WHERE r.received_at < now() - interval '2 minutes'), 0) AS stalled,
       coalesce(sum(i.n) FILTER (WHERE r.received_at < now() - interval '2 minutes' AND r.records IS NULL), 0)
         AS stalled_unkept,
       array_agg(DISTINCT r.request_id) FILTER (WHERE r.received_at < now() - interval '2 minutes') AS requests
FROM edge_item i JOIN edge_receipt r USING (request_id)
WHERE r.kind = 'case_event' AND r.settled_at IS NULL AND CASE i.kind
  WHEN 'batch' THEN NOT EXISTS (SELECT 1 FROM processed_batch p WHERE p.batch_id = i.key)
  WHEN 'dead_letter' THEN NOT EXISTS (SELECT 1 FROM dead_letter d WHERE d.dl_key = i.key)
  ELSE false END
"""


# list changes acknowledged at an edge that the workers have neither stored nor dead-lettered (a duplicate change
# id is stored once, so the stream reconciles by what is left unaccounted rather than by adding up)
LIST_SQL = """
SELECT
  (SELECT coalesce(sum(n_received), 0) FROM edge_receipt WHERE kind = 'list_change') AS received,
  (SELECT count(*) FROM list_change) AS stored,
  (SELECT count(*) FROM dead_letter WHERE kind = 'list_change') AS dead_lettered,
  (SELECT count(*) FROM edge_item i JOIN edge_receipt r USING (request_id)
   WHERE r.kind = 'list_change' AND r.settled_at IS NULL AND CASE i.kind
     WHEN 'change' THEN NOT EXISTS (SELECT 1 FROM list_change c WHERE c.change_id = i.key)
       AND NOT EXISTS (SELECT 1 FROM dead_letter d WHERE d.dl_key = 'list_change:' || i.key)
     WHEN 'dead_letter' THEN NOT EXISTS (SELECT 1 FROM dead_letter d WHERE d.dl_key = i.key)
     ELSE false END) AS in_flight
"""


async def list_totals(conn: asyncpg.Connection) -> dict[str, Any]:
    r = dict(await conn.fetchrow(LIST_SQL))
    return {**r, "reconciled": r["in_flight"] == 0}


STAFFING_SQL = """
SELECT
  (SELECT coalesce(sum(n_received), 0) FROM edge_receipt WHERE kind = 'staffing_change') AS received,
  (SELECT count(*) FROM staffing_change WHERE state = 'applied') AS applied,
  (SELECT count(*) FROM staffing_change WHERE state = 'pending') AS pending,
  (SELECT count(*) FROM staffing_delivery WHERE NOT fresh) AS duplicates,
  (SELECT count(*) FROM dead_letter WHERE kind = 'staffing_change' AND stage = 'edge') AS dl_edge,
  (SELECT count(*) FROM dead_letter WHERE kind = 'staffing_change' AND stage = 'invalid') AS dl_invalid,
  -- refused or given up by the worker, sent straight to the topic (not through an edge, which counted its own)
  (SELECT count(*) FROM dead_letter d WHERE kind = 'staffing_change' AND stage = 'invalid'
     AND NOT EXISTS (SELECT 1 FROM edge_item i WHERE i.key = d.dl_key)) AS dl_invalid_direct,
  (SELECT count(*) FROM staffing_change WHERE state = 'dead') AS dl_inapplicable,
  (SELECT count(*) FROM staffing_delivery d WHERE NOT EXISTS (SELECT 1 FROM edge_item i WHERE i.key = d.delivery_key))
    AS direct
"""


async def staffing_totals(conn: asyncpg.Connection) -> dict[str, Any]:
    """received = applied + pending + duplicates + dead-lettered, for the staffing stream; until the workers have
    taken every record the edges acknowledged, the difference is in flight."""
    r = dict(await conn.fetchrow(STAFFING_SQL))
    dead = r["dl_edge"] + r["dl_invalid"] + r["dl_inapplicable"]
    received = r["received"] + r["direct"] + r["dl_invalid_direct"]
    accounted = r["applied"] + r["pending"] + r["duplicates"] + dead
    return {"received": received, "applied": r["applied"], "pending": r["pending"], "duplicates": r["duplicates"],
            "dead_lettered": dead, "dead_lettered_by_stage": {"edge": r["dl_edge"], "invalid": r["dl_invalid"],
                                                              "inapplicable": r["dl_inapplicable"]},
            "in_flight": received - accounted, "reconciled": received == accounted}


DEMAND_SQL = """
SELECT
  (SELECT coalesce(sum(n_received), 0) FROM edge_receipt WHERE kind = 'demand') AS received,
  (SELECT count(*) FROM demand_delivery WHERE fresh) AS applied,
  (SELECT count(*) FROM demand_delivery WHERE NOT fresh) AS duplicates,
  (SELECT count(*) FROM demand) AS demands,
  (SELECT count(*) FROM dead_letter WHERE kind = 'demand' AND stage = 'edge') AS dl_edge,
  (SELECT count(*) FROM dead_letter WHERE kind = 'demand' AND stage = 'invalid') AS dl_invalid,
  (SELECT count(*) FROM dead_letter d WHERE kind = 'demand' AND stage = 'invalid'
     AND NOT EXISTS (SELECT 1 FROM edge_item i WHERE i.key = d.dl_key)) AS dl_invalid_direct,
  (SELECT count(*) FROM demand_delivery d WHERE NOT EXISTS (SELECT 1 FROM edge_item i WHERE i.key = d.delivery_key))
    AS direct
"""


async def demand_totals(conn: asyncpg.Connection) -> dict[str, Any]:
    """received = applied (new or newer versions) + duplicates (older or equal copies) + dead-lettered."""
    r = dict(await conn.fetchrow(DEMAND_SQL))
    dead = r["dl_edge"] + r["dl_invalid"]
    received = r["received"] + r["direct"] + r["dl_invalid_direct"]
    accounted = r["applied"] + r["duplicates"] + dead
    return {"received": received, "applied": r["applied"], "duplicates": r["duplicates"], "demands": r["demands"],
            "dead_lettered": dead, "dead_lettered_by_stage": {"edge": r["dl_edge"], "invalid": r["dl_invalid"]},
            "in_flight": received - accounted, "reconciled": received == accounted}


async def totals(conn: asyncpg.Connection) -> dict[str, Any]:
    r = dict(await conn.fetchrow(TOTALS_SQL))
    flight = await conn.fetchrow(IN_FLIGHT_SQL)
    dead = r["dl_edge"] + r["dl_invalid"] + r["dl_orphan"]
    received = r["at_edges"] + r["direct"] + r["dl_edge_direct"]
    reasons = await conn.fetch(
        "SELECT stage, kind, left(reason, 160) AS reason, count(*) AS n FROM dead_letter"
        " GROUP BY 1, 2, 3 ORDER BY n DESC LIMIT 20")
    maintenance = await pending(conn)
    workers = await conn.fetch(
        "SELECT worker_id, partitions, seen_at, seen_at > now() - interval '5 seconds' AS alive FROM worker"
        " ORDER BY seen_at DESC LIMIT 10")
    cases_reconciled = received == r["counted"] + r["pending"] + r["duplicates"] + dead
    streams = {"case_events": cases_reconciled, "list_changes": await list_totals(conn),
               "staffing": await staffing_totals(conn), "demands": await demand_totals(conn)}
    return {
        # every stream's: case events (the figures below), list changes and staffing changes
        "reconciled": cases_reconciled and all(streams[k]["reconciled"] for k in ("list_changes", "staffing", "demands")),
        "case_events_reconciled": cases_reconciled,
        "received": received,
        "counted": r["counted"],
        "pending": r["pending"],
        "duplicates": r["duplicates"],
        "dead_lettered": dead,
        "dead_lettered_by_stage": {"edge": r["dl_edge"], "invalid": r["dl_invalid"], "orphan": r["dl_orphan"]},
        # received is what the edges acknowledged (and what came straight from Kafka): until the workers have
        # accounted for all of it, it is in flight, and the totals do not reconcile
        "in_flight": flight["n"],
        "stalled": flight["stalled"],
        "stalled_unkept": flight["stalled_unkept"],
        "stalled_requests": (flight["requests"] or [])[:20],
        "batches": r["batches"],
        "list_changes": r["list_changes"],
        "list_changes_dead_lettered": r["dl_list"],
        "list_stream": streams["list_changes"],
        "violations": r["violations"],
        "dead_letter_reasons": [dict(x) for x in reasons],
        # figures that still follow an older rule until this runs (`shenpi db upgrade`)
        "maintenance_pending": maintenance,
        "staffing": streams["staffing"],
        "demands": streams["demands"],
        "workers": [{**dict(w), "seen_at": w["seen_at"].isoformat()} for w in workers],
    }


async def processed(conn: asyncpg.Connection, batch_ids: list[str], dl_keys: list[str]) -> tuple[int, int]:
    """How many of these batches (or list changes: stored, or quarantined) and dead letters the worker has
    recorded."""
    nb = await conn.fetchval(
        "SELECT count(*) FROM unnest($1::text[]) AS k(key) WHERE EXISTS (SELECT 1 FROM processed_batch"
        " WHERE batch_id = k.key) OR EXISTS (SELECT 1 FROM list_change WHERE change_id = k.key)"
        " OR EXISTS (SELECT 1 FROM dead_letter WHERE dl_key = 'list_change:' || k.key)", list(set(batch_ids)))
    nd = await conn.fetchval("SELECT count(*) FROM dead_letter WHERE dl_key = ANY($1::text[])", dl_keys)
    return nb, nd
