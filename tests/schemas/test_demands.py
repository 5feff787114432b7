"""A demand at the edge: either script held in simplified, refusals that say why, private data hashed or masked."""
from __future__ import annotations

from schemas.demands import mask_private, parse_demand

KEY = b"test-identity-key"
BASE = {"demand_id": "d1", "received_at": "2026-03-02T10:00:00+08:00", "channel": "12345熱線", "kind": "投訴",
        "region_code": "330102", "text": "跑了三趟"}


def test_either_script_is_held_in_simplified():
    d, refusal = parse_demand({**BASE, "channel": "網上留言", "outcome": "已解決", "satisfaction": "基本滿意"}, KEY)
    assert refusal is None and (d.channel, d.kind, d.outcome, d.satisfaction) == ("网上留言", "投诉", "已解决", "基本满意")
    d2, _ = parse_demand({**BASE, "channel": "网上留言", "kind": "投诉"}, KEY)
    assert (d2.channel, d2.kind) == (d.channel, d.kind)


def test_refusals_say_why():
    for bad, word in [({**BASE, "channel": "微博"}, "channel"), ({**BASE, "region_code": "33"}, "region_code"),
                      ({k: v for k, v in BASE.items() if k != "text"}, "text"), ([1], "not a JSON object"),
                      ({**BASE, "received_at": "2026-03-02T10:00:00"}, "received_at"),
                      ({**BASE, "handled_at": "2026-03-01T10:00:00+08:00"}, "before")]:
        d, refusal = parse_demand(bad, KEY)
        assert d is None and word in refusal.reason, (bad, refusal)


def test_requester_becomes_a_keyed_hash_the_same_however_written():
    a, _ = parse_demand({**BASE, "requester": "13812345678"}, KEY)
    b, _ = parse_demand({**BASE, "requester": "138 1234 5678"}, KEY)
    c, _ = parse_demand({**BASE, "requester": "13812345678"}, b"another-key")
    assert a.requester_hash == b.requester_hash != c.requester_hash
    assert "13812345678" not in a.model_dump_json() and len(a.requester_hash) == 64


def test_phones_identity_numbers_and_emails_masked_in_text():
    text = "电话13812345678，座机0571-88886666，(010)62345678，身份证11010519491231002X，邮箱zhang.san@example.com"
    d, _ = parse_demand({**BASE, "text": text}, KEY)
    for planted in ("13812345678", "88886666", "62345678", "11010519491231002X", "zhang.san@example.com"):
        assert planted not in d.text, d.text
    assert "电话" in d.text and "邮箱" in d.text
    assert mask_private("办件编号 330102 审批 2026 年") == "办件编号 330102 审批 2026 年"  # codes and years stay
