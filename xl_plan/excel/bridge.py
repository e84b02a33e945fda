"""The thin xlwings layer: run a shared job on a saved copy of the open workbook, then write
what it changed back into Excel, so that Excel keeps everything the workbook had.

Only this package imports xlwings. Everything here is plumbing; the logic is in the jobs
(xl_plan.jobs) and in the change list (xl_plan.io.diff), both tested on real files."""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path

from .platforms import openable_folder, very_hide

FORMULA_START = ("=", "+", "-", "@")


def book_path(book) -> Path:
    from ..errors import XlPlanError

    path = Path(book.fullname)
    if not path.is_file():
        raise XlPlanError("Save this workbook first (File > Save As, as .xlsm), then click the button again.")
    return path


@contextmanager
def working_copy(book):
    """Save the open workbook, keep a backup of it, and yield (plan path, copy to run the job on)."""
    from ..io.save import make_backup

    book.save()   # the job reads the file: it must hold what the user sees
    path = book_path(book)
    make_backup(path)
    with tempfile.TemporaryDirectory(prefix="xl_plan-") as tmp:
        before = Path(tmp) / "before" / path.name
        after = Path(tmp) / "after" / path.name
        for target in (before, after):
            target.parent.mkdir()
            shutil.copy2(path, target)
        yield path, before, after


def apply_changes(book, changes, after: Path) -> None:
    """Write a job's changes (xl_plan.io.diff.WorkbookChanges) into the open workbook."""
    app = book.app
    app.screen_updating = False
    app.display_alerts = False
    try:
        if changes.sheets:
            _copy_sheets(book, changes.sheets, after)
        for name in changes.removed_sheets:
            if name in _names(book.sheets):
                book.sheets[name].delete()
        for change in changes.cells:
            _write_cell(book.sheets[change.sheet].range(change.coordinate), change)
        for name, state in changes.hidden_sheets.items():
            sheet = book.sheets[name]
            if state == "veryHidden":
                very_hide(sheet)
            else:
                sheet.visible = state == "visible"
        for name in changes.names_removed:
            if name in _names(book.names):
                book.names[name].delete()
        for name, ref in changes.names_added.items():
            book.names.add(name, "=" + ref)
    finally:
        app.display_alerts = True
        app.screen_updating = True


def _names(collection) -> list[str]:
    return [item.name for item in collection]


def _copy_sheets(book, names: list[str], after: Path) -> None:
    """Copy xl_plan's sheets whole from the job's result: Excel copies formats, conditional
    formatting, charts and print settings itself."""
    # Excel cannot open two workbooks of the same name: open the result under another name.
    source_path = openable_folder(after.parent) / f"xl_plan result{after.suffix}"
    shutil.copy2(after, source_path)
    source = book.app.books.open(str(source_path))
    try:
        for name in names:
            position = None
            if name in _names(book.sheets):
                old = book.sheets[name]
                position = old.index
                old.delete()
            sheets = book.sheets
            if position is not None and position <= len(sheets):
                source.sheets[name].copy(before=sheets[position - 1])
            else:
                source.sheets[name].copy(after=sheets[len(sheets) - 1])
    finally:
        source.close()
        with suppress(OSError):   # on macOS it is not in the temporary folder
            source_path.unlink()


def _write_cell(rng, change) -> None:
    if "value" in change.fields:
        value = change.value
        if isinstance(value, str) and value.startswith(FORMULA_START):
            value = "'" + value   # Excel's text prefix: a lead's text never becomes a formula
        rng.value = value
    if "fill" in change.fields:
        rng.color = None if change.fill is None else tuple(int(change.fill[i:i + 2], 16) for i in (0, 2, 4))
    if "note" in change.fields:
        note = rng.note
        if change.note is None:
            if note is not None:
                note.delete()
        elif note is not None:
            note.text = change.note
        else:
            rng.add_note(change.note)
