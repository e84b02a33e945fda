"""The preservation checker (package_compare) and the corpus it will judge writers on.

First the checker itself: it must pass a faithful copy and fail each kind of damage, naming
the part. Then every corpus workbook (XlsxWriter-made) and every Excel-made fixture with a plan
sheet added: each passes the checker, opens in openpyxl and reads as an 8-action plan.
"""
from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import corpus
import pytest
from corpus_manifest import features
from package_compare import (
    assert_preserved,
    part_bytes,
    parts_of,
    preservation_problems,
)

WORKBOOK_PARTS = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    return corpus.build_corpus(tmp_path_factory.mktemp("corpus"))


def rewrite(src: Path, dest: Path, changes: dict[str, bytes | None]) -> Path:
    """Copy a package, replacing (bytes), removing (None) or adding parts; others byte-identical."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in changes:
                if changes[info.filename] is not None:
                    zout.writestr(info.filename, changes[info.filename])
            else:
                zout.writestr(info, zin.read(info.filename))
        for name, data in changes.items():
            if name not in zin.namelist() and data is not None:
                zout.writestr(name, data)
    return dest


def problems_text(original: Path, written: Path, **kw) -> str:
    with pytest.raises(AssertionError) as err:
        assert_preserved(original, written, **kw)
    return str(err.value)


# ---------------------------------------------------------------- the checker

def test_an_identical_copy_passes(built, tmp_path):
    src = built["all"]
    copy = tmp_path / src.name
    shutil.copyfile(src, copy)
    assert_preserved(src, copy)


def test_a_recompressed_reordered_copy_passes(built, tmp_path):
    src = built["all"]
    out = tmp_path / src.name
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        for name in reversed(zin.namelist()):
            zout.writestr(name, zin.read(name))
    assert_preserved(src, out)


def test_parts_of_and_part_bytes(built):
    names = parts_of(built["chart"])
    assert {"[Content_Types].xml", "xl/workbook.xml", "xl/charts/chart1.xml"} <= names
    assert part_bytes(built["chart"], "xl/charts/chart1.xml").startswith(b"<?xml")


def test_one_changed_byte_in_a_chart_fails_naming_the_chart(built, tmp_path):
    src = built["chart"]
    chart = part_bytes(src, "xl/charts/chart1.xml")
    i = chart.index(b'<c:barDir val="col"/>') + len(b'<c:barDir val="')
    changed = chart[:i] + b"C" + chart[i + 1:]  # one byte: val="Col"
    bad = rewrite(src, tmp_path / "bad.xlsx", {"xl/charts/chart1.xml": changed})
    text = problems_text(src, bad)
    assert "xl/charts/chart1.xml: changed" in text
    assert f"first difference at byte {i}:" in text
    assert text.count("\n  - ") == 1, text  # that part only


def test_an_element_removed_from_styles_fails_even_as_extended(built, tmp_path):
    src = built["plain"]
    styles = part_bytes(src, "xl/styles.xml").decode()
    assert "<cellStyles" in styles
    start = styles.index("<cellStyle ")
    end = styles.index("/>", start) + 2
    bad = rewrite(src, tmp_path / "bad.xlsx", {"xl/styles.xml": (styles[:start] + styles[end:]).encode()})
    assert "xl/styles.xml: changed" in problems_text(src, bad)
    text = problems_text(src, bad, extended={"xl/styles.xml"})
    assert "xl/styles.xml: extended part does not keep the original" in text
    assert "element removed or changed: <styleSheet/cellStyles/cellStyle" in text


def test_an_element_added_to_styles_passes_when_styles_is_extended(built, tmp_path):
    src = built["plain"]
    styles = part_bytes(src, "xl/styles.xml").decode()
    fonts_open = styles[styles.index("<fonts "):styles.index(">", styles.index("<fonts ")) + 1]
    count = int(fonts_open.split('count="')[1].split('"')[0])
    grown = fonts_open.replace(f'count="{count}"', f'count="{count + 1}"')
    new_font = '<font><b/><sz val="11"/><color rgb="FF00B050"/><name val="Calibri"/><family val="2"/></font>'
    extended = styles.replace(fonts_open, grown).replace("</fonts>", new_font + "</fonts>")
    out = rewrite(src, tmp_path / "out.xlsx", {"xl/styles.xml": extended.encode()})
    assert_preserved(src, out, extended={"xl/styles.xml"})
    assert "xl/styles.xml: changed" in problems_text(src, out)


def test_an_attribute_changed_in_an_extended_part_fails(built, tmp_path):
    src = built["plain"]
    styles = part_bytes(src, "xl/styles.xml").decode()
    changed = styles.replace('<sz val="11"/>', '<sz val="12"/>', 1)
    assert changed != styles
    bad = rewrite(src, tmp_path / "bad.xlsx", {"xl/styles.xml": changed.encode()})
    text = problems_text(src, bad, extended={"xl/styles.xml"})
    assert '<styleSheet/fonts/font/sz val="11">' in text


def test_a_shrinking_count_fails_in_an_extended_part(built, tmp_path):
    src = built["plain"]
    styles = part_bytes(src, "xl/styles.xml").decode()
    opening = styles[styles.index("<fonts "):styles.index(">", styles.index("<fonts ")) + 1]
    count = int(opening.split('count="')[1].split('"')[0])
    bad = rewrite(src, tmp_path / "bad.xlsx", {"xl/styles.xml": styles.replace(
        opening, opening.replace(f'count="{count}"', f'count="{count - 1}"')).encode()})
    assert f"count='{count}' became '{count - 1}'" in problems_text(src, bad, extended={"xl/styles.xml"})


def test_a_dangling_relationship_fails(built, tmp_path):
    src = built["plain"]
    rels = part_bytes(src, "xl/_rels/workbook.xml.rels").decode()
    rels = rels.replace("</Relationships>", '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet9.xml"/></Relationships>')
    bad = rewrite(src, tmp_path / "bad.xlsx", {"xl/_rels/workbook.xml.rels": rels.encode()})
    text = problems_text(src, bad, extended={"xl/_rels/workbook.xml.rels"})
    assert "xl/_rels/workbook.xml.rels: relationship rId99 (worksheet) targets 'worksheets/sheet9.xml'" in text
    assert "'xl/worksheets/sheet9.xml', a part that is not there" in text


def test_an_external_relationship_is_not_a_dangling_one(built, tmp_path):
    src = built["plain"]
    rels = part_bytes(src, "xl/_rels/workbook.xml.rels").decode()
    rels = rels.replace("</Relationships>", '<Relationship Id="rId98" Type="http://schemas.openxmlformats.org/'
                        'officeDocument/2006/relationships/hyperlink" Target="https://example.org/plan" '
                        'TargetMode="External"/></Relationships>')
    out = rewrite(src, tmp_path / "out.xlsx", {"xl/_rels/workbook.xml.rels": rels.encode()})
    assert_preserved(src, out, extended={"xl/_rels/workbook.xml.rels"})


def test_a_missing_part_fails_unless_allowed(built, tmp_path):
    src = built["plain"]
    bad = rewrite(src, tmp_path / "bad.xlsx", {"docProps/core.xml": None})
    text = problems_text(src, bad)
    assert "docProps/core.xml: missing from the written file" in text
    assert "docProps/core.xml', a part that is not there" in text  # _rels/.rels still points at it
    text = problems_text(src, bad, allow_removed={"docProps/core.xml"})
    assert "missing from" not in text


def test_a_part_without_a_content_type_fails(built, tmp_path):
    src = built["plain"]
    bad = rewrite(src, tmp_path / "bad.xlsx", {"xl/extra.bin": b"\x00\x01"})
    assert "xl/extra.bin: no content type" in problems_text(src, bad)


def test_an_xml_part_that_does_not_parse_fails(built, tmp_path):
    src = built["plain"]
    bad = rewrite(src, tmp_path / "bad.xlsx", {"docProps/app.xml": b"<Properties><Application>"})
    text = problems_text(src, bad, owned_prefixes=("docProps/app.xml",))
    assert "written file: docProps/app.xml: does not parse as XML" in text


def test_an_owned_part_may_change(built, tmp_path):
    src = built["plain"]
    sheet = part_bytes(src, "xl/worksheets/sheet1.xml").replace(b'workbookViewId="0"', b'workbookViewId="0" zoomScale="90"')
    assert b"zoomScale" in sheet
    out = rewrite(src, tmp_path / "out.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    assert_preserved(src, out, owned_prefixes=("xl/worksheets/sheet1.xml",))
    assert "xl/worksheets/sheet1.xml: changed" in problems_text(src, out)


def test_every_difference_is_listed_at_once(built, tmp_path):
    src = built["all"]
    bad = rewrite(src, tmp_path / "bad.xlsm", {"xl/charts/chart1.xml": b"<c:chartSpace/>",
                                               "xl/vbaProject.bin": b"", "xl/theme/theme1.xml": None})
    problems = preservation_problems(src, bad)
    names = {p.split(":")[0] for p in problems}
    assert {"xl/charts/chart1.xml", "xl/vbaProject.bin", "xl/theme/theme1.xml"} <= names


# ---------------------------------------------------------------- the XlsxWriter corpus

EXPECTED_TAGS = {
    "chart": "chart", "image": "picture", "sparklines": "sparkline", "x14_cf": "x14-cf", "table": "table",
    "notes": "note", "textbox": "textbox", "button": "control", "formulas": "formula-cache", "vba": "vba",
}


def open_and_read(path: Path):
    """(the openpyxl workbook, read_plan's actions) from one load; the macro archive openpyxl keeps for an .xlsm is closed after, as
    leaving it to the garbage collector warns (ValueError in ZipFile.__del__)."""
    from xl_plan.io.workbook import load
    from xl_plan.layout.detect import read_plan

    wb = load(path)
    try:
        return wb, read_plan(path, workbook=wb).actions
    finally:
        archive = getattr(wb, "vba_archive", None)
        if archive is not None:
            archive.close()


@pytest.mark.parametrize("name", list(corpus.FEATURES) + ["all"])
def test_each_corpus_workbook_is_sound_and_reads_as_a_plan(built, name):
    import openpyxl

    path = built[name]
    assert_preserved(path, path)
    wb, actions = open_and_read(path)
    assert isinstance(wb, openpyxl.Workbook) and wb.sheetnames[0] == corpus.PLAN_SHEET
    assert [a.ref for a in actions] == [a[0] for a in corpus.ACTIONS]
    tags = set(features(path))
    wanted = set(EXPECTED_TAGS.values()) if name == "all" else {EXPECTED_TAGS.get(name)} - {None}
    assert wanted <= tags, f"{path.name} lacks {wanted - tags}"


def test_the_corpus_holds_what_each_feature_says(built):
    def text(name, part):
        return part_bytes(built[name], part).decode()

    assert 'type="list"' in text("validation", "xl/worksheets/sheet1.xml")
    assert "<definedName name=\"PlanActions_Range\">" in text("defined_names", "xl/workbook.xml")
    assert "localSheetId=\"0\"" in text("defined_names", "xl/workbook.xml")
    sheet = text("print_setup", "xl/worksheets/sheet1.xml")
    assert 'paperSize="9"' in sheet and 'orientation="landscape"' in sheet
    assert "_xlnm.Print_Titles" in text("print_setup", "xl/workbook.xml")
    assert "xl/featurePropertyBag/featurePropertyBag.xml" in parts_of(built["checkbox"])
    assert "Jo Bloggs" in text("notes", "xl/comments1.xml")
    formulas = text("formulas", "xl/worksheets/sheet1.xml")
    assert '<f>IF(1&gt;0,"Green","Red")</f><v>Green</v>' in formulas
    assert part_bytes(built["vba"], "xl/vbaProject.bin") == corpus.template_vba()
    assert "dataBar" in text("x14_cf", "xl/worksheets/sheet1.xml") and "iconSet" in text("x14_cf", "xl/worksheets/sheet1.xml")


# ---------------------------------------------------------------- the Excel-made fixtures

EXCEL_MADE = corpus.excel_made_files()
needs_excel_made = pytest.mark.skipif(not EXCEL_MADE, reason="Excel-made fixtures not present (see "
                                      "tests/fixtures/excel_made/LICENCES.md)")


def test_the_manifest_and_sources_list_the_same_files():
    manifest = json.loads((corpus.EXCEL_MADE_NOTES / "manifest.json").read_text())
    sources = json.loads((corpus.EXCEL_MADE_NOTES / "sources.json").read_text())
    assert set(manifest) == set(sources)
    assert all("Excel" in s["application"] for s in sources.values())


@needs_excel_made
def test_the_manifest_is_up_to_date():
    manifest = json.loads((corpus.EXCEL_MADE_NOTES / "manifest.json").read_text())
    for name, path in EXCEL_MADE.items():
        assert features(path) == manifest[name], name


@pytest.mark.slow
@needs_excel_made
@pytest.mark.parametrize("name", sorted(EXCEL_MADE) or ["none"])
def test_an_excel_made_file_with_a_plan_sheet_added(name, tmp_path):
    import openpyxl

    original = EXCEL_MADE[name]
    planned = tmp_path / name
    sheet_part = corpus.add_plan_sheet(original, planned)
    assert_preserved(planned, planned)
    assert_preserved(original, planned, extended=WORKBOOK_PARTS, owned_prefixes=(sheet_part,))
    assert parts_of(planned) - parts_of(original) == {sheet_part}
    wb, actions = open_and_read(planned)
    assert isinstance(wb, openpyxl.Workbook) and wb.sheetnames[-1] == corpus.PLAN_SHEET
    assert [a.ref for a in actions] == [a[0] for a in corpus.ACTIONS]


def test_add_plan_sheet_on_a_prefixed_package(built, tmp_path):
    """A package whose workbook uses a prefix for the main namespace (x:workbook, as the Open XML
    SDK writes) still gets its sheet element in that namespace."""
    src = built["plain"]
    wb_xml = part_bytes(src, "xl/workbook.xml").decode()
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    prefixed = wb_xml.replace(ns, ns.replace("xmlns=", "xmlns:x="))
    prefixed = re.sub(r"<(/?)(\w+)(?=[\s/>])", r"<\1x:\2", prefixed)
    moved = rewrite(src, tmp_path / "prefixed.xlsx", {"xl/workbook.xml": prefixed.encode()})
    out = tmp_path / "out.xlsx"
    part = corpus.add_plan_sheet(moved, out, name="Plan 2")
    assert_preserved(moved, out, extended=WORKBOOK_PARTS, owned_prefixes=(part,))
    assert '<x:sheet name="Plan 2"' in part_bytes(out, "xl/workbook.xml").decode()


def test_a_rag_formula_reads_as_its_cached_value(built):
    """The RAG cell =IF(1>0,"Green","Red"), cached "Green", reads as Green (not as its formula text)."""
    _, actions = open_and_read(built["formulas"])
    assert actions[0].status.code == "green"
