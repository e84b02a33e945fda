"""Character data of XML read as text, as an XML parser gives it: line ends normalised, the
predefined and numeric character references replaced. The cell reader (io/sheet_reader.py) and the
defined-names reader (io/defined_names.py) read text between tags with it."""
from __future__ import annotations

import re

_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|amp|lt|gt|quot|apos);")
_PREDEFINED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _entity(m: re.Match) -> str:
    name = m.group(1)
    if name[0] != "#":
        return _PREDEFINED[name]
    return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))


def character_data(raw: str) -> str | None:
    """`raw` as a parser reads it; None when it holds a reference to any other entity (a reader
    leaves such text to a real parser)."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in raw:
        out = _ENTITY.sub(_entity, raw)
        if "&" in _ENTITY.sub("", raw):
            return None
        return out
    return raw
