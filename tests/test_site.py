"""The website: builds with zero warnings, loads nothing from outside, links every page to
its other-language twin, finds English and Chinese words, renders math in a real browser.

Fixtures (tests/conftest.py): `site` builds once per session, `site_url` serves it on
127.0.0.1, `browser` is headless Chromium. Every test here needs the build, so the whole
file runs on one pytest-xdist worker (`--dist loadfile`, or `loadgroup` via the mark).
"""

from __future__ import annotations

import importlib.util
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("site")

LANG_TAGS = {"en": "en", "zh": "zh-CN"}  # folder -> <html lang>, hreflang
SAMPLE = "02-self-attention"  # a chapter with inline and display math, in both languages
NOT_THE_BOOK = {
    "exercises",
    "solutions",
    "src",
    "tests",
    "bench",
    "teaching",
    "tools",
    ".venv",
    "README.html",
    "CONTRIBUTING.html",
}
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host
CSS_EXTERNAL = re.compile(
    r"""url\(\s*['"]?\s*(?:https?:)?//|@import\s+(?:url\()?\s*['"]?\s*(?:https?:)?//""", re.I
)
# Inline scripts may name XML namespaces (createElementNS); those are not requests.
SCRIPT_URL = re.compile(r"(?:https?:)?//(?!www\.w3\.org/)[a-z0-9.-]+\.[a-z]{2,}", re.I)


# --------------------------------------------------------------------------------------- helpers


def chapter_pairs() -> list[str]:
    """Chapter file stems, checked to exist in both languages (same names en/ and zh/)."""
    names = {
        lang: {
            p.stem for p in (ROOT / "chapters" / lang).glob("*") if p.suffix in {".ipynb", ".md"}
        }
        for lang in LANG_TAGS
    }
    assert names["en"] == names["zh"], f"chapters differ between languages: {names}"
    assert names["en"], "no chapters found"
    return sorted(names["en"])


class Page(HTMLParser):
    """The bits of a built HTML page the tests look at."""

    RESOURCE_ATTRS = {
        "script": ["src"],
        "img": ["src", "srcset"],
        "iframe": ["src"],
        "frame": ["src"],
        "source": ["src", "srcset"],
        "video": ["src", "poster"],
        "audio": ["src"],
        "track": ["src"],
        "embed": ["src"],
        "object": ["data"],
        "input": ["src"],
        "link": ["href"],
    }

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.html_lang = None
        self.resources: list[tuple[str, str]] = []  # (tag, url) of everything that loads
        self.alternates: dict[str, str] = {}  # hreflang -> href
        self.switch: dict | None = None  # attributes of a.langswitch
        self.links: list[str] = []  # every <a href>
        self.inline_css: list[str] = []
        self.inline_js: list[str] = []
        self._in = None
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        for name in self.RESOURCE_ATTRS.get(tag, []):
            if a.get(name):
                for url in a[name].split(","):  # srcset: "url 1x, url 2x"
                    self.resources.append((tag, url.strip().split(" ")[0]))
        if tag == "link" and a.get("rel") == "alternate" and a.get("hreflang"):
            self.alternates[a["hreflang"]] = a["href"]
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "a" and "langswitch" in (a.get("class") or "").split():
            self.switch = a
        if a.get("style"):
            self.inline_css.append(a["style"])
        if tag == "style" or (
            tag == "script"
            and "src" not in a
            and a.get("type", "text/javascript") in {"text/javascript", "module"}
        ):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "style":
            self.inline_css.append(data)
        elif self._in == "script":
            self.inline_js.append(data)


def html_pages(site: Path) -> list[Path]:
    """The site's pages (not the theme's template fragments under _static/)."""
    return sorted(
        p for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_")
    )


def chapter_html(site: Path, lang: str, stem: str) -> Path:
    return site / "chapters" / lang / f"{stem}.html"


def search_index(site: Path) -> dict:
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


# --------------------------------------------------------------------------------- static checks


def test_every_chapter_is_built_in_both_languages(site):
    for stem in chapter_pairs():
        for lang in LANG_TAGS:
            assert chapter_html(site, lang, stem).is_file(), (
                f"{lang}/{stem} is not in the site (_toc.yml?)"
            )


def test_only_the_book_is_built(site):
    built = {p.relative_to(site).parts[0] for p in html_pages(site)}
    assert not built & NOT_THE_BOOK, f"not part of the website: {built & NOT_THE_BOOK}"


def external_loads(path: Path) -> list[str]:
    """Everything in a built page that would make the browser fetch from another host."""
    page = Page(path)
    return (
        [f"<{tag}> {url}" for tag, url in page.resources if EXTERNAL.match(url)]
        + [
            f"inline CSS loads {m.group(0)}"
            for css in page.inline_css
            for m in CSS_EXTERNAL.finditer(css)
        ]
        + [
            f"inline script names {m.group(0)}"
            for js in page.inline_js
            for m in SCRIPT_URL.finditer(js)
        ]
    )


