"""A 三定規定 (articles 第N條 or sections 一、二、) read into the staffing changes it proposes, each field with the
span of text it came from and what could not be settled listed as unsure; an approval document goes to deltas. Pure."""
from __future__ import annotations

import re
from typing import Any, Optional

from core.script import to_simplified
from streams.archive.deltas import deltas
from streams.archive.reading import (
    _OWN_LEVEL,
    ARTICLE,
    BODIES_RANK,
    FIGURE,
    FUNDING,
    HEAD,
    HEAD_LEVELS,
    LEVEL,
    NATURE,
    NUM,
    NUMBERED,
    QUOTA,
    QUOTA_KIND,
    SECTION,
    TITLE_OF,
    UNIT_RANK,
    Extraction,
    Reader,
    UnitContext,
    _next_code,
    body_name,
    number,
    numbered,
    same,
    set_bodies,
)
from streams.powerlist.overlap import Index, Item


def blocks(r: Reader) -> tuple[str, list[tuple[int, int]]]:
    """The layout and its top-level parts (start, end): articles, else sections, else the whole text."""
    for layout, pattern in (("articles", ARTICLE), ("sections", SECTION)):
        starts = [m.start() for m in pattern.finditer(r.s)]
        if len(starts) >= 2:
            return layout, list(zip(starts, [*starts[1:], len(r.s)]))
    return "approval", [(0, len(r.s))]


def _lead(r: Reader, start: int, end: int) -> str:
    first = NUMBERED.search(r.s, start, end)
    return r.s[start:first.start() if first else end]


def extract(text: str, ctx: UnitContext, doc_type: Optional[str] = None, suggest_threshold: float = 0.3,
            near: float = 0.9) -> Extraction:
    """The changes the document proposes for the unit: a whole 三定 when it has the layout of one (or says it is one),
    else the deltas an approval document states."""
    r = Reader(text)
    layout, parts = blocks(r)
    kind = to_simplified(doc_type or "")
    sanding = kind == "三定规定" or (kind not in ("机构编制审批文件", "调整通知") and layout != "approval"
                                   and any("主要职责" in _lead(r, a, b) for a, b in parts))
    if not sanding:
        return deltas(r, ctx)
    out = Extraction(layout)
    rank = _unit(r, ctx, out)
    _duties(r, parts, ctx, out, suggest_threshold, near)
    _bodies(r, parts, ctx, out)
    rest = [(a, b) for a, b in parts if not _is_duties(_lead(r, a, b))]
    _quotas(r, rest, ctx, out)
    # the head counts where the quotas are: a 科長 named in a body's entry is no post figure
    _posts(r, [(a, b) for a, b in rest if QUOTA.search(r.s, a, b) or "职数" in r.s[a:b]], ctx, rank, out)
    return out


def _is_duties(lead: str) -> bool:
    return any(w in lead for w in ("主要职责", "职能转变", "职责分工", "履行下列职责"))


def _unit(r: Reader, ctx: UnitContext, out: Extraction) -> Optional[str]:
    """unit_set with what the document says that differs from the unit as it is (all of it for a new unit)."""
    fields, spans = {}, {}
    m = TITLE_OF.search(r.s)
    if m:
        name = r.written(*m.span(1)).lstrip("《")
        if not ctx.exists or same(name) != same(ctx.name or ""):
            fields["name"], spans["name"] = name, r.span(*m.span(1))
    m = next((x for x in UNIT_RANK.finditer(r.s) if "内设" not in r.s[max(0, x.start() - 8):x.end() + 4]), None)
    rank = f"{m.group(1)}{m.group(2)}级" if m else None
    if m and (not ctx.exists or rank != ctx.rank):
        fields["rank"], spans["rank"] = rank, r.span(m.start(1), m.end())
    for word, nature in NATURE:
        k = r.s.find(word)
        if k >= 0 and not ctx.exists:
            fields["nature"], spans["nature"] = nature, r.span(k, k + len(word))
            break
    m = FUNDING.search(r.s)
    if m and not ctx.exists:
        fields["funding"], spans["funding"] = m.group(1), r.span(*m.span())
    if fields:
        i = out.add({"kind": "unit_set", "unit_code": ctx.unit_code, **fields}, spans)
        if not ctx.exists:
            for f in ("name", "region_code", "nature", "rank", "funding"):
                if f not in fields:
                    out.doubt(i, f, f"尚未登记的单位：文件中没有其{FIELD_WORDS[f]}")
    return rank or ctx.rank


FIELD_WORDS = {"name": "名称", "region_code": "所在区划", "nature": "机构性质", "rank": "机构规格", "funding": "经费形式"}


