"""Sending each lead their return workbook by email.

Two ways out, from the same plain data (:class:`Outgoing`, one per lead):

* :func:`write_drafts` writes one ``.eml`` file per lead, marked ``X-Unsent: 1`` so that
  Outlook opens it as a draft ready to send. Nothing leaves the machine.
* :func:`send_smtp` sends through an SMTP server, logs each lead to a CSV send log, and
  can retry only the leads whose latest log entry is ``failed``.

Both build messages with :func:`render_message` from a template the manager can edit
(see ``mail_template.txt`` beside this module for the format). Only the standard
library's ``email`` and ``smtplib`` are used.

Template format
---------------
A plain UTF-8 text file. Optional note lines starting with ``#`` at the very top are
ignored. Then the first email: a line ``Subject: ...``, a blank line, the body. Then,
optionally, a line ``=== Reminder ===`` (any number of ``=``, any case) followed by the
reminder in the same shape. If a template has no reminder part, reminders use its first
email with ``Reminder: `` put before the subject. Placeholders use ``string.Template``
syntax (``$full_name`` or ``${full_name}``; ``$$`` for a dollar sign); see
:data:`PLACEHOLDERS`. An unknown placeholder is a :class:`MailError` naming it.

Send log format
---------------
CSV (UTF-8 with BOM so Excel opens it cleanly), one row per lead per run, appended,
header written when the file is new. Columns: see :data:`LOG_FIELDS`. ``status`` is
``sent``, ``failed`` or ``skipped``; ``reason`` is plain English (empty when sent
without remarks). ``kind`` is ``return`` or ``reminder``. A dry run writes no log.
Cells that Excel would read as a formula are prefixed with ``'`` (removed on reading).
"""

from __future__ import annotations

import csv
import difflib
import mimetypes
import os
import re
import smtplib
import socket
import ssl
import string
from dataclasses import dataclass, field
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

from .. import months
from ..errors import XlPlanError
from ..io.files import UNSAFE_CHAR, write_atomic
from ..months import deadline_words

__all__ = [
    "MailError",
    "Outgoing",
    "SmtpSettings",
    "SendResult",
    "PLACEHOLDERS",
    "LOG_FIELDS",
    "default_template",
    "load_template",
    "check_template",
    "render_message",
    "draft_filename",
    "write_drafts",
    "send_smtp",
    "read_send_log",
]


class MailError(XlPlanError):
    """A problem the user must fix (template, settings, address, attachment).

    The message is plain English and says what to do.
    """

    exit_code = 2


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


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    starttls: bool = True
    user: str | None = None
    password_env: str = "XL_PLAN_SMTP_PASSWORD"  # name of the environment variable
    timeout: float = 30
    ssl: bool = False  # implicit TLS from the first byte (usually port 465)


Progress = Callable[[str, str], None]

PLACEHOLDERS: dict[str, str] = {
    "full_name": "the lead's name, e.g. Gwen Thomas",
    "name": "the same as $full_name",
    "lead": "how the lead is written in the plan, e.g. GT",
    "month_name": "the month of the return, e.g. November 2026",
    "month": "the month as written in the settings, e.g. 2026-11",
    "deadline": 'e.g. Friday 5 December 2026, or "as soon as you can"',
    "action_count": "the number of actions in the return, e.g. 3",
    "actions": 'the number with the word, e.g. "3 actions" or "1 action"',
    "plan_name": "the name of the plan",
    "attachment": "the file name of the attached return",
    "sender_name": "the sender's name as it appears on the email",
}

LOG_FIELDS = [
    "time", "plan", "month", "kind", "lead", "full_name",
    "to", "cc", "attachment", "status", "reason",
]

MIME_TYPES = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".xlsm": ("application", "vnd.ms-excel.sheet.macroEnabled.12"),
}

_REMINDER_MARK = re.compile(r"^[ \t]*=+[ \t]*reminder[ \t]*=*[ \t]*$", re.I | re.M)
_SUBJECT_LINE = re.compile(r"^subject[ \t]*:[ \t]?(.*)$", re.I)
# Excel treats a CSV cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- text helpers

