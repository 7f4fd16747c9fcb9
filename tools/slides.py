"""Lecture slides for every chapter, in both languages (``make slides``).

    python tools/slides.py                                     # every chapter -> _build/slides
    python tools/slides.py chapters/zh/02-self-attention.ipynb --out /tmp/slides

Each ``chapters/<lang>/NN-slug.ipynb`` becomes ``<out>/<lang>/NN-slug.slides.html``: a reveal.js
deck a lecturer teaches from, not the notebook cut into pages. ``<out>/index.html`` lists them.

* **Slides carry little text** (at most ``MAX_WORDS`` = 60 words; a Chinese word is counted as
  two characters): the title with the chapter's first sentence; the learning goals, three to a
  slide, each cut at a clause; for every ``##`` section its key point (its first sentences, up
  to ``KEY_WORDS``) and its first displayed equation; the summary, three points to a slide.
* **Pictures get their own slide**: every figure the chapter draws (its committed output) and
  every architecture diagram in ``chapters/<lang>/diagrams/`` (``NN-*.svg`` of the chapter:
  on the slide of the section whose text shows it, the others after the goals).
* **Speaker notes** (press S) hold what the slide leaves out: the section's full text, and the
  code behind each figure.
* The slides are planned on the English edition and filled from each language's cells (the two
  editions have the same cells), so a chapter's English and Chinese decks have the same slides.
  Setup code, the exercises and references sections, and cells tagged ``remove-cell`` are left out.

The decks load nothing from outside: reveal.js (and its notes plugin) comes from the
``sphinx-revealjs`` package and MathJax 3 from ``sphinx-mathjax-offline``, both copied into
``<out>/_assets``; figures and diagrams are inlined as ``data:`` URLs. The page template is
``teaching/slides/deck.html.j2``. Slides are 1280×720; nothing may overflow them (the browser
test in ``tests/test_teaching.py`` measures every slide). Open a deck from disk or serve the
folder (``make serve-slides``); arrow keys move, Esc shows the overview, S the speaker view.
"""

from __future__ import annotations

import argparse
import base64
import html
import math
import re
import shutil
import sys
from dataclasses import dataclass, field
from importlib.metadata import distribution
from pathlib import Path

import jinja2
import nbformat
import sphinx_revealjs
from nbconvert.filters import markdown2html

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "teaching" / "slides" / "deck.html.j2"
CSS = ROOT / "teaching" / "slides" / "deck.css"
HTML_LANG = {"en": "en", "zh": "zh-CN"}
MAX_WORDS, KEY_WORDS, ITEM_WORDS, ITEMS_PER_SLIDE = 60, 40, 18, 3
SKIP_SECTIONS = ("exercises", "references", "further reading")  # English headings, both editions
LABELS = {
    "en": {
        "goals": "Learning goals",
        "summary": "Summary",
        "diagram": "Diagram",
        "figure": "Figure",
    },
    "zh": {"goals": "学习目标", "summary": "小结", "diagram": "结构图", "figure": "图"},
}
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
ALT = r"((?:[^\[\]]|\[[^\]]*\])*)"  # alt text, which may hold brackets: [PAD], [CLS]
IMAGE_MD = re.compile(r"!\[" + ALT + r"\]\((diagrams/[^)\s]+\.svg)\)")
ANY_IMAGE = re.compile(r"!\[" + ALT + r"\]\([^)]*\)")
LINK = re.compile(r"\[([^\]]*)\]\([^)\s]+\)")


def words(text: str) -> int:
    """Words of slide text: Latin words and numbers, a formula as one, two CJK characters as one."""
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " formula ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return len(re.findall(r"[A-Za-z0-9_'’-]+", CJK.sub(" ", text))) + math.ceil(
        len(CJK.findall(text)) / 2
    )


def plain(markdown: str) -> str:
    """Markdown for a slide: links become their text, images and HTML comments go, and a line
    break inside Chinese prose goes too (a browser would show it as a space)."""
    markdown = re.sub(r"<!--.*?-->", "", markdown, flags=re.S)
    markdown = ANY_IMAGE.sub("", markdown)  # pictures get slides of their own
    markdown = re.sub(
        r"(?<=[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f])\n(?=[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f])",
        "",
        markdown,
    )
    return LINK.sub(r"\1", markdown).strip()


