"""Matching returned actions to the master and applying the leads' updates and statuses.

Rules (nothing a lead sent is lost: whatever is not applied is a finding AND a History row):

* A return is checked before any of it is used: its plan id must be the master's (`wrong-plan`),
  its month the month being merged (`stale-return` when older, `wrong-month` when newer), and the
  master's `Returns log` must record that return (its return id) as sent to that lead
  (`wrong-lead`). An action whose lead in the master no longer includes the return's lead is
  not applied either (`wrong-lead`).
* Two returns of one lead for the month: the later one wins, later meaning the later
  modification time of the file (for a return attached to a saved email: the email's date),
  ties broken by file name; the earlier is reported (`duplicate-return`) and not used.
* Each action in the return is matched to the master by its stable key (the identity table),
  never by ref or position. A row of the return is tied to its identity row by its position and
  the hash of its action text, so rows a lead inserted (`row-added`) or deleted (`row-deleted`)
  are noticed. A key the master no longer has is `unknown-action`.
* Only the "Update for <Month>" and status cells are taken. Every other cell is compared with
  what was sent (action text hash, ref, last month's update) or with the master (lead,
  timescale and the rest); a difference is a `proposed-change` for the manager, never applied.
* A status counts as returned only when the lead changed it from the one sent (an untouched
  status is no news). It must be a status of the plan's RAG key (`status-not-in-key`).
* Two leads of one action returning different updates, or different statuses: both are kept in
  History and reported (`conflict`); the master keeps its value until the manager decides.
* Update text: the master's update cell becomes ``Update <Month YYYY>: <lead's text>``, a blank
  line, then the text the cell held before (so last month's update stays visible below). A second
  merge for the same month (a corrected return) replaces the block it wrote before instead of
  stacking another; the old text is also in History. When the cell would grow past Excel's
  32,767 characters the earlier text is left out of the cell (it is in History).
* Status: written as the master writes it. Where the master holds words, the key's word in the
  casing the master's cells use (a cell coloured to match its old status gets the new colour
  too); where it holds fill colours only, the cell's fill becomes the key colour and stays empty.
  Every other part of the cell's style is kept.
* Equal values are skipped, so merging the same return twice changes nothing and adds no
  History rows.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter

from .. import rag
from ..directory import lookup_key
from ..model import Action, Plan
from ..months import month_name, month_of, parse_month
from ..report import Finding, Report
from ..returns.collect import Source
from ..returns.identity import IdentityRow, text_hash
from ..returns.log import LOG_HEADER, chase_list, made_rows, month_record, read_returns_log, sent_leads
from ..settings import settings_sheet_values
from ..sheets import put
from ..text import clean, norm
from ..writers.history import APPLIED, HistoryRow, append_history, read_history
from .read import ReadReturn, cell_text, same_text

EXCEL_CELL_LIMIT = 32767



@dataclass
class Change:
    key: str
    ref: str
    field: str                  # "update" / "status"
    old: str
    new: str
    leads: list[str]
    source: str
    row: int
    cell: str
    old_code: str = ""          # statuses: codes before and after
    new_code: str = ""


@dataclass
class FileOutcome:
    name: str
    lead: str
    state: str                  # merged / empty / rejected / unreadable / superseded
    detail: str = ""
    updates: int = 0
    statuses: int = 0


@dataclass
class MergeResult:
    master: Path
    month: str
    plan: Plan
    report: Report
    changes: list[Change] = field(default_factory=list)            # applied
    files: list[FileOutcome] = field(default_factory=list)
    returned: dict[str, str] = field(default_factory=dict)         # lead -> the return file used
    sent: list[str] = field(default_factory=list)                  # leads the Returns log says were sent one
    missing: list[str] = field(default_factory=list)               # the chase list: sent, not merged (any run)
    merged_before: list[str] = field(default_factory=list)         # leads merged by an earlier run this month
    log_added: list = field(default_factory=list)                  # events added to the Returns log
    history_added: int = 0
    skipped: list = field(default_factory=list)                    # (file, why): not returns at all
    saved: object = None                                           # SaveResult when the master was written

    @property
    def actions_updated(self) -> int:
        return len({c.key for c in self.changes})

    @property
    def status_changes(self) -> list[Change]:
        return [c for c in self.changes if c.field == "status"]

    @property
    def conflicts(self) -> list[Finding]:
        return [f for f in self.report.findings if f.code == "conflict"]

    @property
    def rejected_edits(self) -> list[Finding]:
        return [f for f in self.report.findings if f.code == "proposed-change"]

    @property
    def changed(self) -> bool:
        return bool(self.changes) or self.history_added > 0 or bool(self.log_added)


@dataclass
class _Proposal:
    key: str
    lead: str
    source: str
    row: int                    # row in the return
    update: str = ""
    status_word: str = ""
    status_code: str = ""


def _finding(code: str, message: str, *, sheet=None, row=None, column=None, value=None) -> Finding:
    return Finding(code, message, sheet, row, column, value)


def _describe(a: Action) -> str:
    return f"action {a.ref or 'in row ' + str(a.row)} ('{a.short_text(50)}')"


# ---------------------------------------------------------------- the merge

class _Merger:
    def __init__(self, wb, plan: Plan, month: str, now: datetime):
        self.wb, self.plan, self.month, self.now = wb, plan, month, now
        self.ws = wb[plan.sheet]
        self.report = Report(title="Merge")
        self.history: list[HistoryRow] = []
        self.by_key = {a.key.upper(): a for a in plan.actions if a.key}
        self.time = now.strftime("%Y-%m-%d %H:%M:%S")
        self.existing_history = read_history(wb)
        self.last_update = {}          # key -> the last update xl_plan wrote for this month (History row)
        for h in self.existing_history:
            if h.outcome == APPLIED and h.field == "update" and h.month == month:
                self.last_update[h.key.upper()] = h
        self.words: dict[str, str] = {}
        self.theme = rag.theme_colours(wb)
        # the same for every return and every action: computed once, not per return or per row
        self.section_titles = {norm(s.title) for s in plan.sections}
        self.fields_by_col = {c.index: f for f, cols in plan.columns.items() for c in cols}
        self._statuses: dict = {}
        # the master's header texts (a merge writes no header): read once, not per return row
        self.header_texts = {c: clean(self._value(plan.header_row, c))
                             for c in range(plan.first_column, plan.last_column + 1)}

    @cached_property
    def month_words(self) -> str:
        """'November 2026', once for every update block (when the first is written: a month it cannot name
        is refused there, as before)."""
        return month_name(self.month)

    def _value(self, row: int, col: int):
        """The master's value at (row, col), read without adding an empty cell to the sheet."""
        cell = self.ws._cells.get((row, col))
        return None if cell is None else cell.value

    def _status(self, word: str):
        """rag.status_from_text against the plan's key, once per distinct word (a return repeats a few)."""
        st = self._statuses.get(word)
        if st is None:
            st = self._statuses[word] = rag.status_from_text(word, self.plan.rag_key)
        return st

    def _header_text(self, col: int) -> str:
        t = self.header_texts.get(col)
        return clean(self._value(self.plan.header_row, col)) if t is None else t

    def find(self, code, message, **kw):
        self.report.add(_finding(code, message, **kw))

    def keep(self, key, ref, field_, old, new, lead, source, outcome):
        self.history.append(HistoryRow(self.month, key, ref, field_, old, new, lead, source, self.time, outcome))

    # ---- returns, whole

    def check_identity(self, ret: ReadReturn, plan_id: str | None, log: list[dict], outcome: FileOutcome) -> bool:
        ident = ret.identity
        if not plan_id:
            msg = (f"{ret.name} is a return for the plan '{ident.plan_file}', but {Path(self.plan.path).name} has no "
                   "plan id, so no returns were ever made from it. Merge the return into the workbook it was made from.")
            self.find("wrong-plan", msg, value=ret.name)
            outcome.state, outcome.detail = "rejected", "wrong-plan"
            return False
        if ident.plan_id.upper() != plan_id.upper():
            self.find("wrong-plan", f"{ret.name} is a return for another plan ('{ident.plan_file}'), not for "
                      f"{Path(self.plan.path).name}. It was not merged; merge it into its own plan.", value=ret.name)
            outcome.state, outcome.detail = "rejected", "wrong-plan"
            return False
        if ident.month != self.month:
            older = ident.month < self.month
            code = "stale-return" if older else "wrong-month"
            self.find(code, f"{ret.name} is {ident.lead}'s return for {month_name(ident.month)}, not for "
                      f"{month_name(self.month)}. It was not merged" + (
                          ": ask the lead for this month's return." if older else
                          f"; merge it with --month {ident.month}."), value=ret.name)
            outcome.state, outcome.detail = "rejected", code
            return False
        log = made_rows(log)
        if not log:
            self.find("no-returns-log", f"{Path(self.plan.path).name} has no 'Returns log', so xl_plan cannot check "
                      f"that {ret.name} was sent to {ident.lead}; merged on the strength of its identity.",
                      value=ret.name)
            return True
        rows = [r for r in log if r.get("return_id", "").lower() == ident.return_id.lower()]
        if not rows:
            self.find("wrong-lead", f"{ret.name} says it is {ident.lead}'s return for {month_name(ident.month)}, but "
                      "the master's 'Returns log' has no record of sending it. It was not merged: check where it came "
                      "from, or make and send the return again with `xl-plan returns make`.", value=ret.name)
            outcome.state, outcome.detail = "rejected", "wrong-lead"
            return False
        if lookup_key(rows[0]["lead"]) != lookup_key(ident.lead) or rows[0]["month"] != ident.month:
            self.find("wrong-lead", f"{ret.name} says it is {ident.lead}'s return, but the master's 'Returns log' "
                      f"records that file as sent to {rows[0]['lead']} for {rows[0]['month']}. It was not merged: ask "
                      f"{rows[0]['lead']} for their return.", value=ret.name)
            outcome.state, outcome.detail = "rejected", "wrong-lead"
            return False
        return True

    # ---- returns, row by row

    def column_map(self, ret: ReadReturn) -> dict[int, int]:
        """Master column -> return column, by header text (the return copies the master's headers)."""
        by_text: dict[str, list[int]] = defaultdict(list)
        for c, t in sorted(ret.headers.items()):
            by_text[norm(t)].append(c)
        out = {}
        skip = {ret.update_col, ret.status_col}
        for c in range(self.plan.first_column, self.plan.last_column + 1):
            t = norm(self._header_text(c))
            cols = [x for x in by_text.get(t, []) if x not in skip and x not in out.values()] if t else []
            if cols:
                out[c] = cols[0]
        status = self.plan.column("status")
        if status:
            out[status.index] = ret.status_col
        return out

    def match_rows(self, ret: ReadReturn, cmap: dict[int, int]) -> list[tuple[IdentityRow, int]]:
        """(identity row, return row) for every action found in the return; reports rows added or deleted."""
        act = self.plan.column("action") or self.plan.column("ref")
        text_col = cmap.get(act.index) if act else None
        ref_m = self.plan.column("ref")
        ref_col = cmap.get(ref_m.index) if ref_m else None
        section_titles = self.section_titles
        candidates = {}
        for r, row in ret.rows.items():
            texts = {c: t for c, t in ((c, clean(v)) for c, v in row.values.items()) if t}
            if not texts or (r in ret.section_rows and len(texts) == 1):
                continue
            if len(texts) == 1 and norm(next(iter(texts.values()))) in section_titles:
                continue
            candidates[r] = row
        ident_rows = list(ret.identity.rows)
        if ret.from_properties:
            ident_rows = self._rows_from_text(ret, candidates, text_col)
        claimed: dict[int, IdentityRow] = {}
        matched: dict[int, int] = {}      # index in ident_rows -> return row

        def hash_of(r):
            return text_hash(clean(candidates[r].values.get(text_col))) if text_col else ""

        for i, ir in enumerate(ident_rows):                       # 1: where it was put, text unchanged
            r = ir.return_row
            if r in candidates and r not in claimed and (not text_col or hash_of(r) == ir.text_sha256):
                claimed[r], matched[i] = ir, r
        if text_col:
            for i, ir in enumerate(ident_rows):                   # 2: moved (rows inserted or deleted above)
                if i in matched:
                    continue
                for r in sorted(candidates):
                    if r not in claimed and hash_of(r) == ir.text_sha256:
                        claimed[r], matched[i] = ir, r
                        break
            other_hashes = {ir.text_sha256 for j, ir in enumerate(ident_rows) if j not in matched}
            for i, ir in enumerate(ident_rows):                   # 3: same place, text edited
                if i in matched:
                    continue
                r = ir.return_row
                if r in candidates and r not in claimed and hash_of(r) not in other_hashes - {ir.text_sha256}:
                    ref_now = clean(candidates[r].values.get(ref_col)) if ref_col else ""
                    if not ir.ref or ref_now == clean(ir.ref):
                        claimed[r], matched[i] = ir, r
        for i, ir in enumerate(ident_rows):
            if i in matched:
                continue
            a = self.by_key.get(ir.key.upper())
            what = _describe(a) if a else f"the action with ref {ir.ref or '(none)'}"
            self.find("row-deleted", f"{ret.name}: the row of {what} (row {ir.return_row} when sent) is no longer in "
                      f"the return: {ret.identity.lead} deleted it. Nothing was merged for it; ask them for its update.",
                      sheet=self.plan.sheet if a else None, row=a.row if a else None, value=ret.name)
        headers = ret.headers
        for r in sorted(candidates):
            if r in claimed:
                continue
            row = candidates[r]
            parts = [f"{headers.get(c, get_column_letter(c))}: {cell_text(v)}" for c, v in sorted(row.values.items())
                     if cell_text(v)]
            text = "; ".join(parts)
            self.find("row-added", f"{ret.name}, row {r}: {ret.identity.lead} added a row that is not an action of "
                      f"the plan ({text[:150]}). It was not merged: if it is a new action, add it to the plan "
                      "yourself.", value=text)
            self.keep("", "", "row added", "", text, ret.identity.lead, ret.name, "not applied: row-added")
        return [(ident_rows[i], r) for i, r in sorted(matched.items())]

    def _rows_from_text(self, ret, candidates, text_col) -> list[IdentityRow]:
        """Identity rows for a return whose identity table was lost: the lead's actions by their text."""
        mine = [a for a in self.plan.actions if a.key and lookup_key(ret.identity.lead) in {lookup_key(x) for x in a.leads}]
        by_hash = defaultdict(list)
        for a in mine:
            by_hash[text_hash(a.text)].append(a)
        out = []
        for r, row in sorted(candidates.items()):
            h = text_hash(clean(row.values.get(text_col))) if text_col else ""
            if by_hash.get(h):
                a = by_hash[h].pop(0)
                out.append(IdentityRow(a.key, r, a.row, a.ref or "", h, a.update, rag.status_name(a.status, self.plan.rag_key)))
        return out

    def check_protected(self, ret: ReadReturn, ir: IdentityRow, r: int, a: Action, cmap: dict[int, int]) -> None:
        """Every cell but the update and status: compare with what was sent or with the master."""
        row = ret.rows[r]
        fields_by_col = self.fields_by_col
        upd = self.plan.column("update")
        status = self.plan.column("status")
        for mc, rc in cmap.items():
            if status and mc == status.index:
                continue
            got = row.values.get(rc)
            fname = fields_by_col.get(mc) or self._header_text(mc) or get_column_letter(mc)
            if upd and mc == upd.index:
                if same_text(got, ir.update_as_sent) or ret.from_properties:
                    continue
                sent = ir.update_as_sent
            elif fname == "action":
                if text_hash(clean(got)) == ir.text_sha256 or same_text(got, a.text):
                    continue
                sent = a.text
            elif fname == "ref":
                if same_text(got, ir.ref) or same_text(got, a.ref or ""):
                    continue
                sent = a.ref or ""
            elif fname == "recommendation":
                if not clean(got) or same_text(got, a.recommendation or "") or same_text(got, self._master_value(a, mc)):
                    continue
                sent = a.recommendation or ""
            else:
                master = self._master_value(a, mc)
                if same_text(got, master):
                    continue
                sent = clean(master)
            letter = get_column_letter(mc)
            header = self._header_text(mc) or fname
            self.find("proposed-change", f"{ret.name}, cell {get_column_letter(rc)}{r}: {ret.identity.lead} changed "
                      f"'{header}' of {_describe(a)} from '{clean(sent)[:80]}' to '{clean(got)[:80]}'. That column is "
                      "not the lead's to change, so it was not applied: change the master yourself if you agree.",
                      sheet=self.plan.sheet, row=a.row, column=letter, value=cell_text(got))
            self.keep(a.key or "", a.ref or "", header, clean(sent), cell_text(got), ret.identity.lead, ret.name,
                      "not applied: proposed-change")

    def _master_value(self, a: Action, col: int):
        if len(a.rows) == 1:
            return self._value(a.row, col)
        return "\n".join(t for t in (clean(self._value(r, col)) for r in a.rows) if t)

    def proposals(self, ret: ReadReturn, outcome: FileOutcome) -> list[_Proposal]:
        ident = ret.identity
        cmap = self.column_map(ret)
        out = []
        before = len(self.report.findings)
        lead_key = lookup_key(ident.lead)
        for ir, r in self.match_rows(ret, cmap):
            row = ret.rows[r]
            a = self.by_key.get(ir.key.upper())
            update = cell_text(row.values.get(ret.update_col))
            word = clean(row.values.get(ret.status_col))
            if a is None:
                self.find("unknown-action", f"{ret.name}, row {r}: the action with ref {ir.ref or '(none)'} (key "
                          f"{ir.key}) is no longer in {Path(self.plan.path).name} (deleted, or its row copied "
                          "without its key). Its update was not merged: find the action and copy it in yourself.",
                          value=update or word)
                for f, v in (("update", update), ("status", word)):
                    if v and not (f == "status" and same_text(v, ir.status_as_sent)):
                        self.keep(ir.key, ir.ref, f, "", v, ident.lead, ret.name, "not applied: unknown-action")
                continue
            self.check_protected(ret, ir, r, a, cmap)
            p = _Proposal(a.key, ident.lead, ret.name, r)
            if update:
                p.update = update
            if word:
                st = self._status(word)
                sent = self._status(ir.status_as_sent) if ir.status_as_sent else None
                if sent is not None and sent.code == st.code:
                    pass                                            # untouched: no news
                elif not st.in_key:
                    names = ", ".join(e.name for e in self.plan.rag_key.entries)
                    self.find("status-not-in-key", f"{ret.name}, cell {ret.cell(r, ret.status_col)}: the status "
                              f"'{word}' of {_describe(a)} is not in the plan's RAG key ({names}), so it was not "
                              "applied. Ask the lead which it is, or set it yourself.",
                              sheet=self.plan.sheet, row=a.row, column=self._status_letter(), value=word)
                    self.keep(a.key, a.ref or "", "status", rag.status_as_written(a.status, self.plan.rag_key), word, ident.lead, ret.name,
                              "not applied: status-not-in-key")
                else:
                    p.status_word, p.status_code = word, st.code
            if lead_key not in {lookup_key(x) for x in a.leads}:
                if p.update or p.status_code:
                    self.find("wrong-lead", f"{ret.name}, row {r}: {ident.lead} is no longer a lead of {_describe(a)} "
                              f"in the master (its lead is now '{a.lead_text}'), so their update was not applied. "
                              "Copy it in yourself if it still stands.", sheet=self.plan.sheet, row=a.row,
                              value=p.update or p.status_word)
                    for f, v in (("update", p.update), ("status", p.status_word)):
                        if v:
                            self.keep(a.key, a.ref or "", f, "", v, ident.lead, ret.name, "not applied: wrong-lead")
                continue
            if p.update or p.status_code:
                out.append(p)
        if not out and len(self.report.findings) == before:
            self.find("empty-return", f"{ret.name}: {ident.lead} sent it back with nothing filled in (no update and "
                      "no status changed). Nothing to merge; ask them to fill it in if that was a mistake.",
                      value=ret.name)
            outcome.state = "empty"
        return out

    def _status_letter(self):
        c = self.plan.column("status")
        return c.letter if c else None

    # ---- applying

    def apply(self, proposals: list[_Proposal]) -> list[Change]:
        changes = []
        by_key: dict[str, list[_Proposal]] = defaultdict(list)
        for p in proposals:
            by_key[p.key.upper()].append(p)
        for key, props in by_key.items():
            a = self.by_key[key]
            updates = [p for p in props if p.update]
            distinct = []
            for p in updates:
                if not any(same_text(p.update, q.update) for q in distinct):
                    distinct.append(p)
            if len(distinct) > 1:
                self._conflict(a, "update", updates)
            elif distinct:
                c = self._apply_update(a, distinct[0].update, [p.lead for p in updates], distinct[0].source)
                if c:
                    changes.append(c)
            statuses = [p for p in props if p.status_code]
            if len({p.status_code for p in statuses}) > 1:
                self._conflict(a, "status", statuses)
            elif statuses:
                c = self._apply_status(a, statuses[0].status_code, [p.lead for p in statuses], statuses[0].source)
                if c:
                    changes.append(c)
        return changes

    def _conflict(self, a: Action, field_: str, props: list[_Proposal]) -> None:
        said = "; ".join(f"{p.lead} ({p.source}): '{(p.update if field_ == 'update' else p.status_word)[:60]}'"
                         for p in props)
        col = self.plan.column(field_)
        self.find("conflict", f"The leads of {_describe(a)} returned different {'updates' if field_ == 'update' else 'statuses'}: "
                  f"{said}. The master keeps its {field_} until you decide; what each lead said is kept in the "
                  "History sheet.", sheet=self.plan.sheet,
                  row=a.row, column=col.letter if col else None, value=said)
        old = a.update if field_ == "update" else rag.status_as_written(a.status, self.plan.rag_key)
        for p in props:
            self.keep(a.key or "", a.ref or "", field_, old, p.update if field_ == "update" else p.status_word,
                      p.lead, p.source, "not applied: conflict")

    def _apply_update(self, a: Action, text: str, leads: list[str], source: str) -> Change | None:
        col = self.plan.column("update")
        if col is None:
            self.find("no-update-column", f"{Path(self.plan.path).name} has no update column, so the update for "
                      f"{_describe(a)} was kept in the History sheet only.", sheet=self.plan.sheet, row=a.row,
                      value=text)
            self.keep(a.key or "", a.ref or "", "update", "", text, " / ".join(leads), source,
                      "not applied: no-update-column")
            return None
        cell = self.ws.cell(a.row, col.index)
        current = cell_text(cell.value)
        previous = current
        h = self.last_update.get((a.key or "").upper())
        if h is not None and h.new == current:
            previous = h.old                  # our own block for this month: replace it, do not stack
        block = f"Update {self.month_words}: {text}"
        new = f"{block}\n\n{previous}" if previous else block
        if len(new) > EXCEL_CELL_LIMIT:
            new = f"{block}\n\n(Earlier updates are in the History sheet.)"[:EXCEL_CELL_LIMIT]
        if new == current:
            return None
        put(self.ws, a.row, col.index, new)
        self.keep(a.key or "", a.ref or "", "update", current, new, " / ".join(leads), source, APPLIED)
        return Change(a.key or "", a.ref or "", "update", current, new, leads, source, a.row, cell.coordinate)

    def _apply_status(self, a: Action, code: str, leads: list[str], source: str) -> Change | None:
        col = self.plan.column("status")
        entry = self.plan.rag_key.entry(code)
        old_word = rag.status_as_written(a.status, self.plan.rag_key)
        if col is None:
            self.find("no-status-column", f"{Path(self.plan.path).name} has no status column, so the status "
                      f"'{entry.name}' for {_describe(a)} was kept in the History sheet only.",
                      sheet=self.plan.sheet, row=a.row, value=entry.name)
            self.keep(a.key or "", a.ref or "", "status", old_word, entry.name, " / ".join(leads), source,
                      "not applied: no-status-column")
            return None
        if a.status is not None and a.status.in_key and a.status.code == code and a.status.source != "progress-text":
            return None
        cell = self.ws.cell(a.row, col.index)
        has_text = bool(clean(cell.value))
        fill_mode = not has_text and (self.plan.status_source == "fill" or (a.status is not None and a.status.source == "fill"))
        if fill_mode:
            cell.fill = PatternFill("solid", fgColor=entry.colour)
            new = f"{entry.name} (cell colour #{entry.colour})"
        else:
            if code not in self.words:
                self.words[code] = master_word(self.plan, code)
            new = self.words[code]
            old_fill = rag.fill_rgb(cell, self.theme)
            if old_fill and entry.colour:
                matched = rag.match_colour(old_fill, self.plan.rag_key)
                if matched is not None and a.status is not None and matched.code == a.status.code:
                    fill = copy(cell.fill)
                    cell.fill = PatternFill(fill.fill_type or "solid", fgColor=entry.colour, bgColor=fill.bgColor)
            put(self.ws, a.row, col.index, new)
        self.keep(a.key or "", a.ref or "", "status", old_word, new, " / ".join(leads), source, APPLIED)
        return Change(a.key or "", a.ref or "", "status", old_word, new, leads, source, a.row, cell.coordinate,
                      a.status.code if a.status else "", code)


