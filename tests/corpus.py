"""Workbooks for the package-writer tests, made by writers other than xl_plan's.

`build_corpus(folder)` writes, with XlsxWriter, one workbook per feature a user's plan may carry
(chart, picture, sparklines, x14 conditional formats, a table, validation, notes, a text box, a
form button, a cell checkbox, formulas with cached values, defined names, print setup, VBA) and
one with all of them; each holds the same plain "Action Plan" sheet that xl_plan reads.

`add_plan_sheet(src, dest)` puts that plan sheet into an existing (Excel-made) package by text
edits of xl/workbook.xml, its rels and [Content_Types].xml only, so every other part stays
byte-for-byte as Excel wrote it.
"""
from __future__ import annotations

import posixpath
import re
import struct
import zipfile
import zlib
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

PLAN_SHEET = "Action Plan"
TITLE = "Anytown Council - Improvement Action Plan"
SUBTITLE = "Updated monthly; reported to the Improvement Board"
RAG_KEY = [("GREEN", "On target"), ("AMBER", "Some slippage"), ("RED", "Off track"), ("BLUE", "Complete")]
HEADERS = ["Ref", "Action", "Lead", "Timescale", "RAG status", "Progress update"]
ACTIONS = [
    ("1.1", "Audit strategy discussions monthly", "GT", "Mar-24", "Green", "Audits started in January."),
    ("1.2", "Train team managers on thresholds", "SK / JF", "Jun-24", "Amber", "Two of four sessions held."),
    ("1.3", "Update the threshold guidance", "GT", "Apr-24", "Blue", "Published on the intranet."),
    ("2.1", "Review the permanence panel process", "MW", "Sep-24", "Red", "Panel chair post vacant."),
    ("2.2", "Track children waiting over six months", "RB / MW", "Quarterly", "Green", "First report sent."),
    ("2.3", "Recruit two independent reviewing officers", "DM", "Dec-24", "Amber", "One post filled."),
    ("3.1", "Run a case file audit of care leavers", "LH", "Jul-24", "Green", "Audit tool agreed."),
    ("3.2", "Publish the local offer for care leavers", "SK", "Mar-25", "Amber", ""),
]
N_ACTIONS = len(ACTIONS)
# Rows (1-based) of the layout: title 1-2, key 4-7, header 9, actions 10-17.
KEY_ROW = 4
HEADER_ROW = 9
FIRST_ACTION_ROW = HEADER_ROW + 1
LAST_ACTION_ROW = HEADER_ROW + N_ACTIONS
RAG_FORMULA = '=IF(1>0,"Green","Red")'

FEATURES = ("plain", "chart", "image", "sparklines", "x14_cf", "table", "validation", "notes",
            "textbox", "button", "checkbox", "formulas", "defined_names", "print_setup", "vba")
TEMPLATE = Path(__file__).resolve().parent.parent / "workbook_template.xlsm"


# ---------------------------------------------------------------- helpers

def png_bytes(width: int = 24, height: int = 16, rgb: tuple[int, int, int] = (0, 112, 192)) -> bytes:
    """A small solid-colour PNG made in code (no image library)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row * height))
            + chunk(b"IEND", b""))


def template_vba() -> bytes:
    """xl/vbaProject.bin of the project's own template."""
    with zipfile.ZipFile(TEMPLATE) as z:
        return z.read("xl/vbaProject.bin")


# ---------------------------------------------------------------- XlsxWriter corpus

