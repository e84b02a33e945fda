"""Timescales: a date before a recurrence is the first due date; seasons name a period (UK
meteorological seasons); what commits to no date stays undated."""
from __future__ import annotations

from datetime import date as D

import pytest

from xl_plan.timescales import parse_timescale


@pytest.mark.parametrize("text, start, end, recurrence", [
    ("Oct 2014 Quarterly", D(2014, 10, 1), D(2014, 10, 31), "quarterly"),
    ("Nov 2014 quarterly", D(2014, 11, 1), D(2014, 11, 30), "quarterly"),
    ("Oct 2014 Reviewed monthly", D(2014, 10, 1), D(2014, 10, 31), "monthly"),
    ("Sept 2014 annually", D(2014, 9, 1), D(2014, 9, 30), "annual"),
    ("31/10/2014 quarterly", D(2014, 10, 31), D(2014, 10, 31), "quarterly"),
])
def test_a_date_before_a_recurrence_is_the_first_due_date(text, start, end, recurrence):
    ts = parse_timescale(text)
    assert (ts.start, ts.end, ts.recurrence, ts.undated) == (start, end, recurrence, False)


@pytest.mark.parametrize("text, start, end", [
    ("From Oct 2014 quarterly", D(2014, 10, 1), None),
    ("Quarterly from Oct 2014", D(2014, 10, 1), None),
    ("Quarterly (review March 2016)", None, D(2016, 3, 31)),
    ("Quarterly 2014/15", D(2014, 4, 1), D(2015, 3, 31)),
])
def test_other_recurrences_keep_their_reading(text, start, end):
    ts = parse_timescale(text)
    assert (ts.start, ts.end) == (start, end) and ts.recurrence == "quarterly"


def test_first_due_date_makes_an_action_overdue():
    from xl_plan.checks.timescale import action_end
    from xl_plan.model import Action

    a = Action("S", 5, [5], None, None, "1", "Audit", "GT", ["GT"], "Oct 2014 Quarterly", "", None)
    assert action_end(a) == D(2014, 10, 31)


@pytest.mark.parametrize("text, start, end", [
    ("Spring 2024", D(2024, 3, 1), D(2024, 5, 31)),
    ("spring 24", D(2024, 3, 1), D(2024, 5, 31)),
    ("Summer 2024", D(2024, 6, 1), D(2024, 8, 31)),
    ("Autumn 2025", D(2025, 9, 1), D(2025, 11, 30)),
    ("Winter 2023/24", D(2023, 12, 1), D(2024, 2, 29)),
    ("Winter 2023-24", D(2023, 12, 1), D(2024, 2, 29)),
    ("Winter 2024/2025", D(2024, 12, 1), D(2025, 2, 28)),
    ("Spring/Summer 2024", D(2024, 3, 1), D(2024, 8, 31)),
    ("Summer 2024 to Winter 2024/25", D(2024, 6, 1), D(2025, 2, 28)),
    ("Autumn 2025*", D(2025, 9, 1), D(2025, 11, 30)),
])
def test_seasons_name_their_months(text, start, end):
    ts = parse_timescale(text)
    assert (ts.start, ts.end, ts.undated) == (start, end, False)


def test_by_a_season_is_an_end_and_from_a_season_a_start():
    by = parse_timescale("by Autumn 2025")
    assert (by.start, by.end) == (None, D(2025, 11, 30))
    since = parse_timescale("From Spring 2024")
    assert (since.start, since.end) == (D(2024, 3, 1), None)
    assert parse_timescale("Spring 2024 quarterly").end == D(2024, 5, 31)


@pytest.mark.parametrize("text", [
    "Winter 2024", "Summer term 2024", "Autumn term", "Spring", "Spring 2024/25", "Quarterly", "Ongoing",
    "Spring clean of case files",
])
def test_what_commits_to_no_date_stays_undated(text):
    ts = parse_timescale(text)
    assert ts.undated and ts.start is None and ts.end is None and ts.reason


def test_an_unnamed_winter_says_how_to_write_it():
    assert "Winter 2024/25" in parse_timescale("Winter 2024").reason
