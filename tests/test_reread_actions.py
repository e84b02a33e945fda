"""The monthly consolidation reads the plan once: after the merge it re-reads only the actions whose
update or status cells the merge wrote (`reread_actions`). That must give exactly the plan a full
second read (`plan_from_workbook`) gives, for every layout: text statuses, fill-only statuses,
continuation rows, two lead columns."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from builders import colour_key_plan

from xl_plan import consolidate, read_plan
from xl_plan.jobs import open_plan
from xl_plan.layout.detect import plan_from_workbook, reread_actions
from xl_plan.merge.apply import merge_into
from xl_plan.merge.read import read_return
from xl_plan.returns.identity import read_identity
from xl_plan.returns.make import make_returns

MONTH = "2026-11"
SENT = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 20, 10, 0)


def _filled_returns(master: Path, folder: Path) -> list[Path]:
    """Every return filled in: an update on every action, another status on every other one."""
    plan = read_plan(master)
    names = [e.name for e in plan.rag_key.entries]
    made = make_returns(master, MONTH, folder / "sent", now=SENT)
    back = folder / "back"
    back.mkdir()
    out = []
    for f in made.returns:
        wb = openpyxl.load_workbook(f.path)
        ident = read_identity(wb)
        ws = wb[ident.return_sheet]
        for i, row in enumerate(ident.rows):
            ws[f"{ident.update_column}{row.return_row}"] = f"Progress on {row.ref or i}: audit {i} done."
            if i % 2:
                ws[f"{ident.status_column}{row.return_row}"] = next(n for n in names if n != row.status_as_sent)
        wb.save(back / f.path.name)
        out.append(back / f.path.name)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["birmingham", "barking", "city", "colour"])
def test_rereading_the_changed_actions_equals_a_full_read(name, sample, tmp_path):
    master = colour_key_plan(tmp_path / "colour.xlsx") if name == "colour" else sample(name)
    files = _filled_returns(master, tmp_path)
    wb, plan, _stamp = open_plan(master)
    result = merge_into(wb, plan, [read_return(f) for f in files], month=MONTH, now=NOW)
    rows = {c.row for c in result.changes}
    assert rows, "the returns changed nothing: the test would prove nothing"

    quick = reread_actions(wb, plan, rows)
    full = plan_from_workbook(wb, str(master), sheet=plan.sheet, columns=plan.overrides)

    assert quick == full
    by_row = {a.row: a for a in quick.actions}
    assert "update" in {c.field for c in result.changes}
    for c in result.changes:
        if c.field == "update":
            assert by_row[c.row].update.startswith(c.new.split("\n")[0])
    # the plan read before the merge is left as it was
    assert plan == read_plan(master)


def test_consolidate_reports_the_plan_as_merged(sample, tmp_path):
    master = sample("birmingham")
    files = _filled_returns(master, tmp_path)
    out = consolidate(master, files[0].parent, today=date(2026, 11, 20), now=NOW)
    assert out.plan == read_plan(master)
