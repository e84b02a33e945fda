"""The identity of a return workbook and the stable keys of actions: the contract between
`returns make` (which writes it) and the merge of returns (which trusts it).

ACTION KEYS (in the master)
---------------------------
Every action gets a stable key, independent of its ref (refs repeat and change):
``"A"`` + 8 upper-case hex digits, e.g. ``A3F09BC12`` (random at first assignment).
Excel names are case-insensitive: compare keys upper-cased.

The key lives in the MASTER as a workbook-level defined name ``_xlp_<key>``
(e.g. ``_xlp_A3F09BC12``) whose value is an absolute reference to the action's first
cell, its first row in the first column of the plan table:
``'Improvement Plan'!$A$11``. Excel moves defined names when rows are inserted, deleted
or cut-and-pasted, so the key follows the action. `read_plan` fills ``Action.key`` from
these names (`xl_plan.layout.detect.action_keys`): a name is taken when it points at a
row of an action on the plan's sheet (the action's first row or one of its continuation
rows); names pointing at no action (deleted rows give ``#REF!``) are ignored. When two
names point at the same action the first in sorted order wins.

The plan itself has an id: ``plan_id`` (``P`` + 12 hex digits), held as the row
``plan_id | P…`` in the master's hidden ``xl_plan`` settings sheet.

WHAT A RETURN HOLDS
-------------------
A return is an .xlsx holding one lead's actions. Its identity is in a ``veryHidden``
sheet named ``xl_plan_return`` (IDENTITY_SHEET) laid out as:

* ``A1``: ``xl_plan · return identity`` (marks the sheet as xl_plan's).
* Rows 2 .. : metadata, column A = name, column B = value (all text), until a blank row.
  Names (FORMAT_VERSION 1):

  =====================  ==============================================================
  ``format``             ``"1"``: this layout. A reader must refuse a higher number.
  ``return_id``          32 hex digits, unique per return file (also in the master's
                         ``Returns log`` sheet, so the merge can tie a return to its row).
  ``plan_id``            the master's plan id (see above).
  ``plan_file``          the master's file name (``Improvement plan.xlsx``).
  ``plan_path``          the master's absolute path when the return was made.
  ``plan_sheet``         the master's plan sheet name.
  ``master_sha256``      sha256 (hex) of the master file's bytes as `returns make` read
                         them, BEFORE it added keys / its log. The backup that save makes
                         in ``backups/`` has exactly this hash. The master on disk will
                         differ afterwards (keys, log, merged returns): match on keys.
  ``month``              ``YYYY-MM`` the return is for.
  ``deadline``           ``YYYY-MM-DD`` or empty.
  ``lead``               the lead as written in the plan (``GT``, ``Ann Graham``).
  ``created``            ISO 8601 local time with offset, seconds.
  ``xl_plan_version``    ``xl_plan.__version__`` that wrote it.
  ``return_sheet``       the sheet of the return holding the actions.
  ``header_row``         its header row (number as text).
  ``update_column``      letter of the editable "Update for <Month YYYY>" column.
  ``previous_update_column``  letter of the read-only column holding last month's update
                         ("" when the plan has no update column).
  ``status_column``      letter of the editable status column.
  ``status_mode``        how the MASTER holds status: ``text`` (words in cells),
                         ``fill`` (cell colour only), ``progress-text`` or ``none``. The
                         return always holds words chosen from the RAG key names.
  ``rag_names``          the RAG key names offered in the drop-down, joined by ``|``.
  =====================  ==============================================================

* After the blank row, a table header row (TABLE_HEADER) then one row per action, in
  return order:
  ``key | return_row | master_row | ref | text_sha256 | update_as_sent | status_as_sent``

  - ``key``: the action's stable key (also a defined name in the master).
  - ``return_row``: the row of the action in ``return_sheet`` (number).
  - ``master_row``: its first row in the master when sent (number; informational — rows
    move, the key is authoritative).
  - ``ref``: the ref as written ("" if none).
  - ``text_sha256``: first 16 hex digits of sha256 of the action text with whitespace
    collapsed (`text_hash`), to notice an action rewritten since.
  - ``update_as_sent``: the master's update text when sent (last month's).
  - ``status_as_sent``: the status word shown in the return when sent (a RAG key name,
    or the cell's text when it was not in the key; "" when none).

The same metadata (not the table) is copied into the workbook's custom document
properties as ``xl_plan.<name>`` (File > Info > Properties), a fallback if the sheet was
lost; the sheet wins when both exist.

In the return sheet: the lead may edit only the ``update_column`` and ``status_column``
cells of action rows (sheet protection without a password is a guide, not security: a
merge must still check every other cell against the ``*_as_sent`` values and hashes).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import XlPlanError
from ..owned import KEY_NAME_PREFIX, is_action_key, key_from_name, key_name  # noqa: F401 (re-exported)

FORMAT_VERSION = 1
IDENTITY_SHEET = "xl_plan_return"
IDENTITY_TITLE = "xl_plan · return identity"
PROP_PREFIX = "xl_plan."
TABLE_HEADER = ["key", "return_row", "master_row", "ref", "text_sha256", "update_as_sent", "status_as_sent"]
PLAN_ID_SETTING = "plan_id"

_WS = re.compile(r"\s+")


class ReturnIdentityError(XlPlanError):
    """A workbook is not a return made by xl_plan, or its identity is damaged."""


# ---------------------------------------------------------------- keys

def new_action_key(taken=()) -> str:
    """A fresh key ``A`` + 8 upper-case hex digits, not in `taken` (compared upper-cased)."""
    taken = {t.upper() for t in taken}
    while True:
        key = "A" + secrets.token_hex(4).upper()
        if key not in taken:
            return key


def new_plan_id() -> str:
    return "P" + secrets.token_hex(6).upper()


def text_hash(text: str) -> str:
    """First 16 hex digits of sha256 of `text` with runs of whitespace made one space."""
    return hashlib.sha256(_WS.sub(" ", text or "").strip().encode("utf-8")).hexdigest()[:16]


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- the identity

@dataclass
class IdentityRow:
    key: str
    return_row: int
    master_row: int
    ref: str = ""
    text_sha256: str = ""
    update_as_sent: str = ""
    status_as_sent: str = ""


@dataclass
class ReturnIdentity:
    return_id: str
    plan_id: str
    plan_file: str
    plan_path: str
    plan_sheet: str
    master_sha256: str
    month: str                      # YYYY-MM
    deadline: str                   # YYYY-MM-DD or ""
    lead: str
    created: str                    # ISO 8601
    xl_plan_version: str
    return_sheet: str
    header_row: int
    update_column: str
    previous_update_column: str
    status_column: str
    status_mode: str
    rag_names: list[str] = field(default_factory=list)
    rows: list[IdentityRow] = field(default_factory=list)
    format: int = FORMAT_VERSION

    def metadata(self) -> dict[str, str]:
        """Name -> text, in the order written."""
        out = {"format": str(self.format)}
        for f in fields(self):
            if f.name in ("rows", "format"):
                continue
            value = getattr(self, f.name)
            out[f.name] = "|".join(value) if f.name == "rag_names" else str(value)
        return out

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.rows]


def write_identity(wb, identity: ReturnIdentity) -> None:
    """Add the veryHidden identity sheet and the custom document properties to return `wb`."""
    from openpyxl.packaging.custom import StringProperty

    from ..sheets import put

    if IDENTITY_SHEET in wb.sheetnames:
        wb.remove(wb[IDENTITY_SHEET])
    ws = wb.create_sheet(IDENTITY_SHEET)
    ws.cell(1, 1, IDENTITY_TITLE)
    r = 2
    meta = identity.metadata()
    for name, value in meta.items():
        put(ws, r, 1, name)
        put(ws, r, 2, value)
        r += 1
    r += 1                                   # blank row ends the metadata
    for c, name in enumerate(TABLE_HEADER, 1):
        put(ws, r, c, name)
    for row in identity.rows:
        r += 1
        for c, name in enumerate(TABLE_HEADER, 1):
            put(ws, r, c, getattr(row, name))
    ws.sheet_state = "veryHidden"
    ws.protection.sheet = True
    for name, value in meta.items():
        wb.custom_doc_props.append(StringProperty(name=PROP_PREFIX + name, value=value or "-"))


def read_identity(source) -> ReturnIdentity:
    """The identity of a return: `source` is a path or an openpyxl workbook.
    Raises ReturnIdentityError with a plain message when it is not an xl_plan return."""
    from ..io.values import OpenpyxlValues
    from ..io.workbook import load

    name = Path(source).name if isinstance(source, (str, Path)) else "the workbook"
    wb = load(Path(source)) if isinstance(source, (str, Path)) else source
    return identity_of(OpenpyxlValues(wb), name)


def identity_of(book, name: str) -> ReturnIdentity:
    """The identity held in `book` (xl_plan.io.values: ValuesReader or OpenpyxlValues); `name` names
    the file in messages."""
    if IDENTITY_SHEET not in book.sheetnames:
        raise ReturnIdentityError(
            f"{name} is not a return made by xl_plan (it has no hidden '{IDENTITY_SHEET}' sheet). "
            "It may be a copy re-typed into a new workbook: ask the lead to fill in the file they were sent."
        )
    return identity_from_rows(book.sheet(IDENTITY_SHEET).rows(len(TABLE_HEADER)), name)


def identity_from_rows(values: list[list], name: str) -> ReturnIdentity:
    """The identity from the identity sheet's rows (from row 1, the table's columns, None where empty)."""
    meta: dict[str, str] = {}
    i = 1
    while i < len(values) and values[i][0] not in (None, ""):
        meta[str(values[i][0])] = "" if values[i][1] is None else str(values[i][1])
        i += 1
    try:
        fmt = int(meta.get("format", "0"))
    except ValueError:
        fmt = 0
    if fmt < 1:
        raise ReturnIdentityError(f"{name}: the hidden '{IDENTITY_SHEET}' sheet is damaged (no format line).")
    if fmt > FORMAT_VERSION:
        raise ReturnIdentityError(
            f"{name} was made by a newer xl_plan (return format {fmt}); update xl_plan to read it."
        )
    while i < len(values) and values[i][0] in (None, ""):
        i += 1
    if i >= len(values) or [str(v) for v in values[i][: len(TABLE_HEADER)]] != TABLE_HEADER:
        raise ReturnIdentityError(f"{name}: the hidden '{IDENTITY_SHEET}' sheet is damaged (no action table).")
    rows = []
    for v in values[i + 1:]:
        if v[0] in (None, ""):
            continue
        text = ["" if x is None else str(x) for x in v]
        rows.append(IdentityRow(
            key=text[0].upper(), return_row=int(float(text[1])), master_row=int(float(text[2])),
            ref=text[3], text_sha256=text[4], update_as_sent=text[5], status_as_sent=text[6],
        ))
    missing = [f.name for f in fields(ReturnIdentity) if f.name not in ("rows", "format") and f.name not in meta]
    if missing:
        raise ReturnIdentityError(
            f"{name}: the hidden '{IDENTITY_SHEET}' sheet is damaged (missing {', '.join(missing)})."
        )
    return ReturnIdentity(
        return_id=meta["return_id"], plan_id=meta["plan_id"], plan_file=meta["plan_file"],
        plan_path=meta["plan_path"], plan_sheet=meta["plan_sheet"], master_sha256=meta["master_sha256"],
        month=meta["month"], deadline=meta["deadline"], lead=meta["lead"], created=meta["created"],
        xl_plan_version=meta["xl_plan_version"], return_sheet=meta["return_sheet"],
        header_row=int(meta["header_row"]), update_column=meta["update_column"],
        previous_update_column=meta["previous_update_column"], status_column=meta["status_column"],
        status_mode=meta["status_mode"], rag_names=[n for n in meta["rag_names"].split("|") if n],
        rows=rows, format=fmt,
    )


def identity_from_properties(wb) -> dict[str, str]:
    """The metadata copy kept in custom document properties (``xl_plan.*``), name -> value.
    `wb` is an openpyxl workbook or a {property name: value} dict."""
    props = wb if isinstance(wb, dict) else {p.name: p.value for p in getattr(wb, "custom_doc_props", []) or []}
    out = {}
    for prop_name, value in props.items():
        if prop_name and prop_name.startswith(PROP_PREFIX):
            out[prop_name[len(PROP_PREFIX):]] = "" if value in (None, "-") else str(value)
    return out
