"""Chasing returns (`returns status`) and sending them (`returns send`: drafts, SMTP dry run,
reminders to the leads still missing)."""
import email
import os
import shutil
from datetime import date, datetime, timezone

import openpyxl
import pytest
from click.testing import CliRunner

from xl_plan.cli import cli
from xl_plan.errors import XlPlanError
from xl_plan.jobs import make_returns_file, returns_status_file, send_returns
from xl_plan.returns.identity import read_identity

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
DEADLINE = date(2026, 12, 5)


def _touch(path, day: date):
    ts = datetime(day.year, day.month, day.day, 12, 0).timestamp()
    os.utime(path, (ts, ts))


@pytest.fixture
def cycle(sample, tmp_path):
    """Birmingham's November returns: GT back on time (filled in, renamed), LH back late (twice),
    the rest missing; plus a stray workbook and an October return in the returned folder."""
    master = sample("birmingham")
    wb = openpyxl.load_workbook(master)
    ws = wb.create_sheet("Leads")
    for row in [("As written in plan", "Full name", "Email", "Deputy / cc"),
                ("GT", "Gwen Thomas", "gt@council.gov.uk", "deputy@council.gov.uk"),
                ("LH", "Lee Hall", "lh@council.gov.uk", ""),
                ("AxB", "Alex Brown", "axb@council.gov.uk", "GT"),
                ("DM", "Dee Moss", "", "")]:
        ws.append(row)
    s = wb.create_sheet("xl_plan")
    for row in [("smtp_host", "mail.council.gov.uk"), ("smtp_port", "587"), ("smtp_user", "improvement"),
                ("from_address", "Improvement Team <improvement@council.gov.uk>")]:
        s.append(row)
    s.sheet_state = "hidden"
    wb.save(master)
    sent = tmp_path / "sent"
    made = make_returns_file(master, "2026-11", sent, deadline=DEADLINE, now=NOW)
    files = {f.lead: f.path for f in made.returns}
    back = tmp_path / "back"
    (back / "inbox").mkdir(parents=True)
    gt = back / "GT return final.xlsx"
    rwb = openpyxl.load_workbook(files["GT"])
    ident = read_identity(files["GT"])
    rws = rwb[ident.return_sheet]
    rws[f"{ident.update_column}{ident.rows[0].return_row}"] = "Done this month."
    rwb.save(gt)
    _touch(gt, date(2026, 12, 1))
    lh1, lh2 = back / "LH.xlsx", back / "inbox" / "LH (2).xlsx"
    shutil.copyfile(files["LH"], lh1)
    shutil.copyfile(files["LH"], lh2)
    _touch(lh1, date(2026, 12, 8))
    _touch(lh2, date(2026, 12, 9))
    shutil.copyfile(master, back / "something else.xlsx")
    october = make_returns_file(master, "2026-10", tmp_path / "oct", now=NOW, leads=["VK"])
    shutil.copyfile(october.returns[0].path, back / "VK october.xlsx")
    return master, sent, back, made


def test_status_from_folder_and_master(cycle):
    master, sent, back, made = cycle
    for source in (sent, master):
        s = returns_status_file(source, returned=back, today=date(2026, 12, 10))
        states = {x.lead: x.state for x in s.leads}
        assert s.month == "2026-11" and s.deadline == DEADLINE
        assert states["GT"] == "returned" and states["LH"] == "late"
        assert {k for k, v in states.items() if v == "overdue"} == {f.lead for f in made.returns} - {"GT", "LH"}
        by = {x.lead: x for x in s.leads}
        assert by["GT"].latest.filled == 1 and by["GT"].latest.path.name == "GT return final.xlsx"
        assert len(by["LH"].returned) == 2 and by["LH"].latest.path.name == "LH (2).xlsx"
        why = {p.name: w for p, w in s.ignored}
        assert "not a return made by xl_plan" in why["something else.xlsx"]
        assert "2026-10" in why["VK october.xlsx"]
    early = returns_status_file(sent, returned=back, today=date(2026, 12, 1))
    assert {x.lead: x.state for x in early.leads}["DM"] == "missing"
    with pytest.raises(XlPlanError, match="folder the returns were made into"):
        returns_status_file(sent, returned=sent, today=date(2026, 12, 1))


