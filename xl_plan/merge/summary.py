"""The month's summary as data (computed apart from the sheet that shows it, xl_plan/writers/summary.py):
RAG counts overall and by section in the plan's order, what moved this month (from History), the
overdue actions, the returns still missing and what the merge could not apply; and the printed
summary of a merge (`summary_lines`)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from .. import rag
from ..model import Action, Plan
from ..months import month_name
from ..report import Finding
from ..text import clean
from ..timescales import action_end
from ..writers.history import APPLIED, HistoryRow

NO_STATUS = "none"
OTHER = "other"


@dataclass
class Overdue:
    action: Action
    end: date
    status: str                 # the status's label in the summary ("Amber", "No status")


@dataclass
class Chase:
    lead: str
    name: str = ""
    email: str = ""


@dataclass
class Summary:
    plan: Plan
    month: str
    today: date
    codes: list[str]                                  # the columns: the key's codes, then other / none if used
    labels: dict[str, str]
    colours: dict[str, str | None]
    counts: Counter
    sections: list[tuple[str, Counter]]               # in the plan's order
    moved: Counter                                    # (old code, new code) -> actions
    overdue: list[Overdue]
    merge: object | None = None                       # the MergeResult of this run, if any
    to_decide: list[Finding] = field(default_factory=list)
    trend: list[tuple[str, Counter]] = field(default_factory=list)   # (YYYY-MM, counts at the month's end), oldest first
    chase: list[Chase] = field(default_factory=list)  # the returns still missing, with the Leads sheet's names

    @property
    def series_colours(self) -> dict[str, str]:
        """The chart's colour for every column: the key's, grey for no status, dark grey for the rest."""
        return {c: self.colours.get(c) or ("A6A6A6" if c == NO_STATUS else "7F7F7F") for c in self.codes}

    @property
    def complete(self) -> int:
        codes = {e.code for e in self.plan.rag_key.entries if e.complete}
        return sum(n for c, n in self.counts.items() if c in codes)

    @property
    def on_track(self) -> int:
        """Actions Green or complete."""
        codes = {e.code for e in self.plan.rag_key.entries if e.complete} | {"green"}
        return sum(n for c, n in self.counts.items() if c in codes)

    @property
    def on_track_share(self) -> float:
        return self.on_track / len(self.plan.actions) if self.plan.actions else 0.0

    @property
    def returns_in(self) -> tuple[int, int] | None:
        """(returned, sent) this month, None when nothing was merged."""
        if self.merge is None:
            return None
        return len(self.merge.returned), len(self.merge.sent) or len(self.merge.returned)


def status_code(word: str, plan: Plan) -> str:
    word = clean(word).split(" (cell colour")[0]
    return rag.status_from_text(word, plan.rag_key).code if word else NO_STATUS


def movement(history: list[HistoryRow], plan: Plan, month: str) -> Counter:
    """(old code, new code) -> number of actions whose status moved this month, from History."""
    moved = Counter()
    last: dict[str, tuple[str, str]] = {}
    first_old: dict[str, str] = {}
    for h in history:
        if h.month == month and h.field == "status" and h.outcome == APPLIED:
            first_old.setdefault(h.key, h.old)
            last[h.key] = (first_old[h.key], h.new)
    for old, new in last.values():
        a, b = status_code(old, plan), status_code(new, plan)
        if a != b:
            moved[(a, b)] += 1
    return moved


def trend(history: list[HistoryRow], plan: Plan, code_of) -> list[tuple[str, Counter]]:
    """The RAG counts at the end of each month History records, oldest first: each action's status now,
    with the status changes of later months undone (the old value of its first change after the month)."""
    months = sorted({h.month for h in history if h.month})
    keys = {e.code for e in plan.rag_key.entries}
    changes: dict[str, list[HistoryRow]] = {}
    for h in history:
        if h.field == "status" and h.outcome == APPLIED and h.key:
            changes.setdefault(h.key.upper(), []).append(h)
    out = []
    for m in months:
        counts = Counter()
        for a in plan.actions:
            later = sorted((h for h in changes.get((a.key or "").upper(), []) if h.month > m), key=lambda h: h.month)
            if later:
                c = status_code(later[0].old, plan)
                counts[c if c in keys or c == NO_STATUS else OTHER] += 1
            else:
                counts[code_of(a)] += 1
        out.append((m, counts))
    return out


def chase_list(missing: list[str], directory=None) -> list[Chase]:
    """The leads whose return is missing, with their full name and email from the Leads sheet
    (xl_plan/directory.py), when it lists them."""
    out = []
    for lead in missing:
        entry = directory.get(lead) if directory is not None else None
        out.append(Chase(lead, entry.full_name if entry else "", entry.email if entry else ""))
    return out


def summarise(plan: Plan, history: list[HistoryRow], month: str, today: date, merge=None,
              directory=None) -> Summary:
    key_codes = [e.code for e in plan.rag_key.entries]

    def code_of(a: Action) -> str:
        if a.status is None:
            return NO_STATUS
        return a.status.code if a.status.code in key_codes else OTHER

    counts = Counter(code_of(a) for a in plan.actions)
    codes = key_codes + [c for c in (OTHER, NO_STATUS) if counts.get(c)]
    labels = {**{e.code: e.name for e in plan.rag_key.entries}, OTHER: "Not in key", NO_STATUS: "No status"}
    colours = {e.code: e.colour for e in plan.rag_key.entries}
    by_section: dict[str, Counter] = {}
    for a in plan.actions:
        by_section.setdefault(a.section or "(no section)", Counter())[code_of(a)] += 1
    overdue = []
    for a in plan.actions:
        if a.status is not None and a.status.complete:
            continue
        end = action_end(a, today)
        if end and end < today:
            overdue.append(Overdue(a, end, labels.get(code_of(a), a.status.raw if a.status else "")))
    todo = [f for f in merge.report.sorted() if f.severity != "info"] if merge is not None else []
    return Summary(plan, month, today, codes, labels, colours, counts, list(by_section.items()),
                   movement(history, plan, month), overdue, merge, todo, trend(history, plan, code_of),
                   chase_list(merge.missing, directory) if merge is not None else [])


def summary_lines(r) -> list[str]:
    """The printed summary of a merge (MergeResult): returned and missing leads (the chase list),
    actions updated, status changes, conflicts, rejected edits and everything else to decide."""
    import textwrap

    before = getattr(r, "merged_before", [])
    earlier = f" (and {len(before)} in an earlier run: {', '.join(before)})" if before else ""
    out = [f"Returns for {month_name(r.month)}: {len(r.returned)} merged{earlier}"
           + (f" of {len(r.sent)} sent" if r.sent else "") + "."]
    if r.missing:
        out.append(f"Missing ({len(r.missing)}), to chase: {', '.join(r.missing)}")
    updates = sum(1 for c in r.changes if c.field == "update")
    out.append(f"Actions updated: {r.actions_updated} ({updates} update(s), {len(r.status_changes)} status change(s)).")
    by_key = {a.key: a for a in r.plan.actions if a.key}
    for c in r.status_changes:
        a = by_key.get(c.key)
        name = a.label() if a else (c.ref or f"row {c.row}")
        out.append(f"  {name}: {c.old or 'no status'} to {c.new}  ({' / '.join(c.leads)})")
    out.append(f"Conflicts: {len(r.conflicts)}. Rejected edits (proposed changes for you): {len(r.rejected_edits)}.")
    todo = [f for f in r.report.sorted() if f.severity != "info"]
    if todo:
        out.append("For you to decide (not applied; every value is kept in the History sheet):")
        for f in todo:
            out.extend(textwrap.wrap(f"{f.code}: {f.message}", 100, initial_indent="  - ", subsequent_indent="    "))
    for name, why in getattr(r, "skipped", []) or []:
        out.append(f"  skipped {name}: {why}")
    return out
