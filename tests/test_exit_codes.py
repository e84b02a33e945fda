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


NOBODY = 65534                      # the unprivileged user (and group) root drops to


def test_read_only_folder_is_refused_with_exit_2(sample, tmp_path):
    """As an ordinary user: the folder is made read-only. As root (CI), who may write into any folder,
    the command runs as the unprivileged user 'nobody' on a plan it owns, in a folder root owns."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return _read_only_folder_as_nobody(sample, tmp_path)
    plan = sample("city")
    folder = plan.parent
    before = _sha(plan)
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        out = CliRunner().invoke(cli, ["gantt", str(plan)])
        assert out.exit_code == 2 and "cannot write into the folder" in out.output, out.output
        assert "Nothing was changed" in out.output and "Traceback" not in out.output
        assert _sha(plan) == before and not (folder / "backups").exists()
    finally:
        os.chmod(folder, stat.S_IRWXU)


def _read_only_folder_as_nobody(sample, tmp_path):
    import shutil
    import tempfile
    from pathlib import Path

    src = sample("city")
    # pytest's tmp_path is root's own (mode 700): the user needs a folder it can read but not write
    folder = Path(tempfile.mkdtemp(prefix="xl_plan-read-only-"))
    home = Path(tempfile.mkdtemp(prefix="xl_plan-nobody-home-"))
    try:
        plan = folder / src.name
        shutil.copyfile(src, plan)
        os.chown(plan, NOBODY, NOBODY)                 # the user's own file, writable by it
        os.chmod(plan, 0o644)
        os.chmod(folder, 0o755)                        # root's folder: the user can read it, not write into it
        os.chown(home, NOBODY, NOBODY)
        env = {**os.environ, "HOME": str(home), "XL_PLAN_LOG": str(home / "xl_plan.log")}
        before = _sha(plan)
        code, output = _run_as_nobody(["gantt", str(plan)], env, warm_up=src)
        assert code == 2, output
        assert "cannot write into the folder" in output and "Nothing was changed" in output, output
        assert "Traceback" not in output and "Permission denied" not in output, output
        assert _sha(plan) == before and not (folder / "backups").exists()
        assert sorted(p.name for p in folder.iterdir()) == [plan.name]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


def _run_as_nobody(args, env, *, warm_up):
    """(exit code, output) of `xl-plan ARGS` run as the user 'nobody': a new `python -m xl_plan` process
    when that user may run this Python; otherwise (the interpreter lives in root's home, as on CI) a
    forked copy of this process that drops to that user before running the command, its modules
    loaded first by running the same command as root on `warm_up`, a writable copy."""
    try:
        run = subprocess.run([sys.executable, "-m", "xl_plan", *args], user=NOBODY, group=NOBODY, extra_groups=[],
                             env=env, capture_output=True, text=True, cwd="/")
        return run.returncode, run.stdout + run.stderr
    except PermissionError:
        pass
    assert CliRunner().invoke(cli, [args[0], str(warm_up)]).exit_code == 0
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                       # the child: never returns into pytest
        code = 3
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.environ.update(env)
            out = CliRunner().invoke(cli, args)
            code = out.exit_code
            os.write(write, out.output.encode())
        except BaseException as exc:                   # noqa: BLE001 (reported to the parent)
            os.write(write, f"child failed: {exc!r}".encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        output = f.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


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
