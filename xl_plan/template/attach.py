"""Turn a council's existing plan (.xlsx) into a macro-enabled copy (.xlsm) with the
"Action Plan" ribbon, without changing its layout, and start a new plan from the
template.

The workbook is changed at the zip/XML level, never round-tripped through openpyxl:
the only edits are the workbook's content type, the ``codeName`` attributes that tie
the workbook and its sheets to their VBA document modules, and the new parts
(``vbaProject.bin``, ``customUI/customUI14.xml``) with their relationships and content
types. Every other part keeps its exact bytes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from xl_plan.io.files import write_atomic
from xl_plan.io.package import (
    CT_CUSTOMUI,
    CT_MACRO_WORKBOOK,
    CT_VBA,
    CT_WORKBOOK,
    NS_MAIN,
    NS_R,
    REL_UI_2009,
    REL_VBA,
    Package,
    PackageError,
    _decode,
    _encode,
    _root_prefix,
    add_relationship,
    content_type_of,
    element_xml,
    find_start_tag,
    parse,
    relationships,
    set_attribute,
    set_override,
    tag_attributes,
    vba_part,
    workbook_part,
)

from . import TemplateError
from .sources import ribbon_xml, vba_project

REL_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
REL_CHARTSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet"
CUSTOMUI_PART = "customUI/customUI14.xml"

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")


def _unique_name(base: str, used: set[str]) -> str:
    n = 1
    while f"{base}{n}".upper() in used:
        n += 1
    return f"{base}{n}"


def _set_code_name(xml: str, root_local: str, pr_local: str, code_name: str,
                   after: tuple[str, ...] = ()) -> str:
    """Set codeName on the root's ``pr_local`` element, adding ``<pr codeName=".."/>``
    when there is none (placed after the first existing element named in ``after``,
    else first in the root)."""
    prefix, _, root_end = _root_prefix(xml, root_local)
    span = find_start_tag(xml, prefix, pr_local, root_end)
    if span is not None:
        return set_attribute(xml, span, "codeName", code_name)
    pos = root_end
    for local in after:
        s = find_start_tag(xml, prefix, local, root_end)
        if s is not None:
            end = s[1]
            if not xml[s[0]:s[1]].endswith("/>"):
                close = xml.find(f"</{prefix}{local}>", end)
                end = close + len(f"</{prefix}{local}>")
            pos = max(pos, end)
    frag = element_xml(prefix + pr_local, {"codeName": code_name})
    return xml[:pos] + frag + xml[pos:]


def _existing_code_name(xml: str, root_local: str, pr_local: str) -> str | None:
    prefix, _, root_end = _root_prefix(xml, root_local)
    span = find_start_tag(xml, prefix, pr_local, root_end)
    if span is None:
        return None
    return tag_attributes(xml[span[0]:span[1]]).get("codeName")


def make_macro_enabled(pkg: Package, source_name: str = "the workbook") -> Package:
    """Add the VBA project and the ribbon to ``pkg`` (an .xlsx package), in place."""
    try:
        wb = workbook_part(pkg)
    except PackageError as exc:
        raise TemplateError(f"{source_name}: {exc}") from None
    if vba_part(pkg) is not None or any(m.name.lower().endswith("vbaproject.bin") for m in pkg.members):
        raise TemplateError(f"{source_name} already has macros (a VBA project). Attach works on a "
                            "plain .xlsx workbook: save a copy as .xlsx without macros first.")
    ct = content_type_of(pkg, wb)
    if ct != CT_WORKBOOK:
        raise TemplateError(f"{source_name} is not a plain Excel workbook (.xlsx) (its type is {ct}).")
    if pkg.has(CUSTOMUI_PART):
        raise TemplateError(f"{source_name} already has a custom ribbon ({CUSTOMUI_PART}).")

    wb_text, wb_enc = _decode(pkg.get(wb))
    root = parse(pkg.get(wb))
    rels = {r.id: r for r in relationships(pkg, wb)}
    sheets = []  # (member name, kind)
    for s in root.iter(f"{{{NS_MAIN}}}sheet"):
        rel = rels.get(s.get(f"{{{NS_R}}}id", ""))
        if rel is None or not pkg.has(rel.part):
            raise TemplateError(f"{source_name}: sheet {s.get('name')!r} is missing from the file.")
        if rel.type == REL_WORKSHEET:
            kind = "worksheet"
        elif rel.type == REL_CHARTSHEET:
            kind = "chartsheet"
        else:
            raise TemplateError(f"{source_name}: sheet {s.get('name')!r} is an old-style macro or "
                                "dialog sheet; remove it, save, and try again.")
        sheets.append((rel.part, kind))

    # Code names: keep valid existing ones, give the others ThisWorkbook / SheetN.
    used: set[str] = set()
    wb_code = _existing_code_name(wb_text, "workbook", "workbookPr")
    if not (wb_code and _IDENT.match(wb_code)):
        wb_code = "ThisWorkbook"
    used.add(wb_code.upper())
    existing = []
    for part, kind in sheets:
        text, _ = _decode(pkg.get(part))
        existing.append(_existing_code_name(text, kind, "sheetPr"))
    for code in existing:
        if code and _IDENT.match(code) and code.upper() not in used:
            used.add(code.upper())
    codes: list[str] = []
    taken: set[str] = set()
    for code in existing:
        if code and _IDENT.match(code) and code.upper() not in taken and code.upper() != wb_code.upper():
            codes.append(code)
        else:
            code = _unique_name("Sheet", used)
            used.add(code.upper())
            codes.append(code)
        taken.add(codes[-1].upper())

    # Edits: only codeName attributes in the workbook and sheet parts.
    if _existing_code_name(wb_text, "workbook", "workbookPr") != wb_code:
        pkg.set(wb, _encode(_set_code_name(wb_text, "workbook", "workbookPr", wb_code,
                                           after=("fileVersion", "fileSharing")), wb_enc))
    for (part, kind), code, old in zip(sheets, codes, existing):
        if old != code:
            text, enc = _decode(pkg.get(part))
            pkg.set(part, _encode(_set_code_name(text, kind, "sheetPr", code), enc))

    vba_member = (os.path.dirname(wb) + "/vbaProject.bin").lstrip("/")
    pkg.set(vba_member, vba_project(wb_code, [(c, k) for c, (_, k) in zip(codes, sheets)]))
    pkg.set(CUSTOMUI_PART, ribbon_xml())
    set_override(pkg, wb, CT_MACRO_WORKBOOK)
    set_override(pkg, vba_member, CT_VBA)
    set_override(pkg, CUSTOMUI_PART, CT_CUSTOMUI)
    add_relationship(pkg, wb, REL_VBA, "vbaProject.bin")
    add_relationship(pkg, "", REL_UI_2009, CUSTOMUI_PART)
    return pkg


def attach(existing_xlsx: str | os.PathLike, dest_xlsm: str | os.PathLike | None = None,
           *, overwrite: bool = False) -> Path:
    """Write a macro-enabled copy of ``existing_xlsx`` with the ribbon and macros.

    ``dest_xlsm`` defaults to the same name with ``.xlsm`` beside the original. The
    original is never changed. Returns the path written.
    """
    src = Path(existing_xlsx)
    if src.suffix.lower() != ".xlsx":
        raise TemplateError(f"{src.name} is not an .xlsx workbook. Attach needs the plan saved "
                            "as an Excel Workbook (.xlsx).")
    if not src.is_file():
        raise TemplateError(f"{src} was not found.")
    dest = Path(dest_xlsm) if dest_xlsm is not None else src.with_suffix(".xlsm")
    if dest.suffix.lower() != ".xlsm":
        raise TemplateError(f"{dest.name}: the macro-enabled copy must end in .xlsm.")
    if dest.exists() and not overwrite:
        raise TemplateError(f"{dest} already exists. Choose another name, or move it away first.")
    try:
        pkg = Package.read(src)
    except PackageError as exc:
        raise TemplateError(str(exc)) from None
    make_macro_enabled(pkg, src.name)
    write_atomic(dest, pkg.to_bytes())
    return dest


def template_path() -> Path:
    from .sources import shared_file
    return shared_file("workbook_template.xlsm")


__all__ = ["attach", "make_macro_enabled", "template_path"]