def test_the_external_load_check_catches_cdns(tmp_path):
    """The check below is not vacuous: each of these would load from outside."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<html><head><script src="https://cdn.jsdelivr.net/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">'
        "<style>@import url('https://example.org/a.css');</style>"
        '<script>const URL = "https://unpkg.com/thebe";</script></head>'
        '<body><img srcset="a.png 1x, https://example.org/b.png 2x">'
        '<a href="https://arxiv.org/abs/1706.03762">a paper is fine</a>'
        '<svg xmlns="http://www.w3.org/2000/svg"></svg></body></html>',
        encoding="utf-8",
    )
    assert len(external_loads(bad)) == 5, external_loads(bad)


def test_no_page_loads_anything_from_outside(site):
    problems = [
        f"{p.relative_to(site)}: {problem}"
        for p in html_pages(site)
        for problem in external_loads(p)
    ]
    assert not problems, "external resources:\n" + "\n".join(problems)


def test_every_link_inside_the_site_resolves(site):
    """Relative links (pages, downloads such as the exercise notebooks, images) exist."""
    broken = []
    for path in html_pages(site):
        page = Page(path)
        for href in page.links + [url for _, url in page.resources]:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path:
                continue  # external hyperlinks (papers) and same-page anchors
            if not (path.parent / parts.path).resolve().exists():
                broken.append(f"{path.relative_to(site)}: {href}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_no_stylesheet_or_script_loads_from_outside(site):
    files = [p for p in (site / "_static").rglob("*") if p.suffix in {".css", ".js"}]
    assert files
    problems = [
        f"{p.relative_to(site)}: {m.group(0)}"
        for p in files
        for m in CSS_EXTERNAL.finditer(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not problems, "CSS/JS loading fonts or styles from outside:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", LANG_TAGS)
def test_chapter_pages_declare_language_and_link_the_other(site, lang):
    other = next(code for code in LANG_TAGS if code != lang)
    for stem in chapter_pairs():
        path = chapter_html(site, lang, stem)
        page = Page(path)
        assert page.html_lang == LANG_TAGS[lang], f"{path}: <html lang={page.html_lang!r}>"
        # <link rel="alternate"> for both editions, resolving to real files
        assert set(page.alternates) == {LANG_TAGS[lang], LANG_TAGS[other]}, page.alternates
        for tag, href in page.alternates.items():
            assert (path.parent / href).resolve().is_file(), f"{path}: alternate {tag} -> {href}"
        twin = (path.parent / page.alternates[LANG_TAGS[other]]).resolve()
        assert twin == chapter_html(site, other, stem).resolve()
        # the visible switch
        assert page.switch, f"{path}: no a.langswitch"
        assert (path.parent / page.switch["href"]).resolve() == twin
        assert page.switch["hreflang"] == page.switch["lang"] == LANG_TAGS[other]


CJK_CHAR = re.compile(r"[\u3400-\u9fff]")


def section_ids(path: Path) -> list[str]:
    return re.findall(r'<section\b[^>]*?\sid="([^"]+)"', path.read_text(encoding="utf-8"))


def switch_twins(path: Path) -> dict[str, str]:
    return json.loads(Page(path).switch["data-twins"])


def test_chinese_section_anchors_are_readable_and_paired(site):
    """zh anchors come from the titles (#真实的注意力图, not #id5), and the switch pairs every
    section with its twin, both ways, so switching language keeps the reader's section."""
    for stem in chapter_pairs():
        zh, en = chapter_html(site, "zh", stem), chapter_html(site, "en", stem)
        ids = section_ids(zh)
        fallback = [i for i in ids if re.fullmatch(r"id\d+", i)]
        assert not fallback, f"{zh.name}: sections still anchored as {fallback}"
        assert all(CJK_CHAR.search(i) or i.isascii() for i in ids), ids
        assert sum(bool(CJK_CHAR.search(i)) for i in ids) >= len(ids) // 2, f"{zh.name}: {ids}"
        there, back = switch_twins(en), switch_twins(zh)
        assert list(there) == section_ids(en) and list(there.values()) == ids, stem
        assert {v: k for k, v in there.items()} == back, f"{stem}: the two maps disagree"


def test_chinese_on_english_pages_carries_its_language(site):
    """Every Chinese character in the prose (<article>) of an English page sits inside
    lang="zh-CN" in the HTML as built (glossary, landing page, preface's term table); the
    theme's chrome is tagged in the browser (test_chinese_in_english_chrome_...)."""

    class Text(HTMLParser):
        SKIP = {"script", "style", "pre", "code", "mjx-container", "title", "head"}

        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.stack: list[tuple[str, str | None]] = []
            self.untagged: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in {"br", "img", "meta", "link", "input", "hr", "wbr", "source"}:
                self.stack.append((tag, dict(attrs).get("lang")))

        def handle_endtag(self, tag):
            while self.stack:
                if self.stack.pop()[0] == tag:
                    break

        def handle_data(self, data):
            tags = [t for t, _ in self.stack]
            if not CJK_CHAR.search(data) or "article" not in tags or self.SKIP & set(tags):
                return
            lang = next((lang for _, lang in reversed(self.stack) if lang), None)
            if lang != "zh-CN":
                self.untagged.append(data.strip()[:40])

    pages = [site / "index.html"] + [chapter_html(site, "en", stem) for stem in chapter_pairs()]
    for path in pages:
        parser = Text()
        parser.feed(path.read_text(encoding="utf-8"))
        assert not parser.untagged, f"{path.name}: Chinese without lang: {parser.untagged[:8]}"
    glossary = chapter_html(site, "en", "glossary").read_text(encoding="utf-8")
    assert glossary.count('lang="zh-CN"') > 100  # the terms themselves, not only the menu


def test_landing_page_offers_both_languages(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<a [^>]*href="(chapters/[^"#]+\.html)"[^>]*>(.*?)</a>', html, re.S)
    for lang, label in [("en", "English →"), ("zh", "中文 →")]:
        hits = [
            href
            for href, inner in links
            if href.startswith(f"chapters/{lang}/")
            and re.sub(r"<[^>]+>", "", inner).strip() == label
        ]
        assert hits, f"landing page has no {label!r} link into chapters/{lang}/"
        assert (site / hits[0]).is_file()


# 自注意力 is a word only thanks to the jieba dictionary _ext/jieba_terms.txt (_config.yml).
@pytest.mark.parametrize(
    ("word", "lang"),
    [("softmax", "en"), ("注意力", "zh"), ("自注意力", "zh")],
    ids=["en-softmax", "zh-zhuyili", "zh-zizhuyili"],
)
def test_search_finds_english_and_chinese_words(site, word, lang):
    index = search_index(site)
    docs = set()
    for field in ("terms", "titleterms"):
        hits = index[field].get(word, [])
        docs |= set(hits if isinstance(hits, list) else [hits])
    names = {index["docnames"][i] for i in docs}
    assert f"chapters/{lang}/{SAMPLE}" in names, (
        f"{word!r} not indexed for chapters/{lang}/{SAMPLE}: {names}"
    )


# ---------------------------------------------------------------------------------- in a browser

VISIBLE_TEX = re.compile(r"\$[^$\n]+\$|\\\(|\\\)|\\\[|\\\]|\\(?:mathrm|frac|sum|top|alpha)\b")
PROSE_TEXT_JS = """() => {
  const article = document.querySelector('article') || document.body;
  const copy = article.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .cell_input, .cell_output')
      .forEach(e => e.remove());
  return copy.innerText;
}"""


# Waits for work that should succeed (a page loads, MathJax typesets, search answers) are
# generous: on a loaded 2-core machine a page can take many seconds, and a tight margin turns load
# into a failure. A real failure still fails, only later.
BROWSER_TIMEOUT_MS = 120_000


def open_page(browser, url: str, width: int = 1280, offline: bool = False, dark: bool = False):
    """A fresh page that records requests, failed loads and console errors.

    offline=True cuts the network: every request that is not to the site itself is aborted.
    dark=True asks for the dark colour scheme (the theme follows the reader's system).
    """
    page = browser.new_page(
        viewport={"width": width, "height": 900},
        device_scale_factor=1,
        color_scheme="dark" if dark else "light",
    )
    page.set_default_timeout(BROWSER_TIMEOUT_MS)  # every wait_for_* and goto below
    if offline:
        home = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/"
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(home) else route.abort()
            ),
        )
    log = {"requests": [], "errors": []}
    page.on("request", lambda r: log["requests"].append(r.url))
    # ERR_ABORTED: a load cut short because we navigated on; a missing file is a 404 instead
    page.on(
        "requestfailed",
        lambda r: (
            "ERR_ABORTED" not in (r.failure or "")
            and log["errors"].append(f"failed: {r.url} {r.failure}")
        ),
    )
    page.on(
        "response", lambda r: r.status >= 400 and log["errors"].append(f"HTTP {r.status}: {r.url}")
    )
    page.on("console", lambda m: m.type == "error" and log["errors"].append(f"console: {m.text}"))
    page.on("pageerror", lambda e: log["errors"].append(f"pageerror: {e}"))
    page.goto(url, wait_until="load")
    return page, log