def _clauses(r: Reader, parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every numbered clause of the duty parts (主要職責, 職能轉變, 職責分工), in order; an unnumbered 職能轉變 or
    職責分工 part is a clause per paragraph."""
    out = []
    for a, b in parts:
        lead = _lead(r, a, b)
        if not _is_duties(lead):
            continue
        entries = numbered(r, a, b)
        if entries:
            out += [(s, e) for _, _, s, e in entries]
            continue
        head = ARTICLE.match(r.s, a) or SECTION.match(r.s, a)
        start = head.end() if head else a
        title = re.compile(r"[ \t\u3000]*[^。\n，,]{0,12}?(?:主要职责是|主要职责|职能转变|有关职责分工|职责分工)"
                           r"[ \t\u3000]*[。：:\n]\s*")
        start = title.match(r.s, start).end() if title.match(r.s, start) else start
        # a paragraph ends where a line ends a sentence: a line wrapped mid-sentence (a scan's) runs on
        for m in re.finditer(r"(?s).+?(?:[。；;！](?=[ \t\u3000]*\n)|$)", r.s[start:b]):
            if len(m.group().strip()) > 4:
                out.append((start + m.start() + len(m.group()) - len(m.group().lstrip()), start + m.end()))
    return out


def _kept(keys: list[str], ctx: UnitContext, near: float) -> list[Optional[tuple[dict, float]]]:
    """For each clause read, the unit's current clause it is (equal in one script), else the one it nearly is (a
    scan's misread character), with how alike; each current clause taken once."""
    from difflib import SequenceMatcher

    current: dict[str, list[dict]] = {}
    for d in ctx.duties:
        current.setdefault(same(d["text"]), []).append(d)
    chosen: list[Optional[tuple[dict, float]]] = [None] * len(keys)
    for k, key in enumerate(keys):
        if current.get(key):
            chosen[k] = (current[key].pop(0), 1.0)
    left = [d for ds in current.values() for d in ds]
    for k, key in enumerate(keys):
        if chosen[k] is None and left:
            score, best = max(((SequenceMatcher(None, key, same(d["text"])).ratio(), d) for d in left),
                              key=lambda x: x[0])
            if score >= near:
                chosen[k] = (best, score)
                left.remove(best)
    return chosen


def _duties(r: Reader, parts, ctx: UnitContext, out: Extraction, threshold: float, near: float) -> None:
    spans = _clauses(r, parts)
    if not spans:
        out.doubt(None, "duties", "未找到编号的职责条款（主要职责（一）（二）…）")
        return
    _gaps(r, parts, out)
    texts = [r.written(s, e) for s, e in spans]
    chosen = _kept([same(t) for t in texts], ctx, near)
    used, duties = set(ctx.duty_ids), []
    notes: list[Any] = []
    index = Index(Item(i["item_code"], i["name"], ctx.unit_code) for i in ctx.items if i.get("name"))
    for (s, e), text, kept in zip(spans, texts, chosen):
        if kept is not None:
            d, score = kept
            duties.append({"duty_id": d["duty_id"], "text": text, "item_codes": list(d.get("item_codes") or [])})
            if score < 1:
                notes.append((f"duties[{d['duty_id']}].text", f"与本单位条款{d['duty_id']}近似（相似度{score:.2f}：{d['text']}）："
                              "沿用其编号和事项，请确认文字",
                              r.span(s, e), []))
            continue
        duty_id = _next_code("D", used)
        suggested = [h["item_code"] for h in index.similar(Item("?", text, None), threshold)] if index.items else []
        duties.append({"duty_id": duty_id, "text": text, "item_codes": suggested})
        notes.append((f"duties[{duty_id}].item_codes", "新条款：已按名称相近的本单位现行事项建议关联，请人工确认" if suggested else
                      "新条款：本单位没有名称相近的事项，请手工关联", r.span(s, e), suggested))
    i = out.add({"kind": "duties_set", "unit_code": ctx.unit_code, "duties": duties},
                {"duties": [r.span(s, e) for s, e in spans]})
    for fld, why, span, suggested in notes:
        out.doubt(i, fld, why, span, suggested=suggested)


def _gaps(r: Reader, parts, out: Extraction) -> None:
    for a, b in parts:
        if not _is_duties(_lead(r, a, b)):
            continue
        nums = [n for n, *_ in numbered(r, a, b)]
        for x, y in zip(nums, nums[1:]):
            if y != x + 1:
                out.doubt(None, "duties", f"条款编号从（{x}）跳到（{y}）：可能漏了一条或识别有误", r.span(a, min(b, a + 40)))


def _bodies(r: Reader, parts, ctx: UnitContext, out: Extraction) -> None:
    found: list[tuple[int, int]] = []
    rank_m = BODIES_RANK.search(r.s)  # 內設機構為正科級, wherever the document says it
    for a, b in parts:
        lead = _lead(r, a, b)
        m = re.search(r"设(?:下列|以下|如下)?\s*(?:" + NUM + r"\s*个)?\s*内设机构|内设机构(?:如下|为|有)?\s*[：:]", lead)
        if not m or _is_duties(lead):
            continue
        entries = numbered(r, a, b)
        if entries:
            found += [body_name(r, s, e) for _, _, s, e in entries]
        else:  # 設辦公室、法規科、…：a list up to the full stop
            start = a + m.end()
            stop = r.s.find("。", start, b)
            for x in re.finditer(r"[^、，,；;和及\n。：:]+", r.s[start:stop if stop > 0 else b]):
                if x.group().strip():
                    found.append(body_name(r, start + x.start(), start + x.end()))
        if m.group(1):
            stated = number(m.group(1))
            if stated != len(entries or found):
                out.doubt(None, "bodies", f"文件写明内设机构{stated}个，识别出{len(entries or found)}个", r.span(a + m.start(), a + m.end()))
    if not found:
        out.doubt(None, "bodies", "未找到内设机构（设下列内设机构（一）…）")
        return
    set_bodies(r, found, ctx, out, f"{rank_m.group(1)}{rank_m.group(2)}级" if rank_m else None, full=True)


def quota_matches(r: Reader, parts) -> list[tuple[str, int, re.Match]]:
    out = []
    for a, b in parts:
        for m in QUOTA.finditer(r.s, a, b):
            out.append((QUOTA_KIND[m.group(1)], number(m.group(2)), m))
    return out


def _quotas(r: Reader, parts, ctx: UnitContext, out: Extraction) -> None:
    seen: dict[str, int] = {}
    for kind, n, m in quota_matches(r, parts):
        span = r.span(*m.span())
        if kind in seen:
            out.doubt(seen[kind], "approved", f"{kind}编制再次出现（{n}名）：按第一次的数字提议", span)
            continue
        seen[kind] = out.add({"kind": "quota_set", "unit_code": ctx.unit_code, "quota_kind": kind, "approved": n},
                             {"approved": span})
        if "含" in r.s[max(0, m.start() - 3):m.start()]:
            out.doubt(seen[kind], "approved", f"{kind}数字写作含在另一类编制中：各类编制从不合并计算，请确认", span)
    if not seen:
        out.doubt(None, "quotas", "未找到编制（行政编制N名…）")


def _bracketed(r: Reader, a: int, k: int) -> bool:
    return r.s.rfind("(", a, k) > r.s.rfind(")", a, k)


def _posts(r: Reader, parts, ctx: UnitContext, rank: Optional[str], out: Extraction) -> None:
    levels: dict[str, tuple[int, list[dict]]] = {}
    read: list[tuple[int, int]] = []
    for a, b in parts:
        read += [m.span() for m in QUOTA.finditer(r.s, a, b)]
        for m in HEAD.finditer(r.s, a, b):
            read.append(m.span())
            if _bracketed(r, a, m.start()):
                continue  # inside brackets: a remark, not the head count
            own = _OWN_LEVEL.match(r.s, m.end())  # 主任1名（正處級）
            if own is None and rank not in HEAD_LEVELS:
                out.doubt(None, "posts", f"{m.group()}：单位规格不明，{m.group(1)}{m.group(2)}的级别也无法确定", r.span(*m.span()))
                continue
            level = f"{own.group(1)}{own.group(2)}" if own else HEAD_LEVELS[rank][1 if m.group(1) else 0]
            n, spans = levels.get(level, (0, []))
            levels[level] = (n + number(m.group(3)), spans + [r.span(*m.span())])
        for m in LEVEL.finditer(r.s, a, b):
            read.append(m.span())
            level = f"{m.group(1)}{m.group(2)}"
            n, spans = levels.get(level, (0, []))
            levels[level] = (n + number(m.group(3)), spans + [r.span(*m.span())])
        for m in FIGURE.finditer(r.s, a, b):  # a figure no rule read is named, not dropped
            if not _bracketed(r, a, m.start()) and not any(x < m.end() and m.start() < y for x, y in read):
                start = max(r.s.rfind(c, a, m.start()) for c in "，。；、：:\n") + 1
                out.doubt(None, "posts", f"数字未能识别：{r.written(start, m.end())}", r.span(start, m.end()))
    for level, (n, spans) in levels.items():
        out.add({"kind": "posts_set", "unit_code": ctx.unit_code, "post_level": level, "approved": n},
                {"approved": spans[0] if len(spans) == 1 else spans})
