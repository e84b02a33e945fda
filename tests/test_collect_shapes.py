"""The one collector of returns (xl_plan/returns/collect.py) finds a return in every shape of email
leads send: S/MIME-signed, Outlook's winmail.dat (TNEF), a single-part message whose body is the
workbook, and an application/octet-stream attachment with a name that cannot be decoded. Every email
is built here with the standard library's email package (the TNEF stream by hand, per MS-OXTNEF)."""
import struct
from datetime import datetime, timezone
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime

import pytest

from xl_plan.jobs import make_returns_file
from xl_plan.returns.collect import collect_folder
from xl_plan.returns.identity import read_identity

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
SENT = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def ret(sample, tmp_path):
    master = sample("city")
    made = make_returns_file(master, "2026-11", tmp_path / "out", now=SENT, leads=["SK"])
    return made.returns[0].path


def _head(msg, subject="My return"):
    msg["From"], msg["To"], msg["Subject"] = "Sam King <sk@example.org>", "team@example.org", subject
    msg["Date"] = format_datetime(SENT)
    return msg


def signed_email(workbook) -> bytes:
    """multipart/signed (S/MIME) around multipart/mixed: text + the workbook, then the signature."""
    inner = MIMEPart()
    inner.set_content("Here is my return.")
    inner.add_attachment(workbook.read_bytes(), maintype=XLSX[0], subtype=XLSX[1], filename=workbook.name)
    sig = MIMEPart()
    sig.set_content(b"0\x82\x01\x00fake-pkcs7", maintype="application", subtype="pkcs7-signature",
                    filename="smime.p7s")
    msg = _head(EmailMessage())
    msg.set_type("multipart/signed")
    msg.set_param("protocol", "application/pkcs7-signature")
    msg.set_param("micalg", "sha-256")
    msg.set_payload([inner, sig])
    return bytes(msg)


def tnef_stream(name: str, data: bytes) -> bytes:
    """A minimal TNEF stream (MS-OXTNEF 2.1.3): signature, key, then per attribute level, id, type,
    length, data and checksum; one attachment: attAttachRendData, attAttachTitle, attAttachData."""
    def attr(level, ident, kind, payload):
        return struct.pack("<BHHI", level, ident, kind, len(payload)) + payload + \
            struct.pack("<H", sum(payload) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += attr(1, 0x9006, 0x0009, struct.pack("<I", 0x00010000))          # attTnefVersion
    out += attr(2, 0x9002, 0x0006, struct.pack("<HIIHH", 1, 0xFFFFFFFF, 0, 0, 0))   # attAttachRendData
    out += attr(2, 0x8010, 0x0001, name.encode("cp1252") + b"\0")          # attAttachTitle
    out += attr(2, 0x800F, 0x0006, data)                                     # attAttachData
    return out


def winmail_email(workbook) -> bytes:
    msg = _head(EmailMessage())
    msg.set_content("Please see attached.")
    msg.add_attachment(tnef_stream(workbook.name, workbook.read_bytes()), maintype="application",
                       subtype="ms-tnef", filename="winmail.dat")
    return bytes(msg)


def whole_body_email(workbook) -> bytes:
    msg = _head(EmailMessage())
    msg.set_content(workbook.read_bytes(), maintype=XLSX[0], subtype=XLSX[1])
    return bytes(msg)


def octet_stream_email(workbook) -> bytes:
    msg = _head(EmailMessage())
    msg.set_content("Attached.")
    msg.add_attachment(workbook.read_bytes(), maintype="application", subtype="octet-stream", filename="x")
    raw = bytes(msg)
    # a name in a charset nobody knows, as some mail programs write it: it cannot be decoded
    return raw.replace(b'filename="x"', b'filename="=?x-unknown?B?gYKDhA==?="')


@pytest.mark.parametrize("build", [signed_email, winmail_email, whole_body_email, octet_stream_email])
def test_every_shape_of_email_gives_the_return(ret, tmp_path, build):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / f"{build.__name__}.eml").write_bytes(build(ret))
    got = collect_folder(inbox, tmp_path / "tmp")
    assert got.unreadable == [] and got.skipped == [], (got.unreadable, got.skipped)
    assert len(got.sources) == 1
    src = got.sources[0]
    assert read_identity(src.path).return_id == read_identity(ret).return_id
    assert src.origin.name == f"{build.__name__}.eml"
    assert src.when == SENT.astimezone().replace(tzinfo=None)


def test_an_octet_stream_that_is_not_a_return_is_not_taken(tmp_path):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "hello")
    msg = _head(EmailMessage())
    msg.set_content("A zip.")
    msg.add_attachment(buf.getvalue(), maintype="application", subtype="octet-stream", filename="stuff.bin")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "zip.eml").write_bytes(bytes(msg))
    got = collect_folder(inbox, tmp_path / "tmp")
    assert got.sources == [] and [n for n, _ in got.skipped] == ["zip.eml"]
