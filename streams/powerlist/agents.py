"""Power-list changes in: the list's history in the database, and cases re-checked against it."""
from __future__ import annotations

import operator

from schemas import DeadLetter, parse_list_change
from streams.context import WorkerContext, decode_records, fatal
from streams.deadletters.store import insert_dead_letters
from streams.quarantine import bisect, given_up


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

            async def store(conn):
                violations, failed = await bisect(conn, changes, lambda c, part: ctx.apply_list_changes(  # cases'
                    c, [ch for _, ch in part]), operator.add, [])
                # keyed by the change, as the edge's receipt knows it: a quarantined change settles it, never resent
                dead = letters + [given_up(f"list_change:{ch.change_id}", "list_change", ch, error)
                                  for (_, ch), error in failed]
                await insert_dead_letters(conn, dead)
                return violations, dead

            violations, dead = await ctx.db.run("list changes", store)
            ctx.list_changed.set()
            await ctx.publish(dead, violations)
