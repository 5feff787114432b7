"""Power-list changes in: the list's history in the database, and cases re-checked against it."""
from __future__ import annotations

from schemas import DeadLetter, parse_list_change
from streams.context import WorkerContext, decode_records, fatal
from streams.deadletters.store import insert_dead_letters


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
                    changes.append(change)
                else:
                    letters.append(DeadLetter(dl_key=where, stage="invalid", kind="list_change", source="kafka",
                                              reason=refusal.reason, payload=raw))

            async def store(conn):
                violations = await ctx.apply_list_changes(conn, changes)  # the cases domain's (ctx)
                await insert_dead_letters(conn, letters)
                return violations

            violations = await ctx.db.run("list changes", store)
            ctx.list_changed.set()
            await ctx.publish(letters, violations)
