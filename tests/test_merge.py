"""Merging the leads' returns into the master and the monthly consolidation: updates and statuses
land in the master's own cells and formatting, nothing is lost (History), everything that cannot
be applied safely is a finding, hostile or broken files are refused while the others merge, and a
save killed half-way leaves the old or the new master, never a broken one."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import openpyxl
import pytest
from builders import colour_key_plan
from click.testing import CliRunner
from workbook_compare import snapshot

from xl_plan import consolidate, merge_returns, read_plan
from xl_plan.cli import cli
from xl_plan.errors import WorkbookLockedError
from xl_plan.merge.apply import master_word
from xl_plan.returns.identity import IDENTITY_SHEET, read_identity
from xl_plan.returns.log import read_returns_log
from xl_plan.returns.make import make_returns
from xl_plan.writers.history import HEADER as HISTORY_HEADER
from xl_plan.writers.history import find_sheet, read_history

MONTH = "2026-11"
SENT = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 20, 10, 0)
TODAY = date(2026, 11, 20)
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- helpers

def make(master, out, month=MONTH):
    return make_returns(master, month, out, now=SENT)


def ret_of(result, lead):
    return next(f for f in result.returns if f.lead == lead)


def fill(src, dst=None, updates=None, statuses=None, edit=None, mtime=None):
    """Fill a return in as a lead would (update and status cells by identity row index)."""
    wb = openpyxl.load_workbook(src)
    ident = read_identity(wb)
    ws = wb[ident.return_sheet]
    for i, text in (updates or {}).items():
        ws[f"{ident.update_column}{ident.rows[i].return_row}"] = text
    for i, word in (statuses or {}).items():
        ws[f"{ident.status_column}{ident.rows[i].return_row}"] = word
    if edit:
        edit(wb, ws, ident)
    dst = Path(dst or src)
    wb.save(dst)
    if mtime is not None:
        os.utime(dst, (mtime, mtime))
    return dst


def solo(plan, ret):
    """Indexes of the return's identity rows whose action has only this one lead."""
    by_key = {a.key: a for a in plan.actions}
    return [i for i, r in enumerate(ret.identity.rows) if len(by_key[r.key].leads) == 1]


def action(plan, key):
    return next(a for a in plan.actions if a.key == key)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sheet_xml(path, sheet_name):
    """The XML of a worksheet part by its sheet name."""
    with zipfile.ZipFile(path) as zf:
        wbxml = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet[^>]*name="{re.escape(sheet_name)}"[^>]*r:id="(rId\d+)"', wbxml).group(1)
        target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}"', rels)
        target = (target.group(1) or target.group(2)).lstrip("/")
        return zf.read(target if target.startswith("xl/") else "xl/" + target).decode()


@pytest.fixture
def birmingham(sample, tmp_path):
    """The Birmingham plan with some statuses written as 'Green'/'Amber' (its key says GREEN, AMBER),
    returns made for November 2026."""
    master = sample("birmingham")
    wb = openpyxl.load_workbook(master)
    plan = read_plan(master)
    ws = wb[plan.sheet]
    col = plan.column("status").letter
    for a, word in zip(plan.actions[:6], ["Green", "Amber", "Green", "Amber", "Green", "Amber"]):
        ws[f"{col}{a.row}"] = word
    wb.save(master)
    made = make(master, tmp_path / "sent")
    return master, made, read_plan(master)


# ---------------------------------------------------------------- applying updates and statuses

def test_update_and_status_land_in_the_masters_cells_and_nothing_else_changes(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if len(solo(plan, f)) >= 2)
    i, j = solo(plan, ret)[:2]
    a, b = action(plan, ret.identity.rows[i].key), action(plan, ret.identity.rows[j].key)
    back = fill(ret.path, tmp_path / "back.xlsx", updates={i: "Audit done; 40 cases reviewed.\nNext: report."},
                statuses={i: "RED", j: "BLUE"})
    before = snapshot(master, skip_sheets=("Returns log",))
    result = merge_returns(master, [back], now=NOW)
    assert result.saved is not None and result.saved.backup.exists()
    assert result.report.findings == []

    upd, st = plan.column("update").letter, plan.column("status").letter
    wb = openpyxl.load_workbook(master)
    ws = wb[plan.sheet]
    old = a.raw.get("update") or ""
    expected = "Update November 2026: Audit done; 40 cases reviewed.\nNext: report." + (f"\n\n{old}" if old else "")
    assert ws[f"{upd}{a.row}"].value == expected
    # The master writes statuses 'Green'/'Amber' (title case) though its key says GREEN: so 'Red', 'Blue'.
    assert ws[f"{st}{a.row}"].value == "Red"
    assert ws[f"{st}{b.row}"].value == "Blue"
    assert master_word(plan, "red") == "Red"

    after = snapshot(master, skip_sheets=("History", "Returns log"))    # the month's record: returned, merged
    events = [(e["event"], e["lead"]) for e in read_returns_log(wb) if e["event"] != "made"]
    assert events == [("returned", ret.lead), ("merged", ret.lead)]
    changed = {f"{upd}{a.row}", f"{st}{a.row}", f"{st}{b.row}"}
    for cell in changed:      # the value changed, the style did not
        assert before[plan.sheet]["cells"][cell][1] == after[plan.sheet]["cells"][cell][1]
        del before[plan.sheet]["cells"][cell], after[plan.sheet]["cells"][cell]
    assert after == before
    assert [n for n in openpyxl.load_workbook(master).sheetnames if n != "Returns log"] == before["sheetnames"] + ["History"]

    history = read_history(openpyxl.load_workbook(master))
    assert [(h.key, h.field, h.new, h.lead, h.source, h.outcome) for h in history] == [
        (a.key, "update", expected, ret.lead, "back.xlsx", "applied"),
        (a.key, "status", "Red", ret.lead, "back.xlsx", "applied"),
        (b.key, "status", "Blue", ret.lead, "back.xlsx", "applied"),
    ]
    assert history[0].old == old and history[0].month == MONTH and history[0].time == "2026-11-20 10:00:00"
    hws = find_sheet(openpyxl.load_workbook(master))
    assert [c.value for c in hws[2]] == HISTORY_HEADER


