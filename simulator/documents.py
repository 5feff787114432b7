"""Documents of a staffing office made up for tests and benchmarks: a 三定規定's text, and scans of it (rendered with a
CJK font, tilted, speckled, blurred) as an old archive holds them."""
from __future__ import annotations

import io
import random
from typing import Optional

from simulator.org import BASES, CLAUSE, BOILERPLATE

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"  # fonts-wqy-zenhei (infra/local/setup.sh)
BODIES = ("办公室", "政策法规科", "审批服务科", "综合规划科", "监督检查科", "人事科")
CN = "〇一二三四五六七八九"


def cn_number(n: int) -> str:
    """1..99 in Chinese numerals as documents write them (十二, 二十一)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else CN[tens]) + "十" if tens else "") + (CN[ones] if ones or not tens else "")


def sanding_text(city: str = "潍坊市", unit: Optional[str] = None, year: int = 2019, seq: int = 12,
                 seed: int = 1, clauses: int = 8) -> str:
    """A 三定規定 in the article layout (第N條), simplified script, with its 文號, date and effective date."""
    rng = random.Random(seed)
    base = BASES[seed % len(BASES)]
    unit = unit or city + base[0]
    topics = base[5]
    duties = [CLAUSE[i % len(CLAUSE)].format(t=topics[(i + seed) % len(topics)]) for i in range(clauses - 1)]
    duties.append(BOILERPLATE)
    bodies = BODIES[: rng.randint(3, len(BODIES))]
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    lines = [f"{city[:1]}编〔{year}〕{seq}号", f"{unit}职能配置、内设机构和人员编制规定",
             f"第一条 根据机构改革方案，制定本规定。{unit}为正处级，列入政府工作部门。",
             f"第二条 {unit}的主要职责是："]
    lines += [f"（{cn_number(i + 1)}）{t}" for i, t in enumerate(duties)]
    lines.append(f"第三条 {unit}设下列内设机构：")
    lines += [f"（{cn_number(i + 1)}）{b}。负责机关日常运转和相关业务工作。" for i, b in enumerate(bodies)]
    lines.append(f"第四条 {unit}机关行政编制{rng.randint(20, 140)}名。设局长1名，副局长{rng.randint(2, 4)}名；"
                 f"正科级领导职数{len(bodies)}名。")
    lines.append(f"第五条 本规定自{year}年{m}月{d}日起施行。")
    lines.append(f"中共{city}委机构编制委员会")
    lines.append(f"{year}年{m}月{max(1, d - 1)}日")
    return "\n".join(lines)


def wrap(text: str, width: int) -> list[str]:
    out = []
    for line in text.splitlines():
        out += [line[i:i + width] for i in range(0, max(len(line), 1), width)]
    return out


def render_scan(text: str, seed: int = 0, tilt: float = 1.2, speckle: float = 0.004, blur: float = 0.6,
                width: int = 1240, font_px: int = 30, fmt: str = "PNG") -> bytes:
    """One page image (A4 at 150 dpi) of the text, as a scanner would give it back."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = random.Random(seed)
    font = ImageFont.truetype(FONT, font_px)
    per_line = (width - 160) // font_px
    lines = wrap(text, per_line)
    height = max(int(width * 1.414), 140 + len(lines) * int(font_px * 1.6))
    im = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(im)
    for i, line in enumerate(lines):
        draw.text((80, 80 + i * int(font_px * 1.6)), line, fill=0, font=font)
    im = im.rotate(rng.uniform(-tilt, tilt), resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False)
    px = im.load()
    for _ in range(int(width * height * speckle)):
        px[rng.randrange(width), rng.randrange(height)] = rng.choice((0, 90, 160))
    if blur:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()
