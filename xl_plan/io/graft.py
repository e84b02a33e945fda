"""The package writer: put a job's changes into the ORIGINAL workbook package, part by part.

The job works on an openpyxl workbook that is saved to a scratch file; :func:`graft` then takes
from that scratch package only what xl_plan owns (its sheets, with their drawings, charts, notes and
tables) and the cell changes a :class:`~xl_plan.io.diff.WorkbookChanges` lists, and writes them into
the user's package. Every other part keeps its bytes. Parts that must change to make room
(``[Content_Types].xml``, ``xl/workbook.xml`` and its rels, ``xl/styles.xml``, the user's sheet
parts with changed cells and their notes) are changed by small text edits: every original element
stays as it was written. :func:`check_grafted` says, in plain words, what is wrong with a result.

See docs/package-writing.md (shared) for the facts this builds on.
"""
from __future__ import annotations

import bisect
import html
import math
import posixpath
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

from ..owned import OWNER
from .diff import CellChange, WorkbookChanges
from .package import (
    CONTENT_TYPES,
    NS_MAIN,
    NS_R,
    Package,
    PackageError,
    _decode,
    _encode,
    add_relationship,
    content_type_of,
    content_types,
    element_xml,
    ensure_default,
    parse,
    relationships,
    rels_name,
    set_attribute,
    set_override,
    stored_alike,
    tag_attributes,
    workbook_part,
    xml_problem,
)

__all__ = ["check_grafted", "graft"]

_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
REL_WORKSHEET = _RELS + "worksheet"
REL_COMMENTS = _RELS + "comments"
REL_VML = _RELS + "vmlDrawing"
REL_CALC_CHAIN = _RELS + "calcChain"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
CT_TABLE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
NS_VML = "urn:schemas-microsoft-com:vml"
NS_OFFICE = "urn:schemas-microsoft-com:office:office"
NS_EXCEL = "urn:schemas-microsoft-com:office:excel"

# a start, end or empty tag; attribute values may hold '>'
_PLAIN_NAME_ATTR = re.compile(r'\sname="([^"&]*)"')     # a name attribute with no entity in it
_TAG = re.compile(r"<(/?)([A-Za-z_][\w.:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>")
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")

_STYLE_ORDER = ["numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
                "dxfs", "tableStyles", "colors", "extLst"]
_WS_AFTER_LEGACY = ["legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
                    "webPublishItems", "tableParts", "extLst"]
_WB_AFTER_NAMES = ["calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr",
                   "smartTagTypes", "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"]


# --------------------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------------------

def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def _children(xml: str, start: int, end: int) -> list[tuple[str, int, int]]:
    """(local name, start, end) of each direct child element in xml[start:end]."""
    out: list[tuple[str, int, int]] = []
    depth = 0
    cur = ("", 0)
    for m in _TAG.finditer(xml, start, end):
        closing, name, _, empty = m.groups()
        if closing:
            depth -= 1
            if depth == 0:
                out.append((_local(cur[0]), cur[1], m.end()))
        elif empty:
            if depth == 0:
                out.append((_local(name), m.start(), m.end()))
        else:
            if depth == 0:
                cur = (name, m.start())
            depth += 1
    return out


_NAMED_TAGS: dict[str, re.Pattern] = {}     # a start or close tag of one name, by name


def _element_end(xml: str, start: int) -> int:
    """End of the element whose start tag begins at ``start`` (same-name nesting counted)."""
    m = _TAG.match(xml, start)
    if m is None:
        raise PackageError("malformed XML: a tag is not closed")
    if m.group(4):
        return m.end()
    name = m.group(2)
    depth = 1
    pat = _NAMED_TAGS.get(name)
    if pat is None:
        pat = _NAMED_TAGS[name] = re.compile(r"<(/?)%s(?=[\s/>])" % re.escape(name))
    pos = m.end()
    while True:
        n = pat.search(xml, pos)
        if n is None:
            raise PackageError(f"malformed XML: <{name}> is not closed")
        t = _TAG.match(xml, n.start())
        if t is None:
            raise PackageError(f"malformed XML near <{name}>")
        if t.group(1):
            depth -= 1
            if depth == 0:
                return t.end()
        elif not t.group(4):
            depth += 1
        pos = t.end()


def _root_span(xml: str) -> tuple[str, int, int, int, int]:
    """(root name, start tag start, start tag end, close tag start, end) of the root element."""
    for m in _TAG.finditer(xml):
        if not m.group(1):
            if m.group(4):
                return m.group(2), m.start(), m.end(), m.end(), m.end()
            close = xml.rfind("</" + m.group(2))
            if close < 0:
                raise PackageError(f"malformed XML: <{m.group(2)}> is not closed")
            return m.group(2), m.start(), m.end(), close, _TAG.match(xml, close).end()
    raise PackageError("malformed XML: no root element")


def _open_if_empty(xml: str, start: int) -> tuple[str, int]:
    """Make the element at ``start`` non-empty; return (xml, index of its close tag)."""
    m = _TAG.match(xml, start)
    if m.group(4):
        name = m.group(2)
        head = xml[start:m.end() - 2].rstrip()
        new = head + "></" + name + ">"
        xml = xml[:start] + new + xml[m.end():]
        return xml, start + len(head) + 1
    end = _element_end(xml, start)
    return xml, xml.rfind("</", start, end)


def _ns_prefix(xml: str, ns: str) -> str | None:
    """The prefix ('' for default, 'x:' otherwise) the root declares for ``ns``."""
    _, s, e, _, _ = _root_span(xml)
    tag = xml[s:e]
    for m in re.finditer(r"xmlns(?::([\w.-]+))?\s*=\s*(\"[^\"]*\"|'[^']*')", tag):
        if html.unescape(m.group(2)[1:-1]) == ns:
            return (m.group(1) + ":") if m.group(1) else ""
    return None


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def _ooxml_text(text: str) -> str:
    """Text as a SpreadsheetML string: '_xHHHH_' escapes for characters XML cannot hold."""
    if "_x" in text:                    # (most notes have neither: tested without a substitution)
        text = _ESCAPED.sub(r"_x005F_\1", text)
    if _ILLEGAL.search(text) is None:
        return text
    return _ILLEGAL.sub(lambda m: "_x%04X_" % ord(m.group()), text)


_START_TAGS: dict[tuple[str, str], re.Pattern] = {}


def _start_tag_pattern(prefix: str, local: str) -> re.Pattern:
    """A start (or empty) tag <prefix:local ...>: group 1 its attributes, group 2 '/' when empty."""
    key = (prefix, local)
    pat = _START_TAGS.get(key)
    if pat is None:
        pat = _START_TAGS[key] = re.compile(
            r"<%s%s(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>" % (re.escape(prefix), re.escape(local)))
    return pat


