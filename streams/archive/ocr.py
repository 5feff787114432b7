"""OCR of scanned pages in simplified and traditional Chinese: RapidOCR (PP-OCRv4, its models in the wheel) or Debian's
tesseract with chi_sim+chi_tra; one thread each, so that pages run side by side in as many processes as cores."""
from __future__ import annotations

import io
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache

ENGINES = ("rapidocr", "tesseract")
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])[ \t]+(?=[\u3000-\u9fff\uff00-\uffef])")


@dataclass(frozen=True)
class PageText:
    text: str
    confidence: float  # 0..1, the mean of the lines' (or words') confidences weighted by their length


@lru_cache(maxsize=1)
def _rapid():
    from rapidocr_onnxruntime import RapidOCR

    one = {f"{p}_intra_op_num_threads": 1 for p in ("det", "cls", "rec")}
    return RapidOCR(**one, **{f"{p}_inter_op_num_threads": 1 for p in ("det", "cls", "rec")})


def _rapidocr(png: bytes) -> PageText:
    result, _ = _rapid()(png)
    lines = sorted(result or [], key=lambda r: (r[0][0][1], r[0][0][0]))
    text = "\n".join(r[1] for r in lines)
    weight = sum(len(r[1]) for r in lines)
    conf = sum(float(r[2]) * len(r[1]) for r in lines) / weight if weight else 0.0
    return PageText(text, round(conf, 4))


def _tesseract(png: bytes) -> PageText:
    out = subprocess.run(["tesseract", "stdin", "stdout", "-l", "chi_sim+chi_tra", "--psm", "6", "tsv"], input=png,
                         capture_output=True, timeout=600, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"})
    if out.returncode != 0:
        raise RuntimeError(f"tesseract failed: {out.stderr.decode(errors='replace')[:300]}")
    lines: dict[tuple, list[str]] = {}
    conf_sum = weight = 0.0
    for row in out.stdout.decode("utf-8", errors="replace").splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12 or f[0] != "5" or not f[11].strip():
            continue
        lines.setdefault((int(f[2]), int(f[3]), int(f[4])), []).append(f[11])
        conf_sum += max(0.0, float(f[10])) / 100 * len(f[11])
        weight += len(f[11])
    text = "\n".join(_CJK_GAP.sub("", " ".join(ws)) for _, ws in sorted(lines.items()))
    return PageText(text, round(conf_sum / weight, 4) if weight else 0.0)


def recognize_image(image: bytes, engine: str = "rapidocr") -> PageText:
    """The text of one page image (any format Pillow reads), lines top to bottom."""
    from PIL import Image

    with Image.open(io.BytesIO(image)) as im:
        buf = io.BytesIO()
        im.convert("L").save(buf, "PNG")
    png = buf.getvalue()
    if engine == "tesseract":
        return _tesseract(png)
    if engine == "rapidocr":
        return _rapidocr(png)
    raise ValueError(f"unknown OCR engine {engine!r}: one of {', '.join(ENGINES)}")
