"""validate(plan) -> Report: all status, timescale and reference checks."""
from __future__ import annotations

from collections import Counter
from datetime import date

from .checks.refs import check_refs
from .checks.status import check_statuses
from .checks.timescale import check_timescales
from .model import Plan
from .report import Report


def validate(plan: Plan, today: date | None = None) -> Report:
    """Check every action against the plan's own RAG key. `today` defaults to the current date
    (taken here, once, never inside the checks)."""
    today = today or date.today()
    report = Report(title="Validation")
    report.extend(check_statuses(plan))
    report.extend(check_timescales(plan, today))
    report.extend(check_refs(plan))
    counts = Counter(a.status.code if a.status else "missing" for a in plan.actions)
    report.counts_by_status = dict(sorted(counts.items()))
    return report
