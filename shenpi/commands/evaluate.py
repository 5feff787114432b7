"""Evaluations of units (綜合評估) and rectification tasks (整改), acting as a named user (`--as NAME`, on the
server) or as the user whose token is in SHENPI_TOKEN."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import click

from core.access import Caller
from shenpi.commands.org import instant
from shenpi.common import OUTPUT, console, echo_json, region_option, settings, with_db, write_workbook

AS = click.option("--as", "as_user", default=None, help="Act as this user: SHENPI_TOKEN must be that user's token;"
                                                         " without one, as the server's operator (cli:<login>).")
FORMAT = click.option("--format", "fmt", type=click.Choice(["json"]), default="json")
SHEET_FORMAT = click.option("--format", "fmt", type=click.Choice(["json", "xlsx"]), default="json")


async def _caller(conn, as_user: Optional[str]) -> Caller:
    """The person SHENPI_TOKEN names (and --as must name the same); with no token, the operator, who is recorded as
    such and never counts as a second person (streams/evaluation/rectify.py: may)."""
    import getpass

    from streams.evaluation.rectify import OPERATOR
    from core.access import token_digest

    token = os.environ.get("SHENPI_TOKEN", "")
    if not token:
        operator = Caller(f"cli:{getpass.getuser()}", OPERATOR)
        if as_user:
            console.print(f"--as {as_user}: no token of theirs in SHENPI_TOKEN; acting as the operator {operator.name}")
        return operator
    row = await conn.fetchrow("SELECT name, role, region_scope FROM app_user WHERE token_digest = $1"
                              " AND NOT disabled", token_digest(token))
    if row is None:
        raise click.ClickException("no such user, or disabled (SHENPI_TOKEN names nobody)")
    if as_user and row["name"] != as_user:
        raise click.ClickException(f"--as {as_user}: SHENPI_TOKEN is {row['name']}'s token, not theirs")
    return Caller(row["name"], row["role"], row["region_scope"])


def _run(ctx: click.Context, as_user: Optional[str], action: str, work) -> Any:
    """`work(conn, caller)` as the user, with the engine's refusals as clear errors."""
    from streams.evaluation.evaluate import EvaluationError
    from streams.evaluation.rectify import TaskError, may

    async def go(conn):
        caller = await _caller(conn, as_user)
        if not may(action, caller.role):
            raise click.ClickException(f"{caller.name} ({caller.role}) may not {action}")
        try:
            return await work(conn, caller)
        except (TaskError, EvaluationError, LookupError) as exc:
            raise click.ClickException(str(exc)) from None

    return with_db(ctx, go)


@click.group("eval")
def eval_group() -> None:
    """Evaluations of units: evidence collected from both halves, scored by the scorecard, reproducible."""


@eval_group.command("create")
@click.argument("unit")
@click.option("--from", "start", required=True)
@click.option("--to", "end", required=True)
@click.option("--type", "type_", required=True, help="执行情况 (compliance) or 使用效益 (use and effect).")
@AS
@FORMAT
@click.pass_context
def eval_create(ctx, unit, start, end, type_, as_user, fmt) -> None:
    """Collect the evidence and score it; prints the evaluation."""
    from streams.evaluation.evaluate import create, show
    from streams.evaluation.scorecard import load_scorecard
    from streams.staffing.checks import DutyParams

    card = load_scorecard(settings(ctx).scorecard)

    async def work(conn, caller):
        eid = await create(conn, unit, instant(start, "from"), instant(end, "to"), type_, caller.name, card,
                           caller.scope, DutyParams.of(settings(ctx)))
        return _brief(await show(conn, eid, caller.scope))

    echo_json(_run(ctx, as_user, "evaluate", work))


def _brief(e: dict) -> dict:
    return {k: v for k, v in e.items() if k != "inputs"}


@eval_group.command("show")
@click.argument("evaluation_id", type=int)
@click.option("--inputs", is_flag=True, help="Also every input as collected.")
@AS
@SHEET_FORMAT
@OUTPUT
@click.pass_context
def eval_show(ctx, evaluation_id, inputs, as_user, fmt, output) -> None:
    """The evaluation as made: indicators, score, rank, previous evaluations, findings."""
    from streams.evaluation.evaluate import show

    async def work(conn, caller):
        e = await show(conn, evaluation_id, caller.scope)
        if e is None:
            raise LookupError(f"no evaluation {evaluation_id} in your regions")
        return e if inputs else _brief(e)

    e = _run(ctx, as_user, "start", work)
    if fmt == "xlsx":
        write_workbook(ctx, output, f"综合评估 {e['unit_name']} {e['type']} 得分 {e['score']}", e["indicators"],
                       filters={"evaluation_id": e["evaluation_id"], "unit_code": e["unit_code"], "from": e["from"],
                                "to": e["to"], "type": e["type"]}, as_of=e["created_at"])
        return
    echo_json(e)


@eval_group.command("score")
@click.argument("evaluation_id", type=int)
@click.argument("code")
@click.argument("value", type=float)
@click.option("--note", default=None)
@AS
@click.pass_context
def eval_score(ctx, evaluation_id, code, value, note, as_user) -> None:
    """A person's score for a manual indicator (e.g. a satisfaction survey), kept with who and when."""
    from streams.evaluation.evaluate import give_score, show

    async def work(conn, caller):
        await give_score(conn, evaluation_id, code, value, caller.name, note)
        return _brief(await show(conn, evaluation_id, caller.scope))

    echo_json(_run(ctx, as_user, "evaluate", work))


