"""Both OCR engines on scans made here (三定 text rendered with a CJK font, tilted, speckled, blurred; simplified and
traditional): character accuracy and pages a minute with one single-threaded process per core.

    .venv/bin/python bench/ocr.py [--pages 6] [--processes 2]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import time
from concurrent.futures import ProcessPoolExecutor

from core.script import to_traditional
from simulator.documents import render_scan, sanding_text
from streams.archive.ocr import ENGINES, recognize_image

_SPACE = re.compile(r"\s+")


def distance(a: str, b: str) -> int:
    """Levenshtein distance (characters)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def accuracy(truth: str, read: str) -> float:
    t, r = _SPACE.sub("", truth), _SPACE.sub("", read)
    return max(0.0, 1 - distance(t, r) / len(t))


def pages(n: int) -> list[tuple[str, str, bytes]]:
    out = []
    for i in range(n):
        text = sanding_text(seed=i, year=1990 + i)
        script = "traditional" if i % 2 else "simplified"
        text = to_traditional(text) if i % 2 else text
        out.append((script, text, render_scan(text, seed=i)))
    return out


def _one(args: tuple[bytes, str]):
    t = time.perf_counter()
    page = recognize_image(*args)
    return page.text, page.confidence, time.perf_counter() - t


def measure(engine: str, scans, processes: int) -> dict:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=ctx) as pool:
        list(pool.map(_one, [(scans[0][2], engine)] * processes))  # load the models in every process first
        t0 = time.perf_counter()
        results = list(pool.map(_one, [(s[2], engine) for s in scans]))
        wall = time.perf_counter() - t0
    by_script: dict[str, list[float]] = {}
    for (script, truth, _), (text, _conf, _) in zip(scans, results):
        by_script.setdefault(script, []).append(accuracy(truth, text))
    return {"engine": engine, "pages": len(scans), "pages_per_minute": round(len(scans) / wall * 60, 1),
            "seconds_per_page_one_core": round(sum(r[2] for r in results) / len(results), 2),
            "accuracy": {k: round(sum(v) / len(v), 4) for k, v in by_script.items()},
            "mean_confidence": round(sum(r[1] for r in results) / len(results), 3)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pages", type=int, default=6)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--engines", default=",".join(ENGINES))
    a = p.parse_args()
    scans = pages(a.pages)
    print(json.dumps({"chars_per_page": round(sum(len(_SPACE.sub("", s[1])) for s in scans) / len(scans)),
                      "results": [measure(e, scans, a.processes) for e in a.engines.split(",")]},
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
