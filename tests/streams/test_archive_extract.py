"""Extraction of 三定 and approval documents: hand-written documents of both layouts and both scripts, and many
generated ones (any unit, clauses, bodies, kinds, numerals, brackets, script) read back exactly; every change
validates as the staffing stream's schema; what cannot be settled is listed, not guessed."""
from __future__ import annotations

import random

import pytest

from core.script import to_simplified, to_traditional
from schemas.staffing import StaffingChange
from simulator.org import make_uscc
from streams.archive.extract import UnitContext, extract, same

UNIT = make_uscc("11", "370700", 7)


def _valid(changes):
    """Each change as the stream takes it, given the id, instant and document a proposal adds."""
    for i, c in enumerate(changes):
        StaffingChange.model_validate({**c, "change_id": f"x{i}", "effective_at": "2019-03-01T00:00:00+08:00",
                                       "doc_no": "濰編〔2019〕12號"})


def _by_kind(e, kind):
    return [c for c in e.changes if c["kind"] == kind]


def _ctx(**kw):
    return UnitContext(UNIT, **{"exists": True, "name": "潍坊市农业农村局", "rank": "正处级", **kw})


SECTIONS_TRAD = """濰坊市農業農村局主要職責、內設機構和人員編制規定
市農業農村局是市政府工作部門，為正處級。
一、職能轉變
（一）深化農業供給側結構性改革。
（二）加強農村改革統籌。
二、主要職責
（一）統籌研究和組織實施「三農」工作的發展戰略。
（二）負責種植業、畜牧業、漁業的行業管理，
指導農產品加工業發展。
（三）完成市委、市政府交辦的其他任務。
（四）有關職責分工。與市自然資源局的有關職責分工：1.市農業農村局負責耕地保護。2.市自然資源局負責用途管制。
三、內設機構
根據上述職責，市農業農村局設4個內設機構：
（一）辦公室。負責機關日常運轉。
（二）法規科（行政審批科）。負責法治建設。
（三）種植業管理科。負責種植業。
（四）畜牧獸醫科。負責畜牧業。
四、人員編制
市農業農村局機關行政編制一百三十八名，機關工勤人員事業編制五名。設局長一名，副局長四名；正科級領導職數二十五名。
五、其他事項
所屬事業單位的設置、職責和編制事項另行規定。
"""


def test_sections_in_traditional_with_chinese_numerals():
    ctx = _ctx(bodies={"B1": "办公室", "B5": "综合科"}, past_bodies={"B1": "办公室", "B5": "综合科", "B3": "种植业管理科"},
               duties=[{"duty_id": "D2", "text": "負責種植業、畜牧業、漁業的行業管理，指導農產品加工業發展。",
                        "item_codes": ["AG-1"]}], duty_ids={"D1", "D2"})
    e = extract(SECTIONS_TRAD, ctx, "三定規定")
    _valid(e.changes)
    assert e.layout == "sections"
    duties = _by_kind(e, "duties_set")[0]["duties"]
    assert [d["text"] for d in duties] == [
        "深化農業供給側結構性改革。", "加強農村改革統籌。", "統籌研究和組織實施「三農」工作的發展戰略。",
        "負責種植業、畜牧業、漁業的行業管理，指導農產品加工業發展。", "完成市委、市政府交辦的其他任務。",
        "有關職責分工。與市自然資源局的有關職責分工：1.市農業農村局負責耕地保護。2.市自然資源局負責用途管制。"]
    assert duties[3]["duty_id"] == "D2" and duties[3]["item_codes"] == ["AG-1"]  # kept across scripts
    assert len({d["duty_id"] for d in duties}) == 6 and not {"D1"} & {d["duty_id"] for d in duties if d is not duties[3]}
    bodies = {c["name"]: c["body_code"] for c in _by_kind(e, "body_set")}
    assert bodies["辦公室"] == "B1" and bodies["種植業管理科"] == "B3"  # the same name, earlier: the same code
    assert "法規科" in bodies and bodies["法規科"] not in ("B1", "B3", "B5")
    assert [c["body_code"] for c in _by_kind(e, "body_abolished")] == ["B5"]
    assert {(c["quota_kind"], c["approved"]) for c in _by_kind(e, "quota_set")} == {("行政", 138), ("工勤", 5)}
    assert {(c["post_level"], c["approved"]) for c in _by_kind(e, "posts_set")} == {("正处", 1), ("副处", 4),
                                                                                   ("正科", 25)}
    assert not _by_kind(e, "unit_set")  # name and rank as they are
    q = _by_kind(e, "quota_set")[0]
    span = e.spans[e.changes.index(q)]["approved"]
    assert SECTIONS_TRAD[span["start"]:span["end"]] == span["text"] and "一百三十八" in span["text"]


