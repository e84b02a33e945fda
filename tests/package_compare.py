"""An independent check that a written .xlsx/.xlsm preserves the package it came from.

    assert_preserved(original, written, extended={"xl/workbook.xml", ...}, owned_prefixes=("xl/worksheets/sheet9",))

It shares no code with xl_plan's writer: it reads both zips with zipfile and the XML with defusedxml,
and raises AssertionError listing every difference it finds:

(a) every part of `original` is in `written` (except `allow_removed`);
(b) each is byte-identical (uncompressed) unless it is in `extended` or owned;
(c) an extended XML part keeps every element of the original, with the same attributes and text
    (a multiset of (path, tag, attributes, text); order within a parent does not matter; the list
    sizes in `growing` attributes such as count= may only grow);
(d) `written` is a sound package: its XML parses, every internal relationship target exists,
    and every part has a content type.
"""
from __future__ import annotations

import posixpath
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import unquote

from defusedxml import ElementTree as SafeET

CONTENT_TYPES = "[Content_Types].xml"
NS_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
NS_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
GROWING = ("count", "uniqueCount")
MAX_LISTED = 25  # differences listed per part before "... and N more"


def saved_parts(wb, fast: bool) -> dict[str, bytes]:
    """The parts of openpyxl workbook `wb` saved in memory, with xl_plan's fast cell writer
    (io/fastwrite.fast_cells) or openpyxl's own; docProps/core.xml left out (it holds the save time)."""
    import io

    from xl_plan.io.fastwrite import fast_cells

    buf = io.BytesIO()
    if fast:
        with fast_cells():
            wb.save(buf)
    else:
        wb.save(buf)
    with zipfile.ZipFile(buf) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


def parts_of(path) -> set[str]:
    """The part names of a package (zip entries that are not folders)."""
    with zipfile.ZipFile(path) as z:
        return {n for n in z.namelist() if not n.endswith("/")}


def part_bytes(path, name: str) -> bytes:
    """A part's uncompressed bytes."""
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def _all_parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if not n.endswith("/")}


def _is_xml(name: str, content_type: str | None) -> bool:
    low = name.lower()
    if low.endswith((".xml", ".rels")):
        return True
    return bool(content_type) and (content_type.endswith(("+xml", "/xml")))


