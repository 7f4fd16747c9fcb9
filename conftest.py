"""Repository-wide pytest settings: what nbval compares in the chapter and solution notebooks.

nbval compares every output of a re-run cell with the committed one, except the kinds it lists
in ``skip_compare``. It leaves out PNG images (their bytes depend on the machine); figures are
SVG in this book (``rnn2bert.setup()``), whose text differs with the same float noise, so SVG is
left out the same way. The interactive explorers' HTML (``rnn2bert.explorers``) embeds its data
as rounded floats and an id hashed from them, so it too moves with the CPU's float rounding (a
float32 dot product of chapter 03 rounds to -0.1834 on one machine and -0.1833 on another): HTML
is left out as well. Text outputs are still compared (an explorer's text is its summary), a
figure's claim is checked by an ``assert`` in the cell after it (CONTRIBUTING.md), and the
explorers' data by ``tests/test_explorers.py``.
"""

SKIPPED = ("image/svg+xml", "text/html")


def pytest_collectstart(collector):
    if type(collector).__name__ == "IPyNbFile":
        missing = tuple(kind for kind in SKIPPED if kind not in collector.skip_compare)
        collector.skip_compare = (*collector.skip_compare, *missing)
