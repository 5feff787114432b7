"""A 三定規定 (articles 第N條 or sections 一、二、) or an approval document (批覆, 通知) read into the staffing changes it
proposes, each field with the span of text it came from and what could not be settled listed as unsure. Pure."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from core.script import to_simplified
from streams.powerlist.overlap import Index, Item, _cn_number

QUOTES = "“”\"「」『』‘’'"
NUM = r"([0-9]+|[零〇一二两三四五六七八九十百千]+)"
_FULLWIDTH = str.maketrans("０１２３４５６７８９（）：；，。", "0123456789()：；，。")
ARTICLE = re.compile(r"(?m)(?:^|(?<=。))[ \t\u3000]*第\s*[零〇一二两三四五六七八九十百0-9]+\s*条")
SECTION = re.compile(r"(?m)^[ \t\u3000]*[一二三四五六七八九十]+[、.．]")
# a scan's 一 is often read as a dash: (—) is (一)
NUMBERED = re.compile(r"(?m)(?:^|(?<=[：:。；;]))[ \t\u3000]*\(\s*([一二三四五六七八九十百0-9]+|[—－-])\s*\)")
BODY_SUFFIX = re.compile(r"(办公室|室|科|处|股|中心|队|所|站|部|组|办|局|委员会|大队|支队)$")
# longest first: 機關工勤人員事業編制 is 工勤, not 事業
QUOTA = re.compile(r"(机关工勤人员事业|工勤人员事业|机关工勤人员|工勤人员|工勤|政法专项|参照公务员法管理事业|参公事业|行政|事业)"
                   r"编制(?:为|共|总数为)?\s*" + NUM + r"\s*名")
QUOTA_KIND = {"机关工勤人员事业": "工勤", "工勤人员事业": "工勤", "机关工勤人员": "工勤", "工勤人员": "工勤", "工勤": "工勤",
              "政法专项": "政法专项", "参照公务员法管理事业": "参公事业", "参公事业": "参公事业", "行政": "行政", "事业": "事业"}
TITLES = r"(局长|主任|厅长|处长|主席|书记|队长|院长|所长|站长|部长|秘书长|科长|社长|会长|馆长|行长|关长|署长|主任委员)"
HEAD = re.compile(r"(副?)" + TITLES + r"\s*" + NUM + r"\s*名")
LEVEL = re.compile(r"(正|副)(厅|处|科|股)级?(?:领导)?职数(?:为)?\s*" + NUM + r"\s*名")
BODIES_RANK = re.compile(r"内设机构(?:的)?(?:规格)?(?:均|一律)?为(正|副)(处|科|股)级")
_OWN_LEVEL = re.compile(r"\s*\((正|副)(厅|处|科)级?\)")
FIGURE = re.compile(r"[\u4e00-\u9fff]\s*" + NUM + r"\s*名")
UNIT_RANK = re.compile(r"(?:为|规格为|规格是|机构规格)\s*(正|副)(厅|处|科)级")
# the head and the deputies of a unit of each rank
HEAD_LEVELS = {"正厅级": ("正厅", "副厅"), "副厅级": ("副厅", "正处"), "正处级": ("正处", "副处"), "副处级": ("副处", "正科"),
               "正科级": ("正科", "副科"), "副科级": ("副科", "正股")}
TITLE_OF = re.compile(r"([^\s《》“”\"，。、：:]{2,40}?)(?:职能配置、?内设机构和人员编制规定|主要职责、?内设机构和人员编制规定"
                      r"|机构职能编制规定|[“\"]?三定[”\"]?规定|机构编制方案)")
NATURE = (("参照公务员法管理", "参公事业单位"), ("公益一类", "公益一类事业单位"), ("公益二类", "公益二类事业单位"),
          ("生产经营类", "生产经营类事业单位"), ("政府工作部门", "行政机关"), ("工作机关", "行政机关"), ("行政机构", "行政机关"))
FUNDING = re.compile(r"(全额拨款|差额拨款|自收自支)")


@dataclass
class UnitContext:
    """What the unit is before the document: to keep codes stable, to know a clause already had, to count deltas."""

    unit_code: str
    exists: bool = False
    name: Optional[str] = None
    rank: Optional[str] = None
    bodies: dict[str, str] = field(default_factory=dict)  # standing: body_code -> name
    past_bodies: dict[str, str] = field(default_factory=dict)  # ever: body_code -> name (latest)
    duties: list[dict] = field(default_factory=list)  # current: {duty_id, text, item_codes}
    duty_ids: set[str] = field(default_factory=set)  # ever used
    quotas: dict[str, int] = field(default_factory=dict)
    posts: dict[str, int] = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)  # items in force whose department is the unit: {item_code, name}


@dataclass
class Extraction:
    layout: str  # articles, sections, approval
    changes: list[dict] = field(default_factory=list)  # staffing changes without change_id, effective_at, doc_no
    spans: list[dict] = field(default_factory=list)  # per change: field -> {start, end, text}
    unsure: list[dict] = field(default_factory=list)  # {change (index) or None, field, reason, span?, suggested?}

    def add(self, change: dict, spans: Optional[dict] = None) -> int:
        self.changes.append(change)
        self.spans.append(spans or {})
        return len(self.changes) - 1

    def doubt(self, change: Optional[int], fld: str, reason: str, span: Optional[dict] = None, **more: Any) -> None:
        self.unsure.append({"change": change, "field": fld, "reason": reason, **({"span": span} if span else {}),
                            **more})


def same(text: str) -> str:
    """One script, punctuation and spacing aside: what two clauses or names are compared by."""
    return re.sub(r"[\s\W_]+", "", to_simplified(text or ""), flags=re.UNICODE)


def number(s: str) -> int:
    if s in "—－-":
        return 1
    return int(s) if s.isdigit() else _cn_number(s.replace("〇", "零").replace("两", "二"))


def shadow(text: str) -> str:
    """The text in simplified characters with ASCII digits and parentheses, character for character, so that every
    offset found in it is an offset of the original."""
    out = [c2 if len(c2 := to_simplified(c)) == 1 else c for c in text]
    return "".join(out).translate(_FULLWIDTH)


class Reader:
    """One document: the original text for spans and values as written, its shadow for matching."""

    def __init__(self, text: str):
        self.text, self.s = text, shadow(text)

    def span(self, start: int, end: int) -> dict:
        while end > start and self.text[end - 1].isspace():
            end -= 1
        return {"start": start, "end": end, "text": self.text[start:end]}

    def written(self, start: int, end: int) -> str:
        return re.sub(r"\s*\n\s*", "", self.text[start:end]).strip()


def blocks(r: Reader) -> tuple[str, list[tuple[int, int]]]:
    """The layout and its top-level parts (start, end): articles, else sections, else the whole text."""
    for layout, pattern in (("articles", ARTICLE), ("sections", SECTION)):
        starts = [m.start() for m in pattern.finditer(r.s)]
        if len(starts) >= 2:
            return layout, list(zip(starts, [*starts[1:], len(r.s)]))
    return "approval", [(0, len(r.s))]


def numbered(r: Reader, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(number, marker start, text start, text end) of each (一)(二)... entry within [start, end)."""
    ms = [m for m in NUMBERED.finditer(r.s, start, end)]
    return [(number(m.group(1)), m.start(), m.end(), ms[k + 1].start() if k + 1 < len(ms) else end)
            for k, m in enumerate(ms)]