APPROVAL = """濰編〔2020〕15號
關於市農業農村局調整內設機構和編制的批覆
市農業農村局：
你局《關於調整內設機構的請示》收悉。經研究，同意增設行政審批科、數據管理科，為正科級內設機構；撤銷綜合科；
同意將法規科更名為「政策法規科」。核增行政編制5名，增加正科級領導職數2名，增加副局長職數1名。
調整後，你局行政編制為143名。
"""


def test_an_approval_gives_the_deltas_it_states():
    ctx = _ctx(bodies={"B1": "辦公室", "B2": "法規科", "B5": "綜合科"}, quotas={"行政": 138}, posts={"正科": 25, "副处": 4})
    e = extract(APPROVAL, ctx, "機構編制審批文件")
    _valid(e.changes)
    sets = {c["name"]: c for c in _by_kind(e, "body_set")}
    assert set(sets) == {"行政審批科", "數據管理科", "政策法規科"}
    assert sets["政策法規科"]["body_code"] == "B2"  # renamed: the same body
    assert sets["行政審批科"]["rank"] == "正科级" and sets["行政審批科"]["body_code"] not in ("B1", "B2", "B5")
    assert [c["body_code"] for c in _by_kind(e, "body_abolished")] == ["B5"]
    assert [(c["quota_kind"], c["approved"]) for c in _by_kind(e, "quota_set")] == [("行政", 143)]
    assert {(c["post_level"], c["approved"]) for c in _by_kind(e, "posts_set")} == {("正科", 27), ("副处", 5)}
    assert not e.unsure


def test_an_approval_that_cannot_be_settled_says_so():
    ctx = _ctx(bodies={"B1": "办公室"}, quotas={"事业": 10}, rank=None)
    text = "关于调整编制的通知\n撤销档案科；核减事业编制3名，调整后事业编制为8名；增加副局长职数1名。"
    e = extract(text, ctx, "调整通知")
    _valid(e.changes)
    assert [(c["quota_kind"], c["approved"]) for c in _by_kind(e, "quota_set")] == [("事业", 8)]
    fields = [u["field"] for u in e.unsure]
    assert "body_code" in fields  # 档案科 is not a body of the unit
    assert "approved" in fields  # 10 − 3 = 7, the document says 8
    assert "post_level" in fields  # the unit's rank is unknown
    assert not _by_kind(e, "body_abolished") and not _by_kind(e, "posts_set")


def test_a_new_unit_and_gaps_are_unsure():
    text = ("某某市大数据局职能配置、内设机构和人员编制规定\n第一条 为规范本局职能，制定本规定。\n"
            "第二条 市大数据局为市政府工作部门，为正处级，经费形式为全额拨款。\n"
            "第三条 市大数据局主要职责是：\n(一)负责数据资源管理。\n(三)负责电子政务建设。\n"
            "第四条 市大数据局设下列内设机构：\n(一)办公室。\n(二)数据资源科。\n第五条 市大数据局机关行政编制20名。")
    e = extract(text, UnitContext(UNIT))
    _valid(e.changes)
    unit = _by_kind(e, "unit_set")[0]
    assert (unit["name"], unit["rank"], unit["nature"], unit["funding"]) == ("某某市大数据局", "正处级", "行政机关", "全额拨款")
    fields = [u["field"] for u in e.unsure]
    assert "region_code" in fields and "duties" in fields  # (一) then (三)
    assert [d["duty_id"] for d in _by_kind(e, "duties_set")[0]["duties"]] == ["D1", "D2"]


