"""Slides for every chapter, in both languages (``make slides``).

    python tools/slides.py                                     # every chapter -> _build/slides
    python tools/slides.py chapters/zh/02-self-attention.ipynb --out /tmp/slides

Each ``chapters/<lang>/NN-slug.ipynb`` becomes ``<out>/<lang>/NN-slug.slides.html``, a reveal.js
deck with the chapter's committed outputs (figures included), plus ``<out>/index.html``
listing the decks. The notebooks carry no slide marks: the slides follow their headings.

* The title cell (title and learning goals) is the first slide; every ``## `` section
  starts a new slide (→); every other Markdown cell starts a sub-slide (↓), and so does a
  code cell that draws a figure; other code cells stay with the text above them, and a
  short Markdown cell between a code cell and the next Markdown cell (a closing remark on
  the output) stays with the code. These choices are made on the English edition and
  applied to both, so a chapter's English and Chinese decks have the same slides.
* The setup code before the first section is left out, and Jupyter Book's cell tags are
  honoured (``remove-cell``, ``remove-input``, ``remove-output``: the interactive widgets,
  which the decks, like the website, show through their static figure).
* A cell with its own ``slideshow.slide_type`` metadata keeps it.
* Links to other chapters point to their decks; links to exercise and solution notebooks
  become plain text.

The decks load nothing from outside: reveal.js comes from the ``sphinx-revealjs`` package
and MathJax 3 from ``sphinx-mathjax-offline``, both copied into ``<out>/_assets`` at build
time (the page template is ``teaching/slides/deck.html.j2``). Open a deck from disk or serve
the folder (``make serve-slides``); arrow keys move, Esc shows the overview.
"""
from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from importlib.metadata import distribution
from pathlib import Path

import nbformat
import sphinx_revealjs
from nbconvert import SlidesExporter
from nbconvert.preprocessors import TagRemovePreprocessor

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "teaching" / "slides" / "deck.html.j2"
CSS = ROOT / "teaching" / "slides" / "deck.css"
HTML_LANG = {"en": "en", "zh": "zh-CN"}
REMARK_CHARS = 400  # a closing remark shorter than this stays on the slide of the code above it
NOTEBOOK_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\.ipynb(#[^)\s]*)?\)")


def draws(cell) -> bool:
    return any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
               for o in cell.get("outputs", []))


def slide_types(cells) -> list[str]:
    """Where each cell goes: a new slide, a sub-slide, on the slide above ("-"), or nowhere."""
    kinds, in_section = [], False
    for i, cell in enumerate(cells):
        heading = cell.cell_type == "markdown" and cell.source.lstrip().startswith("## ")
        in_section = in_section or heading
        if i == 0 or heading:
            kinds.append("slide")
        elif cell.cell_type == "markdown":
            closes = i + 1 == len(cells) or cells[i + 1].cell_type == "markdown"
            remark = cells[i - 1].cell_type == "code" and closes and len(cell.source) < REMARK_CHARS
            kinds.append("-" if remark else "subslide")
        elif not in_section:
            kinds.append("skip")  # setup code between the title and the first section
        else:
            kinds.append("subslide" if draws(cell) else "-")
    return kinds


def relink(markdown: str, path: Path) -> str:
    """Chapter links -> their decks; links to other notebooks -> their text."""
    chapters = ROOT / "chapters"

    def replace(m: re.Match) -> str:
        text, target, anchor = m.group(1), m.group(2), m.group(3) or ""
        if "://" in target:
            return m.group(0)
        if (path.parent / f"{target}.ipynb").resolve().parent.parent == chapters:
            return f"[{text}]({target}.slides.html{anchor})"
        return text

    return NOTEBOOK_LINK.sub(replace, markdown)


