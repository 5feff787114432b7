"""What classifying a demand costs: training at first use, then microseconds per demand over every labelled demand
(the shipped examples and the test sets, each made unique so that no cache answers), best of --repeat.

    python bench/demand_topics.py [--repeat 5]"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streams.demands.classify import EXAMPLES, classify, model  # noqa: E402


def texts() -> list[str]:
    files = [*sorted(EXAMPLES.glob("*.jsonl")), *sorted((ROOT / "tests" / "data").glob("demands_*.jsonl"))]
    return [json.loads(line)["text"] for f in files for line in f.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    repeat = ap.parse_args().repeat
    t = time.perf_counter()
    model()
    print(f"training at first use: {time.perf_counter() - t:.2f} s")
    rows = texts()
    best = float("inf")
    for k in range(repeat):
        batch = [f"{x}（{k}）" for x in rows]
        t = time.perf_counter()
        for x in batch:
            classify(x)
        best = min(best, time.perf_counter() - t)
    mean = sum(map(len, rows)) / len(rows)
    print(f"classify: {best / len(rows) * 1e6:.1f} µs per demand over {len(rows):,} demands of {mean:.0f} characters"
          f" on average (best of {repeat})")


if __name__ == "__main__":
    main()
