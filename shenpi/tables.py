"""Rich tables for the terminal."""
from __future__ import annotations

from typing import Sequence

from rich.table import Table

from core.figures import fmt

from streams.indicators.definitions import BY_KEY, GUARDS, INDICATORS

LABELS = {k: i.zh for k, i in BY_KEY.items()}


def indicator_table(rows: Sequence[dict], group_by: Sequence[str], title: str) -> Table:
    """Few groups: one column per group (fits a terminal); many: one row per group."""
    if len(rows) <= 6:
        t = Table(title=f"14項監測指標 · {title}")
        t.add_column("indicator")
        for r in rows:
            t.add_column(" / ".join(str(r[g]) for g in group_by) or "all", justify="right")
        for k in INDICATORS + GUARDS:
            t.add_row(f"{LABELS[k]} {k}", *[fmt(k, r[k]) for r in rows])
        return t
    # many groups: the figures a supervisor scans first (every key is in --format json or csv)
    keys = ("received", "completed", "in_progress", "overdue", "on_time_rate", "avg_handling_hours", "out_of_list")
    t = Table(title=f"14項監測指標 · {title} (main figures)", show_lines=False)
    for g in group_by:
        t.add_column(g, overflow="fold")
    for k in keys:
        t.add_column(LABELS[k], justify="right")
    for r in rows:
        t.add_row(*[str(r[g]) for g in group_by], *[fmt(k, r[k]) for k in keys])
    return t


def status_table(t: dict) -> Table:
    tab = Table(title="reconciliation: received = counted + pending + duplicates + dead-lettered")
    tab.add_column("figure")
    tab.add_column("events", justify="right")
    for k in ("received", "counted", "pending", "duplicates", "dead_lettered"):
        tab.add_row(k, f"{t[k]:,}")
    for k, v in t["dead_lettered_by_stage"].items():
        tab.add_row(f"  dead-lettered at {k}", f"{v:,}")
    tab.add_row("in flight (acknowledged, not yet accounted for)", f"{t['in_flight']:,}")
    if t["stalled"]:
        tab.add_row("[red]stalled over 2 minutes[/red]", f"{t['stalled']:,}"
                    + (f" ({t['stalled_unkept']:,} from files: ingest them again)" if t["stalled_unkept"] else ""))
    yes = lambda ok: "[green]yes[/green]" if ok else "[red]NO[/red]"  # noqa: E731
    tab.add_row("case events reconciled", yes(t["case_events_reconciled"]))
    ls, st = t["list_stream"], t["staffing"]
    tab.add_row("list changes received / stored / dead-lettered",
                f"{ls['received']:,} / {ls['stored']:,} / {ls['dead_lettered']:,}")
    tab.add_row("  in flight", f"{ls['in_flight']:,}")
    tab.add_row("list changes reconciled", yes(ls["reconciled"]))
    tab.add_row("staffing received / applied / pending", f"{st['received']:,} / {st['applied']:,} / {st['pending']:,}")
    tab.add_row("  duplicates / dead-lettered", f"{st['duplicates']:,} / {st['dead_lettered']:,}")
    tab.add_row("  in flight", f"{st['in_flight']:,}")
    tab.add_row("staffing reconciled", yes(st["reconciled"]))
    tab.add_row("reconciled (every stream)", yes(t["reconciled"]))
    tab.add_row("violations (清單外)", f"{t['violations']:,}")
    for w in t["workers"]:
        tab.add_row(f"worker {w['worker_id']}", f"{w['partitions']} partitions, {'alive' if w['alive'] else 'gone'}")
    return tab
