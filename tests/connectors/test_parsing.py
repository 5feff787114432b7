"""Reading JSON: an object that repeats a key is refused, wherever it sits and whatever its strings hold."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.parsing import Refusal, decode_json_body, decode_ndjson

KEYS = st.sampled_from(["a", "b", 'q"', "s\\", "c:", " ", "é", "\u00a0"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.sampled_from(["", "x", '"', "\\", '":', "a\"b:"]))


def obj(children):
    return st.lists(st.tuples(KEYS, children), max_size=4).map(lambda kv: ("obj", kv))


TREES = st.recursive(SCALARS.map(lambda v: ("val", v)),
                     lambda ch: st.one_of(obj(ch), st.lists(ch, max_size=3).map(lambda xs: ("arr", xs))), max_leaves=12)


def text_of(node, sep: str) -> str:
    kind, v = node
    if kind == "val":
        return json.dumps(v)
    if kind == "arr":
        return "[" + ",".join(text_of(x, sep) for x in v) + "]"
    return "{" + ",".join(f"{json.dumps(k)}{sep}:{text_of(x, sep)}" for k, x in v) + "}"


def repeats(node) -> bool:
    kind, v = node
    if kind == "obj":
        keys = [k for k, _ in v]
        return len(set(keys)) < len(keys) or any(repeats(x) for _, x in v)
    return kind == "arr" and any(repeats(x) for x in v)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(KEYS, TREES), min_size=1, max_size=4).map(lambda kv: ("obj", kv)),
       st.sampled_from(["", " ", "\t"]))
def test_a_repeated_key_is_refused_exactly_when_there_is_one(tree, sep):
    text = text_of(tree, sep).encode()
    for items in (list(decode_ndjson([text])), decode_json_body(text)):
        (_, got), = items
        assert isinstance(got, Refusal) == repeats(tree), text
        if isinstance(got, Refusal):
            assert "duplicate key" in got.reason