def _lead(r: Reader, start: int, end: int) -> str:
    first = NUMBERED.search(r.s, start, end)
    return r.s[start:first.start() if first else end]


def extract(text: str, ctx: UnitContext, doc_type: Optional[str] = None, suggest_threshold: float = 0.3) -> Extraction:
    """The changes the document proposes for the unit: a whole 三定 when it has the layout of one (or says it is one),
    else the deltas an approval document states."""
    r = Reader(text)
    layout, parts = blocks(r)
    kind = to_simplified(doc_type or "")
    sanding = kind == "三定规定" or (kind not in ("机构编制审批文件", "调整通知") and layout != "approval"
                                   and any("主要职责" in _lead(r, a, b) for a, b in parts))
    if not sanding:
        from streams.archive.deltas import deltas

        return deltas(r, ctx)
    out = Extraction(layout)
    rank = _unit(r, ctx, out)
    _duties(r, parts, ctx, out, suggest_threshold)
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
                    out.doubt(i, f, f"a unit not yet known: its {f} is not in the document")
    return rank or ctx.rank


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


def _duties(r: Reader, parts, ctx: UnitContext, out: Extraction, threshold: float) -> None:
    spans = _clauses(r, parts)
    if not spans:
        out.doubt(None, "duties", "no numbered duty clause found (主要职责 (一)(二)…)")
        return
    _gaps(r, parts, out)
    current = {}
    for d in ctx.duties:
        current.setdefault(same(d["text"]), []).append(d)
    used, duties, fresh = set(ctx.duty_ids), [], []
    index = Index(Item(i["item_code"], i["name"], ctx.unit_code) for i in ctx.items if i.get("name"))
    for s, e in spans:
        text = r.written(s, e)
        kept = current.get(same(text))
        if kept:
            d = kept.pop(0)
            duties.append({"duty_id": d["duty_id"], "text": text, "item_codes": list(d.get("item_codes") or [])})
            continue
        duty_id = _next_code("D", used)
        suggested = [h["item_code"] for h in index.similar(Item("?", text, None), threshold)] if index.items else []
        duties.append({"duty_id": duty_id, "text": text, "item_codes": suggested})
        fresh.append((duty_id, suggested, r.span(s, e)))
    i = out.add({"kind": "duties_set", "unit_code": ctx.unit_code, "duties": duties},
                {"duties": [r.span(s, e) for s, e in spans]})
    for duty_id, suggested, span in fresh:
        out.doubt(i, f"duties[{duty_id}].item_codes", "a new clause: its items are suggested (the unit's items in"
                  " force with alike names), for a person to confirm" if suggested else
                  "a new clause: no item of the unit is alike; link its items by hand", span, suggested=suggested)


