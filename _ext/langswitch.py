"""langswitch: link every page of the book to the same page in the other language.

The book keeps its two editions in mirrored folders with the same file names::

    chapters/en/02-self-attention.ipynb   <->   chapters/zh/02-self-attention.ipynb

A document is *bilingual* when a folder segment of its path (any but the file name) is a
language code listed in ``LANGUAGES`` (``en/…``, ``chapters/zh/…``, ``a/b/en/c/…``). Its
mirror is the same path with the first such segment swapped. For every bilingual page
this extension

* puts a visible link to the mirror at the top of the article
  (``<a class="langswitch" hreflang="zh-CN" lang="zh-CN" href="…">中文</a>``);
* adds ``<link rel="alternate" hreflang="…" href="…">`` for both editions to ``<head>``;
* sets ``<html lang="…">`` to the page's language (``zh-CN`` on Chinese pages);
* gives the switch a map from this page's section ids to the mirror's (``data-twins``, the
  sections in document order), so that ``langswitch.js`` lands the reader on the section
  they were reading; the script also puts a copy of the switch in the sticky header, where
  it stays in view;
* puts the reader's own language first in the sidebar (on a phone, the menu opens on the
  Chinese table of contents on a Chinese page) and marks the other edition's entries with
  their ``lang``;

and it warns when the mirror is missing, so that ``jupyter-book build -W`` fails until
a page exists in both languages. Non-bilingual pages (the landing page) are left alone.
"""

from __future__ import annotations

import json
from html import escape

from bs4 import BeautifulSoup
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: folder name -> (BCP 47 tag for lang/hreflang, label of the link *to* that language)
LANGUAGES = {
    "en": ("en", "English"),
    "zh": ("zh-CN", "中文"),
}


def split_language(docname: str) -> tuple[str, str, str] | None:
    """Return ``(language, other_language, mirror_docname)``, or ``None`` if monolingual.

    >>> split_language("chapters/en/02-self-attention")
    ('en', 'zh', 'chapters/zh/02-self-attention')
    """
    parts = docname.split("/")
    for i, part in enumerate(parts[:-1]):  # folders only, never the file name
        if part in LANGUAGES:
            other = next(code for code in LANGUAGES if code != part)
            return part, other, "/".join(parts[:i] + [other] + parts[i + 1 :])
    return None


def check_mirrors(app: Sphinx, env: BuildEnvironment) -> None:
    """Warn for every bilingual document whose mirror is not part of the build."""
    for docname in sorted(env.found_docs):
        pair = split_language(docname)
        if pair and pair[2] not in env.found_docs:
            logger.warning(
                "langswitch: %r has no counterpart %r (every page must exist in both "
                "languages, and both must be in _toc.yml)",
                docname,
                pair[2],
                location=docname,
                type="langswitch",
                subtype="missing",
            )


def add_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Set the page language, add the alternate links and the visible switch."""
    pair = split_language(pagename)
    if doctree is None or pair is None or pair[2] not in app.env.found_docs:
        return
    lang, other, mirror = pair
    tag = LANGUAGES[lang][0]
    other_tag, other_label = LANGUAGES[other]
    here = app.builder.get_target_uri(pagename).rsplit("/", 1)[-1]
    there = escape(app.builder.get_relative_uri(pagename, mirror))

    # the templates write <html lang="{{ language }}">
    context["language"] = tag
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{tag}" href="{escape(here)}" />'
        f'\n<link rel="alternate" hreflang="{other_tag}" href="{there}" />'
    )
    twins = escape(json.dumps(section_twins(app, pagename, mirror), ensure_ascii=False))
    # before the article's first heading; in the body, so it is visible at every width
    switch = (
        f'<nav class="langswitch-bar" aria-label="Language · 语言">'
        f'<a class="langswitch" id="langswitch" href="{there}" hreflang="{other_tag}" '
        f'lang="{other_tag}" rel="alternate" data-twins="{twins}">{other_label}</a></nav>\n'
    )
    context["body"] = switch + context.get("body", "")


def section_ids(doctree: nodes.document) -> list[str]:
    return [section["ids"][0] for section in doctree.findall(nodes.section) if section["ids"]]


def note_sections(app: Sphinx, doctree: nodes.document) -> None:
    """Remember each page's section ids while it is read (after anchors.py renamed them), so
    that writing a page does not unpickle its mirror's doctree."""
    if not hasattr(app.env, "langswitch_sections"):
        app.env.langswitch_sections = {}
    app.env.langswitch_sections[app.env.docname] = section_ids(doctree)


