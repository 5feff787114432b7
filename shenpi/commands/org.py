"""The staffing half (機構編制): import changes, and read figures, findings, a unit as of a date, its history, search."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import click

from core.tz import shown
from shenpi.common import OUTPUT, connect, console, echo_json, region_option, settings, with_db, write_workbook
from shenpi.runtime import require


def instant(value: Optional[str], name: str = "as-of") -> datetime:
    """A date (its local midnight) or an ISO time; none: now."""
    from streams.indicators.window import QueryError, parse_instant

    if not value:
        return datetime.now(timezone.utc)
    try:
        return parse_instant(value, name)
    except QueryError as exc:
        raise click.BadParameter(str(exc)) from None


def window(start: Optional[str], end: Optional[str]) -> Optional[tuple[datetime, datetime]]:
    if not start and not end:
        return None
    if not (start and end):
        raise click.BadParameter("give both --from and --to")
    return instant(start, "from"), instant(end, "to")


def _out(obj: Any, fmt: str, rows_key: Optional[str] = None, title: str = "") -> None:
    if fmt == "json" or rows_key is None:
        echo_json(obj)
        return
    from rich.table import Table

    from shenpi.tables import cell, header

    rows = obj[rows_key]
    t = Table(title=title)
    keys = list(rows[0].keys()) if rows else []
    for k in keys:
        t.add_column(header(k))
    for r in rows:
        t.add_row(*[cell(r[k]) for k in keys])
    console.print(t)


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
SHEET_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "xlsx"]), default="table")


@click.group("org")
def org_group() -> None:
    """The staffing half (機構編制): units, 三定, quotas, staff, checks, history."""


@org_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wait", is_flag=True, help="Return when every change is applied, pending or dead-lettered.")
@click.pass_context
def org_import(ctx: click.Context, file: Path, wait: bool) -> None:
    """Staffing changes from a JSONL (or JSON) file, through the broker like the webhook's."""
    from connectors.files import FileConnector

    s = settings(ctx)
    require(s, "kafka_bootstrap", "database_url")
    conn = FileConnector(file, "staffing_change")
    conn.identity_key = s.identity_secret()
    echo_json(asyncio.run(import_file(s, conn, wait)))


STAFFING_TAKEN = ("staffing_delivery",
                  "SELECT count(*) FILTER (WHERE d.fresh AND c.state = 'applied') AS applied,"
                  " count(*) FILTER (WHERE d.fresh AND c.state = 'pending') AS pending,"
                  " count(*) FILTER (WHERE NOT d.fresh) AS duplicates"
                  " FROM staffing_delivery d LEFT JOIN staffing_change c USING (change_id)"
                  " WHERE d.delivery_key = ANY($1::text[])")


async def import_file(s, connector, wait: bool, taken: tuple[str, str] = STAFFING_TAKEN) -> dict:
    """A file through the broker with receipts; with `wait`, once every record is taken (`taken`: the table of
    delivery keys, and the summary of those keys), what became of them."""
    from shenpi.commands.feed import _publish_report

    report = await _publish_report(s, connector, f"import {connector.path.name}")
    out = {"received": report.received, "accepted": report.accepted, "refused": report.refused,
           "refusal_examples": report.reasons[:5]}
    if report.unsent:
        out["unsent"] = report.unsent
    if wait:
        out.update(await _wait(s, report.delivery_keys, report.dl_keys, taken))
    return out


async def wait_taken(conn, s, keys: list[str], dl_keys: list[str], table: str = "staffing_delivery") -> None:
    """Until every record is taken (stored, a duplicate or quarantined), or SHENPI_WAIT_SECONDS pass."""
    from shenpi.commands.feed import gave_up

    deadline = time.monotonic() + s.wait_seconds
    while True:
        row = await conn.fetchrow(
            f"SELECT (SELECT count(*) FROM unnest($1::text[]) AS k(key) WHERE EXISTS (SELECT 1 FROM {table}"
            " WHERE delivery_key = k.key) OR EXISTS (SELECT 1 FROM dead_letter WHERE dl_key = k.key)) AS taken,"
            " (SELECT count(*) FROM dead_letter WHERE dl_key = ANY($2::text[])) AS dead",
            list(set(keys)), dl_keys)
        if (row["taken"], row["dead"]) == (len(set(keys)), len(set(dl_keys))):
            return
        if time.monotonic() > deadline:
            raise gave_up(s, f"{row['taken']}/{len(set(keys))} records taken")
        await asyncio.sleep(0.1)


