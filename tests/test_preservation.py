"""Every job that writes, on every kind of workbook: the user's package is kept.

The matrix: each fixture (the XlsxWriter corpus, each Excel-made file with a plan sheet added by
text edits, the three sample plans) x each writing job of xl_plan.jobs (validate, carried
forward, Gantt, leads, make returns, merge, consolidate), each then unmarked. For every case:

(a) every original part is byte-identical but the extended ones (content types, workbook, its
    rels, styles, the plan sheet with its rels, notes and notes drawing, custom properties),
    which keep all their original elements; the calc chain may go (tests/package_compare.py,
    which shares no code with the writer);
(b) the result opens in openpyxl;
(c) read_plan reads the same plan back (refs, texts, leads, timescales; statuses only where a
    merge changed them);
(d) after `unmark`, the parts are the original's plus only what the jobs `unmark` keeps own
    (exactly the original's after validate or carried forward).

LibreOffice converts every job's output for a few of the fixtures to PDF. A property test writes
random values and fills to the plan sheet through the real save path (edit_plan + save) and checks
that exactly those <c> elements of the sheet part change.

The Excel-made fixtures are not in the repository (see tests/fixtures/excel_made/LICENCES.md):
their cases are skipped when the files are absent. A quick run is `pytest -m 'not slow'`.
"""
from __future__ import annotations

import posixpath
import re
import shutil
import subprocess
import tempfile
import warnings
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import corpus
import openpyxl
import pytest
from defusedxml import ElementTree as SafeET
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from package_compare import extension_problems, part_bytes, preservation_problems

from xl_plan import jobs
from xl_plan.layout.detect import read_plan
from xl_plan.owned import REGISTRY, kind_of

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 10, 0)
SENT = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
MONTH = "2026-11"
FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = {"birmingham": "birmingham_2023_plan.xlsx", "barking": "barking_dagenham_2014_plan.xlsx",
           "city": "city_of_london_2017_plan.xlsx"}
EXCEL_MADE = corpus.excel_made_files()
JOBS = ("validate", "carried", "gantt", "leads", "make", "merge", "consolidate")
CHAIN = "chain"     # all in turn: validate, carried, Gantt, leads, make, merge one return, consolidate another
UNMARKED = {k.name for k in REGISTRY if k.unmark}
# The xl_plan sheets each job leaves in the master (after unmark, those not in UNMARKED stay).
OWNED_AFTER = {
    "validate": {"Validation"},
    "carried": {"Validation", "Carried forward"},
    "gantt": {"Gantt"},
    "leads": {"Leads"},
    "make": {"xl_plan", "Returns log"},
    "merge": {"xl_plan", "Returns log", "History"},
    "consolidate": {"xl_plan", "Returns log", "History", "Summary", "Validation"},
    CHAIN: {"Validation", "Carried forward", "Gantt", "Leads", "xl_plan", "Returns log", "History", "Summary"},
}
LIBREOFFICE_FIXTURES = ["corpus:all", "excel:closedxml_FileWithButton.xlsm", "excel:poi_NewStyleConditionalFormattings.xlsx",
                        "excel:poi_simple-monthly-budget.xlsx"]

slow = pytest.mark.slow
pytestmark = slow          # the whole matrix is a CI run; tests/test_graft.py covers the writer quickly


def _fixture_ids() -> list:
    # the quick run keeps the workbook with every feature and the samples; one feature each is slow
    ids = [pytest.param(f"corpus:{name}", id=f"corpus:{name}", marks=slow) for name in corpus.FEATURES]
    ids.append(pytest.param("corpus:all", id="corpus:all"))
    if EXCEL_MADE:
        ids += [pytest.param(f"excel:{name}", id=f"excel:{name}", marks=slow) for name in sorted(EXCEL_MADE)]
    else:
        ids.append(pytest.param("excel:none", id="excel:none", marks=[slow, pytest.mark.skip(
            reason="Excel-made fixtures not present (see tests/fixtures/excel_made/LICENCES.md)")]))
    ids += [pytest.param(f"sample:{name}", id=f"sample:{name}") for name in SAMPLES]
    return ids


