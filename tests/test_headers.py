"""Header cells matched by synonyms, whatever their case and punctuation; data cells match nothing."""
import pytest

from xl_plan.layout.headers import match_header


@pytest.mark.parametrize("value, expected", [
    ("Action", ("action", 3)),
    ("  ACTIONS:", ("action", 3)),
    ("(Lead officer)", ("lead", 3)),
    ("1. Ref", None),                             # its first word is "1", which starts no synonym
    ("- Lead", ("lead", 3)),                      # punctuation first is not a word
    ("Ref.", ("ref", 3)),
    ("RAG status:", ("status", 3)),
    ("Timescale (By When)", ("timescale", 3)),
    ("Ofsted Findings / Additional improvements identified", ("recommendation", 2)),
    ("Progress to date and evidence of improvement", ("update", 3)),
    ("Review the permanence panel process", None),
    ("Lead officer for each action", ("lead", 2)),  # a long header by its opening words
    ("GT", None),
    (12, None),
])
def test_match_header(value, expected):
    assert match_header(value) == expected
