"""Operating the system: the database schema, alert rules, Grafana boards, the contract's JSON Schema."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from shenpi.common import console, echo_json, progress, run_maintenance, settings, with_db
from shenpi.runtime import require


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the migrations not yet applied."""
    from db.migrate import upgrade

    s = settings(ctx)
    require(s, "database_url")
    applied = upgrade(s.database_url)
    console.print(f"已执行迁移：{', '.join(applied)}" if applied else "数据库已是最新")
    ran = run_maintenance(s.database_url)
    if ran:
        console.print(f"ran: {', '.join(ran)}")


@db.command("recompute")
@click.pass_context
def db_recompute(ctx: click.Context) -> None:
    """Re-evaluate every case from its raw events (exact while workers keep writing)."""
    from streams.cases.rebuild import recompute_all

    echo_json({"cases_recomputed": with_db(ctx, lambda c: recompute_all(c, progress=progress))})


@click.command()
@click.option("--check-rules", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Only validate a rules file and exit.")
@click.pass_context
def alerts(ctx: click.Context, check_rules: Optional[Path]) -> None:
    """Alert state, history and notification outbox (or validate a rules file)."""
    if check_rules:
        from streams.alerts.rules import RuleError, load_rules

        try:
            rules = load_rules(check_rules)
        except RuleError as exc:
            raise click.ClickException(str(exc)) from None
        console.print(f"{len(rules.rules)} rules, {len(rules.receivers)} receivers: valid")
        return
    from streams.alerts.state import alerts_overview

    echo_json(with_db(ctx, alerts_overview))


@click.group()
def dashboards() -> None:
    """Grafana boards as code."""


@dashboards.command("build")
def dashboards_build() -> None:
    """Regenerate dashboards/json from dashboards/boards.py."""
    from dashboards.boards import build_all

    for p in build_all():
        console.print(f"wrote {p}")


@dashboards.command("push")
@click.option("--url", required=True, help="Grafana's URL, e.g. http://grafana:3000")
@click.option("--token", envvar="SHENPI_GRAFANA_TOKEN", required=True, help="A service account token (or env).")
@click.option("--folder-uid", default=None)
def dashboards_push(url: str, token: str, folder_uid: Optional[str]) -> None:
    """Create or update every board in Grafana, by uid (idempotent)."""
    from grafana_client import GrafanaApi

    from dashboards.boards import BOARDS, render

    api = GrafanaApi.from_url(url, credential=token)
    for name in BOARDS:
        board = json.loads(render(name))
        payload = {"dashboard": board, "overwrite": True, "message": "shenpi dashboards push"}
        if folder_uid:
            payload["folderUid"] = folder_uid
        res = api.dashboard.update_dashboard(payload)
        console.print(f"{board['uid']}: {res.get('status', res)}")


@click.group()
def schemas() -> None:
    """The event contract as JSON Schema."""


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas/jsonschema"))
def schemas_export(directory: Path) -> None:
    """Write the JSON Schema files generated from the pydantic models."""
    from schemas.jsonschema_export import write_all

    for p in write_all(directory):
        console.print(f"wrote {p}")


COMMANDS: tuple[click.Command, ...] = (db, alerts, dashboards, schemas)


@click.group("public")
def public_group() -> None:
    """The public portal (權責清單公示): which departments' monthly figures it shows."""


@public_group.command("publish")
@click.argument("department")
@click.pass_context
def public_publish(ctx: click.Context, department: str) -> None:
    """Show a department's monthly figures on /public/figures."""
    with_db(ctx, lambda c: c.execute("INSERT INTO public_department (department_code) VALUES ($1)"
                                     " ON CONFLICT DO NOTHING", department))
    console.print(f"{department}: published")


@public_group.command("unpublish")
@click.argument("department")
@click.pass_context
def public_unpublish(ctx: click.Context, department: str) -> None:
    with_db(ctx, lambda c: c.execute("DELETE FROM public_department WHERE department_code = $1", department))
    console.print(f"{department}: no longer published")


COMMANDS = (*COMMANDS, public_group)
