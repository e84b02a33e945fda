"""The Gantt chart of a plan, as plain data: one item per action with the dates its bar runs
between, its milestones, recurrences and flags. No I/O here; `writers/gantt.py` draws it.

Rules (what the sheet shows, and why):

* A bar runs from the action's start to its end, as the timescale text commits to them
  (`xl_plan.timescales.parse_timescale`). A plan with Start / End columns is read from those.
* Only an end date ("By March 2024", "Quarterly (review March 2016)"): the bar starts at the
  action's own earliest milestone before the end if it has one, otherwise at the plan start,
  and the end month gets an end marker. `start_derived` says the start was not written.
* Only a start date ("From July 2014", "Oct 2014 Quarterly"): the bar runs on to the plan end
  with a "continues" marker there. `end_derived` says the end was not written.
* Recurrences are marked in every period they recur (every 3 months for quarterly...),
  counted from the action's start (or back from its end), within the action's span.
  A monthly or weekly action with no date recurs in every month of the plan, so it is marked
  there; a quarterly or annual one with no date names no months and is not guessed.
* Undated actions (the timescale commits to no date) are listed apart with the parser's reason.
* Overdue: the written end is before `today` and the status is not a complete one.
* Starred (carried forward): the same star rules as `xl-plan carried` (xl_plan/stars.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import groupby

from dateutil.relativedelta import relativedelta

from .model import Action, Plan, RagKey
from .stars import is_starred
from .timescales import Timescale, action_timescale

# Months between two recurrences.
RECURRENCE_MONTHS = {"weekly": 1, "monthly": 1, "bimonthly": 2, "quarterly": 3, "six-monthly": 6, "annual": 12}

NO_SECTION = "Actions"


@dataclass
class GanttItem:
    action: Action
    timescale: Timescale
    start: date | None              # where the bar starts (written or derived)
    end: date | None                # where the bar ends (written or derived)
    start_derived: bool = False     # no start written: the bar starts at a milestone or the plan start
    end_derived: bool = False       # no end written: the bar runs on to the plan end
    milestones: list[tuple[date, str]] = field(default_factory=list)
    recurrence: str | None = None
    recurs: list[date] = field(default_factory=list)   # first day of every month it recurs in
    undated: bool = False
    reason: str = ""
    overdue: bool = False
    starred: bool = False
    complete: bool = False

    @property
    def status_code(self) -> str | None:
        return self.action.status.code if self.action.status else None

    @property
    def flags(self) -> list[str]:
        """Short words for the Flags column, most important first."""
        out = []
        if self.overdue:
            out.append("OVERDUE")
        if self.starred:
            out.append("★ carried forward")
        if self.start_derived:
            out.append("no start date")
        if self.end_derived:
            out.append("no end date")
        return out


@dataclass
class GanttGroup:
    title: str
    items: list[GanttItem]


@dataclass
class Gantt:
    plan: Plan
    today: date
    start: date | None              # the plan's first date (first start, milestone or end)
    end: date | None                # the plan's last date
    months: list[date]              # first day of every month column, padded a month each side
    groups: list[GanttGroup]        # dated actions, by section, in plan order
    undated: list[GanttItem]        # actions whose timescale gives no date

    @property
    def rag_key(self) -> RagKey:
        return self.plan.rag_key

    @property
    def items(self) -> list[GanttItem]:
        return [i for g in self.groups for i in g.items] + self.undated

    @property
    def overdue(self) -> list[GanttItem]:
        return [i for i in self.items if i.overdue]


def month_start(d: date) -> date:
    return d.replace(day=1)


def _recurrences(every: int, first: date, last: date, anchor: date, backwards: bool) -> list[date]:
    """First days of the months from `anchor` every `every` months, within first..last (month starts)."""
    out = []
    d = anchor
    step = relativedelta(months=-every if backwards else every)
    while first <= d <= last:
        out.append(d)
        d = d + step
    return sorted(out)


def build_gantt(plan: Plan, today: date) -> Gantt:
    """The Gantt chart of `plan` as of `today` (used for overdue flags only)."""
    items: list[GanttItem] = []
    for a in plan.actions:
        ts = action_timescale(a, today)
        status = a.status
        complete = bool(status and status.complete)
        item = GanttItem(
            action=a, timescale=ts, start=ts.start, end=ts.end, milestones=list(ts.milestones),
            recurrence=ts.recurrence, undated=ts.undated or (ts.start is None and ts.end is None),
            reason=ts.reason, starred=is_starred(a), complete=complete,
        )
        if item.undated and not item.reason:
            item.reason = f"'{ts.text}' gives no date" if ts.text.strip() else "The timescale is blank"
        item.overdue = bool(ts.end and ts.end < today and not complete)
        items.append(item)

    dated = [i for i in items if not i.undated]
    dates = [d for i in dated for d in (i.start, i.end) if d] + [d for i in dated for d, _ in i.milestones]
    plan_start, plan_end = (min(dates), max(dates)) if dates else (None, None)

    for i in dated:
        if i.start is None:
            before = [d for d, _ in i.milestones if d < i.end]
            i.start = month_start(min(before)) if before else plan_start
            i.start_derived = True
        if i.end is None:
            i.end = plan_end
            i.end_derived = True
        every = RECURRENCE_MONTHS.get(i.recurrence or "")
        if every:
            first, last = month_start(i.start), month_start(i.end)
            if i.start_derived and not i.end_derived:
                i.recurs = _recurrences(every, first, last, last, backwards=True)
            else:
                i.recurs = _recurrences(every, first, last, first, backwards=False)

    months: list[date] = []
    if plan_start:
        m, last = month_start(plan_start) - relativedelta(months=1), month_start(plan_end) + relativedelta(months=1)
        while m <= last:
            months.append(m)
            m += relativedelta(months=1)
        for i in items:
            if i.undated and RECURRENCE_MONTHS.get(i.recurrence or "") == 1:
                i.recurs = months[1:-1]   # every month of the plan: no month is guessed

    groups = [GanttGroup(title or NO_SECTION, list(group))
              for title, group in groupby(dated, key=lambda i: i.action.section)]
    return Gantt(plan=plan, today=today, start=plan_start, end=plan_end, months=months,
                 groups=groups, undated=[i for i in items if i.undated])
