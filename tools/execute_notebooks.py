"""Re-run notebooks in place, refreshing their committed outputs (``make execute``).

    python tools/execute_notebooks.py chapters solutions            # everything
    python tools/execute_notebooks.py chapters/en/02-self-attention.ipynb

Each notebook runs in a fresh kernel, in its own folder, with a fixed hash seed, and must run
without error. The time each one took is printed next to its CPU budget (DESIGN.md).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

BUDGET_S = {"chapters": 120, "solutions": 60}
SLOW_CHAPTERS = {"09-pretraining.ipynb": 300}


def budget(path: Path) -> int:
    if path.name in SLOW_CHAPTERS and "chapters" in path.parts:
        return SLOW_CHAPTERS[path.name]
    return next((s for part, s in BUDGET_S.items() if part in path.parts), 120)


def notebooks(args: list[str]) -> list[Path]:
    found: list[Path] = []
    for a in args:
        p = Path(a)
        found += sorted(p.rglob("*.ipynb")) if p.is_dir() else [p]
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stdout (or stderr) chunks: how a print is split depends on timing."""
    merged: list = []
    for out in outputs:
        if (
            out.output_type == "stream"
            and merged
            and merged[-1].output_type == "stream"
            and merged[-1].name == out.name
        ):
            merged[-1].text += out.text
        else:
            merged.append(out)
    return merged


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    os.environ["PYTHONHASHSEED"] = "0"
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:  # timestamps would make every run a diff
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    nbformat.write(nb, path)
    return seconds


def main(args: list[str]) -> int:
    over = []
    for path in notebooks(args or ["chapters", "solutions"]):
        seconds = execute(path)
        limit = budget(path)
        flag = "ok" if seconds <= limit else "OVER BUDGET"
        print(f"{seconds:6.1f} s / {limit:3d} s  {flag:<11} {path}", flush=True)
        if seconds > limit:
            over.append(path)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
