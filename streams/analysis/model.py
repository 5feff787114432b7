"""What decision support reads: applications (a case's first `submitted`), with who applied and how it ended."""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Optional, Sequence

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Application:
    case_id: str
    applicant: Optional[str]  # applicant_key on the case's first `submitted`; None: it cannot join a chain
    t: datetime
    item: str
    region: str
    department: str
    level: str
    accepted_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None  # the case's first `completed`


def by_applicant(apps: Iterable[Application]) -> dict[str, list[Application]]:
    """Each applicant's applications in time order (ties by case id)."""
    out: dict[str, list[Application]] = defaultdict(list)
    for a in apps:
        if a.applicant:
            out[a.applicant].append(a)
    for seq in out.values():
        seq.sort(key=lambda a: (a.t, a.case_id))
    return dict(out)


def days(a: Optional[datetime], b: Optional[datetime]) -> Optional[float]:
    return None if a is None or b is None else (b - a) / DAY


def median(values: Sequence[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None
