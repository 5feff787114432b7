"""Topics by a lexicon and a learned model kept as data, explained by words of the text; accuracy on demands labelled
apart from the rules, the model's on demands it did not learn, both scripts, and what a deployment adds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.script import to_simplified, to_traditional
from streams.demands import learned
from streams.demands.classify import EXAMPLES, OTHER, TOPICS, classify, lexicon, masked, rules

DATA = Path(__file__).resolve().parents[1] / "data"
TARGET = 0.80  # exact set of topics (docs/demands.md)
# labelled and heldout are among the shipped examples (the model learned them); fresh was never learned nor tuned on:
# its figure is the honest one (docs/demands.md), held here a little under what was reached
FLOORS = {"demands_labelled.jsonl": 0.95, "demands_heldout.jsonl": 0.95, "demands_fresh.jsonl": 0.85}


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def topics(text: str, extra=None) -> list[str]:
    return sorted(t["topic"] for t in classify(text, extra))


def test_accuracy_on_the_labelled_sets_holds():
    for name, floor in FLOORS.items():
        labelled = rows(DATA / name)
        share = sum(topics(r["text"]) == r["topics"] for r in labelled) / len(labelled)
        assert share >= floor, (name, share)
    fresh = {r["text"] for r in rows(DATA / "demands_fresh.jsonl")}
    assert not fresh & {r["text"] for r in rows(EXAMPLES)}, "the unseen set must stay unseen"


def test_the_model_finds_topics_in_demands_it_did_not_learn():
    r = rules()
    data = [(masked(text, r.exceptions), [t for t in ts if t != OTHER]) for text, ts in r.examples]
    held = data[::5]
    m = learned.train([d for i, d in enumerate(data) if i % 5], TOPICS[:-1])
    exact = 0
    for text, gold in held:
        probs = m.probabilities(learned.grams(text))
        exact += sorted(m.topics[t] for t, p in enumerate(probs) if p >= r.topic) == sorted(gold)
    assert exact / len(held) >= 0.68, exact / len(held)  # the model alone, no phrase, no fallback: 0.75 when written


def test_each_topic_shows_the_words_that_decided_it_in_either_script():
    simp = classify("材料太多，跑了三趟，网上也办不了")
    assert simp == classify("材料太多，跑了三趟，網上也辦不了")
    assert {t["topic"] for t in simp} == {"材料繁多", "多次跑动", "网上办理"}
    assert classify("大厅的饮料很好喝") == [{"topic": "其他", "words": []}]
    for name in FLOORS:
        for r in rows(DATA / name):
            plain, got = to_simplified(r["text"]).lower(), classify(r["text"])
            for t in got:
                assert (t["topic"] == OTHER) == (not t["words"]), (r["text"], got)
                assert all(w and w in plain for w in t["words"]), (r["text"], got)
            assert classify(to_traditional(r["text"])) == classify(to_simplified(r["text"])) == got, r["text"]


def test_words_inside_an_exception_do_not_count():
    assert "收费" in "没收费" and "不用跑" in rules().exceptions
    for text in ("这次没收费，当场办好", "停车收费太贵了", "不用跑，当场就办好了", "不用排队，很快"):
        assert topics(text) == [OTHER], text
    assert topics("收费太贵了") == ["收费问题"]


def test_a_deployment_adds_words_exceptions_and_examples(tmp_path):
    extra = tmp_path / "more.yaml"
    (tmp_path / "ours.jsonl").write_text("".join(
        json.dumps({"text": t, "topics": ["政策不明"]}, ensure_ascii=False) + "\n"
        for t in ("水牌上的信息是舊的", "水牌寫得看不明白", "按照水牌準備了，結果窗口說不對")), encoding="utf-8")
    extra.write_text("收費問題:\n  - 贊助\n除外:\n  - 要我们赞助\n例句: ours.jsonl\n", encoding="utf-8")
    assert classify("还要赞助", str(extra))[0] == {"topic": "收费问题", "words": ["赞助"]}
    assert topics("要我们赞助", str(extra)) == [OTHER]
    assert "赞助" not in lexicon()["收费问题"]
    text = "门口水牌上说的跟里面讲的对不上"
    assert topics(text) == [OTHER]
    got = classify(text, str(extra))
    assert [t["topic"] for t in got] == ["政策不明"] and any("水牌" in w for w in got[0]["words"]), got
    inline = tmp_path / "inline.yaml"
    inline.write_text("例句:\n" + "".join(f"  - {{text: {t}, topics: [政策不明]}}\n" for t in (
        "水牌上的信息是舊的", "水牌寫得看不明白", "按照水牌準備了，結果窗口說不對", "水牌內容幾年沒更新了")),
        encoding="utf-8")
    assert topics(text, str(inline)) == ["政策不明"]


@pytest.mark.parametrize("body, says", [
    ("不是话题:\n  - 词\n", "不是话题"),
    ("例句:\n  - 只有一句话\n", r"例句\[0\]"),
    ("例句:\n  - {text: 好, topics: [好评]}\n", "好评"),
    ("阈值:\n  话题: 2\n", "阈值"),
])
def test_a_bad_deployment_file_is_refused_clearly(tmp_path, body, says):
    extra = tmp_path / "bad.yaml"
    extra.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=says):
        classify("材料太多", str(extra))