def test_an_older_document_numbering_its_entries_1_2():
    text = ("某县农业局主要职责内设机构和人员编制方案\n某县农业局为正科级。\n一、主要职责\n1．负责全县农业生产。\n"
            "2、负责农机监理，\n并组织实施农机补贴。\n二、内设机构\n设3个内设机构：\n1.办公室。\n2.农业股。\n3.农机股。\n"
            "三、人员编制\n行政编制十二名，事业编制五名。设局长一名，副局长二名。")
    e = extract(text, _ctx(rank=None, bodies={}))
    _valid(e.changes)
    assert [d["text"] for d in _by_kind(e, "duties_set")[0]["duties"]] == ["负责全县农业生产。",
                                                                          "负责农机监理，并组织实施农机补贴。"]
    assert [c["name"] for c in _by_kind(e, "body_set")] == ["办公室", "农业股", "农机股"]
    assert {(c["quota_kind"], c["approved"]) for c in _by_kind(e, "quota_set")} == {("行政", 12), ("事业", 5)}
    assert {(c["post_level"], c["approved"]) for c in _by_kind(e, "posts_set")} == {("正科", 1), ("副科", 2)}
    assert not [u for u in e.unsure if not u["field"].endswith("item_codes")], e.unsure


def test_a_clause_misread_by_a_scan_keeps_its_links_and_says_so():
    ctx = _ctx(duties=[{"duty_id": "D4", "text": "負責全市種植業、畜牧業、漁業的行業管理和安全監管。", "item_codes": ["AG-4"]},
                       {"duty_id": "D5", "text": "負責農村宅基地管理。", "item_codes": ["AG-5"]}], duty_ids={"D4", "D5"})
    text = SECTIONS_TRAD.replace("（二）負責種植業、畜牧業、漁業的行業管理，\n指導農產品加工業發展。",
                                 "（二）負責全市種植業、畜收業、漁業的行業管理和安全監管。")
    e = extract(text, ctx, "三定規定")
    duties = _by_kind(e, "duties_set")[0]["duties"]
    misread = next(d for d in duties if "畜收業" in d["text"])  # 牧 read as 收
    assert misread["duty_id"] == "D4" and misread["item_codes"] == ["AG-4"]
    assert any(u["field"] == "duties[D4].text" and "0.9" in u["reason"] for u in e.unsure)
    assert "D5" not in {d["duty_id"] for d in duties}  # nothing alike: not taken


def test_unnumbered_duty_articles_ocr_spacing_and_an_approval_in_sections():
    text = ("某局三定规定\n第 一 条 为规范职能，制定本规定。\n第 二 条 某局为正科级。\n第 三 条 某局主要职责是：\n"
            "（一）负责甲。\n（ 二 ）负责乙。\n第 四 条 职能转变。某局应当加快职能转变，\n强化事中事后监管。\n"
            "第 五 条 某局机关行政编制 12 名。设主任 1 名，副主任 2 名。")
    e = extract(text, _ctx(rank=None))
    _valid(e.changes)
    assert [d["text"] for d in _by_kind(e, "duties_set")[0]["duties"]] == [
        "负责甲。", "负责乙。", "某局应当加快职能转变，强化事中事后监管。"]
    assert {(c["post_level"], c["approved"]) for c in _by_kind(e, "posts_set")} == {("正科", 1), ("副科", 2)}
    assert [(c["quota_kind"], c["approved"]) for c in _by_kind(e, "quota_set")] == [("行政", 12)]
    approval = "关于调整内设机构的批复\n一、同意增设执法监督科。\n二、核增行政编制2名。\n三、其他事项按有关规定执行。"
    e = extract(approval, _ctx(quotas={"行政": 10}))
    assert e.layout == "approval" and [c["kind"] for c in e.changes] == ["body_set", "quota_set"]
    assert e.changes[1]["approved"] == 12


NATIONAL_STYLE = """某某市应急管理局职能配置、内设机构和人员编制规定
第一条　根据《某某市机构改革方案》，制定本规定。
第二条　市应急管理局的内设机构为正科级。市应急管理局是市政府工作部门。
第三条　市应急管理局贯彻落实党中央关于应急管理工作的方针政策和决策部署，在履行职责过程中坚持和加强党的集中统一领导。主要职责是：
(—)负责应急管理工作，指导各区县应对安全生产类突发事件。
(二)组织编制全市应急体系建设规划。
(三)职能转变。市应急管理局应加强、优化、统筹全市应急能力建设。
(四)有关职责分工。1.与市消防救援支队的职责分工。2.与市水利局的职责分工。
第四条　市应急管理局设下列内设机构：
(一)办公室(党委办公室)。负责机关日常运转。
(二)风险监测和综合减灾科。
第五条　市应急管理局机关行政编制40名。设局长1名（正处级），副局长3名（副处级），总工程师1名；司局级领导职数6名（含机关党委专职副书记1名）。
第六条　本规定自2019年1月1日起施行。
"""


