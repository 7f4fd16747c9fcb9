"""cjk_linebreaks: a line break inside Chinese prose is not a space.

Markdown sources wrap long lines. Between two Latin words the break is a space, and HTML shows
it as one. Between two Chinese characters there is no space, yet Chromium and Safari still draw
one (they do not implement CSS Text 3's segment-break rule for East Asian text), so a wrapped
Chinese paragraph shows stray gaps: "被问到。 每个问题". This transform removes a line break that
sits between two CJK characters or full-width punctuation marks, in prose only (never in code,
literal text or math).
"""

from __future__ import annotations

import re

from docutils import nodes
from docutils.transforms import Transform

WIDE = "\u2018\u2019\u201c\u201d\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
BREAK = re.compile(rf"(?<=[{WIDE}])[ \t]*\n[ \t]*(?=[{WIDE}])")
KEEP = (nodes.FixedTextElement, nodes.literal, nodes.math, nodes.raw, nodes.comment)


def join_lines(text: str) -> str:
    """``"第一行。\\n第二行"`` -> ``"第一行。第二行"``; a break next to a Latin letter stays."""
    return BREAK.sub("", text)


WIDE_CHAR = re.compile(f"[{WIDE}]")


def _wide_edge(node, end: bool) -> bool:
    text = node.astext() if node is not None else ""
    return bool(text) and bool(WIDE_CHAR.fullmatch(text[-1] if end else text[0]))


class JoinChineseLines(Transform):
    """MyST turns a soft line break into its own ``Text("\\n")`` node between its neighbours;
    a break may also sit inside one Text node. Both are removed between wide characters."""

    default_priority = 500

    def apply(self) -> None:
        for node in list(self.document.findall(nodes.Text)):
            parent = node.parent
            if parent is None or isinstance(parent, KEEP) or "\n" not in node:
                continue
            text = str(node)
            # by identity: Text is a str, so list.index/remove would find the first equal "\n"
            i = next(k for k, child in enumerate(parent.children) if child is node)
            if not text.strip():  # a soft break of its own: look at the neighbours
                before = parent[i - 1] if i > 0 else None
                after = parent[i + 1] if i + 1 < len(parent) else None
                if _wide_edge(before, end=True) and _wide_edge(after, end=False):
                    parent.pop(i)
                continue
            joined = join_lines(text)
            if joined != text:
                parent[i] = nodes.Text(joined)


def setup(app):
    app.add_transform(JoinChineseLines)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
