"""anchors: section ids a reader can read, in any script.

Docutils makes a section's id from its title with ASCII letters only, so a Chinese title
gives ``#id5`` and ``8.3 WordPiece：贪心最长匹配优先`` gives ``#wordpiece``: links that say
nothing and change when a section is added above. On the pages of a Chinese edition (a
folder ``zh`` in the path), and on any page where docutils fell back to ``idN``, this
extension puts a slug of the whole title first:

    8.3 WordPiece：贪心最长匹配优先   ->  #wordpiece-贪心最长匹配优先

The old id stays as a second anchor, so an old link still lands. It runs on
``doctree-read`` before the table-of-contents collector, so the page's contents, the
sidebar and the language switch all use the new id.
"""

from __future__ import annotations

import re
import unicodedata

from docutils import nodes
from sphinx.application import Sphinx

_NUMBER = re.compile(r"^\s*\d+(\.\d+)*\s*[·.]?\s*")  # "8.3 ", "8 · ": the heading's number
_FALLBACK = re.compile(r"^id\d+$")


def slug(title: str) -> str:
    """Lower-case words of any script, joined by hyphens, without the section number.

    >>> slug("8.3 WordPiece：贪心最长匹配优先")
    'wordpiece-贪心最长匹配优先'
    >>> slug("小结")
    '小结'
    """
    text = unicodedata.normalize("NFKC", _NUMBER.sub("", title)).lower()
    words = re.findall(r"[^\W_]+", text)  # letters and digits of every script
    return "-".join(words)


def _is_chinese_doc(docname: str) -> bool:
    return "zh" in docname.split("/")[:-1]


def readable_ids(app: Sphinx, doctree: nodes.document) -> None:
    chinese = _is_chinese_doc(app.env.docname)
    for section in doctree.findall(nodes.section):
        ids = section["ids"]
        if not (chinese or (ids and _FALLBACK.match(ids[0]))):
            continue
        new = slug(section[0].astext()) if section.children else ""
        if not new or new in ids:
            continue
        unique, n = new, 2
        while unique in doctree.ids:
            unique, n = f"{new}-{n}", n + 1
        ids.insert(0, unique)
        doctree.ids[unique] = section


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", readable_ids, priority=400)  # before the toc collector (500)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
