"""Propagation of list changes to the service platform: what each change means there, retries, parking, drift."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional, Sequence

import asyncpg

from connectors.platform import PlatformClient, PlatformError
from core.settings import Settings
from schemas import ITEM_ATTRS

log = logging.getLogger(__name__)
HEADS_SQL = """
SELECT DISTINCT ON (s.item_code) s.change_id, s.item_code, s.action, s.status, s.attempts, s.next_attempt_at,
       s.ingested_at, c.payload::text AS payload
FROM list_sync s JOIN list_change c USING (change_id)
WHERE s.status <> 'applied'
ORDER BY s.item_code, s.seq
"""


async def apply_change(client: PlatformClient, action: str, change: dict[str, Any],
                       remaining: Optional[Sequence[str]] = None) -> None:
    """The platform calls a change means; its change_id is the idempotency key. `remaining`: for a cancellation in
    some regions, the regions where the item stays in force."""
    code, key = change["item_code"], change["change_id"]
    attrs = {k: change[k] for k in ITEM_ATTRS if change.get(k) is not None}
    if action == "added":
        await client.publish(code, attrs, key)
    elif action == "modified":
        await client.update(code, attrs, key)
    elif action == "cancelled" and remaining is not None:  # stopped in some regions: the others stay online
        await client.update(code, {"region_codes": list(remaining)}, key)
    elif action == "cancelled":
        await client.withdraw(code, key)
    elif action == "devolved":
        to = change["devolved_to"]
        await client.move(code, to["level"], to["region_codes"], key)
    else:
        raise PlatformError(f"unknown action {action!r}", retryable=False)


def backoff(attempts: int, cap: float) -> float:
    """Exponential with full jitter around the step, so a recovering platform is not hit all at once."""
    return min(cap, 0.2 * 2 ** min(attempts, 20)) * (0.5 + random.random())


@dataclass
class Outcome:
    change_id: str
    ok: bool
    error: Optional[str] = None
    retryable: bool = True


async def propagate_once(conn: asyncpg.Connection, client: PlatformClient, settings: Settings) -> list[Outcome]:
    """Try the first unapplied change of every item that is due; per-item order is kept by construction."""
    now = datetime.now(timezone.utc)
    due = [h for h in await conn.fetch(HEADS_SQL) if h["next_attempt_at"] <= now]
    if not due:
        return []
    sem = asyncio.Semaphore(settings.propagation_concurrency)
    # a cancellation in some regions: the item's version it made says where it stays in force
    regional = [h["change_id"] for h in due if h["action"] == "cancelled" and json.loads(h["payload"]).get("region_codes")]
    stays = {r["change_id"]: r["region_codes"] for r in await conn.fetch(
        "SELECT change_id, region_codes FROM list_item_version WHERE change_id = ANY($1::text[]) AND active",
        regional)} if regional else {}

    async def one(h) -> Outcome:
        async with sem:
            try:
                await apply_change(client, h["action"], json.loads(h["payload"]), stays.get(h["change_id"]))
                return Outcome(h["change_id"], True)
            except PlatformError as exc:
                return Outcome(h["change_id"], False, str(exc), exc.retryable)
            except Exception as exc:  # noqa: BLE001 — a change that breaks the call itself is parked, not the worker
                log.exception("change %s could not be propagated", h["change_id"])
                return Outcome(h["change_id"], False, f"{type(exc).__name__}: {exc}", False)

    outcomes = await asyncio.gather(*(one(h) for h in due))
    by_id = {h["change_id"]: h for h in due}
    rows: list[tuple[str, str, int, Optional[str], float]] = []
    for o in outcomes:
        h = by_id[o.change_id]
        attempts = h["attempts"] + 1
        if o.ok:
            rows.append((o.change_id, "applied", attempts, None, 0.0))
            continue
        parked = not o.retryable or attempts >= settings.propagation_park_after
        delay = settings.propagation_parked_retry_seconds if parked else backoff(
            attempts, settings.propagation_max_backoff_seconds)
        rows.append((o.change_id, "parked" if parked else "failed", attempts, o.error, delay))
        log.warning("change %s to %s failed (attempt %d%s): %s", o.change_id, h["item_code"], attempts,
                    ", parked" if parked else "", o.error)
    await conn.execute(
        "UPDATE list_sync s SET status = x.status, attempts = x.attempts, last_error = coalesce(x.err, s.last_error),"
        " next_attempt_at = now() + make_interval(secs => x.delay),"
        " applied_at = CASE WHEN x.status = 'applied' THEN now() END,"
        " latency_ms = CASE WHEN x.status = 'applied' THEN extract(epoch FROM clock_timestamp() - s.due_at) * 1000 END"
        " FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::float8[]) AS x(id, status, attempts, err, delay)"
        " WHERE s.change_id = x.id", *zip(*rows))
    return outcomes


# ------------------------------------------------------------------------------------------- reconciliation


@dataclass
class Drift:
    item_code: str
    kind: str        # missing, offline, misplaced, stale, unlisted_online
    detail: str
    repaired: bool = False
    error: Optional[str] = None


async def desired_state(conn: asyncpg.Connection) -> dict[str, dict[str, Any]]:
    rows = await conn.fetch(f"SELECT item_code, active, {', '.join(ITEM_ATTRS)} FROM list_items_at(now())")
    return {r["item_code"]: dict(r) for r in rows}


def _key(code: str, op: str, want: dict) -> str:
    digest = hashlib.sha256(json.dumps(want, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"reconcile:{code}:{op}:{digest}"


async def reconcile(conn: asyncpg.Connection, client: PlatformClient, repair: bool = True) -> list[Drift]:
    """Diff the platform's catalog against the list, item by item, and repair through the same calls."""
    want = await desired_state(conn)
    busy = {r["item_code"] for r in await conn.fetch("SELECT DISTINCT item_code FROM list_sync WHERE status <> 'applied'")}
    have = {e["item_code"]: e for e in await client.catalog()}
    drifts: list[Drift] = []
    for code in sorted(set(want) | set(have)):
        if code in busy:
            continue  # propagation is still on it
        w, h = want.get(code), have.get(code)
        attrs = {k: (list(w[k]) if k == "region_codes" else w[k]) for k in ITEM_ATTRS if w and w.get(k) is not None}
        if w and w["active"]:
            if h is None or not h.get("accepting"):
                drifts.append(Drift(code, "missing" if h is None else "offline", "listed but not open on the platform"))
                op = ("publish", lambda: client.publish(code, attrs, _key(code, "publish", attrs)))
            elif h.get("level") != w["level"] or sorted(h.get("region_codes") or []) != sorted(w["region_codes"]):
                drifts.append(Drift(code, "misplaced", f"platform {h.get('level')} {h.get('region_codes')}, "
                                                       f"list {w['level']} {list(w['region_codes'])}"))
                op = ("move", lambda: client.move(code, w["level"], list(w["region_codes"]),
                                                  _key(code, "move", attrs)))
            elif any(h.get(k) != v for k, v in attrs.items() if k not in ("level", "region_codes")):
                diff = [k for k, v in attrs.items() if k not in ("level", "region_codes") and h.get(k) != v]
                drifts.append(Drift(code, "stale", f"differs in {', '.join(diff)}"))
                op = ("update", lambda: client.update(code, attrs, _key(code, "update", attrs)))
            else:
                continue
        elif h is not None and h.get("accepting"):
            drifts.append(Drift(code, "unlisted_online", "open on the platform but not active in the list"))
            op = ("withdraw", lambda: client.withdraw(code, _key(code, "withdraw", {"active": False})))
        else:
            continue
        if repair:
            try:
                await op[1]()
                drifts[-1].repaired = True
            except PlatformError as exc:
                drifts[-1].error = str(exc)
    return drifts
