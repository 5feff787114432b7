"""Simplified and traditional Chinese: OpenCC's tables, so that input and search meet in one script."""
from __future__ import annotations

import functools
from typing import Optional


@functools.lru_cache(maxsize=None)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


@functools.lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    return _converter("t2s").convert(text) if text else text


def to_traditional(text: str) -> str:
    return _converter("s2t").convert(text) if text else text


_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2, "兩": 2}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}


def cn_number(s: str) -> Optional[int]:
    """A number as written in Arabic or Chinese numerals (138, 一百三十八, 二十五, 十五, 一〇五); None if it is neither."""
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if all(ch in _DIGITS for ch in s):  # digit by digit, as years and some counts are written (一九九八)
        return int("".join(str(_DIGITS[ch]) for ch in s))
    total, cur, wan = 0, 0, 0
    for ch in s:
        if ch in _DIGITS:
            cur = _DIGITS[ch]
        elif ch in _UNITS:
            total += (cur or 1) * _UNITS[ch]
            cur = 0
        elif ch in "万萬":
            wan, total, cur = (total + cur) * 10000, 0, 0
        else:
            return None
    return wan + total + cur


def decode_text(data: bytes) -> Optional[str]:
    """Text as Chinese offices write it: UTF-8 (with or without a BOM) or GB18030; None if it is neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
