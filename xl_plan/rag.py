"""RAG keys (words or colour swatches), cell colours and status normalisation."""
from __future__ import annotations

import colorsys
import re
from functools import lru_cache

from .io.grid import last_column
from .model import AMBER, BLUE, GREEN, RED, RagEntry, RagKey, Status
from .text import clean, norm

STANDARD_COLOURS = {RED: "FF0000", AMBER: "FFC000", GREEN: "00B050", BLUE: "0070C0"}
DEFAULT_KEY = RagKey(
    entries=[
        RagEntry(RED, "Red", "Not on track", STANDARD_COLOURS[RED]),
        RagEntry(AMBER, "Amber", "Delays or issues", STANDARD_COLOURS[AMBER]),
        RagEntry(GREEN, "Green", "On track", STANDARD_COLOURS[GREEN]),
        RagEntry(BLUE, "Blue", "Complete", STANDARD_COLOURS[BLUE], complete=True),
    ],
    source="default",
)

# Words a key or a status cell may use for each code.
COLOUR_WORDS = {
    RED: {"red", "r", "rd"},
    AMBER: {"amber", "a", "amb", "orange", "yellow", "y"},
    GREEN: {"green", "g", "grn", "gr"},
    BLUE: {"blue", "b", "blu", "complete", "completed", "done", "closed"},
}
_KEY_LINE = re.compile(
    r"^\s*(red|amber|green|blue|black|purple|grey|gray|white|pink)\b\s*[:=\-–—]?\s*(.*)$", re.I | re.S
)
# Descriptions that say what a swatch means, for colour-only keys.
_DESCRIPTION_HINTS = (
    (BLUE, re.compile(r"\b(complete|completed|achieved|closed|delivered)\b", re.I)),
    (RED, re.compile(r"\b(not on track|off track|at risk|major issues?|significant (risk|concern)|not (be )?achieved|failing)\b", re.I)),
    (AMBER, re.compile(r"\b(too early|delays?|some (issues|risk)|in progress|partially|minor issues?|slippage)\b", re.I)),
    (GREEN, re.compile(r"\b(on track|on target|on schedule|good progress|within timescale)\b", re.I)),
)
# Status wording in progress text, for plans with no status column ("Completed.", "On track.").
_PROGRESS_WORDS = (
    (BLUE, re.compile(r"^(completed?|done)\b", re.I)),
    (RED, re.compile(r"^(off track|not on track|at risk|behind|delayed significantly)\b", re.I)),
    (AMBER, re.compile(r"^(delayed|slipped|partially|some delay)\b", re.I)),
    (GREEN, re.compile(r"^(on track|on target|in place|in progress|planned|ongoing)\b", re.I)),
)


# ---------------------------------------------------------------- colours

def rgb_of(color, theme_colours: list[str] | None = None) -> str | None:
    """'RRGGBB' for an openpyxl Color (rgb, theme with tint, or indexed), or None."""
    if color is None:
        return None
    kind = getattr(color, "type", None)
    if kind == "rgb":
        value = color.rgb
        if not isinstance(value, str) or len(value) < 6:
            return None
        return value[-6:].upper()
    if kind == "indexed":
        from openpyxl.styles.colors import COLOR_INDEX

        idx = color.indexed
        if idx is not None and 0 <= idx < len(COLOR_INDEX) and idx not in (64, 65):
            return COLOR_INDEX[idx][-6:].upper()
        return None
    if kind == "theme" and theme_colours:
        idx = color.theme
        if idx is None or not 0 <= idx < len(theme_colours):
            return None
        return apply_tint(theme_colours[idx], color.tint or 0.0)
    return None


def apply_tint(rgb: str, tint: float) -> str:
    """Excel's tint: lighten (tint > 0) or darken (tint < 0) in HLS luminance."""
    if not tint:
        return rgb.upper()
    r, g, b = (int(rgb[i : i + 2], 16) / 255 for i in (0, 2, 4))
    h, l, s = colorsys.rgb_to_hls(r, g, b)
    l = l * (1 + tint) if tint < 0 else l * (1 - tint) + tint
    r, g, b = colorsys.hls_to_rgb(h, max(0.0, min(1.0, l)), s)
    return "".join(f"{round(c * 255):02X}" for c in (r, g, b))


def theme_colours(workbook) -> list[str]:
    """The workbook theme's colours in Excel's theme-index order (lt1, dk1, lt2, dk2, accents...)."""
    xml = getattr(workbook, "loaded_theme", None)
    if not xml:
        return ["FFFFFF", "000000", "E7E6E6", "44546A", "4472C4", "ED7D31", "A5A5A5", "FFC000", "5B9BD5", "70AD47", "0563C1", "954F72"]
    return _parse_theme(xml)