def _gaps(r: Reader, parts, out: Extraction) -> None:
    for a, b in parts:
        if not _is_duties(_lead(r, a, b)):
            continue
        nums = [n for n, *_ in numbered(r, a, b)]
        for x, y in zip(nums, nums[1:]):
            if y != x + 1:
                out.doubt(None, "duties", f"the clauses' numbers go from ({x}) to ({y}): a clause may be missing or"
                          " misread", r.span(a, min(b, a + 40)))


def _next_code(prefix: str, used: set[str]) -> str:
    n = 1
    while f"{prefix}{n}" in used:
        n += 1
    used.add(f"{prefix}{n}")
    return f"{prefix}{n}"


def body_name(r: Reader, s: int, e: int) -> tuple[int, int]:
    """The span of a body's name at the start of its entry: up to the first full stop, comma, bracket or 负责."""
    m = re.compile(r"[。：:，,；;\(（\n]|负责|主要职责").search(r.s, s, e)
    end = m.start() if m else e
    while s < end and r.s[s] in " \t\u3000" + QUOTES:
        s += 1
    while end > s and r.s[end - 1] in " \t\u3000" + QUOTES:
        end -= 1
    return s, end


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
                out.doubt(None, "bodies", f"the document says {stated} internal bodies, {len(entries or found)} were"
                          " read", r.span(a + m.start(), a + m.end()))
    if not found:
        out.doubt(None, "bodies", "no internal body found (设下列内设机构 (一)…)")
        return
    set_bodies(r, found, ctx, out, f"{rank_m.group(1)}{rank_m.group(2)}级" if rank_m else None, full=True)


def set_bodies(r: Reader, names: list[tuple[int, int]], ctx: UnitContext, out: Extraction, rank: Optional[str],
               full: bool) -> None:
    """body_set per body named (its earlier code when the unit had one of the same name); for a whole 三定, the
    standing bodies it no longer names are abolished."""
    by_name = {same(n): c for c, n in ctx.past_bodies.items()} | {same(n): c for c, n in ctx.bodies.items()}
    used = set(ctx.past_bodies) | set(ctx.bodies)
    named = set()
    for s, e in names:
        name = r.written(s, e)
        code = by_name.get(same(name)) or _next_code("B", used)
        named.add(code)
        i = out.add({"kind": "body_set", "unit_code": ctx.unit_code, "body_code": code, "name": name,
                     **({"rank": rank} if rank else {})}, {"name": r.span(s, e)})
        if not BODY_SUFFIX.search(same(name)) or len(name) > 30:
            out.doubt(i, "name", f"{name!r} does not read like the name of an internal body", r.span(s, e))
    if full:
        for code in sorted(set(ctx.bodies) - named):
            out.add({"kind": "body_abolished", "unit_code": ctx.unit_code, "body_code": code},
                    {"name": {"start": None, "end": None, "text": ctx.bodies[code]}})


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
            out.doubt(seen[kind], "approved", f"{kind} quota stated again ({n}): the first figure is proposed", span)
            continue
        seen[kind] = out.add({"kind": "quota_set", "unit_code": ctx.unit_code, "quota_kind": kind, "approved": n},
                             {"approved": span})
        if "含" in r.s[max(0, m.start() - 3):m.start()]:
            out.doubt(seen[kind], "approved", f"{kind} figure stated as included (含) in another kind's: kinds are"
                      " never pooled, confirm it", span)
    if not seen:
        out.doubt(None, "quotas", "no quota found (行政编制N名 …)")


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
                out.doubt(None, "posts", f"{m.group()}: the unit's rank is unknown, so is the level of its"
                          f" {m.group(1)}{m.group(2)}", r.span(*m.span()))
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
                out.doubt(None, "posts", f"a figure not read: {r.written(start, m.end())}", r.span(start, m.end()))
    for level, (n, spans) in levels.items():
        out.add({"kind": "posts_set", "unit_code": ctx.unit_code, "post_level": level, "approved": n},
                {"approved": spans[0] if len(spans) == 1 else spans})