def _write_plan(wb, ws, *, as_table: bool = False, rag_formula: bool = False) -> None:
    bold = wb.add_format({"bold": True})
    ws.write(0, 0, TITLE, bold)
    ws.write(1, 0, SUBTITLE)
    for i, (word, meaning) in enumerate(RAG_KEY):
        ws.write(KEY_ROW - 1 + i, 0, word)
        ws.write(KEY_ROW - 1 + i, 1, meaning)
    ws.set_column(0, 0, 8)
    ws.set_column(1, 1, 42)
    ws.set_column(2, 4, 12)
    ws.set_column(5, 5, 36)
    if as_table:
        ws.add_table(HEADER_ROW - 1, 0, LAST_ACTION_ROW - 1, len(HEADERS) - 1, {
            "name": "PlanActions", "style": "Table Style Light 9",
            "columns": [{"header": h} for h in HEADERS], "data": [list(a) for a in ACTIONS],
        })
    else:
        ws.write_row(HEADER_ROW - 1, 0, HEADERS, bold)
        for r, action in enumerate(ACTIONS, start=FIRST_ACTION_ROW - 1):
            ws.write_row(r, 0, action)
    if rag_formula:
        ws.write_formula(FIRST_ACTION_ROW - 1, 4, RAG_FORMULA, None, "Green")


def _counts_sheet(wb):
    """A helper sheet: one count per status (formulas with cached values) and a trend grid."""
    ws = wb.add_worksheet("Counts")
    ws.write_row(0, 0, ["Status", "Actions"])
    statuses = ["Green", "Amber", "Red", "Blue"]
    for i, s in enumerate(statuses, start=1):
        ws.write(i, 0, s)
        cached = sum(1 for a in ACTIONS if a[4] == s)
        ws.write_formula(i, 1, f"=COUNTIF('{PLAN_SHEET}'!$E${FIRST_ACTION_ROW}:$E${LAST_ACTION_ROW},A{i + 1})",
                         None, cached)
    ws.write(6, 0, "Trend (percent complete by month)")
    for r in range(N_ACTIONS):
        ws.write_row(7 + r, 0, [(r * 7 + m * 13) % 100 for m in range(6)])
    return ws


def _add_feature(wb, ws, feature: str, anchor: str) -> None:
    action_range = f"E{FIRST_ACTION_ROW}:E{LAST_ACTION_ROW}"
    if feature == "chart":
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"name": "Actions by status", "categories": "=Counts!$A$2:$A$5",
                          "values": "=Counts!$B$2:$B$5"})
        chart.set_title({"name": "Actions by RAG status"})
        ws.insert_chart(anchor, chart, {"x_scale": 0.6, "y_scale": 0.6})
    elif feature == "image":
        ws.insert_image(anchor, "logo.png", {"image_data": BytesIO(png_bytes()), "x_scale": 2, "y_scale": 2})
    elif feature == "sparklines":
        for r in range(N_ACTIONS):
            ws.add_sparkline(FIRST_ACTION_ROW - 1 + r, 11, {"range": f"Counts!A{8 + r}:F{8 + r}", "markers": True})
    elif feature == "x14_cf":
        for r in range(N_ACTIONS):
            ws.write_number(FIRST_ACTION_ROW - 1 + r, 8, (r + 1) * 12)
            ws.write_number(FIRST_ACTION_ROW - 1 + r, 9, r % 3)
        ws.conditional_format(f"I{FIRST_ACTION_ROW}:I{LAST_ACTION_ROW}",
                              {"type": "data_bar", "bar_color": "#63BE7B", "bar_solid": True})
        ws.conditional_format(f"J{FIRST_ACTION_ROW}:J{LAST_ACTION_ROW}",
                              {"type": "icon_set", "icon_style": "3_traffic_lights"})
        green = wb.add_format({"bg_color": "#C6EFCE"})
        ws.conditional_format(action_range, {"type": "text", "criteria": "containing", "value": "Green",
                                              "format": green})
    elif feature == "table":
        pass  # written by _write_plan(as_table=True)
    elif feature == "validation":
        ws.data_validation(action_range, {"validate": "list", "source": ["Green", "Amber", "Red", "Blue"],
                                          "input_title": "RAG status", "input_message": "Pick a status"})
    elif feature == "notes":
        ws.write_comment(f"B{FIRST_ACTION_ROW}", "Check the audit dates with GT.", {"author": "Jo Bloggs"})
        ws.write_comment(f"F{FIRST_ACTION_ROW + 3}", "Chair interviews on the 14th.", {"author": "Sam Khan"})
    elif feature == "textbox":
        ws.insert_textbox(anchor, "Board meets on the first Tuesday of each month.",
                          {"width": 240, "height": 60, "font": {"color": "#1F497D"}})
    elif feature == "button":
        ws.insert_button("I8", {"caption": "Refresh", "macro": "Refresh", "width": 90, "height": 24})
    elif feature == "checkbox":
        for r in range(N_ACTIONS):
            ws.insert_checkbox(FIRST_ACTION_ROW - 1 + r, 7, ACTIONS[r][4] == "Blue")
    elif feature == "formulas":
        ws.write_formula(1, 7, f'=COUNTA(A{FIRST_ACTION_ROW}:A{LAST_ACTION_ROW})&" actions"', None,
                         f"{N_ACTIONS} actions")
    elif feature == "defined_names":
        wb.define_name("PlanActions_Range", f"='{PLAN_SHEET}'!$A${HEADER_ROW}:$F${LAST_ACTION_ROW}")
        wb.define_name(f"'{PLAN_SHEET}'!RagColumn", f"='{PLAN_SHEET}'!$E${FIRST_ACTION_ROW}:$E${LAST_ACTION_ROW}")
    elif feature == "print_setup":
        ws.set_paper(9)
        ws.set_landscape()
        ws.repeat_rows(HEADER_ROW - 1)
        ws.fit_to_pages(1, 0)
        ws.print_area(0, 0, LAST_ACTION_ROW - 1, len(HEADERS) - 1)
        ws.set_header("&L&\"Calibri,Bold\"Improvement Plan&RPage &P of &N")
    elif feature == "vba":
        wb.add_vba_project(BytesIO(template_vba()), is_stream=True)
    else:
        raise ValueError(f"unknown corpus feature {feature!r}")


