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


# the demo's two planted items (spec/demands.md §4): one whose applicants are asked for too many documents and sent
# back again and again, so simplifying would help; one whose counter staff are rude, as many complaints, none of which
# fewer documents or trips would fix. Said as people say it, in either script.
TOO_MANY = ["办{name}光证明就要开五六个，还要居委会盖章、派出所盖章", "{name}要交的材料太多了，身份证复印件要了四份",
            "为了{name}来回跑了四趟，每次都说还缺一样东西", "{name}的清单上没写清楚，到了窗口又让我回去拿",
            "同一份证明办{name}要重复提交，系统里明明都有", "办个{name}跑了三次窗口还没办完，太折腾了",
            "辦{name}要的資料太多，前後跑了好幾趟", "{name}要我开证明证明我妈是我妈，这种奇葩证明能不能取消",
            "{name}的表格太多，同样的信息反复填了好几遍", "第三次来办{name}了，每次都要补材料"]
RUDE = ["在{name}窗口问了两句，工作人员就不耐烦，态度很差", "{name}窗口的工作人员说话很冲，态度生硬，叫我别问那么多",
        "办{name}时窗口人员一直玩手机，喊了几声都不理人", "{name}窗口工作人员态度恶劣，还冲我发脾气",
        "辦{name}的窗口人員態度很差，愛理不理", "{name}窗口的人服务态度太差了，脸色难看"]


def planted_demands(heavy: tuple[str, str], rude: tuple[str, str], others: list[tuple[str, str]], regions: list[str],
                    start: datetime, days: int, seed: int = 7, planted: int = 40) -> list[dict[str, Any]]:
    """`planted` complaints each about the over-documented item (`heavy`, code and name) and the rude counter, two
    thirds naming the item (a 12345 worksheet's item), the rest only in words; and a few demands of every kind about
    each of the `others`, as any item hears."""
    from datetime import timedelta

    from core.script import to_simplified

    rng = random.Random(seed)
    out: list[dict[str, Any]] = []

    def at() -> datetime:
        return start + timedelta(days=rng.uniform(0, days))

    for (code, name), sayings in ((heavy, TOO_MANY), (rude, RUDE)):
        for k in range(planted):
            d = {"demand_id": f"demo-{seed}-{code}-{k}", "received_at": at().isoformat(),
                 "channel": rng.choice(CHANNELS), "kind": "投诉", "region_code": rng.choice(regions),
                 "text": rng.choice(sayings).format(name=to_simplified(name)),
                 "requester": f"1{rng.randrange(30, 99)}{rng.randrange(10 ** 7, 10 ** 8)}"}
            if k % 3:
                d["item_code"] = code
            out.append(d)
    for code, name in others:
        for k in range(rng.randrange(2, 8)):
            item = {"item_code": code, "name": to_simplified(name)}
            out.append(demand_for(rng, item, rng.choice(regions), f"demo-{seed}-{code}-{k}", at(), k))
    return out