def _one_line(text: object) -> str:
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


def _who(out: Outgoing) -> str:
    name = _one_line(out.full_name)
    lead = _one_line(out.lead)
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
            f"The email address {_one_line(raw)!r} for {whose} is not a valid address "
            "(it should look like name@council.gov.uk, one address only). "
            "Correct it in the directory and try again.")
    return a


def _parse_sender(sender: str) -> Address:
    """'Improvement Team <team@council.gov.uk>' or 'team@council.gov.uk' -> Address."""
    text = _one_line(sender)
    m = re.fullmatch(r"(.*?)<([^<>]*)>", text)
    name, addr = (m.group(1).strip().strip('"').strip(), m.group(2)) if m else ("", text)
    if not addr.strip():
        raise MailError(
            f"The sender {text!r} is not an email address. Give it as "
            "improvement.team@council.gov.uk or as Improvement Team <improvement.team@council.gov.uk>.")
    addr = _clean_address(addr, "the sender")
    return Address(display_name=name, addr_spec=addr)


# --------------------------------------------------------------------------- templates

@dataclass(frozen=True)
class _Part:
    subject: str
    body: str


@dataclass(frozen=True)
class _ParsedTemplate:
    first: _Part
    reminder: _Part | None
    source: str


def default_template() -> str:
    """The text of the default template shipped as ``mail_template.txt``."""
    try:
        return resources.files(__package__).joinpath("mail_template.txt").read_text(encoding="utf-8-sig")
    except (OSError, TypeError) as exc:  # pragma: no cover - broken installation
        raise MailError(
            "The default email template (mail_template.txt) is missing from the xl_plan "
            f"installation ({exc}). Reinstall xl_plan, or give your own template file.") from exc


