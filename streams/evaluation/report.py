"""An evaluation's report: one HTML page (the console shows it; Chromium prints it to the PDF kept with the
evaluation), its charts drawn as SVG so that the page needs no script."""
from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from core.figures import fmt
from core.tz import last_day, period, shown

CSS = """body{font-family:"WenQuanYi Zen Hei","Noto Sans CJK SC",sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:20px}table{border-collapse:collapse;width:100%;font-size:12px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}.big{font-size:28px;font-weight:bold}
.note{color:#666;font-size:11px}svg{max-width:100%}"""


KINDS = {"over_quota": "超编", "mixed_use": "混编", "over_posts": "超职数", "unapproved_body": "擅自设立内设机构",
         "duty_unexercised": "缺位（待研判）", "power_without_duty": "越位（待研判）",
         "duty_underperformed": "不到位（待研判）", "duty_overlap": "职能交叉"}


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v))



SOURCES = {"staffing": "编制数据", "findings": "检查发现", "duties": "三定职责", "indicators": "审批监测",
           "cases_per_staff": "审批监测与实有人数", "demands": "企业群众诉求", "manual": "人工评分"}


def _v(x: Any, key: str = "") -> str:
    return esc(fmt(key, x))


def _source(source: str) -> str:
    """Where an indicator's value comes from, in words (the source's code on hover)."""
    head = source.split(":", 1)[0].split(".", 1)[0]
    return f'<span title="{esc(source)}">{esc(SOURCES.get(head, source))}</span>'


def _value(i: dict) -> str:
    """A value as a person reads it: shares and rates as percentages."""
    v = i["value"]
    if isinstance(v, float) and (i["source"].endswith(("_rate", "_share"))):
        return esc(fmt("x_rate", v))
    return esc(fmt("", round(v, 2) if isinstance(v, float) else v))


def _bars(rows: list[tuple[str, float | None]], width: int = 640, unit: str = "") -> str:
    """Horizontal bars 0..100 (or 0..max), one per row; rows without a value say so."""
    top = max([v for _, v in rows if v is not None] or [1]) if unit else 100
    h = 22 * len(rows) + 10
    parts = []
    for k, (label, v) in enumerate(rows):
        y = 5 + 22 * k
        w = 0 if v is None else (v / top) * (width - 310) if top else 0
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{esc(label[:23])}</text>'
                     f'<rect x="250" y="{y}" width="{w:.1f}" height="16" fill="#3b7dd8"/>'
                     f'<text x="{255 + w:.1f}" y="{y + 13}" font-size="11">'
                     f'{"无数据" if v is None else f"{v:g}{unit}"}</text>')
    return f'<svg width="{width}" height="{h}" viewBox="0 0 {width} {h}">{"".join(parts)}</svg>'


def _subject(f: dict) -> str:
    """A finding's subject by name where the evaluation kept one (a body's name, a duty's text)."""
    return f.get("name") or (f.get("text") or "")[:40] or f["subject"]


