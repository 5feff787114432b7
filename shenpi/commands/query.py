"""Reading the figures: the indicators for any window and grouping, and the reconciliation totals."""
from __future__ import annotations

import sys
from typing import Optional

import click
from rich.console import Console

from shenpi.common import OUTPUT, echo_json, with_db, write_workbook


@click.command("indicators")
@click.option("--from", "frm", help="Start: a local date (YYYY-MM-DD) or ISO time; default today 00:00.")
@click.option("--to", help="End (exclusive): a local date or ISO time; default now.")
@click.option("--group-by", default="", help="Any of region_code,department_code,item_code,level.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]), default="table")
@OUTPUT
@click.pass_context
def indicators_cmd(ctx: click.Context, frm: Optional[str], to: Optional[str], group_by: str, fmt: str,
                   output: Optional[str]) -> None:
    """The 14 indicators and the guard figures, one row per group."""
    from core.tz import shown
    from shenpi.tables import indicator_table
    from streams.indicators.queries import QueryError, indicators, indicators_csv, parse_group_by, parse_window

    try:
        window, groups = parse_window(frm, to), parse_group_by(group_by)
    except QueryError as exc:
        raise click.BadParameter(str(exc)) from None
    rows = with_db(ctx, lambda conn: indicators(conn, window, groups))
    for r in rows:
        r.pop("components")
    if fmt == "json":
        echo_json(rows)
    elif fmt == "csv":
        click.echo(indicators_csv(rows, groups), nl=False)
    elif fmt == "xlsx":
        from streams.indicators.definitions import GUARDS, INDICATORS
        from streams.indicators.queries import labels

        write_workbook(ctx, output, "14项监测指标", rows, columns=[*groups, *INDICATORS, *GUARDS], labels=labels(),
                       filters={"from": window.t0, "to": window.t1, "group_by": ",".join(groups)}, as_of=window.t1)
    else:
        Console().print(indicator_table(rows, groups, f"{shown(window.t0)} → {shown(window.t1)}"))


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Totals that reconcile: received = counted + pending + duplicates + dead-lettered."""
    from shenpi.tables import status_table
    from streams.indicators.status import totals

    t = with_db(ctx, totals)
    if as_json:
        echo_json(t)
        return
    Console().print(status_table(t))
    if not t["reconciled"]:
        sys.exit(1)


COMMANDS = (indicators_cmd, status)