def sentences(paragraph: str) -> list[str]:
    """Split prose into sentences (English and Chinese), keeping formulas whole."""
    parts, start = [], 0
    for m in re.finditer(
        r"\$\$.*?\$\$|\$[^$]*\$|(?<=[.!?])\s+(?=[A-Z*\"“(`$])|(?<=[。！？])", paragraph, re.S
    ):
        if m.group(0).startswith("$"):
            continue
        parts.append(paragraph[start : m.start()].strip())
        start = m.end()
    parts.append(paragraph[start:].strip())
    return [p for p in parts if p]


def clip(text: str, limit: int) -> str:
    """``text`` if it fits ``limit`` words, else cut at the last clause boundary that fits (or a
    word)."""
    text = " ".join(text.split()) if not CJK.search(text) else text.replace("\n", "")
    if words(text) <= limit:
        return text
    best = ""
    for m in re.finditer(r"[,;:—，；：、。]|\.(?=\s)", text):
        head = text[: m.start()]
        if head.count("$") % 2 == 0 and words(head) <= limit:
            best = head
    if words(best) < limit // 2:  # no clause boundary late enough: cut between words
        tokens = re.split(r"(\s+)", text) if not CJK.search(text) else list(text)
        best = ""
        for t in tokens:
            if words(best + t) > limit or (best + t).count("$") % 2:
                break
            best += t
    return best.rstrip(" ,;:—，；：、") + " …"


def key_point(markdown: str, limit: int = KEY_WORDS) -> str:
    """The first sentences of a section's first paragraph, within ``limit`` words."""
    paragraphs = [
        p
        for p in re.split(r"\n\s*\n", plain(markdown))
        if p.strip() and not p.lstrip().startswith(("#", "$$"))
    ]
    if not paragraphs:
        return ""
    first = paragraphs[0]
    if first.lstrip().startswith(("* ", "- ", "1. ")):
        return "\n".join(
            f"* {clip(item, ITEM_WORDS)}" for item in list_items(first)[:ITEMS_PER_SLIDE]
        )
    kept = ""
    for s in sentences(first):
        joiner = "" if CJK.search(s) else " "
        if kept and words(kept + joiner + s) > limit:
            break
        kept = (kept + joiner + s).strip()
        if words(kept) > limit:
            return clip(kept, limit)
    return kept


def first_equation(markdown: str) -> str:
    m = re.search(r"\$\$.*?\$\$", markdown, re.S)
    return m.group(0) if m and words(m.group(0)) <= 3 and len(m.group(0)) < 200 else ""


def list_items(markdown: str) -> list[str]:
    """The items of the first Markdown list in ``markdown`` (bullets or numbers)."""
    items: list[str] = []
    for line in markdown.splitlines():
        m = re.match(r"\s*(?:[*-]|\d+\.)\s+(.*)", line)
        if m:
            items.append(m.group(1).strip())
        elif items and line.strip():
            items[-1] += " " + line.strip()
        elif items:
            break
    return items


@dataclass
class Slide:
    kind: str  # title / goals / text / figure / diagram / summary
    heading: str = ""
    body: str = ""  # Markdown
    image: str = ""  # a data: URL
    alt: str = ""
    notes: list[str] = field(default_factory=list)  # HTML
    pending: str | None = None  # a section's text: its key point is taken once the section is read


def image_of(cell) -> tuple[str, str]:
    """A figure output of a code cell as a data: URL, and its alt text ("" if it draws none)."""
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "image/svg+xml" in data:
            svg = data["image/svg+xml"]
            svg = svg if isinstance(svg, str) else "".join(svg)
            url = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode()
        elif "image/png" in data:
            url = "data:image/png;base64," + "".join(data["image/png"]).replace("\n", "")
        else:
            continue
        alt = out.get("metadata", {}).get("alt") or data.get("text/plain", "")
        return url, "".join(alt) if not isinstance(alt, str) else alt
    return "", ""


def diagram_url(path: Path) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(path.read_bytes()).decode()


def code_note(cell) -> str:
    return f"<pre><code>{html.escape(cell.source)}</code></pre>"


def heading_text(cell) -> str:
    return cell.source.lstrip().splitlines()[0].lstrip("#").strip()


