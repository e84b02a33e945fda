"""Timescale findings: past its timescale but still on track, or no timescale at all."""
from __future__ import annotations

from datetime import date

from ..model import AMBER, GREEN, Plan
from ..report import Finding
from ..timescales import action_end


def check_timescales(plan: Plan, today: date) -> list[Finding]:
    out: list[Finding] = []
    col = plan.column("timescale") or plan.column("end")
    letter = col.letter if col else None
    unsaved = {k for k, v in plan.formulas.items() if v is None}    # reported once by check_formulas
    for a in plan.actions:
        if not a.timescale_text.strip():
            if col and (a.row, col.index) not in unsaved:
                out.append(Finding(
                    "missing-timescale",
                    f"Action {a.ref or 'in row ' + str(a.row)} ('{a.short_text(50)}') has no timescale. Add the date it will be done by.",
                    a.sheet, a.row, letter,
                ))
            continue
        if a.status is None or a.status.code not in (GREEN, AMBER):
            continue
        end = action_end(a, today)
        if end and end < today:
            out.append(Finding(
                "overdue-on-track",
                f"Action {a.ref or 'in row ' + str(a.row)} ('{a.short_text(50)}') was due by {end:%d %B %Y} "
                f"(timescale '{a.timescale_text}') but is still {a.status.code.capitalize()}. Update its status, "
                "or agree a new timescale and mark it carried forward.",
                a.sheet, a.row, letter, a.timescale_text,
            ))
    return out
