"""What a column's values look like, for the headers that mislead: a `Progress` column that holds
the leads, a `Lead` column that holds the monthly updates.

Leads are short and repeat: initials (`GT`, `AxB`, `JoR`), person names (`Ann Graham`), job titles
(`Assistant Director (Safeguarding)`, `Head of Service (Care)`), two or three per cell, or names the
master's `Leads` sheet lists. Updates are long, dated prose (`March 2024: audit completed, ...`)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import median
from typing import Iterable

from ..leads import _ROLE_WORDS, split_leads

LEAD, UPDATE = "lead", "update"

# Job-title words beyond those the lead splitter knows, and their usual abbreviations.
_TITLE_WORDS = _ROLE_WORDS | {
    "dcs", "ad", "ads", "hos", "lscb", "lscp", "iro", "iros", "smt", "dlt", "slt", "gm", "gms", "tm", "tms",
    "ceo", "coo", "cp", "lac", "hr", "workforce", "development", "business", "performance", "improvement",
    "early", "help", "adoption", "fostering", "leaving", "education", "youth", "justice", "legal", "finance",
    "coordinator", "co-ordinator", "advisor", "adviser", "supervisor", "worker", "workers", "staff",
    "partners", "leader", "leaders", "consultant", "analyst", "administrator", "secretary", "governor",
}
# Words of short status or progress phrases, never a person's name ("On Track", "Not Started").
_NOT_NAMES = {
    "on", "track", "in", "progress", "not", "started", "see", "below", "above", "complete", "completed", "ongoing",
    "done", "yes", "no", "to", "be", "the", "a", "an", "for", "with", "by", "is", "are", "was", "will", "has",
    "have", "update", "updated", "awaiting", "pending", "agreed", "delayed", "at", "risk", "change", "new",
    "draft", "review", "reviewed", "planned", "closed", "open", "green", "amber", "red", "blue", "tbc", "tba",
    "achieved", "partially", "met", "overdue", "slipped", "deferred", "cancelled", "superseded", "good",
    "going", "well", "as", "per", "plan", "action", "actions", "report", "audit", "training", "meeting",
}
_NOT_INITIALS = {"TBC", "TBA", "NA", "RAG", "RED", "AMBER", "GREEN", "BLUE", "YES", "NO", "OK", "ALL", "DONE",
                 "NEW", "NONE", "NIL", "ASAP", "WIP", "COMPLETE", "Q1", "Q2", "Q3", "Q4"}
_INITIALS = re.compile(r"^[A-Z][A-Za-z]{1,4}$")
_NAME_WORD = re.compile(r"^(?:[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*|[A-Z]\.?|Mc[A-Z][a-z]+|O'[A-Z][a-z]+)$")
_DATED = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?[\s\-']*(?:\d{2}|\d{4})\b"
    r"|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|\b(?:19|20)\d\d\b"
    r"|\b(?:january|february|march|april|june|july|august|september|october|november|december)\b"
    r"|\bupdate\b|\b(?:this|last|next) (?:month|quarter|week)\b",
    re.I,
)


@dataclass(frozen=True)
class ColumnValues:
    """What a column's values are, with the evidence for saying so (for `inspect`). Leads must repeat
    (or be initials, or be listed in the Leads sheet): a column of short one-off phrases is not one."""

    kind: str | None           # LEAD, UPDATE or None (nothing clear)
    why: str = ""              # "short names, initials or job titles ('GT', 'Head of Service (Care)'; 9 of 9 cells)"


def _lead_like(token: str, known: set[str]) -> bool:
    t = token.strip(" .,:;-*")
    if not t or len(t) > 60:
        return False
    if t.casefold() in known:
        return True
    if _INITIALS.match(t):
        return t.upper() not in _NOT_INITIALS and sum(ch.isupper() for ch in t) >= 2
    words = re.sub(r"[()&,]", " ", t).split()
    if not 1 <= len(words) <= 7 or any(ch.isdigit() for ch in t) or t.endswith(("!", "?")):
        return False
    lowered = [w.lower().strip(".'’") for w in words]
    if any(w in _TITLE_WORDS for w in lowered):
        return True
    if 2 <= len(words) <= 3 and all(_NAME_WORD.match(w) for w in words) and not any(w in _NOT_NAMES for w in lowered):
        return True     # a person's name
    return False


def _lead_cell(text: str, known: set[str]) -> list[str] | None:
    """The leads of a cell when the whole cell reads as leads, else None."""
    if len(text) > 150 or len(text.split()) > 16:
        return None
    if text.casefold() in known:
        return [text]
    parts = split_leads(text)
    if not 1 <= len(parts) <= 5 or not all(_lead_like(p, known) for p in parts):
        return None
    return parts


def _quote_some(values: Iterable[str], n: int = 2) -> str:
    out = []
    for v in values:
        v = " ".join(v.split())
        v = v if len(v) <= 40 else v[:39] + "…"
        if f"'{v}'" not in out:
            out.append(f"'{v}'")
        if len(out) == n:
            break
    return ", ".join(out)


def classify(values: list[str], known: Iterable[str] = ()) -> ColumnValues:
    """Whether a column's sample values (cleaned texts, blanks left out) are leads or updates."""
    values = [v for v in values if v]
    if len(values) < 2:
        return ColumnValues(None)
    known_set = {k.casefold() for k in known}
    leads = [(v, parts) for v in values if (parts := _lead_cell(v, known_set)) is not None]
    if len(leads) >= max(2, 0.8 * len(values)):
        tokens = [p.casefold() for _, parts in leads for p in parts]
        repeated = len(tokens) - len(set(tokens))
        in_sheet = sum(1 for t in set(tokens) if t in known_set)
        initials = sum(1 for _, parts in leads for p in parts if _INITIALS.match(p.strip(" .,:;-*")))
        if not (repeated or in_sheet or initials >= 0.5 * len(tokens)):
            return ColumnValues(None)       # short phrases that never repeat are not a column of leads
        extra = [f"{len(leads)} of {len(values)} cells"]
        if repeated:
            extra.append(f"names repeated {repeated} time{'s' if repeated != 1 else ''}")
        if in_sheet:
            extra.append(f"{in_sheet} listed in the Leads sheet")
        return ColumnValues(LEAD, f"short names, initials or job titles ({_quote_some(v for v, _ in leads)}; "
                                  f"{', '.join(extra)})")
    words = [len(v.split()) for v in values]
    dated = sum(1 for v in values if _DATED.search(v))
    long = sum(1 for w in words if w >= 8)
    if median(words) >= 8 and long >= 0.6 * len(values) and dated >= 0.3 * len(values):
        return ColumnValues(UPDATE, f"long dated text ({_quote_some(values, 1)}; {long} of {len(values)} cells "
                                    f"of 8 words or more, {dated} naming a date)")
    return ColumnValues(None)