# ---------------------------------------------------------------- package reading (independent of xl_plan.io)

NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _relationships(parts: dict[str, bytes], part: str) -> list[tuple[str, str, str]]:
    """(id, type, resolved target part) of each internal relationship of `part`."""
    lower = {n.lower(): n for n in parts}
    rels = lower.get(_rels_of(part).lower())
    if rels is None:
        return []
    out = []
    for rel in SafeET.fromstring(parts[rels]).iter(NS_PKG_RELS + "Relationship"):
        if (rel.get("TargetMode") or "").lower() == "external":
            continue
        target = rel.get("Target") or ""
        resolved = posixpath.normpath(target.lstrip("/") if target.startswith("/")
                                      else posixpath.join(posixpath.dirname(part), target))
        out.append((rel.get("Id"), rel.get("Type") or "", lower.get(resolved.lower(), resolved)))
    return out


def _all_parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if not n.endswith("/")}


def _workbook_part(parts: dict[str, bytes]) -> str:
    return next(t for _, typ, t in _relationships(parts, "") if typ.endswith("/officeDocument"))


def sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> worksheet part."""
    wb = _workbook_part(parts)
    targets = {rid: t for rid, _, t in _relationships(parts, wb)}
    root = SafeET.fromstring(parts[wb])
    return {s.get("name"): targets[s.get(f"{{{NS_R}}}id")] for s in root.iter(NS_MAIN + "sheet")}


def closure(parts: dict[str, bytes], part: str) -> set[str]:
    """`part`, its rels part and everything reachable from it by relationships."""
    seen, todo = set(), [part]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        if _rels_of(p) in parts:
            seen.add(_rels_of(p))
        todo.extend(t for _, _, t in _relationships(parts, p))
    return seen


def extended_parts(parts: dict[str, bytes], plan_sheet: str) -> set[str]:
    """The parts a job may extend: the workbook-level ones and the plan sheet's with its notes."""
    wb = _workbook_part(parts)
    out = {"[Content_Types].xml", wb, _rels_of(wb)}
    out |= {t for _, typ, t in _relationships(parts, wb) if typ.endswith("/styles")}
    out |= {n for n in parts if n.lower() == "docprops/custom.xml"}
    sheet = sheet_parts(parts)[plan_sheet]
    out |= {sheet, _rels_of(sheet)}
    root = SafeET.fromstring(parts[sheet])
    legacy = root.find(NS_MAIN + "legacyDrawing")
    notes_vml = legacy.get(f"{{{NS_R}}}id") if legacy is not None else None
    for rid, typ, target in _relationships(parts, sheet):
        if typ.endswith("/comments") or (typ.endswith("/vmlDrawing") and rid == notes_vml):
            out.add(target)
    return out


def calc_chain(parts) -> set[str]:
    return {n for n in parts if n.lower().endswith("calcchain.xml")}


_CELL = re.compile(r'<c\s+r="([A-Z]+[0-9]+)"(?:[^>]*?/>|[^>]*?>.*?</c>)', re.DOTALL)


def cells_of(xml: bytes) -> dict[str, str]:
    """Coordinate -> the raw XML of each <c> of a worksheet part (Excel-made ones unprefixed too)."""
    return {m.group(1): m.group(0) for m in _CELL.finditer(xml.decode("utf-8"))}


def without_cells(xml: bytes, coords: set[str]) -> bytes:
    """A worksheet part with the <c> elements of `coords` taken out (to compare the rest)."""
    text = xml.decode("utf-8")
    return _CELL.sub(lambda m: "" if m.group(1) in coords else m.group(0), text).encode("utf-8")


# ---------------------------------------------------------------- building the cases once

def fill_return(src: Path, dest: Path) -> Path:
    """Fill a return in as a lead would, with openpyxl: an update and a status for its first action."""
    from xl_plan.returns.identity import read_identity

    wb = openpyxl.load_workbook(src)
    ident = read_identity(wb)
    ws = wb[ident.return_sheet]
    row = ident.rows[0].return_row
    ws[f"{ident.update_column}{row}"] = "Done as planned; the board has the report."
    ws[f"{ident.status_column}{row}"] = "RED"
    wb.save(dest)
    return dest