# the r attribute, found by stepping over whole attributes (a value holding ' r="' is not mistaken for it)
_R_ATTR = re.compile(r"(?:\s*[\w:.-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*?\s*(?<![\w:.-])r\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _r_attribute(attrs: str) -> str | None:
    """The r attribute in a start tag's attribute text (entities decoded), None when it has none."""
    m = _R_ATTR.match(attrs)
    if m is None:
        return None
    r = m.group(1) if m.group(1) is not None else m.group(2)
    return html.unescape(r) if "&" in r else r


def _row_cells(text: str, prefix: str, start: int, end: int) -> list[tuple[int, int, int]]:
    """(column, start, end) of each <c> element in a row's content text[start:end]. A cell holds no
    other cell, so each one ends at its own close tag; cells without r follow the one before."""
    pat = _start_tag_pattern(prefix, "c")
    close = f"</{prefix}c>"
    out = []
    pos, last_c = start, 0
    while True:
        tag = pat.search(text, pos, end)
        if tag is None:
            return out
        if tag.group(2):
            b = tag.end()
        else:
            b = text.index(close, tag.end(), end) + len(close)
        ref = _r_attribute(tag.group(1))
        col = _split_ref(ref)[1] if ref else last_c + 1
        last_c = col
        out.append((col, tag.start(), b))
        pos = b


def _cells_at(text: str, prefix: str, start: int, end: int, rnum: int, changes) -> list[tuple[int, int]] | None:
    """(start, end) of the cell of each (column, change) in a row's content text[start:end], found
    by its reference, when every cell of the row starts <c r="..." (as Excel and openpyxl write
    them, so no cell's column is implied by the one before); None when not (or a cell is missing):
    then the row's cells are listed one by one."""
    head = f'<{prefix}c r="'
    if text.count(head, start, end) != len(_any_cell_tag(prefix).findall(text, start, end)):
        return None
    pat = _start_tag_pattern(prefix, "c")
    close = f"</{prefix}c>"
    out = []
    for col, _ch in changes:
        a = text.find(f'{head}{_col_letters(col)}{rnum}"', start, end)
        if a < 0:
            return None
        tag = pat.match(text, a)
        if tag is None:
            return None
        out.append((a, tag.end() if tag.group(2) else text.index(close, tag.end(), end) + len(close)))
    return out


_ANY_CELL: dict[str, re.Pattern] = {}


def _any_cell_tag(prefix: str) -> re.Pattern:
    pat = _ANY_CELL.get(prefix)
    if pat is None:
        pat = _ANY_CELL[prefix] = re.compile(r"<%sc(?=[\s/>])" % re.escape(prefix))
    return pat


def _apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace each text[a:b] by its new text in one pass (edits do not overlap; insertions at
    one place keep their order)."""
    out, last = [], 0
    for a, b, new in sorted(edits, key=lambda e: (e[0], e[1])):   # stable: same-place order kept
        out.append(text[last:a])
        out.append(new)
        last = b
    out.append(text[last:])
    return "".join(out)


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _col_letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _split_ref(ref: str) -> tuple[int, int]:
    m = _CELL_REF.match(ref.strip())
    if not m:
        raise PackageError(f"{ref!r} is not a cell reference")
    return int(m.group(2)), _col_number(m.group(1))


def _reprefix(raw: str, prefix: str) -> str:
    """Give the unprefixed tags of ``raw`` the namespace prefix ``prefix`` ('x:' or '')."""
    if not prefix:
        return raw
    return re.sub(r"<(/?)(?![\w.-]+:)([A-Za-z_][\w.-]*)", lambda m: f"<{m.group(1)}{prefix}{m.group(2)}", raw)


def _relpath(source_part: str, target_part: str) -> str:
    return posixpath.relpath(target_part, posixpath.dirname(source_part) or ".")


# --------------------------------------------------------------------------------------
# Package helpers
# --------------------------------------------------------------------------------------

def _text(pkg: Package, name: str) -> tuple[str, str]:
    data = pkg.get(name)
    if data is None:
        raise PackageError(f"the workbook has no part {name}")
    return _decode(data)


def _remove_member(pkg: Package, name: str) -> None:
    low = name.lower()
    pkg.members = [m for m in pkg.members if m.name.lower() != low]


def _remove_override(pkg: Package, part: str) -> None:
    text, enc = _text(pkg, CONTENT_TYPES)
    want = "/" + part.lstrip("/").lower()
    for m in re.finditer(r"<(?:[\w.-]+:)?Override(?=[\s/>])", text):
        end = _element_end(text, m.start())
        attrs = tag_attributes(text[m.start():_TAG.match(text, m.start()).end()])
        if attrs.get("PartName", "").lower() == want:
            pkg.set(CONTENT_TYPES, _encode(text[:m.start()] + text[end:], enc))
            return


def _remove_relationship(pkg: Package, source_part: str, rid: str) -> None:
    name = rels_name(source_part)
    if not pkg.has(name):
        return
    text, enc = _text(pkg, name)
    for m in re.finditer(r"<(?:[\w.-]+:)?Relationship(?=[\s/>])", text):
        attrs = tag_attributes(text[m.start():_TAG.match(text, m.start()).end()])
        if attrs.get("Id") == rid:
            end = _element_end(text, m.start())
            pkg.set(name, _encode(text[:m.start()] + text[end:], enc))
            return


def _all_referenced(pkg: Package, exclude_sources: set[str]) -> set[str]:
    """Lower-case names of every part some relationship (outside ``exclude_sources``) points at."""
    out = set()
    for m in list(pkg.members):
        n = m.name
        if not n.endswith(".rels"):
            continue
        folder, base = posixpath.split(n)
        src = posixpath.join(posixpath.dirname(folder), base[:-5]) if base != ".rels" else ""
        if src.lower() in exclude_sources:
            continue
        for r in relationships(pkg, src):
            if not r.external:
                out.add(r.part.lower())
    return out


def _closure(pkg: Package, part: str) -> list[str]:
    """``part`` and every part reachable from it through relationships (member names)."""
    seen: dict[str, str] = {}
    todo = [part]
    while todo:
        p = todo.pop()
        if p.lower() in seen or not pkg.has(p):
            continue
        seen[p.lower()] = p
        for r in relationships(pkg, p):
            if not r.external:
                todo.append(r.part)
    return list(seen.values())


def _only_used_by(pkg: Package, part: str) -> list[str]:
    """The parts that go with ``part`` when it goes: itself and what only it (transitively) uses."""
    closure = _closure(pkg, part)
    low = {p.lower() for p in closure}
    outside = _all_referenced(pkg, low)
    return [part] + [p for p in closure[1:] if p.lower() not in outside]


def _remove_parts(pkg: Package, parts: list[str]) -> None:
    for p in parts:
        _remove_member(pkg, p)
        _remove_member(pkg, rels_name(p))
        _remove_override(pkg, p)


def _fresh_name(pkg: Package, wanted: str, taken: set[str]) -> str:
    folder, base = posixpath.split(wanted)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"\d+$", "", stem)
    n = 1
    while True:
        name = posixpath.join(folder, f"{stem}{n}" + (f".{ext}" if ext else ""))
        if not pkg.has(name) and name.lower() not in taken:
            taken.add(name.lower())
            return name
        n += 1


@dataclass
class _Sheet:
    name: str
    sheet_id: str
    rid: str
    part: str | None
    start: int
    end: int


def _sheets(pkg: Package, wb: str) -> list[_Sheet]:
    text, _ = _text(pkg, wb)
    rels = {r.id: r for r in relationships(pkg, wb)}
    out = []
    for m in re.finditer(r"<(?:[\w.-]+:)?sheet(?=[\s/>])", text):
        tag = _TAG.match(text, m.start())
        attrs = tag_attributes(tag.group())
        rid = next((v for k, v in attrs.items() if k.endswith(":id") or k == "id"), "")
        rel = rels.get(rid)
        out.append(_Sheet(attrs.get("name", ""), attrs.get("sheetId", ""), rid,
                          rel.part if rel is not None and not rel.external else None,
                          m.start(), _element_end(text, m.start())))
    return out


def _sheet_part(pkg: Package, name: str) -> str | None:
    wb = workbook_part(pkg)
    for s in _sheets(pkg, wb):
        if s.name.casefold() == name.casefold():
            return s.part
    return None


def _has_formula(data: bytes) -> bool:
    return re.search(rb"<(?:[\w.-]+:)?f[\s/>]", data) is not None


def _owned_part(pkg: Package, wb: str, part: str) -> bool:
    """True when the sheet part's A1 holds text starting with OWNER (an xl_plan sheet)."""
    text, _ = _text(pkg, part)
    m = re.search(r"<(?:[\w.-]+:)?c\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?\sr=\"A1\"", text)
    if m is None:
        return False
    end = _element_end(text, m.start())
    cell = text[m.start():end]
    t = tag_attributes(_TAG.match(cell).group()).get("t")
    if t == "s":
        v = re.search(r"<(?:[\w.-]+:)?v>\s*(\d+)\s*<", cell)
        sst = next((r.part for r in relationships(pkg, wb) if r.type.endswith("/sharedStrings")), None)
        if v is None or sst is None or not pkg.has(sst):
            return False
        root = parse(pkg.get(sst))
        items = [el for el in root if el.tag.endswith("}si")]
        i = int(v.group(1))
        value = "".join(el.text or "" for el in items[i].iter() if el.tag.endswith("}t")) if i < len(items) else ""
    elif t == "inlineStr":
        value = "".join(html.unescape(x) for x in re.findall(r"<(?:[\w.-]+:)?t\b[^>]*>(.*?)</", cell, re.DOTALL))
    elif t == "str":
        v = re.search(r"<(?:[\w.-]+:)?v>(.*?)</", cell, re.DOTALL)
        value = html.unescape(v.group(1)) if v else ""
    else:
        return False
    return value.startswith(OWNER)


# --------------------------------------------------------------------------------------
# Styles
# --------------------------------------------------------------------------------------

class _Styles:
    """The user's styles.xml with appended entries; rendered by text edits at the end."""

    def __init__(self, text: str):
        self.text = text
        name, _, self.root_end, self.root_close, _ = _root_span(text)
        self.prefix = name[:-len(_local(name))]
        self.spans = {local: (s, e) for local, s, e in _children(text, self.root_end, self.root_close)}
        self.items: dict[str, list[str]] = {}
        self.added: dict[str, list[str]] = {}
        self.changed = False

    def list(self, lst: str) -> list[str]:
        if lst not in self.items:
            raws = []
            if lst in self.spans:
                s, e = self.spans[lst]
                tag = _TAG.match(self.text, s)
                if not tag.group(4):
                    raws = [self.text[a:b] for _, a, b in _children(self.text, tag.end(), e)]
            self.items[lst] = raws
            self.added[lst] = []
        return self.items[lst] + self.added[lst]

    def get(self, lst: str, i: int) -> str | None:
        items = self.list(lst)
        return items[i] if 0 <= i < len(items) else None

    def add(self, lst: str, raw: str) -> int:
        """Index of ``raw`` in list ``lst``: an identical existing entry, or a new one."""
        items = self.list(lst)
        if lst == "fills":  # 0 and 1 are reserved
            for i, r in enumerate(items):
                if i >= 2 and r == raw:
                    return i
            if len(items) < 2:
                raise PackageError("the workbook's styles have no reserved fills")
        else:
            for i, r in enumerate(items):
                if r == raw:
                    return i
        self.added[lst].append(raw)
        self.changed = True
        return len(items)

    def numfmt(self, fmt_id: int, code: str | None) -> int:
        """The user's id for a number format (built-in ids stay)."""
        if fmt_id < 164 or code is None:
            return fmt_id
        used = []
        for raw in self.list("numFmts"):
            a = tag_attributes(_TAG.match(raw).group())
            try:
                used.append(int(a.get("numFmtId", "0")))
            except ValueError:
                continue
            if a.get("formatCode") == code:
                return used[-1]
        new = max(used + [163]) + 1
        self.added["numFmts"].append(_reprefix(element_xml("numFmt", {"numFmtId": str(new), "formatCode": code}), self.prefix))
        self.changed = True
        return new

    def render(self) -> str:
        text = self.text
        # edit from the end so earlier spans stay valid
        edits = []
        for lst in _STYLE_ORDER:
            new = self.added.get(lst)
            if not new:
                continue
            frag = "".join(new)
            count = len(self.items[lst]) + len(new)
            if lst in self.spans:
                s, e = self.spans[lst]
                edits.append((s, e, lst, frag, count))
            else:
                # before the next list present, else before the root's close tag
                at = self.root_close
                for later in _STYLE_ORDER[_STYLE_ORDER.index(lst) + 1:]:
                    if later in self.spans:
                        at = self.spans[later][0]
                        break
                edits.append((at, at, lst, frag, count))
        for s, e, lst, frag, count in sorted(edits, key=lambda x: (x[0], x[1]), reverse=True):
            if s == e:
                el = f'<{self.prefix}{lst} count="{count}">{frag}</{self.prefix}{lst}>'
                text = text[:s] + el + text[s:]
                continue
            part = text[s:e]
            part, close = _open_if_empty(part, 0)
            part = part[:close] + frag + part[close:]
            tag = _TAG.match(part, 0)
            if "count" in tag_attributes(tag.group()) or lst != "extLst":
                part = set_attribute(part, (0, tag.end()), "count", str(count))
            text = text[:s] + part + text[e:]
        return text


class _ScratchStyles:
    """Maps the scratch package's style indexes to the user's styles.xml."""

    def __init__(self, scratch_text: str, target: _Styles):
        self.src = _Styles(scratch_text)
        self.dst = target
        self.memo: dict[tuple[str, int], int] = {}
        self.formats = {}
        for raw in self.src.list("numFmts"):
            a = tag_attributes(_TAG.match(raw).group())
            try:
                self.formats[int(a.get("numFmtId", "0"))] = a.get("formatCode")
            except ValueError:
                pass

    def _plain(self, lst: str, i: int) -> int:
        key = (lst, i)
        if key not in self.memo:
            raw = self.src.get(lst, i)
            if raw is None:
                self.memo[key] = 0
            elif lst == "fills" and i < 2:
                self.memo[key] = i
            else:
                self.memo[key] = self.dst.add(lst, _reprefix(raw, self.dst.prefix))
        return self.memo[key]

    def xf(self, i: int) -> int:
        key = ("cellXfs", i)
        if key in self.memo:
            return self.memo[key]
        raw = self.src.get("cellXfs", i)
        if raw is None:
            self.memo[key] = 0
            return 0
        tag = _TAG.match(raw)
        a = tag_attributes(tag.group())
        new = raw
        span = (0, tag.end())
        for attr, lst in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
            if attr in a:
                new = set_attribute(new, span, attr, str(self._plain(lst, int(a[attr]))))
                span = (0, _TAG.match(new).end())
        if "numFmtId" in a:
            nid = int(a["numFmtId"])
            new = set_attribute(new, span, "numFmtId", str(self.dst.numfmt(nid, self.formats.get(nid))))
            span = (0, _TAG.match(new).end())
        if "xfId" in a:
            new = set_attribute(new, span, "xfId", "0")
        self.memo[key] = self.dst.add("cellXfs", _reprefix(new, self.dst.prefix))
        return self.memo[key]

    def dxf(self, i: int) -> int:
        return self._plain("dxfs", i)


# --------------------------------------------------------------------------------------
# Cell values
# --------------------------------------------------------------------------------------

def _serial(value, date1904: bool) -> float:
    from openpyxl.utils.datetime import (
        CALENDAR_MAC_1904,
        CALENDAR_WINDOWS_1900,
        to_excel,
    )
    return to_excel(value, CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900)


def _number(x) -> str:
    if isinstance(x, float):
        if not math.isfinite(x):
            raise PackageError(f"{x!r} cannot be written into a cell")
        r = repr(x)
        return r.removesuffix(".0")
    return str(x)


def _value_xml(value, prefix: str, date1904: bool) -> tuple[str | None, str]:
    """(t attribute or None, children) for a cell value."""
    if value is None:
        return None, ""
    if isinstance(value, bool):
        return "b", f"<{prefix}v>{int(value)}</{prefix}v>"
    if isinstance(value, (int, float, Decimal)):
        return None, f"<{prefix}v>{_number(float(value) if isinstance(value, Decimal) else value)}</{prefix}v>"
    if isinstance(value, (datetime, date, time, timedelta)):
        return None, f"<{prefix}v>{_number(_serial(value, date1904))}</{prefix}v>"
    if isinstance(value, str):
        return "inlineStr", (f'<{prefix}is><{prefix}t xml:space="preserve">{_esc(_ooxml_text(value))}'
                             f"</{prefix}t></{prefix}is>")
    raise PackageError(f"a value of type {type(value).__name__} cannot be written into a cell")


# the attributes a cell's value type is told by, which a new value replaces
_TYPE_ATTRS = re.compile(r"\s(?:t|cm|vm)\s*=\s*(\"[^\"]*\"|'[^']*')")


def _fill_xml(rgb: str, prefix: str) -> str:
    rgb = rgb.upper().lstrip("#")
    if len(rgb) == 6:
        rgb = "FF" + rgb
    if not re.fullmatch(r"[0-9A-F]{8}", rgb):
        raise PackageError(f"{rgb!r} is not a colour")
    return _reprefix(f'<fill><patternFill patternType="solid"><fgColor rgb="{rgb}"/>'
                     f'<bgColor indexed="64"/></patternFill></fill>', prefix)


# --------------------------------------------------------------------------------------
# The grafter
# --------------------------------------------------------------------------------------

@dataclass
class _Plan:
    """What graft touches in the original, worked out from the original and the changes."""
    wb: str
    sheets: list[_Sheet]
    removed: list[_Sheet] = field(default_factory=list)    # sheets that go
    replaced: list[_Sheet] = field(default_factory=list)   # owned sheets whose part is replaced
    removable: set[str] = field(default_factory=set)       # lower-case part names that may go
    extended: set[str] = field(default_factory=set)        # lower-case part names that may change


def _plan(pkg: Package, changes: WorkbookChanges) -> _Plan:
    wb = workbook_part(pkg)
    sheets = _sheets(pkg, wb)
    by_name = {s.name.casefold(): s for s in sheets}
    plan = _Plan(wb, sheets)
    owned = {n.casefold() for n in changes.sheets}
    for n in changes.removed_sheets:
        s = by_name.get(n.casefold())
        if s is not None and n.casefold() not in owned:
            plan.removed.append(s)
    for n in changes.sheets:
        s = by_name.get(n.casefold())
        if s is not None:
            plan.replaced.append(s)
    for s in plan.removed + plan.replaced:
        if s.part:
            for p in _only_used_by(pkg, s.part):
                plan.removable.add(p.lower())
                plan.removable.add(rels_name(p).lower())
    for s in plan.replaced:
        if s.part:
            plan.extended.add(s.part.lower())
    for r in relationships(pkg, wb):
        if r.type == REL_CALC_CHAIN:
            plan.removable.add(r.part.lower())
    plan.extended |= {CONTENT_TYPES.lower(), wb.lower(), rels_name(wb).lower()}
    for r in relationships(pkg, wb):
        if r.type.endswith("/styles"):
            plan.extended.add(r.part.lower())
    touched = {c.sheet.casefold() for c in changes.cells}
    for s in sheets:
        if s.name.casefold() in touched and s.part:
            plan.extended |= {s.part.lower(), rels_name(s.part).lower()}
            plan.removable.add(rels_name(s.part).lower())   # goes when its last note goes
            for r in relationships(pkg, s.part):
                if r.type in (REL_COMMENTS, REL_VML):
                    plan.extended.add(r.part.lower())
                    plan.removable.add(r.part.lower())
    return plan


class _Grafter:
    def __init__(self, pkg: Package, scr: Package, changes: WorkbookChanges, detached: dict | None = None):
        self.pkg, self.scr, self.changes = pkg, scr, changes
        self.detached = detached or {}          # sheet -> io/fastwrite.Detached: rows not in the scratch file
        self.plan = _plan(pkg, changes)
        self.wb = self.plan.wb
        self.taken: set[str] = set()
        self._styles: _Styles | None = None
        self.styles_part = next((r.part for r in relationships(pkg, self.wb) if r.type.endswith("/styles")), None)
        self.drop_calc_chain = False
        self._masters: dict[str, tuple[str, str]] = {}
        self._fill_styles: dict[tuple[int, str | None], int] = {}   # (cell format, fill) -> cell format
        wbtext, _ = _text(pkg, self.wb)
        pr = re.search(r"<(?:[\w.-]+:)?workbookPr\b[^>]*>", wbtext)
        self.date1904 = bool(pr and tag_attributes(pr.group()).get("date1904") in ("1", "true"))

    @property
    def styles(self) -> _Styles:
        if self._styles is None:
            if self.styles_part is None or not self.pkg.has(self.styles_part):
                raise PackageError("the workbook has no styles part")
            self._styles = _Styles(_text(self.pkg, self.styles_part)[0])
        return self._styles

    # ---- the whole job ----------------------------------------------------------------

    def run(self) -> bytes:
        sheet_names = [s.name for s in self.plan.sheets]
        for s in self.plan.removed:
            self._remove_sheet(s)
        new_sheets = []
        for name in self.changes.sheets:
            old = next((s for s in self.plan.replaced if s.name.casefold() == name.casefold()), None)
            new_sheets.append(self._copy_sheet(name, old))
        self._cells()
        self._workbook(sheet_names, new_sheets)
        if self.drop_calc_chain:
            self._remove_calc_chain()
        if self._styles is not None and self._styles.changed:
            enc = _decode(self.pkg.get(self.styles_part))[1]
            self.pkg.set(self.styles_part, _encode(self._styles.render(), enc))
        return self.pkg.to_bytes()

    # ---- sheets ---------------------------------------------------------------------

    def _remove_sheet(self, s: _Sheet) -> None:
        if s.part:
            if _has_formula(self.pkg.get(s.part) or b""):
                self.drop_calc_chain = True
            _remove_parts(self.pkg, _only_used_by(self.pkg, s.part))
        _remove_relationship(self.pkg, self.wb, s.rid)

    def _copy_sheet(self, name: str, old: _Sheet | None) -> tuple[str, str, str, str]:
        """Copy scratch sheet ``name`` in; returns (name, part, relationship type, content type)."""
        src = _sheet_part(self.scr, name)
        if src is None:
            raise PackageError(f"the sheet {name!r} xl_plan wrote is missing from its scratch copy")
        src_wb = workbook_part(self.scr)
        wb_level = {r.part.lower() for r in relationships(self.scr, src_wb)}
        if old is not None and old.part and not _owned_part(self.pkg, self.wb, old.part):
            raise PackageError(f"the sheet {name!r} in the workbook is not one xl_plan made "
                               f"(its cell A1 does not start with {OWNER!r}), so xl_plan will not replace it")
        if old is not None and old.part:
            if _has_formula(self.pkg.get(old.part) or b""):
                self.drop_calc_chain = True
            parts = _only_used_by(self.pkg, old.part)
            _remove_parts(self.pkg, parts[1:])
            _remove_member(self.pkg, rels_name(old.part))
            dest = old.part
        else:
            dest = _fresh_name(self.pkg, src, self.taken)
        # name every part to copy
        closure = _closure(self.scr, src)
        names = {src.lower(): dest}
        for p in closure[1:]:
            if p.lower() in wb_level:
                raise PackageError(f"the sheet {name!r} uses a workbook-wide part ({p}) that cannot be copied")
            names[p.lower()] = _fresh_name(self.pkg, p, self.taken)
        table_ids = self._table_ids()
        ss = self._scratch_styles()
        for p in closure:
            new = names[p.lower()]
            data = self.scr.get(p)
            if p == src:
                data = self._owned_sheet_xml(data, self.detached.get(name))
            if p != src and p.lower().endswith(".vml"):
                data = self._free_idmap(data)
            if p != src and content_type_of(self.scr, p) == CT_TABLE:
                data = self._unique_table_id(data, table_ids)
            if p != src and p.lower().endswith(".xml") and b"DxfId=" in data and ss is not None:
                text, enc = _decode(data)
                text = re.sub(r'(\w*DxfId)="(\d+)"', lambda m: f'{m.group(1)}="{ss.dxf(int(m.group(2)))}"', text)
                data = _encode(text, enc)
            self.pkg.set(new, data)
            rels = relationships(self.scr, p)
            if rels:
                self.pkg.set(rels_name(new), self._rels_xml(new, rels, names))
            ct = content_type_of(self.scr, p)
            if ct:
                self._declare(new, ct)
        rel_type = next((r.type for r in relationships(self.scr, src_wb) if r.part.lower() == src.lower()), REL_WORKSHEET)
        return name, dest, rel_type, content_type_of(self.scr, src) or CT_WORKSHEET

    def _free_idmap(self, data: bytes) -> bytes:
        """A copied VML drawing gets a shape-id block (o:idmap) no other drawing uses: openpyxl
        numbers every drawing's shapes from the same block."""
        used = {int(d) for m in self.pkg.members if m.name.lower().endswith(".vml")
                for block in re.findall(rb'idmap\b[^>]*\bdata\s*=\s*["\']([\d,\s]+)', m.data)
                for d in re.findall(rb"\d+", block)}
        m = re.search(rb'(idmap\b[^>]*\bdata\s*=\s*["\'])(\d+)(["\'])', data)
        if m is None or int(m.group(2)) not in used:
            return data
        new = max(used) + 1
        data = data[:m.start(2)] + str(new).encode() + data[m.end(2):]
        return re.sub(rb"_x0000_s(\d+)", lambda n: b"_x0000_s%d" % (new * 1024 + int(n.group(1)) % 1024), data)

    def _table_ids(self) -> set[int]:
        ids = set()
        for m in self.pkg.members:
            if content_type_of(self.pkg, m.name) == CT_TABLE:
                t = re.search(rb"<(?:[\w.-]+:)?table\b[^>]*?\sid=\"(\d+)\"", m.data)
                if t:
                    ids.add(int(t.group(1)))
        return ids

    @staticmethod
    def _unique_table_id(data: bytes, ids: set[int]) -> bytes:
        """Table ids are unique in a workbook: give a copied table a free one."""
        text, enc = _decode(data)
        m = re.search(r"<(?:[\w.-]+:)?table\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", text)
        if m is None:
            return data
        tid = tag_attributes(m.group()).get("id", "")
        if tid.isdigit() and int(tid) not in ids:
            ids.add(int(tid))
            return data
        new = max(ids | {0}) + 1
        ids.add(new)
        return _encode(set_attribute(text, (m.start(), m.end()), "id", str(new)), enc)

    def _declare(self, part: str, ct: str) -> None:
        ext = part.rsplit(".", 1)[-1] if "." in posixpath.basename(part) else ""
        defaults, _ = content_types(self.pkg)
        if ext and ext.lower() not in defaults and ext.lower() not in ("xml",):
            ensure_default(self.pkg, ext, ct)
        if content_type_of(self.pkg, part) != ct:
            set_override(self.pkg, part, ct)

    def _rels_xml(self, new_source: str, rels, names: dict[str, str]) -> bytes:
        items = []
        for r in rels:
            attrs = {"Id": r.id, "Type": r.type}
            if r.external:
                attrs["Target"] = r.target
                attrs["TargetMode"] = "External"
            else:
                attrs["Target"] = _relpath(new_source, names[r.part.lower()])
            items.append(element_xml("Relationship", attrs))
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                + "".join(items) + "</Relationships>").encode("utf-8")

    def _scratch_styles(self) -> _ScratchStyles | None:
        if not hasattr(self, "_ss"):
            swb = workbook_part(self.scr)
            part = next((r.part for r in relationships(self.scr, swb) if r.type.endswith("/styles")), None)
            self._ss = _ScratchStyles(_text(self.scr, part)[0], self.styles) if part and self.scr.has(part) else None
        return self._ss

    def _shared_strings(self) -> list[str]:
        if not hasattr(self, "_sst"):
            swb = workbook_part(self.scr)
            part = next((r.part for r in relationships(self.scr, swb) if r.type.endswith("/sharedStrings")), None)
            out = []
            if part and self.scr.has(part):
                text, _ = _text(self.scr, part)
                _, _, rs, rc, _ = _root_span(text)
                for local, s, e in _children(text, rs, rc):
                    if local == "si":
                        tag = _TAG.match(text, s)
                        out.append("" if tag.group(4) else text[tag.end():text.rfind("</", s, e)])
            self._sst = out
        return self._sst

    def _owned_sheet_xml(self, data: bytes, detached=None) -> bytes:
        text, enc = _decode(data)
        ss = self._scratch_styles()
        if detached is not None:
            text = re.sub(r"<sheetData\s*/>", "<sheetData></sheetData>", text, count=1)
        start, end = text.find("<sheetData>"), text.rfind("</sheetData>")
        if 0 <= start < end and not _has_shared_string_cell(text, start, end):
            # text inline (as openpyxl writes it): the cells' and rows' style numbers are all that change
            # inside <sheetData>; the columns and the view come before it, the conditional formats after
            head = self._owned_head(text[:start], ss)
            if detached is None:
                return _encode(head + self._restyle_cells(text[start:end], ss) + self._owned_tail(text[end:], ss), enc)
            rows = self._with_detached_rows(text[start:end], detached, ss)
            tail = self._owned_tail(text[end:], ss)
            if enc == "utf-8":                  # as openpyxl writes it: the rows' bytes as they are
                return b"".join((head.encode(), rows, tail.encode()))
            return _encode(head + rows.decode() + tail, enc)
        if detached is not None:
            raise PackageError("xl_plan's scratch copy of a sheet is not as it writes one")
        return _encode(self._owned_sheet_general(text, ss), enc)

    def _with_detached_rows(self, cells: str, detached, ss: _ScratchStyles | None) -> bytes:
        """`<sheetData>` and the scratch sheet's rows restyled, with the rows the scratch save left out
        (io/fastwrite.detach) written in at their places: all in row order, so the user's styles part
        gains the cell formats in the order the whole sheet uses them. UTF-8."""
        writer = detached.writer(ss.xf if ss is not None else (lambda i: i))
        starts = [(int(m.group(1)), m.start()) for m in _SCRATCH_ROW.finditer(cells)]
        bounds = [at for _, at in starts] + [len(cells)]
        out = [self._restyle_cells(cells[:bounds[0]], ss).encode()]     # <sheetData>
        pending = sorted(detached.rows)
        i = 0
        for k, (r, at) in enumerate(starts):
            while i < len(pending) and pending[i] < r:
                out.append(detached.row_xml(writer, pending[i]))
                i += 1
            out.append(self._restyle_cells(cells[at:bounds[k + 1]], ss).encode())
        out.extend(detached.row_xml(writer, r) for r in pending[i:])
        return b"".join(out)

    def _owned_sheet_general(self, text: str, ss: _ScratchStyles | None) -> str:
        """A scratch sheet's XML in the user's style numbering, its shared strings written inline."""
        text = self._inline_cells(text, ss)
        if ss is not None:
            text = re.sub(r'(<row\b[^>]*?\ss=)"(\d+)"', lambda m: f'{m.group(1)}"{ss.xf(int(m.group(2)))}"', text)
        return self._owned_tail(self._owned_head(text, ss), ss)

    @staticmethod
    def _owned_head(text: str, ss: _ScratchStyles | None) -> str:
        """What comes before a sheet's rows: the columns' styles, and no selected tab."""
        if ss is not None:
            text = re.sub(r'(<col\b[^>]*?\sstyle=)"(\d+)"', lambda m: f'{m.group(1)}"{ss.xf(int(m.group(2)))}"', text)
        return re.sub(r'(<sheetView\b[^>]*?)\stabSelected="(?:1|true)"', r"\1", text)

    @staticmethod
    def _owned_tail(text: str, ss: _ScratchStyles | None) -> str:
        """What comes after a sheet's rows: the conditional formats' dxfs."""
        if ss is None:
            return text
        return re.sub(r'(<cfRule\b[^>]*?\sdxfId=)"(\d+)"', lambda m: f'{m.group(1)}"{ss.dxf(int(m.group(2)))}"', text)

    @staticmethod
    def _restyle_cells(text: str, ss: _ScratchStyles | None) -> str:
        """Every cell's and row's style index in the user's numbering (their start tags only)."""
        if ss is None:
            return text
        # split, not sub with a function per match: [before, start of the tag, quote, style, before, ...]
        parts = _CELL_STYLE.split(text)
        styles = parts[3::4]
        new = {i: str(ss.xf(int(i))) for i in dict.fromkeys(styles)}     # in the order first used
        parts[3::4] = parts[2::4]                    # the closing quote after the style
        parts[2::4] = [new[i] for i in styles]
        return "".join(parts)

    def _inline_cells(self, text: str, ss: _ScratchStyles | None) -> str:
        """Every cell's style index in the user's numbering, and shared strings written inline."""
        sst = self._shared_strings()

        def cell(m: re.Match) -> str:
            whole, attrs = m.group(0), m.group(1)
            simple = _PLAIN_CELL_ATTRS.fullmatch(attrs)       # as openpyxl writes them: r, s, t
            if simple is not None:
                a = {"t": simple.group(2)}
                if ss is not None and simple.group(1) is not None:
                    attrs = f'{attrs[:simple.start(1)]}{ss.xf(int(simple.group(1)))}{attrs[simple.end(1):]}'
            else:
                a = tag_attributes("<c" + attrs + ">")
                if ss is not None and "s" in a:
                    attrs = re.sub(r'(\ss\s*=\s*)"(\d+)"', lambda n: f'{n.group(1)}"{ss.xf(int(n.group(2)))}"', attrs)
            if a.get("t") == "s" and m.group(3) is not None:
                v = re.search(r"<v>\s*(\d+)\s*</v>", m.group(3))
                if v and int(v.group(1)) < len(sst):
                    attrs = re.sub(r'(\st\s*=\s*)"s"', r'\1"inlineStr"', attrs)
                    return f"<c{attrs}><is>{sst[int(v.group(1))]}</is></c>"
            if attrs == m.group(1):
                return whole
            return "<c" + attrs + whole[len("<c") + len(m.group(1)):]

        return re.sub(r"<c((?:\s(?:[^>\"'/]|\"[^\"]*\"|'[^']*')*)?)(/>|>(.*?)</c>)", cell, text, flags=re.DOTALL)

    # ---- workbook.xml -----------------------------------------------------------------

    def _workbook(self, old_names: list[str], new_sheets: list[tuple[str, str, str, str]]) -> None:
        pkg, wb = self.pkg, self.wb
        text, enc = _text(pkg, wb)
        removed = {s.name.casefold() for s in self.plan.removed}
        final = [n for n in old_names if n.casefold() not in removed]
        final_fold = [n.casefold() for n in final]
        appended = []
        for name, part, rel_type, ct in new_sheets:
            if name.casefold() not in final_fold:
                final.append(name)
                final_fold.append(name.casefold())
                appended.append((name, part, rel_type, ct))
        pos_of = {n: i for i, n in enumerate(final_fold)}
        owned = {n.casefold() for n in self.changes.sheets}
        states = self._scratch_states()
        states.update(self.changes.hidden_sheets)
        state_names = {k.casefold() for k in states}

        # <sheets>: remove, set states, append
        r_prefix = _ns_prefix(text, NS_R)
        if r_prefix is None:
            _, s, e, _, _ = _root_span(text)
            text = set_attribute(text, (s, e), "xmlns:r", NS_R)
            r_prefix = "r:"
        main = _root_span(text)[0]
        prefix = main[:-len(_local(main))]
        ids = [int(s.sheet_id) for s in self.plan.sheets if s.sheet_id.isdigit()]
        next_id = max(ids + [0]) + 1
        m = re.search(r"<%ssheets(?=[\s/>])" % re.escape(prefix), text)
        if m is None:
            raise PackageError("the workbook part has no list of sheets")
        s_start, s_end = m.start(), _element_end(text, m.start())
        block = text[s_start:s_end]
        block, close = _open_if_empty(block, 0)
        pieces = []
        pos = _TAG.match(block, 0).end()
        for local, a, b in _children(block, pos, close):
            el = block[a:b]
            if local == "sheet":
                attrs = tag_attributes(_TAG.match(el).group())
                n = attrs.get("name", "").casefold()
                if n in removed:
                    el = ""
                elif n in state_names:
                    el = self._state(el, states)
            pieces.append((a, b, el))
        out = block[:pos]
        last = pos
        for a, b, el in pieces:
            out += block[last:a] + el
            last = b
        for name, part, rel_type, ct in appended:
            rid = add_relationship(pkg, wb, rel_type, _relpath(wb, part))
            if content_type_of(pkg, part) != ct:
                set_override(pkg, part, ct)
            attrs = {"name": name, "sheetId": str(next_id), r_prefix + "id": rid}
            next_id += 1
            el = element_xml(prefix + "sheet", attrs).replace(f' xmlns:{r_prefix[:-1]}="{NS_R}"', "")
            el = re.sub(r'\sxmlns:ns\d+="[^"]*"', "", el)
            el = self._state(el, states)
            out += el
        out += block[last:]
        text = text[:s_start] + out + text[s_end:]

        # <definedNames>
        text = self._names(text, prefix, old_names, pos_of, owned, removed)

        # <bookViews>: keep tab indexes inside the list
        count = len(final)
        def view(m: re.Match) -> str:
            tag = m.group(0)
            for attr in ("activeTab", "firstSheet"):
                a = tag_attributes(tag)
                if attr in a and a[attr].isdigit():
                    old = int(a[attr])
                    new = old
                    if old < len(old_names):
                        n = old_names[old].casefold()
                        new = pos_of.get(n, min(old, count - 1))
                    new = max(0, min(new, count - 1))
                    if new != old:
                        tag = set_attribute(tag, (0, len(tag)), attr, str(new))
            return tag
        text = re.sub(r"<%sworkbookView\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>" % re.escape(prefix), view, text)
        pkg.set(wb, _encode(text, enc))

    def _scratch_states(self) -> dict[str, str]:
        """The owned sheets' states as the scratch workbook has them."""
        swb = workbook_part(self.scr)
        text, _ = _text(self.scr, swb)
        owned = {n.casefold() for n in self.changes.sheets}
        out = {}
        for s in _sheets(self.scr, swb):
            if s.name.casefold() in owned:
                attrs = tag_attributes(_TAG.match(text, s.start).group())
                out[s.name] = attrs.get("state", "visible")
        return out

    def _state(self, el: str, states: dict[str, str]) -> str:
        attrs = tag_attributes(_TAG.match(el).group())
        want = next((v for k, v in states.items() if k.casefold() == attrs.get("name", "").casefold()), None)
        if want is None:
            return el
        tag_end = _TAG.match(el).end()
        if want == "visible":
            return re.sub(r"\sstate\s*=\s*(\"[^\"]*\"|'[^']*')", "", el[:tag_end], count=1) + el[tag_end:]
        return set_attribute(el, (0, tag_end), "state", want)

    def _names(self, text: str, prefix: str, old_names: list[str], pos_of: dict[str, int],
               owned: set[str], removed: set[str]) -> str:
        added = {k.casefold(): (k, v) for k, v in self.changes.names_added.items()}
        dropped = {n.casefold() for n in self.changes.names_removed}
        new_local = self._scratch_names(pos_of)
        m = re.search(r"<%sdefinedNames(?=[\s/>])" % re.escape(prefix), text)
        if m is None:
            frag = ""
            for name, ref in added.values():
                frag += self._name_xml(prefix, name, ref)
            frag += "".join(new_local)
            if not frag:
                return text
            _, _, rs, rc, _ = _root_span(text)
            at = rc
            kids = _children(text, rs, rc)
            for local, a, _ in kids:
                if local in _WB_AFTER_NAMES:
                    at = a
                    break
            return text[:at] + f"<{prefix}definedNames>{frag}</{prefix}definedNames>" + text[at:]
        d_start, d_end = m.start(), _element_end(text, m.start())
        block = text[d_start:d_end]
        block, close = _open_if_empty(block, 0)
        pos = _TAG.match(block, 0).end()
        out = block[:pos]
        last = pos
        placed = set()
        for local, a, b in _children(block, pos, close):
            el = block[a:b]
            if local == "definedName":
                tag = _TAG.match(el)
                head = tag.group()
                quick = _PLAIN_NAME_ATTR.search(head) if "localSheetId" not in head else None
                if quick is not None:       # most names (one per action after returns make): no parse
                    name, lsid = quick.group(1), None
                else:
                    attrs = tag_attributes(head)
                    name = attrs.get("name", "")
                    lsid = attrs.get("localSheetId")
                if lsid is not None and lsid.isdigit():
                    i = int(lsid)
                    sheet = old_names[i].casefold() if i < len(old_names) else None
                    if sheet is None or sheet in removed or sheet in owned:
                        el = ""
                    elif pos_of[sheet] != i:
                        el = set_attribute(el, (0, tag.end()), "localSheetId", str(pos_of[sheet]))
                elif lsid is None:
                    key = name.casefold()
                    if key in dropped and key not in added:
                        el = ""
                    elif key in added:
                        placed.add(key)
                        if tag.group(4):
                            el = el[:-2] + ">" + _esc(added[key][1]) + f"</{tag.group(2)}>"
                        else:
                            el = el[:tag.end()] + _esc(added[key][1]) + el[el.rfind("</"):]
            out += block[last:a] + el
            last = b
        out += block[last:close]
        for key, (name, ref) in added.items():
            if key not in placed:
                out += self._name_xml(prefix, name, ref)
        out += "".join(new_local)
        out += block[close:]
        name_tag = r"<%sdefinedName(?=[\s/>])" % re.escape(prefix)
        if not re.search(name_tag, out):
            # no names left: an empty list stays as it was written, and one xl_plan emptied stays
            # as <definedNames/> (it may be the user's own empty list that an earlier run filled)
            out = text[d_start:d_end] if not re.search(name_tag, text[d_start:d_end]) else f"<{prefix}definedNames/>"
        return text[:d_start] + out + text[d_end:]

    @staticmethod
    def _name_xml(prefix: str, name: str, ref: str, extra: dict | None = None) -> str:
        attrs = {"name": name, **(extra or {})}
        head = element_xml(prefix + "definedName", attrs)[:-2]
        return f"{head}>{_esc(ref)}</{prefix}definedName>"

    def _scratch_names(self, pos_of: dict[str, int]) -> list[str]:
        """The scratch workbook's names scoped to the owned sheets, with their new localSheetId."""
        swb = workbook_part(self.scr)
        text, _ = _text(self.scr, swb)
        snames = [s.name.casefold() for s in _sheets(self.scr, swb)]
        owned = {n.casefold() for n in self.changes.sheets}
        main = _root_span(text)[0]
        prefix = main[:-len(_local(main))]
        out = []
        dst_prefix = _root_span(_text(self.pkg, self.wb)[0])[0]
        dst_prefix = dst_prefix[:-len(_local(dst_prefix))]
        for m in re.finditer(r"<%sdefinedName(?=[\s/>])" % re.escape(prefix), text):
            end = _element_end(text, m.start())
            el = text[m.start():end]
            tag = _TAG.match(el)
            if "localSheetId" not in tag.group():
                continue                    # a workbook name: the diff says which of those changed
            attrs = tag_attributes(tag.group())
            lsid = attrs.get("localSheetId")
            if lsid is None or not lsid.isdigit() or int(lsid) >= len(snames):
                continue
            sheet = snames[int(lsid)]
            if sheet not in owned or sheet not in pos_of:
                continue
            el = set_attribute(el, (0, tag.end()), "localSheetId", str(pos_of[sheet]))
            if prefix != dst_prefix:
                el = re.sub(r"^<%s|</%s" % (re.escape(prefix), re.escape(prefix)),
                            lambda n: n.group().replace(prefix, dst_prefix), el)
            out.append(el)
        return out

    def _remove_calc_chain(self) -> None:
        for r in relationships(self.pkg, self.wb):
            if r.type == REL_CALC_CHAIN:
                _remove_parts(self.pkg, [r.part])
                _remove_relationship(self.pkg, self.wb, r.id)

    # ---- cells on the user's sheets -------------------------------------------------------

    def _cells(self) -> None:
        by_sheet: dict[str, list[CellChange]] = {}
        for c in self.changes.cells:
            by_sheet.setdefault(c.sheet, []).append(c)
        owned = {n.casefold() for n in self.changes.sheets}
        for name, cells in by_sheet.items():
            if name.casefold() in owned:
                continue  # copied whole
            part = _sheet_part(self.pkg, name)
            if part is None:
                raise PackageError(f"the sheet {name!r} is not in the workbook")
            data_cells = [c for c in cells if c.fields & {"value", "fill"}]
            if data_cells:
                self._patch_sheet(part, data_cells)
            notes = [c for c in cells if "note" in c.fields]
            if notes:
                _Notes(self, part).apply(notes)

    def _patch_sheet(self, part: str, cells: list[CellChange]) -> None:
        text, enc = _text(self.pkg, part)
        root = _root_span(text)[0]
        prefix = root[:-len(_local(root))]
        want: dict[tuple[int, int], CellChange] = {}
        for c in cells:
            want[_split_ref(c.coordinate)] = c
        m = re.search(r"<%ssheetData(?=[\s/>])" % re.escape(prefix), text)
        if m is None:
            raise PackageError(f"the sheet part {part} has no cell data")
        sd_tag = _TAG.match(text, m.start())
        if sd_tag.group(4):
            text = text[:m.start()] + sd_tag.group()[:-2].rstrip() + f"></{prefix}sheetData>" + text[sd_tag.end():]
            sd_tag = _TAG.match(text, m.start())
        sd_close = text.index(f"</{prefix}sheetData>", sd_tag.end())
        # the rows that exist: (row number, start, end, inner start, inner end)
        rows = []
        row_pat = _start_tag_pattern(prefix, "row")
        row_close = f"</{prefix}row>"
        pos, last_r = sd_tag.end(), 0
        while True:
            tag = row_pat.search(text, pos, sd_close)
            if tag is None:
                break
            r = _r_attribute(tag.group(1))
            rnum = int(r) if r and r.isdigit() else last_r + 1
            last_r = rnum
            if tag.group(2):
                rows.append((rnum, tag.start(), tag.end(), None, None))
                pos = tag.end()
            else:
                close = text.index(row_close, tag.end())
                rows.append((rnum, tag.start(), close + len(row_close), tag.end(), close))
                pos = close
        edits: list[tuple[int, int, str]] = []
        by_row: dict[int, list[tuple[int, CellChange]]] = {}
        for (r, c), ch in sorted(want.items()):
            by_row.setdefault(r, []).append((c, ch))
        row_index = {row[0]: row for row in rows}
        row_numbers = [row[0] for row in rows]
        for r, changes in sorted(by_row.items()):
            if r in row_index:
                edits.extend(self._patch_row(text, prefix, row_index[r], changes))
            else:
                frag = "".join(self._cell_xml(prefix, f"{_col_letters(c)}{r}", None, ch) for c, ch in changes)
                if frag:
                    i = bisect.bisect_left(row_numbers, r)
                    at = rows[i][1] if i < len(rows) else sd_close
                    edits.append((at, at, f'<{prefix}row r="{r}">{frag}</{prefix}row>'))
        if self._masters:
            edits.extend(self._unshare(text, prefix, sd_tag.end(), sd_close, {f"{_col_letters(c)}{r}" for r, c in want}))
            self._masters = {}
        text = _apply_edits(text, edits)
        text = self._widen_dimension(text, prefix, list(want))
        self.pkg.set(part, _encode(text, enc))

    def _unshare(self, text: str, prefix: str, start: int, end: int, skip: set[str]) -> list[tuple[int, int, str]]:
        """Edits giving each dependent of a replaced shared-formula master its own formula."""
        from openpyxl.formula.translate import Translator
        edits = []
        f_pat = re.compile(r"<%sf\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>" % re.escape(prefix))
        for m in f_pat.finditer(text, start, end):
            a = tag_attributes(m.group())
            if a.get("t") != "shared" or a.get("si") not in self._masters or "ref" in a:
                continue
            c_start = text.rfind(f"<{prefix}c", start, m.start())
            ref = tag_attributes(_TAG.match(text, c_start).group()).get("r", "")
            if not ref or ref in skip:
                continue
            origin, formula = self._masters[a["si"]]
            try:
                moved = Translator("=" + formula, origin=origin).translate_formula(ref)[1:]
            except Exception as exc:
                raise PackageError(f"the shared formula of cell {ref} could not be rewritten ({exc})") from exc
            f_end = m.end() if m.group(2) else text.index(f"</{prefix}f>", m.end()) + len(f"</{prefix}f>")
            edits.append((m.start(), f_end, f"<{prefix}f>{_esc(moved)}</{prefix}f>"))
        return edits

    def _patch_row(self, text: str, prefix: str, row, changes) -> list[tuple[int, int, str]]:
        rnum, start, end, inner_s, inner_e = row
        edits = []
        if inner_s is None:  # <row .../>: open it
            tag = text[start:end]
            frag = "".join(self._cell_xml(prefix, f"{_col_letters(c)}{rnum}", None, ch) for c, ch in changes)
            if frag:
                edits.append((start, end, tag[:-2].rstrip() + ">" + frag + f"</{prefix}row>"))
            return edits
        found = _cells_at(text, prefix, inner_s, inner_e, rnum, changes)
        if found is not None:          # every cell written is there, found by its reference
            for (col, ch), (a, b) in zip(changes, found):
                edits.append((a, b, self._cell_xml(prefix, f"{_col_letters(col)}{rnum}", text[a:b], ch)))
            return edits
        cells = _row_cells(text, prefix, inner_s, inner_e)  # (col, start, end)
        cols = [c[0] for c in cells]
        for col, ch in changes:
            i = bisect.bisect_left(cols, col)
            coord = f"{_col_letters(col)}{rnum}"
            if i < len(cells) and cells[i][0] == col:
                _, a, b = cells[i]
                edits.append((a, b, self._cell_xml(prefix, coord, text[a:b], ch)))
            else:
                at = cells[i][1] if i < len(cells) else inner_e
                new = self._cell_xml(prefix, coord, None, ch)
                if new:
                    edits.append((at, at, new))
        return edits

    def _cell_xml(self, prefix: str, coord: str, old: str | None, ch: CellChange) -> str:
        """The new XML of one cell ('' when a missing cell would stay empty)."""
        if old is None:
            if ch.value is None and ("fill" not in ch.fields or ch.fill is None):
                return ""
            old = f'<{prefix}c r="{coord}"/>'
        tag = _TAG.match(old)
        attrs_text = tag.group(3)
        inner = "" if tag.group(4) else old[tag.end():old.rfind("</")]
        if "value" in ch.fields:
            if f"<{prefix}f" in inner and re.search(r"<%sf(?=[\s/>])" % re.escape(prefix), inner):
                f = re.search(r"<%sf\b[^>]*>" % re.escape(prefix), inner)
                fa = tag_attributes(f.group()) if f else {}
                if fa.get("t") == "shared" and "ref" in fa and "si" in fa:
                    # the other cells of the group lose their master: they get explicit formulas
                    body = inner[f.end():inner.find("</", f.end())] if not f.group().endswith("/>") else ""
                    self._masters[fa["si"]] = (coord, html.unescape(body))
                self.drop_calc_chain = True
            t, inner_new = _value_xml(ch.value, prefix, self.date1904)
            ext = (re.search(r"<%sextLst\b.*?</%sextLst>" % (re.escape(prefix), re.escape(prefix)), inner, re.DOTALL)
                   if f"<{prefix}extLst" in inner else None)
            inner = inner_new + (ext.group() if ext else "")
            attrs_text = _TYPE_ATTRS.sub("", attrs_text)
            if t:
                attrs_text += f' t="{t}"'
        if "fill" in ch.fields:
            s = int(tag_attributes(tag.group()).get("s", "0") or 0)
            new_s = self._fill_style(s, ch.fill)
            if re.search(r"\ss\s*=", attrs_text):
                attrs_text = re.sub(r"(\ss\s*=\s*)(\"[^\"]*\"|'[^']*')", rf'\g<1>"{new_s}"', attrs_text, count=1)
            else:
                attrs_text = re.sub(r"(\sr\s*=\s*(?:\"[^\"]*\"|'[^']*'))", rf'\1 s="{new_s}"', attrs_text, count=1)
        name = tag.group(2)
        attrs_text = attrs_text.rstrip()
        if not inner:
            return f"<{name}{attrs_text}/>"
        return f"<{name}{attrs_text}>{inner}</{name}>"

    def _fill_style(self, s: int, rgb: str | None) -> int:
        """The cell format `s` with the solid fill `rgb` (or none): an identical one the styles have,
        or a new one (worked out once per format and fill: a merge colours many cells alike)."""
        key = (s, rgb)
        if key not in self._fill_styles:
            self._fill_styles[key] = self._new_fill_style(s, rgb)
        return self._fill_styles[key]

    def _new_fill_style(self, s: int, rgb: str | None) -> int:
        st = self.styles
        raw = st.get("cellXfs", s) or st.get("cellXfs", 0)
        if raw is None:
            raise PackageError("the workbook's styles have no cell formats")
        fill_id = 0 if rgb is None else st.add("fills", _fill_xml(rgb, st.prefix))
        tag = _TAG.match(raw)
        new = set_attribute(raw, (0, tag.end()), "fillId", str(fill_id))
        new = set_attribute(new, (0, _TAG.match(new).end()), "applyFill", "1")
        if new == raw:
            return s
        return st.add("cellXfs", new)

    def _widen_dimension(self, text: str, prefix: str, cells: list[tuple[int, int]]) -> str:
        m = re.search(r"<%sdimension\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>" % re.escape(prefix), text)
        if m is None or not cells:
            return text
        ref = tag_attributes(m.group()).get("ref", "")
        try:
            a, _, b = ref.partition(":")
            r1, c1 = _split_ref(a)
            r2, c2 = _split_ref(b or a)
        except PackageError:
            return text
        rows = [r for r, _ in cells] + [r1, r2]
        cols = [c for _, c in cells] + [c1, c2]
        if min(rows) == r1 and max(rows) == r2 and min(cols) == c1 and max(cols) == c2:
            return text
        new = f"{_col_letters(min(cols))}{min(rows)}:{_col_letters(max(cols))}{max(rows)}"
        return set_attribute(text, (m.start(), m.end()), "ref", new)


