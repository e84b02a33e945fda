"""The jobs behind both doors: each CLI command and each ribbon button calls one of these.
They read a plan, run the checks, and write results through the safe save path."""
from __future__ import annotations

import functools
import gc
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .errors import XlPlanError
from .io.save import DEFAULT_POLICY, SavePolicy, SaveResult
from .model import Plan
from .plan_file import edit_plan, open_plan
from .report import Report


def _without_gc_pauses(job):
    """Run a job with Python's cyclic garbage collector paused. A loaded 5,000-action plan is some
    hundred thousand objects, and every full collection during the job walks them all again (0.2 to
    0.3 s a job); nothing a job makes needs collecting before it ends. Collection resumes afterwards,
    whether the job succeeded or not."""
    @functools.wraps(job)
    def run(*args, **kwargs):
        if not gc.isenabled():
            return job(*args, **kwargs)
        gc.disable()
        try:
            return job(*args, **kwargs)
        finally:
            gc.enable()
    return run


__all__ = ["open_plan", "validate_file", "unmark_file", "carried_file", "leads_file", "make_returns_file",
           "returns_status_file", "send_returns", "gantt_file", "merge_returns", "consolidate",
           "board_report"]


@dataclass
class ValidateResult:
    plan: Plan
    report: Report
    saved: SaveResult | None = None
    sheet: str | None = None


@_without_gc_pauses
def validate_file(path, *, sheet=None, columns=None, today: date | None = None, write: bool = False,
                  policy: SavePolicy = DEFAULT_POLICY) -> ValidateResult:
    from .validate import validate
    from .writers.validation import write_validation

    today = today or date.today()
    if not write:
        _, plan, _ = open_plan(path, sheet, columns)
        return ValidateResult(plan, validate(plan, today))
    edit = edit_plan(path, sheet=sheet, columns=columns, policy=policy)
    result = ValidateResult(edit.plan, validate(edit.plan, today))
    result.sheet = write_validation(edit.wb, edit.plan, result.report, today, records=True)   # saved below
    result.saved = edit.save()
    return result


@_without_gc_pauses
def unmark_file(path, *, sheet=None, columns=None,
                policy: SavePolicy = DEFAULT_POLICY) -> tuple[int, SaveResult | None]:
    """Remove xl_plan's cell comments and the sheets `unmark` takes away (Validation, Carried forward)."""
    from .owned import REGISTRY, find_owned
    from .sheets import remove_marks

    edit = edit_plan(path, sheet=sheet, columns=columns, policy=policy)
    removed = remove_marks(edit.wb[edit.plan.sheet])
    for kind in REGISTRY:
        ws = find_owned(edit.wb, kind) if kind.unmark else None
        if ws is not None:
            edit.wb.remove(ws)
            removed += 1
    if not removed:
        return 0, None
    return removed, edit.save()


# ---------------------------------------------------------------- carried forward

@dataclass
class CarriedResult:
    plan: Plan
    result: "CarriedForward"  # noqa: F821 (xl_plan.carried.CarriedForward)
    previous: Plan | None = None
    saved: SaveResult | None = None
    sheet: str | None = None
    validation_sheet: str | None = None


