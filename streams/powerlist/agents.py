"""Power-list changes in: the list's history in the database, and cases re-checked against it."""
from __future__ import annotations

import operator

from schemas import DeadLetter, parse_list_change
from streams.context import WorkerContext, decode_records, fatal
from streams.quarantine import quarantined


def _letter(where: str, reason: str, payload) -> DeadLetter:
    return DeadLetter(dl_key=where, stage="invalid", kind="list_change", source="kafka", reason=reason, payload=payload)


def register(ctx: WorkerContext) -> None:
    app, s = ctx.app, ctx.settings

    @app.agent(ctx.raw_topic(s.list_topic), name="list-changes")
    @fatal
    async def list_changes(stream):
        async for events in stream.take_events(200, within=0.05):
            values, letters = decode_records(events, "list_change")
            changes = []
            for where, raw in values:
                change, refusal = parse_list_change(raw)
                if change is not None:
                    changes.append((where, change))
                else:
                    letters.append(_letter(where, refusal.reason, raw))

            async def apply(conn, part):  # the cases the changes re-check: their violations
                return await ctx.apply_list_changes(conn, [ch for _, ch in part])

            # keyed by the change, as the edge's receipt knows it: a quarantined change settles it, never resent
            violations, dead = await ctx.db.run("list changes", lambda conn: quarantined(
                conn, changes, apply, operator.add, [], "list_change", letters,
                key=lambda _, ch: f"list_change:{ch.change_id}"))
            ctx.list_changed.set()
            await ctx.publish(dead, violations)
