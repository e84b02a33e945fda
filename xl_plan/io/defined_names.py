"""A workbook's defined names, read several times faster than openpyxl reads them.

`returns make` gives every action of a master a name (its anchor: `_xlp_A...` -> 'Plan'!$C$12), so a
master of 5,000 actions holds 5,000 names, and openpyxl builds each through its checking
descriptors: a third of reading such a master. When every name in the workbook part is plain (a
name attribute and a reference, nothing else), `WorkbookParser` reads the part without them through
openpyxl as before and makes the very DefinedName objects openpyxl would make. Anything else in
<definedNames> (a sheet's local name, a hidden or commented one, a namespace prefix) and openpyxl
reads them all, as before. tests/test_sheet_reader.py compares the two.
"""
from __future__ import annotations

import re

from openpyxl.reader.workbook import WorkbookParser as _OpenpyxlWorkbookParser
from openpyxl.workbook.defined_name import DefinedName, DefinedNameList

from .xml_text import character_data

_DEFINED_NAMES = re.compile(rb"<definedNames>(.*?)</definedNames>", re.DOTALL)
_PLAIN_NAME = re.compile(rb'<definedName name="([^"<>&]+)">([^<]*)</definedName>')
# What DefinedName.__init__ sets besides the name and the reference, for a name with no other attribute.
_UNSET = dict.fromkeys(("comment", "customMenu", "description", "help", "statusBar", "localSheetId", "hidden",
                        "function", "vbProcedure", "xlm", "functionGroupId", "shortcutKey", "publishToServer",
                        "workbookParameter"))


def plain_defined_names(data: bytes) -> tuple[bytes, list[DefinedName]] | None:
    """(the workbook part without its <definedNames> element, the names it held) when every one is
    plain; None when the part has none or any other kind (openpyxl reads them)."""
    m = _DEFINED_NAMES.search(data)
    if m is None or data.find(b"<definedNames", m.end()) >= 0:
        return None
    body, names, pos = m.group(1), [], 0
    for n in _PLAIN_NAME.finditer(body):
        if body[pos:n.start()].strip():
            return None                     # something other than a plain name between two of them
        text = character_data(n.group(2).decode("utf-8"))
        if text is None:
            return None
        d = DefinedName.__new__(DefinedName)     # as DefinedName(name=..., attr_text=...), less its checks
        d.__dict__.update(_UNSET, name=n.group(1).decode("utf-8"), attr_text=text)
        names.append(d)
        pos = n.end()
    if body[pos:].strip() or not names:
        return None
    return data[:m.start()] + data[m.end():], names


class _PartReplaced:
    """The zip archive with one part read as other bytes."""

    def __init__(self, archive, name: str, data: bytes):
        self._archive, self._name, self._data = archive, name, data

    def read(self, name, *args, **kwargs):
        return self._data if name == self._name else self._archive.read(name, *args, **kwargs)

    def __getattr__(self, attr):
        return getattr(self._archive, attr)


class WorkbookParser(_OpenpyxlWorkbookParser):
    """openpyxl's, the defined names read by plain_defined_names when they are all plain."""

    def parse(self):
        plain = plain_defined_names(self.archive.read(self.workbook_part_name))
        if plain is None:
            return super().parse()
        archive = self.archive
        self.archive = _PartReplaced(archive, self.workbook_part_name, plain[0])
        try:
            super().parse()                 # defused, as every part: the names' element is all it misses
        finally:
            self.archive = archive
        self.defined_names = DefinedNameList(definedName=plain[1])
