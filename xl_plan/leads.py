"""Splitting a lead cell into individual leads: `LH / JoR / GT`, `MW` newline `RB`,
`A and B`, `A, B and C`, `1. DM  2. DM/AxB`, and names run together with spaces
(`Ann Graham Meena Kishinani`) when the plan names each of them alone elsewhere."""
from __future__ import annotations

import re
from typing import Iterable

from .text import clean

_NUMBERING = re.compile(r"(?:^|\s)\d{1,2}[.)]\s+")
_SEPARATORS = re.compile(r"\s*(?:/|\\|\n|;|,)\s*|\s+(?:\+|&|and|plus)\s+", re.I)
_BRACKETS = re.compile(r"\([^()]*\)")
_NOISE = {"", "-", "tbc", "n/a", "na", "all", "?"}


def split_leads(text: str, known: Iterable[str] = ()) -> list[str]:
    """Individual leads in a lead cell, in order, without repeats."""
    text = clean(text)
    if not text:
        return []
    text = _NUMBERING.sub("\n", " " + text)
    # separators inside brackets belong to a name: "GMs (CN&SC)"
    text = _BRACKETS.sub(lambda m: m.group(0).replace("&", "\0amp").replace("/", "\0sl"), text)
    parts = [p.strip(" .:-*").replace("\0amp", "&").replace("\0sl", "/") for p in _SEPARATORS.split(text)]
    known_set = sorted({k for k in known if " " in k}, key=len, reverse=True)
    out: list[str] = []
    for part in parts:
        if part.lower() in _NOISE or part.isdigit():
            continue
        for piece in _split_pairs(_split_known(part, known_set)):
            if piece and piece not in out:
                out.append(piece)
    return out


_HONORIFICS = {"cllr", "clir", "councillor", "dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sir", "dame"}


def _split_known(part: str, known: list[str]) -> list[str]:
    """'Ann Graham Meena Kishinani' -> both names, when each is known on its own; a name standing
    alone that holds a shorter known name and something more ('GMs (CN&SC) HR') is split too,
    unless the rest is a title ('Cllr Bill Turner' stays one person)."""
    if not known or len(part.split()) < 3:
        return [part]
    for name in known:
        if name == part or (part in known and len(name) >= len(part)):
            continue
        idx = _find_words(part, name)
        if idx is not None and part in known:
            rest = (part[:idx] + " " + part[idx + len(name):]).strip().strip(".").lower()
            if rest in _HONORIFICS or len(rest) < 2:
                continue
        if idx is not None:
            before, after = part[:idx].strip(), part[idx + len(name):].strip()
            return _split_known(before, known) + [name] + _split_known(after, known) if (before or after) else [name]
    return [part]


_PARTICLES = {"de", "da", "di", "du", "la", "le", "van", "von", "der", "den", "del", "st", "mc", "mac", "o"}
# Words of job titles and bodies: four capitalised words holding one of these are one lead
# ("Chair Corporate Parenting Board"), not two people.
_ROLE_WORDS = {
    "chair", "chairman", "chairperson", "vice", "board", "head", "heads", "director", "directors", "deputy",
    "assistant", "manager", "managers", "officer", "officers", "lead", "leads", "team", "teams", "service",
    "services", "group", "panel", "committee", "council", "corporate", "parenting", "partnership",
    "safeguarding", "children", "children's", "childrens", "social", "care", "principal",
    "executive", "chief", "member", "members", "cabinet", "portfolio", "holder", "commissioner",
    "commissioning", "quality", "assurance", "practice", "independent", "reviewing", "virtual", "school",
    "health", "police", "designated", "nurse", "doctor", "forum", "unit", "hub", "strategic", "operational",
}


def _split_pairs(pieces: list[str]) -> list[str]:
    """'Tony Kirk Kevin Jeffrey': four capitalised words, no particles, are two people."""
    out = []
    for piece in pieces:
        words = piece.split()
        if len(words) == 4 and all(w[:1].isupper() and w.isalpha() and w.lower() not in _PARTICLES for w in words) \
                and not any(w.isupper() for w in words) and not any(w.lower() in _ROLE_WORDS for w in words):
            out += [" ".join(words[:2]), " ".join(words[2:])]
        else:
            out.append(piece)
    return out


def _find_words(haystack: str, needle: str) -> int | None:
    m = re.search(r"(?<!\S)" + re.escape(needle) + r"(?!\S)", haystack)
    return m.start() if m else None


def known_leads(lead_cells: Iterable[str]) -> set[str]:
    """Leads that stand alone in some cell of the plan: the atoms for splitting run-together names."""
    known: set[str] = set()
    for cell in lead_cells:
        for part in split_leads(cell):
            if 1 <= len(part.split()) <= 3:
                known.add(part)
    return known
