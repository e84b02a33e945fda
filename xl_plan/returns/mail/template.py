"""The email template a manager can edit: read it, check it, split it into its parts.

Template format
---------------
A plain UTF-8 text file. Optional note lines starting with ``#`` at the very top are
ignored. Then the first email: a line ``Subject: ...``, a blank line, the body. Then,
optionally, a line ``=== Reminder ===`` (any number of ``=``, any case) followed by the
reminder in the same shape. If a template has no reminder part, reminders use its first
email with ``Reminder: `` put before the subject. Placeholders use ``string.Template``
syntax (``$full_name`` or ``${full_name}``; ``$$`` for a dollar sign); see
:data:`PLACEHOLDERS`. An unknown placeholder is a :class:`MailError` naming it.
"""

from __future__ import annotations

import difflib
import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import MailError

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

_REMINDER_MARK = re.compile(r"^[ \t]*=+[ \t]*reminder[ \t]*=*[ \t]*$", re.I | re.M)

_SUBJECT_LINE = re.compile(r"^subject[ \t]*:[ \t]?(.*)$", re.I)


@dataclass(frozen=True)
class _Part:
    subject: str
    body: str


@dataclass(frozen=True)
class ParsedTemplate:
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
    parse_template(text, source=f"the email template {p}")
    return text


def template_text(template: str | Path | None) -> tuple[str, str]:
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


def parse_template(text: str, source: str = "the email template") -> ParsedTemplate:
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
    return ParsedTemplate(first, reminder, source)


def check_template(template: str | Path | None = None) -> None:
    """Raise MailError if the template (text, file path, or None for the default) is unusable."""
    text, source = template_text(template)
    parse_template(text, source)
