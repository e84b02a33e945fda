"""Cleaning cell text pasted from Word, PDF or web pages, and comparing names loosely."""
from __future__ import annotations

import re
from datetime import date, datetime

_TAG_BREAK = re.compile(r"<\s*(br|/p|/li|/div)\s*/?\s*>", re.I)
_TAG = re.compile(r"</?\s*[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_ENTITY = {"&nbsp;": " ", "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'"}
_BULLET = re.compile(r"^[ \t]*[•●▪■◦‣∙·\uf0b7\uf0a7\u2022\u25aa\u25cf-][ \t]+", re.M)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff\u00ad"), None)
# Quick tests that a step has something to do (each step is a no-op without it; long multi-line cells
# are common, and one alternation scanned over every character is slow).
_HAS_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\ufeff\u00ad]")
_HAS_BULLET_CHAR = re.compile(r"[•●▪■◦‣∙·\uf0b7\uf0a7\u2022\u25aa\u25cf]")
_HAS_DASH_ITEM = re.compile(r"^[ \t]*-[ \t]", re.M)
_HAS_ODD_SPACE = re.compile(r"[\t\u00a0\u2007\u202f]")
_HAS_ODD_CHAR = re.compile(r"[\u200b\u200c\u200d\ufeff\u00ad•●▪■◦‣∙·\uf0b7\uf0a7\u2022\u25aa\u25cf\t\u00a0\u2007\u202f]")  # the three above
_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f]+")
_NORM = re.compile(r"[^a-z0-9]+")
# Text with none of these needs no cleaning (the common case: keep reading 5,000 rows fast).
_NEEDS_CLEANING = re.compile(r"[<&\r\n\t\u00a0\u2007\u202f\u200b\u200c\u200d\ufeff\u00ad•●▪■◦‣∙·\uf0b7\uf0a7]")
_LINE_EDGES = re.compile(r" *\n *")


def clean(value) -> str:
    """The cell's text as a person reads it: no tags, bullets as '- ', single spaces, no trailing blanks."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value.isascii():
            # The steps below change ASCII text only for these (tested with `in`, faster than the regex);
            # lines that end and start without spaces and "- " items are kept as they are.
            if not ("<" in value or "&" in value or "\r" in value or "\t" in value or "  " in value
                    or ("\n" in value and (" \n" in value or "\n " in value or "\n\n\n" in value))) \
                    and value == value.strip():
                return value
        elif "  " not in value and not _NEEDS_CLEANING.search(value) and value == value.strip():
            return value
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y") if (value.hour, value.minute) == (0, 0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if "<" in text:
        text = _TAG_BREAK.sub("\n", text)
        text = _TAG.sub("", text)
    if "&" in text:
        for entity, char in _ENTITY.items():
            text = text.replace(entity, char)
    odd = _HAS_ODD_CHAR.search(text) is not None     # one scan for the three; the steps below add none
    if odd and _HAS_INVISIBLE.search(text):
        text = text.translate(_INVISIBLE)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if (odd and _HAS_BULLET_CHAR.search(text)) or ("-" in text and _HAS_DASH_ITEM.search(text)):
        text = _BULLET.sub("- ", text)
    if "  " in text or (odd and _HAS_ODD_SPACE.search(text)):
        text = _SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGES.sub("\n", text)
    if "\n\n\n" in text:
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def norm(text: str) -> str:
    """Lower case, letters and digits only, single spaces: for matching header names and words."""
    return _NORM.sub(" ", text.lower()).strip()
