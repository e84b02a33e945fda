"""Bad input: one clear message, exit code 2, no traceback, the file untouched."""
import hashlib
import io

import msoffcrypto.format.ooxml
import openpyxl
import pytest
import xlwt
from click.testing import CliRunner

from xl_plan.cli import cli


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_not_excel(tmp_path):
    p = tmp_path / "minutes.xlsx"
    p.write_text("This is a Word document really\n")
    return p


def make_csv(tmp_path):
    p = tmp_path / "plan.csv"
    p.write_text("Ref,Action,Lead\n1,Do,GT\n")
    return p


def make_corrupt(tmp_path, sample_path):
    p = tmp_path / "broken.xlsx"
    data = sample_path.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def make_password(tmp_path, sample_path):
    p = tmp_path / "secret.xlsx"
    out = io.BytesIO()
    with open(sample_path, "rb") as fh:
        office = msoffcrypto.format.ooxml.OOXMLFile(fh)
        office.encrypt("s3cret", out)
    p.write_bytes(out.getvalue())
    return p


def make_xls(tmp_path):
    p = tmp_path / "old.xls"
    book = xlwt.Workbook()
    book.add_sheet("Plan").write(0, 0, "Ref")
    book.save(str(p))
    return p


def make_empty(tmp_path):
    p = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(p)
    return p


def make_no_table(tmp_path):
    p = tmp_path / "notes.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Board minutes"
    wb.active["B3"] = 42
    wb.save(p)
    return p


CASES = {
    "not-excel": (make_not_excel, "is not an Excel workbook"),
    "csv": (make_csv, "is not an Excel workbook"),
    "corrupt": ("corrupt", "damaged"),
    "password": ("password", "protected with a password"),
    "xls": (make_xls, "Excel 97-2003 (.xls)"),
    "empty": (make_empty, "empty"),
    "no-table": (make_no_table, "no table of actions found in sheet"),
    "missing": (lambda tmp: tmp / "nope.xlsx", "does not exist"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", [["inspect"], ["validate"], ["validate", "--write"]])
def test_bad_input(tmp_path, sample, case, command):
    maker, expected = CASES[case]
    if maker == "corrupt":
        path = make_corrupt(tmp_path, sample("city"))
    elif maker == "password":
        path = make_password(tmp_path, sample("city"))
    else:
        path = maker(tmp_path)
    digest = sha(path) if path.exists() else None
    result = CliRunner().invoke(cli, [*command, str(path)])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert result.output.count("xl-plan:") == 1
    if digest:
        assert sha(path) == digest
    assert not list(tmp_path.glob("~xl_plan-*")) and not (tmp_path / "backups").exists()


def test_unexpected_error_is_logged_not_shown(tmp_path, sample, monkeypatch):
    import xl_plan.jobs

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(xl_plan.jobs, "validate_file", boom)
    result = CliRunner().invoke(cli, ["validate", str(sample("city"))])
    assert result.exit_code == 3
    assert "disk on fire" in result.output and "Traceback" not in result.output
    log = (tmp_path / "xl_plan.log").read_text()
    assert "Traceback" in log and "disk on fire" in log


def test_every_command_has_help():
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    import click

    def walk(group, prefix):
        for name, command in group.commands.items():
            yield [*prefix, name]
            if isinstance(command, click.Group):
                yield from walk(command, [*prefix, name])

    paths = list(walk(cli, []))
    assert ["returns", "make"] in paths and ["template", "attach"] in paths
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, path
