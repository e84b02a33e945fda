"""Leads: splitting every lead cell of the three sample plans, the Leads directory sheet
(read, email checks, rows added without touching the manager's) and `xl-plan leads`."""
from functools import lru_cache

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import SAMPLES
from workbook_compare import snapshot

from xl_plan import read_plan
from xl_plan.cli import cli
from xl_plan.directory import HEADERS, read_directory, valid_email
from xl_plan.jobs import leads_file
from xl_plan.leads import known_leads, split_leads

# Every distinct lead cell of the sample plans (two lead columns are joined with " / ") -> leads.
LEAD_CELLS = [
    # ---- birmingham
    ('birmingham', 'GT', ['GT']),
    ('birmingham', 'LH / JoR / GT / LJ', ['LH', 'JoR', 'GT', 'LJ']),
    ('birmingham', 'DM / GT / AxB', ['DM', 'GT', 'AxB']),
    ('birmingham', 'GT / LH / AxB', ['GT', 'LH', 'AxB']),
    ('birmingham', 'MW\nRB', ['MW', 'RB']),
    ('birmingham', 'MW', ['MW']),
    ('birmingham', 'GT / AxB', ['GT', 'AxB']),
    ('birmingham', 'LH / JoR', ['LH', 'JoR']),
    ('birmingham', '1. DM 2. DM/AxB', ['DM', 'AxB']),
    ('birmingham', 'DM', ['DM']),
    ('birmingham', 'VK / LJ / JoR', ['VK', 'LJ', 'JoR']),
    ('birmingham', 'VK / JoR', ['VK', 'JoR']),
    ('birmingham', 'LJ', ['LJ']),
    ('birmingham', 'DM / AM', ['DM', 'AM']),
    ('birmingham', 'Chair Corporate Parenting Board', ['Chair Corporate Parenting Board']),
    ('birmingham', 'LYH / AxB', ['LYH', 'AxB']),
    ('birmingham', 'AxB', ['AxB']),
    ('birmingham', 'AxB / LH / VK / DM', ['AxB', 'LH', 'VK', 'DM']),
    ('birmingham', 'GT / LJ', ['GT', 'LJ']),
    ('birmingham', 'DoP / AxB', ['DoP', 'AxB']),
    ('birmingham', 'LYH', ['LYH']),
    # ---- barking
    ('barking', 'Ann Graham / Teresa De Vito', ['Ann Graham', 'Teresa De Vito']),
    ('barking', 'Ann Graham / Beverley Hendricks', ['Ann Graham', 'Beverley Hendricks']),
    ('barking', 'Tony Kirk Kevin Jeffrey / Beverley Hendricks', ['Tony Kirk', 'Kevin Jeffrey', 'Beverley Hendricks']),
    ('barking', 'Ann Graham / Vikki Rix', ['Ann Graham', 'Vikki Rix']),
    ('barking', 'Ann Graham / Teresa De Vito Vikki Rix', ['Ann Graham', 'Teresa De Vito', 'Vikki Rix']),
    ('barking', 'Cllr John White / Helen Jenner', ['Cllr John White', 'Helen Jenner']),
    ('barking', 'Helen Jenner Sarah Baker / Teresa De Vito', ['Helen Jenner', 'Sarah Baker', 'Teresa De Vito']),
    ('barking', 'Ann Graham Meena Kishinani / Beverley Hendricks Teresa De Vito', ['Ann Graham', 'Meena Kishinani', 'Beverley Hendricks', 'Teresa De Vito']),
    ('barking', 'Meena Kishinani / Teresa De Vito', ['Meena Kishinani', 'Teresa De Vito']),
    ('barking', 'Meena Kishinani / Beverley Hendricks TMs in CN&SC', ['Meena Kishinani', 'Beverley Hendricks', 'TMs in CN&SC']),
    ('barking', 'Meena Kishinani / Dan Monahan', ['Meena Kishinani', 'Dan Monahan']),
    ('barking', 'Sarah Baker / Meena Kishinani', ['Sarah Baker', 'Meena Kishinani']),
    ('barking', 'Ann Graham GMs (CN&SC) / Team Managers (CN&SC)', ['Ann Graham', 'GMs (CN&SC)', 'Team Managers (CN&SC)']),
    ('barking', 'Helen Jenner / Beverley Hendricks TMs in CN&SC', ['Helen Jenner', 'Beverley Hendricks', 'TMs in CN&SC']),
    ('barking', 'Meena Kishinani / Lee Fisher Dan Monahan', ['Meena Kishinani', 'Lee Fisher', 'Dan Monahan']),
    ('barking', 'Ann Graham / Laura Clements Baljeet Nagra Beverley Hendricks', ['Ann Graham', 'Laura Clements', 'Baljeet Nagra', 'Beverley Hendricks']),
    ('barking', 'Ann Graham Meena Kishinani / Team Managers (CN&SC) IROs', ['Ann Graham', 'Meena Kishinani', 'Team Managers (CN&SC)', 'IROs']),
    ('barking', 'Meena Kishinani / Vikki Rix', ['Meena Kishinani', 'Vikki Rix']),
    ('barking', 'Ann Graham Meena Kishinani / Group Managers (CN&SC) Teresa De Vito', ['Ann Graham', 'Meena Kishinani', 'Group Managers (CN&SC)', 'Teresa De Vito']),
    ('barking', 'Ann Graham / Group Managers (CN&SC)', ['Ann Graham', 'Group Managers (CN&SC)']),
    ('barking', 'Ann Graham / Joanne Tarbutt', ['Ann Graham', 'Joanne Tarbutt']),
    ('barking', 'Meena Kishinani / Linnet Whittaker', ['Meena Kishinani', 'Linnet Whittaker']),
    ('barking', 'Ann Graham Jane Hargreaves / Erik Stein', ['Ann Graham', 'Jane Hargreaves', 'Erik Stein']),
    ('barking', 'Clir Channer / Joanne Tarbutt Helen Richardson', ['Clir Channer', 'Joanne Tarbutt', 'Helen Richardson']),
    ('barking', '1 / Joanne Tarbutt', ['Joanne Tarbutt']),
    ('barking', 'Graham Farrant / Karen Wheeler', ['Graham Farrant', 'Karen Wheeler']),
    ('barking', 'Helen Jenner / Ann Graham', ['Helen Jenner', 'Ann Graham']),
    ('barking', 'Helen Jenner Graham Farrant Cllr Bill Turner / Karen Wheeler', ['Helen Jenner', 'Graham Farrant', 'Cllr Bill Turner', 'Karen Wheeler']),
    ('barking', 'Helen Jenner Graham Farrant Cllr Bill Turner / Meena Kishinani Karen Wheeler', ['Helen Jenner', 'Graham Farrant', 'Cllr Bill Turner', 'Meena Kishinani', 'Karen Wheeler']),
    ('barking', 'Graham Farrant Cllr Bill Turner Helen Jenner / Ann Graham', ['Graham Farrant', 'Cllr Bill Turner', 'Helen Jenner', 'Ann Graham']),
    ('barking', 'Ann Graham / GMs (CN&SC)', ['Ann Graham', 'GMs (CN&SC)']),
    ('barking', 'Ann Graham Meena Kishinani / Teresa De Vito Team Managers (CN&SC)', ['Ann Graham', 'Meena Kishinani', 'Teresa De Vito', 'Team Managers (CN&SC)']),
    ('barking', 'Ann Graham / Cherrylyn Senior Linnet Whittaker', ['Ann Graham', 'Cherrylyn Senior', 'Linnet Whittaker']),
    ('barking', 'Ann Graham / GMs (CN&SC) HR', ['Ann Graham', 'GMs (CN&SC)', 'HR']),
    ('barking', 'Fiona Taylor / Fiona Jamieson', ['Fiona Taylor', 'Fiona Jamieson']),
    # ---- city
    ('city', 'RG / CP', ['RG', 'CP']),
    ('city', 'RG/JF / CP', ['RG', 'JF', 'CP']),
    ('city', 'JH / CP', ['JH', 'CP']),
    ('city', 'RG/PD / CP', ['RG', 'PD', 'CP']),
    ('city', 'PD / CP', ['PD', 'CP']),
    ('city', 'CP / CP', ['CP']),
    ('city', 'IA / CP', ['IA', 'CP']),
    ('city', '', []),
    ('city', 'SK / CP', ['SK', 'CP']),
    ('city', 'SK/RdP / CP', ['SK', 'RdP', 'CP']),
    ('city', 'RG/MP / CP', ['RG', 'MP', 'CP']),
    ('city', 'RdP / CP', ['RdP', 'CP']),
]