async def _wait(s, keys: list[str], dl_keys: list[str], taken: tuple[str, str]) -> dict:
    conn = await connect(s.database_url)
    try:
        await wait_taken(conn, s, keys, dl_keys, taken[0])
        return dict(await conn.fetchrow(taken[1], keys))
    finally:
        await conn.close()


@org_group.command("figures")
@click.option("--as-of", default=None, help="A date (local midnight) or an ISO time; default now.")
@click.option("--region", default=None, callback=region_option,
              help="Only units of this region and the regions below it.")
@click.option("--unit", default=None)
@click.option("--from", "start", default=None, help="With --to: cases per staff over this window.")
@click.option("--to", "end", default=None)
@SHEET_FORMAT
@OUTPUT
@click.pass_context
def org_figures(ctx, as_of, region, unit, start, end, fmt, output) -> None:
    """Approved against actual per unit and quota kind, vacancies, overruns, usage; posts per level."""
    from streams.staffing.queries import FIGURE_COLUMNS, figures

    at = instant(as_of)
    out = with_db(ctx, lambda c: figures(c, at, region or "", unit, window(start, end)))
    if fmt == "xlsx":
        write_workbook(ctx, output, "编制使用情况", out["rows"], as_of=at, columns=FIGURE_COLUMNS,
                       filters={"as_of": at, "region_code": region, "unit_code": unit, "from": start, "to": end})
        return
    _out(out, fmt, "rows", f"编制使用 截至 {shown(at)}")


@org_group.command("check")
@click.option("--as-of", default=None)
@click.option("--from", "start", default=None, help="The window of the duty checks (default: the year to --as-of).")
@click.option("--to", "end", default=None)
@click.option("--region", default=None, callback=region_option)
@click.option("--unit", default=None)
@click.option("--min-volume", type=click.IntRange(0), default=None, help="Default: SHENPI_DUTY_MIN_VOLUME (20).")
@click.option("--min-on-time", type=click.FloatRange(0, 1), default=None, help="Default: SHENPI_DUTY_MIN_ON_TIME (0.8).")
@SHEET_FORMAT
@OUTPUT
@click.pass_context
def org_check(ctx, as_of, start, end, region, unit, min_volume, min_on_time, fmt, output) -> None:
    """The findings as of a time: 超编, 混编, 超职数, 擅自设立, and the duty checks (candidates for people to judge),
    computed here (in this process) from the stored changes."""
    from streams.staffing.checks import DutyParams, findings
    from streams.staffing.queries import FINDING_COLUMNS

    at = instant(as_of)
    params = DutyParams.of(settings(ctx), min_volume, min_on_time)
    rows = with_db(ctx, lambda c: findings(c, at, region or "", unit, window(start, end), params))
    if fmt == "xlsx":
        write_workbook(ctx, output, "检查发现", rows, as_of=at, columns=FINDING_COLUMNS,
                       filters={"as_of": at, "region_code": region, "unit_code": unit, "from": start, "to": end})
        return
    _out({"as_of": at.isoformat(), "findings": rows}, fmt, None)


@org_group.command("show")
@click.argument("unit")
@click.option("--as-of", default=None)
@FORMAT
@click.pass_context
def org_show(ctx, unit: str, as_of: Optional[str], fmt: str) -> None:
    """The unit as it stood: attributes, bodies, duties, quotas, posts, staff, and the documents that set them."""
    from streams.staffing.queries import unit_as_of

    at = instant(as_of)
    u = with_db(ctx, lambda c: unit_as_of(c, unit, at))
    if u is None:
        raise click.ClickException(f"no unit {unit} stood at {at.isoformat()}")
    echo_json(u)