# --------------------------------------------------------------------------------------
# Notes on the user's sheets
# --------------------------------------------------------------------------------------

_SHAPETYPE = ('<{v}shapetype id="_x0000_t202" coordsize="21600,21600" {o}spt="202" '
              'path="m,l,21600r21600,l21600,xe"><{v}stroke joinstyle="miter"/>'
              '<{v}path gradientshapeok="t" {o}connecttype="rect"/></{v}shapetype>')
_SHAPE = ('<{v}shape id="_x0000_s{id}" type="#_x0000_t202" style="position:absolute;'
          'margin-left:59.25pt;margin-top:1.5pt;width:{w}px;height:{h}px;z-index:{z};visibility:hidden" '
          'fillcolor="#ffffe1" {o}insetmode="auto"><{v}fill color2="#ffffe1"/>'
          '<{v}shadow on="t" color="black" obscured="t"/><{v}path {o}connecttype="none"/>'
          '<{v}textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></{v}textbox>'
          '<{x}ClientData ObjectType="Note"><{x}MoveWithCells/><{x}SizeWithCells/>'
          '<{x}Anchor>{anchor}</{x}Anchor><{x}AutoFill>False</{x}AutoFill>'
          '<{x}Row>{row}</{x}Row><{x}Column>{col}</{x}Column></{x}ClientData></{v}shape>')


