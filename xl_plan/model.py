"""The plan model shared by every feature: plain dataclasses, no I/O.

Positions are the user's: `row` is the 1-based sheet row and columns are letters.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .numbered import SubAction
from .numbered import sub_actions as numbered_items

# Canonical RAG codes. Plans name them differently; the key maps names to these.
RED, AMBER, GREEN, BLUE = "red", "amber", "green", "blue"


@dataclass(frozen=True)
class RagEntry:
    """One line of a plan's RAG key."""

    code: str                 # red / amber / green / blue (or a plan-specific word, lower case)
    name: str                 # the word as the key writes it ("GREEN"), or the code when the key is colour-only
    description: str          # "On Target for delivery"
    colour: str | None        # "RRGGBB" of the swatch, or a standard colour when the key has none
    complete: bool = False    # this status means the action is done
    row: int | None = None
    column: str | None = None


@dataclass
class RagKey:
    entries: list[RagEntry]
    source: str               # "text" (words), "colour" (swatches beside descriptions) or "default"
    sheet: str | None = None
    row: int | None = None    # first row of the key block

    def entry(self, code: str) -> RagEntry | None:
        for e in self.entries:
            if e.code == code:
                return e
        return None

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.entries]


@dataclass(frozen=True)
class Status:
    """An action's normalised status."""

    code: str                 # red / amber / green / blue, or the raw word lower-cased when not in the key
    label: str                # the key's description for it ("On Target for delivery"), "" if unknown
    colour: str | None        # "RRGGBB" from the key
    source: str               # "text", "fill" or "progress-text" (derived from the update)
    raw: str = ""             # the cell's text as written ("Amber ", "G"), or the fill colour
    in_key: bool = True
    complete: bool = False

    @property
    def derived(self) -> bool:
        return self.source == "progress-text"


@dataclass
class Section:
    title: str
    row: int


@dataclass
class Action:
    sheet: str
    row: int                              # first row of the action
    rows: list[int]                       # every sheet row it spans (continuation rows included)
    section: str | None
    recommendation: str | None
    ref: str | None
    text: str
    lead_text: str                        # lead cell(s) as written, joined with " / " when two columns
    leads: list[str]
    timescale_text: str                   # as written ("Mar-24", or "Jan-17 to Feb-17" from start+end columns)
    update: str
    status: Status | None
    measure: str = ""
    cells: dict[str, str] = field(default_factory=dict)       # field -> cell coordinate ("F12")
    raw: dict[str, Any] = field(default_factory=dict)         # field -> the cell's value as read
    status_fill: str | None = None        # "RRGGBB" of the status cell's fill, if any
    key: str | None = None                # stable action key (written by returns; survives ref changes)
    _sub_actions: list[SubAction] | None = field(default=None, repr=False, compare=False)

    @property
    def sub_actions(self) -> list[SubAction]:
        """The numbered items of the action cell, found when first asked for (most jobs never ask)."""
        if self._sub_actions is None:
            self._sub_actions = numbered_items(self.text)
        return self._sub_actions

    def short_text(self, width: int = 80) -> str:
        """The text on one line, single-spaced, cut to `width` characters ('…' where cut). Of a long
        text, only the words that reach past `width` are split off (as many words make more characters)."""
        enough = width // 2 + 2
        words = self.text.split(None, enough)
        if len(words) > enough:                # more words than `enough`, which reach past width
            return " ".join(words[:enough])[: width - 1] + "…"
        text = " ".join(words)
        return text if len(text) <= width else text[: width - 1] + "…"

    def label(self, words: int = 5) -> str:
        """How a message names the action: its ref and a few words (`1.2 'Audit case files'`), its row
        only where it has no ref (`row 43 'Audit case files'`)."""
        parts = self.text.split(None, words)      # the first words, and the rest when there is more
        few = " ".join(parts[:words]) + ("…" if len(parts) > words else "")
        ref = (self.ref or "").strip()
        head = ref if ref else f"row {self.row}"
        return f"{head} '{few}'" if few else head


@dataclass(frozen=True)
class Decision:
    """A choice the reader made beyond what the headers say, shown by `inspect`."""

    kind: str                 # "column-from-values", "folded-row", "recommendation-tail", "formula-values",
                              # "formula-without-value"
    message: str              # plain English: what was decided and why
    row: int | None = None
    column: str | None = None


@dataclass
class Column:
    field: str
    letter: str
    header: str               # the header cell's text as written
    index: int                # 1-based column number


@dataclass
class Plan:
    path: str
    sheet: str
    header_row: int
    columns: dict[str, list[Column]]      # field -> columns (lead may have two: strategic + operational)
    actions: list[Action]
    sections: list[Section]
    rag_key: RagKey
    header_rows: list[int] = field(default_factory=list)   # every header row (repeats included)
    first_column: int = 1
    last_column: int = 1
    last_row: int = 1
    notes: list[tuple[int, str]] = field(default_factory=list)   # (row, text) above the table
    title: str = ""
    findings_without_actions: list[tuple[int, str]] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)      # column overrides in force
    decisions: list[Decision] = field(default_factory=list)      # what the reader decided from the values
    # Formula cells of the table: (row, column index) -> the value Excel saved, None when it saved none.
    formulas: dict[tuple[int, int], Any] = field(default_factory=dict, repr=False, compare=False)

    def column(self, name: str) -> Column | None:
        cols = self.columns.get(name) or []
        return cols[0] if cols else None

    @property
    def status_source(self) -> str:
        """How statuses are held: "text", "fill", "progress-text" or "none"."""
        sources = [a.status.source for a in self.actions if a.status]
        if not sources:
            return "none"
        return max(set(sources), key=sources.count)
