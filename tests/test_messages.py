"""Plain messages: actions named by ref and a few words, no 'by as soon as you can', the plan called
by its title in emails, --drafts with no address at all writes nothing, template build into the
current folder, the demo's consolidate command works where the demo was run."""
import email
from datetime import datetime, timezone
from email.policy import default as default_policy

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from xl_plan.cli import cli
from xl_plan.jobs import make_returns_file, merge_returns, send_returns
from xl_plan.merge.summary import summary_lines
from xl_plan.model import Action
from xl_plan.returns.identity import read_identity

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def _action(ref, text):
    return Action(sheet="Plan", row=43, rows=[43], section=None, recommendation=None, ref=ref, text=text,
                  lead_text="GT", leads=["GT"], timescale_text="", update="", status=None)


def test_action_label_ref_and_a_few_words_row_only_without_ref():
    assert _action("1.2", "Audit case files").label() == "1.2 'Audit case files'"
    assert _action(None, "Audit case files across every team this year").label() == \
        "row 43 'Audit case files across every…'"


def _leads(master, rows):
    wb = openpyxl.load_workbook(master)
    ws = wb.create_sheet("Leads")
    ws.append(("As written in plan", "Full name", "Email", "Deputy / cc"))
    for r in rows:
        ws.append(r)
    wb.save(master)


def test_merge_names_a_status_change_by_ref_and_words(sample, tmp_path):
    master = sample("city")
    made = make_returns_file(master, "2026-11", tmp_path / "out", now=NOW, leads=["CP"])
    path = made.returns[0].path
    ident = read_identity(path)
    wb = openpyxl.load_workbook(path)
    ws = wb[ident.return_sheet]
    row = next(r for r in ident.rows if r.ref)
    ws[f"{ident.status_column}{row.return_row}"] = "Red" if (row.status_as_sent or "").lower() != "red" else "Green"
    wb.save(path)
    result = merge_returns(master, [path], now=NOW)
    [change] = result.status_changes
    a = next(x for x in result.plan.actions if x.key == change.key)
    line = next(ln for ln in summary_lines(result) if " to " in ln and ln.startswith("  "))
    assert line.startswith(f"  {a.ref} '{' '.join(a.text.split()[:2])}") and line.startswith(f"  {a.label()}: "), line


def test_a_return_without_deadline_says_as_soon_as_you_can(sample, tmp_path):
    master = sample("city")
    made = make_returns_file(master, "2026-11", tmp_path / "out", now=NOW, leads=["SK"])
    ws = openpyxl.load_workbook(made.returns[0].path).worksheets[0]
    texts = [c.value for row in ws.iter_rows(max_row=10) for c in row if isinstance(c.value, str)]
    assert "By when: please send it back as soon as you can." in texts
    assert not any("by as soon as you can" in t for t in texts)


def test_emails_call_the_plan_by_its_title(sample, tmp_path):
    master = sample("city")
    _leads(master, [("SK", "Sam King", "sk@council.gov.uk", "")])
    make_returns_file(master, "2026-11", tmp_path / "out", now=NOW, leads=["SK"])
    plan, result = send_returns(tmp_path / "out", drafts=tmp_path / "d", sender="Team <team@council.gov.uk>")
    msg = email.message_from_bytes(result.drafts[0].read_bytes(), policy=default_policy)
    assert "Improvements following from the OFSTED Report" in msg["Subject"]
    assert "city_of_london" not in msg["Subject"]


def test_drafts_with_no_address_at_all_write_nothing_and_exit_1(sample, tmp_path):
    master = sample("city")
    _leads(master, [("SK", "Sam King", "", "")])
    make_returns_file(master, "2026-11", tmp_path / "out", now=NOW, leads=["SK"])
    out = CliRunner().invoke(cli, ["returns", "send", str(tmp_path / "out"), "--drafts", str(tmp_path / "d"),
                                   "--from", "Team <team@council.gov.uk>"])
    assert out.exit_code == 1, out.output
    assert "No lead has an email address, so nothing was written." in out.output
    assert not (tmp_path / "d").exists()


def test_template_build_writes_into_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(cli, ["template", "build"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "workbook_template.xlsm").exists()


@pytest.mark.slow
def test_demo_prints_a_consolidate_command_that_works_where_it_ran(tmp_path, monkeypatch):
    import shlex

    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(cli, ["demo", "here", "--today", "2026-11-20"])
    assert out.exit_code == 0, out.output
    line = next(ln for ln in out.output.splitlines() if "xl-plan consolidate" in ln)
    args = shlex.split(line.split("xl-plan ", 1)[1])
    again = CliRunner().invoke(cli, args + ["--today", "2026-11-20"])
    assert again.exit_code in (0, 1), again.output
    assert "Saved" in again.output


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", " ", "  ", "\n", "\t", "x" * 30]), max_size=80).map("".join),
       st.integers(1, 90), st.integers(1, 8))
def test_an_action_is_named_by_its_words_as_all_its_words_say(text, width, words):
    """Action.short_text and label split off only the first words of a long text: what they say is what
    the whole text, split into words, says."""
    a = Action.__new__(Action)
    a.text, a.ref, a.row = text, None, 7
    whole = " ".join(text.split())
    assert a.short_text(width) == (whole if len(whole) <= width else whole[: width - 1] + "…")
    parts = text.split()
    few = " ".join(parts[:words]) + ("…" if len(parts) > words else "")
    assert a.label(words) == (f"row 7 '{few}'" if few else "row 7")
