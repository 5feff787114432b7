"""Proposals at city scale: reading a 三定 into changes, and proposing it (the unit's context, the changes applied in
a rolled-back transaction, the findings on both sides, stored), per document.

    python bench/proposals.py [--units 200] [--docs 20]

A generated city (simulator/org.py) with its power list in a fresh database (`bench_proposals`, or SHENPI_DATABASE_URL); for some of its units a new 三定 is
written from what the unit has (its clauses in traditional characters, a new clause, a body renamed, the quota cut)
and proposed; medians and the slowest."""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402

from bench._stack import fresh_database  # noqa: E402
from core.script import to_traditional  # noqa: E402
from schemas import parse_list_change  # noqa: E402
from schemas.staffing import parse_staffing_change  # noqa: E402
from simulator.org import generate_city  # noqa: E402
from streams.archive.extract import extract  # noqa: E402
from streams.archive.proposals import propose_for_document, unit_context  # noqa: E402
from streams.cases.reach import apply_list_changes  # noqa: E402
from streams.staffing.store import apply_staffing_changes  # noqa: E402

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def sanding(name: str, ctx) -> str:
    clauses = [d["text"] for d in ctx.duties] + ["负责全市数据资源的统筹管理和开发利用。"]
    bodies = list(ctx.bodies.values())[1:] + ["数据管理科"]
    quota = max(1, sum(ctx.quotas.values()) - 2)
    text = (f"{name}职能配置、内设机构和人员编制规定\n第一条 为规范职能，制定本规定。\n第二条 {name}主要职责是：\n"
            + "\n".join(f"（{k + 1}）{c}" for k, c in enumerate(clauses))
            + f"\n第三条 {name}设下列内设机构：\n" + "\n".join(f"（{k + 1}）{b}。负责有关工作。" for k, b in enumerate(bodies))
            + f"\n第四条 {name}机关行政编制{quota}名。设局长1名，副局长2名；正科级领导职数{len(bodies)}名。\n")
    return to_traditional(text)


async def main(units: int, docs: int) -> None:
    city = generate_city(units=units, seed=3)
    dsn = fresh_database("bench_proposals")
    conn = await asyncpg.connect(dsn)
    try:
        changes = [parse_staffing_change(c, b"bench")[0] for c in city.changes]
        for i in range(0, len(changes), 2000):
            await apply_staffing_changes(conn, [(f"b{i + j}", c) for j, c in enumerate(changes[i:i + 2000])])
        await apply_list_changes(conn, [parse_list_change(c)[0] for c in city.list_changes])
        await conn.execute("ANALYZE")
        reads, proposing, opened = [], [], []
        for k, unit in enumerate(city.units[:docs]):
            ctx, _ = await unit_context(conn, unit["unit_code"], AT)
            text = sanding(unit["name"], ctx)
            t = time.perf_counter()
            extract(text, ctx)
            reads.append(time.perf_counter() - t)
            t = time.perf_counter()
            pid = await propose_for_document(conn, document_id=f"bench-{k}", text=text, pages=[text],
                                             doc_no=f"濰編〔2026〕{k}號", doc_type="三定規定", unit_code=unit["unit_code"],
                                             effective_at=AT, uploaded_by="bench")
            proposing.append(time.perf_counter() - t)
            opened.append(await conn.fetchval("SELECT jsonb_array_length(checks->'would_open') FROM org_proposal"
                                              " WHERE proposal_id = $1", pid))
        ms = lambda xs: f"median {statistics.median(xs) * 1000:.1f} ms, max {max(xs) * 1000:.1f} ms"  # noqa: E731
        print(f"city: {units} units, {len(changes):,} changes; {docs} 三定 (traditional) proposed")
        print(f"extract: {ms(reads)}")
        print(f"propose with checks: {ms(proposing[1:] or proposing)} (the first, loading jieba:"
              f" {proposing[0] * 1000:.0f} ms)")
        print(f"would_open per proposal: median {statistics.median(opened)}")
    finally:
        await conn.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--units", type=int, default=200)
    p.add_argument("--docs", type=int, default=20)
    a = p.parse_args()
    asyncio.run(main(a.units, a.docs))