NEEDS_COUNTS = {"chart", "sparklines", "formulas"}


def build_workbook(path: Path, features: tuple[str, ...]) -> Path:
    """One workbook holding the plan sheet and `features` (names from FEATURES)."""
    import xlsxwriter

    path = Path(path)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(PLAN_SHEET)
    _write_plan(wb, ws, as_table="table" in features, rag_formula="formulas" in features)
    if NEEDS_COUNTS & set(features):
        _counts_sheet(wb)
    # One anchor each, so the drawings of the all-in-one workbook do not overlap.
    anchors = {"chart": "I2", "image": "I20", "textbox": "P2"} if len(features) > 1 else {}
    for feature in features:
        _add_feature(wb, ws, feature, anchors.get(feature, "I2"))
    wb.close()
    return path


def build_corpus(folder: Path) -> dict[str, Path]:
    """Write the corpus into `folder`: name -> path, one workbook per feature plus "all"."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for feature in FEATURES:
        suffix = ".xlsm" if feature == "vba" else ".xlsx"
        out[feature] = build_workbook(folder / f"corpus_{feature}{suffix}", (feature,) if feature != "plain" else ())
    everything = tuple(f for f in FEATURES if f != "plain")
    out["all"] = build_workbook(folder / "corpus_all.xlsm", everything)
    return out


# ---------------------------------------------------------------- plan sheet into an existing package

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_WORKSHEET = NS_R + "/worksheet"
REL_OFFICE_DOCUMENT = NS_R + "/officeDocument"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def plan_sheet_xml() -> bytes:
    """The plan sheet as a worksheet part: inline strings only, no styles."""
    rows: dict[int, list[str]] = {1: [TITLE], 2: [SUBTITLE]}
    for i, pair in enumerate(RAG_KEY):
        rows[KEY_ROW + i] = list(pair)
    rows[HEADER_ROW] = HEADERS
    for i, action in enumerate(ACTIONS):
        rows[FIRST_ACTION_ROW + i] = list(action)
    out = []
    for r in sorted(rows):
        cells = "".join(
            f'<c r="{_col(c)}{r}" t="inlineStr"><is><t xml:space="preserve">{escape(v)}</t></is></c>'
            for c, v in enumerate(rows[r]) if v != "")
        out.append(f'<row r="{r}">{cells}</row>')
    last = f"{_col(len(HEADERS) - 1)}{LAST_ACTION_ROW}"
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}"><dimension ref="A1:{last}"/>'
            f'<sheetData>{"".join(out)}</sheetData></worksheet>').encode()


def _rels_name(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def _attr(tag: str, name: str) -> str | None:
    m = re.search(rf"""\s{re.escape(name)}\s*=\s*("([^"]*)"|'([^']*)')""", tag)
    return None if m is None else (m.group(2) if m.group(2) is not None else m.group(3))


