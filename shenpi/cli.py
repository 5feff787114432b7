"""The `shenpi` command: run the stack, feed it, and read the indicators; each group of commands in its own
module of shenpi/commands."""
from __future__ import annotations

import click

from core.settings import Settings
from shenpi.commands import analyze, archive, calendar, demands, evaluate, feed, ops, org, powerlist, processes, proposals, \
    query, users


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Real-time monitor of administrative approvals (行政審批) and the power list (權責清單)."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = Settings()


for module in (processes, feed, query, analyze, powerlist, org, demands, archive, evaluate, calendar, users, ops):
    for command in module.COMMANDS:
        cli.add_command(command)
org.org_group.add_command(proposals.proposals_group)


def main() -> None:
    cli(prog_name="shenpi")


if __name__ == "__main__":
    main()