@lru_cache(maxsize=None)
def _plan(name):
    return read_plan(SAMPLES[name])


@pytest.mark.parametrize("sample_name,text,expected", LEAD_CELLS)
def test_lead_cell_splits(sample_name, text, expected):
    plan = _plan(sample_name)
    actions = [a for a in plan.actions if a.lead_text == text]
    assert actions, f"no action with lead cell {text!r}"
    assert all(a.leads == expected for a in actions)
    known = known_leads(a.lead_text for a in plan.actions)
    assert split_leads(text, known) == expected


@pytest.mark.parametrize("sample_name", sorted(SAMPLES))
def test_table_covers_every_lead_cell(sample_name):
    table = {text for name, text, _ in LEAD_CELLS if name == sample_name}
    assert {a.lead_text for a in _plan(sample_name).actions} == table


@pytest.mark.parametrize("text,expected", [
    ("A and B", ["A", "B"]),
    ("A, B and C", ["A", "B", "C"]),
    ("LH / JoR / GT", ["LH", "JoR", "GT"]),
    ("MW\nRB", ["MW", "RB"]),
    ("1. DM  2. DM/AxB", ["DM", "AxB"]),
    ("Head of Service Quality Assurance", ["Head of Service Quality Assurance"]),
    ("Chair Corporate Parenting Board", ["Chair Corporate Parenting Board"]),
    ("Tony Kirk Kevin Jeffrey", ["Tony Kirk", "Kevin Jeffrey"]),
])
def test_split_rules(text, expected):
    assert split_leads(text) == expected