def _insert_before_close(xml: str, local: str, text: str, where: str) -> str:
    """Put `text` just before the closing tag of the first `local` element (any prefix)."""
    m = re.search(rf"</((?:[\w.-]+:)?{re.escape(local)})\s*>", xml)
    if m is None:
        m2 = re.search(rf"<((?:[\w.-]+:)?{re.escape(local)})(\s[^>]*)?/>", xml)
        if m2 is None:
            raise ValueError(f"{where} has no <{local}> element")
        opened = m2.group(0)[:-2] + ">"
        return xml[:m2.start()] + opened + text + f"</{m2.group(1)}>" + xml[m2.end():]
    return xml[:m.start()] + text + xml[m.start():]


def _prefix_for(xml: str, uri: str) -> str | None:
    """The prefix bound to `uri` on the root element ('' for a default namespace), or None."""
    root = re.search(r"<(?!\?|!)[^>]*>", xml).group(0)
    for m in re.finditer(r'xmlns(?::([\w.-]+))?\s*=\s*"([^"]*)"', root):
        if m.group(2) == uri:
            return m.group(1) or ""
    return None


def add_plan_sheet(src: Path, dest: Path, *, name: str = PLAN_SHEET) -> str:
    """Copy package `src` to `dest` with the plan sheet added as the last tab; return its part name.

    Only the workbook part, the workbook's rels and [Content_Types].xml change, each by inserting
    one element as text; every other entry is copied with its uncompressed bytes unchanged."""
    src, dest = Path(src), Path(dest)
    with zipfile.ZipFile(src) as zin:
        infos = zin.infolist()
        data = {i.filename: zin.read(i.filename) for i in infos}
    lower = {n.lower(): n for n in data}

    root_rels = data["_rels/.rels"].decode("utf-8")
    wb_part = None
    for rel in re.findall(r"<(?:[\w.-]+:)?Relationship\b[^>]*>", root_rels):
        if _attr(rel, "Type") == REL_OFFICE_DOCUMENT:
            wb_part = _attr(rel, "Target").lstrip("/")
    if wb_part is None or wb_part.lower() not in lower:
        raise ValueError(f"{src.name}: no workbook part found from _rels/.rels")
    wb_part = lower[wb_part.lower()]
    wb_rels = lower.get(_rels_name(wb_part).lower(), _rels_name(wb_part))

    n = 1
    sheet_dir = posixpath.join(posixpath.dirname(wb_part), "worksheets")
    while f"{sheet_dir}/sheet{n}.xml".lower() in lower:
        n += 1
    sheet_part = f"{sheet_dir}/sheet{n}.xml"
    target = posixpath.relpath(sheet_part, posixpath.dirname(wb_part) or ".")

    rels = data.get(wb_rels, b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    b"</Relationships>").decode("utf-8")
    ids = set(re.findall(r'\sId\s*=\s*"([^"]*)"', rels))
    k = 1
    while f"rIdXlp{k}" in ids:
        k += 1
    rid = f"rIdXlp{k}"
    rel_prefix = _prefix_for(rels, "http://schemas.openxmlformats.org/package/2006/relationships")
    rel_tag = f"{rel_prefix}:Relationship" if rel_prefix else "Relationship"
    rels = _insert_before_close(rels, "Relationships",
                                f'<{rel_tag} Id="{rid}" Type="{REL_WORKSHEET}" Target="{target}"/>', wb_rels)

    wb_xml = data[wb_part].decode("utf-8")
    names = [_attr(t, "name") for t in re.findall(r"<(?:[\w.-]+:)?sheet\b[^>]*>", wb_xml)]
    if any(x is not None and x.lower() == name.lower() for x in names):
        raise ValueError(f"{src.name} already has a sheet called {name!r}")
    sheet_ids = [int(x) for x in re.findall(r"<(?:[\w.-]+:)?sheet\b[^>]*\ssheetId\s*=\s*\"(\d+)\"", wb_xml)]
    main = _prefix_for(wb_xml, NS_MAIN)
    r_prefix = _prefix_for(wb_xml, NS_R)
    tag = f"{main}:sheet" if main else "sheet"
    rid_attr = f'{r_prefix}:id="{rid}"' if r_prefix else f'xmlns:xlpr="{NS_R}" xlpr:id="{rid}"'
    wb_xml = _insert_before_close(
        wb_xml, "sheets", f"<{tag} name={quoteattr(name)} sheetId=\"{max(sheet_ids, default=0) + 1}\" {rid_attr}/>",
        wb_part)

    ct = data["[Content_Types].xml"].decode("utf-8")
    ct_prefix = _prefix_for(ct, "http://schemas.openxmlformats.org/package/2006/content-types")
    ct_tag = f"{ct_prefix}:Override" if ct_prefix else "Override"
    ct = _insert_before_close(ct, "Types", f'<{ct_tag} PartName="/{sheet_part}" ContentType="{CT_WORKSHEET}"/>',
                              "[Content_Types].xml")

    changed = {wb_part: wb_xml.encode("utf-8"), wb_rels: rels.encode("utf-8"),
               "[Content_Types].xml": ct.encode("utf-8")}
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            zout.writestr(info, changed.get(info.filename, data[info.filename]))
        if wb_rels not in data:
            zout.writestr(wb_rels, changed[wb_rels])
        zout.writestr(sheet_part, plan_sheet_xml())
    return sheet_part


