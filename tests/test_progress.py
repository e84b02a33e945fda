"""Progress on stderr (tqdm) for the jobs that take more than a second: shown only on a terminal and
never with --quiet, so --json output stays clean."""
import io
import json
from datetime import datetime, timezone

from click.testing import CliRunner

from xl_plan.cli import cli
from xl_plan.jobs import make_returns_file, merge_returns
from xl_plan.progress import progress_bar, wanted

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal_and_not_quiet():
    assert wanted(stream=Terminal()) and not wanted(True, Terminal()) and not wanted(stream=io.StringIO())
    with progress_bar("x", stream=io.StringIO()) as p:
        assert p is None
    with progress_bar("x", stream=Terminal(), quiet=True) as p:
        assert p is None


def test_make_and_merge_show_progress_on_a_terminal(sample, tmp_path):
    master = sample("city")
    term = Terminal()
    with progress_bar("Making returns", stream=term) as p:
        made = make_returns_file(master, "2026-11", tmp_path / "out", now=NOW, leads=["SK", "JF"], progress=p)
    shown = term.getvalue()
    assert "Making returns" in shown and "JF's return" in shown
    term = Terminal()
    with progress_bar("Merging", stream=term) as p:
        merge_returns(master, [f.path for f in made.returns], now=NOW, progress=p)
    assert "Reading" in term.getvalue() and "has nothing filled in" in term.getvalue()


def test_json_output_stays_clean(sample, tmp_path):
    master = sample("city")
    made = make_returns_file(master, "2026-11", tmp_path / "out", now=NOW, leads=["SK"])
    out = CliRunner().invoke(cli, ["merge", str(master), str(made.returns[0].path), "--json"])
    json.loads(out.stdout)
    assert "Reading" not in out.output
