"""An approval document (批覆, 通知) read into the deltas it states: bodies set up, abolished or renamed, quotas and
leadership posts added or cut (as the figure after, from the unit as it stands). Pure."""
from __future__ import annotations

import re
from typing import Optional

from streams.archive.reading import (
    HEAD_LEVELS,
    NUM,
    QUOTA_KIND,
    QUOTES,
    TITLES,
    Extraction,
    Reader,
    UnitContext,
    body_name,
    number,
    same,
    set_bodies,
)

_KINDS = "(" + "|".join(sorted(QUOTA_KIND, key=len, reverse=True)) + ")"
UP, DOWN = ("核增", "增加", "增核", "追加", "划入"), ("核减", "减少", "收回", "划出", "精简")
_OP = "(" + "|".join(UP + DOWN) + ")"
QUOTA_DELTA = re.compile(_OP + r"[^，。；]{0,12}?" + _KINDS + r"编制\s*" + NUM + r"\s*名")
QUOTA_AFTER = re.compile(r"(?:调整后|核定|现有|共有)[^。；]{0,16}?" + _KINDS + r"编制(?:为|共)?\s*" + NUM + r"\s*名")
POSTS_DELTA = re.compile(_OP + r"[^，。；]{0,12}?(正|副)(厅|处|科|股)级(?:领导)?职数\s*" + NUM + r"\s*名")
HEAD_DELTA = re.compile(_OP + r"[^，。；]{0,12}?(副?)" + TITLES + r"(?:领导)?职数\s*" + NUM + r"\s*名")
SET_UP = re.compile(r"(?:增设|新设立|设立|新设|组建|成立)(?:内设机构)?")
ABOLISH = re.compile(r"撤销(?:内设机构)?")
RENAME = re.compile(r"更名为[" + QUOTES + r"]?([^，。；、：:\s" + QUOTES + r"]{2,30})")
_BEFORE_OLD = "将把，。；、：:\n" + QUOTES
_STOP = re.compile(r"[，。；;：:\n]")
FIGURES = re.compile(r"(?:编制|职数)\s*" + NUM + r"\s*名")
UNIT_WORDS = re.compile(r"事业单位|直属|工作部门|派出机构|议事协调机构|部门管理机构")
BODY_RANK = re.compile(r"为(正|副)(处|科|股)级")


def deltas(r: Reader, ctx: UnitContext) -> Extraction:
    out = Extraction("approval")
    _renames(r, ctx, out)
    _set_up(r, ctx, out)
    _abolished(r, ctx, out)
    _quotas(r, ctx, out)
    _posts(r, ctx, out)
    _unread(r, out)
    if not out.changes:
        out.doubt(None, "changes", "未识别出变动（增设、撤销、更名、核增/核减N名、职数）：请阅读原文后编辑")
    return out


def _unread(r: Reader, out: Extraction) -> None:
    """A quota or post figure none of the rules read (划转 between units, say) is named, not dropped."""
    read = [m.span() for p in (QUOTA_DELTA, QUOTA_AFTER, POSTS_DELTA, HEAD_DELTA) for m in p.finditer(r.s)]
    for m in FIGURES.finditer(r.s):
        if not any(a < m.end() and m.start() < b for a, b in read):
            start = max(r.s.rfind(c, 0, m.start()) for c in "，。；：:\n") + 1
            out.doubt(None, "changes", f"数字未能识别：{r.written(start, m.end())}", r.span(start, m.end()))


def _names(r: Reader, start: int) -> list[tuple[int, int]]:
    """The bodies listed from `start` to the end of the clause: 行政審批科、數據管理科和…"""
    stop = _STOP.search(r.s, start)
    end = stop.start() if stop else len(r.s)
    out = []
    for m in re.finditer(r"[^、和及]+", r.s[start:end]):
        s, e = body_name(r, start + m.start(), start + m.end())
        e = _strip_tail(r, s, e)
        if e > s:
            out.append((s, e))
    return out


def _strip_tail(r: Reader, s: int, e: int) -> int:
    m = re.search(r"(?:两个|二个|[0-9一二三四五六七八九十]+个)?(?:内设机构|等)$", r.s[s:e])
    return s + m.start() if m else e


def _own_prefix(r: Reader, ctx: UnitContext, s: int, e: int) -> int:
    """A body named with its unit first (市XX局辦公室): the unit's name is not the body's."""
    name = same(ctx.name or "")
    text = r.s[s:e]
    return s + len(ctx.name) if ctx.name and name and same(text).startswith(name) and len(text) > len(ctx.name) else s


def _set_up(r: Reader, ctx: UnitContext, out: Extraction) -> None:
    for m in SET_UP.finditer(r.s):
        names = [(_own_prefix(r, ctx, s, e), e) for s, e in _names(r, m.end())]
        names = [(s, e) for s, e in names if e - s >= 2 and same(r.written(s, e)) != same(ctx.name or "")]
        if not names:
            continue
        sentence = r.s[m.end():(r.s.find("。", m.end()) + 1) or len(r.s)]
        if UNIT_WORDS.search(sentence):  # a unit set up (its own code and 三定), not an internal body of this one
            out.doubt(None, "body_set", f"{r.written(m.start(), m.end() + len(sentence))}：此处设立的是单位而非内设机构，"
                      "请作为该单位的设立提议", r.span(m.start(), m.end() + len(sentence)))
            continue
        stop = _STOP.search(r.s, m.end())
        rank = BODY_RANK.search(r.s, m.end(), (stop.end() + 30) if stop else len(r.s))
        set_bodies(r, names, ctx, out, f"{rank.group(1)}{rank.group(2)}级" if rank else None, full=False)


