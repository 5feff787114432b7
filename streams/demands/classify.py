"""What a demand is about, in kind (spec/demands.md §2): topics by a lexicon of phrases and a model learned from
labelled demands, both kept as data, each topic with the words that decided it, in either script."""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from core.script import to_simplified
from streams.demands import learned

TOPICS = ("材料繁多", "多次跑动", "办理时间长", "收费问题", "网上办理", "就近办理", "服务态度", "政策不明", "其他")
OTHER = TOPICS[-1]
LEXICON = Path(__file__).with_name("lexicon.yaml")
EXAMPLES = Path(__file__).with_name("examples")  # JSONL files of {text, topics}, one per writer
# keys of a lexicon file that are not topics: phrases that cancel a word, labelled demands, the model's thresholds
EXCEPT, SAMPLES, LIMITS = "除外", "例句", "阈值"
LIMIT_KEYS = {"话题": "topic", "首选": "best", "词准确率": "trust"}
# the model's trained weights, kept by what they were trained on, so that a worker's start does not train again
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shenpi"
_TRAINING = threading.Lock()


@dataclass(frozen=True)
class Rules:
    words: dict[str, tuple[str, ...]]  # the phrases the examples do not contradict
    phrases: dict[str, tuple[str, ...]]  # all of them
    exceptions: tuple[str, ...]
    examples: tuple[tuple[str, tuple[str, ...]], ...]  # (simplified lower-cased text, topics)
    topic: float  # a topic whose probability reaches this is given
    best: float  # with none given, the likeliest topic if its probability reaches this; else 其他
    limits: tuple[float, ...]  # per topic of TOPICS[:-1], its own threshold or topic's
    trust: float  # a phrase is kept when at least this share of the examples containing it have its topic

    def trusted(self, rows: list[tuple[str, list[str]]]) -> "Rules":
        """These rules with each phrase that the (masked) rows contradict, in two of them or more, left out."""
        words = {}
        for topic, ws in self.phrases.items():
            keep = []
            for w in ws:
                hits = [topic in ts for text, ts in rows if w in text]
                if len(hits) < 2 or sum(hits) >= self.trust * len(hits):
                    keep.append(w)
            words[topic] = tuple(keep)
        return dataclasses.replace(self, words=words)

    def training(self) -> list[tuple[str, list[str]]]:
        """The examples as the model learns them: 除外 phrases blanked, 其他 as no topic."""
        return [(masked(text, self.exceptions), [t for t in topics if t != OTHER]) for text, topics in self.examples]


def _plain(text: str) -> str:
    return to_simplified(text).lower()


def _topic(name: Any, where: str) -> str:
    topic = to_simplified(str(name))
    if topic not in TOPICS:
        raise ValueError(f"{where}: {topic!r} is not one of {', '.join(TOPICS)}")
    return topic