def mark_slides(nb: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    """Set every cell's ``slideshow.slide_type`` (in memory) and rewrite notebook links.

    The slide types come from the English twin when there is one (the editions have the same
    cells), so that a chapter's English and Chinese decks have the same slides.
    """
    twin = path.parent.parent / "en" / path.name
    cells = nbformat.read(twin, as_version=4).cells if twin.is_file() else nb.cells
    kinds = slide_types(cells if len(cells) == len(nb.cells) else nb.cells)
    for cell, kind in zip(nb.cells, kinds):
        cell.metadata.setdefault("slideshow", {}).setdefault("slide_type", kind)
        if cell.cell_type == "markdown":
            cell.source = relink(cell.source, path)
    nb.metadata.pop("widgets", None)  # widget state: nothing in a static deck could use it
    return nb


def exporter() -> SlidesExporter:
    tags = TagRemovePreprocessor(remove_cell_tags={"remove-cell"},
                                 remove_input_tags={"remove-input"},
                                 remove_all_outputs_tags={"remove-output"})
    ex = SlidesExporter(template_file=TEMPLATE.name, extra_template_paths=[str(TEMPLATE.parent)],
                        exclude_input_prompt=True, exclude_output_prompt=True)
    ex.register_preprocessor(tags, enabled=True)
    return ex


def copy_assets(out: Path, ex: SlidesExporter) -> None:
    """reveal.js, MathJax, the notebook CSS and deck.css into ``out/_assets``."""
    assets, reveal = out / "_assets", Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    mathjax = Path(distribution("sphinx-mathjax-offline").locate_file("sphinx-mathjax-offline/static/mathjax"))
    lab = next(Path(p) for p in ex.template_paths if (Path(p) / "static" / "theme-light.css").is_file())
    (assets / "reveal" / "dist" / "theme").mkdir(parents=True, exist_ok=True)
    for name in ("LICENSE", "dist/reveal.js", "dist/reveal.css", "dist/reset.css", "dist/theme/white.css"):
        shutil.copy2(reveal / name, assets / "reveal" / name)  # the other themes load web fonts
    shutil.copytree(reveal / "dist/theme/fonts/source-sans-pro",
                    assets / "reveal/dist/theme/fonts/source-sans-pro", dirs_exist_ok=True)
    shutil.copytree(mathjax, assets / "mathjax", dirs_exist_ok=True)
    (assets / "jupyter").mkdir(exist_ok=True)
    for name in ("index.css", "theme-light.css"):
        shutil.copy2(lab / "static" / name, assets / "jupyter" / name)
    shutil.copy2(CSS, assets / "deck.css")
    shutil.copy2(ROOT / "_assets" / "favicon.svg", assets / "favicon.svg")


def title(nb: nbformat.NotebookNode, path: Path) -> str:
    first = nb.cells[0].source.lstrip() if nb.cells else ""
    return first.splitlines()[0].lstrip("# ").strip() if first.startswith("# ") else path.stem


def build_deck(path: Path, out: Path, ex: SlidesExporter) -> tuple[Path, str, int]:
    """Write one deck; return its path, its title and its number of slides (→ and ↓)."""
    lang = path.parent.name
    nb = mark_slides(nbformat.read(path, as_version=4), path)
    deck_title = title(nb, path)
    body, _ = ex.from_notebook_node(nb, resources={
        "deck": {"html_lang": HTML_LANG.get(lang, lang), "title": deck_title, "assets": "../_assets"}})
    target = out / lang / f"{path.stem}.slides.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    slides = sum(c.metadata["slideshow"]["slide_type"] in {"slide", "subslide"} for c in nb.cells)
    return target, deck_title, slides


def write_index(out: Path, decks: list[tuple[Path, str, int]]) -> None:
    """``out/index.html``: the decks of each language, linked."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Slides · 幻灯片</title>", '<link rel="icon" href="_assets/favicon.svg">',
             "</head><body style=\"font-family: sans-serif; margin: 2em\">",
             "<h1>From RNN to BERT · 从 RNN 到 BERT — slides · 幻灯片</h1>"]
    for lang, heading in (("en", "English"), ("zh", "中文")):
        items = [(p, t) for p, t, _ in decks if p.parent.name == lang]
        if items:
            parts.append(f'<h2>{heading}</h2><ul lang="{HTML_LANG[lang]}">')
            parts += [f'<li><a href="{lang}/{p.name}">{html.escape(t)}</a></li>' for p, t in sorted(items)]
            parts.append("</ul>")
    parts.append("</body></html>")
    (out / "index.html").write_text("\n".join(parts), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="chapter notebooks (default: chapters/*/*.ipynb)")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "slides")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*/*.ipynb"))
    ex = exporter()
    copy_assets(args.out, ex)
    decks = []
    for path in notebooks:
        decks.append(build_deck(path.resolve(), args.out, ex))
        print(f"{decks[-1][2]:3d} slides  {decks[-1][0]}")
    write_index(args.out, decks)
    print(f"\nOpen: file://{(args.out / 'index.html').resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
