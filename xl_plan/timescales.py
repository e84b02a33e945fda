"""Read the free-text timescales of an improvement action plan.

Councils write timescales any way they like: ``Mar-24``, ``Nov2014``,
``May 2014 to March 2016``, ``Quarterly (review March 2016)``, ``2014/15``,
``Ongoing``, real Excel dates, Excel serial numbers...  :func:`parse_timescale`
turns one cell into a :class:`Timescale` that the Gantt chart and the overdue
checks can use.  The rule that matters most: **never guess**.  Text that commits
to no date is reported as undated, with a plain-English reason.

Conventions (UK):

* numeric dates are day-first: ``03/04/2024`` is 3 April 2024;
* ``Mar-24`` / ``Jan-17`` are months (March 2024), never a day of the month;
* a month means its first day for ``start`` and its last day for ``end``;
* ``2014/15`` is the financial year April 2014 to March 2015, ``Q3 2023/24`` is
  October-December 2023, while ``Q1 2024`` is the calendar quarter Jan-Mar 2024;
* a month name only counts when a year (or day and year) is attached to it, so
  "may be delayed" is not May.

Decisions (documented here because callers rely on them):

* Reversed ranges (``March 2016 to May 2014``) are not rejected: ``start`` is the
  earliest date named and ``end`` the latest, so ``start <= end`` always holds.
* A recurrence with no date (``Quarterly``) is undated, with ``recurrence`` set
  and a reason such as "'Quarterly' recurs quarterly but names no date".
* A recurrence with one date: a date *before* the recurrence word is the first due
  date (``Oct 2014 Quarterly``, ``Oct 2014 Reviewed monthly``: October 2014, start and
  end, recurrence kept, so it can show as overdue); ``From Oct 2014 quarterly`` stays a
  start only; a date *after* it ends it (``Quarterly (review March 2016)``: end March
  2016, no start); a period that is itself a span (``Quarterly 2014/15``) gives both.
* Seasons are UK meteorological seasons: spring March-May, summer June-August, autumn
  September-November, winter December-February.  ``Spring 2024`` is March-May 2024,
  ``by Autumn 2025`` ends 30 November 2025, ``Winter 2023/24`` is December 2023 to
  February 2024, ``Spring/Summer 2024`` March-August 2024.  ``Winter 2024`` does not say
  which winter and is undated; ``Summer term 2024`` (a school term) is undated.
* ``Mar-24 (was Dec-23)``: a date after "was", "originally", "revised from"...
  is superseded and ignored.  ``w/c 3 April 2023`` is that day to 6 days later.
* ``From July 2014`` and ``March 2024 onwards`` give a start only; ``By (end of) March 2024``,
  ``until``/``before``/``no later than`` give an end only.
* A bare year (``2024``) is only read as a year when nothing else in the text
  is words, so ``Working Together 2018`` stays undated.
* ``today`` anchors relative texts only (``within 6 weeks``, ``immediately``);
  with ``today=None`` they are undated.  The clock is never read.
* Two-digit years: 90-99 are 1990-1999, 00-89 are 2000-2089.  Years outside
  1990-2100 (and Excel serials outside that span) are not plausible plan dates
  and come out undated.
* ``bi-annual`` is ambiguous (twice a year or every two years) and is not
  read as a recurrence; ``fortnightly`` and ``termly`` are recognised but have no
  recurrence value in the API, so ``recurrence`` stays None for them.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

__all__ = ["Timescale", "parse_timescale"]


@dataclass(frozen=True)
class Timescale:
    """One parsed timescale cell.

    ``start``/``end``: first and last date the text commits to (either may be None).
    ``milestones``: (date, label) pairs, in the order written.
    ``recurrence``: None, "weekly", "monthly", "bimonthly", "quarterly",
    "six-monthly" or "annual".
    ``undated``: True when the text commits to no date; then start, end are None
    and milestones is empty, and ``reason`` says why.
    """

    text: str
    start: date | None = None
    end: date | None = None
    milestones: list[tuple[date, str]] = field(default_factory=list, hash=False)
    recurrence: str | None = None
    undated: bool = True
    reason: str = ""


# --------------------------------------------------------------------------
# Constants and compiled patterns
# --------------------------------------------------------------------------

MIN_YEAR = 1990
MAX_YEAR = 2100
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 61+ in the 1900 system (leap-year bug)
_MIN_SERIAL = (date(MIN_YEAR, 1, 1) - _EXCEL_EPOCH).days
_MAX_SERIAL = (date(MAX_YEAR, 12, 31) - _EXCEL_EPOCH).days

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}


def _month_re(name: str) -> str:
    return (
        rf"(?<![a-z])(?P<{name}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may"
        r"|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?"
        r"|dec(?:ember)?)\.?"
    )


_NUM_BEFORE = r"(?<![\w.,/£$])"  # a number must not continue a word, decimal or other number
_YEAR4 = r"(?:19|20)\d\d|2100"
_ORD = r"(?:st|nd|rd|th)?"

# Alternatives in priority order: the first that matches at the leftmost
# position wins; a handler may decline (None) to let the later ones try there.
_SEASON_WORDS = r"spring|summer|autumn|winter"
_ALTS: list[tuple[str, str]] = [
    ("sea", rf"(?<![a-z])(?P<sea_a>{_SEASON_WORDS})(?:\s*(?:/|-|&|and|to)\s*(?P<sea_b>{_SEASON_WORDS}))?"
            r"(?!\s*terms?\b)[\s\-,'’]*(?P<sea_y>(?:19|20)?\d\d)(?:\s*[/\-]\s*(?P<sea_y2>\d{4}|\d{2}))?"
            r"(?![\w%]|[/.\-]\d)"),
    ("iso", rf"{_NUM_BEFORE}(?P<iso_y>{_YEAR4})-(?P<iso_m>\d{{1,2}})-(?P<iso_d>\d{{1,2}})(?!\d)"),
    ("num", rf"{_NUM_BEFORE}(?P<num_d>\d{{1,2}})(?P<num_sep>[/.\-])(?P<num_m>\d{{1,2}})"
            r"(?P=num_sep)(?P<num_y>\d{4}|\d{2})(?!\d|[.,/]\d)"),
    ("qfy", r"(?<![a-z])(?:q|quarter\s*)(?P<qfy_q>[1-4])\s*(?:of\s+)?(?:fy\s*)?"
            r"(?P<qfy_y1>(?:19|20)?\d\d)\s*[/\-]\s*(?P<qfy_y2>\d{4}|\d{2})(?!\d)"),
    ("qcal", rf"(?<![a-z])(?:q|quarter\s*)(?P<qcal_q>[1-4])\s*(?:of\s+)?(?P<qcal_y>{_YEAR4})"
             r"(?!\d|\s*[/\-]\s*\d)"),
    ("fy", rf"{_NUM_BEFORE}(?:fy\s*)?(?P<fy_y1>{_YEAR4})(?:\s*/\s*|-)(?P<fy_y2>\d{{4}}|\d{{2}})"
           r"(?!\d|[/.\-]\d)"),
    ("dmy", rf"{_NUM_BEFORE}(?P<dmy_d>\d{{1,2}}){_ORD}(?:\s+of)?[\s\-/.]*{_month_re('dmy_m')}"
            r"[\s\-/.,'’]*(?P<dmy_y>\d{4}|\d{2})(?![\w%])"),
    ("mdy", rf"{_month_re('mdy_m')}\s*(?P<mdy_d>\d{{1,2}}){_ORD},?\s+(?P<mdy_y>{_YEAR4})(?![\w%])"),
    ("my", rf"{_month_re('my_m')}[\s\-/.,'’]*(?P<my_y>\d{{4}}|\d{{2}})(?![\w%])"),
    ("nmy", rf"{_NUM_BEFORE}(?P<nmy_m>\d{{1,2}})[/\-.](?P<nmy_y>{_YEAR4})(?!\d|[/.\-]\d)"),
    ("ym", rf"{_NUM_BEFORE}(?P<ym_y>{_YEAR4})-(?P<ym_m>\d{{1,2}})(?!\d|-\d)"),
    ("year", rf"(?<![\w.,/£$])(?P<year_y>{_YEAR4})(?!\d|[.,]\d|\s*%|\s*/\s*\d)"),
]
_ALT_NAMES = [name for name, _ in _ALTS]
_TOKEN_RE = re.compile("|".join(f"(?P<{n}>{p})" for n, p in _ALTS), re.I)
_ALT_RES = {n: re.compile(p, re.I) for n, p in _ALTS}

# Recurrence phrases; optional leading verb ("Reviewed monthly") is part of the phrase.
_RECUR_VALUES = {
    "six": "six-monthly", "bi": "bimonthly", "quarterly": "quarterly",
    "monthly": "monthly", "weekly": "weekly", "annual": "annual", "other": None,
}
_RECUR_RE = re.compile(
    r"\b(?:(?:reviewed|reported|monitored|updated|held|audited|checked)\s+)?(?:"
    r"(?P<other>fortnightly|bi[\s-]*weekly|every\s+(?:two|2)\s+weeks|termly|bi[\s-]*annual(?:ly)?)"
    r"|(?P<six>(?:six|6)[\s-]*monthly|half[\s-]*year(?:ly)?|twice[\s-]+(?:a[\s-]+)?year(?:ly)?"
    r"|every\s+(?:six|6)\s+months)"
    r"|(?P<bi>bi[\s-]*monthly|every\s+(?:two|2|other)\s+months?)"
    r"|(?P<quarterly>quarterly|(?:every|each)\s+quarter|every\s+(?:three|3)\s+months)"
    r"|(?P<monthly>monthly|(?:every|each)\s+month)"
    r"|(?P<weekly>weekly|(?:every|each)\s+week)"
    r"|(?P<annual>annual(?:ly)?|yearly|(?:every|each)\s+year|per\s+annum)"
    r")\b",
    re.I,
)
_RECUR_WORD = {"annual": "annually"}

# "From July 2014": the text commits to a start only.
_START_MARK_RE = re.compile(
    r"(?:\b(?:from|starting|starts|start|commencing|commences|beginning|begins|wef)"
    r"|with\s+effect\s+from)(?:\s+(?:in|on|the|of))*\s*$",
    re.I,
)
# "By end of March 2024": an end only.
_END_MARK_RE = re.compile(
    r"\b(?:by|before|until|till|til|deadline|due(?:\s+by)?|(?:no|not)\s+later\s+than)"
    r"(?:\s+(?:the|in|on|of|end|close|latest))*\s*:?\s*$",
    re.I,
)
# "End of March 2024" (without "by"): the last day of the period.
_END_OF_RE = re.compile(r"\b(?:the\s+)?end\s+of\s*$", re.I)
# "w/c 3 April 2023": the week starting that day.
_WEEK_OF_RE = re.compile(r"\b(?:w/c|w/b|week\s+(?:commencing|beginning|starting))\s*:?\s*$", re.I)
# "March 2024 onwards": a start only.
_ONWARDS_RE = re.compile(
    r"^[\s,(\-]*(?:and\s+)?(?:onwards?|ongoing|continuing|beyond)[\s).]*$", re.I
)
_RANGE_GAP_RE = re.compile(r"\s*(?:-|to|until|till|through)\s*$", re.I)
# "Mar-24 (was Dec-23)": the earlier date was superseded; it is not part of the timescale.
_SUPERSEDED_RE = re.compile(
    r"\b(?:was|were|originally|orig\.?|previously|prev\.?|formerly|"
    r"(?:revised|moved|amended|changed|slipped|extended|deferred|put\s+back)\s+from|"
    r"rather\s+than|instead\s+of|replaces|replacing)\s*:?\s*$",
    re.I,
)

_FILLER_WORDS = (
    "by|from|to|until|till|til|through|thru|and|or|then|in|on|of|the|at|during|before|"
    "after|end|start|starting|commencing|beginning|mid|early|late|due|deadline|w/c|wef|"
    "no later than|not later than|revised to|moved to|amended to|changed to|extended to|now|monday|tuesday|wednesday|thursday|friday|saturday|"
    "sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
)
_EDGE_FILLER_RE = re.compile(
    rf"^(?:(?:{_FILLER_WORDS})\b|[\s,;:\-/()\[\]&|'\"])+|(?:\b(?:{_FILLER_WORDS})|[\s,;:\-/()\[\]&|'\"])+$",
    re.I,
)
_ONLY_FILLER_RE = re.compile(rf"^(?:(?:{_FILLER_WORDS})\b|[^\w])*$", re.I)
_PRECEDING_COUNTER_RE = re.compile(
    r"\b(?:phase|stage|step|part|no\.?|number|week|wave|tranche|cohort|level|section|"
    r"item|action|priority|round|version|ref|year|page|para(?:graph)?)\s*$",
    re.I,
)

_TAG_RE = re.compile(r"<[^>]{0,200}>")
_SPACE_RE = re.compile(r"\s+")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_JUNK = str.maketrans({c: " " for c in "\xa0\u2007\u202f\u200b\ufeff\t\r\n\v\f*"})

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a": 1, "an": 1,
}
_RELATIVE_RE = re.compile(
    r"^(?:within|in|over)\s+(?:the\s+next\s+)?(?P<n>\d{1,3}|one|two|three|four|five|six|seven|"
    r"eight|nine|ten|eleven|twelve|an?)\s+(?P<unit>day|week|month|year)s?$",
    re.I,
)
_IMMEDIATE_RE = re.compile(r"^(?:immediate(?:ly)?|now|with immediate effect|asap)$", re.I)
_RELATIVE_HINT_RE = re.compile(
    r"\b(?:within|immediate(?:ly)?|asap|next\s+(?:week|month|year|quarter))\b", re.I
)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def _month_end(year: int, month: int) -> date:
    return date(year, month, 1) + relativedelta(months=1, days=-1)


def _two_digit_year(yy: str) -> int:
    """Two-digit years: 90-99 are the 1990s, 00-89 are 2000-2089 (the plausible plan years)."""
    y = int(yy)
    if len(yy) == 4:
        return y
    return 1900 + y if y >= 90 else 2000 + y


def _year_ok(y: int) -> bool:
    return MIN_YEAR <= y <= MAX_YEAR


@dataclass(frozen=True)
class _Tok:
    start: date
    end: date
    a: int  # span in the normalised text
    b: int
    kind: str  # "day", "month", "quarter", "fy", "year"

    @property
    def is_span(self) -> bool:
        return self.kind in ("quarter", "fy", "year", "season")


_INVALID = object()  # a date-shaped text that is not a real date: skip it entirely


def _day(y: int, m: int, d: int, a: int, b: int):
    if not _year_ok(y):
        return _INVALID
    try:
        day = date(y, m, d)
    except ValueError:
        return _INVALID
    return _Tok(day, day, a, b, "day")


def _month(y: int, m: int, a: int, b: int):
    if not _year_ok(y) or not 1 <= m <= 12:
        return _INVALID
    return _Tok(date(y, m, 1), _month_end(y, m), a, b, "month")


def _fy_year(y1s: str, y2s: str):
    """Return the first calendar year of financial year y1/y2, or None."""
    y1 = _two_digit_year(y1s)
    if len(y2s) == 4:
        ok = int(y2s) == y1 + 1
    else:
        ok = int(y2s) == (y1 + 1) % 100
    return y1 if ok and _year_ok(y1) and _year_ok(y1 + 1) else None


# Season -> (first month, last month); winter runs into the next year.
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "winter": (12, 2)}


def _season(m: re.Match, a: int, b: int):
    """'Spring 2024', 'Winter 2023/24', 'Spring/Summer 2024': the months of the seasons named."""
    g = m.group
    first, last = g("sea_a").lower(), (g("sea_b") or g("sea_a")).lower()
    y1 = _two_digit_year(g("sea_y"))
    winter = "winter" in (first, last)
    if g("sea_y2") is not None:
        y = _fy_year(g("sea_y"), g("sea_y2"))     # "2023/24": two consecutive years
        if y is None or not winter or first != last:
            return _INVALID
        return _Tok(date(y, 12, 1), _month_end(y + 1, 2), a, b, "season")
    if winter or not _year_ok(y1):
        return _INVALID                           # "Winter 2024": which winter is not said
    m1, m2 = _SEASONS[first][0], _SEASONS[last][1]
    if m2 < m1:
        return _INVALID
    return _Tok(date(y1, m1, 1), _month_end(y1, m2), a, b, "season")


def _handle(name: str, m: re.Match, text: str):
    """Turn one regex match into a token, _INVALID, or None (let later alternatives try)."""
    g = m.group
    a, b = m.span()
    if name == "sea":
        return _season(m, a, b)
    if name == "iso":
        return _day(int(g("iso_y")), int(g("iso_m")), int(g("iso_d")), a, b)
    if name == "num":
        return _day(_two_digit_year(g("num_y")), int(g("num_m")), int(g("num_d")), a, b)
    if name == "qfy":
        y1 = _fy_year(g("qfy_y1"), g("qfy_y2"))
        if y1 is None:
            return _INVALID
        first = date(y1, 4, 1) + relativedelta(months=3 * (int(g("qfy_q")) - 1))
        return _Tok(first, first + relativedelta(months=3, days=-1), a, b, "quarter")
    if name == "qcal":
        y = int(g("qcal_y"))
        if not _year_ok(y):
            return _INVALID
        first = date(y, 3 * int(g("qcal_q")) - 2, 1)
        return _Tok(first, first + relativedelta(months=3, days=-1), a, b, "quarter")
    if name == "fy":
        y1 = _fy_year(g("fy_y1"), g("fy_y2"))
        if y1 is None:
            return None  # e.g. 2024-03: let the year-month reading try
        return _Tok(date(y1, 4, 1), date(y1 + 1, 3, 31), a, b, "fy")
    if name == "dmy":
        mon = _MONTHS[g("dmy_m")[:3].lower()]
        y = _two_digit_year(g("dmy_y"))
        if _PRECEDING_COUNTER_RE.search(text, 0, a):
            # "Phase 2 May 2014": the 2 counts phases; read only "May 2014".
            return _month(y, mon, m.start("dmy_m"), b)
        return _day(y, mon, int(g("dmy_d")), a, b)
    if name == "mdy":
        mon = _MONTHS[g("mdy_m")[:3].lower()]
        return _day(int(g("mdy_y")), mon, int(g("mdy_d")), a, b)
    if name == "my":
        word, yy = g("my_m"), g("my_y")
        if word == "may" and len(yy) == 2 and not text[m.end("my_m"):m.start("my_y")].strip():
            return None  # lower-case "may 20 ..." is the verb far more often than May 2020
        return _month(_two_digit_year(yy), _MONTHS[word[:3].lower()], a, b)
    if name == "nmy":
        return _month(int(g("nmy_y")), int(g("nmy_m")), a, b)
    if name == "ym":
        return _month(int(g("ym_y")), int(g("ym_m")), a, b)
    if name == "year":
        y = int(g("year_y"))
        if not _year_ok(y):
            return _INVALID
        return _Tok(date(y, 1, 1), date(y, 12, 31), a, b, "year")
    raise AssertionError(name)  # pragma: no cover


def _tokens(s: str) -> tuple[list[_Tok], bool]:
    """Find the date expressions in s. Returns (tokens, saw_invalid_date)."""
    toks: list[_Tok] = []
    invalid = False
    pos = 0
    n = len(s)
    while pos < n:
        m = _TOKEN_RE.search(s, pos)
        if m is None:
            break
        name = m.lastgroup
        res = _handle(name, m, s)
        if res is None:
            # try the lower-priority alternatives at the same place
            for other in _ALT_NAMES[_ALT_NAMES.index(name) + 1:]:
                m2 = _ALT_RES[other].match(s, m.start())
                if m2 is not None:
                    res = _handle(other, m2, s)
                    if res is not None:
                        m = m2
                        break
        if res is None:
            pos = m.start() + 1
        elif res is _INVALID:
            invalid = True
            pos = max(m.end(), m.start() + 1)
        else:
            toks.append(res)
            pos = max(res.b, m.start() + 1)
    return toks, invalid


def _normalise(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    text = text.replace("(*)", " ").translate(_JUNK).translate(_DASHES)
    text = text.replace("\u2018", "'").replace("\u2019", "'").replace("\u2026", "...")
    return _SPACE_RE.sub(" ", text).strip()


def _clean_label(s: str) -> str:
    s = _RECUR_RE.sub(" ", s)
    s = _SPACE_RE.sub(" ", s).strip()
    prev = None
    while s != prev:
        prev = s
        s = _EDGE_FILLER_RE.sub("", s).strip()
        if s.endswith(".") and not s.endswith("..."):
            s = s.rstrip(".").rstrip()
        s = s.lstrip(".").lstrip()
        if s.count("(") != s.count(")"):
            s = s.strip("()").strip()
    if not re.search(r"[^\W\d_]", s):  # nothing but digits or punctuation is not a label
        return ""
    return s


def _quote(text: str, limit: int = 40) -> str:
    text = _SPACE_RE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"'{text}'"


# --------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------

# The cached core returns plain tuples; parse_timescale builds a fresh Timescale
# (with a fresh milestones list) each call, so callers cannot corrupt the cache.
_Result = tuple  # (start, end, milestones_tuple, recurrence, undated, reason)


def _undated(reason: str, recurrence: str | None = None) -> _Result:
    return (None, None, (), recurrence, True, reason)


def _dated(start, end, milestones=(), recurrence=None) -> _Result:
    if start is not None and end is not None and start > end:
        start, end = end, start
    return (start, end, tuple(milestones), recurrence, False, "")


def _from_number(x) -> _Result:
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        return _undated(f"{_quote(str(x))} is not a date")
    if not math.isfinite(f) or not _MIN_SERIAL <= f < _MAX_SERIAL + 1:
        return _undated(
            f"The number {x} is not a sensible date (as an Excel date it falls outside "
            f"{MIN_YEAR}-{MAX_YEAR})"
        )
    d = _EXCEL_EPOCH + timedelta(days=int(math.floor(f)))
    return _dated(d, d)


def _from_text(raw: str, today: date | None) -> _Result:
    s = _normalise(raw)
    if not s or not re.search(r"[^\W_]", s):
        return _undated("The timescale is blank")

    rec_m = _RECUR_RE.search(s)
    recurrence = _RECUR_VALUES[rec_m.lastgroup] if rec_m else None

    toks, invalid = _tokens(s)

    # Drop superseded dates ("Mar-24 (was Dec-23)"), marker and all, then read again.
    cut = []
    for i, t in enumerate(toks):
        m = _SUPERSEDED_RE.search(s, 0, t.a)
        if m is not None:
            b = t.b
            # "(was Jan 24 - Mar 24)": the whole superseded range goes
            if i + 1 < len(toks) and _RANGE_GAP_RE.match(s, t.b, toks[i + 1].a):
                b = toks[i + 1].b
            cut.append((m.start(), b))
    if cut:
        for a, b in reversed(cut):
            s = s[:a] + " " + s[b:]
        toks, invalid = _tokens(s)

    # A bare year counts only when nothing else in the text is words.
    if any(t.kind == "year" for t in toks):
        residue = s
        for t in sorted(toks, key=lambda t: t.a, reverse=True):
            residue = residue[: t.a] + " " + residue[t.b:]
        residue = _RECUR_RE.sub(" ", residue)
        if not _ONLY_FILLER_RE.match(residue.strip()):
            toks = [t for t in toks if t.kind != "year"]

    if not toks:
        return _no_date(s, raw, recurrence, invalid, today)

    # Gaps of text around the tokens.
    gaps = [s[: toks[0].a]]
    gaps += [s[toks[i - 1].b: toks[i].a] for i in range(1, len(toks))]
    gaps.append(s[toks[-1].b:])

    lead = gaps[0]
    week_of = _WEEK_OF_RE.search(lead)
    if week_of:
        lead = gaps[0] = lead[: week_of.start()]
    start_mark = _START_MARK_RE.search(lead)
    end_mark = None if start_mark else _END_MARK_RE.search(lead)
    end_of = None if (start_mark or end_mark) else _END_OF_RE.search(lead)
    for mk in (start_mark, end_mark, end_of):
        if mk:
            gaps[0] = lead[: mk.start()]

    onwards = len(toks) == 1 and _ONWARDS_RE.match(gaps[-1])
    if onwards:
        gaps[-1] = ""

    labels_follow = any(g.lstrip().startswith(":") for g in gaps[1:]) or (
        not _clean_label(gaps[0]) and bool(_clean_label(gaps[-1]))
    )
    if labels_follow:
        labels = [_clean_label(g) for g in gaps[1:]]
    else:
        labels = [_clean_label(g) for g in gaps[:-1]]
        trailing = _clean_label(gaps[-1])
        if trailing:
            labels[-1] = f"{labels[-1]} {trailing}".strip()

    milestones = [(t.end, lab) for t, lab in zip(toks, labels) if lab]
    start = min(t.start for t in toks)
    end = max(t.end for t in toks)

    if len(toks) == 1:
        tok = toks[0]
        if week_of and tok.kind == "day":
            return _dated(tok.start, tok.start + timedelta(days=6), milestones, recurrence)
        if start_mark or onwards:
            return _dated(tok.start, None, (), recurrence)
        if end_mark:
            return _dated(None, tok.end, milestones, recurrence)
        if end_of:
            return _dated(tok.end, tok.end, milestones, recurrence)
        if rec_m and not tok.is_span:
            if tok.a < rec_m.start():  # "Oct 2014 Quarterly": first due then, recurring after
                return _dated(tok.start, tok.end, milestones, recurrence)
            return _dated(None, tok.end, milestones, recurrence)  # "Quarterly (review Mar 2016)"
    return _dated(start, end, milestones, recurrence)


_AMBIGUOUS_WINTER_RE = re.compile(r"(?<![a-z])winter[\s\-,'’]*(?:19|20)?\d\d(?!\s*[/\-]\s*\d)", re.I)


def _no_date(s: str, raw: str, recurrence, invalid: bool, today: date | None) -> _Result:
    rel = _RELATIVE_RE.match(s)
    imm = _IMMEDIATE_RE.match(s)
    if today is not None and _year_ok(today.year) and (rel or imm):
        if imm:
            return _dated(today, today, (), recurrence)
        n = rel.group("n").lower()
        count = int(n) if n.isdigit() else _NUMBER_WORDS[n]
        unit = rel.group("unit").lower()
        delta = relativedelta(**{unit + "s": count})
        return _dated(today, today + delta, (), recurrence)
    q = _quote(raw)
    if recurrence:
        return _undated(f"{q} recurs {_RECUR_WORD.get(recurrence, recurrence)} but names no date",
                        recurrence)
    if invalid and _AMBIGUOUS_WINTER_RE.search(s):
        return _undated(f"{q} does not say which winter: write it as 'Winter 2024/25' (December to February)")
    if invalid:
        return _undated(f"{q} looks like a date but is not a real one")
    if rel or imm or _RELATIVE_HINT_RE.search(s):
        return _undated(f"{q} is relative and there is no date to count from")
    return _undated(f"{q} commits to no date")


@lru_cache(maxsize=65536, typed=True)
def _parse_cached(value, today: date | None) -> _Result:
    if value is None:
        return _undated("The timescale is blank")
    if isinstance(value, datetime):
        d = value.date()
        return _dated(d, d) if _year_ok(d.year) else _undated(
            f"{d:%d %B %Y} is not a sensible date for a plan")
    if isinstance(value, date):
        return _dated(value, value) if _year_ok(value.year) else _undated(
            f"{value:%d %B %Y} is not a sensible date for a plan")
    if isinstance(value, bool):
        return _undated(f"{_quote(str(value))} is not a date")
    if isinstance(value, numbers.Real):
        return _from_number(value)
    return _from_text(str(value), today)


def parse_timescale(text, today: date | None = None) -> Timescale:
    """Parse one timescale cell.

    ``text`` may be a string, an Excel date (``datetime``/``date``), an Excel serial
    number, or None.  ``today`` is used only to resolve relative texts such as
    "within 6 weeks"; with None they are undated.
    """
    if isinstance(today, datetime):
        today = today.date()
    if isinstance(text, str) or text is None or isinstance(text, (date, numbers.Real)):
        key = text
    else:
        key = str(text)
    try:
        start, end, milestones, recurrence, undated, reason = _parse_cached(key, today)
    except TypeError:  # unhashable oddity
        start, end, milestones, recurrence, undated, reason = _parse_cached.__wrapped__(key, today)
    shown = "" if text is None else text if isinstance(text, str) else str(text)
    return Timescale(
        text=shown,
        start=start,
        end=end,
        milestones=list(milestones),
        recurrence=recurrence,
        undated=undated,
        reason=reason,
    )


# ---------------------------------------------------------------- an action's timescale (the one rule)

def action_timescale(a, today: date | None = None) -> Timescale:
    """The action's timescale; a plan with separate Start / End columns is read from those cells."""
    ts = parse_timescale(a.timescale_text, today=today)
    raw_start, raw_end = a.raw.get("start"), a.raw.get("end")
    if raw_start is None and raw_end is None:
        return ts
    start = parse_timescale(raw_start, today=today).start if raw_start is not None else None
    end = parse_timescale(raw_end, today=today).end if raw_end is not None else None
    if start is None and end is None:
        return ts
    start, end = start or ts.start, end or ts.end
    if start and end and start > end:
        start, end = end, start
    return Timescale(text=ts.text, start=start, end=end, milestones=ts.milestones,
                     recurrence=ts.recurrence, undated=False, reason="")


def action_end(a, today: date | None = None) -> date | None:
    """The last date an action commits to (its End column first, else its timescale text): what
    'overdue', the Summary, the Gantt and the carried-forward slippage check all use."""
    return action_timescale(a, today).end