@org_group.command("history")
@click.argument("unit")
@FORMAT
@click.pass_context
def org_history(ctx, unit: str, fmt: str) -> None:
    """歷史沿革: every version of the unit's 三定 with the document that made it."""
    from streams.staffing.queries import history

    h = with_db(ctx, lambda c: history(c, unit))
    if h is None:
        raise click.ClickException(f"no unit {unit}")
    echo_json(h)


@org_group.command("diff")
@click.argument("unit")
@click.argument("a")
@click.argument("b")
@click.pass_context
def org_diff(ctx, unit: str, a: str, b: str) -> None:
    """What changed in the unit between two times (e.g. two 三定 generations from `org history`)."""
    from streams.staffing.queries import diff

    d = with_db(ctx, lambda c: diff(c, unit, instant(a, "a"), instant(b, "b")))
    if d is None:
        raise click.ClickException(f"unit {unit} stood at neither time")
    echo_json(d)


@org_group.command("search")
@click.argument("text")
@click.option("--limit", type=click.IntRange(1, 1000), default=50)
@FORMAT
@click.pass_context
def org_search(ctx, text: str, limit: int, fmt: str) -> None:
    """Documents and duty clauses by Chinese words (segmented), simplified or traditional."""
    from streams.staffing.queries import search

    echo_json(with_db(ctx, lambda c: search(c, text, "", limit)))


@org_group.command("generate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--units", type=click.IntRange(1), default=48, show_default=True)
@click.option("--seed", type=int, default=7)
@click.option("--list-changes", "list_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the power items the duty clauses name (for `shenpi ingest --kind list-changes`).")
def org_generate(file: Path, units: int, seed: int, list_file: Optional[Path]) -> None:
    """A realistic city's staffing changes (time-ordered JSONL), with planted problems and look-alikes."""
    from connectors.files import write_jsonl
    from simulator.org import generate_city

    city = generate_city(units, seed)
    out = {"changes": write_jsonl(file, city.changes), "planted": city.planted}
    if list_file:
        out["list_changes"] = write_jsonl(list_file, city.list_changes)
    echo_json(out)


COMMANDS = (org_group,)


@org_group.command("import-sheet")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as-of", "as_of", required=True, help="The date the roster is the staff of (YYYY-MM-DD).")
@click.option("--as", "as_user", default=None, help="Act as this user (on the server); else SHENPI_TOKEN's user;"
                                                    " else the server's operator.")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json")
@click.pass_context
def org_import_sheet(ctx: click.Context, file: str, as_of: str, as_user: Optional[str], fmt: str) -> None:
    """A real-name roster workbook (实名制人员名册) against the staffing data on the date: the row report and the
    staff_in / staff_out / staff_moved proposed (a second person publishes). Identity numbers are hashed as read."""
    import hashlib

    from connectors.sheets import SheetError, read_upload
    from core.tz import local_day
    from shenpi.commands.evaluate import _caller
    from streams.evaluation.rectify import OPERATOR
    from streams.archive.roster import REQUIRED, hashers, import_roster

    s = settings(ctx)
    on = local_day(instant(as_of))
    data = Path(file).read_bytes()
    try:
        sheet = read_upload(data, file, "roster", REQUIRED, s, hashers(s.identity_secret()))
    except SheetError as exc:
        raise click.ClickException(f"{Path(file).name}: {exc}") from None
    tag = f"roster:{hashlib.sha256(data).hexdigest()[:12]}:{on.isoformat()}"

    async def go(conn):
        caller = await _caller(conn, as_user)
        if caller.role != OPERATOR and not caller.can("staffing_admin", "supervisor"):
            raise click.ClickException(f"{caller.name} ({caller.role}) may not propose staffing changes")
        return await import_roster(conn, sheet.rows, sheet.headers, [r.as_dict() for r in sheet.refused], on,
                                   caller.name, tag, caller.scope, s.overlap_threshold)

    echo_json(with_db(ctx, go))
