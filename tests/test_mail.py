"""Tests for xl_plan.returns.mail: real .xlsx files, a real SMTP server (aiosmtpd) on
127.0.0.1, real .eml files. No mocks."""

from __future__ import annotations

import csv
import email
import socket
from datetime import date
from email.policy import default as default_policy
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.smtp_server import Store, free_port, smtp_server
from xl_plan.months import deadline_words as deadline_text
from xl_plan.returns.mail import (
    LOG_FIELDS,
    MailError,
    Outgoing,
    SmtpSettings,
    check_template,
    default_template,
    draft_filename,
    month_name,
    read_send_log,
    render_message,
    send_smtp,
    write_drafts,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSM = "application/vnd.ms-excel.sheet.macroenabled.12"  # get_content_type() lowercases
SENDER = "Improvement Team <improvement@council.gov.uk>"


# --------------------------------------------------------------------------- helpers

def make_return(path: Path, lead: str, rows: int = 2) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Return"
    ws.append(["Ref", "Action", "Lead", "Update", "RAG"])
    for i in range(rows):
        ws.append([f"1.{i + 1}", f"Action {i + 1} for {lead}", lead, "", ""])
    wb.save(path)
    return path


def outgoing(tmp_path: Path, lead: str, full_name: str, addr: str | None, cc=(),
             deadline=date(2026, 12, 4), count=2, ext=".xlsx", month="2026-11") -> Outgoing:
    safe = "".join(c if c.isalnum() else "_" for c in lead)
    f = make_return(tmp_path / f"{month} return {safe}{ext}", lead, count)
    return Outgoing(lead=lead, full_name=full_name, email=addr, cc=tuple(cc), attachment=f,
                    month=month, deadline=deadline, action_count=count,
                    plan_name="Children's Services Improvement Plan")


@pytest.fixture
def server():
    with smtp_server() as handler:
        handler.settings = SmtpSettings(host="127.0.0.1", port=handler.port, starttls=False, timeout=5)
        yield handler


@pytest.fixture
def auth_server():
    handler = Store()
    port = free_port()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"team" and auth_data.password == b"s3cret pass"
        return AuthResult(success=ok, handled=False)  # handled=False: server replies 535

    ctl = Controller(handler, hostname="127.0.0.1", port=port,
                     authenticator=authenticator, auth_require_tls=False)
    ctl.start()
    handler.settings = SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout=5,
                                    user="team", password_env="XL_PLAN_TEST_SMTP_PW")
    try:
        yield handler
    finally:
        ctl.stop()


def attachment_of(msg):
    atts = list(msg.iter_attachments())
    assert len(atts) == 1
    return atts[0]


def log_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------- formatting

def test_month_and_deadline_text():
    assert month_name("2026-11") == "November 2026"
    assert month_name("2027-1") == "January 2027"
    assert deadline_text(date(2026, 12, 4)) == "Friday 4 December 2026"
    assert deadline_text(None) == "as soon as you can"
    with pytest.raises(MailError, match="YYYY-MM"):
        month_name("Nov 2026")


# --------------------------------------------------------------------------- rendering

def test_render_message_subject_body_attachment(tmp_path):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gwen.thomas@council.gov.uk",
                   cc=["deputy@council.gov.uk"], count=3)
    msg = render_message(out, SENDER)
    assert msg["Subject"] == ("Children's Services Improvement Plan: your November 2026 "
                              "update (deadline: Friday 4 December 2026)")
    assert str(msg["To"]) == "Gwen Thomas <gwen.thomas@council.gov.uk>"
    assert str(msg["Cc"]) == "deputy@council.gov.uk"
    assert str(msg["From"]) == SENDER
    body = msg.get_body(("plain",)).get_content()
    assert "Dear Gwen Thomas," in body
    assert "your 3 actions" in body
    assert "Deadline: Friday 4 December 2026." in body
    assert "$" not in body
    att = attachment_of(msg)
    assert att.get_content_type() == XLSX
    assert att.get_filename() == out.attachment.name
    assert att.get_content() == out.attachment.read_bytes()


