"""The teaching kit: slides that load nothing from outside, a student bundle without solutions,
a site without solutions, and guides whose commands exist."""

from __future__ import annotations

import base64
import functools
import html
import http.server
import os
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest

from rnn2bert.exercises import REGISTRY
from rnn2bert.exercises.generate import BEGIN, END
from test_site import CSS_EXTERNAL, SCREENSHOTS, Page, external_loads, open_page

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "teaching"
SAMPLE = "02-self-attention"
GUIDES = [
    TEACHING / f"{name}.{lang}.md"
    for name in ("syllabus", "teachers-guide")
    for lang in ("en", "zh")
]


def run(*cmd: str, env: dict | None = None, limit: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=limit,
        env=None if env is None else {**os.environ, **env},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


# --------------------------------------------------------------------------- slides


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("slides")
    run(
        sys.executable,
        "tools/slides.py",
        f"chapters/en/{SAMPLE}.ipynb",
        f"chapters/zh/{SAMPLE}.ipynb",
        "--out",
        str(out),
    )
    return out


@pytest.mark.parametrize(("lang", "html_lang"), [("en", "en"), ("zh", "zh-CN")])
def test_slides_load_only_local_files(slides, lang, html_lang):
    deck = slides / lang / f"{SAMPLE}.slides.html"
    page = Page(deck)
    assert page.html_lang == html_lang
    assert not external_loads(deck), external_loads(deck)
    local = [url for _, url in page.resources if url.startswith("../")]  # figures are data: URLs
    assert any(u.endswith("reveal.js") for u in local) and any(
        u.endswith("tex-chtml.js") for u in local
    )
    missing = [u for u in local if not (deck.parent / u.split("#")[0]).resolve().is_file()]
    assert not missing, missing
    # a slide is two nested sections
    assert deck.read_text(encoding="utf-8").count("<section") > 2 * 5


def test_slide_assets_load_nothing_from_outside(slides):
    sheets = list((slides / "_assets").rglob("*.css"))
    assert len(sheets) >= 4
    found = [
        f"{p.name}: {m.group(0)}"
        for p in sheets
        for m in CSS_EXTERNAL.finditer(p.read_text(encoding="utf-8"))
    ]
    assert not found, found


def test_both_languages_get_the_same_slides(slides):
    en, zh = (
        (slides / lang / f"{SAMPLE}.slides.html").read_text(encoding="utf-8")
        for lang in ("en", "zh")
    )
    assert en.count("<section") == zh.count("<section")


def test_slides_index_links_every_deck(slides):
    html = (slides / "index.html").read_text(encoding="utf-8")
    for lang in ("en", "zh"):
        assert f'href="{lang}/{SAMPLE}.slides.html"' in html
    assert not external_loads(slides / "index.html")


def deck_slides(deck: Path) -> list[str]:
    """The HTML of each slide of a deck."""
    return re.findall(r"<section\b.*?</section>", deck.read_text(encoding="utf-8"), re.S)


def slide_text(section: str) -> str:
    """What a slide shows: its HTML without the speaker notes, tags and entities."""
    visible = re.sub(r"<aside class=\"notes\">.*?</aside>", "", section, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", visible))


@pytest.fixture(scope="module")
def all_slides(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("all-slides")
    run(sys.executable, "tools/slides.py", "--out", str(out), limit=600)
    return out


def test_slides_are_lecture_slides(all_slides):
    """Every deck: at most 60 words a slide, speaker notes on the text slides, every figure the
    chapter draws and every diagram of the chapter on a slide of its own."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from slides import MAX_WORDS, image_of, words
    finally:
        sys.path.remove(str(ROOT / "tools"))
    chapters = sorted((ROOT / "chapters").glob("*/[0-9][0-9]-*.ipynb"))
    assert len(chapters) >= 24
    figure_count = 0
    for chapter in chapters:
        deck = all_slides / chapter.parent.name / f"{chapter.stem}.slides.html"
        slides = deck_slides(deck)
        assert len(slides) >= 3, deck
        counts = {i: words(slide_text(s)) for i, s in enumerate(slides)}
        assert max(counts.values()) <= MAX_WORDS, (
            deck.name,
            max(counts.items(), key=lambda kv: kv[1]),
        )
        text_slides = [s for s in slides if 'class="slide-text"' in s]
        assert text_slides, f"{deck.name}: no text slide"
        assert all('<aside class="notes">' in s for s in text_slides), deck
        html_text = deck.read_text(encoding="utf-8")
        nb = nbformat.read(chapter, as_version=4)
        figures = [
            image_of(c)[0]
            for c in nb.cells
            if c.cell_type == "code"
            and "remove-output" not in c.metadata.get("tags", [])
            and image_of(c)[0]
        ]
        assert all(f in html_text for f in figures), f"{deck.name}: a figure is missing"
        figure_count += len(figures)
        diagrams = sorted((chapter.parent / "diagrams").glob(f"{chapter.name[:2]}-*.svg"))
        for diagram in diagrams:
            assert base64.b64encode(diagram.read_bytes()).decode() in html_text, (
                f"{deck.name}: {diagram.name}"
            )
    assert figure_count > 0, "no chapter draws a figure: image_of finds none"
    en = {p.name: len(deck_slides(p)) for p in (all_slides / "en").glob("*.slides.html")}
    zh = {p.name: len(deck_slides(p)) for p in (all_slides / "zh").glob("*.slides.html")}
    assert en == zh


# Per slide: its index, the elements that stick out of it, its scroll and client heights.
SLIDE_OVERFLOW = """() => [...document.querySelectorAll('.reveal .slides > section')]
  .map((s, i) => {
    const box = s.getBoundingClientRect();
    const style = s.style.display;
    s.style.display = 'block';
    const over = [...s.querySelectorAll('h1, h2, .body, figure, img, mjx-container')]
      .filter(e => e.scrollWidth > e.clientWidth + 2 && getComputedStyle(e).overflowX !== 'visible'
                   || e.offsetTop + e.offsetHeight > s.clientHeight + 2
                   || e.offsetLeft + e.offsetWidth > s.clientWidth + 2)
      .map(e => e.tagName + ' ' + (e.textContent || e.alt || '').slice(0, 40));
    s.style.display = style;
    return {i, over, height: s.scrollHeight, client: s.clientHeight};
})"""


@pytest.mark.browser
def test_no_slide_overflows_at_1280x720(browser, all_slides):
    """Every slide of every deck, both languages, rendered by Chromium at 1280×720 with its math
    typeset and its pictures loaded: nothing sticks out of the slide."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(all_slides))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    overflowing, measured = [], 0
    try:
        for deck in sorted(all_slides.glob("*/*.slides.html")):
            page, log = open_page(browser, f"{base}{deck.parent.name}/{deck.name}")
            try:
                page.set_viewport_size({"width": 1280, "height": 720})
                page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=60_000)
                page.wait_for_function(
                    "() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)",
                    timeout=60_000,
                )
                page.evaluate("() => MathJax.startup.promise")
                broken = page.evaluate(
                    "() => Promise.all([...document.images].map("
                    "i => i.decode().then(() => null, () => i.alt.slice(0, 60))))"
                )
                assert not [b for b in broken if b is not None], (deck.name, broken)
                found = page.evaluate(SLIDE_OVERFLOW)
                measured += len(found)
                overflowing += [
                    (deck.parent.name, deck.name, f["i"], f["over"])
                    for f in found
                    if f["over"] or f["height"] > f["client"] + 2
                ]
                if deck.stem.startswith(SAMPLE):
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    page.evaluate("Reveal.slide(2, 0)")
                    page.wait_for_timeout(300)
                    page.screenshot(
                        path=str(SCREENSHOTS / f"slides-{deck.parent.name}-{SAMPLE}.png")
                    )
                outside = [u for u in log["requests"] if not u.startswith((base, "data:"))]
                assert not outside, outside
                assert not log["errors"], (deck, log["errors"])
            finally:
                page.close()
    finally:
        server.shutdown()
        server.server_close()
    assert measured > 200, measured
    assert not overflowing, overflowing


# --------------------------------------------------------------------------- student bundle


def solution_blocks(path: Path) -> list[str]:
    """The code between BEGIN/END SOLUTION in a solution notebook, one string per block."""
    code = "\n".join(
        c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
    )
    return [
        m.strip() for m in re.findall(rf"{re.escape(BEGIN)}\n(.*?){re.escape(END)}", code, re.S)
    ]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("bundle") / "students.zip"
    run(sys.executable, "tools/student_bundle.py", "--out", str(out))
    with zipfile.ZipFile(out) as zf:
        yield zf


def test_bundle_has_what_a_student_needs(bundle):
    names = set(bundle.namelist())
    for needed in (
        "README.md",
        "requirements.txt",
        "requirements-data.txt",
        "pyproject.toml",
        "src/rnn2bert/__init__.py",
        "src/rnn2bert/exercises/core.py",
    ):
        assert f"rnn2bert-course/{needed}" in names, needed
    for lang in ("en", "zh"):
        for path in (ROOT / "exercises" / lang).glob("*.ipynb"):
            assert f"rnn2bert-course/exercises/{lang}/{path.name}" in names
    assert "-e ." in bundle.read("rnn2bert-course/requirements.txt").decode()


def test_bundle_carries_package_data_and_diagrams(bundle):
    """explorers.js/.css (declared package data: chapters 03, 04, 06, 08 draw with them),
    diagrams."""
    import tomllib

    names = set(bundle.namelist())
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = declared["tool"]["setuptools"]["package-data"]["rnn2bert"]
    data = [p for pattern in patterns for p in (ROOT / "src" / "rnn2bert").glob(pattern)]
    assert {p.name for p in data} >= {"explorers.js", "explorers.css"}
    for path in data + sorted(ROOT.glob("chapters/*/diagrams/*.svg")):
        assert f"rnn2bert-course/{path.relative_to(ROOT).as_posix()}" in names, path


EXPLORER_CHAPTERS = ["03-scaling", "04-masking", "06-positional-encoding", "08-bert"]
RUN_UNZIPPED = """\
import sys, nbformat
from nbclient import NotebookClient
path, out, stop = sys.argv[1], sys.argv[2], int(sys.argv[3])
nb = nbformat.read(path, as_version=4)
nb.cells = nb.cells[:stop + 1]
here = {"metadata": {"path": sys.argv[4]}}
NotebookClient(nb, timeout=600, kernel_name="python3", resources=here).execute()
nbformat.write(nb, out)
"""


@pytest.fixture(scope="module")
def unzipped(bundle, tmp_path_factory) -> Path:
    """The bundle unpacked in a fresh folder, as a student would."""
    folder = tmp_path_factory.mktemp("student")
    bundle.extractall(folder)
    return folder / "rnn2bert-course"


def test_bundle_carries_the_checkpoints(bundle, unzipped):
    """Chapters 09-12 load the book's pretrained BERTs from ``<folder>/checkpoints``: every file of
    them is in the zip, and the unzipped library loads both models from the unzipped folder."""
    names = set(bundle.namelist())
    files = sorted(ROOT.glob("checkpoints/*/*"))
    assert {p.name for p in files} >= {"config.json", "model.safetensors", "vocab.txt"}
    for path in files:
        assert f"rnn2bert-course/{path.relative_to(ROOT).as_posix()}" in names, path
    code = (
        "from rnn2bert.pretrained import CHECKPOINTS, load_tiny_bert\n"
        f"assert CHECKPOINTS.is_relative_to({str(unzipped)!r}), CHECKPOINTS\n"
        "for lang in ('en', 'zh'):\n"
        "    model, tokenizer = load_tiny_bert(lang)\n"
        "    assert len(tokenizer.vocab) == model.config.vocab_size\n"
    )
    env = {**os.environ, "PYTHONPATH": str(unzipped / "src")}
    subprocess.run([sys.executable, "-c", code], env=env, cwd=unzipped, check=True)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", EXPLORER_CHAPTERS)
def test_explorers_run_from_the_unzipped_bundle(unzipped, tmp_path, chapter):
    """Each explorer chapter, executed from the unzipped bundle up to its last explorer cell, with
    the bundle's own library (PYTHONPATH): the explorers draw, no cell raises."""
    lang_dir = unzipped / "chapters" / "en"
    nb = nbformat.read(lang_dir / f"{chapter}.ipynb", as_version=4)
    stops = [
        i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "_explorer(" in c.source
    ]
    assert stops, f"{chapter} has no explorer cell"
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            "import rnn2bert, pathlib\n"
            f"assert pathlib.Path(rnn2bert.__file__).is_relative_to({str(unzipped)!r}), "
            "rnn2bert.__file__"
        ),
    )
    source = tmp_path / "in.ipynb"
    nbformat.write(nb, source)
    out = tmp_path / "out.ipynb"
    run(
        sys.executable,
        "-c",
        RUN_UNZIPPED,
        str(source),
        str(out),
        str(stops[-1] + 1),
        str(lang_dir),
        env={"PYTHONPATH": str(unzipped / "src")},
        limit=900,
    )
    executed = nbformat.read(out, as_version=4)
    errors = [
        o
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, errors
    shown = executed.cells[stops[-1] + 1].outputs
    html = "".join(o.get("data", {}).get("text/html", "") for o in shown)
    assert "<script" in html and "<style" in html, [o.get("data", {}).keys() for o in shown]


def test_bundle_holds_no_solution(bundle):
    names = bundle.namelist()
    assert not [n for n in names if "solutions" in n.split("/")], "a solutions folder in the bundle"
    notebooks = {n: bundle.read(n).decode("utf-8") for n in names if n.endswith(".ipynb")}
    solution_files = {p.read_text(encoding="utf-8") for p in (ROOT / "solutions").glob("*/*.ipynb")}
    for name, text in notebooks.items():
        assert BEGIN not in text and "<!-- BEGIN SOLUTION -->" not in text, name
        assert text not in solution_files, f"{name} is a solution notebook"
    checked = 0
    for solution in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        name = f"rnn2bert-course/exercises/{solution.parent.name}/{solution.name}"
        nb = nbformat.reads(notebooks[name], as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        for block in solution_blocks(solution):
            assert block not in code, f"{name} contains a solution:\n{block}"
            checked += 1
    assert checked >= 2 * len(REGISTRY), checked  # every exercise, in both languages


def test_bundle_tool_refuses_solutions():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from student_bundle import problems
    finally:
        sys.path.remove(str(ROOT / "tools"))
    solution = ROOT / "solutions" / "en" / f"{SAMPLE}.ipynb"
    found = problems(
        {
            f"rnn2bert-course/exercises/en/{SAMPLE}.ipynb": solution,
            f"rnn2bert-course/solutions/en/{SAMPLE}.ipynb": solution,
        }
    )
    assert any("a solution file" in p for p in found)
    assert any("not generated from its solution" in p for p in found)
    assert any("BEGIN SOLUTION" in p for p in found)


# --------------------------------------------------------------------------- site without solutions


def test_site_without_solutions(tmp_path):
    """make book SOLUTIONS=0: builds with -W, links to solutions become text, no solution inside."""
    jb = Path(sys.executable).parent / "jupyter-book"
    run(
        str(jb),
        "build",
        ".",
        "-W",
        "-n",
        "--keep-going",
        "--all",
        "--path-output",
        str(tmp_path),
        env={"RNN2BERT_SOLUTIONS": "0"},
        limit=600,
    )
    site = tmp_path / "_build" / "html"
    downloads = sorted(p for p in (site / "_downloads").rglob("*.ipynb"))
    exercises = sorted((ROOT / "exercises").glob("*/*.ipynb"))
    assert len(downloads) == len(exercises)
    assert {p.read_bytes() for p in downloads} == {p.read_bytes() for p in exercises}
    leaks = [
        p
        for p in site.rglob("*")
        if p.is_file()
        and p.suffix in {".ipynb", ".html", ".js"}
        and BEGIN.encode() in p.read_bytes()
    ]
    assert not leaks, leaks
    page = (site / "chapters" / "en" / f"{SAMPLE}.html").read_text(encoding="utf-8")
    assert '<span class="withheld">' in page and "solutions/" not in page


# --------------------------------------------------------------------------- the guides


def test_guides_exist_in_both_languages():
    for path in GUIDES:
        assert path.is_file(), path
        assert len(path.read_text(encoding="utf-8")) > 2000, f"{path} is too short"


def commands(path: Path) -> str:
    """The code blocks and code spans of a Markdown file: where the guides give commands."""
    return "\n".join(re.findall(r"```.*?```|`[^`\n]+`", path.read_text(encoding="utf-8"), re.S))


def test_every_make_target_in_the_guides_exists():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    named = {
        t
        for path in GUIDES
        for m in re.findall(r"\bmake((?: [a-z][a-z-]*)+)", commands(path))
        for t in m.split()
    }
    assert {"book", "slides", "student-bundle"} <= named, named
    assert named <= targets, f"not in the Makefile: {named - targets}"


def test_grader_options_in_the_guides_exist():
    help_text = run(sys.executable, "-m", "rnn2bert.grading", "--help").stdout
    used = {
        o
        for path in GUIDES
        for line in re.findall(r"rnn2bert\.grading[^\n`]*", commands(path))
        for o in re.findall(r"--[a-z-]+", line)
    }
    assert {"--out", "--timeout"} <= used, used
    assert all(o in help_text for o in used), used


def test_syllabus_lists_every_exercise():
    for lang in ("en", "zh"):
        text = (TEACHING / f"syllabus.{lang}.md").read_text(encoding="utf-8")
        named = set(re.findall(r"\bch\d\d\.[a-z_0-9]+", text))
        assert named <= set(REGISTRY), named - set(REGISTRY)
        assert set(REGISTRY) <= named, f"syllabus.{lang}.md misses {set(REGISTRY) - named}"


def test_sample_midterm_matches_in_both_languages():
    """The sample midterm: the same questions with the same points in both languages, adding up to
    the total it states, and linked from the syllabus and the kit's README."""
    points = {}
    for lang, pattern, total in (
        ("en", r"^### Question (\d+) · .*\((\d+) points?\)$", "**50 points**"),
        ("zh", r"^### 第 (\d+) 题 · .*（(\d+) 分）$", "**满分 50 分**"),
    ):
        text = (TEACHING / f"sample-midterm.{lang}.md").read_text(encoding="utf-8")
        points[lang] = [(int(n), int(p)) for n, p in re.findall(pattern, text, re.M)]
        assert total in text, lang
        assert f"sample-midterm.{lang}.md" in (TEACHING / f"syllabus.{lang}.md").read_text(
            encoding="utf-8"
        )
        assert f"sample-midterm.{lang}.md" in (TEACHING / "README.md").read_text(encoding="utf-8")
    assert [n for n, _ in points["en"]] == list(range(1, 9)), points["en"]
    assert points["en"] == points["zh"]
    assert sum(p for _, p in points["en"]) == 50