def test_merging_the_same_return_twice_changes_nothing(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = made.returns[0]
    back = fill(ret.path, tmp_path / "back.xlsx", updates={0: "Going well"}, statuses={0: "AMBER"})
    first = merge_returns(master, [back], now=NOW)
    assert first.changed and first.history_added >= 1
    digest, rows = sha(master), len(read_history(openpyxl.load_workbook(master)))
    backups = sorted((master.parent / "backups").iterdir())
    second = merge_returns(master, [back], now=NOW + timedelta(hours=1))
    assert not second.changed and second.changes == [] and second.history_added == 0 and second.saved is None
    assert sha(master) == digest
    assert len(read_history(openpyxl.load_workbook(master))) == rows
    assert sorted((master.parent / "backups").iterdir()) == backups


def test_a_corrected_return_replaces_this_months_block_and_keeps_the_old_text(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if solo(plan, f))
    i = solo(plan, ret)[0]
    a = action(plan, ret.identity.rows[i].key)
    old = a.raw.get("update") or ""
    merge_returns(master, [fill(ret.path, tmp_path / "first.xlsx", updates={i: "First version"})], now=NOW)
    merge_returns(master, [fill(ret.path, tmp_path / "second.xlsx", updates={i: "Corrected version"})], now=NOW)
    ws = openpyxl.load_workbook(master)[plan.sheet]
    value = ws[f"{plan.column('update').letter}{a.row}"].value
    assert value == "Update November 2026: Corrected version" + (f"\n\n{old}" if old else "")
    history = [h for h in read_history(openpyxl.load_workbook(master)) if h.key == a.key]
    assert [h.new.split("\n")[0] for h in history] == ["Update November 2026: First version",
                                                       "Update November 2026: Corrected version"]


def test_fill_only_statuses_set_the_key_colour_and_keep_the_cells_style(tmp_path):
    master = colour_key_plan(tmp_path / "colour.xlsx")
    wb = openpyxl.load_workbook(master)
    from openpyxl.styles import Border, Font, Side
    plan = read_plan(master)
    a = next(x for x in plan.actions if x.ref == "1.1")       # green fill, lead GT
    cell = wb[plan.sheet][a.cells["status"]]
    cell.border = Border(left=Side(style="thick", color="123456"))
    cell.font = Font(italic=True, color="654321")
    wb.save(master)
    made = make(master, tmp_path / "sent")
    ret = ret_of(made, "GT")
    back = fill(ret.path, tmp_path / "back.xlsx", statuses={0: "red"}, updates={0: "Slipped: staff off sick"})
    result = merge_returns(master, [back], now=NOW)
    assert result.report.findings == [] and len(result.status_changes) == 1
    ws = openpyxl.load_workbook(master)[plan.sheet]
    c = ws[a.cells["status"]]
    assert c.value is None
    assert c.fill.fill_type == "solid" and c.fill.fgColor.rgb.endswith("FF0000")
    assert c.border.left.style == "thick" and c.font.italic and c.font.color.rgb.endswith("654321")
    again = read_plan(master)
    assert next(x for x in again.actions if x.ref == "1.1").status.code == "red"


def test_text_from_a_return_never_becomes_a_formula(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if len(solo(plan, f)) >= 1)
    i = solo(plan, ret)[0]
    a = action(plan, ret.identity.rows[i].key)
    nasty = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)"]
    merged = []
    for n, text in enumerate(nasty):
        back = fill(ret.path, tmp_path / f"nasty{n}.xlsx", updates={i: text}, statuses={i: "=1+1"} if n == 0 else None,
                    mtime=time.time() + n * 10)
        merged.append(back)
        merge_returns(master, [back], now=NOW)
    wb = openpyxl.load_workbook(master)
    ws = wb[plan.sheet]
    cell = ws[f"{plan.column('update').letter}{a.row}"]
    assert cell.data_type == "s" and cell.value.startswith("Update November 2026: @SUM(A1:A2)")
    hist = find_sheet(wb)
    stored = [c.value for row in hist.iter_rows(min_row=3) for c in row if isinstance(c.value, str)]
    assert any(v == "=1+1" for v in stored)         # the bad status is kept (not applied) as text
    for name in (plan.sheet, hist.title):
        assert "<f>" not in sheet_xml(master, name) and "<f " not in sheet_xml(master, name)
    assert any(f.code == "status-not-in-key" for f in merge_returns(master, [merged[0]], now=NOW).report.findings)