def test_xlsm_mime_type_and_no_deadline(tmp_path):
    out = outgoing(tmp_path, "AxB", "Ann Brown", "ann@council.gov.uk", ext=".xlsm",
                   deadline=None, count=1)
    msg = render_message(out, "improvement@council.gov.uk")
    att = attachment_of(msg)
    assert att.get_content_type() == XLSM
    assert b"Content-Type: application/vnd.ms-excel.sheet.macroEnabled.12" in msg.as_bytes()
    assert att.get_content() == out.attachment.read_bytes()
    assert "(deadline: as soon as you can)" in msg["Subject"]
    body = msg.get_body(("plain",)).get_content()
    assert "your 1 action from" in body
    assert "Thank you,\nimprovement@council.gov.uk" in body


def test_default_reminder_section(tmp_path):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    msg = render_message(out, SENDER, reminder=True)
    assert msg["Subject"].startswith("Reminder: ")
    body = msg.get_body(("plain",)).get_content()
    assert "I have not yet received your return" in body
    assert attachment_of(msg).get_content() == out.attachment.read_bytes()
    check_template(None)
    assert "=== Reminder ===" in default_template()


def test_manager_template_text_and_file(tmp_path):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk", count=5)
    tpl = ("# my notes\nSubject: $month_name return for $lead\n\nHello $name,\n"
           "$action_count items, cost $$0, file ${attachment}.\n")
    msg = render_message(out, SENDER, template=tpl)
    assert msg["Subject"] == "November 2026 return for GT"
    body = msg.get_body(("plain",)).get_content()
    assert body.startswith("Hello Gwen Thomas,\n5 items, cost $0, file 2026-11 return GT.xlsx.")
    # no reminder part: the first email is reused with "Reminder: " before the subject
    assert render_message(out, SENDER, template=tpl, reminder=True)["Subject"] == \
        "Reminder: November 2026 return for GT"
    # a template file (Path), with Windows line endings and a reminder part
    f = tmp_path / "tpl.txt"
    f.write_bytes("Subject: First $lead\r\n\r\nBody one\r\n\r\n== REMINDER ==\r\n"
                  "Subject: Chase $lead\r\n\r\nBody two\r\n".encode("utf-8"))
    assert render_message(out, SENDER, template=f)["Subject"] == "First GT"
    rem = render_message(out, SENDER, template=f, reminder=True)
    assert rem["Subject"] == "Chase GT"
    assert rem.get_body(("plain",)).get_content().strip() == "Body two"


def test_unknown_placeholder_is_named(tmp_path):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    tpl = "Subject: Return for $full_name\n\nDear $ful_name, by $due_date\n"
    with pytest.raises(MailError) as e:
        render_message(out, SENDER, template=tpl)
    text = str(e.value)
    assert "$ful_name" in text and "did you mean $full_name?" in text
    assert "$due_date" in text
    assert "$deadline" in text  # the list of usable placeholders
    with pytest.raises(MailError, match=r"\$bogus"):
        check_template("Subject: x\n\nbody\n=== Reminder ===\nSubject: $bogus\n\nbody\n")


@pytest.mark.parametrize("tpl, words", [
    ("Dear $full_name\n", "must start with a line 'Subject: ...'"),
    ("Subject: \n\nbody\n", "Subject line of the first email is empty"),
    ("Subject: costs $5\n\nbody\n", "type $$"),
    ("Subject: x\n\n", "no text"),
])
def test_bad_templates_say_what_to_fix(tmp_path, tpl, words):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    with pytest.raises(MailError) as e:
        render_message(out, SENDER, template=tpl)
    assert words in str(e.value)


def test_missing_template_file(tmp_path):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    with pytest.raises(MailError, match="was not found"):
        render_message(out, SENDER, template=tmp_path / "nope.txt")


def test_header_injection_is_neutralised(tmp_path):
    evil = "Evil\r\nBcc: x@y.com"
    out = outgoing(tmp_path, "GT", evil, "gt@council.gov.uk")
    out = Outgoing(**{**out.__dict__, "plan_name": "Plan\nBcc: z@y.com"})
    msg = render_message(out, "Team\r\nBcc: w@y.com <improvement@council.gov.uk>")
    raw = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    back = email.message_from_bytes(raw, policy=default_policy)
    assert back["Bcc"] is None
    assert b"\r\nBcc:" not in raw and b"\nBcc:" not in raw
    (to,) = back["To"].addresses
    assert to.addr_spec == "gt@council.gov.uk"
    assert to.display_name == "Evil Bcc: x@y.com"
    assert back["From"].addresses[0].addr_spec == "improvement@council.gov.uk"
    assert "\n" not in back["Subject"] and "Plan Bcc: z@y.com" in back["Subject"]
    # an address with a line break or two addresses in one cell is refused, not sent
    for bad in ("gt@council.gov.uk\r\nBcc: x@y.com", "a@b.com, c@d.com", "gwen thomas"):
        with pytest.raises(MailError, match="not a valid address"):
            render_message(Outgoing(**{**out.__dict__, "email": bad}), SENDER)