def test_a_real_layout_reads_and_names_what_it_could_not_read():
    e = extract(NATIONAL_STYLE, _ctx(rank=None, name="某某市应急管理局", bodies={}))
    _valid(e.changes)
    duties = _by_kind(e, "duties_set")[0]["duties"]
    assert len(duties) == 4 and duties[0]["text"].startswith("负责应急管理工作") and duties[2]["text"].startswith("职能转变")
    assert [c["name"] for c in _by_kind(e, "body_set")] == ["办公室", "风险监测和综合减灾科"]
    assert all(c.get("rank") == "正科级" for c in _by_kind(e, "body_set"))
    assert not _by_kind(e, "unit_set")  # 为正科级 is the bodies' rank, not the unit's
    assert {(c["post_level"], c["approved"]) for c in _by_kind(e, "posts_set")} == {("正处", 1), ("副处", 3)}
    unread = [u["reason"] for u in e.unsure if u["reason"].startswith("数字未能识别")]
    assert any("总工程师1名" in x for x in unread) and any("司局级领导职数6名" in x for x in unread)
    assert not any("副书记" in x for x in unread)  # a remark in brackets


def test_an_approval_that_sets_up_a_unit_is_not_a_body():
    text = "关于设立市大数据中心的批复\n同意设立市大数据中心，为市政府直属正处级事业单位。同意增设数据科。"
    e = extract(text, _ctx(), "机构编制审批文件")
    assert [c["name"] for c in _by_kind(e, "body_set")] == ["数据科"]
    assert any("此处设立的是单位而非内设机构" in u["reason"] for u in e.unsure)
    moved = extract("关于划转编制的通知\n从市农业局划转行政编制2名至你局。", _ctx(quotas={"行政": 10}), "调整通知")
    assert not moved.changes and any("划转行政编制2名" in u["reason"] for u in moved.unsure)


# ----------------------------------------------------------------------------- generated documents

CLAUSES = ["负责全市食品安全监督管理综合协调", "负责药品零售企业许可和监督检查", "组织实施质量强市战略",
           "负责特种设备安全监督管理", "负责计量标准化和认证认可工作", "负责广告活动的监督管理",
           "承担全市统计调查和数据发布工作", "负责全市道路运输行业管理", "负责城市供水节水管理",
           "拟订全市文化旅游发展规划并组织实施", "负责林业和草原资源保护", "负责全市退役军人思想政治工作",
           "指导全市应急预案体系建设", "负责医疗机构执业许可和医师执业注册"]
BODIES = ["办公室", "政策法规科", "财务审计科", "行政审批服务科", "安全监管科", "执法监督科", "规划发展科", "人事教育科",
          "信息中心", "综合执法大队", "科技信息科", "市场规范管理科"]
KINDS = [("行政编制", "行政"), ("政法专项编制", "政法专项"), ("参照公务员法管理事业编制", "参公事业"), ("事业编制", "事业"),
         ("工勤人员编制", "工勤"), ("机关工勤人员事业编制", "工勤")]
HEADS = {"正处级": ("局长", "正处", "副局长", "副处"), "正科级": ("主任", "正科", "副主任", "副科"),
         "副处级": ("队长", "副处", "副队长", "正科")}
DIGITS = "零一二三四五六七八九"


def cn(n: int) -> str:
    """An integer in Chinese numerals (一百三十八, 二十五, 十, 一百零五)."""
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return "十" + (DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return DIGITS[n // 10] + "十" + (DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    return DIGITS[n // 100] + "百" + ("" if not rest else ("零" + DIGITS[rest] if rest < 10 else
                                                           ("一" + cn(rest) if rest < 20 else cn(rest))))