def _first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def _short(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _elements(data: bytes):
    """(path, tag, attributes, text) for every element, and the `growing` attribute values apart."""
    root = SafeET.fromstring(data)
    out = []

    def walk(el, path):
        attrs = tuple(sorted((k, v) for k, v in el.attrib.items() if _short(k) not in GROWING))
        grow = tuple(sorted((k, v) for k, v in el.attrib.items() if _short(k) in GROWING))
        text = el.text or ""
        if not text.strip():
            text = ""
        out.append(((path, el.tag, attrs, text), grow))
        for child in el:
            walk(child, path + (el.tag,))

    walk(root, ())
    return out


def _describe(key) -> str:
    path, tag, attrs, text = key
    where = "/".join(_short(t) for t in path + (tag,))
    shown = " ".join(f'{_short(k)}="{v}"' for k, v in attrs)
    t = f" text={text[:60]!r}" if text else ""
    return f"<{where}{' ' + shown if shown else ''}>{t}"


def extension_problems(original: bytes, written: bytes) -> list[str]:
    """What an extended XML part lost or rewrote: original elements missing from `written`."""
    try:
        before = _elements(original)
    except SafeET.ParseError as exc:
        return [f"the original does not parse as XML ({exc}); it cannot be checked as extended"]
    try:
        after = _elements(written)
    except SafeET.ParseError as exc:
        return [f"does not parse as XML: {exc}"]
    if before[0][0][1] != after[0][0][1]:
        return [f"root element changed from {_short(before[0][0][1])} to {_short(after[0][0][1])}"]
    missing = Counter(k for k, _ in before) - Counter(k for k, _ in after)
    problems = [f"element removed or changed: {_describe(k)}" + (f" (x{n})" if n > 1 else "")
                for k, n in sorted(missing.items(), key=lambda kv: _describe(kv[0]))]
    # count= and the like may grow with the list they count, never shrink.
    grown_before, grown_after = defaultdict(list), defaultdict(list)
    for k, g in before:
        if g:
            grown_before[k].append(g)
    for k, g in after:
        if g:
            grown_after[k].append(g)
    for k, olds in grown_before.items():
        news = grown_after.get(k, [])
        for old, new in zip(sorted(olds, key=_numeric), sorted(news, key=_numeric)):
            new_d = dict(new)
            for attr, value in old:
                got = new_d.get(attr)
                if got is None or not (got.isdigit() and value.isdigit() and int(got) >= int(value)):
                    problems.append(f"{_short(attr)}={value!r} became {got!r} on {_describe(k)}")
    return problems


def _numeric(grow):
    return tuple((k, int(v) if v.isdigit() else -1) for k, v in grow)


def _content_types(parts: dict[str, bytes]):
    """(defaults by extension, overrides by part name), both lower-cased; None when unreadable."""
    try:
        root = SafeET.fromstring(parts[CONTENT_TYPES])
    except (KeyError, SafeET.ParseError):
        return None
    defaults = {el.get("Extension", "").lower(): el.get("ContentType") for el in root.iter(NS_CT + "Default")}
    overrides = {el.get("PartName", "").lstrip("/").lower(): el.get("ContentType")
                 for el in root.iter(NS_CT + "Override")}
    return defaults, overrides


def _content_type(name: str, types) -> str | None:
    defaults, overrides = types
    low = name.lower()
    if low in overrides:
        return overrides[low]
    ext = low.rsplit(".", 1)[-1] if "." in posixpath.basename(low) else ""
    return defaults.get(ext)


def _source_of(rels_name: str) -> str:
    """The part a rels part describes: 'xl/_rels/workbook.xml.rels' -> 'xl/workbook.xml'."""
    folder, file = posixpath.split(rels_name)
    parent = posixpath.dirname(folder)
    return posixpath.join(parent, file[: -len(".rels")]) if file != ".rels" else ""


def package_problems(path) -> list[str]:
    """(d): what makes `path` an unsound package. Empty when it is sound."""
    parts = _all_parts(path)
    problems: list[str] = []
    types = _content_types(parts)
    if types is None:
        problems.append(f"{CONTENT_TYPES} is missing or does not parse")
    lower = {n.lower() for n in parts}
    for name in sorted(parts):
        ctype = _content_type(name, types) if types else None
        if types and name != CONTENT_TYPES and ctype is None:
            problems.append(f"{name}: no content type (neither an Override nor a Default for its extension)")
        if not _is_xml(name, ctype):
            continue
        try:
            root = SafeET.fromstring(parts[name])
        except SafeET.ParseError as exc:
            problems.append(f"{name}: does not parse as XML: {exc}")
            continue
        if name.lower().endswith(".rels"):
            base = posixpath.dirname(_source_of(name))
            for rel in root.iter(NS_RELS + "Relationship"):
                if (rel.get("TargetMode") or "").lower() == "external":
                    continue
                target = unquote(rel.get("Target") or "")
                if target.startswith("/"):
                    resolved = posixpath.normpath(target.lstrip("/"))
                else:
                    resolved = posixpath.normpath(posixpath.join(base, target))
                if resolved.lower() not in lower:
                    problems.append(f"{name}: relationship {rel.get('Id')} ({_short_type(rel.get('Type'))}) "
                                    f"targets {target!r}, which resolves to {resolved!r}, a part that is not there")
    return problems


def _short_type(rel_type: str | None) -> str:
    return (rel_type or "?").rsplit("/", 1)[-1]


def preservation_problems(original, written, *, extended=frozenset(), owned_prefixes=(),
                          allow_removed=()) -> list[str]:
    """Every difference assert_preserved would report, as readable lines."""
    before, after = _all_parts(original), _all_parts(written)
    extended = set(extended)
    allow_removed = set(allow_removed)
    problems: list[str] = []

    def owned(name: str) -> bool:
        return any(name.startswith(p) for p in owned_prefixes)

    for name in sorted(before):
        if name not in after:
            if name not in allow_removed and not owned(name):
                problems.append(f"{name}: missing from the written file")
            continue
        if owned(name):
            continue
        a, b = before[name], after[name]
        if name in extended:
            found = extension_problems(a, b)
            if found:
                shown = found[:MAX_LISTED]
                more = f"\n      ... and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
                problems.append(f"{name}: extended part does not keep the original:\n      "
                                + "\n      ".join(shown) + more)
        elif a != b:
            at = _first_difference(a, b)
            problems.append(f"{name}: changed ({len(a)} -> {len(b)} bytes; first difference at byte {at}: "
                            f"{a[max(0, at - 20):at + 20]!r} -> {b[max(0, at - 20):at + 20]!r})")
    problems.extend(f"written file: {p}" for p in package_problems(written))
    return problems


def assert_preserved(original: Path, written: Path, *, extended=frozenset(), owned_prefixes=(),
                     allow_removed=()) -> None:
    """Raise AssertionError listing every way `written` fails to preserve `original` (see module doc)."""
    problems = preservation_problems(original, written, extended=extended, owned_prefixes=owned_prefixes,
                                     allow_removed=allow_removed)
    if problems:
        raise AssertionError(
            f"{Path(written).name} does not preserve {Path(original).name} ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n  - " + "\n  - ".join(problems))
