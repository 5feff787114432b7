"""People who use the API and the console: a role and a region scope each; their tokens and passwords."""
from __future__ import annotations

import json
import os
import secrets
from typing import Optional

import click

from core.access import ROLES, USERS_CHANNEL
from core.names import region_name
from shenpi.common import console, echo_json, region_option, with_db


@click.group("users")
def users_group() -> None:
    """Users (viewer, supervisor, list_admin, staffing_admin, admin) with a region scope: a county's user sees that county and the
    towns below it."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--region", default="", callback=region_option,
              help="The region code whose subtree the user sees; none: everywhere.")
@click.option("--password-env", default=None, help="Read a console password from this environment variable.")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, region: str, password_env: Optional[str]) -> None:
    """Add (or update) a user; prints the API token, which is shown once."""
    import re

    from argon2 import PasswordHasher

    from core.access import token_digest

    if not re.fullmatch(r"[\w.\-@]{1,64}", name):
        raise click.BadParameter("a name is 1-64 letters, digits or . - _ @")
    password = os.environ.get(password_env, "") if password_env else ""
    if password_env and len(password) < 10:
        raise click.BadParameter(f"{password_env}: a password of at least 10 characters")
    token = secrets.token_urlsafe(32)
    hashed = PasswordHasher().hash(password) if password else None

    async def add(conn):
        await conn.execute(
            "INSERT INTO app_user (name, role, region_scope, password_hash, token_digest) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (name) DO UPDATE SET role = $2, region_scope = $3,"
            " password_hash = coalesce($4, app_user.password_hash), token_digest = $5, disabled = false",
            name, role, region, hashed, token_digest(token))
        await conn.execute("INSERT INTO audit_log (actor, action, detail) VALUES ('cli', 'user added', $1::jsonb)",
                           json.dumps({"name": name, "role": role, "region": region}))
        await conn.execute("SELECT pg_notify($1, $2)", USERS_CHANNEL, name)  # their open live streams end now

    with_db(ctx, add)
    roles = {"viewer": "查看", "supervisor": "监督", "list_admin": "清单管理", "staffing_admin": "编制管理", "admin": "管理员"}
    console.print(f"{name}：{roles[role]}，可见范围 {region_name(region) or region if region else '全部'}；"
                  "API 令牌（只显示这一次）：")
    click.echo(token)


@users_group.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Users, their roles, scopes and whether they are disabled (no secrets)."""
    rows = with_db(ctx, lambda c: c.fetch("SELECT name, role, region_scope, disabled, password_hash IS NOT NULL"
                                          " AS has_password, created_at FROM app_user ORDER BY name"))
    echo_json([dict(r) for r in rows])


def _change(ctx: click.Context, name: str, update: str, action: str) -> None:
    """`update` (SQL setting columns) on the user, audited; the APIs hear of it (the person's streams end)."""
    async def change(conn):
        done = await conn.fetchval(f"UPDATE app_user SET {update} WHERE name = $1 RETURNING name", name)
        if done:
            await conn.execute("INSERT INTO audit_log (actor, action, detail) VALUES ('cli', $1, $2::jsonb)",
                               action, json.dumps({"name": name}))
            await conn.execute("SELECT pg_notify($1, $2)", USERS_CHANNEL, name)
        return done

    if not with_db(ctx, change):
        raise click.ClickException(f"no user {name!r}")


@users_group.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """Disable a user: their token and password stop working at once."""
    _change(ctx, name, "disabled = true", "user disabled")
    console.print(f"{name}: disabled")


@users_group.command("unlock")
@click.argument("name")
@click.pass_context
def users_unlock(ctx: click.Context, name: str) -> None:
    """Forget a user's failed sign-ins so far (the throttle of every API reads it at the next attempt)."""
    _change(ctx, name, "signin_reset_at = now()", "sign-in unlocked")
    console.print(f"{name}: failed sign-ins forgotten")


COMMANDS = (users_group,)
