"""The working-day calendar (工作日): statutory holidays and the weekend days worked in their place."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from shenpi.common import echo_json, with_db


@click.group("calendar")
def calendar_group() -> None:
    """Working days (工作日): statutory holidays and the weekend days worked in their place."""


@calendar_group.command("load")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def calendar_load(ctx: click.Context, file: Path) -> None:
    """Set the days a calendar file gives (a folder: every year's file in it, e.g. infra/calendars); cases whose
    deadline counted a changed day are re-evaluated."""
    from pydantic import ValidationError

    from schemas.calendar import load_calendar_file
    from streams.cases.reach import set_calendar

    days: dict = {}
    for f in sorted(file.glob("*.yaml")) if file.is_dir() else [file]:
        try:
            days.update(load_calendar_file(f).days())
        except ValidationError as exc:
            raise click.ClickException(f"{f}: {exc}") from exc
    n = with_db(ctx, lambda c: set_calendar(c, days))
    click.echo(json.dumps({"days": len(days), "cases_reevaluated": n}))


@calendar_group.command("show")
@click.option("--year", type=int, default=None)
@click.pass_context
def calendar_show(ctx: click.Context, year: Optional[int]) -> None:
    """The days that differ from Monday to Friday."""
    from streams.calendar.store import calendar_days

    echo_json(with_db(ctx, lambda c: calendar_days(c, year)))


COMMANDS = (calendar_group,)
