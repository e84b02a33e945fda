"""Numbered lists inside an action cell ('1. ...', '2) ...'): one action, several items."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SubAction:
    """One item of a numbered list inside an action cell ("1. ...", "2) ...")."""

    number: int
    text: str


INLINE_ITEM = re.compile(r"(?<!\S)(\d{1,2})[.)]\s+")
LINE_ITEM = re.compile(r"^[ \t]*(\d{1,2})[.)]\s+", re.M)


def sub_actions(text: str) -> list[SubAction]:
    """The numbered items of an action cell ('1. ... 2. ...'), when they run 1, 2, 3 in order."""
    if not text or "1" not in text:
        return []
    starts = numbered_lines(text) or numbered_inline(text)
    items = []
    for i, (number, _begin, end_of_marker) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else len(text)
        items.append(SubAction(number, text[end_of_marker:end].strip()))
    return items


def numbered_lines(text: str) -> list[tuple[int, int, int]]:
    """Items that start lines: the usual '1. ...\n2. ...' cell."""
    starts, expected = [], 1
    for m in LINE_ITEM.finditer(text):
        if int(m.group(1)) == expected:
            starts.append((expected, m.start(1), m.end()))
            expected += 1
    return starts


def numbered_inline(text: str) -> list[tuple[int, int, int]]:
    """Items inside a sentence: 'to reflect: 1) requirement 2) timescales'."""
    starts, expected = [], 1
    for m in INLINE_ITEM.finditer(text):
        if int(m.group(1)) == expected:
            starts.append((expected, m.start(1), m.end()))
            expected += 1
    return starts