def test_accented_and_comma_names_round_trip(tmp_path):
    name = "Llŷr-Jones, Siân Élodie"
    out = outgoing(tmp_path, "SLJ", name, "sian@council.gov.uk")
    msg = render_message(out, "Tîm Gwella <improvement@council.gov.uk>")
    raw = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # headers are pure ASCII on the wire
    assert b"=?utf-8?" in head  # RFC 2047 encoded words
    back = email.message_from_bytes(raw, policy=default_policy)
    (to,) = back["To"].addresses
    assert (to.display_name, to.addr_spec) == (name, "sian@council.gov.uk")
    assert back["From"].addresses[0].display_name == "Tîm Gwella"
    assert "Dear Llŷr-Jones, Siân Élodie," in back.get_body(("plain",)).get_content()


# --------------------------------------------------------------------------- drafts

def test_write_drafts(tmp_path):
    outs = [
        outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk", cc=["dep@council.gov.uk"]),
        outgoing(tmp_path, "AxB", "Ann Brown", "ann@council.gov.uk", ext=".xlsm"),
        outgoing(tmp_path, "JoR", "Jo Reed", None),
        outgoing(tmp_path, "LH", "Lee Hart", "  "),
    ]
    seen = []
    res = write_drafts(outs, tmp_path / "drafts", SENDER, progress=lambda l, s: seen.append((l, s)))
    assert res.skipped_no_email == ["JoR", "LH"]
    assert not res.failed and not res.sent
    assert [p.name for p in res.drafts] == ["2026-11 return - Gwen Thomas (GT).eml",
                                            "2026-11 return - Ann Brown (AxB).eml"]
    assert sorted(p.name for p in (tmp_path / "drafts").iterdir()) == sorted(p.name for p in res.drafts)
    assert seen == [("GT", "draft"), ("AxB", "draft"), ("JoR", "skipped"), ("LH", "skipped")]
    for path, out, ctype in zip(res.drafts, outs, (XLSX, XLSM)):
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=default_policy)
        assert msg["X-Unsent"] == "1"
        assert msg["To"].addresses[0].addr_spec == out.email
        assert "November 2026 update" in msg["Subject"]
        assert f"Dear {out.full_name}," in msg.get_body(("plain",)).get_content()
        att = attachment_of(msg)
        assert att.get_content_type() == ctype
        assert att.get_filename() == out.attachment.name
        assert att.get_content() == out.attachment.read_bytes()
    gt = email.message_from_bytes(res.drafts[0].read_bytes(), policy=default_policy)
    assert str(gt["Cc"]) == "dep@council.gov.uk"
    assert msg["Cc"] is None  # AxB has no deputy
    summary = res.summary()
    assert "2 draft emails written" in summary
    assert "Jo Reed (JoR)" in summary and "no email address" in summary


def test_drafts_reminder_names_and_failures(tmp_path):
    good = outgoing(tmp_path, "DM/AxB", 'Head of: "Early Help"?', "eh@council.gov.uk")
    twin = outgoing(tmp_path, "DM_AxB", 'Head of_ _Early Help__', "eh2@council.gov.uk")
    missing = Outgoing(**{**good.__dict__, "lead": "ZZ", "full_name": "Zed Zed",
                          "attachment": tmp_path / "gone.xlsx"})
    bad_addr = Outgoing(**{**good.__dict__, "lead": "YY", "full_name": "Y Y", "email": "not-an-address"})
    res = write_drafts([good, twin, missing, bad_addr], tmp_path / "d", SENDER, reminder=True)
    names = [p.name for p in res.drafts]
    assert names[0] == "2026-11 reminder - Head of_ _Early Help__ (DM_AxB).eml"
    assert names[1] == "2026-11 reminder - Head of_ _Early Help__ (DM_AxB) (2).eml"
    for n in names:
        assert not set(n) & set('<>:"/\\|?*')
    failed = dict(res.failed)
    assert "was not found" in failed["ZZ"] and "gone.xlsx" in failed["ZZ"]
    assert "not a valid address" in failed["YY"]
    assert not [p for p in (tmp_path / "d").iterdir() if p.suffix != ".eml"]  # no temp files left
    msg = email.message_from_bytes(res.drafts[0].read_bytes(), policy=default_policy)
    assert msg["Subject"].startswith("Reminder:")
    assert draft_filename(Outgoing(**{**good.__dict__, "full_name": "GT", "lead": "GT"})) == \
        "2026-11 return - GT.eml"