# ---------------------------------------------------------------- what is not applied

def test_returns_from_another_plan_an_older_month_or_not_sent_are_refused(birmingham, sample, tmp_path):
    master, made, plan = birmingham
    other = sample("city")
    other_made = make(other, tmp_path / "other")
    wrong_plan = fill(other_made.returns[0].path, tmp_path / "wrong plan.xlsx", updates={0: "x"})
    october = make(master, tmp_path / "october", month="2026-10")
    stale = fill(october.returns[0].path, tmp_path / "stale.xlsx", updates={0: "old news"})
    made_nov = make(master, tmp_path / "sent2")          # the latest month in the log is November again

    def retarget(wb, ws, ident):        # the identity says another lead: the Returns log says otherwise
        ids = wb[IDENTITY_SHEET]
        for row in ids.iter_rows(min_row=2, max_col=2):
            if row[0].value == "lead":
                row[1].value = made_nov.returns[1].lead
    forged = fill(made_nov.returns[0].path, tmp_path / "forged.xlsx", updates={0: "forged"}, edit=retarget)
    good = fill(made_nov.returns[2].path, tmp_path / "good.xlsx", updates={0: "fine"})
    result = merge_returns(master, [wrong_plan, stale, forged, good], now=NOW)
    codes = {f.value: f.code for f in result.report.findings}
    assert codes == {"wrong plan.xlsx": "wrong-plan", "stale.xlsx": "stale-return", "forged.xlsx": "wrong-lead"}
    assert result.returned == {made_nov.returns[2].lead: "good.xlsx"}
    assert {c.source for c in result.changes} == {"good.xlsx"}
    history = read_history(openpyxl.load_workbook(master))
    assert not any("forged" in h.new or "old news" in h.new for h in history)


def test_edits_to_protected_columns_are_proposed_not_applied(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if len(solo(plan, f)) >= 1)
    i = solo(plan, ret)[0]
    a = action(plan, ret.identity.rows[i].key)
    row = ret.identity.rows[i].return_row
    ts_letter = None

    def tamper(wb, ws, ident):
        nonlocal ts_letter
        headers = {str(c.value): c.column_letter for c in ws[ident.header_row] if c.value}
        ts_letter = headers["Time-scale"]
        ws[f"{headers['Action']}{row}"] = "A different action altogether"
        ws[f"{ts_letter}{row}"] = "Dec-2030"
        ws[f"{headers['Lead']}{row}"] = "Somebody Else"
        ws.protection.sheet = False
    back = fill(ret.path, tmp_path / "back.xlsx", updates={i: "Done"}, edit=tamper)
    before = openpyxl.load_workbook(master)[plan.sheet]
    keep = {f: before[a.cells[f]].value for f in ("action", "timescale", "lead")}
    result = merge_returns(master, [back], now=NOW)
    proposed = [f for f in result.report.findings if f.code == "proposed-change"]
    assert sorted(f.column for f in proposed) == sorted(plan.column(x).letter for x in ("action", "lead", "timescale"))
    assert {f.value for f in proposed} == {"A different action altogether", "Dec-2030", "Somebody Else"}
    ws = openpyxl.load_workbook(master)[plan.sheet]
    assert {f: ws[a.cells[f]].value for f in keep} == keep
    assert ws[a.cells["update"]].value.startswith("Update November 2026: Done")     # the update still applies
    outcomes = [(h.field, h.new, h.outcome) for h in read_history(openpyxl.load_workbook(master))]
    assert ("Time-scale", "Dec-2030", "not applied: proposed-change") in outcomes


def test_rows_added_or_deleted_by_the_lead_are_reported_and_the_rest_still_match(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if len(f.identity.rows) >= 3 and len(solo(plan, f)) >= 2)
    idx = solo(plan, ret)
    ident = ret.identity
    deleted = ident.rows[idx[0]]
    kept_i = idx[1]
    kept = ident.rows[kept_i]

    def restructure(wb, ws, ident):
        ws.protection.sheet = False
        ws.delete_rows(deleted.return_row)                 # the lead deletes one action's row...
        for rng in ws.merged_cells.ranges:                 # (Excel moves merged cells up; openpyxl does not)
            if rng.min_row > deleted.return_row:
                rng.shift(row_shift=-1)
        ws.cell(ws.max_row + 1, 3, "My own new action: recruit two more IROs")   # ...and adds one of their own
    back = fill(ret.path, tmp_path / "back.xlsx", updates={kept_i: "Kept action moved but found"}, edit=restructure)
    result = merge_returns(master, [back], now=NOW)
    codes = sorted(f.code for f in result.report.findings)
    assert codes == ["row-added", "row-deleted"]
    deleted_f = next(f for f in result.report.findings if f.code == "row-deleted")
    assert deleted_f.row == action(plan, deleted.key).row
    assert [(c.key, c.field) for c in result.changes] == [(kept.key, "update")]
    assert any(h.outcome == "not applied: row-added" and "recruit two more IROs" in h.new
               for h in read_history(openpyxl.load_workbook(master)))


