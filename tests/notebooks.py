"""Helpers shared by the notebook tests: where the notebooks are, and how to read them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("chapters", "solutions", "exercises")
LANGS = ("en", "zh")
CJK = re.compile(r"[\u3400-\u9fff]")


def notebooks(kind: str, lang: str) -> list[Path]:
    return sorted((ROOT / kind / lang).glob("*.ipynb"))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def pairs() -> list[tuple[Path, Path]]:
    """(en, zh) notebook pairs of every kind, matched by file name."""
    return [(en, ROOT / kind / "zh" / en.name) for kind in KINDS for en in notebooks(kind, "en")]


def text_outputs(cell) -> list[str]:
    """The text a code cell printed or displayed (images left out)."""
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream" and out and out[-1].startswith(f"{o.name}:"):
            out[-1] += o.text  # one print may arrive in several chunks
        elif o.output_type == "stream":
            out.append(f"{o.name}:{o.text}")
        elif o.output_type == "error":
            out.append(f"error:{o.ename}:{o.evalue}")
        else:
            data = o.get("data", {})
            for mime in sorted(data):
                if mime.startswith("text/") or mime == "application/json":
                    out.append(f"{mime}:{data[mime]}")
    return out


# what `prose(..., code=CODE)` leaves where code, math or a URL was
CODE = "\ufffc"


def prose(markdown: str, tables: bool = False, code: str = " ") -> str:
    """Markdown without code, math, link targets and HTML comments, and without tables unless
    `tables` (bilingual term tables are data, not prose): the sentences a reader reads. Code,
    math and URLs become `code` (CODE keeps their place, for the spacing rules)."""
    text = re.sub(r"<!--.*?-->", " ", markdown, flags=re.S)
    if not tables:
        text = re.sub(r"^\|.*\|\s*$", " ", text, flags=re.M)
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", code, text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", code, text)
    text = re.sub(r"`[^`\n]+`", code, text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"https?://[^\s)）]+", code, text)
    return text


# The house typography of Chinese text (DESIGN.md, "Bilingual rules"; GB/T 15834 and d2l-zh):
# full-width punctuation, a space between hanzi and Latin letters or digits, full-width （）
# wherever a parenthesis touches or encloses Chinese, “” (never ASCII ") in Chinese lines, and no
# space outside （）“” next to hanzi or code. Half-width () stay in code, math, link targets and
# purely Latin text (an English reference entry, f(x)).
HANZI = "\u3400-\u9fff"
FULL_WIDTH = "，。、：；！？“”‘’（）《》"
TYPOGRAPHY = (
    ("half-width punctuation", re.compile(rf"[{HANZI}][,;:!?\"]|[,;:!?\"][{HANZI}]")),
    ("no space", re.compile(rf"[{HANZI}][A-Za-z0-9]|[A-Za-z0-9][{HANZI}]")),
    (
        "half-width parenthesis in Chinese",
        re.compile(
            rf"[{HANZI}{FULL_WIDTH}][ *]*\(|\)[ *]*[{HANZI}{FULL_WIDTH}]"
            rf"|\([^()\n]*[{HANZI}][^()\n]*\)"
        ),
    ),
    ("ASCII double quote in Chinese", re.compile(rf'^(?=[^\n]*[{HANZI}])[^\n"]*"', re.M)),
    (
        "space outside （） or “”",
        re.compile(rf"[{HANZI}{CODE}][ \t]+[（“]|[）”][ \t]+[{HANZI}{CODE}]"),
    ),
)


CHINESE = re.compile(rf"[{HANZI}{FULL_WIDTH}]")
APPLIED = re.compile(r"[A-Za-z0-9_)\]ᵀᴸ'’′²³¹⁻]")  # f(x), softmax(QKᵀ), W[i](…)
OPERATOR = re.compile(r"[=*/+^<>√·−×]")


def half_width_pairs(text: str) -> list[tuple[int, int]]:
    """(index of "(", index of its ")") for every matched pair of half-width parentheses."""
    stack, pairs = [], []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            pairs.append((stack.pop(), i))
    return sorted(pairs)


def is_notation(text: str, a: int, b: int) -> bool:
    """In plain text (a check message has no `code` markup): is the pair text[a..b] math or code,
    which keeps half-width () — a call f(x), a tuple (B, L, d), an expression (d_k ** 1) / 2 —
    rather than a parenthetical remark, which takes （） in Chinese?"""
    inside = text[a + 1 : b]
    if CHINESE.search(inside):
        return False
    before = text[a - 1] if a else ""
    after = text[b + 1] if b + 1 < len(text) else ""
    if APPLIED.match(before) or "," in inside:
        return True
    # an expression, unless it sits between Chinese like a remark: 维度上（dim=-1）归一化
    return bool(OPERATOR.search(inside)) and not (CHINESE.match(before) and CHINESE.match(after))


def typography_problems(text: str, plain: bool = False) -> list[str]:
    """Where `text` (Chinese prose, code already replaced by CODE) breaks the house typography.
    `plain`: text without Markdown, where math and code are not marked (a check message): the
    half-width pairs that `is_notation` are left alone."""
    if plain:
        for a, b in half_width_pairs(text):
            if is_notation(text, a, b):
                text = text[:a] + CODE + text[a + 1 : b] + CODE + text[b + 1 :]
    return [
        f"{what}: …{text[max(0, m.start() - 8) : m.end() + 8]!r}…".replace(CODE, "`…`")
        for what, pattern in TYPOGRAPHY
        for m in pattern.finditer(text)
    ]