def test_broken_template_stops_drafts_before_writing(tmp_path):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    with pytest.raises(MailError, match=r"\$oops"):
        write_drafts([out], tmp_path / "d", SENDER, template="Subject: $oops\n\nx\n")
    assert not (tmp_path / "d").exists() or not list((tmp_path / "d").iterdir())


# --------------------------------------------------------------------------- SMTP

def test_send_to_real_server(tmp_path, server):
    outs = [
        outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk", cc=["dep@council.gov.uk"]),
        outgoing(tmp_path, "AxB", "Ann Brown", "ann@council.gov.uk", ext=".xlsm", count=1),
        outgoing(tmp_path, "JoR", "Jo Reed", ""),
    ]
    log = tmp_path / "send-log.csv"
    seen = []
    res = send_smtp(outs, server.settings, SENDER, log_path=log,
                    progress=lambda lead, status: seen.append((lead, status)))
    assert res.sent == ["GT", "AxB"] and not res.failed
    assert res.skipped_no_email == ["JoR"]
    assert sorted(seen) == sorted([("GT", "sent"), ("AxB", "sent"), ("JoR", "skipped")])
    assert len(server.envelopes) == 2
    env = {e["to"][0]: e for e in server.envelopes}
    gt = env["gt@council.gov.uk"]
    assert gt["from"] == "improvement@council.gov.uk"
    assert gt["to"] == ["gt@council.gov.uk", "dep@council.gov.uk"]
    assert gt["msg"]["Subject"] == ("Children's Services Improvement Plan: your November 2026 "
                                    "update (deadline: Friday 4 December 2026)")
    assert "Dear Gwen Thomas," in gt["msg"].get_body(("plain",)).get_content()
    assert gt["msg"]["X-Unsent"] is None
    for e, out, ctype in ((gt, outs[0], XLSX), (env["ann@council.gov.uk"], outs[1], XLSM)):
        att = attachment_of(e["msg"])
        assert att.get_content_type() == ctype
        assert att.get_filename() == out.attachment.name
        assert att.get_content() == out.attachment.read_bytes()
    rows = log_rows(log)
    assert list(rows[0]) == LOG_FIELDS
    rows = {r["lead"]: r for r in rows}
    assert {lead: r["status"] for lead, r in rows.items()} == {"GT": "sent", "AxB": "sent", "JoR": "skipped"}
    assert rows["JoR"]["reason"] == "no email address in the directory"
    assert rows["GT"]["reason"] == ""
    assert rows["GT"]["time"][:4].isdigit() and "T" in rows["GT"]["time"]
    rows = [rows["GT"]]
    assert rows[0]["to"] == "gt@council.gov.uk" and rows[0]["cc"] == "dep@council.gov.uk"
    assert rows[0]["attachment"] == str(outs[0].attachment)
    assert rows[0]["month"] == "2026-11" and rows[0]["kind"] == "return"
    assert "2 returns sent" in res.summary()


