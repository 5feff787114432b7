"""Topics by a lexicon and a learned model kept as data, explained by words of the text; accuracy on demands labelled
apart from the rules and on a writer left out, both scripts, the cached model, and what a deployment adds."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from core.script import to_simplified, to_traditional
from streams.demands import learned
from streams.demands.classify import EXAMPLES, OTHER, TOPICS, classify, decide, lexicon, model, rules

DATA = Path(__file__).resolve().parents[1] / "data"
TARGET = 0.80  # exact set of topics (docs/demands.md)
# all but fresh and writer D are among the shipped examples (the model learned them: a floor, not a measure); fresh
# and writer D were never learned: 94 % and 80.3 % reached (writer D's 300 were written by a writer who saw neither
# the rules nor the other sets, and measured once; never add them to the examples), 95-100 % on the learned ones
UNSEEN = (DATA / "demands_fresh.jsonl", DATA / "demands_writer_d.jsonl")
FLOORS = {DATA / "demands_labelled.jsonl": 0.95, DATA / "demands_heldout.jsonl": 0.95, UNSEEN[0]: 0.88,
          UNSEEN[1]: 0.77, **{f: 0.93 for f in sorted(EXAMPLES.glob("*.jsonl"))}}
# writer A's demands classified by phrases and a model that never saw them: 71 % when written (a new writer's figure)
LEFT_OUT, LEFT_OUT_FLOOR = EXAMPLES / "writer_a.jsonl", 0.66


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def topics(text: str, extra=None) -> list[str]:
    return sorted(t["topic"] for t in classify(text, extra))


def test_accuracy_on_the_labelled_sets_holds():
    for path, floor in FLOORS.items():
        labelled = rows(path)
        share = sum(topics(r["text"]) == r["topics"] for r in labelled) / len(labelled)
        assert share >= floor, (path.name, share)
    unseen = {r["text"] for f in UNSEEN for r in rows(f)}
    assert not unseen & {r["text"] for f in EXAMPLES.glob("*.jsonl") for r in rows(f)}, "fresh, D must stay unseen"


def test_a_writer_left_out_is_read_by_what_the_others_taught():
    held = rows(LEFT_OUT)
    texts = {to_simplified(r["text"]).lower() for r in held}
    r = rules()
    others = dataclasses.replace(r, examples=tuple(e for e in r.examples if e[0] not in texts))
    assert len(others.examples) == len(r.examples) - len(held)
    others = others.trusted(others.training())
    m = learned.train(others.training(), TOPICS[:-1])
    share = sum(sorted(t["topic"] for t in decide(x["text"], others, m)) == x["topics"] for x in held) / len(held)
    assert share >= LEFT_OUT_FLOOR, share


def test_the_trained_model_is_kept_by_its_examples(tmp_path):
    data = rules().training()[:200]
    first = learned.cached(data, TOPICS[:-1], tmp_path)
    kept = list(tmp_path.glob("demand-topics-*.json"))
    assert len(kept) == 1 and learned.cached(data, TOPICS[:-1], tmp_path) == first
    learned.cached(data[:150], TOPICS[:-1], tmp_path)
    assert len(list(tmp_path.glob("demand-topics-*.json"))) == 2, "other examples, another model"
    kept[0].write_text("{", encoding="utf-8")
    assert learned.cached(data, TOPICS[:-1], tmp_path) == first, "a broken file is trained again"
    assert model() is model()


def test_each_topic_shows_the_words_that_decided_it_in_either_script():
    simp = classify("材料太多，跑了三趟，网上也办不了")
    assert simp == classify("材料太多，跑了三趟，網上也辦不了")
    assert {t["topic"] for t in simp} == {"材料繁多", "多次跑动", "网上办理"}
    assert classify("大厅的饮料很好喝") == [{"topic": "其他", "words": []}]
    for path in [DATA / "demands_fresh.jsonl", LEFT_OUT]:
        for r in rows(path):
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
    text = "门口水牌跟里面讲的对不上"
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


def test_a_phrase_the_examples_contradict_does_not_count(tmp_path):
    extra = tmp_path / "more.yaml"
    extra.write_text("收费问题:\n  - 水牌\n例句:\n" + "".join(f"  - {{text: {t}, topics: [{topic}]}}\n" for t, topic in (
        ("水牌上写的收费标准是旧的", "收费问题"), ("水牌上的价格跟实际收的对不上", "收费问题"),
        ("水牌写得看不明白", "政策不明"))), encoding="utf-8")
    assert "水牌" in rules(str(extra)).phrases["收费问题"] and "水牌" not in lexicon(str(extra))["收费问题"]
    assert "收费问题" not in topics("水牌上的要求和窗口说的不一样", str(extra)), "2 of 3 is under 词准确率 0.9"
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(extra.read_text(encoding="utf-8") + "阈值:\n  词准确率: 0.6\n  網上辦理: 0.9\n", encoding="utf-8")
    r = rules(str(lenient))
    assert "水牌" in lexicon(str(lenient))["收费问题"] and r.limits[TOPICS.index("网上办理")] == 0.9
