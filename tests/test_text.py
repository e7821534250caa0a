from aecnn.text import plural


def test_plural():
    assert plural(1, "sequence") == "1 sequence"
    assert [plural(n, "epoch") for n in (0, 2)] == ["0 epochs", "2 epochs"]