def test_an_action_no_longer_in_the_master_is_unknown(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if len(solo(plan, f)) >= 1)
    i = solo(plan, ret)[0]
    key = ret.identity.rows[i].key
    wb = openpyxl.load_workbook(master)
    del wb.defined_names[f"_xlp_{key}"]                    # the manager deleted the action (its key went with it)
    wb.save(master)
    back = fill(ret.path, tmp_path / "back.xlsx", updates={i: "Update for a vanished action"})
    result = merge_returns(master, [back], now=NOW)
    assert [f.code for f in result.report.findings] == ["unknown-action"]
    assert [(h.key, h.new, h.outcome) for h in read_history(openpyxl.load_workbook(master))] == [
        (key, "Update for a vanished action", "not applied: unknown-action")]


def test_two_leads_of_one_action_disagreeing_is_a_conflict_and_the_master_keeps_its_value(birmingham, tmp_path):
    master, made, plan = birmingham
    a = next(x for x in plan.actions if len(x.leads) == 2)
    first, second = (ret_of(made, lead) for lead in a.leads)
    i1 = next(n for n, r in enumerate(first.identity.rows) if r.key == a.key)
    i2 = next(n for n, r in enumerate(second.identity.rows) if r.key == a.key)
    b1 = fill(first.path, tmp_path / "one.xlsx", statuses={i1: "RED"}, updates={i1: "Same words"})
    b2 = fill(second.path, tmp_path / "two.xlsx", statuses={i2: "BLUE"}, updates={i2: "Same   words\n"})
    ws0 = openpyxl.load_workbook(master)[plan.sheet]
    status_before = ws0[a.cells["status"]].value
    result = merge_returns(master, [b1, b2], now=NOW)
    conflicts = [f for f in result.report.findings if f.code == "conflict"]
    assert len(conflicts) == 1 and conflicts[0].column == plan.column("status").letter
    ws = openpyxl.load_workbook(master)[plan.sheet]
    assert ws[a.cells["status"]].value == status_before
    assert ws[a.cells["update"]].value.startswith("Update November 2026: Same words")   # they agree on the update
    held = [(h.lead, h.new) for h in read_history(openpyxl.load_workbook(master)) if h.outcome == "not applied: conflict"]
    assert sorted(held) == sorted([(a.leads[0], "RED"), (a.leads[1], "BLUE")])


def test_the_later_of_two_returns_from_one_lead_wins(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if solo(plan, f))
    i = solo(plan, ret)[0]
    t = time.time()
    later = fill(ret.path, tmp_path / "a - renamed by lead.xlsx", updates={i: "Later words"}, mtime=t)
    earlier = fill(ret.path, tmp_path / "z earlier.xlsx", updates={i: "Earlier words"}, mtime=t - 3600)
    result = merge_returns(master, [later, earlier], now=NOW)
    assert [(f.code, f.value) for f in result.report.findings] == [("duplicate-return", "z earlier.xlsx")]
    assert [c.new.split("\n")[0] for c in result.changes] == ["Update November 2026: Later words"]


def test_status_not_in_key_and_empty_returns(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if solo(plan, f))
    i = solo(plan, ret)[0]
    purple = fill(ret.path, tmp_path / "purple.xlsx", statuses={i: "Purple"})
    empty = shutil.copy(made.returns[-1].path, tmp_path / "empty.xlsx")
    result = merge_returns(master, [purple, empty], now=NOW)
    assert sorted(f.code for f in result.report.findings) == ["empty-return", "status-not-in-key"]
    assert result.changes == []
    assert [(h.new, h.outcome) for h in read_history(openpyxl.load_workbook(master))] == [
        ("Purple", "not applied: status-not-in-key")]
    digest = sha(master)
    assert not merge_returns(master, [empty], now=NOW).changed and sha(master) == digest


# ---------------------------------------------------------------- files as they come back

def _bomb_xlsx(good: Path, dest: Path) -> Path:
    """A copy of a return whose worksheet XML carries a billion-laughs entity bomb (expanded, a few GB)."""
    dtd = ('<!DOCTYPE worksheet [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{n} "{("&lol%s;" % ("" if n == 1 else n - 1)) * 10}">' for n in range(1, 10))
           + "]>")
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                decl_end = xml.index("?>") + 2 if xml.startswith("<?xml") else 0
                xml = xml[:decl_end] + dtd + xml[decl_end:]
                xml = xml.replace("<t>", "<t>&lol9;", 1)
                data = xml.encode()
            zout.writestr(item, data)
    return dest