def _samples(value: Any, where: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Labelled demands: a list of {text, topics}, or the name of a JSONL file of them (beside the lexicon file)."""
    if isinstance(value, str):
        where = where.parent / value
        lines = where.read_text(encoding="utf-8").splitlines()
        value = [json.loads(line) for line in lines if line.strip()]
    if not isinstance(value, list):
        raise ValueError(f"{where}: {SAMPLES} is a list of {{text, topics}} or the name of a JSONL file")
    out = []
    for i, row in enumerate(value):
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not isinstance(row.get("topics"), list):
            raise ValueError(f"{where}: {SAMPLES}[{i}] is not {{text, topics: [...]}}")
        out.append((_plain(row["text"]), tuple(sorted({_topic(t, str(where)) for t in row["topics"]}))))
    return out


def _read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a mapping of topic to words is expected")
    out: dict[str, Any] = {"words": {}, "exceptions": [], "examples": [], "limits": {}}
    for key, value in data.items():
        key = to_simplified(str(key))
        if key == SAMPLES:
            out["examples"] = _samples(value, path)
        elif key == LIMITS:
            names = {**LIMIT_KEYS, **{t: t for t in TOPICS[:-1]}}
            value = {to_simplified(str(k)): v for k, v in value.items()} if isinstance(value, dict) else value
            if not isinstance(value, dict) or not all(k in names and 0 < float(v) <= 1 for k, v in value.items()):
                raise ValueError(f"{path}: {LIMITS} takes {', '.join(LIMIT_KEYS)} or a topic, in (0, 1]")
            out["limits"] = {names[k]: float(v) for k, v in value.items()}
        elif key == EXCEPT:
            out["exceptions"] = [_plain(str(w)) for w in value or []]
        else:
            out["words"][_topic(key, str(path))] = [_plain(str(w)) for w in value or []]
    return out


def _shipped_examples() -> list[tuple[str, tuple[str, ...]]]:
    return [e for f in sorted(EXAMPLES.glob("*.jsonl")) for e in _samples(f.name, f)]


@functools.lru_cache(maxsize=8)
def rules(extra: Optional[str] = None) -> Rules:
    """The shipped lexicon and examples, and a deployment's own (SHENPI_DEMAND_LEXICON_FILE) added to them."""
    parts = [_read(LEXICON)] + ([_read(Path(extra))] if extra else [])
    words: dict[str, list[str]] = {}
    for part in parts:
        for topic, more in part["words"].items():
            words[topic] = [*words.get(topic, []), *more]
    limits = {k: v for part in parts for k, v in part["limits"].items()}
    # longer words first, so that a word inside a longer one that matched is not reported twice
    phrases = {t: tuple(sorted(set(ws), key=lambda w: (-len(w), w))) for t, ws in words.items()}
    topic = limits.get("topic", 0.5)
    r = Rules(
        words=phrases, phrases=phrases,
        exceptions=tuple(sorted({w for part in parts for w in part["exceptions"] if w}, key=len, reverse=True)),
        examples=tuple(_shipped_examples() + [e for part in parts for e in part["examples"]]),
        topic=topic, best=limits.get("best", 1.0), limits=tuple(limits.get(t, topic) for t in TOPICS[:-1]),
        trust=limits.get("trust", 1.0))
    return r.trusted(r.training())


def lexicon(extra: Optional[str] = None) -> dict[str, tuple[str, ...]]:
    """Topic → the phrases that decide it on their own."""
    return rules(extra).words


def masked(plain: str, exceptions: tuple[str, ...]) -> str:
    """The text with every 除外 phrase blanked out (same length, so that places in it are places in the text)."""
    for phrase in exceptions:
        if phrase in plain:
            plain = plain.replace(phrase, learned.BLANK * len(phrase))
    return plain


def model(extra: Optional[str] = None) -> learned.Model:
    """Trained on the shipped examples and the deployment's, once for the same examples (kept in CACHE), by one
    thread at a time (a worker starts it in a thread, so that its first demands need not wait the seconds)."""
    with _TRAINING:
        return _model(extra)


@functools.lru_cache(maxsize=8)
def _model(extra: Optional[str]) -> learned.Model:
    return learned.cached(rules(extra).training(), TOPICS[:-1], CACHE)


def classify(text: str, extra: Optional[str] = None) -> list[dict]:
    """[{topic, words}], in the order of TOPICS; words are places of the simplified, lower-cased text. 其他 with no
    words when neither a phrase nor the model gives a topic."""
    return decide(text, rules(extra), model(extra))


def decide(text: str, r: Rules, m: learned.Model) -> list[dict]:
    """classify() with the given rules and model (a model trained on part of the examples, to measure it)."""
    plain = _plain(text)
    blank = masked(plain, r.exceptions)
    found: dict[str, list[str]] = {}
    for topic, words in r.words.items():
        hits: list[str] = []
        for w in words:
            if w in blank and not any(w in f for f in hits):
                hits.append(w)
        if hits:
            found[topic] = hits
    grams = m.known(learned.grams(blank))
    probs = m.probabilities(grams)
    chosen = [t for t, p in enumerate(probs) if p >= r.limits[t]]
    if not chosen and not found and max(probs) >= r.best:
        chosen = [probs.index(max(probs))]
    for t in chosen:  # a topic a phrase gave is explained by the phrase
        if m.topics[t] not in found:
            found[m.topics[t]] = learned.reasons(m, grams, plain, t)
    out = [{"topic": t, "words": found[t]} for t in TOPICS if t in found]
    return out or [{"topic": OTHER, "words": []}]
