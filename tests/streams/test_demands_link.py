"""The linker's fast path (clauses segmented once, only items sharing a term scored, numpy sums) links exactly as the
reference measure: jieba over the whole text and the cosine against every item's name, ties to the first reached."""
from __future__ import annotations

import math
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from core.script import to_simplified
from core.segment import segmenter
from streams.powerlist import overlap
from streams.powerlist.overlap import Index, Item

OBJECTS = ["食品经营", "建筑工程施工", "道路运输經營", "医疗机构执业", "排污", "取水", "户外广告设置", "公共場所衛生",
           "危险化学品经营", "出版物零售", "民办学校设立", "特种设备使用", "动物防疫条件", "旅行社设立", "娱乐场所经营",
           "药品零售", "林木采伐", "Wi-Fi设备", "第二类医疗器械"]
ACTS = ["许可", "登记", "审批", "备案", "核准", "證核發", "变更", "注销", ""]
CLAUSES = ["材料太多", "跑了三趟", "等了一个多月还没批", "網上辦不了", "希望在县里就能办", "工作人员态度很差", "收费不合理",
           "政策说法不一", "请问需要什么条件", "感谢窗口耐心解答", "办", "的", "和", "許可证", "APP登录不了", "12345",
           "食品", "经营", "医疗", "设立登记", "电话[mobile]", "Ｗｉ－Ｆｉ", "ｱｲｳ", "한국", "第2类", "𠀀字"]
SEPARATORS = ["，", "。", " ", "、", "！", "", "\n", "——", "(", ")", "_"]


def _names(rnd: random.Random, n: int) -> list[str]:
    names = [rnd.choice(OBJECTS) + rnd.choice(ACTS) for _ in range(n)]
    return names + names[:5]  # the same name twice: ties


def _reference_terms(text: str) -> list[str]:
    clean = overlap._PUNCT.sub(" ", to_simplified(text or "")).strip()
    if not clean:
        return []
    words = [w for w in segmenter().lcut(clean) if w.strip() and w not in overlap.STOP]
    chars = clean.replace(" ", "")
    return words + [chars[i:i + 2] for i in range(len(chars) - 1)]


def _reference_best(index: Index, text: str):
    """Every item's cosine, summed in the text's term order; the first item reached wins a tie."""
    n = max(len(index.items), 1)
    v = {t: c * index.idf.get(t, math.log(1 + n) + 1) for t, c in Counter(_reference_terms(text)).items()}
    norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
    v = {t: x / norm for t, x in v.items()}
    scores: dict[int, float] = {}
    for t, x in v.items():
        for k, w in enumerate(index.vectors):
            if t in w:
                scores[k] = scores.get(k, 0.0) + x * w[t]
    if not scores:
        return None, 0.0
    best = max(scores.items(), key=lambda kv: kv[1])
    return index.items[best[0]], best[1]


def _text(rnd: random.Random, names: list[str]) -> str:
    parts = [rnd.choice(CLAUSES + names) for _ in range(rnd.randint(0, 6))]
    return "".join(p + rnd.choice(SEPARATORS) for p in parts)


def test_fast_path_links_as_the_reference_on_a_varied_set():
    rnd = random.Random(34)
    names = _names(rnd, 300)
    index = Index([Item(f"I{k}", nm, f"D{k % 7}") for k, nm in enumerate(names)])
    linked = 0
    for _ in range(3000):
        text = _text(rnd, names)
        assert overlap.terms(text) == _reference_terms(text), text
        got, want = index.best(text), _reference_best(index, text)
        assert (got[0], got[1]) == want, text
        linked += want[1] >= 0.3
    assert linked > 300  # the set reaches both sides of the threshold
    assert overlap._words.cache_info().hits > 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CLAUSES + OBJECTS + SEPARATORS + ["食品经营许可", "取水许可"]), max_size=12),
       st.text(alphabet="办证许可經營食品 ，。a1", max_size=8))
def test_fast_path_links_as_the_reference_on_any_text(parts, noise):
    index = _small_index()
    text = "".join(parts) + noise
    assert overlap.terms(text) == _reference_terms(text)
    assert index.best(text) == _reference_best(index, text)


_INDEX: list[Index] = []


def _small_index() -> Index:
    if not _INDEX:
        _INDEX.append(Index([Item(f"I{k}", nm, "D") for k, nm in enumerate(_names(random.Random(8), 60))]))
    return _INDEX[0]


NAMED_LIST = ["食品经营许可证核发", "企业设立登记", "建设工程规划许可证核发", "建筑工程施工许可证核发", "不动产转移登记",
              "户口迁移审批", "居住证办理", "住房公积金提取", "出生医学证明办理", "结婚登记", "建设工程消防验收",
              "残疾人证核发", "机动车驾驶证换证", "城镇职工基本养老保险关系转移", "取水许可", "犬只登记",
              "个体工商户注册登记", "城市道路占用挖掘许可"]


def test_a_name_said_in_a_long_complaint_links_and_a_text_naming_none_stays_unlinked():
    from streams.demands.link import Names

    items = [Item(f"N{k}", name, "D") for k, name in enumerate(NAMED_LIST)]
    names, index = Names(items), Index(items)
    said = {  # the whole text is little like the name (cosine under 0.3 for the first three), the name is said
        "办结婚登记光证明就要开五六个，还要居委会盖章、派出所盖章": "结婚登记",
        "辦犬隻登記時窗口人員一直玩手機，喊了幾聲都不理人": "犬只登记",
        "为了残疾人证核发来回跑了四趟，每次都说还缺一样东西": "残疾人证核发",
        "我们饭店办食品经营许可证跑了三趟还没办下来": "食品经营许可证核发",  # less its closing 核发
        "不动产转移登记和企业设立登记都要交同样的材料": "不动产转移登记",  # the longest said
        "建设工程规划许可证下来了，建筑工程施工许可证还卡着": "建设工程规划许可证核发",  # as long: the first said
    }
    for text, name in said.items():
        got = names.find(text)
        assert got is not None and got.name == name, (text, got)
    assert index.best("办结婚登记光证明就要开五六个，还要居委会盖章、派出所盖章")[1] < 0.3, "the cosine alone misses it"
    for text in ["大厅空调太冷了", "窗口工作人员态度很差，问两句就不耐烦", "结婚那天想办的事太多", "网上办理系统老是崩溃",
                 "取水口附近施工太吵", "登记的时候排队太久"]:
        assert names.find(text) is None, text