# ---------------------------------------------------------------- the Excel-made fixtures

EXCEL_MADE_NOTES = Path(__file__).resolve().parent / "fixtures" / "excel_made"


def excel_made_folder() -> Path | None:
    """Where the Excel-made fixtures are: $XL_PLAN_EXCEL_MADE, ../shared/excel-made beside the
    checkout, or tests/fixtures/excel_made; None when no folder holds any of them."""
    import os

    root = Path(__file__).resolve().parent.parent
    candidates = [Path(os.environ["XL_PLAN_EXCEL_MADE"])] if os.environ.get("XL_PLAN_EXCEL_MADE") else []
    candidates += [root.parent / "shared" / "excel-made", EXCEL_MADE_NOTES]
    for folder in candidates:
        if any(folder.glob("*.xls[xm]")):
            return folder
    return None


def excel_made_files() -> dict[str, Path]:
    """name -> path of each Excel-made fixture found (see LICENCES.md), each checked against the
    sha256 in sources.json so a fixture is the file as fetched, never an edited copy."""
    import hashlib
    import json

    folder = excel_made_folder()
    if folder is None:
        return {}
    sources = json.loads((EXCEL_MADE_NOTES / "sources.json").read_text(encoding="utf-8"))
    found = {}
    for name, source in sources.items():
        path = folder / name
        if not path.exists():
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != source["sha256"]:
            raise AssertionError(f"{path} is not the file fetched from {source['repository']} "
                                 f"{source['path']} (sha256 {digest}, expected {source['sha256']})")
        found[name] = path
    return found
