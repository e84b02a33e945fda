"""Reading a returned workbook safely.

A return comes back by email from outside the improvement team: its XML is untrusted and
it may hold macros. It is read with openpyxl's parsers (which parse XML through defusedxml, so
an entity bomb is refused), never with its macros, never saved and no part of it is ever copied
into the master: only cell values are taken, as text.

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

from ..errors import XlPlanError
from ..returns.identity import (
    IdentityRow,
    ReturnIdentity,
    ReturnIdentityError,
    identity_from_properties,
    identity_of,
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


def _check_file(path: Path, name: str) -> None:
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


def load_return_workbook(path: Path, name: str):
    """openpyxl workbook of a return: defused XML, no macros, values as stored (a formula comes back as
    its text)."""
    import warnings

    import openpyxl

    _check_file(path, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(path, keep_vba=False, data_only=False, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - defusedxml and others: the file is unusable, say so
        raise UnreadableReturn(_unsafe(name, exc)) from exc


def _refused_xml(exc: BaseException) -> bool:
    chain, e = [], exc
    while e is not None and len(chain) < 5:
        chain.append(e)
        e = e.__cause__ or e.__context__
    return any(type(x).__module__.startswith("defusedxml") for x in chain)


def _unsafe(name: str, exc: Exception) -> str:
    if _refused_xml(exc):
        return (f"{name} holds XML that xl_plan refuses to read (entity declarations, as used by hostile files "
                "to exhaust memory). It was not merged: ask the lead to send their return again, typed into the "
                "file they were sent.")
    return (f"{name} could not be read as an Excel workbook ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
            "It may be damaged: ask the lead to open it in Excel, save it again and send it back.")


def read_return(path, *, name: str | None = None, saved_at: datetime | None = None) -> ReadReturn:
    """Read a returned workbook. Raises UnreadableReturn with a plain message when it cannot be used.

    Only the values of the identity and return sheets are read (io/values.py), several times faster
    than a full openpyxl load. Should that lean reader meet anything it does not handle, the file is
    read again with openpyxl's full load, which either reads it or says plainly what is wrong."""
    import warnings

    from ..io.values import OpenpyxlValues, ValuesReader

    path = Path(path)
    name = name or path.name
    _check_file(path, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with ValuesReader(path) as book:
                return _read(book, path, name, saved_at)
    except XlPlanError:
        raise
    except Exception as exc:  # noqa: BLE001 - judged below
        if _refused_xml(exc):
            raise UnreadableReturn(_unsafe(name, exc)) from exc
        from ..log import get_logger
        get_logger().info("%s: lean reader gave up (%s: %s), reading it in full", name, type(exc).__name__, exc)
    wb = load_return_workbook(path, name)
    try:
        return _read(OpenpyxlValues(wb), path, name, saved_at)
    except XlPlanError:
        raise
    except Exception as exc:  # noqa: BLE001 - same rules as loading
        raise UnreadableReturn(_unsafe(name, exc)) from exc


def _read(book, path: Path, name: str, saved_at: datetime | None) -> ReadReturn:
    """`book`: a ValuesReader or OpenpyxlValues (xl_plan/io/values.py)."""
    from_properties = False
    try:
        identity = identity_of(book, "the workbook")
    except ReturnIdentityError as exc:
        identity = _identity_from_properties(book.custom_properties())
        if identity is None:
            raise UnreadableReturn(str(exc).replace("the workbook", name, 1)) from exc
        from_properties = True
    if identity.return_sheet not in book.sheetnames:
        raise UnreadableReturn(
            f"{name} has no sheet '{identity.return_sheet}' any more (it was renamed or deleted), so its actions "
            "cannot be found. Ask the lead to fill in the file they were sent.")
    sheet = book.sheet(identity.return_sheet)
    grid = {r: values for r, values in sheet.cells.items() if r >= identity.header_row}
    header = grid.get(identity.header_row, {})
    rows = {r: ReturnRow(r, values) for r, values in grid.items() if r > identity.header_row}
    section_rows = {min_row for min_col, min_row, max_col, max_row in sheet.merged
                    if min_row == max_row and min_row > identity.header_row and max_col > min_col}
    headers = {c: clean(v) for c, v in header.items() if clean(v)}
    if saved_at is None:
        saved_at = datetime.fromtimestamp(path.stat().st_mtime)
    result = ReadReturn(path, name, identity, saved_at, sheet.title, identity.header_row, headers, rows,
                        section_rows, from_properties)
    if from_properties:
        result.identity.rows = []          # matched to the master's actions by text in apply.py
    return result


def _identity_from_properties(props: dict) -> ReturnIdentity | None:
    """The metadata from the custom document properties, with no action table (a re-save lost the sheet)."""
    meta = identity_from_properties(props)
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
    if type(a) is type(b) and a == b:
        return True         # the same value reads the same: most cells a merge compares are untouched
    return " ".join(clean(a).split()) == " ".join(clean(b).split())


