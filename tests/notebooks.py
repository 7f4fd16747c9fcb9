"""Helpers shared by the notebook tests: where the notebooks are, and how to read them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("chapters", "solutions", "exercises")
LANGS = ("en", "zh")
CJK = re.compile(r"[\u3400-\u9fff]")


def notebooks(kind: str, lang: str) -> list[Path]:
    return sorted((ROOT / kind / lang).glob("*.ipynb"))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def pairs() -> list[tuple[Path, Path]]:
    """(en, zh) notebook pairs of every kind, matched by file name."""
    return [(en, ROOT / kind / "zh" / en.name) for kind in KINDS for en in notebooks(kind, "en")]


def text_outputs(cell) -> list[str]:
    """The text a code cell printed or displayed (images left out)."""
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream" and out and out[-1].startswith(f"{o.name}:"):
            out[-1] += o.text  # one print may arrive in several chunks
        elif o.output_type == "stream":
            out.append(f"{o.name}:{o.text}")
        elif o.output_type == "error":
            out.append(f"error:{o.ename}:{o.evalue}")
        else:
            data = o.get("data", {})
            for mime in sorted(data):
                if mime.startswith("text/") or mime == "application/json":
                    out.append(f"{mime}:{data[mime]}")
    return out


def prose(markdown: str) -> str:
    """Markdown without code, math, link targets, HTML comments and tables (bilingual term
    tables are data, not prose): the sentences a reader reads."""
    text = re.sub(r"<!--.*?-->", " ", markdown, flags=re.S)
    text = re.sub(r"^\|.*\|\s*$", " ", text, flags=re.M)
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"`[^`\n]+`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"https?://\S+", " ", text)
    return text
