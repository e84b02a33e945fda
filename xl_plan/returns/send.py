"""Sending the returns made by `returns make`: find them in their folder, look up each lead's
address in the master's `Leads` sheet, and hand them to the mail package as drafts (.eml) or by SMTP.

SMTP settings come from the master's hidden `xl_plan` settings sheet (rows `smtp_host`,
`smtp_port`, `smtp_starttls`, `smtp_user`, `from_address`), options override them; the
password only from the environment variable XL_PLAN_SMTP_PASSWORD.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..directory import Directory, read_directory
from ..errors import XlPlanError
from ..report import Finding
from .identity import ReturnIdentity
from .status import StatusResult, choose_month, sent_returns

SEND_LOG = "send log.csv"


@dataclass
class SendPlan:
    """What `returns send` found before handing over to the mail package."""
    month: str
    master: Path
    outgoing: list                                  # mail.Outgoing
    no_entry: list[str] = field(default_factory=list)      # leads the Leads sheet does not list
    no_email: list[str] = field(default_factory=list)      # listed, but no (valid) address
    directory_findings: list[Finding] = field(default_factory=list)
    status: StatusResult | None = None              # for reminders
    smtp: dict[str, str] = field(default_factory=dict)     # settings from the master
    record: dict = field(default_factory=dict)      # returns.log.month_record of the master: lead key -> LeadRecord
    return_ids: dict[str, str] = field(default_factory=dict)   # lead -> the return id sent
    plan_id: str = ""
    plan_title: str = ""
    # (lead, when/how) left out by send once (with reminders: already reminded this month), and sent again (--resend)
    already_sent: list[tuple[str, str]] = field(default_factory=list)
    resending: list[tuple[str, str]] = field(default_factory=list)
    retry_skipped: list[tuple[str, str]] = field(default_factory=list)  # (lead, why): left out by --retry-failed
    saved: object = None                            # io.save.SaveResult: the master, with the sent events


def _said(event: dict) -> str:
    """How and when a try went: "by email on 2026-11-20 at 09:30 to gt@…"; a reminder's when first:
    "on 2026-11-20 at 09:30 (by email to gt@…)"."""
    how = "as a draft" if event["outcome"] == "draft" else "by email"
    to = f" to {event['to']}" if event["to"] else ""
    when = f"on {event['when'][:16].replace('T', ' at ')}"
    return f"{when} ({how}{to})" if event["event"] == "reminded" else f"{how} {when}{to}"


def choose_once(plan: "SendPlan", *, resend: bool, retry_failed: bool, event: str = "sent") -> bool:
    """Send once: leave out the leads the master's record says were sent this month's return (`event`
    "sent"), or this month's reminder ("reminded"), unless `resend`; with `retry_failed` keep only those
    whose last try of it failed. Returns False when the record holds no try of it at all (the retry then
    falls back to the CSV send log)."""
    from ..directory import lookup_key

    if not any(rec.tries(event) for rec in plan.record.values()):
        return False
    keep = []
    for out in plan.outgoing:
        rec = plan.record.get(lookup_key(out.lead))
        last = rec.last_of(event) if rec else None
        went = rec.went_out(event) if rec else []
        if retry_failed:
            if last is None or last["outcome"] != "failed":
                why = "not sent before, so the retry leaves it alone" if last is None else \
                    f"its last try was {last['outcome']} ({_said(last)})"
                plan.retry_skipped.append((out.lead, why))
                continue
        elif went:
            if resend:
                plan.resending.append((out.lead, _said(went[-1])))
            else:
                plan.already_sent.append((out.lead, _said(went[-1])))
                continue
        keep.append(out)
    plan.outgoing = keep
    return True


def _truthy(text: str) -> bool:
    return str(text).strip().lower() in {"1", "yes", "true", "y", "on"}


def plan_sending(folder, *, master=None, month: str | None = None, reminders: bool = False, returned=None,
                 today: date) -> SendPlan:
    from ..io.workbook import load
    from ..months import parse_month
    from ..settings import settings_sheet_values
    from .mail import Outgoing
    from .status import returns_status

    folder = Path(folder)
    if not folder.is_dir():
        raise XlPlanError(f"{folder} is not a folder. Give the folder `xl-plan returns make` wrote the returns into.")
    found, _ignored = sent_returns(folder)
    month = choose_month([i.month for _, i in found], parse_month(month) if month else None, str(folder))
    chosen: dict[str, tuple[Path, ReturnIdentity]] = {}
    for p, ident in sorted(found, key=lambda x: x[1].created):
        if ident.month == month:
            chosen[ident.lead] = (p, ident)
    if not chosen:
        raise XlPlanError(f"No returns for {month} were found in {folder}.")
    idents = [i for _, i in chosen.values()]
    if len({i.plan_id for i in idents}) > 1:
        raise XlPlanError(
            f"{folder} holds {month} returns for more than one plan ({', '.join(sorted({i.plan_file for i in idents}))}). "
            "Keep each plan's returns in a folder of their own."
        )
    if master is None:
        master = Path(idents[-1].plan_path)
        if not master.exists():
            raise XlPlanError(
                f"The returns were made from {master}, which is not there any more. Give the master workbook "
                "with --master PLAN (it holds the Leads sheet with the email addresses)."
            )
    master = Path(master)
    title = ""
    try:
        from ..plan_file import open_plan
        from .make import plan_title

        wb, mplan, _ = open_plan(master)
        title = plan_title(mplan)
    except XlPlanError:
        wb = load(master)                   # a master whose table needs --columns: its file name will do
    directory: Directory = read_directory(wb)
    from .log import month_record, read_returns_log

    record = month_record(read_returns_log(wb), month)
    settings = settings_sheet_values(wb)
    result = SendPlan(month, master, [], directory_findings=list(directory.findings),
                      smtp={k: v for k, v in settings.items() if k.startswith("smtp_") or k == "from_address"},
                      record=record, return_ids={lead: i.return_id for lead, (_, i) in chosen.items()},
                      plan_id=idents[-1].plan_id)
    wanted = set(chosen)
    if reminders:
        if returned is None:
            raise XlPlanError("Reminders go to the leads whose return is still missing: give the folder of "
                              "returned files with --returned DIR.")
        result.status = returns_status(folder, returned=returned, month=month, today=today)
        wanted = {s.lead for s in result.status.missing}
    plan_name = title or idents[-1].plan_file.rsplit(".", 1)[0]
    for lead, (path, ident) in chosen.items():
        if lead not in wanted:
            continue
        entry = directory.get(lead)
        if entry is None:
            result.no_entry.append(lead)
        elif not entry.email:
            result.no_email.append(lead)
        result.outgoing.append(Outgoing(
            lead=lead, full_name=(entry.full_name if entry and entry.full_name else lead),
            email=(entry.email if entry else None) or None, cc=tuple(entry.cc if entry else ()),
            attachment=path, month=month, deadline=date.fromisoformat(ident.deadline) if ident.deadline else None,
            action_count=len(ident.rows), plan_name=plan_name,
        ))
    return result


def smtp_settings(values: dict[str, str], *, host=None, port=None, starttls=None, user=None):
    from .mail import SmtpSettings

    host = host or values.get("smtp_host")
    if not host:
        raise XlPlanError(
            "No SMTP server is set. Give --smtp-host, or add a row 'smtp_host' with the server name to the "
            "hidden 'xl_plan' sheet of the master workbook."
        )
    port_text = str(port or values.get("smtp_port") or "587")
    if not port_text.isdigit():
        raise XlPlanError(f"The SMTP port {port_text!r} is not a number (usually 587 or 465).")
    tls = starttls if starttls is not None else _truthy(values.get("smtp_starttls", "yes"))
    return SmtpSettings(host=host, port=int(port_text), starttls=tls and int(port_text) != 465,
                        user=user or values.get("smtp_user") or None, ssl=int(port_text) == 465)
