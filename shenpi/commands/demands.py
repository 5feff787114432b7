"""Demands (企業群眾訴求, spec/demands.md §5): import, figures, a demand, a list, a link by hand."""
from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Optional

import click

from shenpi.commands.org import FORMAT, _out, import_file, instant
from shenpi.common import echo_json, region_option, settings, with_db
from shenpi.runtime import require


@click.group("demands")
def demands_group() -> None:
    """What people and firms ask for (企業群眾訴求): complaints, suggestions, enquiries, praise."""


@demands_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wait", is_flag=True, help="Return when every demand is stored, a duplicate or dead-lettered.")
@click.pass_context
def demands_import(ctx: click.Context, file: Path, wait: bool) -> None:
    """Demands from a JSONL, JSON or CSV file, through the broker like POST /api/v1/demands."""
    from connectors.files import FileConnector

    s = settings(ctx)
    require(s, "kafka_bootstrap", "database_url")
    echo_json(asyncio.run(import_file(s, FileConnector(file, "demand"), wait, TAKEN)))


TAKEN = ("demand_delivery", "SELECT count(*) FILTER (WHERE fresh) AS stored, count(*) FILTER (WHERE NOT fresh)"
         " AS duplicates FROM demand_delivery WHERE delivery_key = ANY($1::text[])")


@demands_group.command("figures")
@click.option("--from", "start", required=True)
@click.option("--to", "end", required=True)
@click.option("--by", type=click.Choice(["item", "department", "region", "topic", "channel"]), default="item")
@click.option("--region", default=None, callback=region_option, help="Only demands raised in this region.")
@FORMAT
@click.pass_context
def demands_figures(ctx, start, end, by, region, fmt) -> None:
    """Demands, complaints, topics, repeats, rates and hours per group over [from, to)."""
    from streams.demands.queries import figures

    a, b = instant(start, "from"), instant(end, "to")
    _out(with_db(ctx, lambda c: figures(c, a, b, by, region or "")), fmt, "rows", f"demands by {by}")


@demands_group.command("show")
@click.argument("demand_id")
@FORMAT
@click.pass_context
def demands_show(ctx, demand_id: str, fmt) -> None:
    """A demand: its (masked) text, its topics with the words that decided them, its link."""
    from streams.demands.queries import show

    out = with_db(ctx, lambda c: show(c, demand_id))
    if out is None:
        raise click.ClickException(f"no demand {demand_id!r}")
    echo_json(out)


@demands_group.command("list")
@click.option("--item", default=None)
@click.option("--topic", default=None)
@click.option("--unlinked", is_flag=True)
@click.option("--limit", type=click.IntRange(1, 10000), default=50)
@FORMAT
@click.pass_context
def demands_list(ctx, item: Optional[str], topic: Optional[str], unlinked: bool, limit: int, fmt) -> None:
    """The latest demands, by item, topic, or those not linked to any item."""
    from streams.demands.queries import listing

    echo_json(with_db(ctx, lambda c: listing(c, item, topic, unlinked, limit)))


@demands_group.command("link")
@click.argument("demand_id")
@click.option("--item", required=True)
@click.pass_context
def demands_link(ctx, demand_id: str, item: str) -> None:
    """Link a demand to an item in force in its region, by the item's code or name (recorded with who and when)."""
    from core.errors import DomainError
    from streams.demands.manual import link

    try:
        echo_json(with_db(ctx, lambda c: link(c, demand_id, item, f"cli:{getpass.getuser()}")))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None


COMMANDS = [demands_group]