def render(e: dict[str, Any]) -> str:
    inputs = e["inputs"]
    unit = inputs["unit"]
    score = "—" if e["score"] is None else f'{e["score"]:.1f}'
    rank = e["rank"]
    left_out = [i["name"] for i in e["indicators"] if i["left_out"]]
    ind_rows = "".join(
        f'<tr><td>{esc(i["name"])}</td><td>{_source(i["source"])}</td><td>{_value(i)}'
        f'</td><td>{esc("—" if i["score"] is None else i["score"])}</td><td>{esc(i["weight"])}</td></tr>'
        for i in e["indicators"])
    quota_rows = "".join(
        f'<tr><td>{esc(q["quota_kind"])}</td><td>{q["approved"]}</td><td>{q["actual"]}</td><td>{q["vacant"]}</td>'
        f'<td>{q["over"]}</td></tr>' for q in inputs["staffing"]["quotas"])
    finding_rows = "".join(
        f'<tr><td>{esc(KINDS.get(f["kind"], f["kind"]))}</td><td>{esc(_subject(f))}</td><td>{esc(shown(f.get("opened_at"), False))}</td>'
        f'<td>{esc(shown(f.get("closed_at"), False))}</td><td>{esc(f["basis"])}</td></tr>' for f in e["findings"])
    history = [(period(p["from"], p["to"], "–"), p["score"]) for p in reversed(e["previous"])]
    history.append((period(e["from"], e["to"], "–"), e["score"]))
    ind = inputs["indicators"]
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>评估报告 {e['evaluation_id']}</title>
<style>{CSS}</style></head><body>
<h1>{esc(unit['name'])} 机构编制{esc(e['type'])}评估报告</h1>
<p>{esc(unit['nature'])} · {esc(unit['rank'])} · 统一社会信用代码 {esc(unit['unit_code'])} · 评估期 {esc(period(e['from'], e['to']))} · 指标体系 {esc(e['scorecard_version'])} · 评估编号 {e['evaluation_id']}</p>
<p>综合得分 <span class="big">{score}</span> · 本区划同类单位（{esc(e['nature'])}）同期排名
{esc(rank['position'] or '—')} / {esc(rank['of'])}</p>
<p class="note">{'未计分指标（无数据，权重由其余指标分担）：' + esc('、'.join(left_out)) if left_out else '全部指标均已计分'}</p>
<h2>指标得分</h2>{_bars([(i['name'], i['score']) for i in e['indicators']])}
<table><tr><th>指标</th><th>来源</th><th>数值</th><th>得分</th><th>权重</th></tr>{ind_rows}</table>
<h2>编制使用（截至 {last_day(e['to'])}）</h2>
<table><tr><th>编制类型</th><th>核定</th><th>实有</th><th>空编</th><th>超编</th></tr>{quota_rows}</table>
<h2>检查发现</h2><table><tr><th>类型</th><th>对象</th><th>发现</th><th>消除</th><th>依据</th></tr>{finding_rows}</table>
<h2>职责履行</h2><p>职责条款 {inputs['duties']['clauses']} 条：已履行 {inputs['duties']['exercised']}，未见在册事项
{inputs['duties']['unexercised']}，未关联事项 {inputs['duties']['unlinked']}，办理不到位 {inputs['duties']['underperformed']}</p>
<h2>审批运行</h2><p>收件 {_v(ind.get('received'))} · 办结 {_v(ind.get('completed'))} · 按时办结率
{_v(ind.get('on_time_rate'), 'on_time_rate')}（不含无时限办结 {_v(ind.get('completed_without_deadline'))} 件）· 好评率
{_v(ind.get('satisfaction_rate'), 'satisfaction_rate')} · 人均办件量 {_v(inputs['cases_per_staff'].get('cases_per_staff'))}</p>
<h2>纵向比较</h2>{_bars(history)}
<p class="note">数据截至评估创建时（{esc(shown(e['created_at']))}，{esc(e['created_by'])}）；此后到达的数据不改变本评估。</p>
</body></html>"""


def print_pdf(html: str, chromium: str = "chromium", timeout: float = 60) -> bytes:
    """The page printed by headless Chromium (the browser the console's tests drive)."""
    exe = shutil.which(chromium)
    if exe is None:
        raise RuntimeError(f"{chromium} is not installed: the PDF is printed by the browser")
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "report.html", Path(d) / "report.pdf"
        src.write_text(html, encoding="utf-8")
        subprocess.run([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                        f"--user-data-dir={d}/profile", f"--print-to-pdf={out}", src.as_uri()],
                       check=True, capture_output=True, timeout=timeout)
        return out.read_bytes()


def digest(pdf: bytes) -> str:
    return hashlib.sha256(pdf).hexdigest()


async def report_pdf(conn, evaluation_id: int, scope: str = "") -> tuple[bytes, str]:
    """The evaluation's PDF: the one in the archive, or printed now and archived (an evaluation does not change,
    so neither does its report)."""
    import asyncio

    from streams.evaluation.evaluate import show

    e = await show(conn, evaluation_id, scope)
    if e is None:
        raise LookupError(f"no evaluation {evaluation_id} in your regions")
    kept = await conn.fetchrow("SELECT pdf, sha256 FROM evaluation_report WHERE evaluation_id = $1", evaluation_id)
    if kept is not None and kept["pdf"]:
        return bytes(kept["pdf"]), kept["sha256"]
    # one report for every reader: ranked within the unit's own region, whoever prints it first (a city-wide
    # reader's rank would count other counties' evaluations for the county's readers of the archived copy)
    e = await show(conn, evaluation_id, e["inputs"]["unit"]["region_code"])
    pdf = await asyncio.to_thread(print_pdf, render(e))
    sha = digest(pdf)
    await conn.execute("INSERT INTO evaluation_report (evaluation_id, pdf, sha256) VALUES ($1, $2, $3)"
                       " ON CONFLICT (evaluation_id) DO NOTHING", evaluation_id, pdf, sha)
    return pdf, sha
