"""Chasing returns: which leads were sent a return for a month, which sent it back (on time
or late), and which are still missing.

What was sent comes from the master's hidden `Returns log` sheet or from the folder the
returns were made into (each return's identity). What came back is every return in the
returned folder (and its sub-folders), saved emails included, whose identity names the same plan
and month, whatever the file is called now (xl_plan/returns/collect.py finds them). A file's return time is its modification time (when it
was saved), the best a folder can tell; late means returned after the deadline's day.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ..directory import lookup_key
from ..errors import XlPlanError
from ..text import clean
from .collect import collect_folder
from .identity import ReturnIdentity, ReturnIdentityError, read_identity


@dataclass
class Sent:
    lead: str
    file: str
    actions: int
    created: str
    deadline: date | None
    return_id: str


@dataclass
class Returned:
    path: Path                  # the file in the returned folder (the email, for an attachment)
    name: str                   # the file, or "GT.xlsx (in email Re return.eml)"
    identity: ReturnIdentity
    saved_at: datetime
    filled: int                 # action rows with this month's update written


@dataclass
class LeadStatus:
    lead: str
    sent: Sent | None
    returned: list[Returned] = field(default_factory=list)    # newest first
    state: str = "missing"      # merged / merged-late / returned / late / missing / overdue (missing after the
    #                             deadline) / made (made, not sent while others were) / not-sent (back, never sent)
    record: object = None       # returns.log.LeadRecord: the lead's events in the master's record

    @property
    def chase(self) -> bool:
        return self.state in ("missing", "overdue")

    @property
    def latest(self) -> Returned | None:
        return self.returned[0] if self.returned else None


@dataclass
class StatusResult:
    plan_id: str
    plan_file: str
    month: str
    deadline: date | None
    leads: list[LeadStatus]
    ignored: list[tuple[Path, str]] = field(default_factory=list)     # (file, why it was not counted)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.leads:
            out[s.state] = out.get(s.state, 0) + 1
        return out

    @property
    def missing(self) -> list[LeadStatus]:
        return [s for s in self.leads if s.state in ("missing", "overdue")]


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _when(event: dict) -> datetime | None:
    try:
        t = datetime.fromisoformat(event["when"])
    except ValueError:
        return None
    return t.astimezone().replace(tzinfo=None) if t.tzinfo else t


def _master_log(path: Path, plan_id: str) -> list[dict[str, str]]:
    """The record in the master the returns were made from, when it is still there and is that plan."""
    from ..io.workbook import load
    from ..settings import settings_sheet_values
    from .log import read_returns_log

    try:
        wb = load(path)
    except (XlPlanError, OSError):
        return []
    if (settings_sheet_values(wb).get("plan_id") or "").upper() != plan_id.upper():
        return []
    return read_returns_log(wb)


def sent_returns(folder: Path) -> tuple[list[tuple[Path, ReturnIdentity]], list[tuple[Path, str]]]:
    """Identities of the returns `returns make` wrote into `folder` (not its sub-folders)."""
    from .collect import WORKBOOK_SUFFIXES, candidate_files

    found, ignored = [], []
    for p in candidate_files(folder, recursive=False):
        if p.suffix.lower() not in WORKBOOK_SUFFIXES:
            continue
        try:
            found.append((p, read_identity(p)))
        except ReturnIdentityError as exc:
            ignored.append((p, str(exc)))
        except XlPlanError as exc:
            ignored.append((p, str(exc)))
    return found, ignored


def choose_month(months: list[str], month: str | None, where: str) -> str:
    if month:
        return month
    if not months:
        raise XlPlanError(f"No returns made by xl-plan were found in {where}. Make them with: xl-plan returns make.")
    return max(months)


def _filled(path: Path, ident: ReturnIdentity) -> int:
    from ..io.workbook import load

    wb = load(path)
    if ident.return_sheet not in wb.sheetnames:
        return 0
    ws = wb[ident.return_sheet]
    return sum(1 for row in ident.rows if clean(ws[f"{ident.update_column}{row.return_row}"].value))


def returns_status(source, *, returned=None, month: str | None = None, today: date, progress=None) -> StatusResult:
    """Per lead: sent, returned (on time or late), missing. `source` is the folder the returns were
    made into or the master workbook (its Returns log)."""
    from ..io.workbook import load
    from ..months import parse_month
    from .log import made_rows, month_record, read_returns_log

    source = Path(source)
    month = parse_month(month) if month else None
    ignored: list[tuple[Path, str]] = []
    sent: dict[str, Sent] = {}
    log: list[dict[str, str]] = []
    if source.is_dir():
        idents, ignored = sent_returns(source)
        month = choose_month([i.month for _, i in idents], month, str(source))
        chosen = sorted([(p, i) for p, i in idents if i.month == month], key=lambda x: x[1].created)
        if not chosen:
            raise XlPlanError(f"No returns for {month} were found in {source}.")
        plan_id, plan_file = chosen[-1][1].plan_id, chosen[-1][1].plan_file
        for p, i in chosen:
            if i.plan_id != plan_id:
                ignored.append((p, f"a return for another plan ({i.plan_file})"))
                continue
            sent[lookup_key(i.lead)] = Sent(i.lead, p.name, len(i.rows), i.created, _date(i.deadline), i.return_id)
        log = _master_log(Path(chosen[-1][1].plan_path), plan_id)
    else:
        wb = load(source)
        log = read_returns_log(wb)
        made = made_rows(log)
        month = choose_month([r["month"] for r in made], month, f"the 'Returns log' of {source.name}")
        rows = sorted([r for r in made if r["month"] == month], key=lambda r: r["created"])
        if not rows:
            raise XlPlanError(f"{source.name}: its 'Returns log' records no returns for {month}.")
        plan_id, plan_file = rows[-1]["plan_id"], source.name
        for r in rows:
            actions = int(r["actions"]) if r["actions"].isdigit() else 0
            sent[lookup_key(r["lead"])] = Sent(r["lead"], r["file"], actions, r["created"], _date(r["deadline"]), r["return_id"])
    record = month_record(log, month)
    deadlines = [s.deadline for s in sent.values() if s.deadline]
    deadline = max(deadlines) if deadlines else None

    statuses = {k: LeadStatus(s.lead, s) for k, s in sent.items()}
    if returned is not None:
        returned = Path(returned)
        if not returned.is_dir():
            raise XlPlanError(f"{returned} is not a folder. Give the folder where you keep the returned files.")
        sent_folders = {Path(r["folder"]).resolve() for r in log if r["month"] == month and r.get("folder")} \
            if not source.is_dir() else {source.resolve()}
        if returned.resolve() in sent_folders:
            raise XlPlanError(
                f"{returned} is the folder the returns were made into, so every return would look sent back. "
                "Save the returns that come back by email into a folder of their own and give that folder."
            )
        with tempfile.TemporaryDirectory(prefix="xl_plan-status-") as tmp:
            collected = collect_folder(returned, Path(tmp))
            ignored += [(Path(name), why) for name, why in collected.unreadable + collected.skipped]
            for src in collected.sources:
                if progress:
                    progress(f"Reading {src.name}")
                try:
                    ident = read_identity(src.path)
                except XlPlanError as exc:
                    ignored.append((Path(src.name), str(exc)))
                    continue
                if ident.plan_id != plan_id:
                    ignored.append((Path(src.name), f"a return for another plan ({ident.plan_file})"))
                    continue
                if ident.month != month:
                    ignored.append((Path(src.name), f"a return for {ident.month}, not {month}"))
                    continue
                st = statuses.setdefault(lookup_key(ident.lead), LeadStatus(ident.lead, None, state="not-sent"))
                st.returned.append(Returned(src.origin or src.path, src.name, ident, src.when, _filled(src.path, ident)))
    any_sent = any(rec.sent for rec in record.values())
    for key, rec in record.items():
        if key not in statuses and (rec.returned or rec.merged):
            statuses[key] = LeadStatus(rec.lead, None, state="not-sent")
    for key, st in statuses.items():
        rec = record.get(key)
        st.record = rec
        st.returned.sort(key=lambda x: x.saved_at, reverse=True)
        dl = st.sent.deadline if st.sent and st.sent.deadline else deadline
        backs = [x.saved_at for x in st.returned] + [t for t in (_when(e) for e in (rec.returned if rec else [])) if t]
        if backs:
            first_back = min(backs)
            st.state = "late" if dl and first_back.date() > dl else "returned"
        elif st.sent is not None:
            if any_sent and not (rec and rec.delivered):
                st.state = "made"              # made, not sent (yet): others were sent theirs
            else:
                st.state = "overdue" if dl and today > dl else "missing"
        if rec and rec.merged:
            st.state = "merged-late" if st.state == "late" else "merged"
    order = {"overdue": 0, "missing": 1, "made": 2, "late": 3, "returned": 4, "merged-late": 5, "merged": 6,
             "not-sent": 7}
    leads = sorted(statuses.values(), key=lambda s: (order.get(s.state, 9), s.lead.casefold()))
    return StatusResult(plan_id, plan_file, month, deadline, leads, ignored)