def wait_for_math(page):
    page.wait_for_selector("mjx-container", state="attached", timeout=BROWSER_TIMEOUT_MS)
    page.evaluate("() => window.MathJax.startup.promise")


def assert_stayed_home(log, base: str):
    outside = [
        u
        for u in log["requests"]
        if not (u.startswith(base) or u.startswith(("data:", "blob:", "about:")))
    ]
    assert not outside, "requests outside the site:\n" + "\n".join(outside)
    assert not log["errors"], "\n".join(log["errors"])


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANG_TAGS)
def test_chapter_in_browser(browser, site_url, lang):
    other = next(code for code in LANG_TAGS if code != lang)
    stem = SAMPLE
    url = urljoin(site_url, f"chapters/{lang}/{stem}.html")
    twin = urljoin(site_url, f"chapters/{other}/{stem}.html")
    page, log = open_page(browser, url)
    try:
        assert page.evaluate("document.documentElement.lang") == LANG_TAGS[lang]

        wait_for_math(page)
        assert page.locator("mjx-container").count() >= 2  # inline and display math
        leftover = VISIBLE_TEX.findall(page.evaluate(PROSE_TEXT_JS))
        assert not leftover, f"raw TeX visible on the page: {leftover}"

        switch = page.locator("a#langswitch")
        assert switch.is_visible()
        screenshot(page, f"{lang}-{stem}.png")

        switch.click()
        page.wait_for_url(twin)
        assert page.evaluate("document.documentElement.lang") == LANG_TAGS[other]
        page.go_back()
        page.wait_for_url(url)
        wait_for_math(page)
        assert_stayed_home(log, site_url)
    finally:
        page.close()
    print(f"\nscreenshots: {SCREENSHOTS}")


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANG_TAGS)
def test_language_switch_visible_on_a_phone(browser, site_url, lang):
    stem = SAMPLE
    page, log = open_page(browser, urljoin(site_url, f"chapters/{lang}/{stem}.html"), width=390)
    try:
        wait_for_math(page)
        box = page.locator("a#langswitch").bounding_box()
        assert page.locator("a#langswitch").is_visible() and box
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        assert box["y"] + box["height"] <= 900, f"switch below the first screen: {box}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "page scrolls sideways"
        screenshot(page, f"{lang}-{stem}-390px.png")
        assert_stayed_home(log, site_url)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("query", "lang"), [("softmax", "en"), ("自注意力", "zh")], ids=["en", "zh"]
)
def test_search_page_finds_the_chapter(browser, site_url, query, lang):
    page, log = open_page(browser, urljoin(site_url, f"search.html?q={query}"))
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=BROWSER_TIMEOUT_MS)
        hits = page.eval_on_selector_all(
            "#search-results ul.search li > a", "as => as.map(a => a.href)"
        )
        assert any(f"/chapters/{lang}/{SAMPLE}.html" in h for h in hits), hits
        assert_stayed_home(log, site_url)
    finally:
        page.close()


@pytest.mark.browser
def test_landing_page_in_browser(browser, site_url):
    for width in (1280, 390):
        page, log = open_page(browser, site_url, width=width)
        try:
            for label, lang in [("English →", "en"), ("中文 →", "zh")]:
                link = page.get_by_role("link", name=label)
                assert link.is_visible(), f"{label} not visible at {width}px"
                assert urlsplit(link.evaluate("a => a.href")).path.startswith(f"/chapters/{lang}/")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (
                "page scrolls sideways"
            )
            screenshot(page, f"index-{width}px.png")
            page.get_by_role("link", name="中文 →").click()
            page.wait_for_url(re.compile(r"/chapters/zh/"))
            assert_stayed_home(log, site_url)
        finally:
            page.close()


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANG_TAGS)
def test_every_chapter_page_in_browser(browser, site_url, lang):
    """Every chapter: no console error, nothing from outside, right language, no sideways
    scroll on a phone."""
    problems = []
    for stem in chapter_pairs():
        page, log = open_page(browser, urljoin(site_url, f"chapters/{lang}/{stem}.html"), width=390)
        try:
            page.wait_for_load_state("networkidle")
            if page.evaluate("document.documentElement.lang") != LANG_TAGS[lang]:
                problems.append(f"{stem}: wrong lang")
            overflow = page.evaluate("""() => [...document.querySelectorAll('article *')]
                .filter(e => !e.closest(
                    'pre, .highlight, .cell_output, .output, table, mjx-container'))
                .filter(e => e.getBoundingClientRect().right >
                    document.documentElement.clientWidth + 1)
                .map(e => e.tagName + '.' + e.className).slice(0, 3)""")
            if overflow:
                problems.append(f"{stem}: wider than the phone screen: {overflow}")
            try:
                assert_stayed_home(log, site_url)
            except AssertionError as error:
                problems.append(f"{stem}: {error}")
        finally:
            page.close()
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------- reader comforts (static)


# A picture in a chapter's prose: ![alt](src) (the alt may hold one level of [brackets]) or
# <img src>.
MARKDOWN_IMAGE = re.compile(
    r"!\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(([^)\s]+)\)|<img\b[^>]*\bsrc=\"([^\"]*)\""
)
DIAGRAM = re.compile(r"(?:^|/)diagrams/([\w.-]+?)\.svg$")  # chapters/<lang>/diagrams/NAME.svg
HIDDEN_OUTPUT = {"remove-output", "remove-cell"}  # tags whose outputs the page does not show


