"""One lead's email: who it goes to (checked addresses), its subject and text from the
template, the return attached."""

from __future__ import annotations

import mimetypes
import re
import string
from dataclasses import dataclass
from datetime import date
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid
from pathlib import Path

from ... import months
from ...errors import XlPlanError
from ...months import deadline_words
from .errors import MailError
from .template import ParsedTemplate, parse_template, template_text


@dataclass(frozen=True)
class Outgoing:
    lead: str  # how the lead is written in the plan, e.g. "GT"
    full_name: str  # "Gwen Thomas"; may hold commas, accents, line breaks
    email: str | None  # None/"" when the directory has no address
    cc: tuple[str, ...]  # deputies
    attachment: Path  # the return workbook (.xlsx or .xlsm)
    month: str  # "2026-11"
    deadline: date | None
    action_count: int
    plan_name: str


MIME_TYPES = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".xlsm": ("application", "vnd.ms-excel.sheet.macroEnabled.12"),
}


def one_line(text: object) -> str:
    """Collapse line breaks, control characters and runs of spaces into single spaces."""
    s = "" if text is None else str(text)
    s = "".join(" " if (ord(c) < 32 or ord(c) == 127 or c in "\u2028\u2029\x85") else c
                for c in s)
    return " ".join(s.split())


def month_name(month: str) -> str:
    """'2026-11' -> 'November 2026'; a month not in that form is a MailError."""
    try:
        return months.month_name(month)
    except XlPlanError:
        raise MailError(
            f"The month {month!r} is not in the form YYYY-MM (for example 2026-11). "
            "Correct the month and try again.") from None


def who(out: Outgoing) -> str:
    name = one_line(out.full_name)
    lead = one_line(out.lead)
    return f"{name} ({lead})" if name and name != lead else lead


_BAD_ADDR_CHARS = set(' \t<>()[],;:"\\')


def _clean_address(raw: str, whose: str) -> str:
    """Return a bare, checked addr-spec, or raise MailError saying what is wrong."""
    a = str(raw).strip()
    if a.lower().startswith("mailto:"):
        a = a[7:].strip()
    bad = (
        a.count("@") != 1
        or a.startswith("@") or a.endswith("@")
        or any(c in _BAD_ADDR_CHARS or ord(c) < 32 or ord(c) == 127 for c in a)
        or "." not in a.split("@")[1]
        or ".." in a
    )
    if bad:
        raise MailError(
            f"The email address {one_line(raw)!r} for {whose} is not a valid address "
            "(it should look like name@council.gov.uk, one address only). "
            "Correct it in the directory and try again.")
    return a


def parse_sender(sender: str) -> Address:
    """'Improvement Team <team@council.gov.uk>' or 'team@council.gov.uk' -> Address."""
    text = one_line(sender)
    m = re.fullmatch(r"(.*?)<([^<>]*)>", text)
    name, addr = (m.group(1).strip().strip('"').strip(), m.group(2)) if m else ("", text)
    if not addr.strip():
        raise MailError(
            f"The sender {text!r} is not an email address. Give it as "
            "improvement.team@council.gov.uk or as Improvement Team <improvement.team@council.gov.uk>.")
    addr = _clean_address(addr, "the sender")
    return Address(display_name=name, addr_spec=addr)


def _attachment_type(path: Path) -> tuple[str, str]:
    ext = path.suffix.lower()
    if ext in MIME_TYPES:
        return MIME_TYPES[ext]
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed and "/" in guessed:
        maintype, subtype = guessed.split("/", 1)
        return maintype, subtype
    return "application", "octet-stream"


def _values(out: Outgoing, sender: Address, attachment_name: str) -> dict[str, str]:
    full = one_line(out.full_name) or one_line(out.lead)
    n = int(out.action_count)
    return {
        "full_name": full,
        "name": full,
        "lead": one_line(out.lead),
        "month_name": month_name(out.month),
        "month": one_line(out.month),
        "deadline": deadline_words(out.deadline),
        "action_count": str(n),
        "actions": f"{n} action" if n == 1 else f"{n} actions",
        "plan_name": one_line(out.plan_name),
        "attachment": one_line(attachment_name),
        "sender_name": sender.display_name or sender.addr_spec,
    }


def render(out: Outgoing, sender: Address, parsed: ParsedTemplate,
            reminder: bool) -> EmailMessage:
    whose = who(out)
    if not (out.email or "").strip():
        raise MailError(f"There is no email address for {whose}. Add it to the directory, "
                        "or send the return by hand.")
    to_addr = _clean_address(out.email, whose)
    ccs: list[str] = []
    for raw in out.cc:
        if raw is None or not str(raw).strip():
            continue
        a = _clean_address(raw, f"a deputy (cc) of {whose}")
        if a.lower() != to_addr.lower() and a.lower() not in (c.lower() for c in ccs):
            ccs.append(a)

    path = Path(out.attachment)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MailError(f"The return workbook for {whose} was not found: {path}. "
                        "Make the returns again, then send.") from None
    except IsADirectoryError:
        raise MailError(f"The return for {whose} is a folder, not a workbook: {path}.") from None
    except OSError as exc:
        raise MailError(f"The return workbook for {whose} could not be read ({path}): "
                        f"{exc.strerror or exc}. If it is open in Excel, close it and try again.") from None

    part = parsed.first
    subject_tpl = part.subject
    if reminder:
        if parsed.reminder is not None:
            part = parsed.reminder
            subject_tpl = part.subject
        else:
            subject_tpl = "Reminder: " + part.subject
    values = _values(out, sender, path.name)
    subject = one_line(string.Template(subject_tpl).substitute(values))
    body = string.Template(part.body).substitute(values)

    msg = EmailMessage(policy=default_policy)
    msg["From"] = sender
    msg["To"] = Address(display_name=one_line(out.full_name), addr_spec=to_addr)
    if ccs:
        msg["Cc"] = [Address(addr_spec=a) for a in ccs]
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.domain or None)
    msg.set_content(body)
    maintype, subtype = _attachment_type(path)
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def render_message(out: Outgoing, sender: str, template: str | Path | None = None,
                   reminder: bool = False) -> EmailMessage:
    """Build the email for one lead: subject and body from the template, return attached.

    ``template`` is the template text, a ``Path`` to a template file, or None for the
    standard template. Raises MailError (plain English) for an unusable template, a
    missing or invalid address, or a missing attachment.
    """
    text, source = template_text(template)
    return render(out, parse_sender(sender), parse_template(text, source), reminder)


def message_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