def _render(rng: random.Random, facts: dict) -> str:
    num = (lambda n: cn(n)) if facts["chinese"] else str
    o, c = rng.choice([("（", "）"), ("(", ")")])
    name, rank = facts["name"], facts["rank"]
    head, _, deputy, _ = HEADS[rank]
    quota = "，".join(f"{label}{num(n)}名" for label, n in facts["quotas"])
    posts = f"设{head}{num(1)}名，{deputy}{num(facts['deputies'])}名；正科级领导职数{num(facts['section'])}名。"
    duties = "\n".join(f"{o}{cn(k + 1)}{c}{t}。" for k, t in enumerate(facts["clauses"]))
    bodies = "\n".join(f"{o}{cn(k + 1)}{c}{b}。负责有关工作。" for k, b in enumerate(facts["bodies"]))
    if facts["layout"] == "articles":
        art = lambda k: f"第{cn(k) if rng.random() < 0.8 else k}条" + rng.choice(["　", " ", ""])  # noqa: E731
        text = (f"{name}职能配置、内设机构和人员编制规定\n{art(1)}为规范职能，制定本规定。\n"
                f"{art(2)}{name}是市政府工作部门，为{rank}。\n{art(3)}{name}主要职责是：\n{duties}\n"
                f"{art(4)}{name}设下列内设机构：\n{bodies}\n{art(5)}{name}机关{quota}。{posts}\n"
                f"{art(6)}本规定自2019年3月1日起施行。\n")
    else:
        text = (f"{name}主要职责内设机构和人员编制规定\n{name}是市政府工作部门，为{rank}。\n一、主要职责\n{duties}\n"
                f"二、内设机构\n根据上述职责，{name}设{num(len(facts['bodies']))}个内设机构：\n{bodies}\n"
                f"三、人员编制\n{name}{quota}。{posts}\n四、其他事项\n本规定由市委编办负责解释。\n")
    return to_traditional(text) if facts["traditional"] else text


def _facts(rng: random.Random) -> dict:
    kinds = rng.sample(KINDS, rng.randint(1, 3))
    kinds = [k for k in kinds if k[1] != "工勤"] + [k for k in kinds if k[1] == "工勤"][:1]
    return {"name": rng.choice(["潍坊市", "寿光市", "青州市"]) + rng.choice(["市场监督管理局", "交通运输局", "水利局", "文化和旅游局"]),
            "rank": rng.choice(list(HEADS)), "layout": rng.choice(["articles", "sections"]),
            "chinese": rng.random() < 0.5, "traditional": rng.random() < 0.5,
            "clauses": rng.sample(CLAUSES, rng.randint(3, 10)), "bodies": rng.sample(BODIES, rng.randint(2, 8)),
            "quotas": [(label, rng.choice([3, 10, 12, 25, 40, 105, 138, 210])) for label, _ in kinds],
            "kinds": [kind for _, kind in kinds], "deputies": rng.randint(1, 5), "section": rng.randint(2, 30)}


@pytest.mark.parametrize("seed", range(40))
def test_generated_documents_are_read_exactly(seed):
    rng = random.Random(seed)
    f = _facts(rng)
    text = _render(rng, f)
    script = to_traditional if f["traditional"] else (lambda s: s)
    prior = rng.sample(f["bodies"], min(2, len(f["bodies"])))
    gone = rng.choice([b for b in BODIES if b not in f["bodies"]])
    ctx = UnitContext(UNIT, exists=True, name=script(f["name"]), rank=f["rank"],
                      bodies={f"B{k + 1}": to_traditional(b) for k, b in enumerate(prior + [gone])},
                      duties=[{"duty_id": "D7", "text": to_traditional(f["clauses"][-1]) + "。", "item_codes": ["IT"]}],
                      duty_ids={"D1", "D7"})
    e = extract(text, ctx)
    _valid(e.changes)
    assert e.layout == f["layout"]
    duties = _by_kind(e, "duties_set")[0]["duties"]
    assert [d["text"] for d in duties] == [script(t) + "。" for t in f["clauses"]]
    assert duties[-1]["duty_id"] == "D7" and duties[-1]["item_codes"] == ["IT"]
    assert "D1" not in {d["duty_id"] for d in duties}
    sets = _by_kind(e, "body_set")
    assert [same(c["name"]) for c in sets] == [same(b) for b in f["bodies"]]
    assert [c["body_code"] for c in sets][:0] == [] and {c["name"]: c["body_code"] for c in sets if
                                                         to_simplified(c["name"]) in prior} == {
        script(b): f"B{k + 1}" for k, b in enumerate(prior)}
    assert len({c["body_code"] for c in sets}) == len(sets)
    assert [c["body_code"] for c in _by_kind(e, "body_abolished")] == [f"B{len(prior) + 1}"]
    expected = {}
    for kind, (_, n) in zip(f["kinds"], f["quotas"]):
        expected.setdefault(kind, n)
    assert {c["quota_kind"]: c["approved"] for c in _by_kind(e, "quota_set")} == expected
    _, head, _, deputy = HEADS[f["rank"]]
    posts = {head: 1}
    posts[deputy] = posts.get(deputy, 0) + f["deputies"]
    posts["正科"] = posts.get("正科", 0) + f["section"]
    assert {c["post_level"]: c["approved"] for c in _by_kind(e, "posts_set")} == posts
    assert not _by_kind(e, "unit_set")
    assert all(u["field"].endswith("item_codes") for u in e.unsure), e.unsure
    for _c, spans in zip(e.changes, e.spans):  # every span is the original's text at its offsets
        for s in (v for v in spans.values() if isinstance(v, dict) and v.get("start") is not None):
            assert text[s["start"]:s["end"]] == s["text"]