class Cases:
    """The fixtures and the jobs' outputs, each made once for the session."""

    def __init__(self, root: Path):
        self.root = root
        self._corpus: dict[str, Path] | None = None
        self._sources: dict[str, tuple[Path, str]] = {}
        self._made: dict[str, tuple[Path, Path]] = {}
        self._out: dict[tuple[str, str], tuple[Path, object]] = {}
        self._read: dict[str, tuple] = {}

    def source(self, fixture: str) -> tuple[Path, str]:
        """(the original workbook, its plan sheet's name)."""
        if fixture not in self._sources:
            kind, name = fixture.split(":", 1)
            if kind == "corpus":
                if self._corpus is None:
                    self._corpus = corpus.build_corpus(self.root / "corpus")
                self._sources[fixture] = (self._corpus[name], corpus.PLAN_SHEET)
            elif kind == "excel":
                if name not in EXCEL_MADE:
                    pytest.skip(f"{name}: Excel-made fixture not present")
                dest = self.root / "excel" / name
                corpus.add_plan_sheet(EXCEL_MADE[name], dest)
                self._sources[fixture] = (dest, corpus.PLAN_SHEET)
            else:
                path = FIXTURES / SAMPLES[name]
                self._sources[fixture] = (path, read_plan(path).sheet)
        return self._sources[fixture]

    def read_original(self, fixture: str):
        """(its sheet names, its plan as read_plan reads it)."""
        if fixture not in self._read:
            path, sheet = self.source(fixture)
            wb = quiet_load(path)
            self._read[fixture] = (wb.sheetnames, read_plan(path, sheet=sheet, workbook=wb))
        return self._read[fixture]

    def _copy(self, fixture: str, job: str) -> Path:
        src, _ = self.source(fixture)
        folder = self.root / "runs" / fixture.replace(":", "_") / job
        folder.mkdir(parents=True)
        dest = folder / src.name
        shutil.copyfile(src, dest)
        return dest

    def made(self, fixture: str) -> tuple[Path, Path]:
        """(the master after `returns make`, one return filled in by its lead)."""
        if fixture not in self._made:
            master = self._copy(fixture, "make")
            made = jobs.make_returns_file(master, MONTH, master.parent / "sent", now=SENT)
            assert made.returns, "no returns made"
            filled = fill_return(made.returns[0].path, master.parent / "filled.xlsx")
            self._made[fixture] = (master, filled)
        return self._made[fixture]

    def _chain(self, fixture: str):
        """Every job on one copy, as a year of use would run them; merge and consolidate one return each."""
        path = self._copy(fixture, "chain")
        jobs.validate_file(path, write=True, today=TODAY)
        jobs.carried_file(path, write=True, today=TODAY)
        jobs.gantt_file(path, today=TODAY)
        jobs.leads_file(path, write=True)
        made = jobs.make_returns_file(path, MONTH, path.parent / "sent", now=SENT)
        merged = jobs.merge_returns(path, [fill_return(made.returns[0].path, path.parent / "first.xlsx")], now=NOW)
        inbox = path.parent / "inbox"
        inbox.mkdir()
        if len(made.returns) > 1:
            fill_return(made.returns[1].path, inbox / "second.xlsx")
        consolidated = jobs.consolidate(path, inbox, today=TODAY, now=NOW).merge
        both = SimpleNamespace(changes=merged.changes + consolidated.changes,
                               report=SimpleNamespace(findings=merged.report.findings + consolidated.report.findings))
        return path, both

    def output(self, fixture: str, job: str) -> tuple[Path, object]:
        """(the master as the job left it, the job's result)."""
        key = (fixture, job)
        if key not in self._out:
            if job == "make":
                self._out[key] = (self.made(fixture)[0], None)
            elif job == CHAIN:
                self._out[key] = self._chain(fixture)
            elif job in ("merge", "consolidate"):
                made, filled = self.made(fixture)
                folder = self.root / "runs" / fixture.replace(":", "_") / job
                inbox = folder / "inbox"
                inbox.mkdir(parents=True)
                master = folder / made.name
                shutil.copyfile(made, master)
                shutil.copytree(made.parent / "sent", folder / "sent")
                back = inbox / "back.xlsx"
                shutil.copyfile(filled, back)
                if job == "merge":
                    result = jobs.merge_returns(master, [back], now=NOW)
                else:
                    result = jobs.consolidate(master, inbox, today=TODAY, now=NOW).merge
                self._out[key] = (master, result)
            else:
                path = self._copy(fixture, job)
                run = {"validate": lambda p: jobs.validate_file(p, write=True, today=TODAY),
                       "carried": lambda p: jobs.carried_file(p, write=True, today=TODAY),
                       "gantt": lambda p: jobs.gantt_file(p, today=TODAY),
                       "leads": lambda p: jobs.leads_file(p, write=True)}[job]
                self._out[key] = (path, run(path))
        return self._out[key]


