"""A stand-in for the xlwings objects the ribbon layer uses. It records what was written into
"Excel" so tests can check it, and it refuses what real xlwings 0.37.8 refuses:

- `FakeApp`, `FakeBooks`, `FakeBook`, `FakeSheets`, `FakeSheet`, `FakeRange`, `FakeNames`,
  `FakeName` and `FakeNote` offer only attributes that xlwings' `App`, `Books`, `Book`,
  `Sheets`, `Sheet`, `Range`, `Names`, `Name` and `Note` have, read-only where xlwings' are,
  with parameters xlwings' methods take (`STANDS_IN_FOR`; tests/test_ribbon.py compares them
  with the installed xlwings). What the stand-in keeps for the tests starts with "_".
- `.api` is what it is on the platform: with `platform="windows"` (the default) a COM object
  with only Excel's VBA names (`Visible`, `AddComment`); with `platform="macos"` an appscript
  reference with only names of Excel's AppleScript dictionary (`visible.get()/.set()`,
  `add_comment(comment_text=...)`) and no COM names, so a Windows-only call fails in a test.
  `install` makes `sys.platform` match and, for macOS, provides `appscript.k`, whose
  keywords are only those of the dictionary xlwings ships (xlwings/mac_dict.py).
- Like xlwings, `Sheet.visible` and `Range.add_note` go through `.api` (xlwings' _xlwindows.py
  and _xlmac.py): the same call exercises each platform's native names.
"""
from __future__ import annotations

import functools
import importlib.util
import sys
import types
from pathlib import Path

import openpyxl

PLATFORMS = {"windows": "win32", "macos": "darwin"}


class Recorder(list):
    def of(self, kind):
        return [op for op in self if op[0] == kind]


# ---------------------------------------------------------------- appscript (macOS)

XLWINGS_DIR = Path(importlib.util.find_spec("xlwings").origin).parent   # found, not imported


@functools.cache
def mac_dictionary():
    """Enumerators, properties and commands (command -> its parameters) of Excel's AppleScript
    dictionary as xlwings 0.37.8 ships it (xlwings/mac_dict.py, read without importing xlwings)."""
    spec = importlib.util.spec_from_file_location("xlwings_mac_dict", XLWINGS_DIR / "mac_dict.py")
    mac_dict = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mac_dict)
    return ({name for name, _ in mac_dict.enums}, {name for name, _ in mac_dict.properties},
            {name: {p for p, _ in params} for name, _, params in mac_dict.commands})


class Keyword:
    """appscript's keyword (`k.sheet_visible`): equal by name."""

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, Keyword) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"k.{self.name}"


class KeywordFactory:
    """`appscript.k`: only the enumerators Excel's dictionary defines."""

    def __getattr__(self, name):
        if name.startswith("_") or name not in mac_dictionary()[0]:
            raise AttributeError(f"Excel's AppleScript dictionary has no keyword {name!r}")
        return Keyword(name)


def appscript_module():
    module = types.ModuleType("appscript")
    module.k = KeywordFactory()
    return module


class AppleScriptProperty:
    """A property reference of appscript: read with .get(), write with .set()."""

    __slots__ = ("_get", "_set")

    def __init__(self, get, set_):
        self._get, self._set = get, set_

    def get(self):
        return self._get()

    def set(self, value):
        self._set(value)


MAC_VISIBILITY = {"sheet_visible": "visible", "sheet_hidden": "hidden", "sheet_very_hidden": "veryHidden"}


class AppleScriptSheet:
    """`sheet.api` on macOS: a worksheet reference. No COM names (`Visible` fails)."""

    __slots__ = ("_sheet",)

    def __init__(self, sheet):
        self._sheet = sheet

    @property
    def visible(self):
        sheet = self._sheet

        def get():
            return Keyword({v: k for k, v in MAC_VISIBILITY.items()}[sheet._state])

        def set_(value):
            if isinstance(value, bool):   # what xlwings' Sheet.visible sets on macOS
                sheet._set_state("visible" if value else "hidden")
            elif isinstance(value, Keyword) and value.name in MAC_VISIBILITY:
                sheet._set_state(MAC_VISIBILITY[value.name])
            else:
                raise TypeError(f"AppleScript cannot set a sheet's visible to {value!r}")

        return AppleScriptProperty(get, set_)