@eval_group.command("report")
@click.argument("evaluation_id", type=int)
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@AS
@click.pass_context
def eval_report(ctx, evaluation_id, pdf_path, as_user) -> None:
    """The report printed to PDF by Chromium, and kept in the archive with the evaluation."""
    from streams.evaluation.report import report_pdf

    async def work(conn, caller):
        return await report_pdf(conn, evaluation_id, caller.scope)

    pdf, sha = _run(ctx, as_user, "start", work)
    pdf_path.write_bytes(pdf)
    echo_json({"evaluation_id": evaluation_id, "pdf": str(pdf_path), "bytes": len(pdf), "sha256": sha})


@eval_group.command("batch")
@click.option("--region", required=True, callback=region_option,
              help="Every unit standing in this region and below.")
@click.option("--from", "start", required=True)
@click.option("--to", "end", required=True)
@click.option("--type", "type_", required=True)
@AS
@click.pass_context
def eval_batch(ctx, region, start, end, type_, as_user) -> None:
    """Evaluate every unit of a region for one period, with a progress bar."""
    from rich.progress import Progress

    from streams.evaluation.evaluate import create
    from streams.evaluation.scorecard import load_scorecard
    from streams.staffing.checks import DutyParams
    from core.access import scope_pattern
    from streams.staffing.queries import UNITS_AT

    card = load_scorecard(settings(ctx).scorecard)
    t0, t1 = instant(start, "from"), instant(end, "to")

    async def work(conn, caller):
        from core.access import narrow

        scope = narrow(caller.scope, region)
        if scope is None:
            raise LookupError(f"region {region} is outside your regions")
        units = [r["unit_code"] for r in await conn.fetch(UNITS_AT, t1, scope_pattern(scope), None)]
        ids = []
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"evaluating {len(units)} units", total=len(units))
            for u in units:
                ids.append(await create(conn, u, t0, t1, type_, caller.name, card, caller.scope,
                                        DutyParams.of(settings(ctx))))
                bar.advance(task)
        return {"region": region, "evaluations": ids}

    echo_json(_run(ctx, as_user, "evaluate", work))


@click.group("rectify")
def rectify_group() -> None:
    """Rectification tasks (整改): open, start, submit with evidence, verify (another person), return, close."""


@rectify_group.command("open")
@click.option("--unit", required=True)
@click.option("--finding", "finding_kind", default=None, help="The unit's open finding of this kind is the source.")
@click.option("--subject", default=None, help="Which of them (e.g. the quota kind), if several.")
@click.option("--evaluation", "evaluation_id", type=int, default=None)
@click.option("--text", required=True, help="What must be done.")
@click.option("--days", type=click.IntRange(1, 3650), required=True, help="Working days (the calendar).")
@AS
@FORMAT
@click.pass_context
def rectify_open(ctx, unit, finding_kind, subject, evaluation_id, text, days, as_user, fmt) -> None:
    """Open a task for a responsible unit."""
    from streams.evaluation.rectify import open_task, show

    async def work(conn, caller):
        tid = await open_task(conn, unit, text, days, caller.name, finding_kind, subject, evaluation_id, caller.scope)
        return await show(conn, tid, caller.scope)

    echo_json(_run(ctx, as_user, "open", work))


@rectify_group.command("list")
@click.option("--state", default=None)
@click.option("--unit", default=None)
@click.option("--overdue", is_flag=True)
@click.option("--mine", is_flag=True, help="Tasks I opened or acted on.")
@AS
@SHEET_FORMAT
@OUTPUT
@click.pass_context
def rectify_list(ctx, state, unit, overdue, mine, as_user, fmt, output) -> None:
    """Tasks in my regions."""
    from streams.evaluation.rectify import tasks

    async def work(conn, caller):
        return {"tasks": await tasks(conn, caller.scope, state, unit, True if overdue else None,
                                     caller.name if mine else None)}

    out = _run(ctx, as_user, "start", work)
    if fmt == "xlsx":
        write_workbook(ctx, output, "整改任务", out["tasks"],
                       filters={"state": state, "unit_code": unit, "overdue": overdue or None, "mine": mine or None})
        return
    echo_json(out)


@rectify_group.command("show")
@click.argument("task_id", type=int)
@AS
@FORMAT
@click.pass_context
def rectify_show(ctx, task_id, as_user, fmt) -> None:
    """A task: its state, deadline, whether its condition has cleared, every transition, its evidence."""
    from streams.evaluation.rectify import show

    echo_json(_run(ctx, as_user, "start", lambda conn, caller: show(conn, task_id, caller.scope)))


def _transition(action: str, doc: str):
    @click.argument("task_id", type=int)
    @AS
    @FORMAT
    @click.pass_context
    def command(ctx, task_id, as_user, fmt, reason=None, evidence=(), text=None) -> None:
        from streams.evaluation.rectify import Evidence, act

        items = [Evidence(Path(f).name, None, Path(f).read_bytes()) for f in evidence]
        if text:
            items.append(Evidence("text", text))
        echo_json(_run(ctx, as_user, action, lambda conn, caller: act(conn, task_id, action, caller.name, reason,
                                                                         items, caller.scope)))

    command.__doc__ = doc
    if action == "return":
        command = click.option("--reason", required=True)(command)
    if action == "submit":
        command = click.option("--evidence", multiple=True, type=click.Path(exists=True, dir_okay=False))(command)
        command = click.option("--text", default=None, help="Evidence as text.")(command)
    return rectify_group.command(action)(command)


for _action, _doc in (("start", "Start work (整改中)."), ("submit", "Submit with evidence: files and/or --text."),
                      ("verify", "Verify (another person than the submitter)."),
                      ("return", "Return with a reason (退回)."), ("close", "Close (銷號; not the submitter).")):
    _transition(_action, _doc)


COMMANDS = (eval_group, rectify_group)
