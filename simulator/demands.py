"""The platform's applicants speak up: demands (12345, online messages, 好差評) about their cases in their own words,
some naming the item, some not, some with a phone number in them (masked by the monitor's edge)."""
from __future__ import annotations

import random
from datetime import datetime
from typing import Any, Optional

# (words, kind): complaints about documents and trips most, as a real hotline hears
SAYINGS = [("办{name}要交的材料太多了，光证明就开了好几份", "投诉"), ("为了{name}我已经跑了三趟，每次都说缺东西", "投诉"),
           ("{name}交上去一个多月了还没有结果", "投诉"), ("{name}为什么还要收费", "投诉"),
           ("{name}网上办不了，只能去窗口", "投诉"), ("希望{name}能在县里或者镇上就近办理", "建议"),
           ("窗口工作人员态度很差，问两句就不耐烦", "投诉"), ("请问{name}需要什么条件", "咨询"),
           ("感谢窗口工作人员耐心解答，{name}很快就办好了", "表扬"), ("辦{name}的資料太多，跑了好幾趟", "投訴")]
CHANNELS = ["12345热线", "12345热线", "网上留言", "好差评", "走访调研"]


def demand_for(rng: random.Random, item: dict[str, Any], region: str, case_id: str, now: datetime,
               n: int) -> dict[str, Any]:
    """One demand about a case: a third name their item by code, the rest only in words (or not at all)."""
    words, kind = rng.choice(SAYINGS)
    d: dict[str, Any] = {"demand_id": f"{case_id}-D{n}", "received_at": now.isoformat(), "channel": rng.choice(CHANNELS),
                         "kind": kind, "region_code": region, "text": words.format(name=item.get("name") or "这个事项")}
    if rng.random() < 1 / 3:
        d.update(item_code=item["item_code"], case_id=case_id)
    if rng.random() < 0.2:
        d["text"] += f"，我的电话是1{rng.randrange(30, 99)}{rng.randrange(10 ** 7, 10 ** 8)}"
    if rng.random() < 0.7:
        d["requester"] = f"1{rng.randrange(30, 99)}{rng.randrange(10 ** 7, 10 ** 8)}"
    return d


def maybe_demand(rng: random.Random, case: list[dict[str, Any]], item: dict[str, Any], now: datetime,
                 share: float = 0.1) -> Optional[dict[str, Any]]:
    """A demand about this case, for about `share` of cases."""
    if rng.random() >= share:
        return None
    first = case[0]
    return demand_for(rng, item, first["region_code"], first["case_id"], now, rng.randrange(10 ** 6))
