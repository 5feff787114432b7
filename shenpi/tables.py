"""Rich tables for the terminal."""
from __future__ import annotations

from typing import Sequence

from rich.table import Table

from core.figures import fmt
from core.script import to_simplified
from streams.indicators.definitions import BY_KEY, GUARDS, INDICATORS

# the console's language: simplified Chinese (the definitions are written in traditional characters)
LABELS = {k: to_simplified(i.zh) for k, i in BY_KEY.items()}
GROUPS = {"region_code": "区划", "department_code": "部门", "item_code": "事项", "level": "层级"}


def indicator_table(rows: Sequence[dict], group_by: Sequence[str], title: str) -> Table:
    """Few groups: one column per group (fits a terminal); many: one row per group."""
    if len(rows) <= 6:
        t = Table(title=f"14项监测指标 · {title}")
        t.add_column("指标")
        for r in rows:
            t.add_column(" / ".join(str(r[g]) for g in group_by) or "全部", justify="right")
        for k in INDICATORS + GUARDS:
            t.add_row(LABELS[k], *[fmt(k, r[k]) for r in rows])
        return t
    # many groups: the figures a supervisor scans first (every key is in --format json or csv)
    keys = ("received", "completed", "in_progress", "overdue", "on_time_rate", "avg_handling_hours", "out_of_list")
    t = Table(title=f"14项监测指标 · {title}（主要指标）", show_lines=False)
    for g in group_by:
        t.add_column(GROUPS.get(g, g), overflow="fold")
    for k in keys:
        t.add_column(LABELS[k], justify="right")
    for r in rows:
        t.add_row(*[str(r[g]) for g in group_by], *[fmt(k, r[k]) for k in keys])
    return t


def status_table(t: dict) -> Table:
    tab = Table(title="对账：收到 = 已计入 + 待处理 + 重复 + 死信")
    tab.add_column("项目")
    tab.add_column("事件数", justify="right")
    for k, word in (("received", "收到"), ("counted", "已计入"), ("pending", "待处理"), ("duplicates", "重复"),
                    ("dead_lettered", "死信")):
        tab.add_row(word, f"{t[k]:,}")
    for k, v in t["dead_lettered_by_stage"].items():
        tab.add_row(f"  死信（{k}）", f"{v:,}")
    tab.add_row("在途（已确认收到，尚未计入）", f"{t['in_flight']:,}")
    if t["stalled"]:
        tab.add_row("[red]滞留超过2分钟[/red]", f"{t['stalled']:,}"
                    + (f"（其中 {t['stalled_unkept']:,} 来自文件：请重新导入）" if t["stalled_unkept"] else ""))
    yes = lambda ok: "[green]一致[/green]" if ok else "[red]不一致[/red]"  # noqa: E731
    tab.add_row("办件事件对账", yes(t["case_events_reconciled"]))
    ls, st = t["list_stream"], t["staffing"]
    tab.add_row("清单变更：收到 / 已存 / 死信", f"{ls['received']:,} / {ls['stored']:,} / {ls['dead_lettered']:,}")
    tab.add_row("  在途", f"{ls['in_flight']:,}")
    tab.add_row("清单变更对账", yes(ls["reconciled"]))
    tab.add_row("编制变更：收到 / 已应用 / 待处理", f"{st['received']:,} / {st['applied']:,} / {st['pending']:,}")
    tab.add_row("  重复 / 死信", f"{st['duplicates']:,} / {st['dead_lettered']:,}")
    tab.add_row("  在途", f"{st['in_flight']:,}")
    tab.add_row("编制变更对账", yes(st["reconciled"]))
    dm = t["demands"]
    tab.add_row("诉求：收到 / 已存 / 重复 / 死信",
                f"{dm['received']:,} / {dm['applied']:,} / {dm['duplicates']:,} / {dm['dead_lettered']:,}")
    tab.add_row("  在途", f"{dm['in_flight']:,}")
    tab.add_row("诉求对账", yes(dm["reconciled"]))
    tab.add_row("对账结果（全部数据流）", yes(t["reconciled"]))
    tab.add_row("清单外办件", f"{t['violations']:,}")
    for w in t["workers"]:
        tab.add_row(f"工作进程 {w['worker_id']}", f"{w['partitions']} 个分区，{'运行中' if w['alive'] else '已退出'}")
    return tab


COLUMN_WORDS = {  # the CLI's column names in the console's language (JSON and CSV keep the keys)
    "unit_code": "单位代码", "unit_name": "单位", "name": "名称", "quota_kind": "编制类型", "approved": "核定",
    "actual": "实有", "vacant": "空编", "over": "超编", "usage_rate": "使用率", "kind": "类型", "subject": "对象",
    "opened_at": "发现于", "closed_at": "消除于", "basis": "依据", "region_code": "区划", "department_code": "部门",
    "item_code": "事项", "item_codes": "事项", "items": "事项", "support": "申请人数", "median_days": "全程中位天数",
    "bottleneck": "瓶颈", "steps": "环节", "evidence": "依据数据", "worse": "较差指标", "received": "收件",
    "on_time_rate": "按时办结率", "avg_handling_hours": "平均办理时长（小时）", "satisfaction_rate": "满意率",
    "rejection_rate": "不予受理率", "candidate": "待研判", "level": "层级", "nature": "性质", "rank": "规格",
    "valid_from": "起", "valid_to": "止", "at": "时间", "doc_no": "文号", "title": "标题", "text": "内容",
}


def header(key: str) -> str:
    return COLUMN_WORDS.get(key, key)


def cell(v) -> str:
    """A value for people: an instant's ISO text in local time, nothing as a dash."""
    from core.tz import shown

    if v is None:
        return "—"
    if isinstance(v, str) and len(v) >= 19 and v[4:5] == "-" and v[10:11] == "T":
        try:
            return shown(v)
        except ValueError:
            return v
    return str(v)
