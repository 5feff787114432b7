"""`shenpi org proposals`: the staffing changes documents and rosters propose, shown with their checks, edited,
approved by a second person (published into the staffing stream once) or rejected; acting as `--as NAME`, else
SHENPI_TOKEN's user, else the server's operator."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import click

from shenpi.commands.evaluate import AS, _caller
from shenpi.common import echo_json, settings, with_db

FORMAT = click.option("--format", "fmt", type=click.Choice(["json"]), default="json")


def _run(ctx: click.Context, as_user: Optional[str], work) -> Any:
    """`work(conn, caller)`, with the engine's refusals as clear errors."""
    from streams.archive.proposals import ProposalError

    async def go(conn):
        caller = await _caller(conn, as_user)
        try:
            return await work(conn, caller)
        except ProposalError as exc:
            raise click.ClickException(str(exc)) from None

    return with_db(ctx, go)


async def _shown(conn, pid: str, caller) -> dict:
    from streams.archive.proposals import ProposalError, show

    p = await show(conn, pid, caller.scope)
    if p is None:
        raise ProposalError(404, f"no proposal {pid!r} in your regions")
    return p


@click.group("proposals")
def proposals_group() -> None:
    """Proposed staffing changes (from documents and rosters): checked, confirmed by two people, published once."""


@proposals_group.command("list")
@click.option("--status", type=click.Choice(["proposed", "published", "rejected"]), default=None)
@click.option("--unit", default=None)
@click.option("--limit", type=click.IntRange(1, 10000), default=200)
@AS
@FORMAT
@click.pass_context
def proposals_list(ctx, status, unit, limit, as_user, fmt) -> None:
    """Proposals in your regions, newest first, with how many changes, unsure fields and warnings each has."""
    from streams.archive.proposals import listing

    echo_json({"proposals": _run(ctx, as_user, lambda c, who: listing(c, who.scope, status, unit, limit))})


@proposals_group.command("show")
@click.argument("proposal_id")
@AS
@FORMAT
@click.pass_context
def proposals_show(ctx, proposal_id, as_user, fmt) -> None:
    """Changes, unsure fields, the diff against the unit on the effective date, would_open / would_close, trail."""
    echo_json(_run(ctx, as_user, lambda c, who: _shown(c, proposal_id, who)))


@proposals_group.command("edit")
@click.argument("proposal_id")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="JSON: the changes (an array), or an object with `changes` (and `effective_at`, to move the date).")
@AS
@FORMAT
@click.pass_context
def proposals_edit(ctx, proposal_id, file, as_user, fmt) -> None:
    """Replace the changes (recorded with who and when); the checks are computed again here."""
    from streams.archive.proposals import edit

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: not JSON: {exc}") from None
    changes = data.get("changes") if isinstance(data, dict) else data
    when = data.get("effective_at") if isinstance(data, dict) else None
    threshold = settings(ctx).overlap_threshold

    async def work(conn, caller):
        await edit(conn, proposal_id, changes, caller, threshold, when)
        return await _shown(conn, proposal_id, caller)

    echo_json(_run(ctx, as_user, work))


@proposals_group.command("approve")
@click.argument("proposal_id")
@AS
@FORMAT
@click.pass_context
def proposals_approve(ctx, proposal_id, as_user, fmt) -> None:
    """Approve another person's proposal: its changes go into the staffing stream once (an edge receipt first; the
    API's relay sends it if the broker cannot be reached from here)."""
    import asyncio

    from aiokafka.errors import KafkaError

    from connectors import edge
    from connectors.kafka import Publisher
    from streams.archive.proposals import approve_and_record

    s = settings(ctx)

    async def work(conn, caller):
        pub = Publisher(s)
        d = await approve_and_record(conn, proposal_id, caller, pub)
        sent = False
        try:
            await pub.start()
            sent = await edge.send(pub, d.records)
        except (OSError, asyncio.TimeoutError, KafkaError) as exc:  # the receipt is kept: the relay sends it
            click.echo(f"the broker could not be reached ({type(exc).__name__}): the relay will send it", err=True)
        finally:
            await pub.stop()
        if sent:
            await edge.mark_relayed(conn, [d.request_id])
        return {**await _shown(conn, proposal_id, caller), "sent": sent}

    echo_json(_run(ctx, as_user, work))


@proposals_group.command("reject")
@click.argument("proposal_id")
@click.option("--reason", required=True)
@AS
@FORMAT
@click.pass_context
def proposals_reject(ctx, proposal_id, reason, as_user, fmt) -> None:
    """Reject with a reason (kept): nothing of it reaches the staffing data."""
    from streams.archive.proposals import decide

    async def work(conn, caller):
        async with conn.transaction():
            await decide(conn, proposal_id, caller, False, reason)
        return await _shown(conn, proposal_id, caller)

    echo_json(_run(ctx, as_user, work))
