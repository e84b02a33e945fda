"""`returns make`: one return per lead, in the plan's layout, holding nothing of another lead's
actions, protected but for the update and status cells, with an identity the merge can trust and
stable action keys kept in the master as defined names."""
import html
import re
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from workbook_compare import snapshot

from xl_plan import read_plan
from xl_plan.cli import cli
from xl_plan.errors import WorkbookLockedError, XlPlanError
from xl_plan.jobs import make_returns_file
from xl_plan.returns.identity import (
    IDENTITY_SHEET,
    identity_from_properties,
    is_action_key,
    key_from_name,
    read_identity,
    text_hash,
)
from xl_plan.returns.log import LOG_SHEET, read_returns_log
from xl_plan.returns.make import return_filename
from xl_plan.sheets import text_height

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
SAMPLE_NAMES = ["birmingham", "barking", "city"]


def _make(path, out, **kw):
    kw.setdefault("deadline", date(2026, 12, 5))
    return make_returns_file(path, "2026-11", out, now=NOW, **kw)


@pytest.fixture(params=SAMPLE_NAMES)
def made(request, sample, tmp_path):
    master = sample(request.param)
    before = read_plan(master)
    result = _make(master, tmp_path / "returns")
    return master, before, result


def _xml_text(path: Path) -> str:
    """Every part of the .xlsx, XML entities undone, joined."""
    with zipfile.ZipFile(path) as zf:
        return "\n".join(html.unescape(zf.read(n).decode("utf-8", "replace")) for n in zf.namelist())


def test_one_return_per_lead_with_that_leads_actions(made):
    master, before, result = made
    expected: dict[str, int] = {}
    for a in before.actions:
        for lead in a.leads:
            expected[lead] = expected.get(lead, 0) + 1
    assert {f.lead: f.action_count for f in result.returns} == expected
    for f in result.returns:
        assert f.path.exists() and f.path.name == return_filename("2026-11", f.lead, master)
        assert f.path.name.startswith("2026-11 return - ")
        ident = read_identity(f.path)
        assert len(ident.rows) == expected[f.lead]
        ws = openpyxl.load_workbook(f.path)[ident.return_sheet]
        texts = [" ".join(str(ws[f"{_col(before, 'action', ident)}{r.return_row}"].value or "").split())
                 for r in ident.rows]
        own = [a for a in before.actions if f.lead in a.leads]
        assert [r.master_row for r in ident.rows] == [a.row for a in own]
        if before.column("action"):
            assert texts == [" ".join(a.text.split()) for a in own] or all(
                text_hash(a.text) == r.text_sha256 for a, r in zip(own, ident.rows))


def _col(plan, field, ident):
    """The return's column letter for a master field."""
    col = plan.column(field)
    idx = col.index + (1 if plan.column("update") and col.index > plan.column("update").index else 0)
    return get_column_letter(idx)


def test_layout_keeps_headers_order_widths_and_styles(made):
    master, before, result = made
    mws = openpyxl.load_workbook(master)[before.sheet]
    master_headers = [mws.cell(before.header_row, c).value for c in range(before.first_column, before.last_column + 1)]
    upd = before.column("update")
    for f in result.returns:
        ident = read_identity(f.path)
        wb = openpyxl.load_workbook(f.path)
        ws = wb[ident.return_sheet]
        assert wb.sheetnames[0] == before.sheet == ident.return_sheet
        row = [ws.cell(ident.header_row, c).value for c in range(before.first_column, ws.max_column + 1)]
        new_update = column_index_from_string(ident.update_column)
        assert row[new_update - before.first_column] == "Update for November 2026"
        without_new = [v for i, v in enumerate(row) if i != new_update - before.first_column]
        assert without_new[: len(master_headers)] == master_headers           # same names, same order
        if before.column("status") is None:
            assert without_new[len(master_headers):] == ["Status"]
        else:
            assert len(without_new) == len(master_headers)
        assert ident.previous_update_column == upd.letter and new_update == upd.index + 1
        for c in range(before.first_column, before.last_column + 1):          # widths and header styles kept
            t = c + (1 if c > upd.index else 0)
            assert ws.column_dimensions[get_column_letter(t)].width == mws.column_dimensions[get_column_letter(c)].width
            src, dst = mws.cell(before.header_row, c), ws.cell(ident.header_row, t)
            assert (dst.font.b, dst.font.color.rgb if dst.font.color else None, dst.fill.fgColor.rgb) == \
                (src.font.b, src.font.color.rgb if src.font.color else None, src.fill.fgColor.rgb)
        first = before.actions[[a.row for a in before.actions].index(ident.rows[0].master_row)]
        src = mws.cell(first.row, before.column("action").index if before.column("action") else before.first_column)
        dst = ws[f"{_col(before, 'action', ident) if before.column('action') else get_column_letter(before.first_column)}{ident.rows[0].return_row}"]
        assert (dst.font.name, dst.alignment.wrap_text) == (src.font.name, src.alignment.wrap_text)
        # the plan's size, or smaller (down to 8 point) where the text needs more than Excel's 409-point row
        assert dst.font.sz == src.font.sz or (8 <= dst.font.sz < (src.font.sz or 11)
                                              and text_height(dst.value, ws.column_dimensions[dst.column_letter].width,
                                                              src.font.sz or 11) > 409)
        # a section row for each section the lead has actions in, and only those
        sections = {a.section for a in before.actions if f.lead in a.leads and a.section}
        shown = {ws.cell(r, before.first_column).value for r in range(ident.header_row + 1, ws.max_row + 1)
                 if r not in {x.return_row for x in ident.rows} and ws.cell(r, before.first_column).value}
        assert shown == sections
        # the RAG key block
        top = [ws.cell(r, before.first_column).value for r in range(1, ident.header_row)]
        assert "RAG status key:" in top
        assert all(e.name in top for e in before.rag_key.entries)
        assert any("By when: please send it back by Saturday 5 December 2026" in str(v) for v in top)


def test_no_other_leads_actions_anywhere_in_the_file(made):
    master, before, result = made
    for f in result.returns:
        own = [a for a in before.actions if f.lead in a.leads]
        own_strings = set()
        for a in own:
            own_strings |= {str(v) for v in a.raw.values() if v is not None and not isinstance(v, list)}
            own_strings |= {a.text, a.update, a.ref or "", a.recommendation or "", a.section or ""}
        xml = _xml_text(f.path)
        checked = 0
        for other in before.actions:
            if other in own:
                continue
            for field in ("action", "update"):
                value = other.raw.get(field)
                if not isinstance(value, str) or len(value.strip()) < 8:
                    continue
                if any(value in s for s in own_strings):
                    continue                        # the same words also belong to one of this lead's actions
                assert value not in xml, f"{f.path.name} holds {field} of row {other.row}"
                checked += 1
            if other.ref and other.ref not in {a.ref for a in own}:
                assert not re.search(r"<t(?: [^>]*)?>" + re.escape(other.ref) + "</t>", xml), \
                    f"{f.path.name} holds the ref {other.ref}"
            if other.key:
                assert other.key not in xml
        own_text = " ".join(a.text for a in own)
        assert checked or len(own) == len(before.actions) or not own_text


def test_only_update_and_status_cells_are_editable(made):
    master, before, result = made
    for f in result.returns:
        ident = read_identity(f.path)
        wb = openpyxl.load_workbook(f.path)
        ws = wb[ident.return_sheet]
        assert ws.protection.sheet and not ws.protection.password
        editable = {f"{c}{r.return_row}" for r in ident.rows for c in (ident.update_column, ident.status_column)}
        for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column):
            for cell in row:
                if cell.coordinate in editable:
                    assert cell.protection.locked is False, cell.coordinate
                else:
                    assert cell.protection.locked is not False, cell.coordinate
        assert wb[IDENTITY_SHEET].sheet_state == "veryHidden"
        dvs = ws.data_validations.dataValidation
        assert len(dvs) == 1 and dvs[0].type == "list"
        names = [e.name for e in before.rag_key.entries]
        assert dvs[0].formula1 == '"' + ",".join(names) + '"'
        covered = {str(c) for rng in dvs[0].sqref.ranges for c in [rng.coord]}
        assert covered == {f"{ident.status_column}{r.return_row}" for r in ident.rows}
        for r in ident.rows:                                   # what was sent is in the cells
            assert (ws[f"{ident.status_column}{r.return_row}"].value or "") == r.status_as_sent
            assert ws[f"{ident.update_column}{r.return_row}"].value is None
            prev = ws[f"{ident.previous_update_column}{r.return_row}"].value
            assert " ".join(str(prev or "").split()) == " ".join(r.update_as_sent.split())


