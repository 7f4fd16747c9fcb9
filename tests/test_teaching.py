"""The teaching kit: slides that load nothing from outside, a student bundle without solutions,
a site without solutions, and guides whose commands exist."""
from __future__ import annotations

import functools
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
from test_site import CSS_EXTERNAL, SCREENSHOTS, Page, external_loads, open_page

from rnn2bert.exercises import REGISTRY
from rnn2bert.exercises.generate import BEGIN, END

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "teaching"
SAMPLE = "02-self-attention"
GUIDES = [TEACHING / f"{name}.{lang}.md" for name in ("syllabus", "teachers-guide") for lang in ("en", "zh")]


def run(*cmd: str, env: dict | None = None, limit: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit,
                          env=None if env is None else {**os.environ, **env})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


# --------------------------------------------------------------------------- slides


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("slides")
    run(sys.executable, "tools/slides.py", f"chapters/en/{SAMPLE}.ipynb", f"chapters/zh/{SAMPLE}.ipynb",
        "--out", str(out))
    return out


@pytest.mark.parametrize(("lang", "html_lang"), [("en", "en"), ("zh", "zh-CN")])
def test_slides_load_only_local_files(slides, lang, html_lang):
    deck = slides / lang / f"{SAMPLE}.slides.html"
    page = Page(deck)
    assert page.html_lang == html_lang
    assert not external_loads(deck), external_loads(deck)
    local = [url for _, url in page.resources if url.startswith("../")]  # figures are data: URLs
    assert any(u.endswith("reveal.js") for u in local) and any(u.endswith("tex-chtml.js") for u in local)
    missing = [u for u in local if not (deck.parent / u.split("#")[0]).resolve().is_file()]
    assert not missing, missing
    assert deck.read_text(encoding="utf-8").count("<section") > 2 * 5  # a slide is two nested sections


def test_slide_assets_load_nothing_from_outside(slides):
    sheets = list((slides / "_assets").rglob("*.css"))
    assert len(sheets) >= 4
    found = [f"{p.name}: {m.group(0)}" for p in sheets for m in CSS_EXTERNAL.finditer(p.read_text(encoding="utf-8"))]
    assert not found, found


def test_both_languages_get_the_same_slides(slides):
    en, zh = ((slides / lang / f"{SAMPLE}.slides.html").read_text(encoding="utf-8") for lang in ("en", "zh"))
    assert en.count("<section") == zh.count("<section")


def test_slides_index_links_every_deck(slides):
    html = (slides / "index.html").read_text(encoding="utf-8")
    for lang in ("en", "zh"):
        assert f'href="{lang}/{SAMPLE}.slides.html"' in html
    assert not external_loads(slides / "index.html")


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_slides_in_browser(browser, slides, lang):
    """reveal.js starts, math renders, no request leaves the folder, no console error."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(slides))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    page, log = open_page(browser, f"{base}{lang}/{SAMPLE}.slides.html")
    try:
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=20_000)
        page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
        page.evaluate("() => window.MathJax.startup.promise")
        assert page.evaluate("Reveal.getTotalSlides()") > 5
        page.evaluate("Reveal.slide(1, 0)")
        page.wait_for_timeout(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"slides-{lang}-{SAMPLE}.png"))
        outside = [u for u in log["requests"] if not u.startswith((base, "data:"))]
        assert not outside, outside
        assert not log["errors"], log["errors"]
    finally:
        page.close()
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- student bundle


def solution_blocks(path: Path) -> list[str]:
    """The code between BEGIN/END SOLUTION in a solution notebook, one string per block."""
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    return [m.strip() for m in re.findall(rf"{re.escape(BEGIN)}\n(.*?){re.escape(END)}", code, re.S)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("bundle") / "students.zip"
    run(sys.executable, "tools/student_bundle.py", "--out", str(out))
    with zipfile.ZipFile(out) as zf:
        yield zf


def test_bundle_has_what_a_student_needs(bundle):
    names = set(bundle.namelist())
    for needed in ("README.md", "requirements.txt", "requirements-data.txt", "pyproject.toml",
                   "src/rnn2bert/__init__.py", "src/rnn2bert/exercises/core.py"):
        assert f"rnn2bert-course/{needed}" in names, needed
    for lang in ("en", "zh"):
        for path in (ROOT / "exercises" / lang).glob("*.ipynb"):
            assert f"rnn2bert-course/exercises/{lang}/{path.name}" in names
    assert "-e ." in bundle.read("rnn2bert-course/requirements.txt").decode()


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
    found = problems({f"rnn2bert-course/exercises/en/{SAMPLE}.ipynb": solution,
                      f"rnn2bert-course/solutions/en/{SAMPLE}.ipynb": solution})
    assert any("a solution file" in p for p in found)
    assert any("not generated from its solution" in p for p in found)
    assert any("BEGIN SOLUTION" in p for p in found)


# --------------------------------------------------------------------------- site without solutions


def test_site_without_solutions(tmp_path):
    """make book SOLUTIONS=0: builds with -W, links to solutions become text, no solution inside."""
    jb = Path(sys.executable).parent / "jupyter-book"
    run(str(jb), "build", ".", "-W", "-n", "--keep-going", "--all", "--path-output", str(tmp_path),
        env={"RNN2BERT_SOLUTIONS": "0"}, limit=600)
    site = tmp_path / "_build" / "html"
    downloads = sorted(p for p in (site / "_downloads").rglob("*.ipynb"))
    exercises = sorted((ROOT / "exercises").glob("*/*.ipynb"))
    assert len(downloads) == len(exercises)
    assert {p.read_bytes() for p in downloads} == {p.read_bytes() for p in exercises}
    leaks = [p for p in site.rglob("*") if p.is_file() and p.suffix in {".ipynb", ".html", ".js"}
             and BEGIN.encode() in p.read_bytes()]
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
    named = {t for path in GUIDES for m in re.findall(r"\bmake((?: [a-z][a-z-]*)+)", commands(path))
             for t in m.split()}
    assert {"book", "slides", "student-bundle"} <= named, named
    assert named <= targets, f"not in the Makefile: {named - targets}"


def test_grader_options_in_the_guides_exist():
    help_text = run(sys.executable, "-m", "rnn2bert.grading", "--help").stdout
    used = {o for path in GUIDES for line in re.findall(r"rnn2bert\.grading[^\n`]*", commands(path))
            for o in re.findall(r"--[a-z-]+", line)}
    assert {"--out", "--timeout"} <= used, used
    assert all(o in help_text for o in used), used


def test_syllabus_lists_every_exercise():
    for lang in ("en", "zh"):
        text = (TEACHING / f"syllabus.{lang}.md").read_text(encoding="utf-8")
        named = set(re.findall(r"\bch\d\d\.[a-z_0-9]+", text))
        assert named <= set(REGISTRY), named - set(REGISTRY)
        assert set(REGISTRY) <= named, f"syllabus.{lang}.md misses {set(REGISTRY) - named}"