def _vml_shapes(vml: str, v: str, x: str):
    """(start, end, object type, row, column) of each shape in a VML drawing."""
    out = []
    x_ = re.escape(x)
    object_type = re.compile(r"<%sClientData\b[^>]*ObjectType\s*=\s*[\"']([^\"']*)[\"']" % x_)
    row_of = re.compile(r"<%sRow>\s*(\d+)\s*</%sRow>" % (x_, x_))
    column_of = re.compile(r"<%sColumn>\s*(\d+)\s*</%sColumn>" % (x_, x_))
    for m in re.finditer(r"<%sshape(?=[\s/>])" % re.escape(v), vml):
        end = _element_end(vml, m.start())
        body = vml[m.start():end]
        ot, row, col = object_type.search(body), row_of.search(body), column_of.search(body)
        out.append((m.start(), end, ot.group(1) if ot else None,
                    int(row.group(1)) if row else None, int(col.group(1)) if col else None))
    return out


def _comment_list(text: str, prefix: str):
    """(authors, [(ref, author index, start, end)]) of a comments part."""
    authors = [html.unescape(m.group(1) or "") for m in
               re.finditer(r"<%sauthor\b[^>]*?(?:/>|>(.*?)</%sauthor>)" % (re.escape(prefix), re.escape(prefix)), text, re.DOTALL)]
    out = []
    for m in re.finditer(r"<%scomment(?=[\s/>])" % re.escape(prefix), text):
        tag = _TAG.match(text, m.start())
        a = tag_attributes(tag.group())
        aid = a.get("authorId", "")
        out.append((a.get("ref", ""), int(aid) if aid.isdigit() else -1, m.start(), _element_end(text, m.start())))
    return authors, out