def master_word(plan: Plan, code: str) -> str:
    """The word for `code` as the master's status cells write it ('Green', 'GREEN', 'G'...)."""
    entry = plan.rag_key.entry(code)
    base = entry.name if entry else code
    same = Counter(clean(a.status.raw) for a in plan.actions
                   if a.status and a.status.source == "text" and a.status.code == code and clean(a.status.raw))
    if same:
        return same.most_common(1)[0][0]
    styles = Counter()
    for a in plan.actions:
        raw = clean(a.status.raw) if a.status and a.status.source == "text" else ""
        if len(raw) > 1 and raw.isalpha():
            styles["upper" if raw.isupper() else "lower" if raw.islower() else "title" if raw.istitle() else "other"] += 1
    style = styles.most_common(1)[0][0] if styles else "other"
    if entry is None or not base.isalpha():
        return base
    return {"upper": base.upper(), "lower": base.lower(), "title": base.title()}.get(style, base)


# ---------------------------------------------------------------- entry point

def merge_into(wb, plan: Plan, returns: list[ReadReturn | tuple[str, str, str]], *, month: str | None,
               now: datetime, progress=None, records: bool = False) -> MergeResult:
    """Merge the returns into the open master `wb` (nothing is saved here).

    `returns` holds ReadReturn objects and, for files that could not be read, (name, lead, message).
    `records`: History's new rows and the Returns log are kept as cell records, for a workbook saved
    through io/save.py."""
    say = progress or (lambda text: None)
    log = read_returns_log(wb)
    readable = [r for r in returns if isinstance(r, ReadReturn)]
    if month:
        month = parse_month(month)
    else:
        months = [r["month"] for r in made_rows(log) if r.get("month")] or [r.identity.month for r in readable]
        month = max(months) if months else month_of(datetime.now())
    m = _Merger(wb, plan, month, now)
    result = MergeResult(Path(plan.path), month, plan, m.report)
    plan_id = settings_sheet_values(wb).get("plan_id")

    accepted: dict[str, list[tuple[ReadReturn, FileOutcome]]] = defaultdict(list)
    for r in returns:
        if not isinstance(r, ReadReturn):
            name, _lead, message = r
            m.find("unreadable-return", message, value=name)
            result.files.append(FileOutcome(name, "", "unreadable", message))
            say(f"  {name}: cannot be read, skipped ({message})")
            continue
        outcome = FileOutcome(r.name, r.identity.lead, "merged")
        result.files.append(outcome)
        if m.check_identity(r, plan_id, log, outcome):
            accepted[lookup_key(r.identity.lead)].append((r, outcome))
        else:
            say(f"  {r.name}: not merged ({outcome.detail})")

    proposals: list[_Proposal] = []
    per_file: dict[str, FileOutcome] = {}
    for items in accepted.values():
        items.sort(key=lambda x: (x[0].saved_at, x[0].name))
        latest, outcome = items[-1]
        for earlier, o in items[:-1]:
            o.state, o.detail = "superseded", f"a later return from {latest.identity.lead} came too: {latest.name}"
            m.find("duplicate-return", f"{earlier.name} and {latest.name} are both {earlier.identity.lead}'s return for "
                   f"{month_name(month)}. The later one ({latest.name}, saved {latest.saved_at:%d/%m/%Y %H:%M}) was "
                   f"merged; {earlier.name} (saved {earlier.saved_at:%d/%m/%Y %H:%M}) was not.", value=earlier.name)
            say(f"  {earlier.name}: not merged (an earlier return of {earlier.identity.lead}; {latest.name} is later)")
        result.returned[latest.identity.lead] = latest.name
        props = m.proposals(latest, outcome)
        per_file[latest.name] = outcome
        proposals.extend(props)

    changes = m.apply(proposals)
    by_source = defaultdict(lambda: [0, 0])
    for c in changes:
        by_source[c.source][0 if c.field == "update" else 1] += 1
    for name, outcome in per_file.items():
        outcome.updates, outcome.statuses = by_source[name]
        if outcome.state == "merged":
            say(f"  {name}: merged {outcome.lead}'s return ({outcome.updates} update(s), {outcome.statuses} "
                "status change(s) applied)")
        else:
            say(f"  {name}: {outcome.lead}'s return has nothing filled in")
    result.changes = changes
    result.history_added = append_history(wb, m.history, m.existing_history, records=records)

    result.log_added = _record_events(wb, log, month, now, accepted, per_file, records=records)
    record = month_record(log + result.log_added, month)
    result.sent = sent_leads(record)
    returned_now = {lookup_key(x) for x in result.returned}
    result.merged_before = [rec.lead for rec in record.values() if rec.merged
                            and not any(e in result.log_added for e in rec.merged)
                            and lookup_key(rec.lead) not in returned_now]
    result.missing = chase_list(record)
    return result