@lru_cache(maxsize=8)
def _parse_theme(xml: bytes) -> list[str]:
    from defusedxml import ElementTree as ET

    ns = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
    root = ET.fromstring(xml)
    scheme = root.find(f".//{ns}clrScheme")
    if scheme is None:
        return []
    by_name = {}
    for child in scheme:
        name = child.tag.replace(ns, "")
        inner = child[0] if len(child) else None
        value = None
        if inner is not None:
            value = inner.get("val") if inner.tag.endswith("srgbClr") else inner.get("lastClr")
        by_name[name] = (value or "000000").upper()
    order = ["lt1", "dk1", "lt2", "dk2", "accent1", "accent2", "accent3", "accent4", "accent5", "accent6", "hlink", "folHlink"]
    return [by_name.get(n, "000000") for n in order]


def fill_rgb(cell, theme: list[str] | None) -> str | None:
    """The solid fill colour of a cell, or None for no fill / white."""
    if not cell.has_style:
        return None
    fill = cell.parent.parent._fills[cell._style.fillId]  # the shared fill, without a style proxy
    if fill is None or getattr(fill, "fill_type", None) != "solid":
        return None
    rgb = rgb_of(fill.fgColor, theme)
    if rgb in (None, "FFFFFF"):
        return None
    return rgb


def _redmean_distance(a: str, b: str) -> float:
    r1, g1, b1 = (int(a[i : i + 2], 16) for i in (0, 2, 4))
    r2, g2, b2 = (int(b[i : i + 2], 16) for i in (0, 2, 4))
    rm = (r1 + r2) / 2
    dr, dg, db = r1 - r2, g1 - g2, b1 - b2
    return ((2 + rm / 256) * dr * dr + 4 * dg * dg + (2 + (255 - rm) / 256) * db * db) ** 0.5


def classify_colour(rgb: str) -> str | None:
    """Which RAG family a colour belongs to, by hue (None for greys, whites and blacks)."""
    r, g, b = (int(rgb[i : i + 2], 16) / 255 for i in (0, 2, 4))
    h, l, s = colorsys.rgb_to_hls(r, g, b)
    if s < 0.25 or l < 0.08 or l > 0.95:
        return None
    deg = h * 360
    if deg < 18 or deg >= 330:
        return RED
    if deg < 65:
        return AMBER
    if deg < 170:
        return GREEN
    if deg < 270:
        return BLUE
    return None


# How far a shade may be from the key's colour and still count as it (redmean units, 0..~765).
NEAR_COLOUR = 160.0


def match_colour(rgb: str, key: RagKey) -> RagEntry | None:
    """The key entry whose colour is nearest to `rgb`, when near enough or of the same hue family."""
    best, best_d = None, None
    for entry in key.entries:
        if not entry.colour:
            continue
        d = _redmean_distance(rgb, entry.colour)
        if best_d is None or d < best_d:
            best, best_d = entry, d
    if best is not None and best_d is not None and best_d <= NEAR_COLOUR:
        return best
    family = classify_colour(rgb)
    if family:
        return key.entry(family)
    return None


# ---------------------------------------------------------------- keys

def read_key(ws, top: int, bottom: int, theme: list[str] | None) -> RagKey | None:
    """Find a RAG key in rows top..bottom of a sheet (the block above the table)."""
    text_entries: list[RagEntry] = []
    swatch_entries: list[RagEntry] = []
    if bottom < top:
        return None
    max_col = min(last_column(ws), 40)
    for row in ws.iter_rows(min_row=top, max_row=bottom, max_col=max_col):
        cells = list(row)
        for i, cell in enumerate(cells):
            text = clean(cell.value)
            if text and len(text) <= 160:
                m = _KEY_LINE.match(text)
                if m and (m.group(1)[0].isupper()):
                    word = m.group(1)
                    desc = m.group(2).strip()
                    colour = fill_rgb(cell, theme)
                    if not desc:
                        desc, colour = _neighbour_text(cells, i, theme, colour)
                    if not desc and len(text.split()) > 1:
                        continue
                    code = word.lower()
                    code = {"grey": "grey", "gray": "grey"}.get(code, code)
                    text_entries.append(
                        RagEntry(code, word, desc, colour or STANDARD_COLOURS.get(code),
                                 complete=code == BLUE or bool(re.search(r"\bcomplet", desc, re.I)),
                                 row=cell.row, column=cell.column_letter)
                    )
                    continue
            if not text or len(text) <= 2:
                colour = fill_rgb(cell, theme)
                if colour:
                    desc, _ = _neighbour_text(cells, i, theme, None)
                    if desc:
                        code = _code_for_swatch(colour, desc)
                        if code:
                            swatch_entries.append(
                                RagEntry(code, code.capitalize(), desc, colour,
                                         complete=code == BLUE or bool(re.search(r"\bcomplet", desc, re.I)),
                                         row=cell.row, column=cell.column_letter)
                            )
    for entries, source in ((text_entries, "text"), (swatch_entries, "colour")):
        unique = _dedupe(entries)
        if len(unique) >= 2:
            return RagKey(unique, source, sheet=ws.title, row=min(e.row for e in unique))
    return None


