"""Stars: what marks an action as carried forward from the previous plan, in every form plans use,
and what only looks like one (a footnote marker, **bold** markup, a `* ` bullet list, the note that
explains the stars). The one rule: `xl-plan carried`, the Gantt's flag and the writers all ask here."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Action, Plan
from .numbered import numbered_inline as _numbered_inline
from .numbered import numbered_lines as _numbered_lines
from .text import clean

# Star characters plans use: ASCII, full-width, heavy/open/eight-spoked stars, low asterisk,
# asterisk operator, small asterisk, Arabic five-pointed star.
STAR_CHARS = "*\uff0a\u2731\u2732\u2733\u2734\u2735\u2736\u2737\u2738\u2739\u273a\u273b\u273c\u273d\u2605\u2606\u204e\u2217\ufe61\u066d"
_S = "[" + re.escape(STAR_CHARS) + "]"
_TOKEN = rf"\(\s*{_S}{{1,3}}\s*\)|\[\s*{_S}{{1,3}}\s*\]|{_S}{{1,3}}"
TOKEN_RE = re.compile(_TOKEN)
_STAR_CHAR_RE = re.compile(_S)
_ASCII_STARS = tuple(c for c in STAR_CHARS if c.isascii())


def has_star_char(text: str) -> bool:
    """Whether `text` holds one of STAR_CHARS (an ASCII text can hold only the ASCII ones: tested with
    `in`, quicker than the pattern over every action of a long plan)."""
    if text.isascii():
        for star in _ASCII_STARS:
            if star in text:
                return True
        return False
    return _STAR_CHAR_RE.search(text) is not None

# Markup left over from pasted text: **bold** and *emphasis* pairs on one line.
_BOLD = re.compile(rf"({_S}{{2}})(?=[^\s*])([^\n]+?)(?<=[^\s*])({_S}{{2}})")
_EMPHASIS = re.compile(rf"(?<![\w*])({_S})(?=[^\s*\d])([^\n]+?)(?<=[^\s*])({_S})(?![\w*])")
# A star attached to the end of a word ("as required*") is a footnote reference when a later
# line starts with a star and explains it ("* required by statute").
_FOOTNOTE_REF = re.compile(rf"(?<=[A-Za-z)\]])({_TOKEN})")
_FOOTNOTE_LINE = re.compile(rf"^[ \t]*({_TOKEN})[ \t]*(?=\S)", re.M)
_REFERENCE_WORD = re.compile(r"(?:\b(?:see|note|notes|footnote|below|above|key|overleaf)\b)[\s.,:;]*$", re.I)
_TRAIL_OK = re.compile(r"^[\s.,;:!?\-–]*$")
_LEAD_OK = re.compile(r"^[\s\-–•:]*$")
_REF_PREFIX = re.compile(r"^\s*\(?[A-Za-z]{0,4}\s?\d{1,3}(?:[.\-]\d{1,3}){0,3}[a-z]?\.?\)?\s*$")

_STAR_WORDS = re.compile(r"\b(starred|asterisks?|stars?)\b", re.I)
_CARRY_WORDS = re.compile(r"carr(y|ied|ies)\s+(forward|over)|brought\s+forward|rolled\s+(forward|over)|previous\s+plan|"
                          r"last\s+plan|earlier\s+plan|amended\s+timescales?|slipp", re.I)
_DEFINES = re.compile(rf"^\s*(?:{_TOKEN})\s*[=:\-–]?\s*(denotes|indicates|means|shows|marks|=|carried|brought|actions?)", re.I)

@dataclass(frozen=True)
class StarMark:
    """One star found in a cell."""

    field: str                # "ref", "action" or "timescale" (also "start"/"end" for two-column timescales)
    cell: str | None          # the cell it is in ("C12")
    marker: str               # the star as written, without spaces: "*", "(*)", "**", "＊", "★"
    where: str                # in words: "after the ref", "before the text", "after item 2", "in the timescale"
    item: int | None = None   # the starred sub-action (numbered list item), or None for the whole action


@dataclass
class Starred:
    """A starred action (or one starred item of its numbered list)."""

    action: Action
    item: int | None
    marks: list[StarMark]

    @property
    def marker(self) -> str:
        return self.marks[0].marker

    @property
    def cell(self) -> str | None:
        return self.marks[0].cell

    @property
    def column(self) -> str | None:
        return letters_of(self.cell)

    @property
    def item_text(self) -> str:
        if self.item is None:
            return ""
        text = self.action.text
        for number, _, end_marker, end in _item_spans(text):
            if number == self.item:
                return strip_stars(text[end_marker:end]).strip()
        return ""

    def to_dict(self) -> dict:
        a = self.action
        return {
            "sheet": a.sheet, "row": a.row, "cell": self.cell, "ref": ref_text(a), "item": self.item,
            "marker": self.marker, "where": [m.where for m in self.marks], "section": a.section,
            "lead": a.lead_text, "timescale": strip_stars(a.timescale_text), "text": strip_stars(a.text),
            "item_text": self.item_text or None,
        }


def letters_of(cell: str | None) -> str | None:
    if not cell:
        return None
    m = re.match(r"[A-Z]+", cell)
    return m.group() if m else None



def strip_stars(text) -> str:
    """Text without its star markers (for comparing and showing timescales and texts)."""
    s = clean(text) if not isinstance(text, str) else text
    if not has_star_char(s):
        return s
    s = re.sub(rf"\(\s*{_S}{{1,3}}\s*\)|\[\s*{_S}{{1,3}}\s*\]", "", s)
    s = _STAR_CHAR_RE.sub("", s)
    return "\n".join(re.sub(r"[ \t]{2,}", " ", line).strip() for line in s.split("\n")).strip()


def ref_text(a: Action) -> str | None:
    return strip_stars(a.ref) or None if a.ref else None


def ref_key(ref: str | None) -> str:
    """A ref as compared: no stars, spaces, case or trailing dot ('3.2*' -> '3.2', '12.' -> '12')."""
    if not ref:
        return ""
    return re.sub(r"\s+", "", strip_stars(ref)).rstrip(".").lower()


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _blank_markup(text: str) -> str:
    """Blank the stars of **bold** / *emphasis* pairs (the text inside stays): they are formatting, not stars."""
    def repl(m):
        return " " * len(m.group(1)) + m.group(2) + " " * len(m.group(3))
    text = _BOLD.sub(repl, text)
    return _EMPHASIS.sub(repl, text)


def _blank_footnotes(text: str) -> str:
    """'... as required*' with a later line '* required by ...': a footnote, not a star."""
    lines = [m for m in _FOOTNOTE_LINE.finditer(text) if m.start() > 0]
    for line in lines:
        refs = [m for m in _FOOTNOTE_REF.finditer(text, 0, line.start())]
        if refs:
            for m in refs:
                text = _blank(text, m.start(1), m.end(1))
            text = _blank(text, line.start(1), line.end(1))
    return text


def _blank_star_bullets(text: str) -> str:
    """'* Track children\\n* Report quarterly': a bulleted list, not stars."""
    bullets = list(re.finditer(rf"^[ \t]*({_S})[ \t]+(?=\S)", text, re.M))
    if len(bullets) >= 2:
        for m in bullets:
            text = _blank(text, m.start(1), m.end(1))
    return text


def _candidates(text: str) -> tuple[str, list[re.Match]]:
    work = _blank_footnotes(_blank_markup(text))
    return work, list(TOKEN_RE.finditer(work))


def _marker(token: str) -> str:
    return re.sub(r"\s+", "", token)


def is_key_note(text: str) -> bool:
    """A note explaining the star ('Actions starred* are carried forward from the previous plan ...',
    '* = carried forward'), as opposed to an action."""
    if not text:
        return False
    starry = bool(_STAR_WORDS.search(text)) or bool(_DEFINES.match(text))
    return starry and bool(_CARRY_WORDS.search(text) or _DEFINES.match(text))


def _item_spans(text: str) -> list[tuple[int, int, int, int]]:
    """(number, start of the marker, end of the marker, end of the item) for a numbered list; stars blanked first
    so that '*2. Update' still reads as item 2."""
    blanked = _STAR_CHAR_RE.sub(" ", text)
    if "1" not in blanked:
        return []
    starts = _numbered_lines(blanked) or _numbered_inline(blanked)
    if len(starts) < 2:
        return []
    out = []
    for i, (number, begin, end_marker) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else len(text)
        out.append((number, begin, end_marker, end))
    return out


def _action_marks(a: Action) -> list[StarMark]:
    text = a.text or ""
    if not has_star_char(text):
        return []
    if is_key_note(text):
        return []
    work, tokens = _candidates(text)
    work = _blank_star_bullets(work)
    tokens = list(TOKEN_RE.finditer(work))
    if not tokens:
        return []
    cell = a.cells.get("action")
    spans = _item_spans(text)
    marks: list[StarMark] = []
    for t in tokens:
        before, after = work[: t.start()], work[t.end():]
        marker = _marker(t.group())
        line_start = work.rfind("\n", 0, t.start()) + 1
        line_end = work.find("\n", t.end())
        line_end = len(work) if line_end < 0 else line_end
        if not work[line_start:t.start()].strip() and not work[t.end():line_end].strip():
            marks.append(StarMark("action", cell, marker, "on a line of its own"))
            continue
        if _REFERENCE_WORD.search(before):
            continue   # "see note*": points at a note, not a carried-forward star
        if spans:
            mark = _item_mark(work, t, spans, cell, marker)
            if mark:
                marks.append(mark)
            continue
        if _LEAD_OK.match(before):
            marks.append(StarMark("action", cell, marker, "before the text"))
        elif _REF_PREFIX.match(before):
            marks.append(StarMark("action", cell, marker, "after the ref in the text"))
        elif _TRAIL_OK.match(after):
            marks.append(StarMark("action", cell, marker, "after the text"))
    return marks


def _item_mark(work: str, t: re.Match, spans, cell, marker) -> StarMark | None:
    first = spans[0]
    if t.end() <= first[1]:
        if not work[t.end():first[1]].strip():
            return StarMark("action", cell, marker, "before item 1", first[0])
        if _LEAD_OK.match(work[: t.start()]):
            return StarMark("action", cell, marker, "before the text")
        return None
    for number, begin, end_marker, end in spans:
        if begin <= t.start() < end:
            if t.start() < end_marker or not work[end_marker:t.start()].strip():
                return StarMark("action", cell, marker, f"before the text of item {number}", number)
            nxt = [s for s in spans if s[1] >= end]
            tail = work[t.end():end]
            if _TRAIL_OK.match(tail):
                # a star at the start of a line just before the next number belongs to that item ("\n*2. Update")
                if nxt and not tail.strip() and _starts_line(work, t.start()):
                    return StarMark("action", cell, marker, f"before item {nxt[0][0]}", nxt[0][0])
                return StarMark("action", cell, marker, f"after item {number}", number)
            return None
    return None


def _starts_line(work: str, pos: int) -> bool:
    line_start = work.rfind("\n", 0, pos) + 1
    return not work[line_start:pos].strip()


def _ref_marks(a: Action) -> list[StarMark]:
    ref = a.ref or ""
    if not has_star_char(ref):
        return []
    work = _blank_markup(ref)
    marks = []
    for t in TOKEN_RE.finditer(work):
        where = "before the ref" if not work[: t.start()].strip() else "after the ref"
        marks.append(StarMark("ref", a.cells.get("ref"), _marker(t.group()), where))
    return marks


def _timescale_marks(a: Action) -> list[StarMark]:
    marks = []
    for fld in ("timescale", "start", "end"):
        if fld not in a.raw:
            continue
        text = clean(a.raw.get(fld))
        if not has_star_char(text) or is_key_note(text):
            continue
        work, tokens = _candidates(text)
        for t in tokens:
            marks.append(StarMark("timescale" if fld == "timescale" else fld, a.cells.get(fld), _marker(t.group()),
                                  "in the timescale" if fld == "timescale" else f"in the {fld} date"))
    return marks


def find_stars(plan: Plan) -> list[Starred]:
    """Every starred action (one entry per starred item when the star is on an item of a numbered list)."""
    out: list[Starred] = []
    for a in plan.actions:
        marks = star_marks(a)
        if not marks:
            continue
        whole = [m for m in marks if m.item is None]
        items: dict[int, list[StarMark]] = {}
        for m in marks:
            if m.item is not None:
                items.setdefault(m.item, []).append(m)
        if whole:
            out.append(Starred(a, None, whole + [m for ms in items.values() for m in ms]))
        else:
            for number in sorted(items):
                out.append(Starred(a, number, items[number]))
    return out


def find_key_note(plan: Plan) -> tuple[int, str] | None:
    """The note explaining the star: above the table, or a row inside/below it that reads like one."""
    for row, text in plan.notes:
        if is_key_note(text) or (has_star_char(text) and _CARRY_WORDS.search(text)):
            return row, text
    for a in plan.actions:
        for text in (a.text, a.recommendation or "", a.update):
            if text and len(text) < 400 and has_star_char(text) and is_key_note(text):
                return a.row, text
    return None


def star_marks(a: Action) -> list[StarMark]:
    """Every star on the action: in its ref, its text (or one item of its numbered list) and its timescale;
    none when its text is the note explaining the star."""
    marks = _ref_marks(a) + _action_marks(a) + _timescale_marks(a)     # each looks for a star first
    if not marks or is_key_note(a.text):
        return []
    return marks


def is_starred(a: Action) -> bool:
    """Carried forward from the previous plan: the action (or an item of it) carries a star."""
    return bool(star_marks(a))
