"""Repository-wide pytest settings: what nbval compares in the chapter and solution notebooks.

nbval compares every output of a re-run cell with the committed one, except the kinds it lists
in ``skip_compare``. It leaves out PNG images (their bytes depend on the machine); figures are
SVG in this book (``rnn2bert.setup()``), whose text differs with the same float noise, so SVG is
left out the same way. Text outputs are still compared, and a figure's claim is checked by an
``assert`` in the cell after it (CONTRIBUTING.md).
"""


def pytest_collectstart(collector):
    if type(collector).__name__ == "IPyNbFile" and "image/svg+xml" not in collector.skip_compare:
        collector.skip_compare = (*collector.skip_compare, "image/svg+xml")
