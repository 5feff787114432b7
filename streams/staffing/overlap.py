"""職能交叉: duty clauses of different units of one government alike in what they are about, not in how 三定 are worded."""
from __future__ import annotations

import re
from typing import Any, Callable

from core.script import to_simplified

# the closing clause every 三定 carries: never an overlap, whoever shares it
BOILERPLATE = re.compile(r"交办的其他(工作|任务|事项)|其他(工作|任务)事项?$")
# how any 三定 clause is phrased: never what two units share in substance, however small the corpus
PHRASING = frozenset(
    "负责 承担 组织 实施 组织实施 开展 拟订 拟定 制定 起草 相关 有关 政策 工作 审核 审查 监督 管理 监督管理 依法 行政 许可"
    " 行政许可 统计 分析 统计分析 信息 发布 信息发布 指导 下级 部门 业务 执法 行政执法 投诉 处理 投诉处理 贯彻 执行 落实 研究"
    " 职责 协调 配合 参与 全市 本市 全区 本区 全县 本县 事项 方面 规定 法律 法规 规章 并 的 和 及 与 等 对 其 按照 推进 建立"
    " 健全 完善 提出 建议 意见 承办".split())
# a word is "common" (phrasing) when at least COMMON_FLOOR units of the whole city and COMMON_SHARE of them use it:
# judged on the city, not on one region, so that a county of ten units keeps the words two of them share
COMMON_FLOOR, COMMON_SHARE = 5, 0.2


def norm(text: str) -> str:
    return re.sub(r"[\s。；;，,、（）()\d]+", "", to_simplified(text))


def boilerplate(duties: list[dict]) -> set[str]:
    """Clause texts that are boilerplate: the usual closing clause, or the same text in most of the city's units."""
    units_by_text: dict[str, set[str]] = {}
    for d in duties:
        units_by_text.setdefault(norm(d["text"]), set()).add(d["unit_code"])
    n = len({d["unit_code"] for d in duties})
    floor = max(COMMON_FLOOR, n / 2)
    return {t for t, us in units_by_text.items() if BOILERPLATE.search(t) or len(us) >= floor}


def common_words(duties: list[dict]) -> set[str]:
    """The built-in phrasing, and the words that many of the city's units use (负责, 组织实施...)."""
    from streams.staffing.words import words

    units: dict[str, set[str]] = {}
    for d in duties:
        for w in set(words(d["text"])):
            units.setdefault(w, set()).add(d["unit_code"])
    floor = max(COMMON_FLOOR, COMMON_SHARE * len({d["unit_code"] for d in duties}))
    return set(PHRASING) | {w for w, us in units.items() if len(us) >= floor}


def _distinctive(text: str, common: set[str]) -> str:
    from streams.staffing.words import _jieba

    return " ".join(w for w in _jieba().lcut(to_simplified(text)) if w.strip() and w not in common)


def overlaps(duties: list[dict], units: set[str], threshold: float,
             finding: Callable[[str, str, str, dict], dict]) -> list[dict[str, Any]]:
    """Clauses of different units of one government (one region) alike by the list drafts' measure, boilerplate and
    phrasing left out; reported for each side in `units`. A county's bureau mirroring the city's is no 職能交叉.
    `duties` are the whole city's clauses: what is common wording is judged on all of them."""
    skip = boilerplate(duties)
    kept = [d for d in duties if norm(d["text"]) not in skip]
    common = common_words(kept)
    by_region: dict[str, list[dict]] = {}
    for d in kept:
        by_region.setdefault(d["region_code"], []).append(d)
    return [f for region in sorted(by_region) for f in _within(by_region[region], units, threshold, common, finding)]


def _within(duties: list[dict], units: set[str], threshold: float, common: set[str], finding) -> list[dict]:
    from streams.powerlist.overlap import Index, Item

    if not units & {d["unit_code"] for d in duties}:
        return []
    by_key = {f"{d['unit_code']}#{d['duty_id']}": d for d in duties}
    index = Index(Item(k, _distinctive(d["text"], common), d["unit_code"]) for k, d in by_key.items())
    out = []
    for pair in index.all_pairs(threshold):
        if pair["score"] < threshold:
            continue
        a, b = (by_key[k] for k in pair["items"])
        for x, y in ((a, b), (b, a)):
            if x["unit_code"] in units:
                out.append(finding("duty_overlap", x["unit_code"], f"{x['duty_id']}~{y['unit_code']}#{y['duty_id']}", {
                    "duty_id": x["duty_id"], "text": x["text"], "other_unit_code": y["unit_code"],
                    "other_duty_id": y["duty_id"], "other_text": y["text"], "score": pair["score"]}))
    return out
