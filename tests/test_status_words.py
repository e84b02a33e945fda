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


def test_a_status_read_from_a_fill_is_not_taken_for_the_same_words_written(tmp_path):
    """Statuses are read once per distinct text or fill in a plan; a text that spells a fill's colour is
    still read as text."""
    import openpyxl
    from openpyxl.styles import PatternFill

    from xl_plan import read_plan

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Ref", "Action", "Lead", "RAG status"])
    ws.append(["1.1", "Audit case files", "GT", None])
    ws["D2"].fill = PatternFill("solid", fgColor="FF0000")
    ws.append(["1.2", "Train managers", "SK", "FF0000"])
    ws.append(["1.3", "Update guidance", "GT", None])
    ws["D4"].fill = PatternFill("solid", fgColor="FF0000")
    ws.append(["1.4", "Review the panel", "MW", "Red"])
    wb.save(tmp_path / "p.xlsx")
    got = [(a.status.code, a.status.source) for a in read_plan(tmp_path / "p.xlsx").actions]
    assert got == [("red", "fill"), ("ff0000", "text"), ("red", "fill"), ("red", "text")]