def test_broken_hostile_and_macro_returns_are_refused_or_read_safely_while_others_merge(birmingham, tmp_path):
    master, made, plan = birmingham
    good_ret = next(f for f in made.returns if solo(plan, f))
    i = solo(plan, good_ret)[0]
    good = fill(good_ret.path, tmp_path / "good.xlsx", updates={i: "Merged fine"})
    (tmp_path / "notes.xlsx").write_text("this is not a workbook")
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[:2000])
    bomb = _bomb_xlsx(made.returns[1].path, tmp_path / "bomb.xlsx")
    import defusedxml.common
    with pytest.raises(Exception) as refused:          # openpyxl (through defusedxml) refuses the bomb
        openpyxl.load_workbook(bomb)
    chain, exc = [], refused.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert any(isinstance(e, defusedxml.common.EntitiesForbidden) for e in chain)
    # A return saved as .xlsm with a (fake) macro project: read, never run or copied.
    macro = tmp_path / "macro.xlsm"
    other = next(f for f in made.returns if f is not good_ret and f is not made.returns[1] and solo(plan, f))
    j = solo(plan, other)[0]
    src = fill(other.path, tmp_path / "macro-src.xlsx", updates={j: "From a macro workbook"})
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(macro, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
                data = data.replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
            zout.writestr(item, data)
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really VBA, must never reach the master")
    result = merge_returns(master, [notes := tmp_path / "notes.xlsx", truncated, bomb, macro, good], now=NOW)
    unreadable = sorted(f.value for f in result.report.findings if f.code == "unreadable-return")
    assert unreadable == ["bomb.xlsx", "notes.xlsx", "truncated.xlsx"]
    assert {c.source for c in result.changes} == {"good.xlsx", "macro.xlsm"}
    with zipfile.ZipFile(master) as zf:
        assert not any("vba" in n.lower() for n in zf.namelist())
    assert notes.exists()


def test_renamed_resaved_and_identity_sheet_lost_returns_still_merge(birmingham, tmp_path):
    master, made, plan = birmingham
    rets = [f for f in made.returns if solo(plan, f)][:2]
    (r1, i1), (r2, i2) = [(f, solo(plan, f)[0]) for f in rets]
    renamed = fill(r1.path, tmp_path / "My update Nov (final v2).xlsx", updates={i1: "Renamed but fine"})

    def drop_identity(wb, ws, ident):        # a re-save that lost the hidden sheet: the properties remain
        wb.remove(wb[IDENTITY_SHEET])
    lost = fill(r2.path, tmp_path / "lost identity.xlsx", updates={i2: "Found by properties"}, statuses={i2: "RED"},
                edit=drop_identity)
    result = merge_returns(master, [renamed, lost], now=NOW)
    assert result.report.findings == []
    assert sorted((c.source, c.field) for c in result.changes) == [
        ("My update Nov (final v2).xlsx", "update"), ("lost identity.xlsx", "status"), ("lost identity.xlsx", "update")]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_a_return_resaved_by_libreoffice_merges(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if solo(plan, f))
    i = solo(plan, ret)[0]
    filled = fill(ret.path, tmp_path / "in" / "lo.xlsx" if (tmp_path / "in").mkdir() is None else None,
                  updates={i: "Saved by LibreOffice"}, statuses={i: "AMBER"})
    out = tmp_path / "lo-out"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                    "--convert-to", "xlsx", "--outdir", str(out), str(filled)],
                   check=True, capture_output=True, timeout=180)
    resaved = out / "lo.xlsx"
    assert resaved.exists() and sha(resaved) != sha(filled)
    result = merge_returns(master, [resaved], now=NOW)
    assert [f.code for f in result.report.findings] == []
    assert sorted(c.field for c in result.changes) == ["status", "update"]


# ---------------------------------------------------------------- macro-enabled master

def test_merge_into_a_macro_enabled_master_keeps_macros_and_ribbon(sample, tmp_path):
    from xl_plan.io.package import check_macros_and_ribbon, has_macros, ribbon_parts
    from xl_plan.template.attach import attach

    xlsx = sample("birmingham")
    master = attach(xlsx, tmp_path / "plan.xlsm")
    original = tmp_path / "original.xlsm"
    shutil.copy(master, original)
    made = make(master, tmp_path / "sent")
    plan = read_plan(master)
    ret = next(f for f in made.returns if solo(plan, f))
    i = solo(plan, ret)[0]
    result = merge_returns(master, [fill(ret.path, tmp_path / "b.xlsx", updates={i: "macro master"})], now=NOW)
    assert result.saved and result.changes
    assert has_macros(master) and ribbon_parts(master)
    assert check_macros_and_ribbon(original, master) == []


# ---------------------------------------------------------------- consolidation

def _eml(path: Path, attachment: Path, sent: datetime, forwarded=False) -> Path:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Lead <lead@example.org>", "team@example.org", "My return"
    msg["Date"] = format_datetime(sent)
    msg.set_content("Here it is.")
    msg.add_attachment(attachment.read_bytes(), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=attachment.name)
    if forwarded:
        outer = EmailMessage()
        outer["From"], outer["Subject"], outer["Date"] = "PA <pa@example.org>", "Fwd", format_datetime(sent)
        outer.set_content("Forwarding.")
        outer.add_attachment(msg)
        msg = outer
    path.write_bytes(bytes(msg))
    return path


