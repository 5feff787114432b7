"""A realistic city for the staffing half: units of every nature and rank, three generations of 三定 with clause
text tied to power items, staff hired, moved, promoted and retiring over the years, and planted problems (over
quota, mixed use, over posts, a body without an approving document) beside look-alikes that are not problems."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from stdnum.cn import uscc

TZ = timezone(timedelta(hours=8))
GENERATIONS = (1983, 2001, 2019)  # 機構改革 rounds that issued new 三定
BASES = [  # (name, nature, rank, funding, kinds approved, duty topics)
    ("发展和改革委员会", "行政机关", "正处级", "全额拨款", ("行政", "工勤"), ("规划", "投资项目审批", "价格监测")),
    ("教育局", "行政机关", "正处级", "全额拨款", ("行政", "工勤"), ("学校设置审批", "教师资格认定", "教育督导")),
    ("公安局", "行政机关", "正处级", "全额拨款", ("行政", "政法专项", "工勤"), ("户籍管理", "治安管理处罚", "出入境证件")),
    ("民政局", "行政机关", "正处级", "全额拨款", ("行政", "工勤"), ("社会组织登记", "婚姻登记", "社会救助")),
    ("司法局", "行政机关", "正处级", "全额拨款", ("行政", "政法专项"), ("律师执业监督", "公证管理", "人民调解")),
    ("自然资源和规划局", "行政机关", "正处级", "全额拨款", ("行政", "工勤"), ("建设用地审批", "不动产登记", "矿产资源")),
    ("住房和城乡建设局", "行政机关", "正处级", "全额拨款", ("行政", "工勤"), ("施工许可", "建筑市场监管", "物业管理")),
    ("卫生健康委员会", "行政机关", "正处级", "全额拨款", ("行政", "工勤"), ("医疗机构执业许可", "出生医学证明", "公共卫生监督")),
    ("市场监督管理局", "行政机关", "正处级", "全额拨款", ("行政", "工勤"), ("市场主体登记", "食品经营许可", "特种设备监察")),
    ("人力资源和社会保障局", "行政机关", "正处级", "全额拨款", ("行政", "工勤"), ("社会保险", "劳动保障监察", "职业技能鉴定")),
    ("档案馆", "参公事业单位", "副处级", "全额拨款", ("参公事业", "工勤"), ("档案接收", "档案利用", "档案保护")),
    ("政务服务中心", "参公事业单位", "副处级", "全额拨款", ("参公事业",), ("政务服务事项进驻", "一窗受理", "好差评")),
    ("疾病预防控制中心", "公益一类事业单位", "副处级", "全额拨款", ("事业",), ("传染病防控", "预防接种", "健康教育")),
    ("人民医院", "公益二类事业单位", "正处级", "差额拨款", ("事业",), ("医疗服务", "急诊急救", "医学教育")),
    ("公共资源交易中心", "公益一类事业单位", "正科级", "全额拨款", ("事业",), ("交易场所服务", "交易信息公开", "专家库管理")),
    ("城市建设投资服务中心", "生产经营类事业单位", "未定级", "自收自支", ("事业",), ("项目代建", "资产经营", "融资服务")),
]
CLAUSE = ["负责{t}工作，拟订{t}相关政策并组织实施。", "承担{t}的审核和监督管理，依法实施{t}行政许可。",
          "组织开展{t}的统计分析和信息发布，指导下级部门{t}业务。", "负责{t}有关的行政执法和投诉处理。"]
BOILERPLATE = "完成市委、市政府交办的其他任务。"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华红建国志文斌宇浩凯婷雪琳晨欣怡子涵"
POSTS = {"正处级": ("正处", "副处", "正科"), "副处级": ("副处", "正科"), "正科级": ("正科", "副科")}


def make_uscc(authority: str, region: str, seq: int) -> str:
    """A unified social credit code with a valid check character (機構編制 registers 11 and 12)."""
    base = f"{authority}{region}{seq:08d}{seq % 10}"[:17]
    return base + uscc.calc_check_digit(base)


@dataclass
class City:
    """The changes, in time order as an export gives them, and what was planted."""

    changes: list[dict[str, Any]] = field(default_factory=list)
    list_changes: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)
    planted: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, unit_code, subject) open at the end
    look_alikes: list[tuple[str, str]] = field(default_factory=list)


def _at(year: int, rng: random.Random) -> datetime:
    return datetime(year, 1, 1, 9, tzinfo=TZ) + timedelta(days=rng.randrange(0, 364), hours=rng.randrange(0, 8))


class _Gen:
    def __init__(self, seed: int, region: str, counties: tuple[str, ...]):
        self.rng, self.region, self.counties = random.Random(seed), region, counties
        self.city, self.n, self.people = City(), 0, 0

    def change(self, kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        self.n += 1
        c = {"change_id": f"ORG-{self.n:07d}", "kind": kind, "effective_at": at.isoformat(), **fields}
        self.city.changes.append(c)
        return c

    def person(self) -> tuple[str, str, str]:
        self.people += 1
        rng = self.rng
        return (f"P{self.people:07d}", rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
                rng.choice("男女"))


def generate_city(units: int = 48, seed: int = 7, region: str = "330100",
                  counties: tuple[str, ...] = ("330102", "330105", "330106"), until_year: int = 2026,
                  staff_scale: float = 1.0) -> City:
    g = _Gen(seed, region, counties)
    city = g.city
    for u in range(units):
        name, nature, rank, funding, kinds, topics = BASES[u % len(BASES)]
        where = region if u < len(BASES) else counties[(u // len(BASES) - 1) % len(counties)]
        place = "市" if where == region else {"330102": "上城区", "330105": "拱墅区", "330106": "西湖区"}.get(where, "区")
        if u >= len(BASES) * (1 + len(counties)):
            # past one set per county, each further set is its own government (a street or township of the county,
            # 9-digit code): a county never holds a hundred bureaus with the same 三定, which would all be 職能交叉
            town = (u // len(BASES) - 1 - len(counties)) // len(counties) + 1
            where, place = f"{where}{town:03d}", f"{place}第{town}街道"
            name = f"{name}分局" if nature == "行政机关" else name
        if where != region:
            rank = {"正处级": "正科级", "副处级": "副科级"}.get(rank, rank)
        code = make_uscc("11" if nature in ("行政机关", "参公事业单位") else "12", where[:6], u + 1)
        unit = {"unit_code": code, "name": place + name, "region_code": where, "nature": nature, "rank": rank,
                "kinds": kinds, "topics": topics}
        city.units.append(unit)
        _unit_life(g, unit, u, funding, until_year, staff_scale)
    city.changes.sort(key=lambda c: (c["effective_at"], c["change_id"]))
    return city


def _unit_life(g: _Gen, unit: dict, u: int, funding: str, until_year: int, scale: float) -> None:
    rng, city, code = g.rng, g.city, unit["unit_code"]
    founded = GENERATIONS[0] + rng.randrange(0, 3)
    staff: dict[str, dict] = {}  # person_key -> {kind, post}
    plant = u % 8  # 1: over quota, 2: mixed use, 3: over posts, 4: unapproved body; 5-7: look-alikes
    posts_levels = POSTS.get(unit["rank"], ("正科", "副科"))
    for gen, year in enumerate(y for y in GENERATIONS if y >= founded - 3):
        at = _at(max(year, founded), rng)
        doc_no = f"{unit['name'][:2]}编〔{at.year}〕{u + 1}号"
        clauses = [CLAUSE[(k + gen) % len(CLAUSE)].format(t=t) for k, t in enumerate(unit["topics"])]
        items = [f"{code[-6:]}-{k}" for k in range(len(clauses))]
        text = (f"{unit['name']}主要职责、内设机构和人员编制规定\n第一条 根据机构改革方案，设立{unit['name']}。\n"
                + "".join(f"（{k + 1}）{c}\n" for k, c in enumerate(clauses)) + f"（{len(clauses) + 1}）{BOILERPLATE}\n")
        g.change("document", at, doc_no=doc_no, title=f"{unit['name']}职能配置、内设机构和人员编制规定",
                 issued_at=at.date().isoformat(), doc_type="三定规定", text=text)
        if gen == 0:
            g.change("unit_set", at, doc_no=doc_no, unit_code=code, name=unit["name"], region_code=unit["region_code"],
                     nature=unit["nature"], rank=unit["rank"], funding=funding)
        duties = [{"duty_id": f"D{k + 1}", "text": c, "item_codes": [items[k]] if k < 2 else []}
                  for k, c in enumerate(clauses)]
        duties.append({"duty_id": "D9", "text": BOILERPLATE, "item_codes": []})
        g.change("duties_set", at, doc_no=doc_no, unit_code=code, duties=duties)
        for k, item in enumerate(items[:2] if gen == 0 else ()):  # the power items the clauses name, the unit's
            city.list_changes.append({"change_id": f"LC-{item}", "item_code": item, "action": "added",
                                      "effective_at": at.isoformat(), "name": f"{unit['topics'][k]}审批",
                                      "category": "行政许可", "department_code": code,
                                      "level": "city" if unit["region_code"] == g.region else "county",
                                      "region_codes": [unit["region_code"]], "statutory_days": 20,
                                      "committed_days": 10})
        for b in range(3 + gen):
            g.change("body_set", at, doc_no=doc_no, unit_code=code, body_code=f"B{b + 1}",
                     name=["办公室", "综合科", "政策法规科", "审批服务科", "监督管理科"][b % 5], rank="正科级")
        quotas = {k: max(sum(1 for s in staff.values() if s["kind"] == k),  # a new 三定 never cuts below staff
                         max(2, int(rng.randint(8, 30) * scale)) if k != "工勤" else max(1, int(3 * scale)))
                  for k in unit["kinds"]}
        for k, n in quotas.items():
            g.change("quota_set", at, doc_no=doc_no, unit_code=code, quota_kind=k, approved=n)
        posts = {lvl: (1 if i == 0 else 2 + gen) for i, lvl in enumerate(posts_levels)}
        for lvl, n in posts.items():
            g.change("posts_set", at, doc_no=doc_no, unit_code=code, post_level=lvl, approved=n)
        unit["quotas"], unit["posts"] = quotas, posts
        # staff: fill towards the quota (never over, unless planted)
        for k, n in quotas.items():
            have = sum(1 for s in staff.values() if s["kind"] == k)
            for _ in range(max(0, n - have - rng.randint(0, 2))):
                _hire(g, unit, staff, k, at + timedelta(days=rng.randrange(1, 200)), None)
    # years pass: retirements and replacements, promotions within the posts
    for year in range(founded + 1, until_year):
        if not staff:
            break
        for pk in rng.sample(sorted(staff), k=min(len(staff), max(1, len(staff) // 15))):
            at = max(_at(year, rng), staff[pk]["since"] + timedelta(days=30))
            kind = staff.pop(pk)["kind"]
            g.change("staff_out", at, person_key=pk)
            _hire(g, unit, staff, kind, at + timedelta(days=rng.randrange(1, 60)), None)
        if rng.random() < 0.3:
            pk = rng.choice(sorted(staff))
            held = {lvl: sum(1 for s in staff.values() if s["post"] == lvl) for lvl in unit["posts"]}
            free = [lvl for lvl, n in unit["posts"].items() if held[lvl] < n]
            if free and staff[pk]["post"] is None:
                staff[pk]["post"] = free[0]
                g.change("staff_moved", max(_at(year, rng), staff[pk]["since"] + timedelta(days=1)), person_key=pk,
                         post_level=free[0])
    end = datetime(until_year, 1, 1, tzinfo=TZ) - timedelta(days=rng.randrange(30, 300))
    first_kind = unit["kinds"][0]
    if plant == 1:  # hire past the quota
        have = sum(1 for s in staff.values() if s["kind"] == first_kind)
        for _ in range(unit["quotas"][first_kind] - have + 2):
            _hire(g, unit, staff, first_kind, end, None)
        city.planted.append(("over_quota", unit["unit_code"], first_kind))
    elif plant == 2:  # someone on a kind the unit has no quota of
        other = next(k for k in ("工勤", "事业", "行政") if k not in unit["quotas"])
        _hire(g, unit, staff, other, end, None)
        city.planted.append(("mixed_use", unit["unit_code"], other))  # 混編 alone (spec §3)
    elif plant == 3:  # one more leader than posts
        lvl = list(unit["posts"])[-1]
        holding = sum(1 for s in staff.values() if s["post"] == lvl)
        for pk in [p for p, s in sorted(staff.items()) if s["post"] is None][:unit["posts"][lvl] - holding + 1]:
            staff[pk]["post"] = lvl
            g.change("staff_moved", end, person_key=pk, post_level=lvl)
        city.planted.append(("over_posts", unit["unit_code"], lvl))
    elif plant == 4:  # a body set up on a notice that never reached the archive
        g.change("body_set", end, doc_no=f"内部通知〔{end.year}〕{u}号", unit_code=code, body_code="B90", name="临时专班")
        city.planted.append(("unapproved_body", unit["unit_code"], "B90"))
    elif plant == 5:  # look-alike: exactly at the quota
        have = sum(1 for s in staff.values() if s["kind"] == first_kind)
        for _ in range(max(0, unit["quotas"][first_kind] - have)):
            _hire(g, unit, staff, first_kind, end, None)
        city.look_alikes.append(("at_quota", unit["unit_code"]))
    elif plant == 6:  # look-alike: over quota once, back within it after a retirement
        have = sum(1 for s in staff.values() if s["kind"] == first_kind)
        extra = [_hire(g, unit, staff, first_kind, end - timedelta(days=20), None)
                 for _ in range(unit["quotas"][first_kind] - have + 1)]
        for pk in extra[:2]:
            staff.pop(pk)
            g.change("staff_out", end, person_key=pk)
        city.look_alikes.append(("was_over", unit["unit_code"]))
    elif plant == 7:  # look-alike: a body whose document arrives after it (approved all along)
        doc_no = f"{unit['name'][:2]}编〔{end.year}〕{u + 100}号"
        g.change("body_set", end, doc_no=doc_no, unit_code=code, body_code="B80", name="数据管理科")
        g.change("document", end + timedelta(days=2), doc_no=doc_no, title=f"关于{unit['name']}增设数据管理科的批复",
                 issued_at=end.date().isoformat(), doc_type="机构编制审批文件", text="同意增设数据管理科。")
        city.look_alikes.append(("late_document", unit["unit_code"]))


def _hire(g: _Gen, unit: dict, staff: dict, kind: str, at: datetime, post: str | None) -> str:
    pk, name, sex = g.person()
    staff[pk] = {"kind": kind, "post": post, "since": at}
    fields = {"person_key": pk, "name": name, "sex": sex, "unit_code": unit["unit_code"], "quota_kind": kind,
              "body_code": f"B{g.rng.randint(1, 3)}"}
    if post:
        fields["post_level"] = post
    g.change("staff_in", at, **fields)
    return pk


def changes_jsonl(city: City) -> Iterator[dict[str, Any]]:
    yield from city.changes
