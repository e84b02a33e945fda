"""The month's record in the master's hidden Returns log (made, sent, returned, merged, reminded),
sending once through a real SMTP server on 127.0.0.1, and the chase list across merge runs."""
import email
import re
from datetime import date, datetime, timezone
from email.policy import default as default_policy

import openpyxl
import pytest
from click.testing import CliRunner

from tests.smtp_server import smtp_server
from xl_plan.cli import cli
from xl_plan.jobs import make_returns_file, merge_returns, returns_status_file, send_returns
from xl_plan.owned import RETURNS_LOG
from xl_plan.returns.identity import read_identity
from xl_plan.returns.log import OLD_HEADER, month_record, read_returns_log

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
DEADLINE = date(2026, 12, 5)
TODAY = date(2026, 11, 21)


@pytest.fixture
def smtp():
    with smtp_server() as handler:
        yield handler


def _leads(master, rows, smtp_port=None):
    wb = openpyxl.load_workbook(master)
    ws = wb.create_sheet("Leads")
    ws.append(("As written in plan", "Full name", "Email", "Deputy / cc"))
    for r in rows:
        ws.append(r)
    s = wb.create_sheet("xl_plan")
    for row in [("smtp_host", "127.0.0.1"), ("smtp_port", str(smtp_port or 25)), ("smtp_starttls", "no"),
                ("from_address", "Improvement Team <improvement@council.gov.uk>")]:
        s.append(row)
    s.sheet_state = "hidden"
    wb.save(master)


def _events(master, event=None):
    log = read_returns_log(openpyxl.load_workbook(master))
    return [e for e in log if event is None or e["event"] == event]


def _send(folder, **kw):
    return send_returns(folder, smtp=True, today=TODAY, **kw)


def _to(env):
    return sorted(env["to"])


def test_send_once_retry_resend_and_refused(sample, tmp_path, smtp):
    master = sample("birmingham")
    _leads(master, [("GT", "Gwen Thomas", "gt@council.gov.uk", ""), ("LH", "Lee Hall", "lh@council.gov.uk", ""),
                    ("AxB", "Alex Brown", "axb@council.gov.uk", ""), ("DM", "Dee Moss", "", "")], smtp.port)
    out = tmp_path / "sent"
    make_returns_file(master, "2026-11", out, deadline=DEADLINE, now=NOW, leads=["GT", "LH", "AxB", "DM"])
    assert {e["lead"] for e in _events(master, "made")} == {"GT", "LH", "AxB", "DM"}

    # 1. AxB's address is refused; DM has none
    smtp.refuse = {"axb@council.gov.uk"}
    plan, result = _send(out)
    assert sorted(result.sent) == ["GT", "LH"] and [x for x, _ in result.failed] == ["AxB"]
    assert result.skipped_no_email == ["DM"]
    assert sorted(x for env in smtp.envelopes for x in env["to"]) == ["gt@council.gov.uk", "lh@council.gov.uk"]
    sent = {e["lead"]: e for e in _events(master, "sent")}
    assert {k: e["outcome"] for k, e in sent.items()} == {"GT": "sent", "LH": "sent", "AxB": "failed", "DM": "no-address"}
    ids = {env["msg"]["Message-ID"] for env in smtp.envelopes}
    assert {sent["GT"]["message_id"], sent["LH"]["message_id"]} == ids
    assert sent["GT"]["to"] == "gt@council.gov.uk" and sent["GT"]["how"] == "smtp"
    assert "550" in sent["AxB"]["details"]
    assert sent["GT"]["return_id"] == read_identity(out / sent["GT"]["file"]).return_id

    # 2. retry the failed one only
    smtp.refuse = set()
    plan, result = _send(out, retry_failed=True)
    assert result.sent == ["AxB"] and len(smtp.envelopes) == 3
    assert {x for x, _ in result.skipped} >= {"GT", "LH"}

    # 3. a second plain run sends nothing: everyone with an address was sent theirs
    plan, result = _send(out)
    assert result.sent == [] and len(smtp.envelopes) == 3
    assert sorted(x for x, _ in plan.already_sent) == ["AxB", "GT", "LH"]

    # the CLI says so, and the lead without an address makes the exit code 1
    cli_out = CliRunner().invoke(cli, ["returns", "send", str(out), "--smtp", "--no-starttls", "--today", "2026-11-21"])
    assert cli_out.exit_code == 1, cli_out.output
    assert "already sent their 2026-11 return" in cli_out.output and "--resend" in cli_out.output
    assert "DM" in cli_out.output and len(smtp.envelopes) == 3

    # 4. dry run: nothing sent, nothing recorded
    before = len(_events(master))
    plan, result = _send(out, resend=True, dry_run=True)
    assert sorted(result.would_send) == ["AxB", "GT", "LH"] and len(smtp.envelopes) == 3
    assert len(_events(master)) == before

    # 5. --resend says whom it emails again, and does
    cli_out = CliRunner().invoke(cli, ["returns", "send", str(out), "--smtp", "--resend", "--today", "2026-11-21"])
    assert "Sending again (--resend) to 3 lead(s)" in cli_out.output, cli_out.output
    assert len(smtp.envelopes) == 6
    record = month_record(_events(master), "2026-11")
    assert len(record["gt"].emailed) == 2 and len(record["axb"].sent) == 3