def _known(ctx: UnitContext, name: str) -> Optional[str]:
    return {same(n): c for c, n in ctx.bodies.items()}.get(same(name))


def _abolished(r: Reader, ctx: UnitContext, out: Extraction) -> None:
    for m in ABOLISH.finditer(r.s):
        for s, e in _names(r, m.end()):
            s = _own_prefix(r, ctx, s, e)
            name = r.written(s, e)
            code = _known(ctx, name)
            if code is None:
                out.doubt(None, "body_code", f"撤销「{name}」：本单位现无此名称的内设机构",
                          r.span(s, e))
                continue
            out.add({"kind": "body_abolished", "unit_code": ctx.unit_code, "body_code": code}, {"name": r.span(s, e)})


def _renames(r: Reader, ctx: UnitContext, out: Extraction) -> None:
    """将X更名为Y: X is what stands between the nearest 将 (or mark) before and 更名为."""
    for m in RENAME.finditer(r.s):
        end = m.start()
        while end > 0 and r.s[end - 1] in QUOTES:
            end -= 1
        start = max(r.s.rfind(c, 0, end) for c in _BEFORE_OLD) + 1
        s = _own_prefix(r, ctx, start, end)
        old, new = r.written(s, end), r.written(*m.span(1))
        code = _known(ctx, old)
        if code is None:
            out.doubt(None, "body_code", f"「{old}」更名为「{new}」：本单位现无名为「{old}」的内设机构", r.span(s, m.end()))
            continue
        ctx.bodies = {**ctx.bodies, code: new}  # a later 撤销 of the new name finds it
        out.add({"kind": "body_set", "unit_code": ctx.unit_code, "body_code": code, "name": new},
                {"name": r.span(*m.span(1)), "body_code": r.span(s, end)})


def _after(base: Optional[int], op: str, n: int) -> int:
    return (base or 0) + (n if op in UP else -n)


def _quotas(r: Reader, ctx: UnitContext, out: Extraction) -> None:
    stated = {QUOTA_KIND[m.group(1)]: (number(m.group(2)), m) for m in QUOTA_AFTER.finditer(r.s)}
    done = set()
    for m in QUOTA_DELTA.finditer(r.s):
        kind, op, n = QUOTA_KIND[m.group(2)], m.group(1), number(m.group(3))
        base = ctx.quotas.get(kind)
        after = _after(ctx.quotas.get(kind) if kind not in done else out_figure(out, kind), op, n)
        spans = {"approved": r.span(*m.span())}
        i = out.add({"kind": "quota_set", "unit_code": ctx.unit_code, "quota_kind": kind, "approved": max(after, 0)},
                    spans)
        done.add(kind)
        if kind in stated and stated[kind][0] != after:
            out.changes[i]["approved"] = stated[kind][0]
            out.doubt(i, "approved", f"由{base or 0}名{op}{n}名应为{after}名，文件写明{stated[kind][0]}名："
                      "按文件写明的数字提议", r.span(*stated[kind][1].span()))
        elif after < 0:
            out.doubt(i, "approved", f"由{base or 0}名{op}{n}名后少于零", spans["approved"])
    for kind, (n, m) in stated.items():
        if kind not in done:
            out.add({"kind": "quota_set", "unit_code": ctx.unit_code, "quota_kind": kind, "approved": n},
                    {"approved": r.span(*m.span())})


def out_figure(out: Extraction, kind: str) -> int:
    return next(c["approved"] for c in reversed(out.changes) if c.get("quota_kind") == kind)


def _posts(r: Reader, ctx: UnitContext, out: Extraction) -> None:
    figures = dict(ctx.posts)
    for m in POSTS_DELTA.finditer(r.s):
        _post(r, ctx, out, figures, f"{m.group(2)}{m.group(3)}", m.group(1), number(m.group(4)), m)
    for m in HEAD_DELTA.finditer(r.s):
        if ctx.rank not in HEAD_LEVELS:
            out.doubt(None, "post_level", f"{m.group()}：单位规格不明，职数级别无法确定", r.span(*m.span()))
            continue
        level = HEAD_LEVELS[ctx.rank][1 if m.group(2) else 0]
        _post(r, ctx, out, figures, level, m.group(1), number(m.group(4)), m)


def _post(r: Reader, ctx: UnitContext, out: Extraction, figures: dict, level: str, op: str, n: int, m) -> None:
    after = _after(figures.get(level), op, n)
    i = out.add({"kind": "posts_set", "unit_code": ctx.unit_code, "post_level": level, "approved": max(after, 0)},
                {"approved": r.span(*m.span())})
    if after < 0:
        out.doubt(i, "approved", f"由{figures.get(level, 0)}名{op}{n}名后少于零", r.span(*m.span()))
    figures[level] = max(after, 0)