@pytest.fixture(scope="session")
def cases(tmp_path_factory) -> Cases:
    return Cases(tmp_path_factory.mktemp("preservation"))


# ---------------------------------------------------------------- the checks

def merged_cells(job: str, result) -> set[str]:
    """Coordinates of the plan-sheet cells a merge wrote (none for the other jobs)."""
    if job not in ("merge", "consolidate", CHAIN):
        return set()
    return {c.cell for c in result.changes}


def preservation(original: Path, written: Path, plan_sheet: str, changed_cells: set[str]) -> list[str]:
    """(a), by package_compare; the plan sheet's merged cells (values a merge writes) are taken
    out of both sides first, so every other cell and element of that sheet is still checked."""
    before = _all_parts(original)
    extended = extended_parts(before, plan_sheet)
    sheet = sheet_parts(before)[plan_sheet]
    if not changed_cells:
        return preservation_problems(original, written, extended=extended, allow_removed=calc_chain(before))
    problems = preservation_problems(original, written, extended=extended - {sheet}, owned_prefixes=(sheet,),
                                     allow_removed=calc_chain(before))
    after = _all_parts(written)
    if sheet not in after:
        return problems + [f"{sheet}: missing from the written file"]
    found = extension_problems(without_cells(before[sheet], changed_cells), without_cells(after[sheet], changed_cells))
    return problems + [f"{sheet}: {p}" for p in found]


def plan_rows(plan):
    return [(a.ref, a.text, a.leads, a.timescale_text) for a in plan.actions]


def quiet_load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm")
    archive = getattr(wb, "vba_archive", None)
    if archive is not None:
        archive.close()
    return wb


def owned_sheets(wb) -> set[str]:
    return {ws.title for ws in wb.worksheets if kind_of(ws) is not None}


