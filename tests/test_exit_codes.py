"""Exit codes as the README says: 0 done, 1 something needs you (a warning or an error), 2 a file
cannot be used (read-only included: the file is left as it was), 3 only for a real fault; a closed
pipe after the save is not a fault."""
import hashlib
import os
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from xl_plan.cli import cli
from xl_plan.errors import WriteError
from xl_plan.jobs import gantt_file


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_only_plan_is_refused_with_exit_2_and_left_as_it_was(sample):
    plan = sample("city")
    os.chmod(plan, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    before = _sha(plan)
    try:
        with pytest.raises(WriteError, match="read-only"):
            gantt_file(plan)
        out = CliRunner().invoke(cli, ["gantt", str(plan)])
        assert out.exit_code == 2, out.output
        assert "read-only" in out.output and "Nothing was changed" in out.output
        assert "Traceback" not in out.output
        assert _sha(plan) == before and not (plan.parent / "backups").exists()
    finally:
        os.chmod(plan, stat.S_IRUSR | stat.S_IWUSR)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write into any folder")
def test_read_only_folder_is_refused_with_exit_2(sample):
    plan = sample("city")
    folder = plan.parent
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        out = CliRunner().invoke(cli, ["gantt", str(plan)])
        assert out.exit_code == 2 and "cannot write into the folder" in out.output, out.output
    finally:
        os.chmod(folder, stat.S_IRWXU)


def test_warnings_give_exit_1(sample):
    out = CliRunner().invoke(cli, ["validate", str(sample("city")), "--today", "2017-06-01"])
    assert out.exit_code == 1 and "WARNING" in out.output, out.output


def test_gantt_into_a_closed_pipe_is_not_a_fault(sample):
    plan = sample("city")
    run = subprocess.run(f'"{sys.executable}" -m xl_plan gantt "{plan}" --today 2017-06-01 | true; '
                         'echo "rc=${PIPESTATUS[0]}"', shell=True, capture_output=True, text=True,
                         executable="/bin/bash")
    assert "rc=0" in run.stdout, run.stdout + run.stderr
    assert "unexpected" not in run.stderr and "Exception ignored" not in run.stderr


def test_a_damaged_xlsm_is_refused_without_noise_at_exit(tmp_path):
    import zipfile
    from pathlib import Path

    template = Path(__file__).resolve().parents[1] / "workbook_template.xlsm"
    bad = tmp_path / "bad.xlsm"
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(bad, "w") as out:
        for info in src.infolist():
            out.writestr(info, b"<broken" if info.filename == "xl/styles.xml" else src.read(info.filename))
    run = subprocess.run([sys.executable, "-m", "xl_plan", "validate", str(bad)], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert "could not be read" in run.stderr and "Exception ignored" not in run.stderr, run.stderr
