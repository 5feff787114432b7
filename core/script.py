"""Simplified and traditional Chinese: OpenCC's tables, so that input and search meet in one script."""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


@functools.lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    return _converter("t2s").convert(text) if text else text


def to_traditional(text: str) -> str:
    return _converter("s2t").convert(text) if text else text
