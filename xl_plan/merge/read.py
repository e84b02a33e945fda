"""Reading a returned workbook safely.

A return comes back by email from outside the improvement team: its XML is untrusted and
it may hold macros. It is read with openpyxl (which parses XML through defusedxml, so an
entity bomb is refused), never with its macros (keep_vba=False), never saved and no part of
it is ever copied into the master: only cell values are taken, as text.

Its identity is the veryHidden `xl_plan_return` sheet (see xl_plan/returns/identity.py); when
a re-save lost that sheet, the copy of the metadata in the custom document properties is used
and the action rows are found by their text (the return's action column) instead of the table.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from openpyxl.utils import column_index_from_string, get_column_letter

from ..io.grid import rows_of

from ..errors import XlPlanError
from ..returns.identity import (
    IdentityRow, ReturnIdentity, ReturnIdentityError, identity_from_properties, read_identity,
    text_hash,
)
from ..text import clean

# A return is one lead's part of a plan: far below this when unpacked. Anything bigger is refused
# before openpyxl unpacks it (a zip bomb).
MAX_UNPACKED_BYTES = 400 * 1024 * 1024


class UnreadableReturn(XlPlanError):
    """The file cannot be read as a return (not Excel, damaged, hostile, not made by xl_plan)."""


@dataclass
class ReturnRow:
    """One row of the return's sheet that holds an action (or looks like one)."""

    row: int
    values: dict[int, object]          # return column index -> value as read
    identity: IdentityRow | None = None  # the action it is, once matched

    def text(self, col: int | None) -> str:
        return clean(self.values.get(col)) if col else ""


@dataclass
class ReadReturn:
    path: Path                         # the file as found (for an email: the saved email)
    name: str                          # what to call it in messages: file name, or "x.xlsx in email y.eml"
    identity: ReturnIdentity
    saved_at: datetime                 # which of two returns of one lead is later (see merge/apply.py)
    sheet: str
    header_row: int
    headers: dict[int, str]            # return column index -> header text
    rows: dict[int, ReturnRow]         # sheet row -> row, for every non-empty row below the header
    section_rows: set[int] = field(default_factory=set)   # rows merged across the table (sections)
    from_properties: bool = False      # identity rebuilt from the custom properties

    @property
    def update_col(self) -> int:
        return column_index_from_string(self.identity.update_column)

    @property
    def status_col(self) -> int:
        return column_index_from_string(self.identity.status_column)

    def cell(self, row: int, col: int) -> str:
        return f"{get_column_letter(col)}{row}"


def _refuse_bombs(path: Path, name: str) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return      # load() says what is wrong in plain words
    if total > MAX_UNPACKED_BYTES:
        raise UnreadableReturn(
            f"{name} unpacks to {total // (1024 * 1024)} MB, far more than a return can hold, so xl_plan did not "
            "open it (it may be damaged or hostile). Ask the lead to send their return again.")


