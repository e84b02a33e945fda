"""A stand-in for the few xlwings objects the ribbon layer uses: it records what was written
into "Excel" so tests can check it. Only the xlwings layer is tested against this."""
from __future__ import annotations

import types

import openpyxl


class Recorder(list):
    def of(self, kind):
        return [op for op in self if op[0] == kind]


class FakeNote:
    def __init__(self, rng, text):
        self.rng, self._text = rng, text

    @property
    def text(self):
        return self._text

    @text.setter
    def text(self, value):
        self._text = value
        self.rng.sheet.book.ops.append(("note", self.rng.sheet.name, self.rng.coord, value))

    def delete(self):
        self.rng.sheet.notes.pop(self.rng.coord, None)
        self.rng.sheet.book.ops.append(("note-delete", self.rng.sheet.name, self.rng.coord))


class FakeRange:
    def __init__(self, sheet, coord):
        self.sheet, self.coord = sheet, coord
        self.api = types.SimpleNamespace(AddComment=self._add_comment)

    def _add_comment(self, text):
        self.sheet.notes[self.coord] = FakeNote(self, text)
        self.sheet.book.ops.append(("note", self.sheet.name, self.coord, text))

    @property
    def note(self):
        return self.sheet.notes.get(self.coord)

    @property
    def value(self):
        return self.sheet.values.get(self.coord)

    @value.setter
    def value(self, v):
        self.sheet.values[self.coord] = v
        self.sheet.book.ops.append(("value", self.sheet.name, self.coord, v))

    @property
    def color(self):
        return None

    @color.setter
    def color(self, rgb):
        self.sheet.book.ops.append(("color", self.sheet.name, self.coord, rgb))


class FakeSheet:
    def __init__(self, book, name):
        self.book, self.name = book, name
        self.values, self.notes = {}, {}
        self.visible = True
        self.api = types.SimpleNamespace(Visible=-1)

    @property
    def index(self):
        return self.book._sheets.index(self) + 1

    def range(self, coord):
        return FakeRange(self, coord)

    def delete(self):
        self.book._sheets.remove(self)
        self.book.ops.append(("delete-sheet", self.name))

    def copy(self, before=None, after=None):
        target = (before or after).book
        copy = FakeSheet(target, self.name)
        pos = target._sheets.index(before) if before else target._sheets.index(after) + 1
        target._sheets.insert(pos, copy)
        target.ops.append(("copy-sheet", self.name, pos + 1))


class FakeSheets:
    def __init__(self, book):
        self.book = book

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.book._sheets[key]
        return next(s for s in self.book._sheets if s.name == key)

    def __iter__(self):
        return iter(list(self.book._sheets))

    def __len__(self):
        return len(self.book._sheets)


class FakeName:
    def __init__(self, book, name, refers_to):
        self.book, self.name, self.refers_to = book, name, refers_to

    def delete(self):
        self.book._names.pop(self.name)
        self.book.ops.append(("name-delete", self.name))


class FakeNames:
    def __init__(self, book):
        self.book = book

    def __iter__(self):
        return iter(list(self.book._names.values()))

    def __getitem__(self, name):
        return self.book._names[name]

    def add(self, name, refers_to):
        self.book._names[name] = FakeName(self.book, name, refers_to)
        self.book.ops.append(("name-add", name, refers_to))


class FakeApp:
    def __init__(self, book):
        self.book = book
        self.status_bar = None
        self.screen_updating = True
        self.display_alerts = True
        self.alerts = []
        self.books = types.SimpleNamespace(open=self._open)

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append(prompt)

    def _open(self, path):
        source = FakeBook(path, ops=self.book.ops, app=self)
        self.book.ops.append(("open", str(path)))
        return source


class FakeBook:
    """A workbook 'open in Excel': its sheets are the file's; writes are recorded in `ops`."""

    def __init__(self, fullname, ops=None, app=None, answers=None):
        self.fullname = str(fullname)
        self.ops = ops if ops is not None else Recorder()
        self.app = app or FakeApp(self)
        self.answers = answers or {}
        wb = openpyxl.load_workbook(fullname)
        self._sheets = [FakeSheet(self, n) for n in wb.sheetnames]
        self._names = {}
        self.sheets = FakeSheets(self)
        self.names = FakeNames(self)

    def save(self):
        self.ops.append(("save", self.fullname))

    def close(self):
        self.ops.append(("close", self.fullname))

    def macro(self, name):
        return lambda *args: self.answers.get(name, "")


def install(monkeypatch, book: FakeBook):
    """Make `import xlwings` give a module whose Book.caller() is `book`."""
    import sys

    module = types.ModuleType("xlwings")
    module.Book = types.SimpleNamespace(caller=lambda: book)
    monkeypatch.setitem(sys.modules, "xlwings", module)
    return module