def _msg(path: Path, attachment: Path, sent: datetime) -> Path:
    """A real Outlook .msg (a compound file with MAPI property streams) built with the project's
    MS-CFB writer, carrying `attachment` by value."""
    from xl_plan.template.cfb import Storage, Stream, write_cfb

    def s16(t):
        return t.encode("utf-16-le")

    def var(tag, size):
        return struct.pack("<IIII", tag, 6, size, 0)

    def fixed(tag, value):
        return struct.pack("<II", tag, 6) + value.ljust(8, b"\0")

    ft = struct.pack("<Q", int((sent - datetime(1601, 1, 1, tzinfo=timezone.utc)).total_seconds() * 10 ** 7))
    subject, cls, body = s16("My return"), s16("IPM.Note"), s16("Attached.")
    props = b"\0" * 8 + struct.pack("<IIII", 0, 1, 0, 1) + b"\0" * 8
    props += var(0x0037001F, len(subject) + 2) + var(0x001A001F, len(cls) + 2) + var(0x1000001F, len(body) + 2)
    props += fixed(0x00390040, ft) + fixed(0x0E060040, ft)
    data, name = attachment.read_bytes(), s16(attachment.name)
    aprops = (b"\0" * 8 + fixed(0x37050003, struct.pack("<I", 1)) + var(0x37010102, len(data))
              + var(0x3707001F, len(name) + 2) + var(0x3704001F, len(name) + 2))
    root = [
        Stream("__properties_version1.0", props), Stream("__substg1.0_0037001F", subject),
        Stream("__substg1.0_001A001F", cls), Stream("__substg1.0_1000001F", body),
        Storage("__nameid_version1.0", [Stream("__substg1.0_00020102", b""), Stream("__substg1.0_00030102", b""),
                                        Stream("__substg1.0_00040102", b"")]),
        Storage("__attach_version1.0_#00000000", [
            Stream("__properties_version1.0", aprops), Stream("__substg1.0_37010102", data),
            Stream("__substg1.0_3707001F", name), Stream("__substg1.0_3704001F", name)]),
    ]
    path.write_bytes(write_cfb(root))
    return path


def test_consolidate_merges_a_folder_and_emails_and_writes_summary_validation_in_one_save(birmingham, tmp_path):
    master, made, plan = birmingham
    rets = [f for f in made.returns if solo(plan, f)]
    assert len(rets) >= 4
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (r1, i1), (r2, i2), (r3, i3), (r4, i4) = [(f, solo(plan, f)[0]) for f in rets[:4]]
    fill(r1.path, inbox / "plain.xlsx", updates={i1: "From the folder"}, statuses={i1: "RED"})
    att = fill(r2.path, tmp_path / "att" / "from eml.xlsx" if (tmp_path / "att").mkdir() is None else None,
               updates={i2: "From an email"})
    _eml(inbox / "reply.eml", att, datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc), forwarded=True)
    att2 = fill(r3.path, tmp_path / "att" / "from msg.xlsx", updates={i3: "From Outlook"}, statuses={i3: "BLUE"})
    _msg(inbox / "outlook.msg", att2, datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc))
    (inbox / "readme.txt").write_text("not a return")
    (inbox / "~$plain.xlsx").write_bytes(b"lock")
    before = snapshot(master)
    backups_before = set((master.parent / "backups").iterdir())
    lines = []
    c = consolidate(master, inbox, today=TODAY, now=NOW, progress=lines.append)
    r = c.merge
    assert r.report.findings == []
    assert sorted(r.returned) == sorted([r1.lead, r2.lead, r3.lead])
    assert sorted(r.missing) == sorted(f.lead for f in made.returns if f.lead not in r.returned)
    assert sorted((x.source, x.field) for x in r.changes) == sorted([
        ("plain.xlsx", "update"), ("plain.xlsx", "status"),
        ("from eml.xlsx (in email reply.eml (forwarded email))", "update"),
        ("from msg.xlsx (in email outlook.msg)", "update"), ("from msg.xlsx (in email outlook.msg)", "status")])
    assert any("Reading plain.xlsx" in x for x in lines) and any("merged" in x for x in lines)
    assert ("readme.txt", "not a workbook or a saved email") in c.skipped
    assert len(set((master.parent / "backups").iterdir()) - backups_before) == 1       # one save

    wb = openpyxl.load_workbook(master)
    assert {"Summary", "Validation", "History"} <= set(wb.sheetnames)
    summary = [[v for v in row] for row in wb["Summary"].iter_rows(values_only=True)]
    flat = [str(v) for row in summary for v in row if v is not None]
    assert any("Movement in November 2026" in v for v in flat)
    assert all(lead in flat for lead in r.missing)
    with zipfile.ZipFile(master) as zf:
        charts = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2                 # RAG by section (bars), the trend by month (columns)
        xml = next(x for x in charts if 'barDir val="bar"' in x)
        assert any('barDir val="col"' in x for x in charts)
    assert re.search(r'grouping val="stacked"', xml) and re.search(r'overlap val="100"', xml)
    for e in plan.rag_key.entries:
        assert f'val="{e.colour}"' in xml
    # Everything of the user's is as it was, but the merged cells and xl_plan's own sheets.
    after = snapshot(master, skip_sheets=("History", "Summary", "Validation"))
    for x in r.changes:
        before[plan.sheet]["cells"].pop(x.cell)
        after[plan.sheet]["cells"].pop(x.cell)
    before_cells = {k: (v[0], v[1]) for k, v in before[plan.sheet]["cells"].items()}
    after_cells = {k: (v[0], v[1]) for k, v in after[plan.sheet]["cells"].items()}
    assert after_cells == before_cells            # comments by xl_plan (validation marks) aside
    before["sheetnames"] += ["Validation", "Summary", "History"]
    assert sorted(after["sheetnames"] + ["Validation", "Summary", "History"]) == sorted(before["sheetnames"])
    # Movement since last month is read back from History.
    moved = {(row[0], row[1]): row[2] for row in summary if row and row[0] in ("GREEN", "AMBER", "No status")
             and isinstance(row[2], int)}
    assert sum(moved.values()) >= 2
    # Consolidating again merges nothing new and writes no History rows.
    again = consolidate(master, inbox, today=TODAY, now=NOW)
    assert again.merge.changes == [] and again.merge.history_added == 0


