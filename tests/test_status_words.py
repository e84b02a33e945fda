"""A status cell's words read against the plan's own key: two keys may give one code different words."""
from xl_plan.model import RagEntry, RagKey
from xl_plan.rag import status_from_text


def test_status_words_are_each_keys_own():
    first = RagKey([RagEntry("green", "GREEN", "On target", "00B050"), RagEntry("red", "RED", "Off track", "FF0000")], "text")
    second = RagKey([RagEntry("green", "Fine", "Going well", "00B050"), RagEntry("red", "RED", "", "FF0000")], "text")
    assert status_from_text("On target", first).code == "green"
    assert status_from_text("Going well", second).code == "green"
    assert status_from_text("fine", second).in_key and status_from_text("Grn", second).in_key
    for word in ("Going well", "Fine"):         # words of the other key's entry for green
        status = status_from_text(word, first)
        assert (status.code, status.in_key) == (word.lower(), False)
    assert status_from_text("On target", second).code == "on target"
    assert status_from_text("Off track*", first).label == "Off track"
    assert status_from_text("Blue", first).code == "blue"   # a colour word the key does not define
