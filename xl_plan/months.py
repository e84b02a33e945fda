"""Months as xl_plan writes them: a return's month is ``YYYY-MM`` text ("2026-11"), shown to
people as "November 2026"; a deadline is shown as "Friday 4 December 2026" (English names,
whatever the machine's locale), or "as soon as you can" when there is none."""
from __future__ import annotations

import re
from datetime import date

from .errors import XlPlanError

NO_DEADLINE = "as soon as you can"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTH = re.compile(r"\s*(\d{4})-(\d{1,2})\s*")


def parse_month(text: str) -> str:
    """'2026-11' or ' 2026-1 ' -> '2026-11' / '2026-01'; anything else is an XlPlanError."""
    m = _MONTH.fullmatch(str(text or ""))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise XlPlanError(f"The month {text!r} is not in the form YYYY-MM (for example 2026-11). Give it again.")
    return f"{m.group(1)}-{int(m.group(2)):02d}"


def month_name(month: str) -> str:
    """'2026-11' -> 'November 2026'."""
    year, mon = parse_month(month).split("-")
    return f"{MONTHS[int(mon) - 1]} {year}"


def month_of(day: date) -> str:
    """The month a date (or datetime) falls in, as YYYY-MM: date(2026, 11, 3) -> '2026-11'."""
    return day.strftime("%Y-%m")


def deadline_words(deadline: date | None) -> str:
    """date(2026, 12, 4) -> 'Friday 4 December 2026'; None -> 'as soon as you can'."""
    if deadline is None:
        return NO_DEADLINE
    return f"{DAYS[deadline.weekday()]} {deadline.day} {MONTHS[deadline.month - 1]} {deadline.year}"