def test_refused_recipient_then_retry_only_failed(tmp_path, server):
    outs = [
        outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk"),
        outgoing(tmp_path, "AxB", "Ann Brown", "ann.brwn@council.gov.uk"),
        outgoing(tmp_path, "LH", "Lee Hart", "lee@council.gov.uk"),
    ]
    log = tmp_path / "send-log.csv"
    server.refuse = {"ann.brwn@council.gov.uk"}
    res = send_smtp(outs, server.settings, SENDER, log_path=log)
    assert res.sent == ["GT", "LH"]
    [(lead, reason)] = res.failed
    assert lead == "AxB"
    assert "refused the address ann.brwn@council.gov.uk" in reason and "550" in reason
    assert "check the address" in reason
    assert sorted(e["to"][0] for e in server.envelopes) == ["gt@council.gov.uk", "lee@council.gov.uk"]
    assert "NOT sent" in res.summary() and "Ann Brown (AxB)" in res.summary()

    # the directory is corrected; retry only the failed one
    server.refuse = set()
    server.envelopes.clear()
    fixed = [outs[0], Outgoing(**{**outs[1].__dict__, "email": "ann.brown@council.gov.uk"}), outs[2]]
    res2 = send_smtp(fixed, server.settings, SENDER, log_path=log, only_failed_from=log)
    assert res2.sent == ["AxB"] and not res2.failed
    assert [lead for lead, _ in res2.skipped] == ["GT", "LH"]
    assert "latest entry in the send log is sent" in dict(res2.skipped)["GT"]
    assert [e["to"] for e in server.envelopes] == [["ann.brown@council.gov.uk"]]

    # a second retry has nothing left to send
    server.envelopes.clear()
    res3 = send_smtp(fixed, server.settings, SENDER, log_path=log, only_failed_from=log)
    assert res3.sent == [] and server.envelopes == []
    statuses = [(r["lead"], r["status"]) for r in log_rows(log)]
    assert statuses == [("GT", "sent"), ("AxB", "failed"), ("LH", "sent"), ("AxB", "sent")]

    # a reminder run is logged separately: nothing of it has failed, so nothing to retry
    res4 = send_smtp(fixed, server.settings, SENDER, reminder=True, only_failed_from=log)
    assert res4.sent == [] and len(res4.skipped) == 3
    assert "not in the send log" in res4.skipped[0][1]


def test_retry_with_missing_log(tmp_path, server):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    with pytest.raises(MailError, match="was not found"):
        send_smtp([out], server.settings, SENDER, only_failed_from=tmp_path / "none.csv")
    assert server.envelopes == []


def test_refused_cc_still_sends_to_lead(tmp_path, server):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk", cc=["old.deputy@council.gov.uk"])
    server.refuse = {"old.deputy@council.gov.uk"}
    log = tmp_path / "log.csv"
    res = send_smtp([out], server.settings, SENDER, log_path=log)
    assert res.sent == ["GT"]
    [(lead, note)] = res.notes
    assert "old.deputy@council.gov.uk" in note and "550" in note
    assert [e["to"] for e in server.envelopes] == [["gt@council.gov.uk"]]
    assert "old.deputy" in log_rows(log)[0]["reason"]


def test_connection_dropped_mid_run_reconnects(tmp_path, server):
    outs = [outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk"),
            outgoing(tmp_path, "AxB", "Ann Brown", "ann@council.gov.uk"),
            outgoing(tmp_path, "LH", "Lee Hart", "lee@council.gov.uk")]
    server.drop = {"ann@council.gov.uk"}
    res = send_smtp(outs, server.settings, SENDER)
    assert res.sent == ["GT", "LH"]
    [(lead, reason)] = res.failed
    assert lead == "AxB" and "closed the connection while sending" in reason
    assert sorted(e["to"][0] for e in server.envelopes) == ["gt@council.gov.uk", "lee@council.gov.uk"]


def test_bad_address_fails_that_lead_only(tmp_path, server):
    outs = [outgoing(tmp_path, "GT", "Gwen Thomas", "gwen thomas at council"),
            outgoing(tmp_path, "LH", "Lee Hart", "lee@council.gov.uk")]
    res = send_smtp(outs, server.settings, SENDER)
    assert res.sent == ["LH"]
    assert "not a valid address" in dict(res.failed)["GT"]
    assert len(server.envelopes) == 1


def test_server_down_fails_every_lead_plainly(tmp_path):
    port = free_port()  # nothing listens there
    outs = [outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk"),
            outgoing(tmp_path, "LH", "Lee Hart", "lee@council.gov.uk")]
    log = tmp_path / "log.csv"
    seen = []
    res = send_smtp(outs, SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout=5),
                    SENDER, log_path=log, progress=lambda l, s: seen.append((l, s)))
    assert res.sent == []
    assert [lead for lead, _ in res.failed] == ["GT", "LH"]
    reason = res.failed[0][1]
    assert reason == (f"could not connect to 127.0.0.1:{port}: connection refused — check the "
                      "server name and port in the settings, or use drafts")
    assert "Traceback" not in res.summary()
    assert seen == [("GT", "failed"), ("LH", "failed")]
    assert [r["status"] for r in log_rows(log)] == ["failed", "failed"]