# <legacyDrawing> comes after a sheet's cells (searched for from there: see _sheet_data_span)
_LEGACY_DRAWING = re.compile(r"<(?:[\w.-]+:)?legacyDrawing(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")


class _Notes:
    """xl_plan's notes on one user sheet: comments part + VML shapes."""

    def __init__(self, g: _Grafter, sheet_part: str):
        self.g, self.pkg, self.sheet = g, g.pkg, sheet_part

    def _find(self):
        comments = vml = None
        rels = relationships(self.pkg, self.sheet)
        apart = _cells_apart(self.pkg.get(self.sheet) or b"")
        text = apart.text if apart is not None else _text(self.pkg, self.sheet)[0]
        ld = _LEGACY_DRAWING.search(text, _after_cells(text))
        ld_id = None
        if ld:
            ld_id = next((v for k, v in tag_attributes(ld.group()).items() if k.endswith(":id") or k == "id"), None)
        for r in rels:
            if r.external:
                continue
            if r.type == REL_COMMENTS and self.pkg.has(r.part):
                comments = r
            elif r.type == REL_VML and self.pkg.has(r.part) and r.id == ld_id:
                vml = r   # (a VML drawing without <legacyDrawing> is the header/footer's)
        return comments, vml

    def apply(self, notes: list[CellChange]) -> None:
        pkg = self.pkg
        comments, vml = self._find()
        if comments is None and all(n.note is None for n in notes):
            return
        if comments is None:
            part = _fresh_name(pkg, "xl/comments1.xml", self.g.taken)
            pkg.set(part, ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                           f'<comments xmlns="{NS_MAIN}"><authors/><commentList/></comments>').encode())
            set_override(pkg, part, CT_COMMENTS)
            add_relationship(pkg, self.sheet, REL_COMMENTS, _relpath(self.sheet, part))
            comments, vml = self._find()
        if vml is None:
            part = _fresh_name(pkg, "xl/drawings/vmlDrawing1.vml", self.g.taken)
            maps = [int(d) for m in pkg.members if m.name.lower().endswith(".vml")
                    for block in re.findall(rb'idmap\b[^>]*\bdata\s*=\s*["\']([\d,\s]+)', m.data)
                    for d in re.findall(rb"\d+", block)]
            data = max(maps + [0]) + 1
            pkg.set(part, (f'<xml xmlns:v="{NS_VML}" xmlns:o="{NS_OFFICE}" xmlns:x="{NS_EXCEL}">'
                           f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{data}"/></o:shapelayout>'
                           + _SHAPETYPE.format(v="v:", o="o:") + "</xml>").encode())
            ensure_default(pkg, "vml", CT_VML)
            if content_type_of(pkg, part) != CT_VML:
                set_override(pkg, part, CT_VML)
            rid = add_relationship(pkg, self.sheet, REL_VML, _relpath(self.sheet, part))
            self._add_legacy_drawing(rid)
            comments, vml = self._find()

        ctext, cenc = _text(pkg, comments.part)
        croot = _root_span(ctext)[0]
        cp = croot[:-len(_local(croot))]
        vtext, venc = _text(pkg, vml.part)
        v = _ns_prefix(vtext, NS_VML)
        o = _ns_prefix(vtext, NS_OFFICE)
        x = _ns_prefix(vtext, NS_EXCEL)
        if v is None or o is None or x is None:
            raise PackageError(f"the notes drawing {vml.part} is not one xl_plan can add to")
        authors, clist = _comment_list(ctext, cp)
        mine = next((i for i, a in enumerate(authors) if a == OWNER), None)
        by_ref = {ref.upper(): (aid, a, b) for ref, aid, a, b in clist}
        shapes = _vml_shapes(vtext, v, x)
        notes_at: dict[tuple[int, int], list[tuple[int, int]]] = {}     # the note shapes on each cell
        for s in shapes:
            if s[2] == "Note":
                notes_at.setdefault((s[3], s[4]), []).append((s[0], s[1]))
        del_refs, vdel, cadd, vadd = set(), [], [], []
        need_author = False
        ids = [int(i) for i in re.findall(r'id\s*=\s*["\']_x0000_s(\d+)', vtext)]
        idmap = re.search(r'idmap\b[^>]*\bdata\s*=\s*["\'](\d+)', vtext)
        next_id = max(ids + [int(idmap.group(1)) * 1024 if idmap else 1024]) + 1
        z = len(shapes) + 1
        shape = _SHAPE.replace("{v}", v).replace("{o}", o).replace("{x}", x)     # the prefixes, once
        for n in notes:
            ref = n.coordinate.replace("$", "").upper()
            row, col = _split_ref(ref)
            have = by_ref.get(ref)
            if have is not None and ref not in del_refs:
                if mine is None or have[0] != mine:
                    continue  # the user's own note: never replaced
                del_refs.add(ref)
                vdel.extend(notes_at.get((row - 1, col - 1), ()))
            if n.note is None:
                continue
            if mine is None:
                mine = len(authors)
                authors.append(OWNER)
                need_author = True
            cadd.append(f'<{cp}comment ref="{ref}" authorId="{mine}"><{cp}text><{cp}t xml:space="preserve">'
                        f"{_esc(_ooxml_text(n.note))}</{cp}t></{cp}text></{cp}comment>")
            top = max(row - 2, 0)
            anchor = f"{col}, 15, {top}, 10, {col + 2}, 15, {top + 4}, 4"
            lines = n.note.count("\n") + 1
            vadd.append(shape.format(id=next_id, z=z, w=320, h=min(60 + 20 * lines, 300),
                                     anchor=anchor, row=row - 1, col=col - 1))
            next_id += 1
            z += 1
        # comments part: remove, then append
        if del_refs:
            for ref, aid, a, b in reversed(clist):
                if ref.upper() in del_refs and aid == mine:
                    ctext = ctext[:a] + ctext[b:]
        if need_author:
            ctext = self._add_author(ctext, cp)
        if cadd:
            m = re.search(r"<%scommentList(?=[\s/>])" % re.escape(cp), ctext)
            if m is None:
                raise PackageError(f"the notes part {comments.part} has no list of notes")
            ctext, close = _open_if_empty(ctext, m.start())
            ctext = ctext[:close] + "".join(cadd) + ctext[close:]
        if vdel or vadd:
            for a, b in sorted(set(vdel), reverse=True):
                vtext = vtext[:a] + vtext[b:]
            if vadd:
                if not re.search(r'<%sshapetype\b[^>]*id=["\']_x0000_t202' % re.escape(v), vtext):
                    vadd.insert(0, _SHAPETYPE.format(v=v, o=o))
                close = vtext.rfind("</")
                vtext = vtext[:close] + "".join(vadd) + vtext[close:]
        # drop xl_plan's author again when no note of it is left and it is the last author (the notes
        # left: the original's not removed, and those added)
        left = [aid for ref, aid, _, _ in clist if not (ref.upper() in del_refs and aid == mine)] + [mine] * len(cadd)
        if mine is not None and mine == len(authors) - 1 and mine not in left:
            ctext = re.sub(r"<%sauthor>%s</%sauthor>(?=\s*</%sauthors>)" % (re.escape(cp), re.escape(OWNER), re.escape(cp), re.escape(cp)), "", ctext, count=1)
        if not left:
            _remove_parts(pkg, [comments.part])
            _remove_relationship(pkg, self.sheet, comments.id)
        else:
            pkg.set(comments.part, _encode(ctext, cenc))
        if not re.search(r"<%sshape(?=[\s/>])" % re.escape(v), vtext):
            _remove_parts(pkg, [vml.part])
            _remove_relationship(pkg, self.sheet, vml.id)
            self._remove_legacy_drawing()
        else:
            pkg.set(vml.part, _encode(vtext, venc))
        rels = rels_name(self.sheet)
        if pkg.has(rels) and not relationships(pkg, self.sheet):
            _remove_member(pkg, rels)

    @staticmethod
    def _add_author(ctext: str, cp: str) -> str:
        m = re.search(r"<%sauthors(?=[\s/>])" % re.escape(cp), ctext)
        frag = f"<{cp}author>{OWNER}</{cp}author>"
        if m is None:
            _, _, rs, _, _ = _root_span(ctext)
            return ctext[:rs] + f"<{cp}authors>{frag}</{cp}authors>" + ctext[rs:]
        ctext, close = _open_if_empty(ctext, m.start())
        return ctext[:close] + frag + ctext[close:]

    def _add_legacy_drawing(self, rid: str) -> None:
        apart = _cells_apart(self.pkg.get(self.sheet) or b"")
        text, enc = (apart.text, "utf-8") if apart is not None else _text(self.pkg, self.sheet)

        def put(new: str) -> None:
            self.pkg.set(self.sheet, apart.joined(new) if apart is not None else _encode(new, enc))

        ld = _LEGACY_DRAWING.search(text, _after_cells(text))
        if ld:   # one whose drawing is missing: point it at the new one
            key = next((k for k in tag_attributes(ld.group()) if k.endswith(":id")), "r:id")
            put(set_attribute(text, (ld.start(), ld.end()), key, rid))
            return
        name, root_start, rs, rc, _ = _root_span(text)
        prefix = name[:-len(_local(name))]
        r = _ns_prefix(text, NS_R)
        root_tag = None                 # the root's start tag with the r: declaration, when it needs one
        if r is None:
            root_tag = set_attribute(text[root_start:rs], (0, rs - root_start), "xmlns:r", NS_R)
            r = "r:"
        sd = text.find(f"</{prefix}sheetData>")
        start = sd if sd >= 0 else rs
        at = rc
        for local, a, b in _children(text, start + len(f"</{prefix}sheetData>") if sd >= 0 else rs, rc):
            if local == "AlternateContent":   # Excel wraps <controls> and <oleObjects> in one
                inner = re.search(r"<(?:[\w.-]+:)?Choice\b[^>]*>\s*<([\w.:-]+)", text[a:b])
                local = _local(inner.group(1)) if inner else local
            if local in _WS_AFTER_LEGACY:
                at = a
                break
        element = f'<{prefix}legacyDrawing {r}id="{rid}"/>'
        put("".join((text[:root_start], root_tag, text[rs:at], element, text[at:])) if root_tag is not None
            else "".join((text[:at], element, text[at:])))

    def _remove_legacy_drawing(self) -> None:
        text, enc = _text(self.pkg, self.sheet)
        m = _LEGACY_DRAWING.search(text, _after_cells(text))
        if m:
            text = text[:m.start()] + text[_element_end(text, m.start()):]
            # the r: declaration _add_legacy_drawing put first on the root, when nothing uses it now
            name, s, e, _, _ = _root_span(text)
            ours = f'<{name} xmlns:r="{NS_R}"'
            if text.startswith(ours, s) and not re.search(r"\sr:[\w.-]+\s*=", text):
                text = text[:s] + f"<{name}" + text[s + len(ours):]
            self.pkg.set(self.sheet, _encode(text, enc))


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------

