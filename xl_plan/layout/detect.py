"""Finding the action table in a plan laid out however its council likes, and reading
it into the Plan model: header row, column mapping, sections, repeated headers,
continuation rows, the RAG key and each action's status."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from openpyxl.styles.numbers import is_date_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel

from .. import rag
from ..errors import LayoutError
from ..io.grid import rows_of
from ..leads import known_leads, split_leads
from ..model import Action, Column, Decision, Plan, Section, Status
from ..owned import kind_of
from ..text import clean, norm
from .headers import match_header

HEADER_SCAN_ROWS = 150
BLANK_RUN_END = 200          # this many blank rows in a row end the table
_SECTION_TEXT = re.compile(
    r"^(area for improvement|areas? of improvement|ofsted recommendation|recommendation|service finding|"
    r"finding|theme|priority|section|part|strand|workstream|objective)\s*(\(?\d+\)?|[ivx]+\b|[a-z]\b)?\s*[:.)\-–]",
    re.I,
)
_REF = re.compile(r"^\(?[A-Za-z]{0,4}\s?\d{1,3}([.\-]\d{1,3}){0,3}[a-z]?\.?\)?\s*\*{0,2}$")
_NOTE_WORDS = re.compile(r"\b(starred|carried forward|rag status key|rag key|key:)", re.I)


@dataclass
class _Header:
    row: int
    fields: dict[int, tuple[str, int]]     # column index -> (field, strength)
    cells: dict[int, str]                  # column index -> header text

    @property
    def score(self) -> int:
        return len({f for f, _ in self.fields.values()})


def read_plan(path, sheet: str | None = None, columns: dict[str, str] | None = None, *, workbook=None) -> Plan:
    """Read a plan in its own layout. `columns` overrides the mapping: field -> header text or letter
    (e.g. {"lead": "Progress", "update": "Key points to note"})."""
    from ..io.workbook import load
    from ..settings import remembered_columns

    path = Path(path)
    wb = workbook if workbook is not None else load(path)
    overrides = dict(remembered_columns(path, wb))
    overrides.update(columns or {})
    return plan_from_workbook(wb, str(path), sheet=sheet, columns=overrides)


def plan_from_workbook(wb, path: str, sheet: str | None = None, columns: dict[str, str] | None = None) -> Plan:
    ws, header = _choose_sheet(wb, path, sheet, columns)
    theme = rag.theme_colours(wb)
    formulas = _formula_results(ws, path, header.row)
    decisions: list[Decision] = []
    mapping = _map_columns(ws, header, columns or {}, formulas, decisions)
    first_col = min(min(header.cells), min(c.index for cols in mapping.values() for c in cols))
    last_col = max(max(header.cells), max(c.index for cols in mapping.values() for c in cols))

    key = rag.read_key(ws, 1, header.row - 1, theme)
    plan = Plan(
        path=path, sheet=ws.title, header_row=header.row, columns=mapping, actions=[], sections=[],
        rag_key=key or rag.DEFAULT_KEY, header_rows=[header.row], first_column=first_col,
        last_column=last_col, overrides=dict(columns or {}),
    )
    plan.decisions.extend(decisions)
    _note_formulas(plan, formulas)
    plan.notes, plan.title = _notes_above(ws, header.row, first_col, last_col)
    _read_rows(ws, plan, header, theme)
    action_keys(wb, plan)
    return plan


def reread_actions(wb, plan: Plan, rows) -> Plan:
    """The plan as `plan_from_workbook` would read it again after a writer changed only the update and
    status cells (values or fills) of the actions starting at sheet `rows`, as a merge does: a copy of
    `plan` whose actions at those rows are read again from the sheet, cell by cell, with the same code
    as a full read (ref, text, leads, section, keys and every other row are unchanged, so they are
    shared with `plan`). Reading only the changed rows saves a second full read of a large plan."""
    import dataclasses

    rows = set(rows)
    ws = wb[plan.sheet]
    theme = rag.theme_colours(wb)
    fields = {f: [c.index for c in cols] for f, cols in plan.columns.items()}
    letters = {f: get_column_letter(cols[0]) for f, cols in fields.items()}
    actions = []
    statuses: dict[tuple[str, str], Status] = {}
    for a in plan.actions:
        if a.row not in rows:
            actions.append(a)
            continue
        fresh = None
        for r in a.rows:
            values = {}
            for c in range(plan.first_column, plan.last_column + 1):     # as rows_of reads them
                cell = ws._cells.get((r, c))
                v = cell._value if cell is not None else None
                if cell is not None and cell.data_type == "f" and (r, c) in plan.formulas:
                    v = plan.formulas[(r, c)]
                if v is not None and v != "" and (not isinstance(v, str) or v.strip()):
                    values[c] = v
            texts = {c: t for c, t in ((c, clean(v)) for c, v in values.items()) if t}
            if fresh is None:
                fresh = _new_action(ws, plan, r, a.section, a.recommendation, texts, values, fields, letters, theme)
            else:
                _continue_action(fresh, r, texts, fields, values)
        fresh.leads, fresh.key = list(a.leads), a.key
        _read_status(fresh, plan, statuses)
        actions.append(fresh)
    return dataclasses.replace(plan, actions=actions)


# ---------------------------------------------------------------- stable action keys

# One reference to a cell or range on one sheet, nothing else (no operators, lists or functions).
# The quoted name is kept as written (doubled quotes included), as openpyxl's `destinations` gives it.
_SIMPLE_DESTINATION = re.compile(
    r"^(?:'(?P<quoted>(?:[^']|'')*)'|(?P<bare>[A-Za-z_][A-Za-z0-9_.]*))!"
    r"(?P<cells>\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)$")


def action_keys(wb, plan: Plan) -> int:
    """Fill `action.key` from the workbook-level defined names `_xlp_<key>` that `returns make`
    writes (see xl_plan/returns/identity.py): a name pointing at a row of an action on the plan's
    sheet gives that action its key. Names pointing elsewhere or at nothing (#REF!) are ignored;
    when two names point at one action the first in sorted order wins. Returns how many were set."""
    from ..owned import key_from_name

    set_count = 0
    try:
        names = sorted(wb.defined_names.items())
    except AttributeError:      # a workbook-like object without names
        return 0
    by_row = used = None        # made when a name is an action's (a plan not yet sent out has none)
    for name, dn in names:
        key = key_from_name(name)
        if key is None:
            continue
        if by_row is None:
            by_row = {r: a for a in plan.actions for r in a.rows}
            used = {a.key for a in plan.actions if a.key}
        simple = _SIMPLE_DESTINATION.match(dn.attr_text or "")
        if simple:              # 'Sheet'!$A$12, as returns make writes: what openpyxl's tokenizer gives, faster
            destinations = [(simple.group("quoted") if simple.group("quoted") is not None else simple.group("bare"),
                             simple.group("cells"))]
        else:
            try:
                destinations = list(dn.destinations)
            except Exception:       # noqa: BLE001 - #REF! and other unparsable values: not an action
                continue
        for sheet, coord in destinations:
            m = re.match(r"^\$?[A-Za-z]{1,3}\$?(\d+)", coord or "")
            if sheet != plan.sheet or not m:
                continue
            action = by_row.get(int(m.group(1)))
            if action is not None and action.key is None and key not in used:
                action.key = key
                used.add(key)
                set_count += 1
            break
    return set_count


# ---------------------------------------------------------------- the header row

def _scan_headers(ws, limit: int = HEADER_SCAN_ROWS) -> list[_Header]:
    found = []
    grid = rows_of(ws, 1, limit, 1, 60)        # rows past the last have no cells (ws.max_row is a scan of them all)
    for r in sorted(grid):
        fields, cells = {}, {}
        for c, value in sorted(grid[r].items()):
            text = clean(value)
            if not text:
                continue
            cells[c] = text
            m = match_header(text)
            if m:
                fields[c] = m
        if len(fields) >= 3:
            found.append(_Header(r, fields, cells))
    return found


def _best_header(headers: list[_Header]) -> _Header | None:
    good = [h for h in headers if h.score >= 3 and {"action", "ref", "recommendation"} & {f for f, _ in h.fields.values()}]
    if not good:
        return None
    top = max(h.score for h in good)
    return next(h for h in good if h.score >= top)


def _blank(ws) -> bool:
    """No cell but an empty A1: what ws.max_row, ws.max_column and A1 say, without their scans of
    every cell of a long sheet (A1 is made when missing, as they make it)."""
    cells = ws._cells
    if len(cells) > 1 or (cells and (1, 1) not in cells):
        return False
    return ws.cell(1, 1).value is None


def _choose_sheet(wb, path, sheet, columns):
    # first of all: reading cells (even to tell xl_plan's sheets apart) makes openpyxl count rows that hold nothing
    blank = {ws.title for ws in wb.worksheets if _blank(ws)}
    if sheet is not None:
        if sheet not in wb.sheetnames:
            raise LayoutError(
                f"{Path(path).name} has no sheet called {sheet!r}. Its sheets are: {', '.join(wb.sheetnames)}."
            )
        candidates = [wb[sheet]]
    else:
        theirs = [ws for ws in wb.worksheets if kind_of(ws) is None]     # xl_plan's own sheets are never the plan
        candidates = [ws for ws in theirs if ws.sheet_state == "visible"] or theirs
    empty = all(ws.title in blank for ws in candidates)
    best = None
    for ws in candidates:
        header = _best_header(_scan_headers(ws))
        if header is None and columns:
            header = _header_from_overrides(ws, columns)
        if header and (best is None or header.score > best[1].score):
            best = (ws, header)
    if best is None:
        names = ", ".join(repr(ws.title) for ws in candidates)
        where = f"sheet {sheet!r}" if sheet else (
            (f"sheet {names}" if len(candidates) == 1 else f"sheets {names}") if candidates else "any sheet")
        if candidates and empty:
            raise LayoutError(f"{Path(path).name}: {where} {'is' if len(candidates) == 1 else 'are'} empty; there is no plan to read.")
        raise LayoutError(
            f"{Path(path).name}: no table of actions found in {where}. xl_plan looks for a header row naming at "
            "least three columns such as 'Action', 'Lead', 'Timescale', 'Update' and 'Status'. If your headers use "
            'other words, name the columns with --columns, e.g. --columns action="What we will do",lead="Owner".'
        )
    return best


def _header_from_overrides(ws, columns) -> _Header | None:
    """With overrides naming header texts, the row holding most of them is the header."""
    wanted = {norm(v) for v in columns.values() if not re.fullmatch(r"[A-Za-z]{1,3}", v.strip())}
    best = None
    grid = rows_of(ws, 1, min(ws.max_row or 1, HEADER_SCAN_ROWS), 1, 60)
    for r in sorted(grid):
        cells = {c: clean(v) for c, v in sorted(grid[r].items()) if clean(v)}
        hits = sum(1 for t in cells.values() if norm(t) in wanted)
        if hits and (best is None or hits > best[0]):
            fields = {c: m for c, t in cells.items() if (m := match_header(t))}
            best = (hits, _Header(r, fields, cells))
    return best[1] if best else None


# ---------------------------------------------------------------- columns

def _map_columns(ws, header: _Header, overrides: dict[str, str], formulas=None, decisions=None) -> dict[str, list[Column]]:
    by_field: dict[str, list[tuple[int, int]]] = {}
    for c, (field, strength) in sorted(header.fields.items()):
        by_field.setdefault(field, []).append((c, strength))

    # "Action" may hold refs (1.1, 2.) beside a "Description" column: decide by the values.
    if "action" in by_field and "ref" not in by_field and len(by_field["action"]) >= 1:
        samples = _column_samples(ws, header.row, [c for c, _ in by_field["action"]], formulas=formulas)
        for c, strength in list(by_field["action"]):
            values = samples.get(c, [])
            if values and sum(bool(_REF.match(v)) for v in values) >= 0.6 * len(values):
                by_field["action"].remove((c, strength))
                by_field.setdefault("ref", []).append((c, strength))
                break
        if not by_field["action"]:
            del by_field["action"]

    _fields_from_values(ws, header, by_field, overrides, formulas, decisions)

    mapping: dict[str, list[Column]] = {}
    for field, cols in by_field.items():
        if field == "lead":
            chosen = [c for c, _ in cols]
        else:
            top = max(s for _, s in cols)
            chosen = [next(c for c, s in cols if s == top)]
        mapping[field] = [Column(field, get_column_letter(c), header.cells.get(c, ""), c) for c in chosen]

    for field, target in overrides.items():
        field = field.strip().lower()
        if field not in {"recommendation", "ref", "action", "lead", "timescale", "start", "end", "measure", "update", "status"}:
            raise LayoutError(
                f"--columns names an unknown field {field!r}. Fields are: recommendation, ref, action, lead, "
                "timescale, start, end, measure, update, status."
            )
        c = _resolve_override(header, target)
        if c is None:
            raise LayoutError(
                f"Sheet {ws.title!r}, header row {header.row}: no column called {target!r} for {field}. "
                f"The headers are: {', '.join(repr(t) for t in header.cells.values())}. Give the header text "
                "as written or a column letter such as G."
            )
        for other in list(mapping):  # a column holds one field only
            mapping[other] = [col for col in mapping[other] if col.index != c]
            if not mapping[other]:
                del mapping[other]
        mapping[field] = [Column(field, get_column_letter(c), header.cells.get(c, ""), c)]
    if "action" not in mapping and "ref" not in mapping:
        raise LayoutError(
            f"Sheet {ws.title!r}, header row {header.row}: there is no action column. Name it with "
            '--columns action="<header text>".'
        )
    return mapping


_FIELD_WORDS = {"update": "updates", "measure": "measures", "lead": "leads", None: "nothing xl_plan knows"}


def _fields_from_values(ws, header: _Header, by_field, overrides, formulas, decisions) -> None:
    """Headers that mislead, seen from the values: a column headed as the update (or the measure, or
    named nothing xl_plan knows) whose values are short, repeated names, initials or job titles holds
    the leads when no column headed as a lead does; a column headed as a lead (or named nothing known)
    whose values are long dated prose is the update when no column headed as the update is. Columns and
    fields named by --columns are left as the user said."""
    from .values import LEAD, UPDATE, classify

    named = {f.strip().lower() for f in overrides}
    targets = {c for t in overrides.values() if (c := _resolve_override(header, t)) is not None}
    field_of = {c: f for f, cols in by_field.items() for c, _ in cols}
    lead_cols = [c for c, _ in by_field.get("lead", [])]
    update_cols = [c for c, _ in by_field.get("update", [])]
    free = [c for c in header.cells if c not in targets and field_of.get(c) in (None, "update", "measure", "lead")]
    if not free:
        return
    samples = _column_samples(ws, header.row, sorted(header.cells), formulas=formulas)
    known = _leads_sheet_names(ws.parent)
    kinds = {}
    for c in free:
        own = norm(header.cells[c])
        kinds[c] = classify([v for v in samples.get(c, []) if norm(v) != own], known)

    def move(c, to, why):
        old = field_of.get(c)
        if old is not None:
            by_field[old] = [(col, s) for col, s in by_field[old] if col != c]
            if not by_field[old]:
                del by_field[old]
        by_field.setdefault(to, []).append((c, 3))
        by_field[to].sort()
        field_of[c] = to
        letter, head = get_column_letter(c), header.cells[c]
        decisions.append(Decision(
            "column-from-values",
            f"Column {letter} '{head}' is headed as {_FIELD_WORDS.get(old, old)} but holds {_FIELD_WORDS[to]}: its values "
            f"are {why}. Read as the {to}.", header.row, letter))

    if "lead" not in named and not any(kinds.get(c, None) is None or kinds[c].kind != UPDATE for c in lead_cols):
        # No column headed as a lead holds leads (or none is headed so).
        found = [c for c in free if field_of.get(c) in (None, "update", "measure") and kinds[c].kind == LEAD]
        for c in found[:2]:
            move(c, "lead", kinds[c].why)
    update_cols = [c for c, _ in by_field.get("update", [])]
    if "update" not in named and not update_cols:
        found = [c for c in free if kinds[c].kind == UPDATE and (field_of.get(c) is None or (
            field_of.get(c) == "lead" and len(by_field.get("lead", [])) > 1))]
        if found:
            move(found[0], "update", kinds[found[0]].why)
    if decisions:       # fields in the order of their columns, as read from the header
        ordered = sorted(by_field.items(), key=lambda item: min(c for c, _ in item[1]))
        by_field.clear()
        by_field.update(ordered)


def _leads_sheet_names(wb) -> set[str]:
    """The leads the master's Leads sheet lists ('As written in plan'), if it has one."""
    if wb is None or "Leads" not in getattr(wb, "sheetnames", ()):
        return set()
    try:
        from ..directory import read_directory

        return {e.written for e in read_directory(wb).entries.values() if e.written}
    except Exception:   # noqa: BLE001 - a Leads sheet xl_plan cannot read only loses the hint
        return set()


def _resolve_override(header: _Header, target: str) -> int | None:
    t = target.strip()
    if re.fullmatch(r"[A-Za-z]{1,3}", t) and norm(t) not in {norm(v) for v in header.cells.values()}:
        from openpyxl.utils import column_index_from_string

        return column_index_from_string(t.upper())
    for c, text in header.cells.items():
        if norm(text) == norm(t):
            return c
    return None


def _column_samples(ws, header_row: int, cols: list[int], limit: int = 40, formulas=None) -> dict[int, list[str]]:
    """Up to `limit` non-blank cleaned texts of each column in the 400 rows below the header."""
    out: dict[int, list[str]] = {c: [] for c in cols}
    formulas = formulas or {}
    cells = ws._cells
    wanted = set(cols)
    for r in range(header_row + 1, header_row + 401):    # rows past the last have no cells: not worked out
        for c in list(wanted):
            cell = cells.get((r, c))
            if cell is None:
                continue
            value = formulas.get((r, c), cell._value) if cell.data_type == "f" else cell._value
            if value is None or value == "":
                continue
            text = clean(value)
            if text:
                out[c].append(text)
                if len(out[c]) >= limit:
                    wanted.discard(c)
        if not wanted:
            break
    return out


# ---------------------------------------------------------------- formulas

def _formula_results(ws, path, header_row: int) -> dict[tuple[int, int], object]:
    """The saved results of the formula cells below the header: {(row, column): value or None}."""
    from ..io.grid import formula_cells
    from ..io.workbook import saved_results

    cells = formula_cells(ws, header_row + 1)    # no upper bound: ws.max_row holds every cell, and is a scan of them all
    if not cells:
        return {}
    results = saved_results(path, ws.title, cells)
    for (r, c), value in results.items():      # a number shown as a date is a date, as openpyxl reads one
        if isinstance(value, (int, float)) and not isinstance(value, bool) and is_date_format(ws._cells[(r, c)].number_format):
            try:
                results[(r, c)] = from_excel(value, _epoch(ws))
            except (ValueError, OverflowError):
                pass
    return results


def _epoch(ws):
    return getattr(ws.parent, "epoch", None) or CALENDAR_WINDOWS_1900


def _with_results(grid, formulas):
    """The grid with each formula replaced by the value Excel saved for it (blank when none)."""
    for (r, c), value in formulas.items():
        row = grid.get(r)
        if row is None or c not in row:
            continue
        if value is None or value == "":
            del row[c]
        else:
            row[c] = value
    return grid


def _note_formulas(plan: Plan, formulas) -> None:
    """Keep the formulas of the plan's columns and say how they were read."""
    fields = {c.index: f for f, cols in plan.columns.items() for c in cols}
    plan.formulas = {k: v for k, v in formulas.items() if k[1] in fields}
    by_col: dict[int, list[tuple[int, object]]] = {}
    for (r, c), value in sorted(plan.formulas.items()):
        by_col.setdefault(c, []).append((r, value))
    for c, cells in sorted(by_col.items()):
        letter, field = get_column_letter(c), fields[c]
        saved = sum(1 for _, v in cells if v is not None)
        missing = [r for r, v in cells if v is None]
        if saved:
            plan.decisions.append(Decision(
                "formula-values", f"Column {letter} ({field}) holds formulas: read the values Excel saved for them "
                                  f"({saved} cell{'s' if saved != 1 else ''}).", cells[0][0], letter))
        if missing:
            plan.decisions.append(Decision(
                "formula-without-value", f"Column {letter} ({field}): {len(missing)} formula cell"
                f"{'s have' if len(missing) != 1 else ' has'} no saved result (first {letter}{missing[0]}), so "
                f"{'their values are' if len(missing) != 1 else 'its value is'} unknown: open the file in Excel and "
                "save it.", missing[0], letter))


# ---------------------------------------------------------------- notes above the table

def _notes_above(ws, header_row, first_col, last_col):
    notes, title = [], ""
    for r, row in enumerate(ws.iter_rows(min_row=1, max_row=header_row - 1, min_col=1, max_col=max(last_col, 1), values_only=True), 1):
        texts = [clean(v) for v in row if clean(v)]
        if texts:
            notes.append((r, " ".join(texts)))
            if not title and not rag._KEY_LINE.match(texts[0]):
                title = texts[0]
    return notes, title


# ---------------------------------------------------------------- rows

def _field_text(texts: dict[int, str], cols: list[int], sep: str = "\n") -> str:
    """The text of a field in one row (a field with two columns, such as two leads, joined)."""
    if len(cols) == 1:
        return texts.get(cols[0], "")
    return sep.join([texts[c] for c in cols if c in texts])


_LAST_ROW = 1_048_576        # a sheet's last row: a bound that needs no scan of every cell (ws.max_row)


def _read_rows(ws, plan: Plan, header: _Header, theme) -> None:
    first, last = plan.first_column, plan.last_column
    width = last - first + 1
    fields = {f: [c.index for c in cols] for f, cols in plan.columns.items()}
    header_sig = {c: f for c, (f, _) in header.fields.items()}
    key_col = (fields.get("action") or fields.get("ref"))[0]
    letters = {f: get_column_letter(cols[0]) for f, cols in fields.items()}
    merged_wide = _wide_merges(ws, first, width)

    section: str | None = None
    recommendation: str | None = None
    current: Action | None = None
    group: list[Action] = []            # the actions under the current recommendation
    after_header: int | None = None     # the repeated header row just read, if the last row was one

    # A section row directly above the first header (city_of_london, barking) opens the first section.
    above = _section_above(ws, header.row, first, last, merged_wide)
    if above:
        section = above.title
        plan.sections.append(above)

    grid = _with_results(rows_of(ws, header.row + 1, _LAST_ROW, first, last), plan.formulas)
    previous = header.row
    for r in sorted(grid):
        # (text that is not only blanks: what v.strip() says, without a copy of every text)
        values = {c: v for c, v in grid[r].items() if not isinstance(v, str) or (v and not v.isspace())}
        if not values:
            continue
        if r - previous > BLANK_RUN_END:
            break   # a long run of blank rows ends the table: what follows is something else
        previous = r
        plan.last_row = r
        texts = {c: t for c, v in values.items() if (t := clean(v))}
        if not texts:
            continue

        if _is_repeat_header(texts, header_sig, key_col):
            plan.header_rows.append(r)
            after_header = r
            continue
        header_above, after_header = after_header, None

        if _is_section_row(texts, r, merged_wide, fields):
            section = next(iter(texts.values()))
            plan.sections.append(Section(section, r))
            recommendation, current, group = None, None, []
            continue

        ref = _field_text(texts, fields.get("ref", ()))
        text = _field_text(texts, fields.get("action", ()))
        rec = _field_text(texts, fields.get("recommendation", ()))
        if header_above is not None and _split_by_page_break(ws, r, texts, fields, rec, current, recommendation, theme):
            # Right after a repeated header, a row with no ref, lead, timescale or status is the rest of
            # the row above it, split by the page break.
            if rec and recommendation:
                recommendation = f"{recommendation} {rec}"
                for a in group:
                    a.recommendation = recommendation
                if plan.findings_without_actions and current is None:
                    row0, _ = plan.findings_without_actions[-1]
                    plan.findings_without_actions[-1] = (row0, recommendation)
            if current is not None:
                _continue_action(current, r, texts, fields, values)
            only_rec = _only(texts, fields, "recommendation")
            kind = "recommendation-tail" if only_rec else "folded-row"
            what = f"the action in row {current.row}" if current is not None and not only_rec else "the recommendation above"
            plan.decisions.append(Decision(
                kind, f"Row {r}, right after the repeated header in row {header_above}, has no ref, lead, timescale "
                      f"or status: read as the rest of {what} (a page break split it).", r))
            continue
        if header_above is not None:
            current = None      # otherwise a header ends the action above, as before
        if not ref and not text:
            if rec and not _only(texts, fields, "recommendation"):
                pass  # a recommendation with other data but no action: an action without text
            elif rec:
                recommendation = rec
                plan.findings_without_actions.append((r, rec))
                current, group = None, []
                continue
            elif current is not None:
                _continue_action(current, r, texts, fields, values)
                continue
        if rec:
            recommendation, group = rec, []
        current = _new_action(ws, plan, r, section, recommendation, texts, values, fields, letters, theme)
        plan.actions.append(current)
        group.append(current)

    _finish(plan)


# A recommendation's tail split off by a page break is a few words.
_TAIL_WORDS = 15


def _split_by_page_break(ws, r, texts, fields, rec, current, recommendation, theme) -> bool:
    """A row right after a repeated header that continues the row above it: no ref, no lead, no
    timescale and no status (text or colour), and either the action above to continue or, for a
    row holding only a recommendation, a recommendation above it and only a few words."""
    for field in ("ref", "lead", "timescale", "start", "end", "status"):
        if any(c in texts for c in fields.get(field, ())):
            return False
    status_cols = fields.get("status")
    if status_cols:
        cell = ws._cells.get((r, status_cols[0]))
        if cell is not None and rag.fill_rgb(cell, theme):
            return False
    if _only(texts, fields, "recommendation"):
        return bool(recommendation) and len(rec.split()) <= _TAIL_WORDS and not _SECTION_TEXT.match(rec)
    return current is not None


def _only(texts, fields, field) -> bool:
    cols = set(fields.get(field, []))
    return all(c in cols for c in texts)


def _wide_merges(ws, first: int, width: int) -> dict[int, int]:
    """Row -> width of a merged range starting in it that spans at least half the table."""
    out = {}
    for rng in ws.merged_cells.ranges:
        span = rng.max_col - rng.min_col + 1
        if rng.min_row == rng.max_row and span >= max(2, width // 2):
            out[rng.min_row] = span
    return out


def _section_above(ws, header_row, first, last, merged_wide) -> Section | None:
    for r in range(header_row - 1, max(0, header_row - 3), -1):
        cells = [clean(ws.cell(r, c).value) for c in range(first, last + 1)]
        texts = [t for t in cells if t]
        if not texts:
            continue
        if len(texts) == 1 and (r in merged_wide or _SECTION_TEXT.match(texts[0])) and not _NOTE_WORDS.search(texts[0]) \
                and not rag._KEY_LINE.match(texts[0]):
            return Section(texts[0], r)
        return None
    return None


def _is_repeat_header(texts: dict[int, str], header_sig: dict[int, str], key_col: int) -> bool:
    if len(texts) < 2:
        return False
    # Quick no for data rows: a repeated header names its action (or ref) column again.
    key_text = texts.get(key_col)
    if key_text is not None:
        m = match_header(key_text)
        if not m or m[0] != header_sig.get(key_col):
            return False
    hits = 0
    for c, t in texts.items():
        m = match_header(t)
        if m and header_sig.get(c) == m[0]:
            hits += 1
    return hits >= max(2, int(0.6 * len(texts)))


def _is_section_row(texts: dict[int, str], r: int, merged_wide: dict[int, int], fields) -> bool:
    if len(texts) != 1:
        return False
    (c, text), = texts.items()
    if r in merged_wide:
        return True
    if _SECTION_TEXT.match(text) and c not in fields.get("action", []) and c not in fields.get("update", []):
        return True
    return False


def _new_action(ws, plan, r, section, recommendation, texts, values, fields, letters, theme) -> Action:
    row = str(r)
    cells, raw, text_of = {}, {}, {}
    for field, cols in fields.items():      # one pass over the fields: each one's cell, value and text
        cells[field] = letters[field] + row
        raw[field] = values.get(cols[0]) if len(cols) == 1 else [values.get(c) for c in cols]
        text_of[field] = _field_text(texts, cols, " / " if field == "lead" else "\n")
    get = text_of.get
    timescale = get("timescale", "")
    if not timescale:
        start, end = get("start", ""), get("end", "")
        timescale = f"{start} to {end}" if start and end and start != end else (end or start)
    action = Action(
        sheet=ws.title, row=r, rows=[r], section=section, recommendation=recommendation,
        ref=get("ref") or None, text=get("action", ""), lead_text=get("lead", ""), leads=[],
        timescale_text=timescale, update=get("update", ""), status=None, measure=get("measure", ""),
        cells=cells, raw=raw,
    )
    status_cols = fields.get("status")
    if status_cols:
        cell = ws._cells.get((r, status_cols[0]))
        if cell is None:        # as before, the status cell is made (a writer may fill it in)
            cell = ws.cell(r, status_cols[0])
        action.status_fill = rag.fill_rgb(cell, theme)
    return action


def _continue_action(action: Action, r, texts, fields, values) -> None:
    """A row split by a page break: its text belongs to the action above."""
    action.rows.append(r)
    for field, attr in (("action", "text"), ("lead", "lead_text"), ("timescale", "timescale_text"), ("update", "update"), ("measure", "measure")):
        extra = "\n".join(texts[c] for c in fields.get(field, []) if c in texts)
        if extra:
            current = getattr(action, attr)
            setattr(action, attr, f"{current}\n{extra}" if current else extra)


def _finish(plan: Plan) -> None:
    known = known_leads({a.lead_text for a in plan.actions})
    split: dict[str, list[str]] = {}
    statuses: dict[tuple[str, str], Status] = {}
    for a in plan.actions:
        if a.lead_text not in split:
            split[a.lead_text] = split_leads(a.lead_text, known)
        a.leads = list(split[a.lead_text])
        _read_status(a, plan, statuses)


def _read_status(a: Action, plan: Plan, statuses: dict[tuple[str, str], Status]) -> None:
    """`statuses`: those already read against `plan.rag_key` in this pass, by the text or fill they were
    read from (a plan repeats a few; a Status is frozen, so actions may share one)."""
    key = plan.rag_key
    if "status" in plan.columns:
        raw = a.raw.get("status")
        raw_status = clean(raw) if raw is not None else ""
        if raw_status:
            status = statuses.get(("text", raw_status))
            if status is None:
                status = statuses[("text", raw_status)] = rag.status_from_text(raw_status, key)
            a.status = status
        elif a.status_fill:
            status = statuses.get(("fill", a.status_fill))
            if status is None:
                status = statuses[("fill", a.status_fill)] = rag.status_from_fill(a.status_fill, key)
            a.status = status
    elif a.update:
        a.status = rag.status_from_progress(a.update, key)