def test_known_name_plus_more_is_split_but_titles_stay():
    known = ["GMs (CN&SC)", "GMs (CN&SC) HR", "Bill Turner", "Cllr Bill Turner"]
    known = sorted(known, key=len, reverse=True)
    assert split_leads("GMs (CN&SC) HR", known) == ["GMs (CN&SC)", "HR"]
    assert split_leads("Cllr Bill Turner", known) == ["Cllr Bill Turner"]


# ---------------------------------------------------------------- directory

def _with_leads(path, rows, extra_top=False):
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Leads")
    r = 1
    if extra_top:
        ws.cell(1, 1, "Our leads - keep up to date")
        r = 3
    for c, h in enumerate(["Email", "As written in plan", "Full name", "Deputy / cc", "Notes"], 1):
        ws.cell(r, c, h)
    for row in rows:
        r += 1
        for c, v in enumerate(row, 1):
            ws.cell(r, c, v)
    wb.save(path)
    return path


def test_valid_email():
    assert valid_email("gt@council.gov.uk") == "gt@council.gov.uk"
    assert valid_email("Gwen Thomas <gt@council.gov.uk>") == "gt@council.gov.uk"
    assert valid_email("mailto:gt@council.gov.uk") == "gt@council.gov.uk"
    for bad in ("gt", "gt@", "gt@council", "g t@council.gov.uk", "a@b.gov.uk; c@d.gov.uk", "gt@@x.org", "gt@x..org"):
        assert valid_email(bad) is None, bad


def test_read_directory_reports_bad_emails_by_row(sample):
    path = _with_leads(sample("birmingham"), [
        ("gt@council.gov.uk", "GT", "Gwen Thomas", "LH; deputy@council.gov.uk"),
        ("not an address", "LH", "Lee Hall", ""),
        ("", "AxB", "Alex Brown", "nobody"),
        ("lh2@council.gov.uk", "lh", "Lee Hall again", ""),
        ("jor@council.gov.uk", "JoR", "", ""),
    ], extra_top=True)
    d = read_directory(openpyxl.load_workbook(path))
    assert d.header_row == 3
    gt = d.get("gt ")
    assert (gt.full_name, gt.email, gt.row) == ("Gwen Thomas", "gt@council.gov.uk", 4)
    assert gt.cc == ["deputy@council.gov.uk"]          # LH has no valid email: reported, not used
    assert d.get("LH").email == ""
    by_code = {(f.code, f.row, f.column) for f in d.findings}
    assert ("leads-bad-email", 5, "A") in by_code
    assert ("leads-bad-cc", 6, "D") in by_code
    assert ("leads-bad-cc", 4, "D") in by_code
    assert ("leads-duplicate", 7, "B") in by_code
    bad = next(f for f in d.findings if f.code == "leads-bad-email")
    assert "row 5" in bad.message and "not an address" in bad.message


def test_leads_write_adds_rows_and_keeps_the_managers(sample):
    path = _with_leads(sample("birmingham"), [
        ("gt@council.gov.uk", "GT", "Gwen Thomas", ""),
        ("zz@council.gov.uk", "ZZ", "Someone not in the plan", ""),
        (None, None, None, None),
        ("", "LH", "Lee Hall", ""),
    ])
    before_wb = openpyxl.load_workbook(path)
    before_rows = [list(r) for r in before_wb["Leads"].iter_rows(values_only=True)]
    before = snapshot(path, skip_sheets=("Leads",))
    result = leads_file(path, write=True)
    assert result.saved and result.saved.backup.exists()
    plan_leads = [r.lead for r in result.rows]
    assert set(result.added) == set(plan_leads) - {"GT", "LH"}
    wb = openpyxl.load_workbook(path)
    rows = [list(r) for r in wb["Leads"].iter_rows(values_only=True)]
    assert rows[: len(before_rows)] == before_rows                  # the manager's rows untouched, in order
    assert [r[1] for r in rows[len(before_rows):]] == result.added  # new ones below, in column B
    assert snapshot(path, skip_sheets=("Leads",)) == before          # the rest of the workbook unchanged
    again = leads_file(path, write=True)
    assert again.added == [] and again.saved is None


def test_leads_write_creates_the_sheet(sample):
    path = sample("barking")
    before = snapshot(path)
    result = leads_file(path, write=True)
    assert snapshot(path, skip_sheets=("Leads",)) == before
    wb = openpyxl.load_workbook(path)
    ws = wb["Leads"]
    assert [c.value for c in ws[1]] == HEADERS
    assert [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)] == [r.lead for r in result.rows]
    assert read_plan(path).sheet == "LA Action Plan"


def test_leads_cli_lists_problems(sample):
    path = _with_leads(sample("city"), [("rg@city.gov.uk", "RG", "R G", ""), ("bad", "CP", "C P", "")])
    out = CliRunner().invoke(cli, ["leads", str(path)])
    assert out.exit_code == 0, out.output
    assert "RG" in out.output and "<rg@city.gov.uk>" in out.output
    assert "email address not valid" in out.output
    assert "NOT IN THE LEADS SHEET" in out.output
    assert "--write" in out.output
