"""The power list (權責清單): items as of any time, histories, propagation, and drift against the platform."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Optional

import click

from shenpi.common import echo_json, settings, with_db


@click.group("list")
def list_group() -> None:
    """The power list (權責清單): items as of any time, histories, propagation."""


@list_group.command("items")
@click.option("--as-of", default=None, help="ISO time with offset; default now.")
@click.option("--active/--all", default=True)
@click.pass_context
def list_items(ctx: click.Context, as_of: Optional[str], active: bool) -> None:
    """The items in force at a time."""
    from streams.powerlist.queries import items_as_of

    at = datetime.fromisoformat(as_of) if as_of else datetime.now(timezone.utc)
    echo_json(with_db(ctx, lambda c: items_as_of(c, at, None, True if active else None, 100000)))


@list_group.command("show")
@click.argument("code")
@click.pass_context
def list_show(ctx: click.Context, code: str) -> None:
    """One item: every version with the change that made it, and its propagation."""
    from streams.powerlist.queries import item_history

    h = with_db(ctx, lambda c: item_history(c, code))
    if not h["versions"]:
        raise click.ClickException(f"no list item {code!r}")
    echo_json(h)


@list_group.command("sync")
@click.option("--status", type=click.Choice(["pending", "failed", "parked", "applied"]), default=None)
@click.pass_context
def list_sync(ctx: click.Context, status: Optional[str]) -> None:
    """Propagation of list changes to the platform: counts, latency, recent changes."""
    from streams.powerlist.queries import sync_state

    echo_json(with_db(ctx, lambda c: sync_state(c, status)))


@click.command()
@click.option("--dry-run", is_flag=True, help="Report drift without repairing it.")
@click.pass_context
def reconcile(ctx: click.Context, dry_run: bool) -> None:
    """Diff the platform's catalog against the list, item by item, and repair the drift."""
    from dataclasses import asdict

    from connectors.platform import PlatformClient
    from streams.propagation.store import reconcile as run

    s = settings(ctx)

    async def go(conn):
        async with PlatformClient(s) as client:
            return await run(conn, client, repair=not dry_run)

    drifts = with_db(ctx, go)
    echo_json([asdict(d) for d in drifts])
    if any(d.error for d in drifts):
        sys.exit(1)


COMMANDS = (list_group, reconcile)
