"""The one registry of the sheets xl_plan owns in a user's workbook, used by plan detection,
the writers, `unmark`, the ribbon and the package writer.

xl_plan recognises its sheets by its own marker, never by name alone: A1 of every sheet it
writes reads 'xl_plan · <title>'; the hidden settings sheet and a return's identity sheet are
called by xl_plan's own name; the Leads sheet (which the manager fills in) starts with its
'As written in plan' header. A council's own sheet called "Summary" or "Gantt" is theirs: xl_plan
reads it like any other sheet and writes its own beside it as 'Summary (xl_plan)'."""
from __future__ import annotations

import re
from dataclasses import dataclass

OWNER = "xl_plan"
MARK = f"{OWNER} · "
LEADS_FIRST_HEADER = "As written in plan"


@dataclass(frozen=True)
class OwnedSheet:
    name: str                   # the tab xl_plan writes ('<name> (xl_plan)' beside a user's sheet of that name)
    state: str = "visible"      # or "hidden" / "veryHidden"
    unmark: bool = False        # removed by `xl-plan unmark`
    by_name: bool = False       # its name is xl_plan's marker ('xl_plan', 'xl_plan_return')
    whole: bool = True          # xl_plan writes the whole sheet; False: the manager edits it too (cell by cell)
    replaced: bool = False      # made anew by every job that writes it, and no job reads its cells (a job
                                # changing the workbook reads only its first rows: io/workbook.load)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,) if self.by_name else (self.name, f"{self.name} ({OWNER})")


VALIDATION = OwnedSheet("Validation", unmark=True, replaced=True)
CARRIED = OwnedSheet("Carried forward", unmark=True, replaced=True)
GANTT = OwnedSheet("Gantt", replaced=True)
SUMMARY = OwnedSheet("Summary", replaced=True)
HISTORY = OwnedSheet("History")
LEADS = OwnedSheet("Leads", whole=False)
RETURNS_LOG = OwnedSheet("Returns log", state="hidden")
SETTINGS = OwnedSheet(OWNER, state="hidden", by_name=True, whole=False)
RETURN_IDENTITY = OwnedSheet("xl_plan_return", state="veryHidden", by_name=True)   # in a return, not the master
REGISTRY = (VALIDATION, CARRIED, GANTT, SUMMARY, HISTORY, LEADS, RETURNS_LOG, SETTINGS, RETURN_IDENTITY)


def marked(value) -> bool:
    """A1 of a sheet xl_plan wrote."""
    return isinstance(value, str) and value.startswith(OWNER)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def owned_kind(name: str, first_cells=()) -> OwnedSheet | None:
    """Which of xl_plan's sheets this is, from its name and its first cells in column A (A1 first);
    None for the user's own sheets."""
    cells = list(first_cells)
    for kind in REGISTRY:
        if kind.by_name and name == kind.name:
            return kind
    if kind_is_leads(name, cells):
        return LEADS
    if cells and marked(cells[0]):
        for kind in REGISTRY:
            if name in kind.names:
                return kind
        return OwnedSheet(name)          # one of xl_plan's under a name it no longer uses
    return None


def kind_is_leads(name: str, cells) -> bool:
    return name in LEADS.names and any(_text(v) == LEADS_FIRST_HEADER for v in cells)


FIRST_ROWS = 5                  # the rows of column A `owned_kind` looks at


def first_cells(ws, rows: int = FIRST_ROWS) -> list:
    """Column A of an openpyxl sheet's first rows: what `owned_kind` looks at (read without ws.cell,
    which would add an empty cell to the sheet for each one missing)."""
    cells = getattr(ws, "_cells", None)
    if cells is None:                   # a read-only sheet: its cell() makes nothing
        return [ws.cell(r, 1).value for r in range(1, rows + 1)]
    return [cell.value if (cell := cells.get((r, 1))) is not None else None for r in range(1, rows + 1)]


def kind_of(ws) -> OwnedSheet | None:
    return owned_kind(ws.title, first_cells(ws))


def is_owned(ws) -> bool:
    """One of xl_plan's sheets that it writes whole (replaced, or copied across whole by the ribbon)."""
    kind = kind_of(ws)
    return kind is not None and kind.whole


def find_owned(wb, kind: OwnedSheet):
    """xl_plan's sheet of this kind in an openpyxl workbook, or None (a user's own sheet of that name is not it)."""
    for name in kind.names:
        if name in wb.sheetnames and kind_of(wb[name]) is not None:
            return wb[name]
    return None


# xl_plan's defined names in the master: an action's stable key as `_xlp_<key>` (xl_plan/returns/identity.py)
KEY_NAME_PREFIX = "_xlp_"
_KEY = re.compile(r"^A[0-9A-F]{8}$")


def is_action_key(text: str) -> bool:
    return bool(_KEY.match((text or "").upper()))


def key_name(key: str) -> str:
    """The master's defined name for a key: ``_xlp_A3F09BC12``."""
    return KEY_NAME_PREFIX + key.upper()


def key_from_name(name: str) -> str | None:
    """``_xlp_A3F09BC12`` -> ``A3F09BC12``; None for other names."""
    if not name or not name.lower().startswith(KEY_NAME_PREFIX):
        return None
    key = name[len(KEY_NAME_PREFIX):].upper()
    return key if _KEY.match(key) else None
