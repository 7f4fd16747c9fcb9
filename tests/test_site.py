"""The website: builds with zero warnings, loads nothing from outside, links every page to
its other-language twin, finds English and Chinese words, renders math in a real browser.

Fixtures (tests/conftest.py): `site` builds once per session, `site_url` serves it on
127.0.0.1, `browser` is headless Chromium. Every test here needs the build, so the whole
file runs on one pytest-xdist worker (`--dist loadfile`, or `loadgroup` via the mark).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("site")

LANG_TAGS = {"en": "en", "zh": "zh-CN"}  # folder -> <html lang>, hreflang
SAMPLE = "02-self-attention"  # a chapter with inline and display math, in both languages
NOT_THE_BOOK = {"exercises", "solutions", "src", "tests", "bench", "teaching", "tools", ".venv",
                "README.html", "CONTRIBUTING.html"}
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host
CSS_EXTERNAL = re.compile(
    r"""url\(\s*['"]?\s*(?:https?:)?//|@import\s+(?:url\()?\s*['"]?\s*(?:https?:)?//""", re.I
)
# Inline scripts may name XML namespaces (createElementNS); those are not requests.
SCRIPT_URL = re.compile(r"(?:https?:)?//(?!www\.w3\.org/)[a-z0-9.-]+\.[a-z]{2,}", re.I)


# --------------------------------------------------------------------------- helpers


def chapter_pairs() -> list[str]:
    """Chapter file stems, checked to exist in both languages (same names en/ and zh/)."""
    names = {
        lang: {p.stem for p in (ROOT / "chapters" / lang).glob("*") if p.suffix in {".ipynb", ".md"}}
        for lang in LANG_TAGS
    }
    assert names["en"] == names["zh"], f"chapters differ between languages: {names}"
    assert names["en"], "no chapters found"
    return sorted(names["en"])


class Page(HTMLParser):
    """The bits of a built HTML page the tests look at."""

    RESOURCE_ATTRS = {
        "script": ["src"], "img": ["src", "srcset"], "iframe": ["src"], "frame": ["src"],
        "source": ["src", "srcset"], "video": ["src", "poster"], "audio": ["src"],
        "track": ["src"], "embed": ["src"], "object": ["data"], "input": ["src"],
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
        if tag == "style" or (tag == "script" and "src" not in a
                              and a.get("type", "text/javascript") in {"text/javascript", "module"}):
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
    return sorted(p for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_"))


def chapter_html(site: Path, lang: str, stem: str) -> Path:
    return site / "chapters" / lang / f"{stem}.html"


def search_index(site: Path) -> dict:
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


# --------------------------------------------------------------------------- static checks


def test_every_chapter_is_built_in_both_languages(site):
    for stem in chapter_pairs():
        for lang in LANG_TAGS:
            assert chapter_html(site, lang, stem).is_file(), f"{lang}/{stem} is not in the site (_toc.yml?)"


def test_only_the_book_is_built(site):
    built = {p.relative_to(site).parts[0] for p in html_pages(site)}
    assert not built & NOT_THE_BOOK, f"not part of the website: {built & NOT_THE_BOOK}"


def external_loads(path: Path) -> list[str]:
    """Everything in a built page that would make the browser fetch from another host."""
    page = Page(path)
    return (
        [f"<{tag}> {url}" for tag, url in page.resources if EXTERNAL.match(url)]
        + [f"inline CSS loads {m.group(0)}" for css in page.inline_css for m in CSS_EXTERNAL.finditer(css)]
        + [f"inline script names {m.group(0)}" for js in page.inline_js for m in SCRIPT_URL.finditer(js)]
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
    problems = [f"{p.relative_to(site)}: {problem}" for p in html_pages(site) for problem in external_loads(p)]
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


def test_landing_page_offers_both_languages(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    for lang, label in [("en", "English →"), ("zh", "中文 →")]:
        m = re.search(rf'<a [^>]*href="(chapters/{lang}/[^"#]+\.html)"[^>]*>(?:<[^>]+>)*{label}', html)
        assert m, f"landing page has no {label!r} link into chapters/{lang}/"
        assert (site / m.group(1)).is_file()


# 自注意力 is a word only thanks to the jieba dictionary _ext/jieba_terms.txt (_config.yml).
@pytest.mark.parametrize(("word", "lang"), [("softmax", "en"), ("注意力", "zh"), ("自注意力", "zh")],
                         ids=["en-softmax", "zh-zhuyili", "zh-zizhuyili"])
def test_search_finds_english_and_chinese_words(site, word, lang):
    index = search_index(site)
    docs = set()
    for field in ("terms", "titleterms"):
        hits = index[field].get(word, [])
        docs |= set(hits if isinstance(hits, list) else [hits])
    names = {index["docnames"][i] for i in docs}
    assert f"chapters/{lang}/{SAMPLE}" in names, f"{word!r} not indexed for chapters/{lang}/{SAMPLE}: {names}"


# --------------------------------------------------------------------------- in a browser

VISIBLE_TEX = re.compile(r"\$[^$\n]+\$|\\\(|\\\)|\\\[|\\\]|\\(?:mathrm|frac|sum|top|alpha)\b")
PROSE_TEXT_JS = """() => {
  const article = document.querySelector('article') || document.body;
  const copy = article.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .cell_input, .cell_output')
      .forEach(e => e.remove());
  return copy.innerText;
}"""


def open_page(browser, url: str, width: int = 1280):
    """A fresh page that records requests, failed loads and console errors."""
    page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
    log = {"requests": [], "errors": []}
    page.on("request", lambda r: log["requests"].append(r.url))
    # ERR_ABORTED: a load cut short because we navigated on; a missing file is a 404 instead
    page.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "")
            and log["errors"].append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and log["errors"].append(f"HTTP {r.status}: {r.url}"))
    page.on("console", lambda m: m.type == "error" and log["errors"].append(f"console: {m.text}"))
    page.on("pageerror", lambda e: log["errors"].append(f"pageerror: {e}"))
    page.goto(url, wait_until="load")
    return page, log


def wait_for_math(page):
    page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
    page.evaluate("() => window.MathJax.startup.promise")


def assert_stayed_home(log, base: str):
    outside = [u for u in log["requests"] if not (u.startswith(base) or u.startswith(("data:", "blob:", "about:")))]
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

        switch = page.locator("a.langswitch")
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
        box = page.locator("a.langswitch").bounding_box()
        assert page.locator("a.langswitch").is_visible() and box
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        assert box["y"] + box["height"] <= 900, f"switch below the first screen: {box}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "page scrolls sideways"
        screenshot(page, f"{lang}-{stem}-390px.png")
        assert_stayed_home(log, site_url)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize(("query", "lang"), [("softmax", "en"), ("自注意力", "zh")], ids=["en", "zh"])
def test_search_page_finds_the_chapter(browser, site_url, query, lang):
    page, log = open_page(browser, urljoin(site_url, f"search.html?q={query}"))
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=20_000)
        hits = page.eval_on_selector_all("#search-results ul.search li > a", "as => as.map(a => a.href)")
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
            assert page.evaluate("document.documentElement.scrollWidth") <= width, "page scrolls sideways"
            screenshot(page, f"index-{width}px.png")
            page.get_by_role("link", name="中文 →").click()
            page.wait_for_url(re.compile(r"/chapters/zh/"))
            assert_stayed_home(log, site_url)
        finally:
            page.close()


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANG_TAGS)
def test_every_chapter_page_in_browser(browser, site_url, lang):
    """Every chapter: no console error, nothing from outside, right language, no sideways scroll on a phone."""
    problems = []
    for stem in chapter_pairs():
        page, log = open_page(browser, urljoin(site_url, f"chapters/{lang}/{stem}.html"), width=390)
        try:
            page.wait_for_load_state("networkidle")
            if page.evaluate("document.documentElement.lang") != LANG_TAGS[lang]:
                problems.append(f"{stem}: wrong lang")
            overflow = page.evaluate("""() => [...document.querySelectorAll('article *')]
                .filter(e => !e.closest('pre, .highlight, .cell_output, .output, table, mjx-container'))
                .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
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
