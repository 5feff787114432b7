"""The power list (權責清單): items as of any time, histories, propagation, and drift against the platform."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Optional

import click

from shenpi.common import OUTPUT, echo_json, settings, with_db, write_workbook


@click.group("list")
def list_group() -> None:
    """The power list (權責清單): items as of any time, histories, propagation."""


@list_group.command("items")
@click.option("--as-of", default=None, help="ISO time with offset; default now.")
@click.option("--active/--all", default=True)
@click.option("--format", "fmt", type=click.Choice(["json", "xlsx"]), default="json")
@OUTPUT
@click.pass_context
def list_items(ctx: click.Context, as_of: Optional[str], active: bool, fmt: str, output: Optional[str]) -> None:
    """The items in force at a time."""
    from streams.powerlist.queries import ITEM_COLS, items_as_of

    at = datetime.fromisoformat(as_of) if as_of else datetime.now(timezone.utc)
    rows = with_db(ctx, lambda c: items_as_of(c, at, None, True if active else None, 100000))
    if fmt == "xlsx":
        write_workbook(ctx, output, "权责清单", rows, columns=ITEM_COLS, filters={"as_of": at, "active": active or None}, as_of=at)
    else:
        echo_json(rows)


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


def _as_admin(ctx: click.Context, method: str, path: str, body: Optional[dict] = None) -> dict:
    """A list administrator's write goes through the API, which checks the token and the two-person rule."""
    import json
    import os
    import urllib.error
    import urllib.request

    s = settings(ctx)
    token = os.environ.get("SHENPI_LIST_ADMIN_TOKEN")
    if not token:
        raise click.ClickException("set SHENPI_LIST_ADMIN_TOKEN to your list administrator's token")
    req = urllib.request.Request(f"http://{s.api_host}:{s.api_port}{path}", method=method,
                                 data=json.dumps(body or {}).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:
        raise click.ClickException(f"HTTP {exc.code}: {exc.read().decode(errors='replace')}") from None
    except OSError as exc:
        raise click.ClickException(f"the API is unreachable: {exc}") from None


@list_group.command("draft")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.pass_context
def list_draft(ctx: click.Context, file) -> None:
    """Draft a list change (a JSON object with the change's fields, or {"recommendation": {...}}; - for stdin);
    the answer carries the overlap warnings."""
    import json

    body = json.load(file)
    echo_json(_as_admin(ctx, "POST", "/api/v1/list/drafts", body if "recommendation" in body else {"change": body}))


@list_group.command("approve")
@click.argument("draft_id")
@click.pass_context
def list_approve(ctx: click.Context, draft_id: str) -> None:
    """Approve another administrator's draft: it is published and propagated."""
    echo_json(_as_admin(ctx, "POST", f"/api/v1/list/drafts/{draft_id}/approve"))


@list_group.command("reject")
@click.argument("draft_id")
@click.option("--reason", required=True)
@click.pass_context
def list_reject(ctx: click.Context, draft_id: str, reason: str) -> None:
    """Reject another administrator's draft, with the reason."""
    echo_json(_as_admin(ctx, "POST", f"/api/v1/list/drafts/{draft_id}/reject", {"reason": reason}))


@list_group.command("drafts")
@click.option("--status", type=click.Choice(["draft", "rejected", "published"]), default=None)
@click.pass_context
def list_drafts(ctx: click.Context, status: Optional[str]) -> None:
    """Drafts with their checks and decisions."""
    from streams.powerlist.drafts import listing

    echo_json(with_db(ctx, lambda c: listing(c, status)))


@list_group.command("trail")
@click.argument("code")
@click.pass_context
def list_trail(ctx: click.Context, code: str) -> None:
    """An item's changes from draft to the platform's acknowledgement."""
    from streams.powerlist.drafts import trail

    echo_json(with_db(ctx, lambda c: trail(c, code)))


@list_group.command("overlaps")
@click.option("--threshold", type=float, default=None, help="Default SHENPI_OVERLAP_THRESHOLD (0.6).")
@click.pass_context
def list_overlaps(ctx: click.Context, threshold: Optional[float]) -> None:
    """Items of different departments that overlap, across the whole list in force (run it nightly)."""
    from streams.powerlist.drafts import overlap_report

    t = threshold if threshold is not None else settings(ctx).overlap_threshold
    echo_json(with_db(ctx, lambda c: overlap_report(c, t)))


async def list_admin(conn, as_user: Optional[str], s) -> str:
    """Who drafts: --as NAME (a list administrator of SHENPI_LIST_ADMIN_TOKENS or a user of that role), else
    SHENPI_LIST_ADMIN_TOKEN's administrator, else SHENPI_TOKEN's user, else the server's operator."""
    import os

    from shenpi.commands.evaluate import _caller

    admins = s.list_admins()
    if as_user in admins.values():
        return as_user
    if not as_user and os.environ.get("SHENPI_LIST_ADMIN_TOKEN") in admins:
        return admins[os.environ["SHENPI_LIST_ADMIN_TOKEN"]]
    caller = await _caller(conn, as_user)
    if not caller.can("list_admin"):
        raise click.ClickException(f"{caller.name} ({caller.role}) is not a list administrator")
    return caller.name


@list_group.command("import-sheet")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--region", default=None, help="The region the sheet is the list of (cancellations stay within it).")
@click.option("--as", "as_user", default=None, help="Draft as this list administrator (on the server).")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json")
@click.pass_context
def list_import_sheet(ctx: click.Context, file: str, region: Optional[str], as_user: Optional[str], fmt: str) -> None:
    """A workbook of the list (.xlsx, .xls, .csv) against the list in force: a report per row and the drafts it
    asks for (added, modified, cancelled), to be approved by a second list administrator."""
    import hashlib
    import re
    from pathlib import Path

    from connectors.sheets import SheetError, read_upload
    from streams.powerlist.sheet import REQUIRED, import_rows

    if region is not None and not re.fullmatch(r"[0-9]{6}|[0-9]{9}", region):
        raise click.BadParameter("a region code of 6 or 9 digits", param_hint="--region")
    s = settings(ctx)
    data = Path(file).read_bytes()
    try:
        sheet = read_upload(data, file, "powerlist", REQUIRED, s)
    except SheetError as exc:
        raise click.ClickException(f"{Path(file).name}: {exc}") from None
    evidence = {"sheet": Path(file).name, "sha256": hashlib.sha256(data).hexdigest()}

    async def go(conn):
        by = await list_admin(conn, as_user, s)
        return await import_rows(conn, sheet.rows, sheet.headers, [r.as_dict() for r in sheet.refused], by,
                                 s.overlap_threshold, region, evidence)

    echo_json(with_db(ctx, go))