class AppleScriptRange:
    """`range.api` on macOS: a range reference. No COM names (`AddComment` fails)."""

    __slots__ = ("_range",)

    def __init__(self, rng):
        self._range = rng

    def add_comment(self, *, comment_text):
        self._range._store_note(comment_text)


# ---------------------------------------------------------------- COM (Windows)

COM_VISIBILITY = {-1: "visible", True: "visible", 0: "hidden", 2: "veryHidden"}   # False == 0


class ComSheet:
    """`sheet.api` on Windows: a Worksheet COM object. No AppleScript names."""

    __slots__ = ("_sheet",)

    def __init__(self, sheet):
        self._sheet = sheet

    @property
    def Visible(self):
        return {"visible": -1, "hidden": 0, "veryHidden": 2}[self._sheet._state]

    @Visible.setter
    def Visible(self, value):
        if value not in COM_VISIBILITY:
            raise ValueError(f"Excel's Visible takes an XlSheetVisibility, not {value!r}")
        self._sheet._set_state(COM_VISIBILITY[value])


class ComRange:
    """`range.api` on Windows: a Range COM object. No AppleScript names."""

    __slots__ = ("_range",)

    def __init__(self, rng):
        self._range = rng

    def AddComment(self, text):
        self._range._store_note(text)


# ---------------------------------------------------------------- xlwings' objects

class FakeNote:
    def __init__(self, rng):
        self._range = rng

    @property
    def text(self):
        return self._range.sheet._notes[self._range._coord]

    @text.setter
    def text(self, value):
        rng = self._range
        rng.sheet._notes[rng._coord] = value
        rng.sheet.book._ops.append(("note", rng.sheet.name, rng._coord, value))

    def delete(self):
        rng = self._range
        rng.sheet._notes.pop(rng._coord, None)
        rng.sheet.book._ops.append(("note-delete", rng.sheet.name, rng._coord))


class FakeRange:
    def __init__(self, sheet, coord):
        self._sheet, self._coord = sheet, coord

    @property
    def sheet(self):
        return self._sheet

    @property
    def api(self):
        return AppleScriptRange(self) if self._sheet.book._platform == "macos" else ComRange(self)

    @property
    def note(self):
        return FakeNote(self) if self._coord in self._sheet._notes else None

    def add_note(self, text):
        """xlwings' checks, then the platform's call (_xlwindows: AddComment, _xlmac: add_comment)."""
        if not isinstance(text, str):
            raise TypeError("Note text must be a string")
        if not text:
            raise ValueError("Note text must not be empty")
        if ":" in self._coord:
            raise ValueError("A note can only be added to a single cell")
        if self.note is not None:
            raise ValueError("This cell already has a note")
        if self._sheet.book._platform == "macos":
            self.api.add_comment(comment_text=text)
        else:
            self.api.AddComment(text)
        return self.note

    def _store_note(self, text):
        self._sheet._notes[self._coord] = text
        self._sheet.book._ops.append(("note", self._sheet.name, self._coord, text))

    @property
    def value(self):
        return self._sheet._values.get(self._coord)

    @value.setter
    def value(self, v):
        self._sheet._values[self._coord] = v
        self._sheet.book._ops.append(("value", self._sheet.name, self._coord, v))

    @property
    def color(self):
        return None

    @color.setter
    def color(self, rgb):
        self._sheet.book._ops.append(("color", self._sheet.name, self._coord, rgb))


