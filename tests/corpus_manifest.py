"""Feature tags of the Excel-made fixtures, read from their parts (regenerates manifest.json).

    python tests/corpus_manifest.py [FOLDER]   # default tests/fixtures/excel_made

Each tag is derived from part names and a few marker elements, never from the file name, so
the manifest says what a file really holds:

  chart             xl/charts/chart*.xml (or chartEx)
  picture           xl/media/* placed by a drawing's <xdr:pic>
  pivot             xl/pivotTables/* with xl/pivotCache/pivotCacheRecords*
  slicer            xl/slicers/* or xl/slicerCaches/*
  threaded-comment  xl/threadedComments/* with xl/persons/*
  note              xl/comments*.xml (legacy notes)
  sparkline         <x14:sparklineGroups> in a sheet
  x14-cf / x14-dv   <x14:conditionalFormatting> / <x14:dataValidation(s)> in a sheet's extLst
  table             xl/tables/*
  control           a form control: xl/ctrlProps/* or a VML ObjectType other than Note and Pict
  activex           xl/activeX/*
  textbox           a drawing shape (<xdr:sp>) holding text: text boxes, and Excel's form-control shapes
  query             xl/queryTables/* or xl/connections.xml
  printer-settings  xl/printerSettings/*
  vba               xl/vbaProject.bin
  formula-cache     a sheet cell with <f> and a cached <v>
  custom-properties custom sheet properties (<customProperties>, xl/customProperty*.bin)
  ole-object        xl/embeddings/* (embedded documents)
"""
from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_FOLDER = HERE / "fixtures" / "excel_made"

TAGS = ("chart", "picture", "pivot", "slicer", "threaded-comment", "note", "sparkline",
        "x14-cf", "x14-dv", "table", "control", "activex", "textbox", "query",
        "printer-settings", "vba", "formula-cache", "custom-properties", "ole-object")


def application(path: Path) -> str:
    """docProps/app.xml's <Application>, or '' when the part or element is missing."""
    with zipfile.ZipFile(path) as z:
        try:
            app = z.read("docProps/app.xml").decode("utf-8", "replace")
        except KeyError:
            return ""
    m = re.search(r"<(?:\w+:)?Application>([^<]*)</", app)
    return m.group(1).strip() if m else ""


def features(path: Path) -> list[str]:
    """The feature tags (TAGS order) that the package's parts show."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        lower = [n.lower() for n in names]

        def text(name: str) -> str:
            return z.read(name).decode("utf-8", "replace")

        sheets = [text(n) for n, l in zip(names, lower)
                  if l.startswith("xl/worksheets/sheet") and l.endswith(".xml")]
        drawings = [text(n) for n, l in zip(names, lower)
                    if l.startswith("xl/drawings/") and l.endswith(".xml")]
        vml = [text(n) for n, l in zip(names, lower) if l.endswith(".vml")]
        has = set()

        def any_part(*prefixes: str) -> bool:
            return any(l.startswith(p) for l in lower for p in prefixes)

        if any_part("xl/charts/chart", "xl/charts/chartex"):
            has.add("chart")
        if any_part("xl/media/") and any("<xdr:pic>" in d or ":pic>" in d for d in drawings):
            has.add("picture")
        if any_part("xl/pivottables/") and any_part("xl/pivotcache/pivotcacherecords"):
            has.add("pivot")
        if any_part("xl/slicers/", "xl/slicercaches/"):
            has.add("slicer")
        if any_part("xl/threadedcomments/") and any_part("xl/persons/"):
            has.add("threaded-comment")
        if any(re.match(r"xl/comments\d*\.xml$", l) or re.match(r"xl/comments/", l) for l in lower):
            has.add("note")
        joined = "\n".join(sheets)
        if "sparklineGroups" in joined:
            has.add("sparkline")
        if re.search(r"<x14:conditionalFormatting\b", joined):
            has.add("x14-cf")
        if re.search(r"<x14:dataValidations?\b", joined):
            has.add("x14-dv")
        if any_part("xl/tables/"):
            has.add("table")
        object_types = {t for v in vml for t in re.findall(r'ObjectType="(\w+)"', v)}
        # Note = a legacy note; Pict = the preview of an OLE object or ActiveX control.
        if any_part("xl/ctrlprops/") or object_types - {"Note", "Pict"}:
            has.add("control")
        if any_part("xl/activex/"):
            has.add("activex")
        if any_part("xl/embeddings/"):
            has.add("ole-object")
        if any("<xdr:sp>" in d or "<xdr:sp " in d for d in drawings) and any("txBody" in d for d in drawings):
            has.add("textbox")
        if any_part("xl/querytables/", "xl/connections.xml"):
            has.add("query")
        if any_part("xl/printersettings/"):
            has.add("printer-settings")
        if any(l.endswith("vbaproject.bin") for l in lower):
            has.add("vba")
        if re.search(r"<f[ >][^<]*</f>\s*<v>", joined) or re.search(r"<f [^>]*/>\s*<v>", joined):
            has.add("formula-cache")
        if re.search(r"<customProperties\b", joined) or any_part("xl/customproperty"):
            has.add("custom-properties")
    return [t for t in TAGS if t in has]


def manifest(folder: Path) -> dict[str, list[str]]:
    return {p.name: features(p) for p in sorted(folder.iterdir())
            if p.suffix.lower() in (".xlsx", ".xlsm")}


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else DEFAULT_FOLDER
    out = folder / "manifest.json"
    out.write_text(json.dumps(manifest(folder), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