def test_a_return_that_came_back_in_a_saved_email_counts_as_returned(cycle):
    """The same collector as consolidate: an .eml in a sub-folder carrying DM's return is DM's return,
    dated by the email; it is not missing and gets no reminder."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    master, sent, back, made = cycle
    dm = {f.lead: f.path for f in made.returns}["DM"]
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Dee Moss <dm@council.gov.uk>", "team@council.gov.uk", "Return"
    msg["Date"] = format_datetime(datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc))
    msg.set_content("Attached.")
    msg.add_attachment(dm.read_bytes(), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=dm.name)
    (back / "inbox" / "Re return.eml").write_bytes(bytes(msg))
    s = returns_status_file(master, returned=back, today=date(2026, 12, 10))
    by = {x.lead: x for x in s.leads}
    assert by["DM"].state == "returned"
    assert by["DM"].latest.path.name == "Re return.eml" and "(in email Re return.eml)" in by["DM"].latest.name
    assert by["DM"].latest.saved_at.date() == date(2026, 12, 2)
    assert "DM" not in {x.lead for x in s.missing}


def test_status_cli(cycle):
    master, sent, back, made = cycle
    out = CliRunner().invoke(cli, ["returns", "status", str(master), "--returned", str(back), "--today", "2026-12-10"])
    assert out.exit_code == 0, out.output
    assert "Returns for 2026-11 of birmingham_2023_plan.xlsx, due 05/12/2026" in out.output
    assert "returned LATE" in out.output and "MISSING, past the deadline" in out.output
    assert "not counted: something else.xlsx" in out.output


def test_send_drafts_lists_leads_without_email(cycle, tmp_path):
    master, sent, back, made = cycle
    plan, result = send_returns(sent, drafts=tmp_path / "drafts", today=date(2026, 11, 21))
    with_email = {"GT", "LH", "AxB"}
    assert {p.name.split(" - ", 1)[1].split(" (")[0] for p in result.drafts} == {"Gwen Thomas", "Lee Hall", "Alex Brown"}
    assert set(result.skipped_no_email) == {f.lead for f in made.returns} - with_email
    assert plan.no_email == ["DM"]
    assert set(plan.no_entry) == {f.lead for f in made.returns} - with_email - {"DM"}
    msg = email.message_from_bytes(next(p for p in result.drafts if "Alex Brown" in p.name).read_bytes())
    assert msg["To"].endswith("<axb@council.gov.uk>") and "gt@council.gov.uk" in msg["Cc"]
    assert "improvement@council.gov.uk" in msg["From"]
    names = [part.get_filename() for part in msg.walk() if part.get_filename()]
    assert names == ["2026-11 return - AxB - birmingham_2023_plan.xlsx"]


def test_send_reminders_only_to_missing(cycle, tmp_path):
    master, sent, back, made = cycle
    plan, result = send_returns(sent, drafts=tmp_path / "rem", reminders=True, returned=back, today=date(2026, 12, 10))
    assert {o.lead for o in plan.outgoing} == {f.lead for f in made.returns} - {"GT", "LH"}
    assert [p.name for p in result.drafts] == ["2026-11 reminder - Alex Brown (AxB).eml"]
    with pytest.raises(XlPlanError, match="--returned"):
        send_returns(sent, drafts=tmp_path / "rem", reminders=True, today=date(2026, 12, 10))


def test_send_smtp_dry_run_uses_master_settings(cycle, monkeypatch):
    master, sent, back, made = cycle
    monkeypatch.setenv("XL_PLAN_SMTP_PASSWORD", "secret")
    plan, result = send_returns(sent, smtp=True, dry_run=True, today=date(2026, 11, 21))
    assert result.dry_run and set(result.would_send) == {"GT", "LH", "AxB"}
    assert plan.smtp["smtp_host"] == "mail.council.gov.uk"
    assert not (sent / "send log.csv").exists()


def test_send_needs_a_way(cycle):
    master, sent, back, made = cycle
    with pytest.raises(XlPlanError, match="--drafts"):
        send_returns(sent, today=date(2026, 11, 21))
    out = CliRunner().invoke(cli, ["returns", "send", str(sent)])
    assert out.exit_code == 2 and "--drafts" in out.output


def test_send_cli_drafts(cycle, tmp_path):
    master, sent, back, made = cycle
    out = CliRunner().invoke(cli, ["returns", "send", str(sent), "--drafts", str(tmp_path / "d")])
    assert out.exit_code == 1, out.output           # leads without an address need you
    assert "3 draft emails written" in out.output
    assert "with no email address" in out.output and "DM" in out.output
    assert "not in the 'Leads' sheet" in out.output


@pytest.mark.slow
def test_demo_makes_returns_and_drafts(tmp_path):
    from xl_plan.demo import run_demo

    lines = []
    run_demo(tmp_path / "demo", today=date(2026, 11, 20), echo=lines.append)
    returns = sorted((tmp_path / "demo" / "returns").glob("*.xlsx"))
    drafts = sorted((tmp_path / "demo" / "emails").glob("*.eml"))
    assert len(returns) == 13 and len(drafts) == 13
    assert all(read_identity(p).month == "2026-11" for p in returns)
    assert any("Made 13 returns for 2026-11" in line for line in lines)