def load_template(path: Path | str) -> str:
    """Read a manager's template file (UTF-8) and check it; return its text."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MailError(f"The email template {p} was not found. Check the path, or leave it "
                        "out to use the standard template.") from None
    except UnicodeDecodeError:
        raise MailError(f"The email template {p} is not plain UTF-8 text. Save it from "
                        "Notepad as UTF-8 and try again.") from None
    except OSError as exc:
        raise MailError(f"The email template {p} could not be read: {exc.strerror or exc}.") from None
    _parse_template(text, source=f"the email template {p}")
    return text


def _template_text(template: str | Path | None) -> tuple[str, str]:
    if template is None:
        return default_template(), "the standard email template"
    if isinstance(template, Path):
        return load_template(template), f"the email template {template}"
    return str(template), "the email template"


def _check_placeholders(text: str, where: str, source: str) -> None:
    unknown: list[str] = []
    for m in string.Template.pattern.finditer(text):
        name = m.group("named") or m.group("braced")
        if name is not None:
            if name not in PLACEHOLDERS and name not in unknown:
                unknown.append(name)
        elif m.group("invalid") is not None:
            line_no = text.count("\n", 0, m.start()) + 1
            line = text.splitlines()[line_no - 1] if text.splitlines() else ""
            raise MailError(
                f"In {source}, the {where} has a $ sign that is not followed by a placeholder "
                f"name (line {line_no}: {line.strip()!r}). To write a dollar sign, type $$.")
    if unknown:
        parts = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(PLACEHOLDERS), n=1)
            parts.append(f"${name}" + (f" (did you mean ${close[0]}?)" if close else ""))
        known = ", ".join(f"${k}" for k in PLACEHOLDERS)
        raise MailError(
            f"In {source}, the {where} uses unknown placeholder{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(parts)}. The placeholders you can use are: {known}. "
            "Correct the template and try again.")


def _parse_part(text: str, where: str, source: str) -> _Part:
    lines = text.split("\n")
    i = 0
    # Skip notes (# lines) and blank lines before the Subject line.
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
        i += 1
    if i >= len(lines):
        raise MailError(f"In {source}, the {where} is empty. It must start with a line "
                        "'Subject: ...', then a blank line, then the text of the email.")
    m = _SUBJECT_LINE.match(lines[i].strip())
    if not m:
        raise MailError(
            f"In {source}, the {where} must start with a line 'Subject: ...' but it starts "
            f"with {lines[i].strip()[:60]!r}. Add the Subject line, then a blank line, then "
            "the text of the email.")
    subject = m.group(1).strip()
    if not subject:
        raise MailError(f"In {source}, the Subject line of the {where} is empty. Write a subject after 'Subject:'.")
    body_lines = lines[i + 1:]
    if body_lines and not body_lines[0].strip():
        body_lines = body_lines[1:]
    body = "\n".join(body_lines).rstrip() + "\n"
    if not body.strip():
        raise MailError(f"In {source}, the {where} has a subject but no text. Write the "
                        "text of the email after a blank line below the Subject line.")
    _check_placeholders(subject, f"{where} subject", source)
    _check_placeholders(body, f"{where} text", source)
    return _Part(subject, body)


def _parse_template(text: str, source: str = "the email template") -> _ParsedTemplate:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    marks = list(_REMINDER_MARK.finditer(text))
    if len(marks) > 1:
        raise MailError(f"In {source}, the line '=== Reminder ===' appears {len(marks)} "
                        "times. Keep only one: the reminder is the part after it.")
    if marks:
        first_text, rem_text = text[:marks[0].start()], text[marks[0].end():]
    else:
        first_text, rem_text = text, None
    first = _parse_part(first_text, "first email", source)
    reminder = _parse_part(rem_text, "reminder", source) if rem_text is not None else None
    return _ParsedTemplate(first, reminder, source)


def check_template(template: str | Path | None = None) -> None:
    """Raise MailError if the template (text, file path, or None for the default) is unusable."""
    text, source = _template_text(template)
    _parse_template(text, source)


# --------------------------------------------------------------------------- messages

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
    full = _one_line(out.full_name) or _one_line(out.lead)
    n = int(out.action_count)
    return {
        "full_name": full,
        "name": full,
        "lead": _one_line(out.lead),
        "month_name": month_name(out.month),
        "month": _one_line(out.month),
        "deadline": deadline_words(out.deadline),
        "action_count": str(n),
        "actions": f"{n} action" if n == 1 else f"{n} actions",
        "plan_name": _one_line(out.plan_name),
        "attachment": _one_line(attachment_name),
        "sender_name": sender.display_name or sender.addr_spec,
    }


def _render(out: Outgoing, sender: Address, parsed: _ParsedTemplate,
            reminder: bool) -> EmailMessage:
    whose = _who(out)
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
    subject = _one_line(string.Template(subject_tpl).substitute(values))
    body = string.Template(part.body).substitute(values)

    msg = EmailMessage(policy=default_policy)
    msg["From"] = sender
    msg["To"] = Address(display_name=_one_line(out.full_name), addr_spec=to_addr)
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
    text, source = _template_text(template)
    return _render(out, _parse_sender(sender), _parse_template(text, source), reminder)


def _message_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


# --------------------------------------------------------------------------- results

@dataclass
class SendResult:
    sent: list[str] = field(default_factory=list)  # leads
    failed: list[tuple[str, str]] = field(default_factory=list)  # (lead, reason)
    skipped_no_email: list[str] = field(default_factory=list)  # leads
    drafts: list[Path] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)  # dry run: leads
    skipped: list[tuple[str, str]] = field(default_factory=list)  # retry: not attempted
    notes: list[tuple[str, str]] = field(default_factory=list)  # (lead, remark) e.g. a cc refused
    names: dict[str, str] = field(default_factory=dict)  # lead -> "Gwen Thomas (GT) <gt@x>"
    dry_run: bool = False
    kind: str = "return"

    @property
    def ok(self) -> bool:
        return not self.failed

    def _n(self, lead: str) -> str:
        return self.names.get(lead, lead)

    def summary(self) -> str:
        what = "reminder" if self.kind == "reminder" else "return"
        lines: list[str] = []

        def plural(n: int, word: str) -> str:
            return f"{n} {word}" if n == 1 else f"{n} {word}s"

        if self.dry_run:
            lines.append(f"Dry run: nothing was sent. {plural(len(self.would_send), what)} would be sent:")
            lines += [f"  - {self._n(lead)}" for lead in self.would_send]
        if self.drafts:
            folder = self.drafts[0].parent
            lines.append(f"{plural(len(self.drafts), 'draft email')} written to {folder}:")
            lines += [f"  - {p.name}" for p in self.drafts]
            lines.append("Open each one (double-click), check it and press Send.")
        if self.sent:
            lines.append(f"{plural(len(self.sent), what)} sent:")
            lines += [f"  - {self._n(lead)}" for lead in self.sent]
        for lead, note in self.notes:
            lines.append(f"Note for {self._n(lead)}: {note}")
        if self.failed:
            lines.append(f"{plural(len(self.failed), what)} NOT sent because of a problem:")
            lines += [f"  - {self._n(lead)}: {reason}" for lead, reason in self.failed]
            if not self.drafts:
                lines.append("Fix the problem, then send again retrying only the failed ones; "
                             "the ones already sent will not be sent twice.")
        if self.skipped_no_email:
            lines.append(f"{plural(len(self.skipped_no_email), 'lead')} with no email address "
                         "in the directory (nothing was sent to them):")
            lines += [f"  - {self._n(lead)}" for lead in self.skipped_no_email]
            lines.append("Add their addresses to the directory, or send their returns by hand.")
        if self.skipped:
            lines.append(f"{plural(len(self.skipped), 'lead')} left alone by the retry:")
            lines += [f"  - {self._n(lead)}: {reason}" for lead, reason in self.skipped]
        if not lines:
            lines.append("There was nothing to send.")
        return "\n".join(lines)


# --------------------------------------------------------------------------- drafts

def _safe(text: str) -> str:
    """Each character a file name cannot hold becomes "_" (the name of a draft keeps its shape)."""
    s = UNSAFE_CHAR.sub("_", _one_line(text))
    return " ".join(s.split()).strip(" .")


def draft_filename(out: Outgoing, reminder: bool = False) -> str:
    """e.g. '2026-11 return - Gwen Thomas (GT).eml', safe on Windows, macOS and Linux."""
    kind = "reminder" if reminder else "return"
    name = _safe(out.full_name)[:80].strip(" .")
    lead = _safe(out.lead)[:40].strip(" .")
    month = _safe(out.month)[:20]
    who = f"{name} ({lead})" if name and name != lead else (lead or name or "lead")
    return f"{month} {kind} - {who}.eml"


def _prepare(outgoing: Iterable[Outgoing], sender: str, template, kind: str
             ) -> tuple[Address, _ParsedTemplate, list[Outgoing], SendResult]:
    outs = list(outgoing)
    text, source = _template_text(template)
    parsed = _parse_template(text, source)  # a broken template stops everything up front
    sender_addr = _parse_sender(sender)
    result = SendResult(kind=kind)
    for out in outs:
        email = (out.email or "").strip()
        result.names[out.lead] = _who(out) + (f" <{_one_line(email)}>" if email else "")
    return sender_addr, parsed, outs, result


def write_drafts(outgoing: list[Outgoing], out_dir: Path, sender: str,
                 template: str | Path | None = None, reminder: bool = False,
                 progress: Progress | None = None) -> SendResult:
    """Write one ``.eml`` draft per lead into ``out_dir`` (created if needed).

    Drafts carry ``X-Unsent: 1`` so Outlook opens them ready to send. Leads without an
    address are listed in ``skipped_no_email``; leads whose draft cannot be built (bad
    address, missing workbook) are listed in ``failed`` with the reason.
    """
    kind = "reminder" if reminder else "return"
    sender_addr, parsed, outs, result = _prepare(outgoing, sender, template, kind)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MailError(f"The folder for the drafts, {out_dir}, could not be made: "
                        f"{exc.strerror or exc}. Choose another folder.") from None
    used: set[str] = set()
    for out in outs:
        if not (out.email or "").strip():
            result.skipped_no_email.append(out.lead)
            if progress:
                progress(out.lead, "skipped")
            continue
        try:
            msg = _render(out, sender_addr, parsed, reminder)
        except MailError as exc:
            result.failed.append((out.lead, str(exc)))
            if progress:
                progress(out.lead, "failed")
            continue
        msg["X-Unsent"] = "1"
        name = draft_filename(out, reminder)
        stem, n = name[:-4], 2
        while name.lower() in used:
            name, n = f"{stem} ({n}).eml", n + 1
        used.add(name.lower())
        path = out_dir / name
        try:
            write_atomic(path, _message_bytes(msg))
        except OSError as exc:
            result.failed.append((out.lead, f"the draft {path} could not be written: "
                                            f"{exc.strerror or exc}"))
            if progress:
                progress(out.lead, "failed")
            continue
        result.drafts.append(path)
        if progress:
            progress(out.lead, "draft")
    return result


# --------------------------------------------------------------------------- send log

def _csv_cell(value: object) -> str:
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(_FORMULA_START) else s


def _csv_uncell(value: str | None) -> str:
    s = value or ""
    return s[1:] if s.startswith("'") and s[1:].startswith(_FORMULA_START) else s


class _Log:
    def __init__(self, path: Path | None):
        self.path = Path(path) if path is not None else None

    def check_writable(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8-sig", newline=""):
                pass
        except OSError as exc:
            raise MailError(
                f"The send log {self.path} cannot be written ({exc.strerror or exc}). "
                "If it is open in Excel, close it and try again. Nothing was sent.") from None

    def write(self, out: Outgoing, kind: str, status: str, reason: str) -> str | None:
        """Append one row; return a problem description instead of raising."""
        if self.path is None:
            return None
        row = {
            "time": datetime.now().astimezone().isoformat(timespec="seconds"),
            "plan": _one_line(out.plan_name),
            "month": _one_line(out.month),
            "kind": kind,
            "lead": _one_line(out.lead),
            "full_name": _one_line(out.full_name),
            "to": _one_line(out.email or ""),
            "cc": "; ".join(_one_line(c) for c in out.cc if c),
            "attachment": str(out.attachment),
            "status": status,
            "reason": _one_line(reason),
        }
        try:
            new = not self.path.exists() or self.path.stat().st_size == 0
            with open(self.path, "a", encoding="utf-8-sig", newline="") as f:
                w = csv.DictWriter(f, fieldnames=LOG_FIELDS)
                if new:
                    w.writeheader()
                w.writerow({k: _csv_cell(v) for k, v in row.items()})
        except OSError as exc:
            return (f"could not be recorded in the send log {self.path} "
                    f"({exc.strerror or exc}); it was {status}")
        return None


def read_send_log(path: Path) -> list[dict[str, str]]:
    """Read a send log written by :func:`send_smtp`, oldest row first."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise MailError(f"The send log {p} was not found, so there is nothing to retry. "
                        "Check the path, or send to everyone.") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MailError(f"The send log {p} could not be read ({exc}). If it is open in "
                        "Excel, close it and try again.") from None
    missing = [c for c in ("lead", "status", "month") if rows and c not in rows[0]]
    if missing:
        raise MailError(f"The file {p} is not an xl_plan send log (it has no "
                        f"{', '.join(missing)} column).")
    return [{k: _csv_uncell(v) for k, v in row.items() if k is not None} for row in rows]


