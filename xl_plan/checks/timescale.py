"""Timescale findings: past its timescale but still on track, or no timescale at all."""
from __future__ import annotations

from datetime import date

from ..model import AMBER, GREEN, Action, Plan
from ..report import WARNING, Finding
from ..timescales import parse_timescale


def action_end(a: Action, today: date | None = None) -> date | None:
    """The last date an action's timescale commits to (end column first, else the timescale text)."""
    raw_end = a.raw.get("end")
    if raw_end is not None:
        end = parse_timescale(raw_end, today=today).end
        if end:
            return end
    return parse_timescale(a.timescale_text, today=today).end


def check_timescales(plan: Plan, today: date) -> list[Finding]:
    out: list[Finding] = []
    col = plan.column("timescale") or plan.column("end")
    letter = col.letter if col else None
    unsaved = {k for k, v in plan.formulas.items() if v is None}    # reported once by check_formulas
    for a in plan.actions:
        if not a.timescale_text.strip():
            if col and (a.row, col.index) not in unsaved:
                out.append(Finding(
                    "missing-timescale", WARNING,
                    f"Action {a.ref or 'in row ' + str(a.row)} ('{a.short_text(50)}') has no timescale. Add the date it will be done by.",
                    a.sheet, a.row, letter,
                ))
            continue
        if a.status is None or a.status.code not in (GREEN, AMBER):
            continue
        end = action_end(a, today)
        if end and end < today:
            out.append(Finding(
                "overdue-on-track", WARNING,
                f"Action {a.ref or 'in row ' + str(a.row)} ('{a.short_text(50)}') was due by {end:%d %B %Y} "
                f"(timescale '{a.timescale_text}') but is still {a.status.code.capitalize()}. Update its status, "
                "or agree a new timescale and mark it carried forward.",
                a.sheet, a.row, letter, a.timescale_text,
            ))
    return out