def forget_sections(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "langswitch_sections", {}).pop(docname, None)


def merge_sections(app: Sphinx, env: BuildEnvironment, docnames, other: BuildEnvironment) -> None:
    """Parallel reads: each worker's pages into the main environment."""
    if not hasattr(env, "langswitch_sections"):
        env.langswitch_sections = {}
    for docname in docnames:
        env.langswitch_sections[docname] = other.langswitch_sections[docname]


def section_twins(app: Sphinx, pagename: str, mirror: str) -> dict[str, str]:
    """This page's section ids -> the mirror's, paired in document order.

    The two editions have the same sections in the same order (tests/test_parity.py); if
    a page and its mirror ever differ in their number of sections, nothing is paired and
    the switch lands at the top of the page, as a plain link does.
    """
    sections = getattr(app.env, "langswitch_sections", {})
    here, there = sections.get(pagename, []), sections.get(mirror, [])
    return dict(zip(here, there, strict=True)) if len(here) == len(there) else {}


def own_language_first(html, lang: str):
    """The sidebar's parts of the page's language first; the other edition's marked with lang.

    A part is a caption (``<p class="caption">``) and the list after it; a part belongs to
    an edition when its links lead into that edition's folder.
    """
    soup = html if isinstance(html, BeautifulSoup) else BeautifulSoup(html, "html.parser")
    nav = soup.find(class_="bd-toc-item") or soup
    captions = nav.find_all("p", class_="caption", recursive=False)
    parts = [(c, c.find_next_sibling("ul")) for c in captions]
    if not parts or any(ul is None for _, ul in parts):
        return html

    def edition(ul) -> str | None:
        hrefs = [a.get("href", "") for a in ul.find_all("a")]
        for code in LANGUAGES:
            if hrefs and all(page_language(_path(h, lang)) == code for h in hrefs):
                return code
        return None

    mine = [p for p in parts if edition(p[1]) == lang]
    others = [p for p in parts if edition(p[1]) != lang]
    for caption, ul in others:
        code = edition(ul)
        if code:
            for element in (caption, ul):
                element["lang"] = LANGUAGES[code][0]
    for caption, ul in mine + others:  # re-append in the new order
        nav.append(caption.extract())
        nav.append(ul.extract())
    return soup if isinstance(html, BeautifulSoup) else str(soup)


def _path(href: str, lang: str) -> str:
    """A sidebar link as a docname-like path, seen from a page of edition ``lang``.

    Links are relative to the page (``../en/01-rnn-limits.html``, ``02-self-attention.html``):
    one without a folder stays in the page's own edition.
    """
    href = href.split("#")[0]
    parts = [p for p in href.split("/") if p not in ("", ".", "..")]
    return "/".join(parts) if len(parts) > 1 else f"{lang}/{href}"


def sidebar_in_reading_order(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree
) -> None:
    """Wrap the theme's sidebar builder so that it returns own_language_first's order."""
    lang = page_language(pagename) or next(iter(LANGUAGES))  # the landing page: English
    build = context.get("generate_toctree_html")
    if build is None:
        return

    def build_in_order(kind: str, *args, **kwargs):
        html = build(kind, *args, **kwargs)
        return own_language_first(html, lang) if kind == "sidebar" and html else html

    context["generate_toctree_html"] = build_in_order


def page_language(docname: str | None) -> str | None:
    pair = split_language(docname) if docname else None
    return pair[0] if pair else None


def keep_neighbours_in_language(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree
) -> None:
    """Drop the "previous"/"next" links that would cross from one edition into the other.

    In the table of contents the Chinese part follows the English one, so the last English
    page's "next" would lead to the first Chinese page. A reader stays in their language.
    """
    lang = page_language(pagename)
    if lang is None:
        return
    relations = app.env.collect_relations().get(pagename, [None, None, None])
    for key, neighbour in (("prev", relations[1]), ("next", relations[2])):
        other = page_language(neighbour)
        if context.get(key) and other is not None and other != lang:
            context[key] = None


def setup(app: Sphinx) -> dict:
    app.connect("env-check-consistency", check_mirrors)
    app.connect("doctree-read", note_sections, priority=600)  # after anchors.py (400)
    app.connect("env-purge-doc", forget_sections)
    app.connect("env-merge-info", merge_sections)
    app.connect("html-page-context", add_links)
    app.connect("html-page-context", keep_neighbours_in_language)
    # after the theme has put its sidebar builder into the context (priority 500)
    app.connect("html-page-context", sidebar_in_reading_order, priority=900)
    app.add_js_file("langswitch.js", defer="defer")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