def _log_key(plan: str, month: str, kind: str, lead: str) -> tuple[str, str, str, str]:
    return (_one_line(plan), _one_line(month), kind, _one_line(lead))


def _latest_entries(path: Path) -> dict[tuple[str, str, str, str], dict[str, str]]:
    latest: dict[tuple[str, str, str, str], dict[str, str]] = {}
    for row in read_send_log(path):
        key = _log_key(row.get("plan", ""), row.get("month", ""),
                       row.get("kind", "") or "return", row.get("lead", ""))
        latest[key] = row  # later rows win
    return latest


# --------------------------------------------------------------------------- SMTP

def _decode(msg: bytes | str) -> str:
    return _one_line(msg.decode("utf-8", "replace") if isinstance(msg, bytes) else msg)


def _connect_reason(exc: BaseException, s: SmtpSettings) -> str:
    where = f"{s.host}:{s.port}"
    fix = "check the server name and port in the settings, or use drafts"
    if isinstance(exc, MailError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (f"the server {where} refused the user name or password for {s.user!r} "
                f"({exc.smtp_code} {_decode(exc.smtp_error)}) — check the user in the settings "
                f"and the password in the environment variable {s.password_env}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return (f"the server {where} does not accept a login — remove the user from the "
                "settings, or ask IT for the right server")
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
            exc.__context__, (TimeoutError, socket.timeout)):
        exc = exc.__context__  # smtplib reports a timeout while reading as a disconnection
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"could not connect to {where}: the server closed the connection — {fix}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return (f"could not connect to {where}: the server answered "
                f"{exc.smtp_code} {_decode(exc.smtp_error)} — {fix}")
    if isinstance(exc, ssl.SSLError):
        return (f"could not set up a secure connection to {where}: "
                f"{getattr(exc, 'reason', None) or exc} — check the port and the "
                "secure-connection (TLS) setting, or use drafts")
    if isinstance(exc, ConnectionRefusedError):
        return f"could not connect to {where}: connection refused — {fix}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return (f"could not connect to {where}: no answer within {s.timeout:g} seconds — {fix}")
    if isinstance(exc, socket.gaierror):
        return f"could not connect to {where}: the server name {s.host!r} was not found — {fix}"
    if isinstance(exc, smtplib.SMTPException):
        return f"could not connect to {where}: {_one_line(exc)} — {fix}"
    if isinstance(exc, OSError):
        return f"could not connect to {where}: {_one_line(exc.strerror or exc)} — {fix}"
    return f"could not connect to {where}: {_one_line(exc)} — {fix}"


