"""Minimal month-year timescale reading for the overdue check (the full parser replaces it)."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_MONTH_YEAR = re.compile(r"\b([A-Za-z]{3,9})[\s\-]*(\d{4}|\d{2})\b")


@dataclass(frozen=True)
class Timescale:
    text: str
    start: date | None = None
    end: date | None = None
    milestones: list = field(default_factory=list)
    recurrence: str | None = None
    undated: bool = True
    reason: str = ""


def parse_timescale(text, today=None) -> Timescale:
    if isinstance(text, (datetime, date)):
        d = text.date() if isinstance(text, datetime) else text
        return Timescale(str(text), d, d, undated=False)
    s = str(text or "")
    found = [(int(y) if len(y) == 4 else 2000 + int(y), _MONTHS[m[:3].lower()])
             for m, y in _MONTH_YEAR.findall(s) if m[:3].lower() in _MONTHS]
    if not found:
        return Timescale(s, reason=f"'{s}' commits to no date")
    y, m = found[-1]
    return Timescale(s, date(*found[0], 1), date(y, m, calendar.monthrange(y, m)[1]), undated=False)
