"""Grouping a backfill's input by case: nothing lost or added, each case contiguous, its events in input order;
the external path (partition files) the same as the in-memory one."""
from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.grouping import by_case
from connectors.parsing import Refusal

items = st.lists(st.one_of(
    st.builds(lambda c, n: {"case_id": f"c{c}", "n": n}, st.integers(0, 12), st.integers(0, 10**6)),
    st.just({"no_case": True}), st.just(Refusal(0, "bad", "x"))), max_size=300)


def _texts(values):
    return [(i, v, orjson.dumps(v) if isinstance(v, dict) else b"?") for i, v in enumerate(values)]


@settings(max_examples=200, deadline=None)
@given(items, st.sampled_from([10**9, 200, 1]))
def test_every_item_once_each_case_together_in_order(values, budget):
    given_ = _texts(values)
    out = list(by_case(iter(given_), budget_bytes=budget, partitions=3))
    assert sorted(i for i, _, _ in out) == list(range(len(values)))
    cases = [v.get("case_id", "") for _, v, _ in out if isinstance(v, dict)]
    seen, prev = set(), None
    for c in cases:
        assert c == prev or c not in seen, "a case's events are contiguous"
        seen.add(c)
        prev = c
    for c in seen:
        mine = [i for i, v, _ in out if isinstance(v, dict) and v.get("case_id", "") == c]
        assert mine == sorted(mine), "in input order"
    assert {i: v for i, v, _ in out if isinstance(v, dict)} == {i: v for i, v, _ in given_ if isinstance(v, dict)}
