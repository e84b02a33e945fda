"""The few Excel calls on the ribbon's path that xlwings has no cross-platform call for: one
small function per platform, chosen by `sys.platform` and nothing else.

An xlwings object's `.api` is a pywin32 COM object on Windows (Excel's VBA names: `Visible`,
`AddComment`) and an appscript reference on macOS (Excel's AppleScript dictionary: snake_case
names read with `.get()` and written with `.set()`); a name of one does not exist on the other.
Everything else the ribbon does goes through xlwings' own calls (README, "The Excel ribbon")."""
from __future__ import annotations

import sys
from pathlib import Path

XL_SHEET_VERY_HIDDEN = 2   # Excel's xlSheetVeryHidden (COM's XlSheetVisibility)


def on_mac() -> bool:
    return sys.platform == "darwin"


# ---------------------------------------------------------------- very hidden sheets
# xlwings' Sheet.visible only knows visible and hidden.

def very_hide_windows(sheet) -> None:
    sheet.api.Visible = XL_SHEET_VERY_HIDDEN


def very_hide_mac(sheet) -> None:
    # appscript comes with xlwings on macOS; xlwings' _xlmac.py uses the same constants
    from appscript import k

    sheet.api.visible.set(k.sheet_very_hidden)


def very_hide(sheet) -> None:
    (very_hide_mac if on_mac() else very_hide_windows)(sheet)


# ---------------------------------------------------------------- a file Excel opens for xl_plan
# Excel for Mac is sandboxed: opening a file outside its container asks the user to grant
# access ("Grant File Access") for every new folder, so a temporary folder would ask on every
# click. Files in Excel's own container open without asking.

MAC_EXCEL_CONTAINER = Path("Library", "Containers", "com.microsoft.Excel", "Data")


def openable_folder_windows(default: Path) -> Path:
    return default


def openable_folder_mac(default: Path) -> Path:
    folder = Path.home() / MAC_EXCEL_CONTAINER / "xl_plan"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def openable_folder(default: Path) -> Path:
    """A folder from which `app.books.open` opens a file without asking the user."""
    return (openable_folder_mac if on_mac() else openable_folder_windows)(default)
