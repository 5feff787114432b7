"""Chinese word segmentation: jieba, set up once per process (quiet, its dictionary loaded on first use)."""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def segmenter() -> Any:
    """The jieba module, initialised: imported here only, so that processes that never segment never load it."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba
