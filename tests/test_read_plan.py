"""Layout detection on the three sample plans and on layouts built in code."""
import openpyxl
import pytest

from tests.builders import colour_key_plan, misleading_plan
from tests.conftest import SAMPLES
from xl_plan import read_plan
from xl_plan.errors import LayoutError
from xl_plan.numbered import sub_actions


def _rows(path, sheet):
    ws = openpyxl.load_workbook(path)[sheet]
    return [[c.value for c in row] for row in ws.iter_rows()]


def count_city_actions():
    """city_of_london: one action per data row, i.e. a row with a ref or an action text that is not a header."""
    rows = _rows(SAMPLES["city"], "Improvement Plan")
    return sum(1 for r in rows[3:] if (r[1] or r[2]) and r[1] != "Ref:")


def count_birmingham_actions():
    rows = _rows(SAMPLES["birmingham"], "Improvement Plan")
    return sum(1 for r in rows[9:] if r[2])   # column C holds the action lists


def count_barking_actions():
    import re
    rows = _rows(SAMPLES["barking"], "LA Action Plan")
    return sum(1 for r in rows if r[0] and re.fullmatch(r"\d+(\.\d*)?", str(r[0])) and r[1])


def merged_theme_rows(name, sheet):
    ws = openpyxl.load_workbook(SAMPLES[name])[sheet]
    return sorted(rng.min_row for rng in ws.merged_cells.ranges if rng.max_col - rng.min_col >= 4)


def test_city_of_london():
    plan = read_plan(SAMPLES["city"])
    assert plan.sheet == "Improvement Plan"
    assert plan.header_row == 3
    assert plan.header_rows == [3, 14, 38, 46, 50, 58, 64, 69]
    assert {f: [c.letter for c in cols] for f, cols in plan.columns.items()} == {
        "recommendation": ["A"], "ref": ["B"], "action": ["C"], "start": ["D"], "end": ["E"],
        "measure": ["F"], "lead": ["G", "H"], "update": ["I"], "status": ["J"],
    }
    assert len(plan.actions) == count_city_actions() == 55
    assert [s.row for s in plan.sections] == merged_theme_rows("city", "Improvement Plan")
    assert plan.rag_key.source == "default"
    first = plan.actions[0]
    assert (first.row, first.ref, first.timescale_text) == (4, "1.1", "Jan-17 to Feb-17")
    assert first.leads == ["RG", "CP"] and first.lead_text == "RG / CP"
    assert first.status.code == "amber" and first.status.source == "text"
    assert first.recommendation.startswith("Ofsted recommendation 1:")
    # recommendation blank means "same as above"
    assert plan.actions[1].recommendation == first.recommendation
    # rows without a ref are still actions (row 20), refs without text too (A6.2)
    by_row = {a.row: a for a in plan.actions}
    assert by_row[20].ref is None and by_row[20].text.startswith("Ensure that an up-to-date chronology")
    assert by_row[32].ref == "A6.2" and by_row[32].text == ""
    assert by_row[5].cells["status"] == "J5"


def test_birmingham():
    plan = read_plan(SAMPLES["birmingham"])
    assert plan.header_row == 9 and plan.sheet == "Improvement Plan"
    assert plan.column("recommendation").letter == "B"
    assert plan.column("action").letter == "C"
    assert plan.column("status").letter == "G"
    assert "ref" not in plan.columns
    assert len(plan.actions) == count_birmingham_actions() == 27
    assert [s.row for s in plan.sections] == merged_theme_rows("birmingham", "Improvement Plan") == [10, 15, 27, 30, 34]
    assert [s.title for s in plan.sections][:2] == ["What needs to improve", "Early Help and Protection"]
    # RAG key block B1:B5 with words and colours
    assert plan.rag_key.source == "text"
    assert [(e.code, e.description, e.colour) for e in plan.rag_key.entries] == [
        ("green", "On Target for delivery", "00B050"),
        ("amber", "Delays / Issues but delivery on course", "FFC000"),
        ("red", "Major Issues preventing delivery", "FF0000"),
        ("blue", "Complete", "0070C0"),
    ]
    # a finding row with no actions (row 23) is not an action and not a continuation
    assert plan.findings_without_actions and plan.findings_without_actions[0][0] == 23
    assert all(a.rows == [a.row] for a in plan.actions)
    by_row = {a.row: a for a in plan.actions}
    assert by_row[12].leads == ["LH", "JoR", "GT", "LJ"]
    assert by_row[16].leads == ["MW", "RB"]
    assert by_row[21].leads == ["DM", "AxB"]
    assert [s.number for s in by_row[11].sub_actions] == list(range(1, 9))
    assert by_row[11].sub_actions[0].text.startswith("Review and update the Partnership DA Strategy")
    assert all(a.status is None for a in plan.actions)   # status cells are empty


def test_barking_dagenham():
    plan = read_plan(SAMPLES["barking"])
    assert plan.sheet == "LA Action Plan" and plan.header_row == 6
    # 'Action' holds refs beside 'Description': detected from the values
    assert plan.column("ref").letter == "A" and plan.column("action").letter == "B"
    assert [c.header for c in plan.columns["lead"]] == ["Strategic Lead", "Operational Lead"]
    assert "status" not in plan.columns
    assert len(plan.actions) == count_barking_actions() == 61
    assert len(plan.sections) == 13
    assert all(s.title.startswith(f"Area for Improvement ({i}):") for i, s in enumerate(plan.sections, 1))
    assert len(plan.header_rows) == 13
    by_row = {a.row: a for a in plan.actions}
    assert by_row[8].status.code == "blue" and by_row[8].status.derived
    assert by_row[17].status.code == "green" and by_row[17].status.raw == "On track"
    assert by_row[12].status is None          # "Due January 2015." states no status
    assert by_row[9].leads == ["Tony Kirk", "Kevin Jeffrey", "Beverley Hendricks"]
    assert by_row[11].leads == ["Ann Graham", "Teresa De Vito", "Vikki Rix"]
    assert by_row[41].section.startswith("Area for Improvement (6)")   # refs restart: 5.1 again


def test_colour_key_and_fills(tmp_path):
    plan = read_plan(colour_key_plan(tmp_path / "colour.xlsx"))
    assert plan.sheet == "Plan 2024" and plan.header_row == 12 and plan.first_column == 3
    assert plan.rag_key.source == "colour"
    assert [e.code for e in plan.rag_key.entries] == ["blue", "green", "amber", "red"]
    assert plan.rag_key.entries[0].description == "Action completed"
    assert plan.title.startswith("Anytown Council")
    refs = [a.ref for a in plan.actions]
    assert refs == ["1.1", "1.2", "2.1", "2.2", "2.3"]
    a11, a12, a21, a22, a23 = plan.actions
    assert a11.text == "Audit strategy discussions\nmonthly"          # tags and &nbsp; cleaned
    assert a21.text == "Review panel process"                          # nbsp and trailing blanks
    assert a22.text == "- Track children\n- Report quarterly"          # bullets kept readable
    assert a12.rows == [15, 16] and a12.update.endswith("split by a page break")   # continuation row
    assert [s.text for s in a12.sub_actions] == ["Train managers", "Update guidance"]
    assert a12.recommendation == "Timely strategy discussions"       # blank = same as above
    assert [s.title for s in plan.sections] == ["Area for Improvement (1): Strategy discussions", "Area for Improvement (2): Permanence"]
    assert a21.section == "Area for Improvement (2): Permanence"
    assert [(a.status.code, a.status.source) for a in plan.actions] == [
        ("green", "fill"), ("amber", "fill"), ("blue", "fill"), ("blue", "fill"), ("red", "fill")]
    assert a22.status.complete


def test_column_overrides(tmp_path):
    path = misleading_plan(tmp_path / "m.xlsx")
    plain = read_plan(path)
    assert plain.column("lead").header == "Progress"         # the values override the header
    assert plain.column("update").header == "Key points to note"
    fixed = read_plan(path, columns={"lead": "Progress", "update": "Key points to note"})
    assert fixed.column("lead").letter == "C" and fixed.column("update").letter == "E"
    assert fixed.actions[1].leads == ["LH", "JoR"] and fixed.actions[1].update == "Started"
    by_letter = read_plan(path, columns={"lead": "C", "update": "E"})
    assert by_letter.actions[0].leads == ["GT"]


def test_overrides_remembered_in_file_and_settings_sheet(tmp_path):
    from xl_plan.settings import remember_columns

    path = misleading_plan(tmp_path / "m.xlsx")
    remember_columns(path, {"lead": "Progress", "update": "Key points to note"})
    assert read_plan(path).actions[0].leads == ["GT"]

    other = misleading_plan(tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(other)
    ws = wb.create_sheet("xl_plan")
    ws.append(["Setting", "Value"])
    ws.append(["columns.lead", "Progress"])
    ws.append(["columns.update", "Key points to note"])
    ws.sheet_state = "hidden"
    wb.save(other)
    assert read_plan(other).actions[1].leads == ["LH", "JoR"]


def test_bad_override_names_the_headers(tmp_path):
    path = misleading_plan(tmp_path / "m.xlsx")
    with pytest.raises(LayoutError) as err:
        read_plan(path, columns={"lead": "Owner"})
    assert "'Owner'" in str(err.value) and "'Progress'" in str(err.value) and "Actions" in str(err.value)
    with pytest.raises(LayoutError, match="unknown field 'boss'"):
        read_plan(path, columns={"boss": "Progress"})


def test_no_table_names_sheet_and_expected_headers(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active["A1"] = "Minutes of the improvement board"
    wb.active["A2"] = "Nothing tabular here"
    wb.save(tmp_path / "n.xlsx")
    with pytest.raises(LayoutError) as err:
        read_plan(tmp_path / "n.xlsx")
    message = str(err.value)
    assert "'Notes'" in message and "n.xlsx" in message
    assert "'Timescale'" in message or "'timescale'" in message
    assert "--columns" in message
    assert "sheet 'Notes'" in message and len(message) < 400      # a few names, not every synonym


def test_one_empty_sheet_is_named_in_the_singular(tmp_path):
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "e.xlsx")
    with pytest.raises(LayoutError, match="sheet 'Sheet' is empty"):
        read_plan(tmp_path / "e.xlsx")


@pytest.mark.parametrize("text, numbers", [
    ("1. Review\n2. Update\n3. Train", [1, 2, 3]),
    ("Review standards to reflect: 1) requirement 2) timescales", [1, 2]),
    ("Run 6 monthly surveys", []),
    ("2. Starts at two\n3. Three", []),
    ("1. Only one", [1]),
])
def test_sub_actions(text, numbers):
    assert [s.number for s in sub_actions(text)] == numbers


@pytest.mark.parametrize("name, sheet, header, sections, actions", [
    ("city", "Improvement Plan", "3 (repeated at rows 14, 38, 46, 50, 58, 64, 69)", 8, 55),
    ("birmingham", "Improvement Plan", "9", 5, 27),
    ("barking", "LA Action Plan", "6 (repeated at rows", 13, 61),
])
def test_inspect_prints_the_layout(name, sheet, header, sections, actions):
    import json

    from click.testing import CliRunner

    from xl_plan.cli import cli

    result = CliRunner().invoke(cli, ["inspect", str(SAMPLES[name])])
    assert result.exit_code == 0, result.output
    assert f"Sheet:       {sheet}" in result.output
    assert f"Header row:  {header}" in result.output
    assert f"Sections:    {sections}" in result.output
    assert f"Actions:     {actions}" in result.output
    assert "Columns:" in result.output and "action" in result.output
    data = json.loads(CliRunner().invoke(cli, ["inspect", str(SAMPLES[name]), "--json"]).output)
    assert (data["sheet"], data["actions"], len(data["sections"])) == (sheet, actions, sections)


@pytest.mark.parametrize("cells", [{}, {(1, 1): None}, {(1, 1): "x"}, {(1, 2): "x"}, {(2, 1): None},
                                   {(1, 1): None, (1, 2): None}, {(3, 3): 5, (1, 1): None}])
def test_a_blank_sheet_is_told_without_scanning_its_cells(cells):
    """detect._blank says what max_row, max_column and A1 say of a sheet (and makes A1 as they do)."""
    from xl_plan.layout.detect import _blank

    def sheet():
        ws = openpyxl.Workbook().active
        for (r, c), v in cells.items():
            ws.cell(r, c).value = v
        return ws

    old = sheet()
    expected = (old.max_row or 0) <= 1 and (old.max_column or 0) <= 1 and old.cell(1, 1).value is None
    new = sheet()
    assert _blank(new) == expected
    assert set(new._cells) == set(old._cells)