def test_cn_numerals_helper_is_right():
    assert [cn(n) for n in (5, 10, 15, 25, 100, 105, 110, 138, 210)] == [
        "五", "十", "十五", "二十五", "一百", "一百零五", "一百一十", "一百三十八", "二百一十"]


KIND_LABELS = {"行政": "行政编制", "事业": "事业编制", "政法专项": "政法专项编制", "工勤": "机关工勤人员事业编制"}


@pytest.mark.parametrize("seed", range(20))
def test_generated_approvals_give_their_deltas(seed):
    rng = random.Random(1000 + seed)
    standing = rng.sample(BODIES, 5)
    ctx = _ctx(bodies={f"B{k + 1}": to_traditional(b) for k, b in enumerate(standing)},
               quotas={k: rng.randint(10, 60) for k in rng.sample(list(KIND_LABELS), 2)}, posts={"正科": 8, "副处": 3})
    new = [b for b in BODIES if b not in standing][:rng.randint(1, 2)]
    gone, (old, renamed) = standing[0], (standing[1], "综合协调" + standing[1][-1])
    kind = rng.choice(sorted(ctx.quotas))
    up, n, k = rng.random() < 0.5, rng.randint(1, 5), rng.randint(1, 3)
    after = ctx.quotas[kind] + (n if up else -n)
    num = cn if rng.random() < 0.5 else str
    text = (f"关于{ctx.name}调整机构编制事项的批复\n{ctx.name}：\n经研究，同意增设{'、'.join(new)}，为正科级内设机构；"
            f"撤销{gone}；将{old}更名为{renamed}。{'核增' if up else '核减'}{KIND_LABELS[kind]}{num(n)}名，"
            f"增加正科级领导职数{num(k)}名。" + (f"调整后，你局{KIND_LABELS[kind]}为{num(after)}名。" if rng.random() < 0.5 else ""))
    traditional = rng.random() < 0.5
    e = extract(to_traditional(text) if traditional else text, ctx, "机构编制审批文件")
    _valid(e.changes)
    script = to_traditional if traditional else (lambda s: s)
    sets = {c["name"]: c for c in _by_kind(e, "body_set")}
    assert set(sets) == {script(x) for x in [*new, renamed]}
    assert sets[script(renamed)]["body_code"] == "B2"
    assert {sets[script(x)]["body_code"] for x in new}.isdisjoint({f"B{i}" for i in range(1, 6)})
    assert all(sets[script(x)]["rank"] == "正科级" for x in new)
    assert [c["body_code"] for c in _by_kind(e, "body_abolished")] == ["B1"]
    assert [(c["quota_kind"], c["approved"]) for c in _by_kind(e, "quota_set")] == [(kind, after)]
    assert [(c["post_level"], c["approved"]) for c in _by_kind(e, "posts_set")] == [("正科", 8 + k)]
    assert not e.unsure, e.unsure