def load_return_workbook(path: Path, name: str):
    """openpyxl workbook of a return: defused XML, no macros, values as stored (a formula comes back as
    its text). (Read-only mode was measured slower for returns: they are small, styles dominate.)"""
    import warnings

    import openpyxl
    import openpyxl.xml

    from ..io.workbook import check_readable

    if not openpyxl.xml.DEFUSEDXML:
        raise XlPlanError(
            "xl_plan reads returns only with the 'defusedxml' package installed (it protects against hostile "
            "files). Install it with: pip install defusedxml")
    try:
        check_readable(path)
    except XlPlanError as exc:
        raise UnreadableReturn(str(exc)) from exc
    _refuse_bombs(path, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(path, keep_vba=False, data_only=False, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - defusedxml and others: the file is unusable, say so
        raise UnreadableReturn(_unsafe(name, exc)) from exc


def _unsafe(name: str, exc: Exception) -> str:
    chain, e = [], exc
    while e is not None and len(chain) < 5:
        chain.append(e)
        e = e.__cause__ or e.__context__
    if any(type(x).__module__.startswith("defusedxml") for x in chain):
        return (f"{name} holds XML that xl_plan refuses to read (entity declarations, as used by hostile files "
                "to exhaust memory). It was not merged: ask the lead to send their return again, typed into the "
                "file they were sent.")
    return (f"{name} could not be read as an Excel workbook ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
            "It may be damaged: ask the lead to open it in Excel, save it again and send it back.")


def read_return(path, *, name: str | None = None, saved_at: datetime | None = None) -> ReadReturn:
    """Read a returned workbook. Raises UnreadableReturn with a plain message when it cannot be used."""
    path = Path(path)
    name = name or path.name
    wb = load_return_workbook(path, name)
    try:
        return _read(wb, path, name, saved_at)
    except XlPlanError:
        raise
    except Exception as exc:  # noqa: BLE001 - a sheet is parsed only now (read-only): same rules as loading
        raise UnreadableReturn(_unsafe(name, exc)) from exc


def _read(wb, path: Path, name: str, saved_at: datetime | None) -> ReadReturn:
    from_properties = False
    try:
        identity = read_identity(wb)
    except ReturnIdentityError as exc:
        identity = _identity_from_properties(wb)
        if identity is None:
            raise UnreadableReturn(str(exc).replace("the workbook", name, 1)) from exc
        from_properties = True
    if identity.return_sheet not in wb.sheetnames:
        raise UnreadableReturn(
            f"{name} has no sheet '{identity.return_sheet}' any more (it was renamed or deleted), so its actions "
            "cannot be found. Ask the lead to fill in the file they were sent.")
    ws = wb[identity.return_sheet]
    grid = rows_of(ws, identity.header_row, ws.max_row or 1, 1, ws.max_column or 1)
    header = grid.get(identity.header_row, {})
    rows = {r: ReturnRow(r, values) for r, values in grid.items() if r > identity.header_row}
    section_rows = {rng.min_row for rng in ws.merged_cells.ranges
                    if rng.min_row == rng.max_row and rng.min_row > identity.header_row and rng.max_col > rng.min_col}
    headers = {c: clean(v) for c, v in header.items() if clean(v)}
    if saved_at is None:
        saved_at = datetime.fromtimestamp(path.stat().st_mtime)
    result = ReadReturn(path, name, identity, saved_at, ws.title, identity.header_row, headers, rows,
                        section_rows, from_properties)
    if from_properties:
        result.identity.rows = []          # matched to the master's actions by text in apply.py
    return result


def _identity_from_properties(wb) -> ReturnIdentity | None:
    """The metadata from the custom document properties, with no action table (a re-save lost the sheet)."""
    meta = identity_from_properties(wb)
    needed = ("return_id", "plan_id", "month", "lead", "return_sheet", "header_row", "update_column", "status_column")
    if not all(meta.get(k) for k in needed):
        return None
    try:
        header_row = int(float(meta["header_row"]))
        fmt = int(meta.get("format") or 1)
    except ValueError:
        return None
    if fmt > 1:
        return None
    return ReturnIdentity(
        return_id=meta["return_id"], plan_id=meta["plan_id"], plan_file=meta.get("plan_file", ""),
        plan_path=meta.get("plan_path", ""), plan_sheet=meta.get("plan_sheet", ""),
        master_sha256=meta.get("master_sha256", ""), month=meta["month"], deadline=meta.get("deadline", ""),
        lead=meta["lead"], created=meta.get("created", ""), xl_plan_version=meta.get("xl_plan_version", ""),
        return_sheet=meta["return_sheet"], header_row=header_row, update_column=meta["update_column"],
        previous_update_column=meta.get("previous_update_column", ""), status_column=meta["status_column"],
        status_mode=meta.get("status_mode", ""), rag_names=[n for n in meta.get("rag_names", "").split("|") if n],
        rows=[], format=fmt,
    )


def cell_text(value) -> str:
    """A lead's cell as text to store: what they typed, line breaks kept, no trailing blanks.
    Numbers and dates become the text a person reads."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return clean(value)


def same_text(a, b) -> bool:
    """Equal as a person reads them (spacing and line breaks aside)."""
    return " ".join(clean(a).split()) == " ".join(clean(b).split())


def text_matches(value, sha: str) -> bool:
    return bool(sha) and text_hash(clean(value)) == sha