def notebook_images(path: Path) -> tuple[int, list[str]]:
    """What a chapter shows: (figures, diagrams). Figures are the image outputs of its code cells
    that the page shows, plus any picture of the prose that is not a diagram; diagrams are the
    names of the drawings its prose shows (![alt](diagrams/NAME.svg), `make diagrams`)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    figures = sum(
        bool({"image/png", "image/svg+xml"} & set(o.get("data", {})))
        for c in nb.cells
        if c.cell_type == "code" and not HIDDEN_OUTPUT & set(c.metadata.get("tags", []))
        for o in c.get("outputs", [])
    )
    sources = [
        m.group(1) or m.group(2)
        for c in nb.cells
        if c.cell_type == "markdown"
        for m in MARKDOWN_IMAGE.finditer(c.source)
    ]
    diagrams = [DIAGRAM.search(src).group(1) for src in sources if DIAGRAM.search(src)]
    return figures + len(sources) - len(diagrams), sorted(diagrams)


IMG = re.compile(r"<img\b[^>]*>")
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def page_images(html: str) -> tuple[list[dict], list[dict]]:
    """The <img> of a chapter page's article: (figures, diagrams). Diagrams carry the class
    r2b-diagram (_ext/figure_alt.py); Sphinx copies them into _images/, where the second of two
    files with one name gets a number (01-rnn-vs-attention1.svg)."""
    images = [dict(ATTR.findall(tag)) for tag in IMG.findall(html.split("<article", 1)[-1])]
    diagrams = [i for i in images if "r2b-diagram" in i.get("class", "").split()]
    return [i for i in images if i not in diagrams], diagrams


def test_every_figure_is_on_its_page_with_alt_text(site):
    """Each figure a chapter notebook holds, and each diagram its prose shows, is on its page,
    described by a real alt text (a diagram's in the page's language)."""
    problems, figures = [], 0
    for lang in LANG_TAGS:
        for notebook in sorted((ROOT / "chapters" / lang).glob("*.ipynb")):
            page = f"{lang}/{notebook.stem}"
            shown, drawn = page_images(
                chapter_html(site, lang, notebook.stem).read_text(encoding="utf-8")
            )
            expected, diagrams = notebook_images(notebook)
            if len(shown) != expected:
                problems.append(
                    f"{page}: {len(shown)} figures on the page for {expected} in the notebook"
                )
            names = sorted(
                re.sub(r"\d*\.svg$", "", d.get("src", "").rsplit("/", 1)[-1]) for d in drawn
            )
            if names != diagrams:
                problems.append(f"{page}: diagrams on the page {names}, in the prose {diagrams}")
            for image in shown + drawn:
                alt = image.get("alt", "").strip()
                if (
                    not alt
                    or alt == image.get("src")
                    or alt.lower().endswith((".png", ".svg", ".jpg"))
                    or len(alt) < 12
                ):
                    problems.append(f"{page}: {image.get('src')} has alt {alt!r}")
                elif lang == "zh" and image in drawn and not re.search(r"[\u4e00-\u9fff]", alt):
                    problems.append(f"{page}: diagram {image.get('src')} has no Chinese alt text")
                elif lang == "zh" and alt.startswith("Figure"):
                    problems.append(f"{page}: {image.get('src')}: alt opens in English: {alt!r}")
            figures += len(shown)
    assert figures >= 40, f"only {figures} notebook figures in the book?"
    assert not problems, "\n".join(problems)


def test_figures_stay_legible_in_dark_mode(site):
    """Figures have an opaque background: dark text on a transparent PNG would vanish in dark
    mode."""
    from PIL import Image

    pngs = sorted((site / "_images").glob("*.png"))
    svgs = sorted((site / "_images").glob("*.svg"))
    assert len(pngs) + len(svgs) >= 40, (
        f"only {len(pngs)} PNG and {len(svgs)} SVG figures on the site"
    )
    transparent = []
    for png in pngs:
        with Image.open(png) as image:
            rgba = image.convert("RGBA")
            w, h = rgba.size
            if (
                min(rgba.getpixel(xy)[3] for xy in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)])
                < 255
            ):
                transparent.append(png.name)
    # SVG figures (rnn2bert.plotting): matplotlib's first patch is the figure's background
    for svg in svgs:
        text = svg.read_text(encoding="utf-8")
        background = text.split('<g id="patch_1">', 1)[-1][:600]
        if "fill: #ffffff" not in background and 'fill="#ffffff"' not in background:
            transparent.append(svg.name)
    assert not transparent, f"figures with a transparent background: {transparent}"


def test_each_chapter_page_offers_its_notebook_for_download(site):
    import nbformat

    for lang in LANG_TAGS:
        for notebook in sorted((ROOT / "chapters" / lang).glob("*.ipynb")):
            page = chapter_html(site, lang, notebook.stem)
            links = [
                h
                for h in Page(page).links
                if h.endswith(f"_sources/chapters/{lang}/{notebook.name}")
            ]
            assert links, f"{page.relative_to(site)}: no download link to {notebook.name}"
            served = (page.parent / links[0]).resolve()
            assert nbformat.read(served, as_version=4).cells, served


def test_chinese_prose_has_no_stray_spaces_from_line_breaks(site):
    """A wrapped line between two Chinese characters would show as a space
    (_ext/cjk_linebreaks.py)."""
    cjk_break = re.compile(
        r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef][ \t]*\n"
        r"[ \t]*[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]"
    )
    found = []
    for stem in chapter_pairs():
        html = re.sub(
            r"<(pre|script|style)\b.*?</\1>",
            "",
            chapter_html(site, "zh", stem).read_text(encoding="utf-8"),
            flags=re.S,
        )
        found += [
            f"{stem}: {m.group(0)!r}" for m in cjk_break.finditer(html.split("<article", 1)[-1])
        ]
    assert not found, "\n".join(found[:10])


def test_cjk_line_joining_keeps_latin_spacing():
    import sys

    sys.path.insert(0, str(ROOT / "_ext"))
    from cjk_linebreaks import join_lines

    assert join_lines("第一行。\n第二行") == "第一行。第二行"
    assert (
        join_lines("用 softmax\n计算") == "用 softmax\n计算"
    )  # Latin on one side: the space stays
    assert join_lines("计算\nsoftmax") == "计算\nsoftmax"


def test_launch_buttons_are_off_by_default(site):
    """No repository URL, no launch service: no page links to Binder or Colab (see _config.yml
    to turn them on)."""
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert re.search(r'^repository:\s*(#.*)?\n\s+url: ""', config, re.M), (
        "repository.url is set: launch buttons are on"
    )
    launching = [
        p.relative_to(site)
        for p in html_pages(site)
        if re.search(r"mybinder\.org|colab\.research\.google\.com", p.read_text(encoding="utf-8"))
    ]
    assert not launching, f"pages with launch buttons: {launching}"


NEIGHBOUR = re.compile(r'<a class="(left-prev|right-next)"\s+href="([^"]+)"')


def test_previous_and_next_stay_in_one_language(site):
    """The English part never hands over to a Chinese page, nor the other way round."""
    for lang in LANG_TAGS:
        stems = chapter_pairs()
        nexts = 0
        for stem in stems:
            path = chapter_html(site, lang, stem)
            for kind, href in NEIGHBOUR.findall(path.read_text(encoding="utf-8")):
                target = (path.parent / href).resolve().relative_to(site.resolve())
                assert target.parts[:2] == ("chapters", lang) or target.name == "index.html", (
                    f"{lang}/{stem}: {kind} leads to {target}"
                )
                nexts += kind == "right-next"
        assert nexts == len(stems) - 1, f"{lang}: {nexts} 'next' links for {len(stems)} pages"


# ---------------------------------------------------------------------- explorers in the browser

EXPLORER_PAGES = {
    "attention": "08-bert",
    "scaling": "03-scaling",
    "mask": "04-masking",
    "positional": "06-positional-encoding",
}


def readout(explorer) -> str:
    return explorer.locator(".r2b-readout").inner_text()


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d+|\d+", text)]


def drag_to_end(page, slider, fraction: float = 1.0) -> None:
    """Click a range slider with the mouse near its end (fraction of its width)."""
    box = slider.bounding_box()
    page.mouse.click(
        box["x"] + max(2, min(box["width"] - 2, fraction * box["width"])),
        box["y"] + box["height"] / 2,
    )


def check_attention(page, explorer):
    # the bilingual labels drawn in SVG ("query · 查询"): a script that wrapped their Chinese
    # in an HTML <span> would hide it (SVG draws no HTML)
    labels = explorer.locator("svg > text").all()
    assert labels and all(t.evaluate("e => e.children.length") == 0 for t in labels)
    start = readout(explorer)
    assert start.startswith("“it” →") and "animal" in start, start  # opens on the "it" head
    explorer.locator(
        "text.r2b-query", has_text=re.compile(r"^it$")
    ).click()  # release the pinned token
    explorer.locator("text.r2b-query", has_text=re.compile(r"^street$")).hover()
    assert readout(explorer).startswith("“street” →")
    lines = explorer.locator("line.r2b-line")
    assert 1 <= lines.count() <= len(explorer.locator("text.r2b-key").all())
    before = readout(explorer)
    explorer.locator("select").first.select_option("0")  # layer 1
    assert readout(explorer) != before, "changing the layer changed nothing"
    assert "(layer · 层 1, head · 头" in readout(explorer), readout(explorer)  # which head is shown
    page.mouse.move(0, 0)  # leave: every query's lines
    assert lines.count() > len(explorer.locator("text.r2b-key").all())


def check_scaling(page, explorer):
    assert "temperature T · 温度" in explorer.locator(".r2b-controls").inner_text()
    d_k, temperature = explorer.locator("input[type=range]").all()
    drag_to_end(page, d_k)
    assert "= 1024" in explorer.locator(".r2b-controls").inner_text()
    raw, scaled = numbers(readout(explorer))[:2]
    assert raw > 0.9 and scaled < raw, readout(explorer)  # unscaled scores saturate the softmax
    drag_to_end(page, temperature)
    assert "= 10.00" in explorer.locator(".r2b-controls").inner_text()
    assert numbers(readout(explorer))[0] < raw  # a hotter softmax spreads the weights


def check_mask(page, explorer):
    explorer.locator("select").select_option("causal")
    assert readout(explorer).startswith("15 of 36"), readout(explorer)  # 6 × 5 / 2 future pairs
    explorer.locator("select").select_option("both")
    drag_to_end(page, explorer.locator("input[type=range]"), fraction=0.0)  # one real token
    assert readout(explorer).startswith("30 of 36"), readout(
        explorer
    )  # every query sees key 0 only
    cells = explorer.locator("g.r2b-cell[data-allowed='1']")
    assert cells.count() == 6 and {c.get_attribute("data-w") for c in cells.all()} == {"1.000"}


def check_positional(page, explorer):
    first = numbers(readout(explorer).split("=")[-1])[0]
    drag_to_end(page, explorer.locator("input[type=range]"))
    assert "(dims 62, 63)" in explorer.locator(".r2b-controls").inner_text()
    assert "e+4" in readout(explorer) and first < 7, readout(explorer)  # 2π up to about 2π·10⁴


CHECKS = {
    "attention": check_attention,
    "scaling": check_scaling,
    "mask": check_mask,
    "positional": check_positional,
}


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANG_TAGS)
@pytest.mark.parametrize("kind", EXPLORER_PAGES)
def test_explorer_works_by_mouse_with_the_network_cut(browser, site_url, kind, lang):
    url = urljoin(site_url, f"chapters/{lang}/{EXPLORER_PAGES[kind]}.html")
    page, log = open_page(browser, url, offline=True)
    try:
        explorer = page.locator(f".r2b-explorer[data-kind={kind}]")
        assert explorer.count() == 1, f"no {kind} explorer on {url}"
        explorer.scroll_into_view_if_needed()
        CHECKS[kind](page, explorer)
        explorer.screenshot(path=str(SCREENSHOTS / f"{lang}-explorer-{kind}.png"))
        assert_stayed_home(log, site_url)
    finally:
        page.close()


CONTRAST_JS = """e => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  let node = e, bg = null;
  while (node && node.nodeType === 1) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { bg = c; break; }
    node = node.parentNode;
  }
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
                     return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const fg = rgb(
    getComputedStyle(e).fill !== "none" && e.namespaceURI.includes("svg")
      ? getComputedStyle(e).fill
      : getComputedStyle(e).color);
  const [a, b] = [lum(fg), lum(bg || [255, 255, 255])].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_explorer_and_text_stay_legible_in_both_colour_modes(browser, site_url, mode):
    """Text contrast (WCAG ratio >= 4.5) of the explorer, its controls and the prose; screenshots
    kept."""
    for lang in LANG_TAGS:
        page, log = open_page(
            browser, urljoin(site_url, f"chapters/{lang}/08-bert.html"), dark=mode == "dark"
        )
        try:
            assert page.evaluate("document.documentElement.dataset.theme") == mode
            explorer = page.locator(".r2b-explorer")
            explorer.scroll_into_view_if_needed()
            for what in [
                ".r2b-explorer text.r2b-key",
                ".r2b-explorer select",
                ".r2b-explorer .r2b-readout",
                "article p",
            ]:
                ratio = page.locator(what).first.evaluate(CONTRAST_JS)
                assert ratio >= 4.5, f"{lang} {mode}: {what} has contrast {ratio:.1f}"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{lang}-08-bert-{mode}.png"))
            assert_stayed_home(log, site_url)
        finally:
            page.close()