def test_silent_server_times_out(tmp_path):
    with socket.socket() as s:  # accepts connections (backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(5)
        port = s.getsockname()[1]
        out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
        res = send_smtp([out], SmtpSettings("127.0.0.1", port, starttls=False, timeout=0.5), SENDER)
    [(lead, reason)] = res.failed
    assert reason.startswith(f"could not connect to 127.0.0.1:{port}: no answer within 0.5 seconds")


def test_starttls_required_but_not_offered(tmp_path, server):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    settings = SmtpSettings(host="127.0.0.1", port=server.settings.port, timeout=5)  # starttls=True
    res = send_smtp([out], settings, SENDER)
    [(lead, reason)] = res.failed
    assert "does not offer a secure connection (STARTTLS)" in reason and "--no-starttls" in reason
    assert server.envelopes == []


def test_dry_run_sends_nothing(tmp_path, server):
    outs = [outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk"),
            outgoing(tmp_path, "JoR", "Jo Reed", None)]
    log = tmp_path / "log.csv"
    seen = []
    res = send_smtp(outs, server.settings, SENDER, dry_run=True, log_path=log,
                    progress=lambda l, s: seen.append((l, s)))
    assert res.dry_run and res.would_send == ["GT"] and res.sent == []
    assert res.skipped_no_email == ["JoR"]
    assert server.envelopes == []
    assert not log.exists()
    assert ("GT", "would send") in seen
    assert res.summary().startswith("Dry run: nothing was sent. 1 return would be sent:")
    # a dry run also reports problems a real run would hit, and still connects to nothing
    res2 = send_smtp(outs, SmtpSettings("127.0.0.1", free_port()), SENDER, dry_run=True)
    assert res2.would_send == ["GT"] and not res2.failed


def test_auth_login_with_password_from_environment(tmp_path, auth_server, monkeypatch):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    monkeypatch.setenv("XL_PLAN_TEST_SMTP_PW", "s3cret pass")
    res = send_smtp([out], auth_server.settings, SENDER, log_path=tmp_path / "log.csv")
    assert res.sent == ["GT"] and len(auth_server.envelopes) == 1

    monkeypatch.setenv("XL_PLAN_TEST_SMTP_PW", "wrong")
    res = send_smtp([out], auth_server.settings, SENDER, log_path=tmp_path / "log.csv")
    [(lead, reason)] = res.failed
    assert "refused the user name or password for 'team'" in reason
    assert "XL_PLAN_TEST_SMTP_PW" in reason
    assert "wrong" not in reason and "s3cret" not in (tmp_path / "log.csv").read_text("utf-8-sig")
    assert len(auth_server.envelopes) == 1


def test_missing_password_env_is_a_clear_error(tmp_path, auth_server, monkeypatch):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    monkeypatch.delenv("XL_PLAN_TEST_SMTP_PW", raising=False)
    with pytest.raises(MailError) as e:
        send_smtp([out], auth_server.settings, SENDER)
    assert "environment variable XL_PLAN_TEST_SMTP_PW" in str(e.value)
    assert "Nothing was sent" in str(e.value)
    assert auth_server.envelopes == []


def test_injection_over_smtp_adds_no_recipient(tmp_path, server):
    out = outgoing(tmp_path, "GT", "Evil\r\nBcc: x@y.com", "gt@council.gov.uk")
    res = send_smtp([out], server.settings, SENDER)
    assert res.sent == ["GT"]
    [env] = server.envelopes
    assert env["to"] == ["gt@council.gov.uk"]
    assert env["msg"]["Bcc"] is None


def test_log_cannot_be_written_stops_before_sending(tmp_path, server):
    out = outgoing(tmp_path, "GT", "Gwen Thomas", "gt@council.gov.uk")
    a_folder = tmp_path / "folder"
    a_folder.mkdir()
    with pytest.raises(MailError, match="cannot be written"):
        send_smtp([out], server.settings, SENDER, log_path=a_folder)
    assert server.envelopes == []


def test_log_cells_excel_would_read_as_formulas(tmp_path, server):
    out = outgoing(tmp_path, "=HYPERLINK(1)", "=cmd", "gt@council.gov.uk")
    log = tmp_path / "log.csv"
    send_smtp([out], server.settings, SENDER, log_path=log)
    raw = log_rows(log)[0]
    assert raw["lead"] == "'=HYPERLINK(1)" and raw["full_name"] == "'=cmd"
    row = read_send_log(log)[0]
    assert row["lead"] == "=HYPERLINK(1)" and row["status"] == "sent"