def test_reminders_go_once_retry_failed_and_resend(sample, tmp_path, smtp):
    master = sample("birmingham")
    _leads(master, [("GT", "Gwen Thomas", "gt@council.gov.uk", ""), ("LH", "Lee Hall", "lh@council.gov.uk", ""),
                    ("AxB", "Alex Brown", "axb@council.gov.uk", "")], smtp.port)
    out, back = tmp_path / "sent", tmp_path / "back"
    back.mkdir()                                      # nothing came back: every lead is reminded
    make_returns_file(master, "2026-11", out, deadline=DEADLINE, now=NOW, leads=["GT", "LH", "AxB"])
    _send(out)
    assert len(smtp.envelopes) == 3
    remind = dict(reminders=True, returned=back)

    def reminders_to():
        return sorted(x for env in smtp.envelopes[3:] for x in env["to"])

    # 1. AxB's address is refused: the others are reminded, each once
    smtp.refuse = {"axb@council.gov.uk"}
    plan, result = _send(out, **remind)
    assert sorted(result.sent) == ["GT", "LH"] and [x for x, _ in result.failed] == ["AxB"]
    assert reminders_to() == ["gt@council.gov.uk", "lh@council.gov.uk"]
    assert all(env["msg"]["Subject"].startswith("Reminder: ") for env in smtp.envelopes[3:])
    reminded = {e["lead"]: e["outcome"] for e in _events(master, "reminded")}
    assert reminded == {"GT": "sent", "LH": "sent", "AxB": "failed"}

    # 2. --retry-failed reminds only the one whose reminder failed
    smtp.refuse = set()
    plan, result = _send(out, retry_failed=True, **remind)
    assert result.sent == ["AxB"] and {x for x, _ in result.skipped} == {"GT", "LH"}
    assert reminders_to() == ["axb@council.gov.uk", "gt@council.gov.uk", "lh@council.gov.uk"]

    # 3. reminding again reminds nobody, and says who was reminded when
    plan, result = _send(out, **remind)
    assert result.sent == [] and len(smtp.envelopes) == 6
    assert sorted(x for x, _ in plan.already_sent) == ["AxB", "GT", "LH"]
    args = ["returns", "send", str(out), "--smtp", "--reminders", "--returned", str(back), "--today", "2026-11-21"]
    cli_out = CliRunner().invoke(cli, args)
    assert cli_out.exit_code == 0, cli_out.output
    assert "3 lead(s) already reminded about their 2026-11 return, not reminded again" in cli_out.output
    assert re.search(r"GT: already reminded on \d{4}-\d\d-\d\d at \d\d:\d\d \(by email to gt@council.gov.uk\); "
                     r"use --resend to remind again", cli_out.output), cli_out.output
    assert len(smtp.envelopes) == 6

    # 4. a dry run sends and records nothing
    before = len(_events(master))
    plan, result = _send(out, resend=True, dry_run=True, **remind)
    assert sorted(result.would_send) == ["AxB", "GT", "LH"] and len(smtp.envelopes) == 6
    assert len(_events(master)) == before

    # 5. --resend reminds again, and says whom
    cli_out = CliRunner().invoke(cli, args + ["--resend"])
    assert cli_out.exit_code == 0, cli_out.output
    assert "Reminding again (--resend) 3 lead(s) already reminded this month:" in cli_out.output
    assert "  - GT (reminded on " in cli_out.output
    assert len(smtp.envelopes) == 9 and reminders_to().count("gt@council.gov.uk") == 2

    # the reminders are their own: the returns themselves still count as sent once
    record = month_record(_events(master), "2026-11")
    assert len(record["gt"].went_out("reminded")) == 2 and len(record["gt"].delivered) == 1
    assert len(record["axb"].tries("reminded")) == 3
    plan, result = _send(out)
    assert result.sent == [] and sorted(x for x, _ in plan.already_sent) == ["AxB", "GT", "LH"]