def _password(settings: SmtpSettings) -> str | None:
    if not settings.user:
        return None
    pw = os.environ.get(settings.password_env)
    if not pw:
        raise MailError(
            f"The SMTP password for {settings.user!r} is not set. Put it in the environment "
            f"variable {settings.password_env} (never on the command line), then try again. "
            "Nothing was sent.")
    return pw


def _connect(settings: SmtpSettings, password: str | None) -> smtplib.SMTP:
    if settings.ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.starttls and not settings.ssl:
            if not smtp.has_extn("starttls"):
                raise MailError(
                    f"the server {settings.host}:{settings.port} does not offer a secure "
                    "connection (STARTTLS) — check the server and port, or turn STARTTLS off "
                    "in the settings only if IT says this server is meant to be used without it")
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.user:
            smtp.login(settings.user, password or "")
    except BaseException:
        try:
            smtp.close()
        except OSError:
            pass
        raise
    return smtp


def _refused_reason(refused: dict, what: str = "address") -> str:
    parts = [f"{addr} ({code} {_decode(msg)})" for addr, (code, msg) in refused.items()]
    return f"the server refused the {what} {', '.join(parts)}"


def send_smtp(outgoing: list[Outgoing], settings: SmtpSettings, sender: str,
              template: str | Path | None = None, reminder: bool = False,
              dry_run: bool = False, log_path: Path | None = None,
              only_failed_from: Path | None = None,
              progress: Progress | None = None) -> SendResult:
    """Send each lead their return through an SMTP server.

    One connection is used for the run (reopened once if the server drops it). The
    password is read from the environment variable ``settings.password_env``. Per lead:
    a refused address fails that lead and the others go on; if the server cannot be
    reached every lead fails with the same plain reason. Each lead gets a row in the
    CSV send log at ``log_path`` (not on a dry run). With ``only_failed_from`` (a send
    log), only leads whose latest entry for the same plan, month and kind is ``failed``
    are sent; the others are listed in ``result.skipped``. A dry run builds every
    message (so template, address and attachment problems show), checks that the
    password is set, writes no log and connects to nothing.

    Raises MailError only for problems that stop the whole run before anything is sent:
    an unusable template or sender, a missing password, an unreadable retry log, or a
    send log that cannot be written.
    """
    kind = "reminder" if reminder else "return"
    sender_addr, parsed, outs, result = _prepare(outgoing, sender, template, kind)
    result.dry_run = dry_run
    password = _password(settings)
    latest = _latest_entries(Path(only_failed_from)) if only_failed_from is not None else None
    log = _Log(None if dry_run else log_path)
    log.check_writable()

    def report(out: Outgoing, status: str, reason: str = "") -> None:
        problem = log.write(out, kind, status, reason)
        if problem:
            result.notes.append((out.lead, f"this {kind} {problem}"))
        if progress:
            progress(out.lead, status)

    # Decide who is in this run, and build their messages before connecting.
    todo: list[tuple[Outgoing, EmailMessage]] = []
    for out in outs:
        if latest is not None:
            entry = latest.get(_log_key(out.plan_name, out.month, kind, out.lead))
            if entry is None:
                result.skipped.append((out.lead, f"not in the send log for this {kind}, so the "
                                                 "retry leaves it alone"))
                if progress:
                    progress(out.lead, "skipped")
                continue
            if entry.get("status") != "failed":
                when = entry.get("time", "")
                result.skipped.append((out.lead, f"its latest entry in the send log is "
                                                 f"{entry.get('status') or 'blank'}"
                                                 + (f" ({when})" if when else "")))
                if progress:
                    progress(out.lead, "skipped")
                continue
        if not (out.email or "").strip():
            result.skipped_no_email.append(out.lead)
            report(out, "skipped", "no email address in the directory")
            continue
        try:
            msg = _render(out, sender_addr, parsed, reminder)
        except MailError as exc:
            result.failed.append((out.lead, str(exc)))
            report(out, "failed", str(exc))
            continue
        todo.append((out, msg))

    if dry_run:
        for out, _msg in todo:
            result.would_send.append(out.lead)
            if progress:
                progress(out.lead, "would send")
        return result
    if not todo:
        return result

    smtp: smtplib.SMTP | None = None
    down_reason: str | None = None

    def open_connection() -> None:
        nonlocal smtp, down_reason
        try:
            smtp = _connect(settings, password)
        except (MailError, OSError, smtplib.SMTPException) as exc:
            smtp, down_reason = None, _connect_reason(exc, settings)

    def drop_connection() -> None:
        nonlocal smtp
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass
        smtp = None

    open_connection()
    reconnects = 1
    try:
        for out, msg in todo:
            if smtp is None and down_reason is None:
                open_connection()
            if smtp is None:
                result.failed.append((out.lead, down_reason or "not connected"))
                report(out, "failed", down_reason or "not connected")
                continue
            reason = None
            try:
                refused = smtp.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                reason = (_refused_reason(exc.recipients)
                          + " — check the address in the directory")
            except smtplib.SMTPSenderRefused as exc:
                reason = (f"the server refused the sender {exc.sender} ({exc.smtp_code} "
                          f"{_decode(exc.smtp_error)}) — check the sender address in the settings")
            except smtplib.SMTPDataError as exc:
                hint = (" — the attachment may be too large for the server"
                        if exc.smtp_code in (552, 523) else "")
                reason = f"the server did not accept the message ({exc.smtp_code} {_decode(exc.smtp_error)}){hint}"
            except smtplib.SMTPResponseException as exc:
                reason = f"the server answered {exc.smtp_code} {_decode(exc.smtp_error)}"
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                what = ("the server closed the connection"
                        if isinstance(exc, smtplib.SMTPServerDisconnected)
                        else f"the connection failed ({_one_line(getattr(exc, 'strerror', None) or exc)})")
                reason = f"{what} while sending to {settings.host}:{settings.port}"
                drop_connection()
                if reconnects > 0:
                    reconnects -= 1  # the next lead reconnects once
                else:
                    down_reason = f"{reason} — it was not retried; try again later or use drafts"
            except smtplib.SMTPException as exc:
                reason = f"the message could not be sent: {_one_line(exc)}"
            if reason is not None:
                result.failed.append((out.lead, reason))
                report(out, "failed", reason)
                continue
            note = ""
            if refused:
                note = _refused_reason(refused, "copy (cc) to") + "; the lead's own copy was sent"
                result.notes.append((out.lead, note))
            result.sent.append(out.lead)
            report(out, "sent", note)
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                drop_connection()
    return result
