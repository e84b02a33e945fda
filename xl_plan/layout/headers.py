"""Header names of plan columns, matched by synonyms regardless of case and punctuation."""
from __future__ import annotations

import re
from functools import lru_cache

from ..text import clean, norm

# Normalised synonyms per field; the first words of a long header count too
# ("Ofsted Findings / Additional improvements identified ..." starts with "ofsted findings").
SYNONYMS: dict[str, tuple[str, ...]] = {
    "recommendation": (
        "recommendation", "recommendations", "ofsted recommendation", "ofsted recommendations",
        "ofsted findings", "ofsted finding", "finding", "findings", "area for improvement",
        "areas for improvement", "what needs to improve", "service finding", "issue", "objective",
        "priority", "improvement area", "inspection finding",
    ),
    "ref": ("ref", "reference", "id", "no", "number", "action no", "action ref", "ref no", "action number", "item"),
    "action": (
        "action", "actions", "description", "action description", "what we will do", "key actions",
        "key action", "activity", "task", "actions to be taken", "action to be taken",
    ),
    "lead": (
        "lead", "leads", "lead officer", "lead officers", "strategic lead", "operational lead", "dlt lead",
        "responsible", "responsible officer", "owner", "lead person", "accountable", "who",
        "lead manager", "responsibility", "action owner",
    ),
    "timescale": (
        "timescale", "time scale", "timescales", "timescale by when", "by when", "timetable",
        "deadline", "target date", "due date", "completion date", "timetable end date", "date",
        "when", "target", "due",
    ),
    "start": ("start", "start date", "from", "date started", "timetable start date"),
    "end": ("end", "end date", "to", "target end date", "finish", "finish date"),
    "measure": (
        "measure", "measure outcome", "measures", "performance outcome", "outcome", "outcomes",
        "success measure", "success measures", "success criteria", "impact", "evidence of impact",
        "performance measure", "measure of success", "expected outcome",
    ),
    "update": (
        "update", "updates", "progress", "progress update", "comments", "comment", "key points to note",
        "progress to date and evidence of improvement", "progress to date", "latest update",
        "commentary", "progress comments", "evidence", "monthly update",
    ),
    "status": ("status", "rag", "rag status", "rag rating", "rating", "current status", "progress rag", "rag status key"),
}

_LOOKUP = {syn: field for field, syns in SYNONYMS.items() for syn in syns}
# Synonyms by their first word, longest first: a long header is matched by its opening words.
_BY_FIRST_WORD: dict[str, list[str]] = {}
for _syn in sorted(_LOOKUP, key=len, reverse=True):
    _BY_FIRST_WORD.setdefault(_syn.split()[0], []).append(_syn)

# A header cell is short; long cells are notes or data.
MAX_HEADER_LENGTH = 120
_LETTER = re.compile(r"[A-Za-z]")
# The first word of norm(text): a text whose first word starts no synonym names no field (most data cells).
_FIRST_WORD = re.compile(r"[a-z0-9]+")


def match_header(value) -> tuple[str, int] | None:
    """(field, strength) for a header cell: 3 exact, 2 prefix; None when it names no field."""
    if isinstance(value, str):
        return None if len(value) > MAX_HEADER_LENGTH else _match_raw(value)
    return _match_text(clean(value))


@lru_cache(maxsize=8192)
def _match_raw(value: str) -> tuple[str, int] | None:
    return _match_text(clean(value))


@lru_cache(maxsize=4096)
def _match_text(text: str) -> tuple[str, int] | None:
    if not text or len(text) > MAX_HEADER_LENGTH or not _LETTER.search(text):
        return None
    first = _FIRST_WORD.search(text.lower())
    if first is None or first.group() not in _BY_FIRST_WORD:
        return None
    key = norm(text)
    if key in _LOOKUP:
        return _LOOKUP[key], 3
    # "Timescale (By When)" and "RAG status:" are exact after norm; prefixes catch the long ones.
    if len(key.split()) > 12:
        return None
    for syn in _BY_FIRST_WORD.get(key.split(" ", 1)[0], ()):
        if len(syn) >= 3 and key.startswith(syn + " "):
            return _LOOKUP[syn], 2
    return None


