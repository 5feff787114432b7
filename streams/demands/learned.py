"""The learned part of the demand topics: one logistic regression per topic over character n-grams, trained at first
use from labelled demands kept as data, explained by the n-grams of the text that pushed each topic up."""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

# counts differ in wording (跑了三趟, 跑了五趟, 等了20天) but not in meaning: one character stands for every numeral
_NUMERALS = str.maketrans({c: "三" for c in "0123456789二三四五六七八九十两几"})
_SKIP = set(" \t\r\n，。、；：！？,.;:!?()（）【】[]“”\"'‘’《》<>…—-~～/\\|")
# what stands for a 除外 phrase (classify.masked): a feature (something was said not to apply), never a reason
BLANK = "□"


def grams(plain: str) -> dict[str, int]:
    """Each character 1- to 3-gram of a simplified, lower-cased text (not across punctuation), with where it first
    starts; numerals stand for each other."""
    norm = plain.translate(_NUMERALS)
    out: dict[str, int] = {}
    put = out.setdefault
    run = 0  # characters since the last punctuation
    for i, ch in enumerate(norm):
        if ch in _SKIP:
            run = 0
            continue
        run += 1
        put(ch, i)
        if run > 1:  # unrolled (the cost of a demand is mostly here)
            put(norm[i - 1:i + 1], i - 1)
            if run > 2:
                put(norm[i - 2:i + 1], i - 2)
    return out


@dataclass(frozen=True)
class Model:
    topics: tuple[str, ...]
    weights: dict[str, tuple[float, ...]]  # n-gram → a weight per topic
    bias: tuple[float, ...]
    ref: float = 0.0  # a text with more known n-grams than this has each count for less (0: none)

    def known(self, found: dict[str, int]) -> dict[str, int]:
        """The n-grams of found that the model has a weight for."""
        weights = self.weights
        return {g: i for g, i in found.items() if g in weights}

    def probabilities(self, found: dict[str, int]) -> list[float]:
        """Per topic, how likely the text is about it."""
        get = self.weights.get
        rows = [w for w in map(get, found) if w is not None]
        if not rows:
            return [_sigmoid(b) for b in self.bias]
        v = _value(len(rows), self.ref)
        return [_sigmoid(b + v * s) for b, s in zip(self.bias, map(sum, zip(*rows)))]


def _value(known: int, ref: float) -> float:
    """What each n-gram of a text counts for: long texts (operators' summaries) would otherwise win every topic."""
    return min(1.0, (ref / known) ** 0.5) if ref and known else 1.0


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0


def cached(rows: Sequence[tuple[str, list[str]]], topics: Sequence[str], where: Path) -> Model:
    """train(rows, topics), read from a file in `where` named by a hash of the rows, topics and this module's code
    when there is one; written there when it can be (a read-only home only means training each time)."""
    key = hashlib.sha256(json.dumps([rows, list(topics)], ensure_ascii=False).encode()
                         + Path(__file__).read_bytes()).hexdigest()[:24]
    path = where / f"demand-topics-{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Model(tuple(data["topics"]), {g: tuple(w) for g, w in data["weights"].items()}, tuple(data["bias"]),
                     data["ref"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    model = train(rows, topics)
    try:
        where.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(f".{os.getpid()}")
        part.write_text(json.dumps({"topics": model.topics, "weights": model.weights, "bias": model.bias,
                                    "ref": model.ref}, ensure_ascii=False), encoding="utf-8")
        os.replace(part, path)
    except OSError:
        pass
    return model


def train(rows: Sequence[tuple[str, Iterable[str]]], topics: Sequence[str], epochs: int = 20, rate: float = 0.1,
          l2: float = 0.03, min_count: int = 2, seed: int = 7, ref: float = 80.0) -> Model:
    """Rows of (simplified lower-cased text, its topics); stochastic gradient descent, n-grams seen fewer than
    min_count times dropped (they only memorise)."""
    counts: dict[str, int] = {}
    feats = []
    for text, _ in rows:
        found = grams(text)
        feats.append(found)
        for g in found:
            counts[g] = counts.get(g, 0) + 1
    vocab = {g: i for i, g in enumerate(sorted(g for g, c in counts.items() if c >= min_count))}
    index = [[vocab[g] for g in f if g in vocab] for f in feats]
    value = [_value(len(idx), ref) for idx in index]
    labels = [set(ts) for _, ts in rows]
    order = list(range(len(rows)))
    rnd = random.Random(seed)
    w = [[0.0] * len(vocab) for _ in topics]
    b = [0.0] * len(topics)
    decay = 1.0 - l2
    for epoch in range(epochs):
        rnd.shuffle(order)
        step = rate / (1.0 + epoch)
        for t, topic in enumerate(topics):
            wt = w[t]
            for r in order:
                idx = index[r]
                y = 1.0 if topic in labels[r] else 0.0
                v = value[r]
                miss = y - _sigmoid(b[t] + v * sum(map(wt.__getitem__, idx)))
                if -0.02 < miss < 0.02:  # learned well enough: skipping it is most of the speed
                    continue
                delta = step * miss
                b[t] += delta
                delta *= v
                for i in idx:
                    wt[i] += delta
            w[t] = [x * decay for x in wt]
    names = list(vocab)
    weights = {g: tuple(round(w[t][i], 4) for t in range(len(topics))) for i, g in enumerate(names)
               if any(abs(w[t][i]) >= 1e-3 for t in range(len(topics)))}
    return Model(tuple(topics), weights, tuple(b), ref)


def reasons(model: Model, found: dict[str, int], plain: str, t: int, keep: int = 3) -> list[str]:
    """The places of the text made of the n-grams that pushed topic t up most, merged where they overlap: what a
    person can read as the reason. Single characters only when no longer n-gram pushed it up."""
    pushed = sorted(((model.weights[g][t], len(g), g) for g in found
                     if g in model.weights and model.weights[g][t] > 0 and BLANK not in g), reverse=True)
    longer = [p for p in pushed if p[1] > 1]
    pushed = longer or pushed
    if not pushed:
        return []
    top = pushed[0][0]
    spans = sorted((found[g], found[g] + n) for w, n, g in pushed[:keep] if w >= top / 2)
    merged: list[list[int]] = []
    for a, z in spans:
        if merged and a < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], z)
        else:
            merged.append([a, z])
    return [plain[a:z] for a, z in merged]
