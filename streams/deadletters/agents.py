"""Dead letters from the connectors into the database, where the totals are reconciled."""
from __future__ import annotations

from pydantic import ValidationError

from schemas import DeadLetter
from streams.context import WorkerContext, fatal, place
from streams.deadletters.store import insert_dead_letters


def register(ctx: WorkerContext) -> None:
    app, s = ctx.app, ctx.settings

    @app.agent(ctx.raw_topic(s.dead_letter_topic), name="dead-letters")
    @fatal
    async def dead_letters(stream):
        async for events in stream.take_events(500, within=0.1):
            letters = []
            for e in events:
                try:
                    letters.append(DeadLetter.model_validate_json(e.value))
                except ValidationError as exc:
                    letters.append(DeadLetter(dl_key=place(e), stage="edge", kind="unknown", source="kafka",
                                              reason=f"unreadable dead letter: {exc}",
                                              payload=e.value.decode("utf-8", "replace")))
            await ctx.db.run("dead letters", lambda conn: insert_dead_letters(conn, letters))