# Queries a reader types, each with the chapter it must list first among that language's pages.
# Chinese ones mix scripts, run words together, ask questions, or are one character: the query
# is cut like the index (_assets/search_scorer.js: splitQuery).
SEARCHES = [
    ("masking", "en", "04-masking"),
    ("positional", "en", "06-positional-encoding"),
    ("multi-head attention", "en", "05-multi-head"),
    ("fine-tuning", "en", "10-fine-tuning"),
    ("pretraining", "en", "09-pretraining"),
    ("WordPiece", "en", "08-bert"),
    ("位置编码", "zh", "06-positional-encoding"),
    ("掩码", "zh", "04-masking"),
    ("自注意力", "zh", "02-self-attention"),
    ("自注意力机制", "zh", "02-self-attention"),
    ("BERT预训练", "zh", "09-pretraining"),
    ("什么是位置编码", "zh", "06-positional-encoding"),
    ("头", "zh", "05-multi-head"),
    ("多头注意力", "zh", "05-multi-head"),
    ("微调", "zh", "10-fine-tuning"),
    ("什么是微调", "zh", "10-fine-tuning"),
    ("因果掩码", "zh", "04-masking"),
    ("缩放点积注意力", "zh", "03-scaling"),
    ("RNN的局限", "zh", "01-rnn-limits"),
    ("查询 键 值", "zh", "02-self-attention"),
    # a section title holds the query: its chapter comes before those that only mention it
    ("next sentence prediction", "en", "09-pretraining"),
    ("masked language model", "en", "09-pretraining"),
    ("下一句预测", "zh", "09-pretraining"),
    ("数据并行", "zh", "09-pretraining"),
]