def graft(original: Path, scratch: Path, changes: WorkbookChanges, detached: dict | None = None) -> bytes:
    """The bytes of a new package: `original` with `changes` applied. `scratch` is an
    openpyxl-saved package holding (at least) every sheet named in changes.sheets, under the
    same names, in its final state. Raise PackageError with a plain message if it cannot."""
    pkg = Package.read(original)
    scr = Package.read(scratch)
    try:
        return _Grafter(pkg, scr, changes, detached).run()
    except PackageError:
        raise
    except (ValueError, KeyError, IndexError, AttributeError, ElementTree.ParseError) as exc:
        raise PackageError(f"xl_plan could not write its changes into {Path(original).name}: {exc}") from exc


_CELL_XML = None
# A scratch cell's attributes as openpyxl writes them (r, then s and t when present; no entities):
# read without the general attribute parser, which is most of the cost of copying a long sheet.
_PLAIN_CELL_ATTRS = re.compile(r' r="[A-Z]{1,3}[0-9]+"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?\s*')
# A cell of a shared string (t="s", spaces allowed as XML allows them), and a cell's or row's style
# attribute: their start tags hold no '>' in attribute values (r, s, t, cm, vm, ph; r, spans, ht...),
# and text holds no '<'.
_SHARED_STRING_CELL = re.compile(r"""<c\s[^>]*?\bt\s*=\s*["']s["']""")


