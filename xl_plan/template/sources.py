"""Where the workbook's VBA and ribbon come from.

- ``macros/*.bas`` and ``macros/customUI14.xml`` in the repository: our own sources.
- ``xlwings.bas`` and ``addin/Dictionary.cls`` from the *installed* xlwings, which must
  be the pinned version: the standalone module loads the DLL of its own version.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import XLWINGS_VERSION, TemplateError
from .ovba import (
    CHART_BASE,
    WORKBOOK_BASE,
    WORKSHEET_BASE,
    VbaModule,
    build_vba_project,
    document_module,
    module_from_bas,
    module_from_cls,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where `pip install` puts macros/ and workbook_template.xlsm (pyproject: data-files).
INSTALLED_SHARE = Path(sys.prefix) / "share" / "xl_plan"


def shared_file(name: str) -> Path:
    """A top-level repository file (macros, template): from the checkout, else from the installation."""
    local = REPO_ROOT / name
    return local if local.exists() else INSTALLED_SHARE / name
RIBBON_XML_NAME = "customUI14.xml"


def macros_dir() -> Path:
    """The folder holding the VBA and ribbon sources (``XL_PLAN_MACROS`` overrides)."""
    d = Path(os.environ.get("XL_PLAN_MACROS", shared_file("macros")))
    if not (d / RIBBON_XML_NAME).is_file():
        raise TemplateError(f"The ribbon and macro sources were not found in {d}. "
                            "Run this from a copy of the xl_plan repository (it has a macros folder).")
    return d


def ribbon_xml() -> bytes:
    return (macros_dir() / RIBBON_XML_NAME).read_bytes()


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("cp1252")
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{path.name} is not Windows-1252 text ({exc}).") from None


def own_modules() -> list[VbaModule]:
    """Our standard modules, from ``macros/*.bas``, by file name."""
    mods = []
    for path in sorted(macros_dir().glob("*.bas")):
        mods.append(module_from_bas(_read_text(path), path.stem))
    return mods


def xlwings_modules() -> list[VbaModule]:
    """The xlwings standalone module and its Dictionary class, from the installed, pinned xlwings.
    Found as files of the installed distribution, without importing xlwings: only xl_plan.excel
    imports it."""
    from importlib.metadata import PackageNotFoundError, version
    from importlib.util import find_spec

    try:
        installed = version("xlwings")
        spec = find_spec("xlwings")
    except PackageNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise TemplateError(f"xlwings is not installed: rebuild needs xlwings {XLWINGS_VERSION}.")
    if installed != XLWINGS_VERSION:
        raise TemplateError(f"rebuild needs xlwings {XLWINGS_VERSION} (installed: {installed}). "
                            f"Install it with: pip install xlwings=={XLWINGS_VERSION}")
    root = Path(list(spec.submodule_search_locations)[0])
    bas, cls = root / "xlwings.bas", root / "addin" / "Dictionary.cls"
    for p in (bas, cls):
        if not p.is_file():
            raise TemplateError(f"The installed xlwings has no {p.relative_to(root)}: reinstall "
                                f"xlwings {XLWINGS_VERSION}.")
    return [module_from_bas(_read_text(bas), "xlwings"), module_from_cls(_read_text(cls))]


def code_modules() -> list[VbaModule]:
    return own_modules() + xlwings_modules()


def vba_project(workbook_code_name: str, sheets: list[tuple[str, str]]) -> bytes:
    """``vbaProject.bin`` for a workbook: one document module for the workbook and each
    sheet (``sheets``: (codeName, "worksheet" | "chartsheet")), then our modules and
    xlwings'."""
    modules = [document_module(workbook_code_name, WORKBOOK_BASE)]
    for code_name, kind in sheets:
        modules.append(document_module(code_name, CHART_BASE if kind == "chartsheet" else WORKSHEET_BASE))
    return build_vba_project(modules + code_modules())