@pytest.mark.browser
@pytest.mark.parametrize(("query", "lang", "stem"), SEARCHES, ids=[q for q, _, _ in SEARCHES])
def test_search_lists_the_right_chapter_first(browser, site_url, query, lang, stem):
    page, log = open_page(browser, urljoin(site_url, f"search.html?q={query}"))
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=BROWSER_TIMEOUT_MS)
        hits = page.eval_on_selector_all(
            "#search-results ul.search li > a", "as => as.map(a => a.href)"
        )
        ours = [h for h in hits if f"/chapters/{lang}/" in h]
        assert ours and ours[0].split("/chapters/")[1].startswith(f"{lang}/{stem}.html"), ours[:5]
        assert_stayed_home(log, site_url)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("came_from", "lang"), [("index.html", "en"), ("chapters/zh/02-self-attention.html", "zh")]
)
def test_search_lists_the_readers_language_first(browser, site_url, came_from, lang):
    """A Latin-letter query (WordPiece) matches chapter 08 in both languages alike: the one in
    the language of the page the search was sent from comes first, English by default."""
    page, log = open_page(browser, urljoin(site_url, came_from))
    try:
        page.goto(urljoin(site_url, "search.html?q=WordPiece"), referer=page.url)
        page.wait_for_selector("#search-results ul.search li a", timeout=BROWSER_TIMEOUT_MS)
        hits = page.eval_on_selector_all(
            "#search-results ul.search li > a", "as => as.map(a => a.href)"
        )
        assert f"/chapters/{lang}/08-bert.html" in hits[0], hits[:3]
        assert_stayed_home(log, site_url)
    finally:
        page.close()


def test_chinese_pages_show_the_theme_interface_in_chinese(site):
    """No English word of the theme's interface (_ext/zh_chrome.py) is left on a Chinese page;
    the English pages keep them."""
    spec = importlib.util.spec_from_file_location("zh_chrome_ext", ROOT / "_ext" / "zh_chrome.py")
    chrome = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chrome)
    zh_pages = sorted((site / "chapters" / "zh").glob("*.html"))
    assert len(zh_pages) >= 13
    for page in zh_pages:
        html = page.read_text(encoding="utf-8")
        left = [english for english, _ in chrome.CHROME if english in html]
        assert not left, f"{page.name}: {left}"
        assert "回到顶部" in html and "跳到正文" in html, page.name
    english = (site / "chapters" / "en" / "08-bert.html").read_text(encoding="utf-8")
    assert "Back to top" in english and "回到顶部" not in english


def test_notebook_downloads_save_under_names_of_their_own(site):
    """Every link to an exercise or solution notebook names the file to save (notebook_downloads):
    in each chapter the four notebooks, en and zh, exercises and solutions, get four names."""
    links = re.compile(r'<a class="[^"]*download[^"]*" download="([^"]*)" href="([^"]+\.ipynb)"')
    names = {}
    for page in (site / "chapters").glob("*/*.html"):
        for name, href in links.findall(page.read_text(encoding="utf-8")):
            assert name.endswith(".ipynb"), f"{page.name}: {href} saves as {name!r}"
            names.setdefault(name, set()).add(href.rsplit("_downloads/", 1)[-1])
    assert len(names) >= 4 * 12, sorted(names)
    assert all(len(hrefs) == 1 for hrefs in names.values()), names
    assert {"08-bert-exercises-en.ipynb", "08-bert-solutions-zh.ipynb"} <= set(names)


def test_site_leaves_out_files_no_page_loads(site):
    """_ext/site_weight.py: MathJax's unused combined bundles and the source maps are gone,
    the bundle the pages load is there, and the site stays well under its old 52 MB."""
    spec = importlib.util.spec_from_file_location(
        "site_weight_ext", ROOT / "_ext" / "site_weight.py"
    )
    weight = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(weight)
    static = site / "_static"
    assert weight.unused_files(static) == []
    loaded = set(
        re.findall(r'src="[./]*_static/(mathjax/[\w-]+\.js)', (site / "index.html").read_text())
    )
    assert loaded == {"mathjax/tex-chtml.js"} and (static / "mathjax" / "tex-chtml.js").is_file()
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    assert size < 40e6, f"{size / 1e6:.0f} MB"


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_search_snippets_quote_the_text_not_the_table_of_contents(browser, site_url, lang):
    """A result's snippet is cut from the page's text as Search.htmlToText returns it: that
    text starts with the chapter's title, not with the header's buttons (".ipynb .pdf") or the
    theme's print-only title and table of contents."""
    page, log = open_page(browser, urljoin(site_url, "search.html?q=WordPiece"))
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=BROWSER_TIMEOUT_MS)
        text = page.evaluate(
            """async (url) => Search.htmlToText(await (await fetch(url)).text())""",
            f"chapters/{lang}/08-bert.html",
        )
        title = {"en": "8 · BERT: architecture and inputs", "zh": "8 · BERT 的结构与输入"}[lang]
        text = " ".join(text.split())
        assert title in text, text[:200]
        before = text[: text.index(title)]  # at most the language switch ("中文", "English")
        assert len(before) < 12 and ".ipynb" not in before, text[:200]
        assert {"en": "Contents", "zh": "目录"}[lang] not in before
        assert_stayed_home(log, site_url)
    finally:
        page.close()


@pytest.mark.browser
def test_the_search_page_speaks_both_languages(browser, site_url):
    """One search page serves both editions: heading, result title and status in both."""
    page, log = open_page(browser, urljoin(site_url, "search.html?q=WordPiece"))
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=BROWSER_TIMEOUT_MS)
        page.wait_for_function(
            "() => /找到/.test(document.querySelector('#search-results p.search-summary')"
            "?.innerText || '')",
            timeout=BROWSER_TIMEOUT_MS,
        )
        headings = page.eval_on_selector_all("h1", "hs => hs.map(h => h.textContent.trim())")
        assert "Search · 搜索" in headings, headings
        assert "搜索结果" in page.locator("#search-results h2").first.inner_text()
        status = page.locator("#search-results p.search-summary").inner_text()
        assert re.search(r"找到的页面: \d+$", status) and "${" not in status, status
        assert_stayed_home(log, site_url)
    finally:
        page.close()


