"""How the demand topics do on a writer they never learned: leave one writer out (each writer's labelled demands
classified by phrases and a model trained on all the others'), exact set of topics per writer and the mean.

    python bench/demand_writers.py"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.script import to_simplified  # noqa: E402
from streams.demands import learned  # noqa: E402
from streams.demands.classify import EXAMPLES, TOPICS, decide, rules  # noqa: E402

DATA = ROOT / "tests" / "data"
# writer → (the files of theirs to classify, the shipped example files that are theirs, left out of training)
WRITERS = {
    "helper (examples/helper)": ([EXAMPLES / "helper.jsonl"], ["helper.jsonl"]),
    "labelled + heldout": ([DATA / "demands_labelled.jsonl", DATA / "demands_heldout.jsonl"], ["labelled.jsonl"]),
    "fresh": ([DATA / "demands_fresh.jsonl"], []),
    "A (examples/writer_a)": ([EXAMPLES / "writer_a.jsonl"], ["writer_a.jsonl"]),
    "B (examples/writer_b)": ([EXAMPLES / "writer_b.jsonl"], ["writer_b.jsonl"]),
    "C (examples/writer_c)": ([EXAMPLES / "writer_c.jsonl"], ["writer_c.jsonl"]),
    "E (examples/writer_e)": ([EXAMPLES / "writer_e.jsonl"], ["writer_e.jsonl"]),
    "F (examples/writer_f)": ([EXAMPLES / "writer_f.jsonl"], ["writer_f.jsonl"]),
    "G (examples/writer_g)": ([EXAMPLES / "writer_g.jsonl"], ["writer_g.jsonl"]),
    "H (examples/writer_h)": ([EXAMPLES / "writer_h.jsonl"], ["writer_h.jsonl"]),
    "I (examples/writer_i)": ([EXAMPLES / "writer_i.jsonl"], ["writer_i.jsonl"]),
    "J (examples/writer_j)": ([EXAMPLES / "writer_j.jsonl"], ["writer_j.jsonl"]),
}


def load(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(simplified lower-cased text, topics) as the rules hold examples."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(to_simplified(r["text"]).lower(), tuple(sorted(r["topics"]))) for r in rows]


def folds():
    """(writer, the rules with the phrases the other writers' examples do not contradict, those examples as the
    model learns them, the writer's (text, topics)): fresh, never shipped, is learned when another is left out."""
    r = rules()
    files = {f.name: load(f) for f in sorted(EXAMPLES.glob("*.jsonl"))}
    fresh = load(DATA / "demands_fresh.jsonl")
    for name, (tests, own) in WRITERS.items():
        test = [row for f in tests for row in load(f)]
        pool = [row for f, rows in files.items() if f not in own for row in rows] + (fresh if name != "fresh" else [])
        seen = {text for text, _ in dataclasses.replace(r, examples=tuple(test)).training()}
        train = [row for row in dataclasses.replace(r, examples=tuple(pool)).training() if row[0] not in seen]
        yield name, r.trusted(train), train, test


def main() -> None:
    shares = []
    t0 = time.perf_counter()
    print("| writer | demands | exact set |\n|---|---|---|")
    for name, rules_, train, test in folds():
        m = learned.train(train, TOPICS[:-1])
        share = sum(sorted(x["topic"] for x in decide(t, rules_, m)) == list(ts) for t, ts in test) / len(test)
        shares.append(share)
        print(f"| {name} | {len(test)} | {share:.1%} |")
    print(f"| **mean** | | **{sum(shares) / len(shares):.1%}** |")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
