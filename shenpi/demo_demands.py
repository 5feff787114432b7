"""The demo's demands: an over-documented item and a rude counter, equally complained of; only the first gets a
`simplify` recommendation, shown with its counts and sample texts."""
from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
from rich.console import Console

from connectors.kafka import Publisher
from connectors.records import RecordsConnector
from core.script import to_simplified
from core.settings import Settings
from simulator.chains import CHAINS, NOISE, REGIONS

HEAVY, RUDE = ("CH-PROP-TRANSFER", "不動產轉移登記"), ("CH-HUKOU", "戶口登記")
PLANTED = 40  # complaints about each: twice the default threshold of simplify


async def send_demands(s: Settings, pub: Publisher, db: asyncpg.Connection, console: Console, start: datetime,
                       days: int) -> list[str]:
    """The demands through the broker like any source's (masked and hashed at the edge); their delivery keys."""
    from simulator.demands import planted_demands

    others = [(c, n) for c, n, _ in [i for items in CHAINS.values() for i in items] + NOISE
              if c not in (HEAVY[0], RUDE[0])]
    records = planted_demands(HEAVY, RUDE, others, REGIONS, start, days, planted=PLANTED)
    connector = RecordsConnector(records, "demand", "demo-demands")
    connector.identity_key = s.identity_secret()
    report = await connector.run(pub, receipts=db)
    console.print(f"企业群众诉求：{len(records):,} 条（12345热线、网上留言、好差评），其中「{to_simplified(HEAVY[1])}」"
                  f"材料多、跑动多的投诉与「{to_simplified(RUDE[1])}」窗口态度的投诉各 {PLANTED} 条")
    return report.delivery_keys


async def wait_demands(db: asyncpg.Connection, keys: list[str]) -> None:
    for _ in range(2400):
        if await db.fetchval("SELECT count(*) FROM demand_delivery WHERE delivery_key = ANY($1::text[])",
                             keys) >= len(set(keys)):
            return
        await asyncio.sleep(0.25)


def show_simplify(recs: list[dict], figures: dict[str, dict], console: Console) -> None:
    """Each `simplify` with its evidence (in lines: the texts are long); the rude counter beside it, with its
    complaints and why it gets none."""
    from streams.analysis.recommend import RecommendParams

    p = RecommendParams()
    console.print(f"[bold]精简材料、减少跑动建议（simplify）[/bold]：{len(recs)} 条（门槛：材料繁多或多次跑动的投诉"
                  f" ≥ {p.simplify_min_complaints} 条，且 ≥ 有办件事项中位数的 {p.simplify_ratio:g} 倍）")
    for r in recs:
        ev, code = r["evidence"], r["item_codes"][0]
        console.print(f"  {figures.get(code, {}).get('name', code)}：投诉 {ev['complaints']} 条（"
                      + "、".join(f"{k} {n}" for k, n in ev["by_topic"].items())
                      + f"），有办件事项的中位数 {ev['median_of_items_with_cases']:g}；群众原话：")
        for text in ev["sample_texts"]:
            console.print(f"    「{text}」")
    rude = figures.get(RUDE[0])
    if rude:
        console.print(f"  对照：「{rude['name']}」投诉 {rude['complaints']} 条，其中服务态度 {rude['topics'].get('服务态度', 0)}"
                      f" 条、材料繁多或多次跑动 {rude['simplify']} 条：精简材料解决不了态度问题，不建议精简")


async def planted_figures(db: asyncpg.Connection, start: datetime, end: datetime) -> dict[str, dict]:
    """The two planted items' complaints: in all, by topic, and those about documents or trips."""
    from streams.analysis.recommend import SIMPLIFY_TOPICS
    from streams.demands.queries import figures, topic_complaints

    about = await topic_complaints(db, start, end, SIMPLIFY_TOPICS)
    out = {}
    for code, name in (HEAVY, RUDE):
        rows = (await figures(db, start, end, "item", "", item=code))["rows"]
        if rows:
            out[code] = {"name": to_simplified(name), "complaints": rows[0]["complaints"], "topics": rows[0]["topics"],
                         "simplify": about.get(code, {}).get("complaints", 0)}
    return out
