"""What reading a staffing document takes: the text in one script for matching (its offsets the original's),
numerals, the patterns of both layouts, the unit as it was, and the extraction being built. Pure."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from core.script import to_simplified
from core.script import cn_number

QUOTES = "“”\"「」『』‘’'"
NUM = r"([0-9]+|[零〇一二两三四五六七八九十百千]+)"
_FULLWIDTH = str.maketrans("０１２３４５６７８９（）：；，。", "0123456789()：；，。")
ARTICLE = re.compile(r"(?m)(?:^|(?<=。))[ \t\u3000]*第\s*[零〇一二两三四五六七八九十百0-9]+\s*条")
SECTION = re.compile(r"(?m)^[ \t\u3000]*[一二三四五六七八九十]+[、.．]")
# a scan's 一 is often read as a dash: (—) is (一)
NUMBERED = re.compile(r"(?m)(?:^|(?<=[：:。；;]))[ \t\u3000]*\(\s*([一二三四五六七八九十百0-9]+|[—－-])\s*\)")
LISTED = re.compile(r"(?m)^[ \t\u3000]*([0-9]{1,2})[.．、](?![0-9])")
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
    return int(s) if s.isdigit() else cn_number(s)


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


def numbered(r: Reader, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(number, marker start, text start, text end) of each (一)(二)... entry within [start, end); a part without
    any numbers its entries 1. 2. (older documents) at the start of their lines."""
    ms = [m for m in NUMBERED.finditer(r.s, start, end)] or [m for m in LISTED.finditer(r.s, start, end)]
    return [(number(m.group(1)), m.start(), m.end(), ms[k + 1].start() if k + 1 < len(ms) else end)
            for k, m in enumerate(ms)]


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
            out.doubt(i, "name", f"「{name}」不像内设机构的名称", r.span(s, e))
    if full:
        for code in sorted(set(ctx.bodies) - named):
            out.add({"kind": "body_abolished", "unit_code": ctx.unit_code, "body_code": code},
                    {"name": {"start": None, "end": None, "text": ctx.bodies[code]}})
