"""What a demand is about, in kind (spec/demands.md §2): topics by the words of a lexicon kept as data, each with
the words that decided it, in either script."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

import yaml

from core.script import to_simplified

TOPICS = ("材料繁多", "多次跑动", "办理时间长", "收费问题", "网上办理", "就近办理", "服务态度", "政策不明", "其他")
OTHER = TOPICS[-1]
LEXICON = Path(__file__).with_name("lexicon.yaml")


def _read(path: Path) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a mapping of topic to words is expected")
    out = {}
    for topic, words in data.items():
        topic = to_simplified(str(topic))
        if topic not in TOPICS:
            raise ValueError(f"{path}: {topic!r} is not one of {', '.join(TOPICS)}")
        out[topic] = [to_simplified(str(w)).lower() for w in words or []]
    return out


@functools.lru_cache(maxsize=8)
def lexicon(extra: Optional[str] = None) -> dict[str, tuple[str, ...]]:
    """The shipped lexicon, and a deployment's own words (SHENPI_DEMAND_LEXICON_FILE) added to it."""
    words = _read(LEXICON)
    if extra:
        for topic, more in _read(Path(extra)).items():
            words[topic] = [*words.get(topic, []), *more]
    # longer words first, so that a word inside a longer one that matched is not reported twice
    return {t: tuple(sorted(set(ws), key=lambda w: (-len(w), w))) for t, ws in words.items()}


def classify(text: str, extra: Optional[str] = None) -> list[dict]:
    """[{topic, words}], in the order of TOPICS; 其他 with no words when nothing matched."""
    plain = to_simplified(text).lower()
    out = []
    for topic, words in lexicon(extra).items():
        found: list[str] = []
        for w in words:
            if w in plain and not any(w in f for f in found):
                found.append(w)
        if found:
            out.append({"topic": topic, "words": found})
    out.sort(key=lambda t: TOPICS.index(t["topic"]))
    return out or [{"topic": OTHER, "words": []}]
