"""Which similarity tells planted near-duplicate items from unrelated ones (the overlap check of list drafts).

    python bench/overlap.py

Pairs of names that mean the same power, worded as different departments word them, among items that merely
share a common word (許可, 登記, 核發). For each measure: the lowest score of a duplicate, the highest of an
unrelated pair, and the best F1 over thresholds."""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.powerlist.overlap import Index, Item, terms  # noqa: E402

DUPLICATES = [
    ("建築工程施工許可證核發", "建築工程施工許可"), ("食品經營許可", "食品經營許可證核發"),
    ("道路運輸經營許可", "道路運輸經營許可證核發"), ("醫療機構執業登記", "醫療機構執業許可登記"),
    ("建設工程規劃許可證核發", "建設工程規劃許可"), ("排污許可證核發", "排污許可"),
    ("城鎮污水排入排水管網許可", "污水排入排水管網許可證核發"), ("戶外廣告設施設置審批", "設置戶外廣告設施審批"),
    ("公共場所衛生許可", "公共場所衛生許可證核發"), ("危險化學品經營許可", "危險化學品經營許可證核發"),
    ("出版物零售業務經營許可", "出版物零售經營許可"), ("民辦學校設立審批", "民辦學校的設立審批"),
    ("特種設備使用登記", "特種設備使用登記證核發"), ("動物防疫條件合格證核發", "動物防疫條件審查"),
    ("取水許可", "取水許可證核發"),
]
UNRELATED = ["出生醫學證明", "戶口登記", "醫保參保登記", "社保卡申領", "不動產轉移登記", "契稅申報", "水電氣過戶",
             "企業設立登記", "印章刻製", "發票申領", "社保登記", "人力資源服務許可", "勞務派遣經營許可",
             "藥品零售企業許可", "煙草專賣零售許可", "旅行社設立許可", "娛樂場所經營許可", "消防安全檢查",
             "林木採伐許可", "漁業捕撈許可", "建築業企業資質核准", "律師執業許可", "會計師事務所執業許可",
             "獸藥經營許可", "種子生產經營許可", "船舶登記", "機動車登記", "婚姻登記", "收養登記", "殯葬設施審批"]


def jaccard(a: str, b: str) -> float:
    x, y = {t for t in terms(a) if len(t) > 1}, {t for t in terms(b) if len(t) > 1}
    return len(x & y) / len(x | y) if x | y else 0.0


def bigram_dice(a: str, b: str) -> float:
    x, y = {a[i:i + 2] for i in range(len(a) - 1)}, {b[i:i + 2] for i in range(len(b) - 1)}
    return 2 * len(x & y) / (len(x) + len(y)) if x or y else 0.0


def tfidf_cosine(corpus: list[str]):
    idx = Index([Item(str(i), n, str(i)) for i, n in enumerate(corpus)])
    pos = {n: i for i, n in enumerate(corpus)}
    return lambda a, b: sum(x * idx.vectors[pos[b]].get(t, 0.0) for t, x in idx.vectors[pos[a]].items())


def main() -> None:
    names = sorted({n for p in DUPLICATES for n in p} | set(UNRELATED))
    dup = {frozenset(p) for p in DUPLICATES}
    pairs = [(a, b, frozenset((a, b)) in dup) for a, b in itertools.combinations(names, 2)]
    for label, f in (("jieba word Jaccard", jaccard), ("character bigram Dice", bigram_dice),
                     ("TF-IDF cosine, words + bigrams (used)", tfidf_cosine(names))):
        scored = [(f(a, b), d) for a, b, d in pairs]
        best = max(((t / 100, _f1(scored, t / 100)) for t in range(5, 96)), key=lambda x: x[1])
        print(f"{label:40s} duplicates ≥ {min(s for s, d in scored if d):.2f}, unrelated ≤"
              f" {max(s for s, d in scored if not d):.2f}, best F1 {best[1]:.2f} at {best[0]:.2f}")


def _f1(scored, t: float) -> float:
    tp = sum(1 for s, d in scored if d and s >= t)
    fp = sum(1 for s, d in scored if not d and s >= t)
    fn = sum(1 for s, d in scored if d and s < t)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


if __name__ == "__main__":
    main()