# ----------------------------------------------------------------- figures, diagrams, code width

FIGURES_JS = r"""() => [...document.querySelectorAll('article img')].map(img => {
  const style = getComputedStyle(img);
  return {src: img.getAttribute('src'), alt: img.alt, shown: img.getBoundingClientRect().width,
          natural: img.naturalWidth, attrWidth: img.getAttribute('width'),
          svg: /\.svg$/.test(img.getAttribute('src') || ''), background: style.backgroundColor,
          diagram: img.classList.contains('r2b-diagram'),
          output: !!img.closest('.cell_output')};
})"""


@pytest.mark.browser
def test_figures_are_crisp_and_readable_at_desktop_width(browser, site_url):
    """At 1280 px every notebook figure is SVG (or a 2x PNG) and is shown at >= 80 % of its own
    size, so its 12 pt text stays >= 13 px (rnn2bert.plotting: figures at most ~8.9 in wide).
    Passes once the chapters are re-executed with rnn2bert.setup()'s SVG figures."""
    problems, seen = [], 0
    for lang in LANG_TAGS:
        for stem in chapter_pairs():
            if not (ROOT / "chapters" / lang / f"{stem}.ipynb").exists():
                continue
            page, log = open_page(browser, urljoin(site_url, f"chapters/{lang}/{stem}.html"))
            try:
                page.wait_for_load_state("networkidle")
                for fig in page.evaluate(FIGURES_JS):
                    if not fig["output"]:
                        continue
                    seen += 1
                    retina = fig["attrWidth"] and fig["natural"] >= 1.9 * float(fig["attrWidth"])
                    if not (fig["svg"] or retina):
                        problems.append(f"{lang}/{stem}: {fig['src']} is a 1x PNG")
                        continue
                    own = float(fig["attrWidth"]) if fig["attrWidth"] else fig["natural"]
                    if fig["shown"] < 0.8 * own:
                        problems.append(
                            f"{lang}/{stem}: {fig['src']} shrunk to {fig['shown'] / own:.0%}"
                        )
                assert_stayed_home(log, site_url)
            finally:
                page.close()
    assert seen >= 40, f"only {seen} figures in the book?"
    assert not problems, f"{len(problems)} figures:\n" + "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_diagrams_are_on_their_pages_and_legible(browser, site_url, mode):
    """Each diagram (chapters/<lang>/diagrams/*.svg) is shown on its chapter page in both
    languages, loads, is not shrunk below 85 % at 1280 px, keeps its white panel in dark mode,
    and has an alt text. Passes once the chapter owners have inserted the diagrams."""
    from rnn2bert.diagrams import DIAGRAMS

    problems = []
    for lang in LANG_TAGS:
        shown = set()
        for stem in sorted({name[:2] for name in DIAGRAMS}):
            page_stem = next(p.stem for p in (ROOT / "chapters" / lang).glob(f"{stem}-*.ipynb"))
            page, log = open_page(
                browser, urljoin(site_url, f"chapters/{lang}/{page_stem}.html"), dark=mode == "dark"
            )
            try:
                page.wait_for_load_state("networkidle")
                for fig in page.evaluate(FIGURES_JS):
                    if not fig["diagram"]:
                        continue
                    name = re.sub(r"\d*\.svg$", "", fig["src"].rsplit("/", 1)[-1])
                    shown.add(name)
                    if not fig["natural"]:
                        problems.append(f"{lang}/{page_stem}: {fig['src']} did not load")
                    elif fig["shown"] < 0.85 * min(fig["natural"], 10_000):
                        problems.append(
                            f"{lang}/{page_stem}: {name} shrunk to "
                            f"{fig['shown'] / fig['natural']:.0%}"
                        )
                    if fig["background"] not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"):
                        problems.append(
                            f"{lang}/{page_stem}: {name} background {fig['background']}"
                        )
                    if len(fig["alt"].strip()) < 12:
                        problems.append(f"{lang}/{page_stem}: {name} alt {fig['alt']!r}")
                if mode == "dark":
                    diagram = page.locator("article img.r2b-diagram").first
                    if diagram.count():
                        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                        diagram.scroll_into_view_if_needed()
                        page.screenshot(
                            path=str(SCREENSHOTS / f"{lang}-{page_stem}-diagram-dark.png")
                        )
                assert_stayed_home(log, site_url)
            finally:
                page.close()
        missing_here = sorted(set(DIAGRAMS) - shown)
        if missing_here:
            problems.append(f"{lang}: diagrams not shown on their pages: {missing_here}")
    assert not problems, "\n".join(problems)


CODE_OVERFLOW_JS = r"""() => [...document.querySelectorAll('article pre')]
  .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
  .map(pre => (pre.closest('.cell_output') ? 'output: ' : 'code: ') +
              pre.innerText.split('\n')
                .reduce((a, b) => (b.length > a.length ? b : a), '').slice(0, 90))"""


@pytest.mark.browser
def test_code_blocks_are_wide_enough_for_80_characters(browser, site_url):
    """The site's CSS gives a code block room for an 80-character line at 1280 px (what the
    notebooks' line limit promises)."""
    page, log = open_page(browser, urljoin(site_url, f"chapters/en/{SAMPLE}.html"))
    try:
        fits = page.evaluate(r"""() => {
          const pre = document.querySelector('article .cell_input pre');
          const probe = document.createElement('span');
          probe.textContent = 'x'.repeat(80);
          pre.appendChild(document.createTextNode('\n'));
          pre.appendChild(probe);
          const style = getComputedStyle(pre);
          const room = pre.clientWidth - parseFloat(style.paddingLeft) -
            parseFloat(style.paddingRight);
          return {room, line: probe.getBoundingClientRect().width, font: style.fontSize};
        }""")
        assert fits["line"] <= fits["room"], (
            f"an 80-character line needs {fits['line']:.0f} px, the block has {fits}"
        )
        assert float(fits["font"].removesuffix("px")) >= 13, fits
        assert_stayed_home(log, site_url)
    finally:
        page.close()


@pytest.mark.browser
def test_no_code_block_scrolls_sideways_at_desktop_width(browser, site_url):
    """At 1280 px no code cell, and no printed output, in any chapter needs sideways scrolling.

    Lists the longest line of each block that scrolls."""
    problems = []
    for lang in LANG_TAGS:
        for stem in chapter_pairs():
            page, log = open_page(browser, urljoin(site_url, f"chapters/{lang}/{stem}.html"))
            try:
                page.wait_for_load_state("load")
                problems += [f"{lang}/{stem}: {line}" for line in page.evaluate(CODE_OVERFLOW_JS)]
            finally:
                page.close()
    assert not problems, f"{len(problems)} code blocks scroll sideways at 1280 px:\n" + "\n".join(
        problems[:60]
    )


