"""`shenpi demands` as spec/demands.md §5 has it: import a file and wait, figures (complaints per 10k cases from the
approvals half), a demand, a list, a link by hand; `shenpi status` counts the stream."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import truncate_all

pytestmark = pytest.mark.broker


def _cli(env: dict, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "shenpi", *args], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


async def test_import_figures_show_list_link(stack, tmp_path):
    import asyncpg

    truncate_all(stack.settings.database_url)
    conn = await asyncpg.connect(stack.settings.database_url)
    try:  # 2,000 received cases of the item in March (the approvals half)
        await conn.execute("INSERT INTO indicator_daily (day, region_code, department_code, item_code, level, received)"
                           " VALUES ('2026-03-10', '330102', 'SCJG', 'ITEM-A', 'county', 2000)")
        from schemas import parse_list_change
        from streams.cases.reach import apply_list_changes

        change, _ = parse_list_change({"change_id": "a1", "item_code": "ITEM-A", "action": "added", "name": "餐饮许可",
                                       "effective_at": "2020-01-01T00:00:00+08:00", "category": "行政许可",
                                       "department_code": "SCJG", "level": "county", "region_codes": ["330102"]})
        await apply_list_changes(conn, [change])
    finally:
        await conn.close()
    rows = [{"demand_id": f"F{i}", "received_at": f"2026-03-{1 + i % 28:02d}T09:00:00+08:00",
             "channel": "好差評" if i % 3 else "12345热线", "kind": "投訴" if i < 6 else "建議", "region_code": "330102",
             "item_code": "ITEM-A", "text": "材料太多，跑了三趟" if i % 2 else "希望網上能辦"} for i in range(10)]
    rows.append({"demand_id": "U1", "received_at": "2026-03-03T09:00:00+08:00", "channel": "其他", "kind": "咨詢",
                 "region_code": "330102", "text": "路灯不亮"})
    rows.append({"demand_id": "bad", "channel": "其他"})
    path = tmp_path / "demands.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    env = stack.env
    out = _cli(env, "demands", "import", str(path), "--wait")
    assert (out["received"], out["accepted"], out["refused"], out["stored"]) == (12, 11, 1, 11), out
    fig = _cli(env, "demands", "figures", "--from", "2026-03-01", "--to", "2026-04-01", "--by", "item",
               "--format", "json")
    a = next(r for r in fig["rows"] if r["item_code"] == "ITEM-A")
    assert (a["demands"], a["complaints"], a["complaints_per_10k_cases"]) == (10, 6, 30.0)
    assert a["topics"]["材料繁多"] == 5 and a["topics"]["网上办理"] == 5
    by_channel = _cli(env, "demands", "figures", "--from", "2026-03-01", "--to", "2026-04-01", "--by", "channel",
                      "--region", "330102", "--format", "json")
    assert {r["channel"] for r in by_channel["rows"]} == {"好差评", "12345热线", "其他"}
    shown = _cli(env, "demands", "show", "F1", "--format", "json")
    assert shown["demand_id"] == "F1" and shown["link"]["how"] == "given"
    assert {t["topic"] for t in shown["topics"]} == {"材料繁多", "多次跑动"}
    listed = _cli(env, "demands", "list", "--unlinked", "--format", "json")
    assert [d["demand_id"] for d in listed["demands"]] == ["U1"]
    assert len(_cli(env, "demands", "list", "--topic", "網上辦理", "--limit", "3", "--format", "json")["demands"]) == 3
    linked = _cli(env, "demands", "link", "U1", "--item", "ITEM-A")
    assert linked["link_item"] == "ITEM-A" and linked["linked_by"].startswith("cli:")
    assert _cli(env, "demands", "show", "U1", "--format", "json")["link"]["how"] == "manual"
    assert _cli(env, "demands", "list", "--unlinked", "--format", "json")["demands"] == []
    st = _cli(env, "status", "--json")["demands"]
    assert st["reconciled"] and st["received"] == 12 and st["dead_lettered"] == 1, st
    import aiohttp

    async with aiohttp.ClientSession() as s:  # the console page: figures, topics by month, the texts with their words
        async with s.get(stack.url + "/demands", params={"from": "2026-03-01", "to": "2026-04-01",
                                                          "topic": "材料繁多"}) as r:
            page = await r.text()
            assert r.status == 200, page
        assert "ITEM-A" in page and "材料太多，跑了三趟" in page and "材料太多" in page and "2026-03" in page
        async with s.get(stack.url + "/demands", params={"from": "not-a-date"}) as r:
            assert r.status == 400
        async with s.get(stack.url + "/public/items/ITEM-A") as r:  # the portal: figures, never texts
            page = await r.text()
            assert r.status == 200, page
        assert "群众诉求" in page and "材料繁多 5" in page and "跑了三趟" not in page