class FakeSheet:
    def __init__(self, book, name, state="visible"):
        self._book, self.name = book, name
        self._values, self._notes = {}, {}
        self._state = state

    @property
    def book(self):
        return self._book

    @property
    def api(self):
        return AppleScriptSheet(self) if self._book._platform == "macos" else ComSheet(self)

    @property
    def index(self):
        return self._book._sheets.index(self) + 1

    @property
    def visible(self):
        return self._state == "visible"

    @visible.setter
    def visible(self, value):
        """As xlwings does it: _xlwindows sets `Visible`, _xlmac sets `visible`."""
        if self._book._platform == "macos":
            self.api.visible.set(value)
        else:
            self.api.Visible = value

    def _set_state(self, state):
        self._state = state
        self._book._ops.append(("visibility", self.name, state))

    def range(self, cell1):
        return FakeRange(self, cell1)

    def delete(self):
        self._book._sheets.remove(self)
        self._book._ops.append(("delete-sheet", self.name))

    def copy(self, before=None, after=None):
        assert before is None or after is None, "you must provide either before or after but not both"
        target = (before or after).book
        copy = FakeSheet(target, self.name, self._state)
        pos = target._sheets.index(before) if before else target._sheets.index(after) + 1
        target._sheets.insert(pos, copy)
        target._ops.append(("copy-sheet", self.name, pos + 1))
        return copy


class FakeSheets:
    def __init__(self, book):
        self._book = book

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._book._sheets[key]
        return next(s for s in self._book._sheets if s.name == key)

    def __iter__(self):
        return iter(list(self._book._sheets))

    def __len__(self):
        return len(self._book._sheets)


class FakeName:
    def __init__(self, book, name, refers_to):
        self._book, self._name, self._refers_to = book, name, refers_to

    @property
    def name(self):
        return self._name

    @property
    def refers_to(self):
        return self._refers_to

    def delete(self):
        self._book._names.pop(self._name)
        self._book._ops.append(("name-delete", self._name))


class FakeNames:
    def __init__(self, book):
        self._book = book

    def __iter__(self):
        return iter(list(self._book._names.values()))

    def __len__(self):
        return len(self._book._names)

    def __getitem__(self, item):
        return self._book._names[item]

    def add(self, name, refers_to):
        self._book._names[name] = FakeName(self._book, name, refers_to)
        self._book._ops.append(("name-add", name, refers_to))
        return self._book._names[name]


class FakeBooks:
    def __init__(self, app):
        self._app = app

    def open(self, fullname=None):
        book = self._app._book
        source = FakeBook(fullname, ops=book._ops, app=self._app, platform=book._platform)
        book._ops.append(("open", str(fullname)))
        return source


class FakeApp:
    def __init__(self, book):
        self._book = book
        self.status_bar = None
        self.screen_updating = True
        self.display_alerts = True
        self._alerts = []

    @property
    def books(self):
        return FakeBooks(self)

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self._alerts.append(prompt)


class FakeBook:
    """A workbook 'open in Excel': its sheets are the file's; writes are recorded in `_ops`."""

    def __init__(self, fullname, ops=None, app=None, answers=None, platform="windows"):
        assert platform in PLATFORMS, platform
        self._platform = platform
        self._fullname = str(fullname)
        self._ops = ops if ops is not None else Recorder()
        self._app = app or FakeApp(self)
        self._answers = answers or {}
        wb = openpyxl.load_workbook(fullname)
        self._sheets = [FakeSheet(self, ws.title, ws.sheet_state) for ws in wb.worksheets]
        self._names = {}

    @property
    def fullname(self):
        return self._fullname

    @property
    def app(self):
        return self._app

    @property
    def sheets(self):
        return FakeSheets(self)

    @property
    def names(self):
        return FakeNames(self)

    def save(self, path=None):
        self._ops.append(("save", self._fullname))

    def close(self):
        self._ops.append(("close", self._fullname))

    def macro(self, name):
        return lambda *args: self._answers.get(name, "")


STANDS_IN_FOR = {"App": FakeApp, "Books": FakeBooks, "Book": FakeBook, "Sheets": FakeSheets,
                 "Sheet": FakeSheet, "Range": FakeRange, "Names": FakeNames, "Name": FakeName,
                 "Note": FakeNote}


def install(monkeypatch, book: FakeBook):
    """Make `import xlwings` give a module whose Book.caller() is `book`, on the book's platform:
    sys.platform is "win32" or "darwin", and only macOS has appscript."""
    module = types.ModuleType("xlwings")
    module.Book = types.SimpleNamespace(caller=lambda: book)
    monkeypatch.setitem(sys.modules, "xlwings", module)
    monkeypatch.setattr(sys, "platform", PLATFORMS[book._platform])
    monkeypatch.setitem(sys.modules, "appscript", appscript_module() if book._platform == "macos" else None)
    return module
