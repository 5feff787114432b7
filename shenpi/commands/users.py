"""People who use the API and the console: a role and a region scope each; their tokens and passwords."""
from __future__ import annotations

import json
import os
import secrets
from typing import Optional

import click

from core.names import region_name
from shenpi.common import console, echo_json, with_db


@click.group("users")
def users_group() -> None:
    """Users (viewer, supervisor, list_admin, admin) with a region scope: a county's user sees that county and the
    towns below it."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "supervisor", "list_admin", "admin"]), required=True)
@click.option("--region", default="", help="The region code whose subtree the user sees; none: everywhere.")
@click.option("--password-env", default=None, help="Read a console password from this environment variable.")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, region: str, password_env: Optional[str]) -> None:
    """Add (or update) a user; prints the API token, which is shown once."""
    import re

    from argon2 import PasswordHasher

    from web.auth import token_digest

    if region and not re.fullmatch(r"\d{6}|\d{9}", region):
        raise click.BadParameter("a region code is 6 or 9 digits")
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

    with_db(ctx, add)
    roles = {"viewer": "查看", "supervisor": "监督", "list_admin": "清单管理", "admin": "管理员"}
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


@users_group.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """Disable a user: their token and password stop working at once."""
    async def disable(conn):
        done = await conn.fetchval("UPDATE app_user SET disabled = true WHERE name = $1 RETURNING name", name)
        if done:
            await conn.execute("INSERT INTO audit_log (actor, action, detail) VALUES ('cli', 'user disabled',"
                               " $1::jsonb)", json.dumps({"name": name}))
        return done

    if not with_db(ctx, disable):
        raise click.ClickException(f"no user {name!r}")
    console.print(f"{name}: disabled")


COMMANDS = (users_group,)
