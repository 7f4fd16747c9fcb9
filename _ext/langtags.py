"""langtags: Chinese text on a page that is not Chinese carries ``lang="zh-CN"``.

An English page quotes Chinese: the glossary's terms, the landing page's title, the
preface's table of terms. Without a language tag a screen reader reads it with the English
voice, and a browser may draw it with Japanese glyph forms. This extension wraps every run
of Chinese characters in the prose of such a page in ``<span lang="zh-CN">`` (docutils
writes the ``language-zh-CN`` class of an inline node as that attribute). Code and math are
left alone: a code block is one ``<pre>``, and its Chinese is drawn with a Simplified
Chinese face by ``langswitch.css``. The theme's chrome (the site title, the page's table of
contents) is not in the doctree: ``_assets/langtags.js`` tags it in the browser.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.application import Sphinx

#: Han, CJK punctuation and full-width forms; a run may hold spaces between such characters
CHINESE = re.compile(
    r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
    r"(?:[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\s·]*"
    r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef])?"
)
TAG = "language-zh-CN"  # -> lang="zh-CN"
_SKIP = (
    nodes.literal_block,
    nodes.literal,
    nodes.raw,
    nodes.math,
    nodes.math_block,
    nodes.comment,
    nodes.substitution_definition,
    nodes.image,
)


def _inside(node: nodes.Node, kinds: tuple) -> bool:
    while node is not None:
        if isinstance(node, kinds) or TAG in getattr(node, "get", lambda *_: [])("classes", []):
            return True
        node = node.parent
    return False


def tag_text(text: nodes.Text) -> None:
    """Split one text node into text and ``inline(lang=zh-CN)`` nodes around Chinese runs."""
    source = str(text)
    pieces, at = [], 0
    for match in CHINESE.finditer(source):
        if match.start() > at:
            pieces.append(nodes.Text(source[at : match.start()]))
        pieces.append(nodes.inline(match.group(), match.group(), classes=[TAG]))
        at = match.end()
    if not pieces:
        return
    if at < len(source):
        pieces.append(nodes.Text(source[at:]))
    text.parent.replace(text, pieces)


def tag_chinese(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if "zh" in docname.split("/")[:-1]:
        return  # the page itself is Chinese: <html lang="zh-CN">
    for text in list(doctree.findall(nodes.Text)):
        if CHINESE.search(str(text)) and not _inside(text.parent, _SKIP):
            tag_text(text)


def setup(app: Sphinx) -> dict:
    app.connect("doctree-resolved", tag_chinese)
    app.add_js_file("langtags.js", defer="defer")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