def test_identity_and_keys_match_the_master(made):
    master, before, result = made
    wb = openpyxl.load_workbook(master)
    names = {key_from_name(n): d for n, d in wb.defined_names.items() if key_from_name(n)}
    after = read_plan(master)
    assert all(a.key and is_action_key(a.key) for a in after.actions)
    assert len({a.key for a in after.actions}) == len(after.actions)
    assert result.keys_added == len(after.actions)
    by_key = {a.key: a for a in after.actions}
    for f in result.returns:
        ident = read_identity(f.path)
        assert (ident.month, ident.lead, ident.plan_id, ident.plan_file) == ("2026-11", f.lead, result.plan_id, master.name)
        assert ident.master_sha256 == result.master_sha256 and ident.deadline == "2026-12-05"
        assert ident.created == NOW.isoformat(timespec="seconds") and ident.xl_plan_version
        for r in ident.rows:
            sheet, coord = next(iter(names[r.key].destinations))
            assert sheet == before.sheet and int(coord.split("$")[-1]) == r.master_row
            assert by_key[r.key].row == r.master_row and text_hash(by_key[r.key].text) == r.text_sha256
        props = identity_from_properties(openpyxl.load_workbook(f.path))
        assert props["return_id"] == ident.return_id and props["lead"] == f.lead
    # the master's backup is the file the fingerprint describes
    from xl_plan.returns.identity import file_sha256
    assert file_sha256(result.saved.backup) == result.master_sha256
    log = read_returns_log(wb)
    assert [(r["lead"], r["file"], int(r["actions"])) for r in log] == \
        [(f.lead, f.path.name, f.action_count) for f in result.returns]
    assert wb[LOG_SHEET].sheet_state == "hidden"


def test_master_keeps_everything_else(sample, tmp_path):
    master = sample("city")
    before = snapshot(master)
    _make(master, tmp_path / "out")
    after = snapshot(master, skip_sheets=(LOG_SHEET, "xl_plan"))
    names_before = before.pop("defined_names")
    names_after = after.pop("defined_names")
    assert before == after
    assert set(names_after) - set(names_before) == {n for n in names_after if n[0].startswith("_xlp_")}


def test_keys_stable_across_runs_and_ref_changes(sample, tmp_path):
    master = sample("city")
    first = _make(master, tmp_path / "one")
    keys1 = {(a.row, a.text): a.key for a in read_plan(master).actions}
    wb = openpyxl.load_workbook(master)
    ws = wb["Improvement Plan"]
    plan = read_plan(master)
    for a in plan.actions:                                  # renumber every ref
        if a.ref:
            ws[a.cells["ref"]] = "X" + a.ref
    wb.save(master)
    second = _make(master, tmp_path / "two")
    assert second.keys_added == 0
    assert {(a.row, a.text): a.key for a in read_plan(master).actions} == keys1
    for f1, f2 in zip(first.returns, second.returns):
        assert read_identity(f1.path).keys == read_identity(f2.path).keys
        assert read_identity(f1.path).return_id != read_identity(f2.path).return_id
    assert len(read_returns_log(openpyxl.load_workbook(master))) == 2 * len(first.returns)