def _has_shared_string_cell(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] holds a cell of a shared string (a t="s" needs a quoted s somewhere)."""
    if text.find('"s"', start, end) < 0 and text.find("'s'", start, end) < 0:
        return False
    return _SHARED_STRING_CELL.search(text, start, end) is not None


_SCRATCH_ROW = re.compile(r'<row r="([0-9]+)"')        # a row's start tag as openpyxl writes it
_CELL_STYLE = re.compile(r"""(<(?:c|row)\s[^>]*?\ss\s*=\s*(["']))([0-9]+)\2""")


def _sheet_cells(text: str) -> dict[str, str]:
    """Raw XML of every <c> by its reference."""
    global _CELL_XML
    if _CELL_XML is None:
        _CELL_XML = re.compile(r"(<(?:[\w.-]+:)?c\s(?:[^>\"']|\"[^\"]*\"|'[^']*')*?\br=\"([A-Za-z]+\d+)\""
                               r"(?:(?:[^>\"'/]|\"[^\"]*\"|'[^']*')*/>|(?:[^>\"']|\"[^\"]*\"|'[^']*')*>.*?</(?:[\w.-]+:)?c>))", re.DOTALL)
    # findall's (whole cell, reference) tuples: no match object per cell (a plan sheet has tens of thousands)
    return {(ref if ref.isupper() else ref.upper()): xml for xml, ref in _CELL_XML.findall(text)}


_SHEET_DATA_OPEN = re.compile(r"<(?:[\w.-]+:)?sheetData(?=[\s/>])")
_SHEET_DATA_CLOSE = re.compile(r"</(?:[\w.-]+:)?sheetData>")
_SHEET_DATA = {str: (_SHEET_DATA_OPEN, _SHEET_DATA_CLOSE, "sheetData>", "</"),
               bytes: (re.compile(_SHEET_DATA_OPEN.pattern.encode()), re.compile(_SHEET_DATA_CLOSE.pattern.encode()),
                       b"sheetData>", b"</")}


def _sheet_data_span(text):
    """(start, end) of the <sheetData> element of a sheet part (its text, or its bytes), None when it has
    none (and, in bytes, when it is empty). Its close tag is looked for from the end (a sheet has one
    <sheetData>): a regular expression run forward would try every close tag of every cell on the way."""
    opening, closing, name_end, close_start = _SHEET_DATA[type(text)]
    a = opening.search(text)
    if a is None:
        return None
    at = text.rfind(name_end)
    b = closing.match(text, text.rfind(close_start, 0, at)) if at > a.start() else None
    if b is None:
        return None if type(text) is bytes else (a.start(), _TAG.match(text, a.start()).end())
    return a.start(), b.end()


def _after_cells(text: str) -> int:
    """Where the elements after a sheet's cells begin (0 when it has no <sheetData>)."""
    span = _sheet_data_span(text)
    return span[1] if span else 0




@dataclass(frozen=True)
class _CellsApart:
    """A UTF-8 sheet part read as text but for its cells: `text` is the part with an empty <sheetData>
    element (`empty`, at `at`) where its cells are, `cells` where they are in `data`. A plan's sheet
    is nearly all cells: the rest is searched and edited as text without decoding them."""
    data: bytes
    cells: tuple[int, int]
    text: str
    at: int
    empty: str

    def joined(self, text: str) -> bytes:
        """The part's bytes for `text`, an edit of `self.text` that kept its empty <sheetData>."""
        at = text.index(self.empty)
        return b"".join((text[:at].encode(), memoryview(self.data)[self.cells[0]:self.cells[1]],
                         text[at + len(self.empty):].encode()))


def _cells_apart(data: bytes) -> _CellsApart | None:
    """The part with its cells apart (as _sheet_data_span finds them, in its bytes); None when it is
    not UTF-8 without a byte-order mark or its cells are not found so."""
    span = _sheet_data_span(data) if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) else None
    if span is None:
        return None
    start, end = span
    name = _SHEET_DATA_OPEN.match(data[start:start + 200].decode("utf-8", "replace")).group()[1:]
    empty = f"<{name}></{name}>"
    head, tail = data[:start].decode(), data[end:].decode()
    if empty in head or empty in tail:
        return None
    return _CellsApart(data, span, head + empty + tail, len(head), empty)


def _sheet_data(text: str) -> str | None:
    """The <sheetData> element of a sheet part, as text (None when it has none)."""
    span = _sheet_data_span(text)
    return text[span[0]:span[1]] if span else None


def _cell_problems(name: str, t0: str, t1: str, cells: set[str]) -> list[str]:
    """Cells and rows of a patched sheet part (text before, after) that xl_plan did not write yet changed."""
    c0, c1 = _sheet_cells(t0), _sheet_cells(t1)
    shared = set()
    for ref in cells:
        f = re.search(r'<(?:[\w.-]+:)?f\b[^>]*\bt="shared"[^>]*>', c0.get(ref, ""))
        if f and "ref=" in f.group():
            shared |= set(re.findall(r'\bsi="(\d+)"', f.group()))
    lost = []
    for ref, xml in c0.items():
        if ref in cells or c1.get(ref) == xml:
            continue
        si = re.search(r'<(?:[\w.-]+:)?f\b[^>]*\bt="shared"[^>]*\bsi="(\d+)"', xml)
        if si and si.group(1) in shared and ref in c1:
            strip = lambda x: re.sub(r"<(?:[\w.-]+:)?f\b.*?(?:/>|</(?:[\w.-]+:)?f>)", "", x, flags=re.DOTALL)
            if strip(c1[ref]) == strip(xml):
                continue
        lost.append(ref)
    problems = []
    if lost:
        problems.append(f"the part {name} changed {len(lost)} cells xl_plan did not write (for example {lost[0]})")
    extra = [r for r in c1 if r not in c0 and r not in cells]
    if extra:
        problems.append(f"the part {name} has cells xl_plan did not write (for example {extra[0]})")
    return problems


# what a cell xl_plan wrote cannot hold: another cell or a row, a comment, CDATA or a processing
# instruction (a close tag inside those would not be the cell's)
_NOT_IN_A_CELL = re.compile(r"<[!?]|<(?:[\w.-]+:)?(?:c|row)[\s/>]|</(?:[\w.-]+:)?row>")


def _one_cell_end(text: str, start: int, end: int, name: str) -> int | None:
    """End of the element <name ...> starting at ``start`` when it is one whole cell and nothing more
    (text[start:end] holds its close tag), else None."""
    tag = _TAG.match(text, start, end)
    if tag is None or tag.group(1) or tag.group(2) != name:
        return None
    if tag.group(4):
        return tag.end()
    close = text.find(f"</{name}>", tag.end(), end)
    if close < 0 or _NOT_IN_A_CELL.search(text, tag.end(), close) is not None:
        return None
    return close + len(name) + 3


def _only_written_cells_differ(t0: str, span0, t1: str, span1, written: set[str]) -> bool:
    """True when the <sheetData> of t1 (well-formed) is that of t0 with whole cells of references in
    ``written`` put in (each one replacing the whole cell of its reference there, or added), and every
    other character the same: then no other cell and no row changed, none was added or moved, and
    the cells need no comparing one by one. False when that cannot be told so simply (a row added, a
    shared formula rewritten, cells out of order, comments): then they are compared one by one."""
    (a0, b0), (a1, b1) = span0, span1
    if any(t.find(mark, a, b) >= 0 for t, a, b in ((t0, a0, b0), (t1, a1, b1)) for mark in ("<!", "<?")):
        return False
    name = _SHEET_DATA_OPEN.match(t0, a0).group()[1:-len("sheetData")] + "c"
    try:
        refs = sorted(written, key=_split_ref)
    except PackageError:
        return False
    p0, p1 = a0, a1
    for ref in refs:      # in the order rows and cells are written (else a find fails: compared one by one)
        needle = f'<{name} r="{ref}"'
        c1 = t1.find(needle, p1, b1)
        e1 = _one_cell_end(t1, c1, b1, name) if c1 >= 0 else None
        c0 = p0 + (c1 - p1)
        if e1 is None or c0 > b0 or not t0.startswith(t1[p1:c1], p0):
            return False
        if t0.startswith(needle, c0):          # the cell it replaced
            p0 = _one_cell_end(t0, c0, b0, name)
            if p0 is None:
                return False
        else:                                  # a cell it added
            p0 = c0
        p1 = e1
    return b0 - p0 == b1 - p1 and t1.startswith(t0[p0:b0], p1)


def _rows_lost(t0: str, t1: str) -> bool:
    row = r"<(?:[\w.-]+:)?row\b(?:[^>\"'/]|\"[^\"]*\"|'[^']*')*"
    return bool(Counter(re.findall(row, t0)) - Counter(re.findall(row, t1)))


def _same_span(t0: str, span0, t1: str, span1) -> bool:
    """t0[span0] == t1[span1], copying a large sheet's cells once, not twice."""
    return span0[1] - span0[0] == span1[1] - span1[0] and t1.startswith(t0[span0[0]:span0[1]], span1[0])


def _sheet_problems(name: str, before: bytes, after: bytes, cells: set[str], well_formed: set | None = None,
                    written: set[str] = frozenset()) -> list[str]:
    """A user's sheet part xl_plan patched: every cell it did not write keeps its exact XML (or,
    for the other cells of a shared formula whose first cell it replaced, an explicit formula), and
    everything outside <sheetData> is as it was but for <dimension> and <legacyDrawing>. ``cells``
    are the cells xl_plan changed, ``written`` those of them whose value or fill it wrote."""
    apart0, apart1 = _cells_apart(before), _cells_apart(after)
    c0, c1 = (apart0.cells, apart1.cells) if apart0 is not None and apart1 is not None else (None, None)
    if c0 is not None and c0[1] - c0[0] == c1[1] - c1[0] and after.startswith(before[c0[0]:c0[1]], c1[0]):
        # only notes written: every cell byte for byte as it was (compared in the bytes: the rest is read
        # as text, the cells kept apart)
        (t0, t1), enc1, same_data = (apart0.text, apart1.text), "utf-8", True
        span0, span1 = _sheet_data_span(t0), _sheet_data_span(t1)
    else:
        (t0, _), (t1, enc1) = _decode(before), _decode(after)
        span0, span1 = _sheet_data_span(t0), _sheet_data_span(t1)
        same_data = span0 is not None and span1 is not None and _same_span(t0, span0, t1, span1)
    # Cells that are the original's, byte for byte, were read from it: the rest of the part is what
    # xl_plan wrote, and is parsed with an empty <sheetData> in their place.
    err = xml_problem(_encode(t1[:span1[0]] + "<sheetData/>" + t1[span1[1]:], enc1) if same_data else after)
    if err is not None:
        return [f"the part {name} is not well-formed XML any more ({err})"]
    if well_formed is not None:
        well_formed.add(name.lower())        # parsed once: check_grafted need not parse it again
    problems = []
    # every cell but those written as they were, and in their places: nothing to compare cell by cell
    only_written = (not same_data and span0 is not None and span1 is not None
                    and _only_written_cells_differ(t0, span0, t1, span1, written))
    if not same_data and not only_written:
        problems += _cell_problems(name, t0, t1, cells)

    def outside(text: str, span) -> str:
        if span is None:
            return text
        text = text[:span[0]] + text[span[1]:]
        text = re.sub(r"<(?:[\w.-]+:)?(?:dimension|legacyDrawing)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*/>", "", text)
        return text.replace(f' xmlns:r="{NS_R}"', "")
    if outside(t0, span0) != outside(t1, span1):
        problems.append(f"the part {name} changed outside its cells")
    if not same_data and not only_written and _rows_lost(t0, t1):
        problems.append(f"the part {name} lost or changed some of its rows")
    # rows ascending, cells in column order (as they were, when every cell is the original's)
    if not same_data:
        problems += _order_problems(name, t1)
    if len(re.findall(r"<(?:[\w.-]+:)?legacyDrawing\b", t1[span1[1] if span1 else 0:])) > 1:
        problems.append(f"the part {name} has two notes drawings")
    return problems


_ROW_OR_CELL_REF = re.compile(r'<(?:[\w.-]+:)?(row|c)\s(?:[^>"\']|"[^"]*"|\'[^\']*\')*?\br="([A-Za-z]*)(\d+)"')


def _order_problems(name: str, text: str) -> list[str]:
    """A sheet part's rows out of order, or a cell out of its row or column order (the first found)."""
    last_row, last_col = 0, 0
    cols: dict[str, int] = {}
    # findall's (tag, column, row) tuples: no match object per cell
    for kind, letters, digits in _ROW_OR_CELL_REF.findall(text):
        if kind == "row":
            r = int(digits)
            if r <= last_row:
                return [f"the part {name} has row {r} out of order"]
            last_row, last_col = r, 0
        else:
            c = cols.get(letters)
            if c is None:
                c = cols[letters] = _col_number(letters)
            if int(digits) != last_row or c <= last_col:
                return [f"the part {name} has cell {letters}{digits} out of place"]
            last_col = c
    return []


def _part_tree(pkg: Package, name: str):
    """The element tree of a part of ``pkg``, parsed once while the part keeps its bytes."""
    return pkg.parsed_as(("tree", name.lower()), pkg.get(name), parse)


def _signatures(root, skip, within: set | None = None) -> Counter:
    """Each element of the tree ``root`` as (path of tags, attributes, text when it has no children);
    ``skip(el)`` says which elements (with what is inside them) not to count, ``within`` (when given)
    the only paths to count."""
    out: Counter = Counter()

    def walk(el, path):
        if skip(el):
            return
        p = path + (el.tag,)
        if within is not None and p not in within:
            return
        attrs = tuple(sorted((k, v) for k, v in el.attrib.items() if k not in _VOLATILE))
        kids = list(el)
        text = (el.text or "") if not kids else ""
        out[(p, attrs, text)] += 1
        for k in kids:
            walk(k, p)

    walk(root, ())
    return out


# attributes graft may change on an element it keeps
_VOLATILE = {"count", "localSheetId", "state", "activeTab", "firstSheet", "ref", "uniqueCount"}


def _tag(el) -> str:
    return el.tag.rsplit("}", 1)[-1]


def check_grafted(original: Path | bytes, written: bytes, changes: WorkbookChanges) -> list[str]:
    """Problems found in `written`, in plain words ([] = good)."""
    # read lazily: a part stored as the very bytes the original stores it as (most of a plan, often its
    # largest sheet) is the original's part, unchanged, without decompressing either; every other part
    # is decompressed (its CRC checked) here, as an eager read does
    orig = Package.from_bytes(original, lazy=True) if isinstance(original, (bytes, bytearray)) \
        else Package.read(original, lazy=True)
    try:
        new = Package.from_bytes(written, lazy=True)
    except Exception as exc:  # noqa: BLE001 - any failure to open is the problem
        return [f"the written file is not a zip package ({exc})"]
    orig_by_name = {m.name.lower(): m for m in orig.members}
    stored_same = {m.name.lower() for m in new.members
                   if m.name.lower() in orig_by_name and stored_alike(m, orig_by_name[m.name.lower()])}
    try:
        for m in orig.members:
            if m.name.lower() not in stored_same:
                m.data  # noqa: B018 - decompressed now
    except zipfile.BadZipFile as exc:          # as Package.read says it (from_bytes lets it through)
        if isinstance(original, (bytes, bytearray)):
            raise
        raise PackageError(f"{Path(original).name} could not be opened as an Excel workbook ({exc}).") from None
    try:
        for m in new.members:
            if m.name.lower() not in stored_same:
                m.data  # noqa: B018
    except Exception as exc:  # noqa: BLE001 - any failure to open is the problem
        return [f"the written file is not a zip package ({exc})"]
    problems: list[str] = []
    plan = _plan(orig, changes)
    new_names = {m.name.lower(): m for m in new.members}
    old_names = [s.name for s in plan.sheets]
    changed_cells: dict[str, set[str]] = {}
    written_cells: dict[str, set[str]] = {}       # those whose value or fill was written
    for c in changes.cells:
        ref = c.coordinate.replace("$", "").upper()
        changed_cells.setdefault(c.sheet.casefold(), set()).add(ref)
        if c.fields & {"value", "fill"}:
            written_cells.setdefault(c.sheet.casefold(), set()).add(ref)
    owned = {n.casefold() for n in changes.sheets}
    gone = {s.name.casefold() for s in plan.removed} | owned
    part_sheet = {s.part.lower(): s.name.casefold() for s in plan.sheets if s.part}
    well_formed: set[str] = set()       # parts of the new package already parsed, and well-formed

    for m in orig.members:
        low = m.name.lower()
        got = new_names.get(low)
        if got is None:
            if low not in plan.removable:
                problems.append(f"the part {m.name} of the original is missing")
            continue
        if low in stored_same or got.data == m.data:
            continue
        if low not in plan.extended and low not in plan.removable:
            problems.append(f"the part {m.name} changed, but xl_plan does not own it")
            continue
        if low in plan.removable and low not in plan.extended:
            continue
        if low in {s.part.lower() for s in plan.replaced if s.part}:
            continue  # an owned sheet, replaced whole
        if low in part_sheet:
            sheet = part_sheet[low]
            problems += _sheet_problems(m.name, m.data, got.data, changed_cells.get(sheet, set()), well_formed,
                                        written_cells.get(sheet, set()))
            continue
        skip = _skipper(orig, m.name, low, plan, changes, changed_cells, part_sheet, old_names, gone)
        try:
            before = _signatures(_part_tree(orig, m.name), skip)
        except Exception:  # noqa: BLE001 - the original did not parse; nothing to compare
            continue
        try:
            # only where an element of the original's can be: what is elsewhere cannot make up for a loss
            # (xl_plan's thousands of notes, when the user has none)
            after = _signatures(parse(got.data), lambda el: False, {path for path, _, _ in before})
        except Exception as exc:  # noqa: BLE001
            problems.append(f"the part {m.name} is not well-formed XML any more ({exc})")
            continue
        well_formed.add(low)
        lost = before - after
        if lost:
            (path, attrs, text), _ = next(iter(lost.items()))
            problems.append(f"the part {m.name} lost {sum(lost.values())} of its elements "
                            f"(for example <{path[-1].rsplit('}', 1)[-1]}> {dict(attrs)})")

    for m in new.members:
        low = m.name.lower()
        if not low.endswith((".xml", ".rels", ".vml")):
            continue
        if low in well_formed or low in stored_same:
            continue  # parsed already, or stored as the original's part is: it parses exactly as well as it did
        if low in orig_by_name:
            if orig_by_name[low].data == m.data:
                continue  # byte for byte the original's part: it parses exactly as well as it did
            if xml_problem(orig_by_name[low].data) is not None:
                continue  # it did not parse in the original either
        err = xml_problem(m.data)
        if err is not None:
            problems.append(f"the part {m.name} is not well-formed XML ({err})")
    try:
        defaults, overrides = content_types(new)
    except Exception as exc:  # noqa: BLE001
        return problems + [f"the content types cannot be read ({exc})"]
    for m in new.members:
        if m.name == CONTENT_TYPES:
            continue
        ext = m.name.rsplit(".", 1)[-1].lower() if "." in posixpath.basename(m.name) else ""
        if "/" + m.name.lower() not in overrides and ext not in defaults:
            problems.append(f"the part {m.name} has no content type")
    for o in overrides:
        if o.lstrip("/") not in new_names:
            problems.append(f"the content types name a part that is not there ({o})")
    names_in_ct = re.findall(r'PartName\s*=\s*"([^"]*)"', _decode(new.get(CONTENT_TYPES))[0])
    twice = [n for n, k in Counter(n.lower() for n in names_in_ct).items() if k > 1]
    if twice:
        problems.append(f"the content types name {twice[0]} twice")
    for m in new.members:
        if not m.name.lower().endswith(".rels"):
            continue
        folder, base = posixpath.split(m.name)
        src = posixpath.join(posixpath.dirname(folder), base[:-5]) if base != ".rels" else ""
        if src and src.lower() not in new_names:
            problems.append(f"the relationships {m.name} belong to a part that is not there")
        try:
            rels = relationships(new, src)
        except Exception:  # noqa: BLE001 - reported as not well-formed above
            continue
        for r in rels:
            if not r.external and r.part.lower() not in new_names:
                problems.append(f"{m.name} points at {r.target}, which is not in the file")
        ids = Counter(r.id for r in rels)
        if any(k > 1 for k in ids.values()):
            problems.append(f"{m.name} uses the relationship id {next(i for i, k in ids.items() if k > 1)} twice")
    try:
        wb = workbook_part(new)
        sheets = _sheets(new, wb)
        names = [s.name.casefold() for s in sheets]
        ids = [s.sheet_id for s in sheets]
        if len(set(names)) != len(names):
            problems.append("two sheets have the same name")
        if len(set(ids)) != len(ids):
            problems.append("two sheets have the same sheetId")
        for s in sheets:
            if s.part is None or s.part.lower() not in new_names:
                problems.append(f"the sheet {s.name!r} has no part")
        for n in changes.sheets:
            if n.casefold() not in names:
                problems.append(f"the sheet {n!r} xl_plan wrote is not in the file")
        for n in changes.removed_sheets:
            if n.casefold() in names and n.casefold() not in owned:
                problems.append(f"the sheet {n!r} xl_plan removed is still in the file")
        text = _decode(new.get(wb))[0]
        for m in re.finditer(r'localSheetId="(\d+)"', text):
            if int(m.group(1)) >= len(sheets):
                problems.append(f"a defined name is scoped to sheet {m.group(1)}, past the last sheet")
    except PackageError as exc:
        problems.append(str(exc))
    return problems


def _skipper(orig: Package, name: str, low: str, plan: _Plan, changes: WorkbookChanges,
             changed_cells, part_sheet, old_names, gone):
    """Which original elements of an extended part graft may legitimately remove or replace."""
    if low == CONTENT_TYPES.lower():
        return lambda el: _tag(el) == "Override" and el.get("PartName", "").lstrip("/").lower() in plan.removable
    if low == rels_name(plan.wb).lower():
        removed_ids = {s.rid for s in plan.removed}
        def rel(el):
            if _tag(el) != "Relationship":
                return False
            target = posixpath.normpath(posixpath.join(posixpath.dirname(plan.wb), el.get("Target", ""))).lower()
            return el.get("Id") in removed_ids or target in plan.removable
        return rel
    if low == plan.wb.lower():
        names = {n.casefold() for n in changes.names_added} | {n.casefold() for n in changes.names_removed}
        def wb(el):
            t = _tag(el)
            if t == "sheet":
                return el.get("name", "").casefold() in {s.name.casefold() for s in plan.removed}
            if t == "definedNames":   # goes when every name in it goes
                return all(wb(k) for k in el)
            if t == "definedName":
                lsid = el.get("localSheetId")
                if lsid is None:
                    return el.get("name", "").casefold() in names
                i = int(lsid) if lsid.isdigit() else -1
                return i >= len(old_names) or old_names[i].casefold() in gone
            return False
        return wb
    if low.endswith(".rels"):
        folder, base = posixpath.split(name)
        src = posixpath.join(posixpath.dirname(folder), base[:-5])
        return lambda el: (_tag(el) == "Relationship" and el.get("TargetMode") != "External"
                           and posixpath.normpath(posixpath.join(posixpath.dirname(src), el.get("Target", ""))).lower()
                           in plan.removable)
    if low in part_sheet:
        cells = changed_cells.get(part_sheet[low], set())
        shared = set()   # shared formulas whose master xl_plan replaced: the others get their own
        for el in _part_tree(orig, name).iter():
            if _tag(el) == "c" and el.get("r", "").upper() in cells:
                f = next((k for k in el if _tag(k) == "f"), None)
                if f is not None and f.get("t") == "shared" and f.get("ref"):
                    shared.add(f.get("si"))
        return lambda el: ((_tag(el) == "c" and el.get("r", "").upper() in cells)
                           or _tag(el) in ("dimension", "legacyDrawing")
                           or (_tag(el) == "f" and el.get("t") == "shared" and el.get("si") in shared))
    if low.endswith(".vml"):
        mine_refs = _xl_plan_note_refs(orig, low)
        return lambda el: _is_xl_plan_shape(el, mine_refs)
    if "comments" in low:
        try:
            root = _part_tree(orig, name)
            authors = [a.text for a in root.iter() if _tag(a) == "author"]
        except Exception:  # noqa: BLE001
            authors = []
        mine = {str(i) for i, a in enumerate(authors) if a == OWNER}
        return lambda el: (_tag(el) == "comment" and el.get("authorId") in mine) or (_tag(el) == "author" and el.text == OWNER)
    return lambda el: False


def _xl_plan_note_refs(orig: Package, vml_low: str) -> set[str]:
    """The cells whose note, in the comments beside this VML drawing (same sheet), is xl_plan's."""
    out: set[str] = set()
    for m in orig.members:
        if not m.name.lower().endswith(".rels"):
            continue
        folder, base = posixpath.split(m.name)
        src = posixpath.join(posixpath.dirname(folder), base[:-5])
        rels = relationships(orig, src)
        if not any(r.part.lower() == vml_low for r in rels):
            continue
        for r in rels:
            if r.type == REL_COMMENTS and orig.has(r.part):
                root = _part_tree(orig, r.part)
                authors = [a.text for a in root.iter() if _tag(a) == "author"]
                for c in root.iter():
                    aid = c.get("authorId", "")
                    if (_tag(c) == "comment" and aid.isdigit() and int(aid) < len(authors)
                            and authors[int(aid)] == OWNER):
                        out.add(c.get("ref", "").upper())
    return out


def _is_xl_plan_shape(el, mine: set[str]) -> bool:
    """A note shape on a cell where the original's comment is xl_plan's."""
    if _tag(el) != "shape":
        return False
    cd = next((c for c in el if _tag(c) == "ClientData"), None)
    if cd is None or cd.get("ObjectType") != "Note":
        return False
    row = next((c.text for c in cd if _tag(c) == "Row"), None)
    col = next((c.text for c in cd if _tag(c) == "Column"), None)
    if row is None or col is None or not row.strip().isdigit() or not col.strip().isdigit():
        return False
    return f"{_col_letters(int(col) + 1)}{int(row) + 1}" in mine
