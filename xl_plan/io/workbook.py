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


def load(path, *, keep_vba: bool | None = None, data_only: bool = False):
    """openpyxl workbook for `path`, or WorkbookReadError with a message a manager can act on."""
    import openpyxl

    path = Path(path)
    check_readable(path)
    if keep_vba is None:
        keep_vba = path.suffix.lower() in MACRO_SUFFIXES or _has_vba(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it does not read
            return openpyxl.load_workbook(path, keep_vba=keep_vba, data_only=data_only, keep_links=True)
    except WorkbookReadError:
        raise
    except Exception as exc:  # openpyxl raises many types for damaged parts
        raise WorkbookReadError(
            f"{path.name} could not be read as an Excel workbook: {exc}. "
            "Open it in Excel to check it is not damaged, save it again, and retry."
        ) from exc


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