def _insert_row_like_excel(path, sheet, row):
    """openpyxl's insert_rows moves cells only; Excel also moves names and merged cells."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    merged = [r for r in ws.merged_cells.ranges if r.min_row >= row]
    for rng in merged:
        ws.merged_cells.remove(rng)
    ws.insert_rows(row)
    for rng in merged:
        rng.shift(0, 1)
        ws.merged_cells.add(rng)
    for name, dn in list(wb.defined_names.items()):
        s, coord = next(iter(dn.destinations))
        col, r = coord.split("$")[1], int(coord.split("$")[2])
        if s == sheet and r >= row:
            wb.defined_names[name] = DefinedName(name, attr_text=f"'{sheet}'!${col}${r + 1}")
    return wb, ws


def test_keys_follow_actions_when_a_row_is_inserted_above(sample, tmp_path):
    master = sample("birmingham")
    _make(master, tmp_path / "out")
    plan = read_plan(master)
    keys = {a.text: a.key for a in plan.actions}
    target = plan.actions[3]
    wb, ws = _insert_row_like_excel(master, plan.sheet, target.row)
    ws.cell(target.row, 3, "A brand new action added by the manager")
    ws.cell(target.row, 4, "GT")
    wb.save(master)
    moved = read_plan(master)
    new = next(a for a in moved.actions if a.text.startswith("A brand new action"))
    assert new.key is None
    assert {a.text: a.key for a in moved.actions if a is not new} == keys
    assert next(a for a in moved.actions if a.text == target.text).row == target.row + 1
    again = _make(master, tmp_path / "again")
    assert again.keys_added == 1


def test_names_pointing_at_no_action_are_ignored(sample):
    master = sample("birmingham")
    wb = openpyxl.load_workbook(master)
    wb.defined_names["_xlp_A00000001"] = DefinedName("_xlp_A00000001", attr_text="'Improvement Plan'!$C$1")
    wb.defined_names["_xlp_A00000002"] = DefinedName("_xlp_A00000002", attr_text="#REF!")
    wb.defined_names["_xlp_A00000003"] = DefinedName("_xlp_A00000003", attr_text="'Improvement Plan'!$C$11")
    wb.defined_names["_xlp_notakey"] = DefinedName("_xlp_notakey", attr_text="'Improvement Plan'!$C$12")
    wb.save(master)
    plan = read_plan(master)
    assert [a.key for a in plan.actions if a.key] == ["A00000003"]
    assert plan.actions[0].row == 11


def test_remaking_keeps_the_earlier_return(sample, tmp_path):
    master = sample("birmingham")
    first = _make(master, tmp_path / "out", leads=["GT"])
    again = _make(master, tmp_path / "out", leads=["gt"])
    assert [f.lead for f in again.returns] == ["GT"]
    assert again.returns[0].replaced and again.returns[0].replaced.exists()
    assert read_identity(again.returns[0].replaced).return_id == first.returns[0].identity.return_id


def test_bad_input_writes_nothing(sample, tmp_path):
    master = sample("birmingham")
    before = master.read_bytes()
    with pytest.raises(XlPlanError, match="YYYY-MM"):
        make_returns_file(master, "Nov 2026", tmp_path / "out")
    with pytest.raises(XlPlanError, match="no action names the lead"):
        _make(master, tmp_path / "out", leads=["Nobody"])
    lock = master.with_name("~$" + master.name)
    lock.write_text("x")
    with pytest.raises(WorkbookLockedError):
        _make(master, tmp_path / "out")
    lock.unlink()
    assert master.read_bytes() == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_returns_make(sample, tmp_path):
    master = sample("barking")
    out = CliRunner().invoke(cli, ["returns", "make", str(master), "--month", "2026-11", "--out",
                                   str(tmp_path / "r"), "--deadline", "2026-12-05"])
    assert out.exit_code == 0, out.output
    assert "Made 32 returns for 2026-11" in out.output
    assert "2026-11 return - Ann Graham - barking_dagenham_2014_plan.xlsx  (37 actions)" in out.output
    assert "gave 61 action(s) a stable key" in out.output and "backup:" in out.output
    bad = CliRunner().invoke(cli, ["returns", "make", str(master), "--month", "11/2026", "--out", str(tmp_path / "r")])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output and "Traceback" not in bad.output