def plan(path: Path) -> list[Slide]:
    """The slides of one chapter notebook; structure from the English twin, text from ``path``."""
    lang = path.parent.name
    nb = nbformat.read(path, as_version=4)
    twin = path.parent.parent / "en" / path.name
    en = nbformat.read(twin, as_version=4).cells if twin.is_file() else nb.cells
    cells = nb.cells
    if len(en) != len(cells):
        en = cells
    labels = LABELS.get(lang, LABELS["en"])
    diagrams = {
        p.name: p for p in sorted((path.parent / "diagrams").glob(f"{path.name[:2]}-*.svg"))
    }

    slides: list[Slide] = []
    title = cells[0].source if cells and cells[0].cell_type == "markdown" else f"# {path.stem}"
    title_heading = heading_text(cells[0]) if title.lstrip().startswith("#") else path.stem
    intro_text = next(
        (
            p
            for p in re.split(r"\n\s*\n", title)
            if p.strip() and not p.lstrip().startswith(("#", "**", "[", "<!--"))
        ),
        "",
    )
    slides.append(
        Slide(
            "title",
            title_heading,
            key_point(intro_text, KEY_WORDS - 10),
            notes=[markdown2html(plain(title))],
        )
    )
    goals = list_items(title.split("**", 2)[-1]) if "**" in title else []
    for start in range(0, len(goals), ITEMS_PER_SLIDE):
        chunk = goals[start : start + ITEMS_PER_SLIDE]
        body = "\n".join(f"{start + i + 1}. {clip(g, ITEM_WORDS)}" for i, g in enumerate(chunk))
        slides.append(
            Slide(
                "goals",
                labels["goals"],
                body,
                notes=[markdown2html("\n".join(f"* {g}" for g in chunk))],
            )
        )
    after_goals, placed = len(slides), set()

    def show_diagrams(markdown: str, heading: str) -> None:
        for m in IMAGE_MD.finditer(markdown):
            name = m.group(2).split("/")[-1]
            if name in diagrams and name not in placed:
                placed.add(name)
                slides.append(
                    Slide("diagram", heading, image=diagram_url(diagrams[name]), alt=m.group(1))
                )

    section: Slide | None = None
    skipping = True
    for i, (cell, twin_cell) in enumerate(zip(cells, en, strict=True)):
        if i == 0 or "remove-cell" in cell.metadata.get("tags", []):
            continue
        if twin_cell.cell_type == "markdown" and twin_cell.source.lstrip().startswith("## "):
            name = heading_text(twin_cell).lower()
            skipping = name.startswith(SKIP_SECTIONS)
            if skipping:
                section = None
                continue
            if name.startswith("summary"):
                items = list_items(cell.source)
                for start in range(0, max(len(items), 1), ITEMS_PER_SLIDE):
                    chunk = items[start : start + ITEMS_PER_SLIDE]
                    slides.append(
                        Slide(
                            "summary",
                            heading_text(cell),
                            "\n".join(f"* {clip(plain(x), ITEM_WORDS)}" for x in chunk),
                            notes=[markdown2html(plain("\n".join(f"* {x}" for x in chunk)))],
                        )
                    )
                section, skipping = None, True
                continue
            body = cell.source.lstrip().split("\n", 1)[1] if "\n" in cell.source.lstrip() else ""
            section = Slide("text", heading_text(cell))
            slides.append(section)
            section.notes.append(markdown2html(plain(body)))
            section.pending = body
            show_diagrams(body, section.heading)
        elif skipping or section is None:
            continue
        elif cell.cell_type == "markdown":
            section.notes.append(markdown2html(plain(cell.source)))
            if not (section.pending or "").strip():
                section.pending = cell.source
            show_diagrams(cell.source, section.heading)
        else:
            section.notes.append(code_note(cell))
            url, alt = image_of(cell)
            if url and "remove-output" not in cell.metadata.get("tags", []):
                nxt = (
                    cells[i + 1]
                    if i + 1 < len(cells) and cells[i + 1].cell_type == "markdown"
                    else None
                )
                notes = [code_note(cell)] + (
                    [markdown2html(plain(nxt.source))] if nxt is not None else []
                )
                slides.append(Slide("figure", section.heading, image=url, alt=alt, notes=notes))
    slides[after_goals:after_goals] = [  # diagrams no section shows: after the goals
        Slide(
            "diagram",
            labels["diagram"],
            image=diagram_url(diagrams[name]),
            alt=name.removesuffix(".svg").split("-", 1)[1].replace("-", " "),
        )
        for name in sorted(set(diagrams) - placed)
    ]
    for slide in slides:
        if slide.pending is not None:
            point, equation = key_point(slide.pending), first_equation(slide.pending)
            slide.body = point + (
                f"\n\n{equation}" if equation and words(point) + 3 <= MAX_WORDS else ""
            )
    return slides