def test_old_log_is_read_as_made_rows(sample, tmp_path):
    master = sample("city")
    make_returns_file(master, "2026-11", tmp_path / "out", now=NOW, leads=["SK"])
    wb = openpyxl.load_workbook(master)
    ws = wb[RETURNS_LOG.name]
    ws.delete_cols(len(OLD_HEADER) + 1, 20)              # the log as xl_plan wrote it before events
    wb.save(master)
    log = read_returns_log(openpyxl.load_workbook(master))
    assert [(e["event"], e["lead"]) for e in log] == [("made", "SK")] and log[0]["when"] == log[0]["created"]
    make_returns_file(master, "2026-11", tmp_path / "out2", now=NOW, leads=["JF"])
    assert [(e["event"], e["lead"]) for e in _events(master)] == [("made", "SK"), ("made", "JF")]


def _filled(path, dest, text):
    ident = read_identity(path)
    wb = openpyxl.load_workbook(path)
    wb[ident.return_sheet][f"{ident.update_column}{ident.rows[0].return_row}"] = text
    wb.save(dest)
    return dest


def test_chase_list_across_merge_runs(sample, tmp_path):
    master = sample("city")
    made = make_returns_file(master, "2026-11", tmp_path / "out", deadline=DEADLINE, now=NOW, leads=["SK", "JF", "PD"])
    files = {f.lead: f.path for f in made.returns}
    back = tmp_path / "back"
    back.mkdir()
    first = merge_returns(master, [_filled(files["SK"], back / "SK.xlsx", "SK's news.")], now=NOW)
    assert first.missing == ["JF", "PD"]
    second = merge_returns(master, [_filled(files["JF"], back / "JF.xlsx", "JF's news.")], now=NOW)
    assert second.missing == ["PD"] and second.merged_before == ["SK"]
    again = merge_returns(master, [back / "JF.xlsx"], now=NOW)        # the same return again: nothing new
    assert again.saved is None and again.missing == ["PD"]
    assert [(e["event"], e["lead"]) for e in _events(master) if e["event"] != "made"] == \
        [("returned", "SK"), ("merged", "SK"), ("returned", "JF"), ("merged", "JF")]
    merged = [e for e in _events(master, "merged")]
    assert merged[0]["details"].startswith("1 update(s)")

    s = returns_status_file(master, today=TODAY)
    assert {x.lead: x.state for x in s.leads} == {"SK": "merged", "JF": "merged", "PD": "missing"}
    out = CliRunner().invoke(cli, ["returns", "status", str(master), "--today", "2026-11-21"])
    assert out.exit_code == 0, out.output
    lines = {ln.split()[0]: ln for ln in out.output.splitlines() if ln.startswith("  ")}
    assert "merged" in lines["SK"] and "merged" in lines["JF"] and "missing" in lines["PD"]
    # from the folder the returns were made into too (its master's record)
    s = returns_status_file(tmp_path / "out", today=TODAY)
    assert {x.lead: x.state for x in s.leads} == {"SK": "merged", "JF": "merged", "PD": "missing"}


def test_status_says_made_not_sent(sample, tmp_path, smtp):
    master = sample("birmingham")
    _leads(master, [("GT", "Gwen Thomas", "gt@council.gov.uk", ""), ("LH", "Lee Hall", "", "")], smtp.port)
    out = tmp_path / "sent"
    make_returns_file(master, "2026-11", out, deadline=DEADLINE, now=NOW, leads=["GT", "LH"])
    _send(out)
    s = returns_status_file(master, today=TODAY)
    assert {x.lead: x.state for x in s.leads} == {"GT": "missing", "LH": "made"}
    env = smtp.envelopes[0]
    assert email.message_from_bytes(env["raw"], policy=default_policy)["To"].addresses[0].username == "gt"


def test_events_kept_as_records_read_back_before_and_after_the_save(sample):
    """A job keeps the log's rows as cell records (written straight into the package); adding events
    twice in one run keeps every one, and the saved file holds them as ordinary cells."""
    from xl_plan.plan_file import edit_plan
    from xl_plan.returns.log import add_events

    master = sample("city")
    edit = edit_plan(master)
    add_events(edit.wb, [{"month": "2026-11", "lead": "SK", "file": "a.xlsx"}], records=True)
    add_events(edit.wb, [{"month": "2026-11", "lead": "JF", "file": "=b.xlsx"}], records=True)
    in_memory = [(e["event"], e["lead"], e["file"]) for e in read_returns_log(edit.wb)]
    assert in_memory == [("made", "SK", "a.xlsx"), ("made", "JF", "=b.xlsx")]
    edit.save()
    wb = openpyxl.load_workbook(master)
    assert [(e["event"], e["lead"], e["file"]) for e in read_returns_log(wb)] == in_memory
    ws = wb[RETURNS_LOG.name]
    assert ws["C4"].data_type == "s" and ws.sheet_state == RETURNS_LOG.state   # text, never a formula