def _record_events(wb, log: list[dict], month: str, now: datetime, accepted, per_file, *,
                   records: bool = False) -> list[dict]:
    """Add the month's `returned` and `merged` events to the master's Returns log (the record), each
    once: merging the same return again adds nothing."""
    from ..returns.log import add_events

    seen = {(r["event"], r["return_id"].lower(), r["file"], r["when"]) for r in log}
    # (return id, file) of every merged event in the log and among those added here, kept as they are added
    merged = {(r["return_id"].lower(), r["file"]) for r in log if r["event"] == "merged"}
    new: list[dict] = []
    for items in accepted.values():
        latest, outcome = items[-1]
        ident = latest.identity
        name = Path(str(latest.path)).name
        base = {"month": month, "lead": ident.lead, "return_id": ident.return_id, "plan_id": ident.plan_id,
                "file": latest.name}
        when = latest.saved_at.isoformat(timespec="seconds")
        route = f"email {name}" if latest.path.suffix.lower() in (".eml", ".msg") else "file"
        events = [dict(base, event="returned", when=when, route=route, created=when)]
        o = per_file.get(latest.name, outcome)
        if o.state == "merged":
            stamp = now.isoformat(timespec="seconds")
            events.append(dict(base, event="merged", when=stamp, created=stamp, outcome="merged",
                               details=f"{o.updates} update(s), {o.statuses} status change(s)"))
        for e in events:
            k = (e["event"], e["return_id"].lower(), e["file"], e["when"] if e["event"] == "returned" else "")
            if e["event"] == "merged":
                if (e["return_id"].lower(), e["file"]) in merged:
                    continue
                merged.add((e["return_id"].lower(), e["file"]))
            elif k in seen:
                continue
            seen.add(k)
            new.append(e)
    if new:
        add_events(wb, new, records=records)
    return new


__all__ = ["MergeResult", "Source", "Change", "FileOutcome", "merge_into", "master_word", "LOG_HEADER"]
