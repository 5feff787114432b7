"""Topics by a lexicon kept as data, explained by their words; accuracy on demands labelled apart from the rules."""
from __future__ import annotations

import json
from pathlib import Path

from streams.demands.classify import classify, lexicon

DATA = Path(__file__).resolve().parents[1] / "data"
TARGET = 0.80  # exact set of topics (docs/demands.md)
# the lexicon was tuned on the first two sets; the third was written after, and never tuned on: its figure is the
# honest one (63 % when written, below the target: docs/demands.md), held here against falling further
FLOORS = {"demands_labelled.jsonl": TARGET, "demands_heldout.jsonl": TARGET, "demands_fresh.jsonl": 0.60}


def accuracy(name: str) -> tuple[float, int]:
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    exact = sum(sorted(t["topic"] for t in classify(r["text"])) == r["topics"] for r in rows)
    return exact / len(rows), len(rows)


def test_accuracy_on_the_labelled_sets_holds():
    sizes = {}
    for name, floor in FLOORS.items():
        share, sizes[name] = accuracy(name)
        assert share >= floor, (name, share)
    assert sizes["demands_labelled.jsonl"] >= 150 and sizes["demands_heldout.jsonl"] >= 130


def test_each_topic_shows_the_words_that_decided_it_in_either_script():
    simp = classify("材料太多，跑了三趟，网上也办不了")
    trad = classify("材料太多，跑了三趟，網上也辦不了")
    assert simp == trad
    assert {t["topic"] for t in simp} == {"材料繁多", "多次跑动", "网上办理"}
    assert all(t["words"] and all(w in "材料太多，跑了三趟，网上也办不了" for w in t["words"]) for t in simp)
    assert classify("大厅的饮料很好喝") == [{"topic": "其他", "words": []}]


def test_a_deployment_adds_words(tmp_path):
    extra = tmp_path / "more.yaml"
    extra.write_text("收費問題:\n  - 贊助\n", encoding="utf-8")
    assert classify("要我们赞助", str(extra))[0] == {"topic": "收费问题", "words": ["赞助"]}
    assert "赞助" not in lexicon()["收费问题"]