def render(slides: list[Slide], lang: str, title: str) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)), autoescape=False)
    template = env.get_template(TEMPLATE.name)
    return template.render(
        lang=HTML_LANG.get(lang, lang),
        title=html.escape(title),
        assets="../_assets",
        slides=[
            {
                "kind": s.kind,
                "heading": markdown2html(s.heading)
                .removeprefix("<p>")
                .removesuffix("</p>")
                .strip(),
                "body": markdown2html(s.body) if s.body else "",
                "image": s.image,
                "alt": html.escape(s.alt, quote=True),
                "notes": "\n".join(s.notes),
            }
            for s in slides
        ],
    )


def copy_assets(out: Path) -> None:
    """reveal.js with its notes plugin, MathJax and deck.css into ``out/_assets``."""
    assets, reveal = out / "_assets", Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    mathjax = Path(
        distribution("sphinx-mathjax-offline").locate_file("sphinx-mathjax-offline/static/mathjax")
    )
    (assets / "reveal" / "dist" / "theme").mkdir(parents=True, exist_ok=True)
    (assets / "reveal" / "plugin" / "notes").mkdir(parents=True, exist_ok=True)
    for name in (
        "LICENSE",
        "dist/reveal.js",
        "dist/reveal.css",
        "dist/reset.css",
        "dist/theme/white.css",
        "plugin/notes/notes.js",
    ):
        shutil.copy2(reveal / name, assets / "reveal" / name)  # the other themes load web fonts
    shutil.copytree(
        reveal / "dist/theme/fonts/source-sans-pro",
        assets / "reveal/dist/theme/fonts/source-sans-pro",
        dirs_exist_ok=True,
    )
    shutil.copytree(mathjax, assets / "mathjax", dirs_exist_ok=True)
    shutil.copy2(CSS, assets / "deck.css")
    shutil.copy2(ROOT / "_assets" / "favicon.svg", assets / "favicon.svg")


def build_deck(path: Path, out: Path) -> tuple[Path, str, int]:
    """Write one deck; return its path, its title and its number of slides."""
    lang = path.parent.name
    slides = plan(path)
    target = out / lang / f"{path.stem}.slides.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(slides, lang, slides[0].heading), encoding="utf-8")
    return target, slides[0].heading, len(slides)


def write_index(out: Path, decks: list[tuple[Path, str, int]]) -> None:
    """``out/index.html``: the decks of each language, linked."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Slides · 幻灯片</title>",
        '<link rel="icon" href="_assets/favicon.svg">',
        '</head><body style="font-family: sans-serif; margin: 2em">',
        "<h1>From RNN to BERT · 从 RNN 到 BERT — slides · 幻灯片</h1>",
    ]
    for lang, heading in (("en", "English"), ("zh", "中文")):
        items = [(p, t, n) for p, t, n in decks if p.parent.name == lang]
        if items:
            parts.append(f'<h2>{heading}</h2><ul lang="{HTML_LANG[lang]}">')
            parts += [
                f'<li><a href="{lang}/{p.name}">{html.escape(t)}</a> ({n})</li>'
                for p, t, n in sorted(items)
            ]
            parts.append("</ul>")
    parts.append("</body></html>")
    (out / "index.html").write_text("\n".join(parts), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="chapter notebooks (default: chapters/*/*.ipynb)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "slides")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*/*.ipynb"))
    copy_assets(args.out)
    decks = []
    for path in notebooks:
        decks.append(build_deck(path.resolve(), args.out))
        print(f"{decks[-1][2]:3d} slides  {decks[-1][0]}")
    write_index(args.out, decks)
    print(f"\nOpen: file://{(args.out / 'index.html').resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
