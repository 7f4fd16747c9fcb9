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

and it warns when the mirror is missing, so that ``jupyter-book build -W`` fails until
a page exists in both languages. Non-bilingual pages (the landing page) are left alone.
"""

from __future__ import annotations

from html import escape

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
    # before the article's first heading; in the body, so it is visible at every width
    switch = (
        f'<nav class="langswitch-bar" aria-label="Language · 语言">'
        f'<a class="langswitch" id="langswitch" href="{there}" hreflang="{other_tag}" '
        f'lang="{other_tag}" rel="alternate">{other_label}</a></nav>\n'
    )
    context["body"] = switch + context.get("body", "")


def page_language(docname: str | None) -> str | None:
    pair = split_language(docname) if docname else None
    return pair[0] if pair else None


def keep_neighbours_in_language(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
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
    app.connect("html-page-context", add_links)
    app.connect("html-page-context", keep_neighbours_in_language)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
