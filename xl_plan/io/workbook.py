"""Opening workbooks from disk with a plain message for every way that can fail."""
from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path

from ..errors import WorkbookLockedError, WorkbookReadError

MACRO_SUFFIXES = {".xlsm", ".xltm"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def lock_file(path: Path) -> Path | None:
    """Excel's owner file (~$name.xlsx) beside an open workbook, if there is one."""
    path = Path(path)
    for name in (f"~${path.name}", f"~${path.name[2:]}"):
        candidate = path.with_name(name)
        if candidate.exists():
            return candidate
    return None


def refuse_if_open(path: Path) -> None:
    lock = lock_file(path)
    if lock:
        raise WorkbookLockedError(
            f"{Path(path).name} is open in Excel (the lock file {lock.name} is beside it). "
            "Save and close it in Excel, then run this again. Nothing was changed."
        )


def check_readable(path: Path) -> None:
    """Raise WorkbookReadError with a plain message unless `path` looks like an .xlsx/.xlsm."""
    path = Path(path)
    if not path.exists():
        raise WorkbookReadError(f"{path} does not exist. Check the file name and folder.")
    if path.is_dir():
        raise WorkbookReadError(f"{path} is a folder, not an Excel workbook.")
    with open(path, "rb") as fh:
        head = fh.read(8)
        if head == OLE_MAGIC:
            fh.seek(0)
            blob = fh.read(1 << 20)
            if "EncryptedPackage".encode("utf-16-le") in blob:
                raise WorkbookReadError(
                    f"{path.name} is protected with a password, so xl_plan cannot read it. "
                    "In Excel, use File > Info > Protect Workbook > Encrypt with Password, clear the "
                    "password, save, and run this again."
                )
            raise WorkbookReadError(
                f"{path.name} is an old Excel 97-2003 (.xls) workbook. Open it in Excel, use "
                "File > Save As > Excel Workbook (.xlsx), and run this on the .xlsx."
            )
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK"):
            raise WorkbookReadError(
                f"{path.name} is damaged: it starts like an Excel workbook but is incomplete (perhaps a "
                "download or copy that did not finish). Use a backup copy or ask for the file again."
            )
        raise WorkbookReadError(
            f"{path.name} is not an Excel workbook (.xlsx or .xlsm). If it is a CSV or another "
            "format, open it in Excel and save it as an Excel Workbook."
        )
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise WorkbookReadError(f"{path.name} is damaged and cannot be opened ({exc}). Use a backup copy.") from exc
    if "xl/workbook.xml" not in names:
        raise WorkbookReadError(
            f"{path.name} is a zip file but not an Excel workbook (it has no xl/workbook.xml)."
        )


def load(path, *, keep_vba: bool | None = None, data_only: bool = False, read_replaced: bool = True):
    """openpyxl workbook for `path`, or WorkbookReadError with a message a manager can act on.
    `read_replaced=False`: xl_plan's sheets that a job makes anew are read to their first rows only
    (io/sheet_reader.py), for a job that changes the workbook."""
    path = Path(path)
    check_readable(path)
    if keep_vba is None:
        keep_vba = path.suffix.lower() in MACRO_SUFFIXES or _has_vba(path)
    from .sheet_reader import FastExcelReader

    reader = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it does not read
            reader = FastExcelReader(path, read_only=False, keep_vba=keep_vba, data_only=data_only, keep_links=True)
            reader.read_replaced = read_replaced
            reader.read()
            return reader.wb
    except WorkbookReadError:
        raise
    except Exception as exc:  # openpyxl raises many types for damaged parts
        _close_reader(reader)     # else the macro copy openpyxl keeps complains when it is collected
        raise WorkbookReadError(
            f"{path.name} could not be read as an Excel workbook: {exc}. "
            "Open it in Excel to check it is not damaged, save it again, and retry."
        ) from exc


def _close_reader(reader) -> None:
    for archive in (getattr(reader, "archive", None), getattr(getattr(reader, "wb", None), "vba_archive", None)):
        try:
            if archive is not None:
                archive.close()
        except (OSError, ValueError):
            pass


def saved_results(path, sheet: str, cells) -> dict[tuple[int, int], object]:
    """The results Excel saved for the formula cells `cells` ((row, column) pairs) of `sheet`:
    {(row, column): value}, the value None where the file holds no result (it was written by a
    program that does not calculate formulas, such as openpyxl). Reads only that sheet's XML, and
    only as far as the last row asked for. A file that cannot be read this way gives None for all."""
    import posixpath
    import re

    from defusedxml.ElementTree import fromstring, iterparse
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    wanted = set(cells)
    out: dict[tuple[int, int], object] = {cell: None for cell in wanted}
    if not wanted:
        return out
    last_row = max(r for r, _ in wanted)
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_id = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        with zipfile.ZipFile(path) as zf:
            book = fromstring(zf.read("xl/workbook.xml"))
            rid = next((s.get(rel_id) for s in book.iter(f"{main}sheet") if s.get("name") == sheet), None)
            rels = fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
            if target is None:
                return out
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            shared = None
            with zf.open(part) as fh:
                row, col = 0, 0          # positions, for cells and rows written without an "r"
                for event, el in iterparse(fh, events=("start", "end")):
                    tag = el.tag
                    if tag == f"{main}row":
                        if event == "start":
                            row, col = int(el.get("r") or row + 1), 0
                            continue
                        el.clear()
                        if row >= last_row:
                            break
                        continue
                    if tag != f"{main}c" or event != "end":
                        continue
                    ref = el.get("r")
                    if ref:
                        letters, r = coordinate_from_string(ref)
                        col = column_index_from_string(letters)
                    else:
                        r, col = row, col + 1
                    key = (r, col)
                    if key not in wanted:
                        continue
                    v = el.find(f"{main}v")
                    kind = el.get("t", "n")
                    if v is None or (v.text is None and kind not in ("str", "inlineStr")):
                        continue                      # no saved result
                    text = v.text or ""
                    if kind in ("str", "inlineStr", "e"):
                        out[key] = text
                    elif kind == "b":
                        out[key] = text.strip() in ("1", "true")
                    elif kind == "s":
                        if shared is None:
                            shared = _shared_strings(zf)
                        out[key] = shared[int(text)] if text.isdigit() and int(text) < len(shared) else None
                    else:
                        try:
                            number = float(text)
                        except ValueError:
                            continue
                        out[key] = int(number) if number.is_integer() and re.fullmatch(r"-?\d+", text.strip()) else number
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, SyntaxError):
        return {cell: None for cell in wanted}
    return out


def _shared_strings(zf) -> list[str]:
    from defusedxml.ElementTree import fromstring

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    try:
        root = fromstring(zf.read("xl/sharedStrings.xml"))
    except KeyError:
        return []
    return ["".join(t.text or "" for t in si.iter(f"{main}t")) for si in root.iter(f"{main}si")]


def _has_vba(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return "xl/vbaProject.bin" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def file_stamp(path) -> tuple[int, int]:
    """What 'changed on disk since it was read' compares: size and modification time."""
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns)