UNTAGGED_CHINESE_JS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), out = [];
  while (walker.nextNode()) {
    const t = walker.currentNode, e = t.parentElement;
    const skip = "script, style, pre, code, svg, mjx-container";
    if (!/[\\u3400-\\u9fff]/.test(t.data) || e.closest(skip)) continue;
    if (!e.closest("[lang]") || e.closest("[lang]").lang !== "zh-CN") out.push(t.data.trim());
  }
  return out;
}"""


@pytest.mark.browser
@pytest.mark.parametrize(
    "path", ["index.html", "chapters/en/glossary.html", "chapters/en/02-self-attention.html"]
)
def test_chinese_in_english_chrome_carries_its_language_too(browser, site_url, path):
    """In the browser, the site title, the menu's Chinese parts and the page's own contents
    carry lang="zh-CN" as well: no Chinese text node of an English page is left untagged."""
    page, log = open_page(browser, urljoin(site_url, path))
    try:
        untagged = page.evaluate(UNTAGGED_CHINESE_JS)
        assert not untagged, f"{path}: {untagged[:8]}"
        assert page.locator('.bd-sidebar-primary p.caption[lang="zh-CN"]').count() == 2
        assert_stayed_home(log, site_url)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("lang", "stem", "here", "there"),
    [
        ("en", "08-bert", "real-attention-maps", "真实的注意力图"),
        ("zh", "05-multi-head", None, None),
    ],
    ids=["en-to-zh", "zh-to-en"],
)
def test_language_switch_keeps_the_section(browser, site, site_url, lang, stem, here, there):
    """Deep in a chapter, the switch in the sticky header lands on the same section of the
    other edition, not at its top."""
    other = next(code for code in LANG_TAGS if code != lang)
    twins = switch_twins(chapter_html(site, lang, stem))
    if here is None:  # the third section from the end (before summary, exercises, references)
        here, there = list(twins.items())[-4]
    page, log = open_page(browser, urljoin(site_url, f"chapters/{lang}/{stem}.html#{here}"))
    try:
        page.mouse.wheel(0, 200)  # a reader scrolls a little into the section
        page.wait_for_timeout(300)
        header = page.locator("a#langswitch-header")
        assert header.is_visible(), "no language switch in the sticky header"
        box = header.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 80, f"not in the header: {box}"
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url(re.compile(rf"/chapters/{other}/{stem}\.html#"))
        page.wait_for_load_state("load")
        assert unquote(urlsplit(page.url).fragment) == there, page.url
        top = page.evaluate(
            f"document.getElementById({json.dumps(there)}).getBoundingClientRect().top"
        )
        assert -5 <= top <= 200, f"the section's heading is at {top} px, not at the top"
        assert_stayed_home(log, site_url)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize(("lang", "stem"), [("zh", "08-bert"), ("en", "appendix-api")])
def test_phone_menu_opens_on_the_pages_language_and_place(browser, site_url, lang, stem):
    """On a phone the menu of a Chinese page lists the Chinese chapters first, and opens with
    the page being read in view (the English list used to come first: 18 entries to scroll)."""
    page, log = open_page(browser, urljoin(site_url, f"chapters/{lang}/{stem}.html"), width=390)
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator(".primary-toggle").first.click()
        page.wait_for_timeout(500)
        seen = page.evaluate("""() => {
          const d = document.getElementById("pst-primary-sidebar-modal");
          const links = [...d.querySelectorAll(".bd-docs-nav a")];
          const here = d.querySelector(".bd-docs-nav li.current > a").getBoundingClientRect();
          return {first: links[0].getAttribute("href"), top: here.top, bottom: here.bottom,
                  height: innerHeight, open: d.open};
        }""")
        assert seen["open"], "the menu did not open"
        first = urljoin(page.url, seen["first"])
        assert f"/chapters/{lang}/" in first, f"the menu starts with {first}"
        assert 0 <= seen["top"] and seen["bottom"] <= seen["height"], seen
        screenshot(page, f"{lang}-{stem}-phone-menu.png")
        assert_stayed_home(log, site_url)
    finally:
        page.close()


MENU_ITEM = ".CtxtMenu_MenuItem"


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANG_TAGS)
def test_mathjax_accessibility_mode_keeps_the_formulas(browser, site_url, lang):
    """Right-click a formula, Accessibility > Activate: the formulas stay and get their speech
    structure (MathJax 3.2.2 blanked them all; _assets/mathjax_a11y.js)."""
    page, log = open_page(browser, urljoin(site_url, f"chapters/{lang}/03-scaling.html"))
    try:
        wait_for_math(page)
        count = page.locator("mjx-container").count()
        formula = page.locator("mjx-container").nth(3)
        formula.scroll_into_view_if_needed()
        formula.click(button="right")
        page.locator(MENU_ITEM, has_text="Accessibility").first.hover()
        page.locator(MENU_ITEM, has_text="Activate").first.click()
        page.wait_for_function(
            "document.querySelectorAll('mjx-container [data-semantic-type]').length > 0"
        )
        page.wait_for_timeout(500)
        assert page.locator("mjx-container").count() == count, "formulas disappeared"
        assert_stayed_home(log, site_url)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("kind", EXPLORER_PAGES)
def test_explorers_on_a_phone_have_24px_targets_and_spoken_readouts(browser, site_url, kind):
    """WCAG 2.2's minimum target size (24 x 24 px) for every token and control at 390 px, and
    a readout that screen readers announce when it changes (aria-live)."""
    url = urljoin(site_url, f"chapters/zh/{EXPLORER_PAGES[kind]}.html")
    page, log = open_page(browser, url, width=390)
    try:
        explorer = page.locator(f".r2b-explorer[data-kind={kind}]")
        explorer.scroll_into_view_if_needed()
        targets = explorer.locator(".r2b-query-row, select, input").all()
        assert targets, "no controls"
        for target in targets:
            box = target.bounding_box()
            assert box["height"] >= 24 and box["width"] >= 24, f"{kind}: a {box} target"
        readout_box = explorer.locator(".r2b-readout")
        assert readout_box.get_attribute("aria-live") == "polite", kind
        if kind == "attention":
            assert explorer.locator("svg").get_attribute("role") == "group"  # not "img"
            row = explorer.locator(".r2b-query-row").nth(2)
            row.focus()
            page.keyboard.press("Enter")
            assert row.get_attribute("aria-pressed") == "true"
        assert_stayed_home(log, site_url)
    finally:
        page.close()
