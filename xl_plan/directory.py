"""The leads directory: a `Leads` sheet in the master workbook that the manager fills in.

Columns (found by their header, in any order, header in one of the first rows):
`As written in plan` | `Full name` | `Email` | `Deputy / cc`.
`As written in plan` is the lead as the plan writes it (`GT`, `Ann Graham`, `Head of Service`);
`Deputy / cc` holds addresses to copy in (several separated by `;` or `,`), or the
`As written in plan` name of another lead in the directory, whose email is then used.

The sheet is the manager's: xl_plan creates it when missing and adds rows for leads it does
not list, never deleting, rewriting or reordering the manager's rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import parseaddr

from .owned import LEADS, LEADS_FIRST_HEADER
from .report import Finding
from .text import clean, norm

SHEET = LEADS.name
HEADERS = [LEADS_FIRST_HEADER, "Full name", "Email", "Deputy / cc"]
_FIELD_OF = {"as written in plan": "lead", "full name": "full_name", "email": "email", "deputy cc": "cc"}
_HEADER_SCAN = 10
_CC_SPLIT = re.compile(r"\s*[;,\n]\s*")
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


@dataclass
class LeadEntry:
    full_name: str
    email: str                       # "" when not filled in or not valid
    cc: list[str] = field(default_factory=list)   # valid addresses only
    row: int | None = None
    written: str = ""                # "As written in plan" as the sheet has it


@dataclass
class Directory:
    entries: dict[str, LeadEntry]    # lookup_key(lead) -> entry
    findings: list[Finding] = field(default_factory=list)
    sheet: str | None = None         # the sheet's name, None when the workbook has none
    header_row: int | None = None
    columns: dict[str, int] = field(default_factory=dict)   # field -> column index

    def get(self, lead: str) -> LeadEntry | None:
        return self.entries.get(lookup_key(lead))

    def __contains__(self, lead: str) -> bool:
        return lookup_key(lead) in self.entries


def lookup_key(lead: str) -> str:
    """Leads match whatever their case and spacing: 'gt ' is 'GT'."""
    return " ".join(clean(lead).split()).casefold()


def valid_email(text: str) -> str | None:
    """The bare address when `text` is one valid email address ('Name <a@b.gov.uk>' allowed)."""
    text = clean(text)
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
    if not text or text.count("@") != 1 or any(c in text for c in " \t\n,;") and "<" not in text:
        return None
    _, addr = parseaddr(text)
    if not addr or addr.count("@") != 1:
        return None
    try:
        parsed = Address(addr_spec=addr)
    except (HeaderParseError, ValueError, IndexError):
        return None
    if not parsed.username or not _DOMAIN.match(parsed.domain or "") or ".." in addr:
        return None
    return addr


def _find_header(ws) -> tuple[int, dict[str, int]] | None:
    for r in range(1, min(ws.max_row or 1, _HEADER_SCAN) + 1):
        cols = {}
        for c in range(1, min(ws.max_column or 1, 30) + 1):
            f = _FIELD_OF.get(norm(clean(ws.cell(r, c).value)))
            if f and f not in cols:
                cols[f] = c
        if "lead" in cols:
            return r, cols
    return None


def read_directory(wb) -> Directory:
    """The `Leads` sheet as lead -> LeadEntry, with a finding for each bad or doubled row."""
    if SHEET not in wb.sheetnames:
        return Directory({})
    ws = wb[SHEET]
    found = _find_header(ws)
    if found is None:
        return Directory({}, [Finding(
            "leads-no-header",
            f"The '{SHEET}' sheet has no header 'As written in plan' in its first {_HEADER_SCAN} rows, so "
            f"xl_plan cannot read it. Put the headers {', '.join(repr(h) for h in HEADERS)} in a row above the leads.",
            sheet=SHEET)], sheet=SHEET)
    header_row, cols = found
    d = Directory({}, [], SHEET, header_row, cols)
    raw_cc: dict[str, tuple[int, list[str]]] = {}

    def get(r, f):
        return clean(ws.cell(r, cols[f]).value) if f in cols else ""

    def letter(f):
        from openpyxl.utils import get_column_letter
        return get_column_letter(cols[f]) if f in cols else None

    for r in range(header_row + 1, (ws.max_row or header_row) + 1):
        lead = get(r, "lead")
        if not lead:
            continue
        key = lookup_key(lead)
        if key in d.entries:
            d.findings.append(Finding(
                "leads-duplicate",
                f"'{lead}' is listed twice in the '{SHEET}' sheet (rows {d.entries[key].row} and {r}); "
                f"xl_plan uses row {d.entries[key].row}. Delete the row you do not want.",
                sheet=SHEET, row=r, column=letter("lead"), value=lead))
            continue
        email_text = get(r, "email")
        email = valid_email(email_text) if email_text else None
        if email_text and not email:
            d.findings.append(Finding(
                "leads-bad-email",
                f"The email address {email_text!r} for '{lead}' (sheet '{SHEET}', row {r}) is not a valid "
                "address. It should look like name@council.gov.uk, one address only. Correct it.",
                sheet=SHEET, row=r, column=letter("email"), value=email_text))
        d.entries[key] = LeadEntry(get(r, "full_name"), email or "", [], r, lead)
        cc_text = get(r, "cc")
        if cc_text:
            raw_cc[key] = (r, [p for p in _CC_SPLIT.split(cc_text) if p])

    for key, (r, items) in raw_cc.items():
        entry = d.entries[key]
        for item in items:
            address = valid_email(item) if "@" in item else None
            if address is None and "@" not in item:
                other = d.entries.get(lookup_key(item))
                address = other.email if other and other.email else None
            if address:
                if address not in entry.cc:
                    entry.cc.append(address)
            else:
                d.findings.append(Finding(
                    "leads-bad-cc",
                    f"The deputy / cc {item!r} for '{entry.written}' (sheet '{SHEET}', row {r}) is neither a valid "
                    "email address nor a lead in this sheet with an email address. Correct it.",
                    sheet=SHEET, row=r, column=letter("cc"), value=item))
    return d
