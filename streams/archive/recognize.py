"""What a document is, from its text: 文號, title, date issued, type, the unit it concerns and the date it takes
effect, each with the span it came from (page, start, end in that page's text); what the caller states overrides."""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Optional

from core.script import to_simplified
from schemas.staffing import DOC_TYPES

SANDING, APPROVAL, ADJUSTMENT, OTHER = DOC_TYPES
_NUM = "0-9０-９〇○零一二三四五六七八九十"
DOC_NO = re.compile(r"([\u4e00-\u9fff]{1,10})\s*[〔［\[（(【{｛]\s*([0-9０-９]{4})\s*[〕］\]）)】}｝]\s*([0-9０-９]{1,4})\s*[号號]")
DATE = re.compile(rf"([0-9０-９〇○零一二三四五六七八九]{{4}})\s*年\s*([{_NUM}]{{1,3}})\s*月\s*([{_NUM}]{{1,3}})\s*日")
EFFECTIVE = re.compile(rf"自\s*({DATE.pattern})\s*起\s*(?:施行|執行|执行|實行|实行|生效)")
FROM_ISSUE = re.compile(r"自(?:印發|印发|發布|发布|公布)之日起\s*(?:施行|執行|执行|實行|实行|生效)")
TITLE_END = re.compile(r"(規定|规定|批覆|批复|通知|決定|决定|方案|意見|意见|函)$")
DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"○": 0, "零": 0}


def _number(s: str) -> int:
    s = s.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if s.isdigit():
        return int(s)
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (DIGITS[tens] if tens else 1) * 10 + (DIGITS[ones] if ones else 0)
    return int("".join(str(DIGITS[c]) for c in s))


def parse_date(m: re.Match) -> Optional[date]:
    try:
        return date(_number(m.group(1)), _number(m.group(2)), _number(m.group(3)))
    except (ValueError, KeyError):
        return None


def _span(page: int, m: re.Match, group: int = 0) -> dict[str, Any]:
    return {"page": page, "start": m.start(group), "end": m.end(group), "text": m.group(group)}


def _title(pages: list[str]) -> Optional[tuple[str, dict]]:
    """The title: within the first lines, one ending like a title (…規定, …批覆, …通知), else one about 關於."""
    text = pages[0] if pages else ""
    offset, candidates = 0, []
    for line in text.split("\n")[:15]:
        s = line.strip()
        if 4 <= len(s) <= 80 and not DOC_NO.search(s) and not DATE.search(s):
            start = offset + line.index(s)
            if TITLE_END.search(s) or to_simplified(s).startswith("关于"):
                return s, {"page": 1, "start": start, "end": start + len(s), "text": s}
            candidates.append((s, {"page": 1, "start": start, "end": start + len(s), "text": s}))
        offset += len(line) + 1
    return candidates[0] if candidates else None


def doc_type_of(title: str, text: str) -> str:
    t = to_simplified(title + "\n" + text[:2000])
    if "三定" in t or ("职能配置" in t and "编制规定" in t) or "主要职责、内设机构和人员编制规定" in t:
        return SANDING
    if re.search(r"批复|同意.{0,20}(设立|增设|撤销|更名|核增|核减)|审批", t):
        return APPROVAL
    if re.search(r"调整|通知", to_simplified(title)):
        return ADJUSTMENT
    return OTHER


def match_unit(text: str, units: list[tuple[str, str]]) -> Optional[tuple[str, int, int]]:
    """The unit named earliest (the longest name where several start there) in the text: (code, start, end)."""
    plain = to_simplified(text)
    best = None
    for code, name in units:
        i = plain.find(to_simplified(name))
        if i >= 0 and (best is None or (i, -len(name)) < (best[1], best[1] - best[2])):
            best = (code, i, i + len(name))
    return best


def recognize(pages: list[str], units: list[tuple[str, str]], given: dict[str, Any]) -> dict[str, Any]:
    """The fields and their spans; `given` (doc_no, doc_type, unit_code, title, issued_at, effective_at) overrides."""
    found: dict[str, Any] = {}
    spans: dict[str, Any] = {}
    for n, text in enumerate(pages, 1):
        if "doc_no" not in found and (m := DOC_NO.search(text)):
            found["doc_no"], spans["doc_no"] = m.group(0), _span(n, m)
        if "effective_at" not in found and (m := EFFECTIVE.search(text)) and (d := parse_date(DATE.search(m.group(1)))):
            found["effective_at"], spans["effective_at"] = d, _span(n, m)
    if t := _title(pages):
        found["title"], spans["title"] = t
    for n in range(len(pages), 0, -1):  # the date the document was issued stands at its end (落款)
        dates = [m for m in DATE.finditer(pages[n - 1]) if not _inside_effective(pages[n - 1], m)]
        if dates and (d := parse_date(dates[-1])):
            found["issued_at"], spans["issued_at"] = d, _span(n, dates[-1])
            break
    if "effective_at" not in found and "issued_at" in found:
        for n, text in enumerate(pages, 1):
            if m := FROM_ISSUE.search(text):
                found["effective_at"], spans["effective_at"] = found["issued_at"], _span(n, m)
                break
    head = found.get("title", "")
    found["doc_type"] = doc_type_of(head, "\n".join(pages[:2]))
    for n, text in enumerate([head] + pages):
        if hit := match_unit(text, units):
            found["unit_code"] = hit[0]
            spans["unit_code"] = ({"page": 1, **spans["title"], "start": spans["title"]["start"] + hit[1],
                                   "end": spans["title"]["start"] + hit[2]} if n == 0 else {"page": n, "start": hit[1], "end": hit[2]})
            spans["unit_code"]["text"] = (head if n == 0 else text)[hit[1]:hit[2]]
            break
    for k, v in given.items():
        if v is not None:
            found[k] = v
            spans[k] = {"given": True}
    return {**found, "spans": spans}


def _inside_effective(text: str, m: re.Match) -> bool:
    return any(e.start() <= m.start() < e.end() for e in EFFECTIVE.finditer(text))