def test_cli_merge_and_consolidate(birmingham, tmp_path):
    master, made, plan = birmingham
    ret = next(f for f in made.returns if solo(plan, f))
    i = solo(plan, ret)[0]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    back = fill(ret.path, inbox / "back.xlsx", updates={i: "CLI update"}, statuses={i: "RED"})
    runner = CliRunner()
    res = runner.invoke(cli, ["merge", str(master), str(back), "--month", MONTH])
    assert res.exit_code == 0, res.output
    assert "Actions updated: 1" in res.output and "to RED" not in res.output and " to Red" in res.output
    assert "Missing (" in res.output
    (inbox / "junk.xlsx").write_text("junk")
    res = runner.invoke(cli, ["consolidate", str(master), "--returns", str(inbox), "--today", "2026-11-20"])
    assert res.exit_code == 1, res.output              # junk.xlsx needs attention
    assert "unreadable-return" in res.output and "Saved" in res.output
    res = runner.invoke(cli, ["merge", "--help"])
    assert res.exit_code == 0 and "--month" in res.output
    res = runner.invoke(cli, ["consolidate", str(master), "--returns", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "Traceback" not in res.output


# ---------------------------------------------------------------- safety

def test_refuses_when_the_master_is_open_in_excel(birmingham, tmp_path):
    master, made, plan = birmingham
    back = fill(made.returns[0].path, tmp_path / "b.xlsx", updates={0: "x"})
    (master.parent / f"~${master.name}").write_bytes(b"owner")
    digest = sha(master)
    with pytest.raises(WorkbookLockedError):
        merge_returns(master, [back], now=NOW)
    assert sha(master) == digest


def test_refuses_when_the_master_changed_on_disk_while_merging(birmingham, tmp_path):
    master, made, plan = birmingham
    back = fill(made.returns[0].path, tmp_path / "b.xlsx", updates={0: "x"})

    def touch(text):        # someone saves the master while the returns are read
        if text.startswith("Reading"):
            os.utime(master, (time.time() + 5, time.time() + 5))
    digest = sha(master)
    with pytest.raises(WorkbookLockedError, match="changed on disk"):
        merge_returns(master, [back], now=NOW, progress=touch)
    assert sha(master) == digest


_RUNNER = textwrap.dedent("""
    import sys
    from datetime import datetime
    sys.path.insert(0, {root!r})
    from xl_plan import merge_returns
    merge_returns({master!r}, {returns!r}, now=datetime(2026, 11, 20, 10, 0))
""")


@pytest.mark.slow
def test_a_merge_killed_while_saving_leaves_the_old_or_the_new_master(birmingham, tmp_path):
    master, made, plan = birmingham
    rets = [f for f in made.returns if solo(plan, f)][:2]
    returns = [str(fill(f.path, tmp_path / f"b{n}.xlsx", updates={solo(plan, f)[0]: f"kill test {n}"}))
               for n, f in enumerate(rets)]
    old = master.read_bytes()
    # The new version, from an uninterrupted run on a copy.
    ref = tmp_path / "ref" / master.name
    ref.parent.mkdir()
    ref.write_bytes(old)
    merge_returns(ref, returns, now=NOW)
    new_snap = snapshot(ref)
    old_snap = snapshot(master)
    assert new_snap != old_snap

    def run(env_extra=None, kill_after=None):
        env = {**os.environ, **(env_extra or {})}
        script = _RUNNER.format(root=str(ROOT), master=str(master), returns=returns)
        p = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if kill_after is None:
            marker = Path(env_extra["XL_PLAN_SAVE_PAUSE_MARKER"])
            deadline = time.time() + 120
            while not marker.exists() and p.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            assert marker.exists(), p.communicate()[1].decode()
        else:
            time.sleep(kill_after)
        p.send_signal(signal.SIGKILL)
        p.wait()

    def state():
        data = master.read_bytes()
        if data == old:
            return "old"
        assert snapshot(master) == new_snap          # a whole, readable new version
        return "new"

    seen = []
    for point in ("after-temp-write", "after-check", "after-backup", "after-rename"):
        master.write_bytes(old)
        marker = tmp_path / f"marker-{point}"
        run({"XL_PLAN_SAVE_PAUSE": point, "XL_PLAN_SAVE_PAUSE_MARKER": str(marker)})
        seen.append((point, state()))
        read_plan(master)                                # readable, stray temp file or not
    assert seen == [("after-temp-write", "old"), ("after-check", "old"), ("after-backup", "old"),
                    ("after-rename", "new")]
    import random
    rng = random.Random(7)
    for _ in range(6):
        master.write_bytes(old)
        run(kill_after=rng.uniform(0.3, 3.0))
        seen.append(("random", state()))
        read_plan(master)
    # A stray temporary file from a killed run does not stop the next merge.
    master.write_bytes(old)
    merge_returns(master, returns, now=NOW)
    assert snapshot(master) == new_snap


@pytest.mark.slow
def test_demo_fills_two_returns_and_consolidates(tmp_path):
    from xl_plan.demo import run_demo

    lines = []
    plan = run_demo(tmp_path / "demo", today=TODAY, echo=lines.append)
    text = "\n".join(lines)
    assert "Returns for November 2026: 2 merged of" in text and "Missing (" in text
    assert len(list((tmp_path / "demo" / "returned").glob("*.xlsx"))) == 2
    wb = openpyxl.load_workbook(plan)
    assert {"Summary", "History", "Validation"} <= set(wb.sheetnames)
    assert len(read_history(wb)) >= 2


def test_history_rows_kept_as_records_save_and_read_as_openpyxl_cells(sample):
    """The merge jobs keep History's new rows as cell records (`append_history(records=True)`): read back
    in the same run they are the rows appended, and the saved package is byte for byte the one
    openpyxl cells give, for a new History and for one that already had rows."""
    from tests.package_compare import saved_parts
    from xl_plan.plan_file import open_plan
    from xl_plan.writers.history import HistoryRow, append_history

    def row(i: int, outcome: str = "applied") -> HistoryRow:
        return HistoryRow(MONTH, f"K{i}", f"{i}.1", "update", "", f"Progress {i}: " + "done " * (i % 12),
                          "AB", "ret.xlsx", "20/11/2026 10:00", outcome)

    def run(records: bool):
        wb, _plan, _ = open_plan(sample("city"))
        append_history(wb, [row(i) for i in range(5)])                          # rows already in the master
        added = append_history(wb, [row(i) for i in range(3, 12)] + [row(20, "conflict: not applied")],
                               records=records)
        again = append_history(wb, [row(7), row(30)], records=records)           # a second append in the run
        return added, again, read_history(wb), saved_parts(wb, records)

    plain, kept = run(False), run(True)
    assert plain[:3] == kept[:3] and plain[0] == 8 and plain[1] == 1
    assert [h.key for h in kept[2]] == [f"K{i}" for i in list(range(12)) + [20, 30]]
    assert sorted(plain[3]) == sorted(kept[3])
    for part in plain[3]:
        assert plain[3][part] == kept[3][part], part


def test_consolidate_writes_the_same_package_with_records_written_by_graft(birmingham, tmp_path, monkeypatch):
    """The scratch save leaves the History, Validation and Summary rows of records to graft, which writes
    them straight into the package (io/fastwrite.detach): the same package as when the scratch save
    writes them, and the first History row straight under its header."""
    from xl_plan.io import fastwrite

    master, made, plan = birmingham
    rets = [f for f in made.returns if solo(plan, f)]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for f in rets[:3]:
        i = solo(plan, f)[0]
        fill(f.path, inbox / f.path.name, updates={i: f"Update from {f.lead}"}, statuses={i: "RED"})
    spliced, saved = tmp_path / "spliced" / "master.xlsx", tmp_path / "saved" / "master.xlsx"
    for p in (spliced, saved):
        p.parent.mkdir()
        shutil.copyfile(master, p)
    seen = []
    real = fastwrite.detach
    monkeypatch.setattr(fastwrite, "detach", lambda wb: seen.append(real(wb)) or seen[-1])
    consolidate(spliced, inbox, today=TODAY, now=NOW)
    assert {"History", "Validation", "Summary"} <= set(seen[-1])
    monkeypatch.setattr(fastwrite, "detach", lambda wb: {})
    consolidate(saved, inbox, today=TODAY, now=NOW)
    with zipfile.ZipFile(spliced) as a, zipfile.ZipFile(saved) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        for name in a.namelist():
            if name != "docProps/core.xml":
                assert a.read(name) == b.read(name), name
    ws = openpyxl.load_workbook(spliced)["History"]
    assert ws.cell(3, 1).value == MONTH and ws.freeze_panes == "A3"
    # printable: A4 landscape, its header on every page, each new row as tall as its text needs
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
    assert ws.print_title_rows.replace("$", "") == "2:2"
    assert all(ws.row_dimensions[r].height for r in range(3, ws.max_row + 1))
    assert ws.cell(3, 1).alignment.vertical == "top"
