"""The site's own Sphinx extensions (_ext/), as functions: no build needed.

tests/test_site.py checks what they produce in the built site and in Chromium.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from docutils import nodes

ROOT = Path(__file__).resolve().parents[1]


def extension(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_ext", ROOT / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


anchors, langswitch, langtags = (extension(n) for n in ("anchors", "langswitch", "langtags"))


def test_anchor_slugs_keep_every_script_and_drop_the_section_number():
    assert anchors.slug("8.3 WordPiece：贪心最长匹配优先") == "wordpiece-贪心最长匹配优先"
    assert anchors.slug("8.6 真实的注意力图") == "真实的注意力图"
    assert anchors.slug("9 · BERT 预训练") == "bert-预训练"
    assert anchors.slug("Summary") == "summary"
    assert anchors.slug("2.1 Self-attention, step by step") == "self-attention-step-by-step"


SIDEBAR_ZH = """
<p class="caption"><span class="caption-text">English</span></p>
<ul><li><a href="../en/00-preface.html">0</a></li><li><a href="../en/01-rnn.html">1</a></li></ul>
<p class="caption"><span class="caption-text">中文</span></p>
<ul><li class="current"><a href="#">0</a></li><li><a href="01-rnn.html">1</a></li></ul>
"""
# the same menu on an English page: links are relative to the page
SIDEBAR_EN = """
<p class="caption"><span class="caption-text">English</span></p>
<ul><li class="current"><a href="#">0</a></li><li><a href="01-rnn.html">1</a></li></ul>
<p class="caption"><span class="caption-text">中文</span></p>
<ul><li><a href="../zh/00-preface.html">0</a></li><li><a href="../zh/01-rnn.html">1</a></li></ul>
"""


def test_the_sidebar_puts_the_pages_edition_first_and_tags_the_other():
    zh = langswitch.own_language_first(SIDEBAR_ZH, "zh")
    assert zh.index("中文") < zh.index("English")
    assert zh.count('lang="en"') == 2 and 'lang="zh-CN"' not in zh  # caption and list
    en = langswitch.own_language_first(SIDEBAR_EN, "en")
    assert en.index("English") < en.index("中文")
    assert en.count('lang="zh-CN"') == 2 and 'lang="en"' not in en


def test_chinese_runs_in_english_text_become_tagged_spans():
    paragraph = nodes.paragraph("", "")
    paragraph += nodes.Text("self-attention · 自注意力 and 多头 注意力, end")
    langtags.tag_text(paragraph[0])
    tagged = [n for n in paragraph.children if isinstance(n, nodes.inline)]
    assert [n.astext() for n in tagged] == ["自注意力", "多头 注意力"]
    assert all(n["classes"] == ["language-zh-CN"] for n in tagged)
    assert paragraph.astext() == "self-attention · 自注意力 and 多头 注意力, end"  # nothing lost


def test_the_chinese_search_indexer_splits_and_stems_as_sphinxs():
    """search_zh keeps Sphinx's words and stems, with a set where Sphinx scans a list."""
    from sphinx.search.zh import SearchChinese

    fast = extension("search_zh").FastSearchChinese({})
    slow = SearchChinese({})
    text = "自注意力 self-attention 的 BERT 预训练 uses masking, GPU and lots of tokens"
    assert fast.split(text) == slow.split(text)
    assert isinstance(fast.latin_terms, set) and "GPU" in fast.latin_terms
    for word in fast.split(text):
        assert fast.stem(word) == slow.stem(word), word


def test_zh_chrome_replaces_whole_theme_strings_only():
    """zh_chrome turns the theme's attributes and elements into Chinese, and leaves the
    same words alone where the book itself writes them (code, prose)."""
    chrome = extension("zh_chrome")
    page = (
        '<a href="#main-content">Skip to main content</a>'
        '<button title="Search" aria-label="Search"></button>'
        '<p class="prev-next-subtitle">next</p>'
        '<span class="nb">next</span> Back to top of the stack'
    )
    assert chrome.in_chinese(page) == (
        '<a href="#main-content">跳到正文</a>'
        '<button title="搜索" aria-label="搜索"></button>'
        '<p class="prev-next-subtitle">下一页</p>'
        '<span class="nb">next</span> Back to top of the stack'
    )


def test_notebook_downloads_get_names_of_their_own():
    """A chapter's four notebooks share a file name; each download link asks for its own."""
    downloads = extension("notebook_downloads")
    assert downloads.saved_name("exercises/zh/08-bert") == "08-bert-exercises-zh.ipynb"
    assert downloads.saved_name("../../solutions/en/02-self-attention") == (
        "02-self-attention-solutions-en.ipynb"
    )
    link = (
        '<a class="download nb-save-as-08-bert-solutions-zh.ipynb reference internal" '
        'download="" href="../../_downloads/6a0b/08-bert.ipynb">'
    )
    named = downloads.NAMED.sub(lambda m: f'{m.group(1)} download="{m.group(2)}"', link)
    assert (
        'download="08-bert-solutions-zh.ipynb" href="../../_downloads/6a0b/08-bert.ipynb"' in named
    )