@_without_gc_pauses
def carried_file(path, *, previous=None, sheet=None, columns=None, today: date | None = None,
                 threshold: float | None = None, write: bool = False,
                 policy: SavePolicy = DEFAULT_POLICY) -> CarriedResult:
    """Flag the starred actions of the plan at `path` and, with `previous` (the previous plan's path),
    check them against it. With `write`: mark starred cells, add the Carried forward sheet and the
    findings to the Validation sheet (backup first, atomic save)."""
    from .carried import DEFAULT_THRESHOLD, carried_forward
    from .layout.detect import read_plan
    from .validate import validate
    from .writers.carried import write_carried

    edit = edit_plan(path, sheet=sheet, columns=columns, policy=policy) if write else None
    plan = edit.plan if edit else open_plan(path, sheet, columns)[1]
    old = None
    if previous is not None:
        try:
            old = read_plan(previous)
        except XlPlanError as exc:
            raise type(exc)(f"The previous plan (--previous): {exc}") from None
    today = today or date.today()
    result = carried_forward(plan, old, today=today, threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
    out = CarriedResult(plan, result, old)
    if edit:
        out.sheet, out.validation_sheet = write_carried(edit.wb, plan, result, validate(plan, today), today,
                                                              records=True)
        out.saved = edit.save()
    return out


# ---------------------------------------------------------------- returns (leads directory, make, status, send)

@dataclass
class LeadRow:
    lead: str
    actions: int
    entry: object | None          # directory.LeadEntry, None when the Leads sheet does not list the lead
    problem: str                  # "" / "no entry" / "no email" / "bad email"


@dataclass
class LeadsResult:
    plan: Plan
    rows: list[LeadRow]
    findings: list                # directory findings (bad emails, doubled rows), by row
    added: list[str]
    saved: SaveResult | None = None


@_without_gc_pauses
def leads_file(path, *, sheet=None, columns=None, write: bool = False,
               policy: SavePolicy = DEFAULT_POLICY) -> LeadsResult:
    """Every lead named in the plan, with its entry in the master's Leads sheet; with `write`,
    add the leads the sheet does not list (backup + atomic save)."""
    from .directory import read_directory
    from .returns.make import leads_of
    from .writers.leads import add_missing_leads

    edit = edit_plan(path, sheet=sheet, columns=columns, policy=policy) if write else None
    wb, plan = (edit.wb, edit.plan) if edit else open_plan(path, sheet, columns)[:2]
    by_lead = leads_of(plan)
    directory = read_directory(wb)
    bad = {f.row for f in directory.findings if f.code == "leads-bad-email"}
    rows = []
    for lead, actions in by_lead.items():
        entry = directory.get(lead)
        problem = "no entry" if entry is None else ("bad email" if entry.row in bad else ("no email" if not entry.email else ""))
        rows.append(LeadRow(lead, len(actions), entry, problem))
    result = LeadsResult(plan, rows, directory.findings, [])
    if edit:
        had_sheet = "Leads" in wb.sheetnames
        result.added = add_missing_leads(wb, [r.lead for r in rows if r.entry is None])
        if result.added or not had_sheet:
            result.saved = edit.save()
    return result


@_without_gc_pauses
def make_returns_file(path, month: str, out_dir, *, deadline: date | None = None, sheet=None, columns=None,
                      leads: list[str] | None = None, now=None, master_path=None, policy: SavePolicy = DEFAULT_POLICY,
                      progress=None):
    """`returns make`: one return workbook per lead (see xl_plan/returns/make.py)."""
    from .returns.make import make_returns

    return make_returns(path, month, out_dir, deadline=deadline, sheet=sheet, columns=columns, leads=leads, now=now,
                        master_path=master_path, policy=policy, progress=progress)


def returns_status_file(source, *, returned=None, month: str | None = None, today: date | None = None,
                        progress=None):
    """`returns status`: per lead made / sent / returned / late / merged / missing."""
    from .returns.status import returns_status

    return returns_status(source, returned=returned, month=month, today=today or date.today(), progress=progress)


def send_returns(folder, *, drafts=None, smtp: bool = False, dry_run: bool = False, retry_failed: bool = False,
                 resend: bool = False, template=None, reminders: bool = False, master=None, returned=None,
                 month: str | None = None, sender: str | None = None, smtp_host=None, smtp_port=None, smtp_user=None,
                 starttls=None, today: date | None = None, now=None, policy: SavePolicy = DEFAULT_POLICY,
                 progress=None):
    """`returns send`: (SendPlan, mail.SendResult). Drafts (.eml) into `drafts`, or SMTP with `smtp`.

    Send once: a lead the master's record (its Returns log) says was sent this month's return (with
    `reminders`: this month's reminder) is left out unless `resend`; `retry_failed` sends only to the
    leads whose last try failed. Every try (not a dry run) is written into the master's record as a
    `sent` (or `reminded`) event, in one save."""
    from datetime import datetime

    from .errors import XlPlanError
    from .returns import mail
    from .returns.log import add_events
    from .returns.send import SEND_LOG, choose_once, plan_sending, smtp_settings

    if bool(drafts) == bool(smtp):
        raise XlPlanError("Say how to send: --drafts FOLDER to write emails to open and send yourself, "
                          "or --smtp to send them through the mail server.")
    plan = plan_sending(folder, master=master, month=month, reminders=reminders, returned=returned,
                        today=today or date.today())
    sender = sender or plan.smtp.get("from_address")
    if not sender:
        raise XlPlanError("Whose name should the emails come from? Give --from \"Improvement Team <team@council.gov.uk>\", "
                          "or add a row 'from_address' to the hidden 'xl_plan' sheet of the master workbook.")
    from_record = choose_once(plan, resend=resend, retry_failed=retry_failed and bool(smtp),
                              event="reminded" if reminders else "sent")
    tick = (lambda lead, status: progress(f"{lead}: {status}")) if progress else None
    # the master is opened for writing before anything is sent: refused while Excel has it open
    edit = None if dry_run else edit_plan(plan.master, policy=policy)
    try:
        if drafts:
            result = mail.write_drafts(plan.outgoing, Path(drafts), sender, template=template, reminder=reminders,
                                       progress=tick)
        else:
            settings = smtp_settings(plan.smtp, host=smtp_host, port=smtp_port, starttls=starttls, user=smtp_user)
            log = Path(folder) / SEND_LOG
            only_failed = log if retry_failed and not from_record else None
            result = mail.send_smtp(plan.outgoing, settings, sender, template=template, reminder=reminders,
                                    dry_run=dry_run, log_path=log, only_failed_from=only_failed, progress=tick)
    except mail.MailError as exc:
        raise XlPlanError(str(exc)) from exc
    result.skipped += plan.retry_skipped
    if edit is not None and result.attempts:
        stamp = (now or datetime.now()).astimezone().isoformat(timespec="seconds")
        add_events(edit.wb, [dict(
            a, month=plan.month, event="reminded" if reminders else "sent", when=stamp, created=stamp,
            how="drafts" if drafts else "smtp", return_id=plan.return_ids.get(a["lead"], ""), plan_id=plan.plan_id,
        ) for a in result.attempts], records=True)      # saved through io/save.py below
        plan.saved = edit.save()
    return plan, result


# ---- gantt

@dataclass
class GanttResult:
    plan: Plan
    gantt: "Gantt"  # noqa: F821 (xl_plan.gantt.Gantt)
    saved: SaveResult
    sheet: str


@_without_gc_pauses
def gantt_file(path, *, sheet=None, columns=None, today: date | None = None,
               policy: SavePolicy = DEFAULT_POLICY) -> GanttResult:
    """Write (or replace) the Gantt sheet in the workbook at `path`; backup first, atomic save."""
    from .gantt import build_gantt
    from .writers.gantt import write_gantt

    edit = edit_plan(path, sheet=sheet, columns=columns, policy=policy)
    gantt = build_gantt(edit.plan, today or date.today())
    name = write_gantt(edit.wb, gantt, records=True)     # saved through io/save.py below
    return GanttResult(edit.plan, gantt, edit.save(), name)


# ---- merge (merge returns into the master; monthly consolidation)

def _read_sources(sources, progress):
    from .errors import XlPlanError
    from .merge.read import read_return

    out = []
    for src in sources:
        if progress:
            progress(f"Reading {src.name}")
        try:
            out.append(read_return(src.path, name=src.name, saved_at=src.saved_at))
        except XlPlanError as exc:
            out.append((src.name, "", str(exc)))
    return out


@_without_gc_pauses
def merge_returns(master, returns, month: str | None = None, today: date | None = None, *, now=None,
                  sheet=None, columns=None, progress=None, policy: SavePolicy = DEFAULT_POLICY):
    """`merge`: apply the returns (workbooks, or saved emails carrying them) to the master's update and
    status cells, append to its History sheet and save it once (backup + atomic save). Returns a
    merge.apply.MergeResult; nothing is saved when nothing changed (merging twice changes nothing)."""
    import tempfile
    from datetime import datetime

    from .merge.apply import merge_into
    from .returns.collect import collect_files

    edit = edit_plan(master, sheet=sheet, columns=columns, policy=policy)
    with tempfile.TemporaryDirectory(prefix="xl_plan-merge-") as tmp:
        collected = collect_files([Path(p) for p in returns], Path(tmp))
        read = _read_sources(collected.sources, progress) + collected.unreadable
        result = merge_into(edit.wb, edit.plan, read, month=month, now=now or datetime.now(), progress=progress,
                            records=True)       # saved through io/save.py below
    result.skipped = collected.skipped
    if result.changed:
        result.saved = edit.save()
    return result


@dataclass
class ConsolidateResult:
    merge: object                 # merge.apply.MergeResult
    plan: Plan                    # the plan as it is after the merge
    validation: Report
    summary_sheet: str
    validation_sheet: str
    gantt_sheet: str | None
    skipped: list                 # (file, why): files in the folder that are not returns
    saved: SaveResult | None = None


def refresh_gantt(wb, plan: Plan, today: date) -> str | None:
    """Rewrite xl_plan's Gantt sheet when the workbook has one."""
    from .gantt import build_gantt
    from .owned import GANTT, find_owned
    from .writers.gantt import write_gantt

    if find_owned(wb, GANTT) is None:
        return None
    return write_gantt(wb, build_gantt(plan, today), records=True)     # the caller saves through io/save.py


@_without_gc_pauses
def consolidate(master, returns_dir, month: str | None = None, today: date | None = None, *, now=None,
                sheet=None, columns=None, progress=None, policy: SavePolicy = DEFAULT_POLICY) -> ConsolidateResult:
    """`consolidate`: the monthly run. Merge every return in `returns_dir` (workbooks, and the Excel
    attachments of saved .eml/.msg emails), then rewrite the Summary, Validation and (when present)
    Gantt sheets, all in ONE save of the master (backup + atomic save)."""
    import tempfile
    from datetime import datetime

    from .directory import read_directory
    from .errors import XlPlanError
    from .layout.detect import reread_actions
    from .merge.apply import merge_into
    from .merge.summary import summarise
    from .returns.collect import collect_folder
    from .validate import validate
    from .writers.history import read_history
    from .writers.summary import write_summary
    from .writers.validation import write_validation

    master, returns_dir = Path(master), Path(returns_dir)
    if not returns_dir.is_dir():
        raise XlPlanError(f"{returns_dir} is not a folder. Give the folder where you saved the returns (and the "
                          "emails they came in).")
    today = today or date.today()
    edit = edit_plan(master, sheet=sheet, columns=columns, policy=policy)
    wb, plan = edit.wb, edit.plan
    with tempfile.TemporaryDirectory(prefix="xl_plan-consolidate-") as tmp:
        collected = collect_folder(returns_dir, Path(tmp), exclude=[master])
        read = _read_sources(collected.sources, progress) + collected.unreadable
        result = merge_into(wb, plan, read, month=month, now=now or datetime.now(), progress=progress,
                            records=True)       # saved through io/save.py below
    result.skipped = collected.skipped
    after = reread_actions(wb, plan, {c.row for c in result.changes})   # only update/status cells changed
    report = validate(after, today)
    validation_sheet = write_validation(wb, after, report, today, records=True)     # saved below
    gantt_sheet = refresh_gantt(wb, after, today)
    summary_sheet = write_summary(wb, summarise(after, read_history(wb), result.month, today, result,
                                                read_directory(wb)), records=True)
    out = ConsolidateResult(result, after, report, summary_sheet, validation_sheet, gantt_sheet, collected.skipped)
    out.saved = result.saved = edit.save()
    return out


# ---- the monthly board report

@_without_gc_pauses
def board_report(master, month: str | None, out_dir, *, today: date | None = None, sheet=None, columns=None,
                 render: bool = True):
    """`report`: the board report of `month` as an A4 PDF (one page each: dashboard, Gantt overview, what
    changed, decisions) and a PNG per page in `out_dir`, printed by LibreOffice headless; without it, the
    report workbook only (xl_plan/board_report.py). The master is only read. pandas is imported there."""
    from .board_report import make_report
    from .months import parse_month

    return make_report(master, parse_month(month) if month is not None else None, out_dir, today=today, sheet=sheet, columns=columns, render=render)