def _neighbour_text(cells, i, theme, colour):
    for j in range(i + 1, min(i + 4, len(cells))):
        text = clean(cells[j].value)
        if text:
            return text, colour or fill_rgb(cells[j], theme)
    return "", colour


def _code_for_swatch(colour: str, desc: str) -> str | None:
    family = classify_colour(colour)
    for code, pattern in _DESCRIPTION_HINTS:
        if pattern.search(desc):
            # a blue swatch described "Action completed" is blue; trust the hue when they disagree
            return family or code
    return family


def _dedupe(entries: list[RagEntry]) -> list[RagEntry]:
    seen, out = set(), []
    for e in entries:
        if e.code not in seen:
            seen.add(e.code)
            out.append(e)
    return out


# ---------------------------------------------------------------- statuses

def status_from_text(raw: str, key: RagKey) -> Status:
    """Normalise a status cell's text ('green', 'GREEN ', 'G', 'Grn') against the key."""
    word = norm(raw.replace("*", ""))
    for entry in key.entries:
        if word in _entry_words(entry):
            return Status(entry.code, entry.description, entry.colour, "text", raw, True, entry.complete)
    # A colour word the key does not define (e.g. 'Blue' in a plan whose key has no blue)
    for code, words in COLOUR_WORDS.items():
        if word in words:
            return Status(code, "", STANDARD_COLOURS[code], "text", raw, False, code == BLUE)
    return Status(word or raw.strip().lower(), "", None, "text", raw, False, False)


@lru_cache(maxsize=256)
def _entry_words(entry: RagEntry) -> frozenset[str]:
    """The words a status cell may use for a key entry: its name, code, colour words and description."""
    words = {norm(entry.name), entry.code} | COLOUR_WORDS.get(entry.code, set())
    if entry.description:
        words.add(norm(entry.description))
    return frozenset(words)


def status_from_fill(rgb: str, key: RagKey) -> Status:
    entry = match_colour(rgb, key)
    if entry is None:
        return Status(f"#{rgb}", "", rgb, "fill", f"#{rgb}", False, False)
    return Status(entry.code, entry.description, entry.colour, "fill", f"#{rgb}", True, entry.complete)


def status_from_progress(update: str, key: RagKey) -> Status | None:
    """Status stated at the start of the progress text ('Completed.', 'On track.'), marked as derived."""
    first = update.strip()[:40]
    for code, pattern in _PROGRESS_WORDS:
        m = pattern.match(first)
        if m:
            entry = key.entry(code)
            label = entry.description if entry else ""
            colour = entry.colour if entry else STANDARD_COLOURS[code]
            return Status(code, label, colour, "progress-text", m.group(0), entry is not None, code == BLUE)
    return None


# ---------------------------------------------------------------- a status in words (the one rule)

def key_word(entry: RagEntry) -> str:
    """How the key names an entry ('GREEN', 'Complete'); a colour-only key's code, capitalised."""
    return entry.name if entry.name != entry.code else entry.code.capitalize()


def status_name(status: Status | None, key: RagKey, *, derived: bool = False) -> str:
    """The status in the key's own word, as returns, the Gantt and the Carried forward sheet show it;
    a word outside the key as written; '' for no status. A status only read from the update text
    counts with `derived` (the Gantt colours by it; a return leaves it for the lead to choose)."""
    if status is None or (status.source == "progress-text" and not derived):
        return ""
    entry = key.entry(status.code) if status.in_key else None
    if entry is not None:
        return key_word(entry)
    return clean(status.raw) if status.source == "text" else ""


def status_as_written(status: Status | None, key: RagKey) -> str:
    """The status as the plan's cell writes it ('Grn ', 'G'), for History and merge comparisons; the
    key's word for a colour-only cell; '' for no status or one only read from the update text."""
    if status is None or status.source == "progress-text":
        return ""
    if status.in_key:
        entry = key.entry(status.code)
        if status.source == "fill" and entry is not None:
            return entry.name
        return clean(status.raw) or (entry.name if entry else status.code)
    return clean(status.raw)
