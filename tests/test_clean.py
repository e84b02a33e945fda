"""Cell text cleaning: each step runs only where its quick test says it has something to do."""
import pytest

from xl_plan.text import clean


@pytest.mark.parametrize("value, expected", [
    ("1. Audit files\n2. Train managers", "1. Audit files\n2. Train managers"),      # nothing to do
    ("Audit\u200b files\u00ad\n2. Train", "Audit files\n2. Train"),                   # invisible characters
    ("Actions:\n• Audit\n\uf0b7 Train", "Actions:\n- Audit\n- Train"),               # bullet characters
    ("Actions:\n  - Audit\n\t-\tTrain", "Actions:\n- Audit\n- Train"),               # dashes starting lines
    ("Mar-24 to Jun-24\nSee note -x", "Mar-24 to Jun-24\nSee note -x"),              # dashes that are not items
    ("Audit\tcase  files\u00a0now\nnext", "Audit case files now\nnext"),             # odd and double spaces
    ("Audit \nfiles\n  monthly", "Audit\nfiles\nmonthly"),                          # blanks at line edges
    ("One\r\nTwo\rThree\n\n\n\nFour", "One\nTwo\nThree\n\nFour"),                   # line ends, blank runs
    ("<p>One</p><b>Two</b>&amp;\nthree", "One\nTwo&\nthree"),
    (" \u200b ", ""),
    ("Actions:\n- Audit\n- Train", "Actions:\n- Audit\n- Train"),                 # items already as kept
    ("Audit\n\nTrain\x0bnow", "Audit\n\nTrain\x0bnow"),                            # ASCII with nothing to do
    ("Audit\n\n\nTrain", "Audit\n\nTrain"),
    ("Audit\t\u00e9t\u00e9", "Audit \u00e9t\u00e9"),                                    # not ASCII: the regex's test
])
def test_clean(value, expected):
    assert clean(value) == expected