def owned_sheets_of(path: Path) -> set[str]:
    """xl_plan's sheets in a workbook, read lazily (only their first cells)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # openpyxl warns about extensions it does not read
        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            return owned_sheets(wb)
        finally:
            wb.close()


NO_CHAIN = {f"corpus:{name}" for name in corpus.FEATURES}          # corpus:all has every feature at once
NO_CHAIN.add("excel:closedxml_TemplateWithTableSourcePivotTables.xlsx")  # 29 sheets: a chain takes half a minute


def _cases() -> list:
    """(fixture, job) for every fixture and job, and the chain of all jobs on the fixtures that are
    not one corpus feature alone (nor the largest Excel-made file: its single jobs cover it)."""
    out = []
    for fx in _fixture_ids():
        for job in JOBS + (CHAIN,):
            if job == CHAIN and fx.values[0] in NO_CHAIN:
                continue
            out.append(pytest.param(fx.values[0], job, id=f"{fx.id}-{job}", marks=fx.marks))
    return out


@pytest.mark.parametrize(("fixture", "job"), _cases())
def test_a_job_keeps_the_users_package(cases, fixture, job, tmp_path):
    original, plan_sheet = cases.source(fixture)
    sheetnames0, plan0 = cases.read_original(fixture)
    written, result = cases.output(fixture, job)
    changed = merged_cells(job, result)
    if job in ("merge", "consolidate", CHAIN):
        assert changed, f"the merge changed nothing: {result.report.findings}"

    # (a) every part kept; the extended ones keep their elements
    problems = preservation(original, written, plan_sheet, changed)
    assert not problems, f"{fixture} x {job}:\n  - " + "\n  - ".join(problems)

    # (b) it opens in openpyxl, with the user's sheets in their places and the job's sheets
    wb = quiet_load(written)
    assert [n for n in wb.sheetnames if n in sheetnames0] == sheetnames0
    assert owned_sheets(wb) == OWNED_AFTER[job]

    # (c) the plan reads back the same
    plan1 = read_plan(written, sheet=plan_sheet, workbook=wb)
    assert plan_rows(plan1) == plan_rows(plan0)
    # (a merge's new update text may change a status read from the progress text, as in a plan
    # without a status column: statuses are compared on the rows the merge left alone)
    merged_rows = {c.row for c in result.changes} if changed else set()
    status_rows = {c.row for c in result.changes if c.field == "status"} if changed else set()
    for a0, a1 in zip(plan0.actions, plan1.actions):
        if a0.row in status_rows:
            assert a1.status is not None and a1.status.code == "red", (a1.ref, a1.status)
        elif a0.row not in merged_rows:
            assert (a1.status and a1.status.code) == (a0.status and a0.status.code), a1.ref

    # (d) unmark: only what the remaining xl_plan sheets own is left beyond the original parts
    unmarked = tmp_path / written.name
    shutil.copyfile(written, unmarked)
    jobs.unmark_file(unmarked)
    problems = preservation(original, unmarked, plan_sheet, changed)
    assert not problems, f"{fixture} x {job} x unmark:\n  - " + "\n  - ".join(problems)
    kept = OWNED_AFTER[job] - UNMARKED
    assert owned_sheets_of(unmarked) == kept
    parts0, parts1 = _all_parts(original), _all_parts(unmarked)
    by_sheet = sheet_parts(parts1)
    owned = set().union(*(closure(parts1, by_sheet[name]) for name in kept)) if kept else set()
    extra = set(parts1) - set(parts0)
    assert extra == owned - set(parts0), f"not xl_plan's: {sorted(extra - owned)}; missing: {sorted(owned - extra - set(parts0))}"
    if not kept:
        assert set(parts1) | calc_chain(parts0) == set(parts0) | calc_chain(parts0)


# ---------------------------------------------------------------- LibreOffice opens what the jobs wrote

@slow
@pytest.mark.parametrize("fixture", LIBREOFFICE_FIXTURES)
def test_libreoffice_converts_every_jobs_output(cases, fixture, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    inputs = []
    for job in JOBS:
        written, _ = cases.output(fixture, job)
        dest = tmp_path / "in" / f"{job}{written.suffix}"
        dest.parent.mkdir(exist_ok=True)
        shutil.copyfile(written, dest)
        inputs.append(dest)
    out = tmp_path / "pdf"
    profile = Path(tempfile.mkdtemp(prefix="lo-preservation-"))
    try:
        proc = subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                               "--convert-to", "pdf", "--outdir", str(out), *map(str, inputs)],
                              capture_output=True, timeout=240)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    failed = [p.stem for p in inputs if not (out / f"{p.stem}.pdf").exists()
              or not (out / f"{p.stem}.pdf").read_bytes().startswith(b"%PDF")]
    assert proc.returncode == 0 and not failed, (failed, proc.stdout[-2000:], proc.stderr[-2000:])


# ---------------------------------------------------------------- property: the real save path changes exactly the cells written

PROPERTY_FIXTURES = ["corpus:all", "sample:birmingham"]   # XlsxWriter-made; an Excel plan with merged cells
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.just("\n"), min_size=1, max_size=20).filter(
    lambda s: not s.startswith("="))
_values = st.one_of(st.none(), st.integers(-10**9, 10**9), st.floats(allow_nan=False, allow_infinity=False), _text)
_fills = st.sampled_from(["C6EFCE", "FFC7CE", "FFEB9C", None])
_writes = st.dictionaries(st.tuples(st.integers(1, 24), st.integers(1, 12)),
                          st.tuples(st.sampled_from(["value", "fill", "both"]), _values, _fills),
                          min_size=1, max_size=10)


@pytest.mark.parametrize("fixture", PROPERTY_FIXTURES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=_writes)
def test_random_writes_through_edit_plan_change_exactly_those_cells(cases, fixture, writes):
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter

    from xl_plan.io.save import SavePolicy
    from xl_plan.plan_file import edit_plan

    original, plan_sheet = cases.source(fixture)
    with tempfile.TemporaryDirectory(prefix="xlp-prop-") as tmp:
        path = Path(tmp) / original.name
        shutil.copyfile(original, path)
        edit = edit_plan(path, policy=SavePolicy(backup=False))
        ws = edit.wb[plan_sheet]
        wrote = {}
        merged = {(r, c) for rng in ws.merged_cells.ranges for r, c in rng.cells} - \
            {(rng.min_row, rng.min_col) for rng in ws.merged_cells.ranges}
        for (r, c), (what, value, fill) in writes.items():
            if (r, c) in merged:            # no cell of its own: the merged range's first cell holds it
                continue
            cell = ws.cell(r, c)
            if what in ("value", "both"):
                cell.value = value
            if what in ("fill", "both"):
                cell.fill = PatternFill("solid", fgColor=fill) if fill else PatternFill()
            wrote[f"{get_column_letter(c)}{r}"] = (what, value, fill)
        edit.save()
        sheet = sheet_parts(_all_parts(original))[plan_sheet]
        before_xml, after_xml = part_bytes(original, sheet), part_bytes(path, sheet)
        res = quiet_load(path)[plan_sheet]
        old = quiet_load(original)[plan_sheet]
    SafeET.fromstring(after_xml)
    before, after = cells_of(before_xml), cells_of(after_xml)
    for ref, xml in before.items():
        if ref not in wrote:
            assert after.get(ref) == xml, ref
    assert set(after) - set(before) <= set(wrote)
    # Nothing else in the sheet part: with the written cells out, the rest is byte for byte, but for
    # the rows made for new cells and the dimension grown to cover them.
    assert rest_of_sheet(after_xml, set(wrote), before_xml) == rest_of_sheet(before_xml, set(wrote), before_xml)
    for ref, (what, value, fill) in wrote.items():
        cell = res[ref]
        if what in ("value", "both"):
            assert cell.value == value, ref
        else:
            assert cell.value == old[ref].value, ref
        if what in ("fill", "both"):
            if fill is None:
                assert cell.fill.fill_type is None, ref
            else:
                assert cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == "FF" + fill, ref


_DIMENSION = re.compile(r'<dimension ref="([^"]*)"\s*/>')
_EMPTY_ROW = re.compile(r'<row r="(\d+)"[^>]*?(?:/>|>\s*</row>)')


def _bounds(ref: str) -> tuple[int, int, int, int]:
    from openpyxl.utils.cell import range_boundaries

    return range_boundaries(ref if ":" in ref else f"{ref}:{ref}")


def rest_of_sheet(xml: bytes, coords: set[str], original: bytes) -> bytes:
    """A worksheet part without the <c> of `coords`, without the rows that are then empty and were
    not in `original`, and with its dimension checked to cover the original's and then blanked."""
    text = without_cells(xml, coords).decode("utf-8")
    old_rows = set(re.findall(r'<row r="(\d+)"', original.decode("utf-8")))
    text = _EMPTY_ROW.sub(lambda m: m.group(0) if m.group(1) in old_rows else "", text)
    m, m0 = _DIMENSION.search(text), _DIMENSION.search(original.decode("utf-8"))
    if m and m0:
        c1, r1, c2, r2 = _bounds(m.group(1))
        d1, s1, d2, s2 = _bounds(m0.group(1))
        assert c1 <= d1 and r1 <= s1 and c2 >= d2 and r2 >= s2, f"dimension {m.group(1)} lost {m0.group(1)}"
        text = text[:m.start(1)] + text[m.end(1):]
    return text.encode("utf-8")
