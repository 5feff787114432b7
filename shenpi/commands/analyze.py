"""Decision support (比對分析, 改革建議, 辦事鏈條): service chains, recommendations, comparison across regions."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

import click
from rich.console import Console
from rich.table import Table

from core.figures import csv_text
from core.tz import shown
from shenpi.common import echo_json, with_db
from streams.analysis.chains import ChainParams
from streams.analysis.recommend import RecommendParams

# the defaults are the parameters' own (streams/analysis): the CLI, the API and its document show the same
CHAIN, RECOMMEND = ChainParams(), RecommendParams()
FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
FROM = click.option("--from", "frm", help="Start of the window on application time (date or ISO time); default a "
                                         "year before --to.")
TO = click.option("--to", help="End (exclusive); default now.")


@click.group()
def analyze() -> None:
    """Decision support: chains of items applicants go through, reform recommendations, regions compared."""


def _run(ctx: click.Context, work):
    from streams.indicators.window import QueryError

    try:
        return with_db(ctx, work)
    except QueryError as exc:
        raise click.BadParameter(str(exc)) from None


def _window(frm: Optional[str], to: Optional[str]):
    from streams.analysis.service import analysis_window
    from streams.indicators.window import QueryError

    try:
        return analysis_window(frm, to)
    except QueryError as exc:
        raise click.BadParameter(str(exc)) from None


def _emit(fmt: str, result: dict, key: str, columns: list[str], cells, title: str) -> None:
    if fmt == "json":
        echo_json(result)
        return
    rows = [cells(r) for r in result[key]]
    if fmt == "csv":
        click.echo(csv_text(columns, rows), nl=False)
        return
    from shenpi.tables import header

    t = Table(title=title)
    for c in columns:
        t.add_column(header(c))
    for r in rows:
        t.add_row(*["—" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v)) for v in r])
    Console().print(t)


@analyze.command("chains")
@FROM
@TO
@click.option("--min-support", type=int, default=CHAIN.min_support, show_default=True)
@click.option("--max-span-days", type=float, default=CHAIN.max_span.days, show_default=True)
@click.option("--min-confidence", type=float, default=CHAIN.min_confidence, show_default=True)
@click.option("--min-lift", type=float, default=CHAIN.min_lift, show_default=True)
@FORMAT
@click.pass_context
def chains_cmd(ctx, frm, to, min_support: int, max_span_days: float, min_confidence: float, min_lift: float,
               fmt: str) -> None:
    """Chains of items applicants apply for one after another (辦事鏈條)."""
    from streams.analysis.chains import ChainParams
    from streams.analysis.service import chains

    window = _window(frm, to)
    params = ChainParams(min_support, timedelta(days=max_span_days), min_confidence, min_lift)
    result = _run(ctx, lambda c: chains(c, window, params))
    _emit(fmt, result, "chains", ["items", "support", "median_days", "bottleneck", "steps"],
          lambda c: [" → ".join(c["items"]), c["support"], c["median_days"], c["bottleneck"],
                     "; ".join(f"{s['item']} 置信度 {_f(s['confidence'])} 提升度 {_f(s['lift'])}"
                               f" 等待 {_f(s['median_wait_days'])}天 办理 {_f(s['median_handling_days'])}天"
                               for s in c["steps"])],
          f"办事链条 · {shown(result['from'])} → {shown(result['to'])}")


@analyze.command("recommend")
@FROM
@TO
@click.option("--devolve-min-volume", type=int, default=RECOMMEND.devolve_min_volume, show_default=True)
@click.option("--top", type=int, default=RECOMMEND.top, show_default=True)
@click.option("--merge-min-support", type=int, default=RECOMMEND.merge.min_support, show_default=True)
@click.option("--merge-max-gap-days", type=float, default=RECOMMEND.merge.max_gap.days, show_default=True)
@click.option("--simplify-min-complaints", type=int, default=RECOMMEND.simplify_min_complaints, show_default=True)
@click.option("--simplify-ratio", type=float, default=RECOMMEND.simplify_ratio, show_default=True)
@FORMAT
@click.pass_context
def recommend_cmd(ctx, frm, to, devolve_min_volume: int, top: int, merge_min_support: int,
                  merge_max_gap_days: float, simplify_min_complaints: int, simplify_ratio: float, fmt: str) -> None:
    """Recommendations: cancel (取消), devolve (下放), merge (整合), high_volume (辦件多), simplify (精簡材料、減少跑動),
    with their evidence."""
    from streams.analysis.merge import MergeParams
    from streams.analysis.recommend import RecommendParams
    from streams.analysis.service import recommendations

    window = _window(frm, to)
    params = RecommendParams(devolve_min_volume, top, MergeParams(merge_min_support, timedelta(days=merge_max_gap_days)),
                             simplify_min_complaints, simplify_ratio)
    result = _run(ctx, lambda c: recommendations(c, window, params))
    _emit(fmt, result, "recommendations", ["kind", "item_codes", "region_code", "evidence"],
          lambda r: [r["kind"], "|".join(r["item_codes"]), r["region_code"], _brief(r["evidence"])],
          f"改革建议 · {shown(result['from'])} → {shown(result['to'])}")


@analyze.command("compare")
@click.option("--item", default=None, help="An item code.")
@click.option("--department", default=None, help="A department code (instead of --item).")
@FROM
@TO
@click.option("--min-volume", type=int, default=20, show_default=True)
@FORMAT
@click.pass_context
def compare_cmd(ctx, item: Optional[str], department: Optional[str], frm, to, min_volume: int, fmt: str) -> None:
    """Every region's indicators for an item or a department, beside the peer median; worse outliers flagged."""
    from streams.analysis.service import comparison
    from streams.indicators.definitions import INDICATORS

    if (item is None) == (department is None):
        raise click.UsageError("give --item or --department")
    window = _window(frm, to)
    result = _run(ctx, lambda c: comparison(c, window, item, department, min_volume))
    cols = ["region_code", "level", *INDICATORS, "worse"]
    _emit(fmt, result, "rows", cols, lambda r: [*(r[k] for k in cols[:-1]), "|".join(r["worse"])],
          f"横向对比 {item or department} · {shown(result['from'])} → {shown(result['to'])}")


def _f(v: Any) -> str:
    return "—" if v is None else f"{v:.2f}"


def _brief(evidence: dict) -> str:
    return ", ".join(f"{k}={_f(v) if isinstance(v, float) else v}" for k, v in evidence.items()
                     if not isinstance(v, (list, dict)))


COMMANDS = (analyze,)
