"""zh_chrome: the theme's own words on the Chinese pages, in Chinese.

Sphinx builds a site in one language (``language: en``), so the theme writes its interface in
English on every page: "Skip to main content", "Back to top", the colour-mode switch, the
download and full-screen buttons, the sidebar toggles, the "Contents" of the page's sidebar and
of print, "previous"/"next" under the page footer. A reader of ``chapters/zh/`` should not meet
them. The pages' text is Chinese already; after the build this extension replaces these fixed
strings of the theme's templates in every HTML file under ``chapters/zh/``. It replaces whole
attributes and elements, never a word inside the book's own text; a test checks that none of the
English strings is left on a Chinese page (``tests/test_site.py``). The search page, one for
both editions, gets a heading in both languages (its messages: ``_assets/search_scorer.js``).
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

#: (what the theme writes, what a Chinese page shows)
CHROME = (
    ('<a href="#main-content">Skip to main content</a>', '<a href="#main-content">跳到正文</a>'),
    ("</i>Back to top</button>", "</i>回到顶部</button>"),
    ('aria-label="Color mode"', 'aria-label="颜色模式"'),
    ('data-bs-title="Color mode"', 'data-bs-title="颜色模式"'),
    ('title="Light"', 'title="浅色"'),
    ('title="Dark"', 'title="深色"'),
    ('title="System Settings"', 'title="跟随系统"'),
    ('aria-label="Download this page"', 'aria-label="下载本页"'),
    ('title="Print to PDF"', 'title="打印为 PDF"'),
    ('title="Fullscreen mode"', 'title="全屏阅读"'),
    ('title="Toggle primary sidebar"', 'title="显示或隐藏全书目录"'),
    ('title="Toggle secondary sidebar"', 'title="显示或隐藏本页目录"'),
    ("<h2> Contents </h2>", "<h2> 目录 </h2>"),
    ('<i class="fa-solid fa-list"></i> Contents', '<i class="fa-solid fa-list"></i> 本页目录'),
    ('title="Link to this heading"', 'title="本节链接"'),
    ('title="Search" aria-label="Search"', 'title="搜索" aria-label="搜索"'),
    (
        '<span class="search-button__default-text">Search</span>',
        '<span class="search-button__default-text">搜索</span>',
    ),
    ('title="previous page"', 'title="上一页"'),
    ('title="next page"', 'title="下一页"'),
    ('<p class="prev-next-subtitle">previous</p>', '<p class="prev-next-subtitle">上一页</p>'),
    ('<p class="prev-next-subtitle">next</p>', '<p class="prev-next-subtitle">下一页</p>'),
)


def in_chinese(html: str) -> str:
    """``html`` with the theme's English interface strings (``CHROME``) in Chinese."""
    for english, chinese in CHROME:
        html = html.replace(english, chinese)
    return html


#: the search page serves both editions: its heading in both languages
SEARCH_PAGE = (("<h1>Search</h1>", "<h1>Search · 搜索</h1>"),)


def translate_chrome(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    search = Path(app.outdir, "search.html")
    if search.is_file():
        text = search.read_text(encoding="utf-8")
        for english, both in SEARCH_PAGE:
            text = text.replace(english, both)
        search.write_text(text, encoding="utf-8")
    for page in sorted(Path(app.outdir, "chapters", "zh").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        translated = in_chinese(text)
        if translated != text:
            page.write_text(translated, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", translate_chrome)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
