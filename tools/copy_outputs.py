"""Copy the outputs of English notebooks into their Chinese twins (same code, same outputs).

    python tools/copy_outputs.py chapters/en/07-transformer.ipynb [more en notebooks]

The two editions share every code cell (tests/test_parity.py); only Markdown differs. So after
re-executing the English notebook, its outputs and execution counts are the Chinese notebook's
too, and so is the state of its widgets (the notebook's ``metadata.widgets``), which the site
needs to draw a widget output without a kernel. Code cells are paired in order and must hold the
same source, or nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def twin(en: Path) -> Path:
    """chapters/en/X.ipynb -> chapters/zh/X.ipynb (the same for solutions/ and exercises/)."""
    parts = list(en.parts)
    parts[len(parts) - 1 - parts[::-1].index("en")] = "zh"
    return Path(*parts)


def copy_outputs(en: Path) -> int:
    """Write ``en``'s code-cell outputs into its twin; returns the number of code cells."""
    zh = twin(en)
    source, target = nbformat.read(en, as_version=4), nbformat.read(zh, as_version=4)
    en_code = [c for c in source.cells if c.cell_type == "code"]
    zh_code = [c for c in target.cells if c.cell_type == "code"]
    if len(en_code) != len(zh_code):
        raise SystemExit(f"{en} has {len(en_code)} code cells, {zh} has {len(zh_code)}")
    for n, (a, b) in enumerate(zip(en_code, zh_code, strict=True)):
        if a.source != b.source:
            raise SystemExit(f"code cell {n} differs between {en} and {zh}: copy nothing")
        b.outputs, b.execution_count = a.outputs, a.execution_count
    if "widgets" in source.metadata:
        target.metadata["widgets"] = source.metadata["widgets"]
    else:
        target.metadata.pop("widgets", None)
    nbformat.write(target, zh)
    return len(en_code)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{twin(Path(arg))}: {copy_outputs(Path(arg))} code cells")
