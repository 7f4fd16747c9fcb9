"""Bilingual parity: the English and Chinese editions hold the same notebooks, cell for cell.

Code cells and their text outputs must be identical (so the nbval run of one language vouches
for the other); the prose is written natively in each language, and the Chinese follows the
house typography (DESIGN.md): full-width punctuation, a space between Chinese and Latin/digits.
"""

import re

import pytest

from notebooks import CJK, KINDS, LANGS, ROOT, notebooks, pairs, prose, read, text_outputs


@pytest.mark.parametrize("kind", KINDS)
def test_same_file_names(kind):
    en, zh = ({p.name for p in notebooks(kind, lang)} for lang in LANGS)
    assert en == zh, f"{kind}: only in en {sorted(en - zh)}, only in zh {sorted(zh - en)}"


def test_there_is_something_to_compare():
    assert pairs(), "no notebooks found"


@pytest.mark.parametrize("en,zh", pairs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_same_cells_code_and_outputs(en, zh):
    a, b = read(en), read(zh)
    assert [c.cell_type for c in a.cells] == [c.cell_type for c in b.cells], (
        "cell structure differs"
    )
    for i, (ca, cb) in enumerate(zip(a.cells, b.cells, strict=True)):
        if ca.cell_type != "code":
            continue
        assert ca.source == cb.source, f"code cell {i} differs between en and zh"
        assert ca.metadata.get("tags", []) == cb.metadata.get("tags", []), f"cell {i}: tags differ"
        if "nbval-ignore-output" not in ca.metadata.get("tags", []):
            assert text_outputs(ca) == text_outputs(cb), f"code cell {i}: text outputs differ"
        n_img = [
            sum(bool({"image/png", "image/svg+xml"} & set(o.get("data", {}))) for o in c.outputs)
            for c in (ca, cb)
        ]
        assert n_img[0] == n_img[1], f"code cell {i}: number of figures differs"


def _markdown(path):
    return [
        (i, prose(c.source)) for i, c in enumerate(read(path).cells) if c.cell_type == "markdown"
    ]


@pytest.mark.parametrize("en,zh", pairs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_chinese_prose_is_chinese_and_english_is_not(en, zh):
    for i, text in _markdown(zh):
        letters = re.findall(r"[A-Za-z]", text)
        hanzi = CJK.findall(text)
        if len(letters) + len(hanzi) >= 20:
            assert len(hanzi) >= 0.5 * len(letters), (
                f"zh markdown cell {i} reads as English: {text[:80]!r}"
            )
    for i, text in _markdown(en):
        # a link labelled 中文版 or a quoted Chinese example (十, 一百一十) is fine;
        # Chinese sentences are not
        letters, hanzi = re.findall(r"[A-Za-z]", text), CJK.findall(text)
        assert len(hanzi) <= 8 + 0.1 * len(letters), (
            f"en markdown cell {i} reads as Chinese: {text[:80]!r}"
        )


# DESIGN.md: full-width punctuation in Chinese text, a space between Chinese and Latin or digits.
HALF_WIDTH_AFTER_HANZI = re.compile(r'[\u4e00-\u9fff][,;:!?"]|[,;:!?"][\u4e00-\u9fff]')
NO_SPACE = re.compile(r"[\u4e00-\u9fff][A-Za-z0-9]|[A-Za-z0-9][\u4e00-\u9fff]")


@pytest.mark.parametrize(
    "path", [p for k in KINDS for p in notebooks(k, "zh")], ids=lambda p: str(p.relative_to(ROOT))
)
def test_chinese_typography(path):
    problems = []
    for i, text in _markdown(path):
        for pattern, what in (
            (HALF_WIDTH_AFTER_HANZI, "half-width punctuation"),
            (NO_SPACE, "no space"),
        ):
            problems += [
                f"cell {i}: {what}: …{text[max(0, m.start() - 6) : m.end() + 6]!r}…"
                for m in pattern.finditer(text)
            ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path", [p for k in KINDS for p in notebooks(k, "zh")], ids=lambda p: str(p.relative_to(ROOT))
)
def test_chinese_quotes_open_and_close(path):
    """“…” must alternate and balance in every cell (a bad conversion once produced
    "dog bites man“ 和 ”man")."""
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"`[^`\n]*`", "code", re.sub(r"\$[^$\n]+\$", "math", cell.source))
        quotes = re.findall(r"[“”]", text)
        assert quotes == ["“", "”"] * (len(quotes) // 2), (
            f"cell {i}: unbalanced Chinese quotes {''.join(quotes)}"
        )
        for inner in re.findall(r"“([^”]*)”", text):
            assert inner == inner.strip() and '"' not in inner, (
                f"cell {i}: mismatched quotes around {inner!r}"
            )


# "## 8.6 Real attention maps" / "## 8.6 真实的注意力图";
# "### Q12.5 · …" / "### 问题 12.5 · …"; "# 7 · …"
NUMBERED_HEADING = re.compile(r"^(#{1,6})[ \t]+(?:Q|问题[ \t]*)?(\d+(?:\.\d+)*)(?=[\s·:.])", re.M)


def numbered_headings(path):
    """(cell index, heading level, section number) of every numbered Markdown heading, in order."""
    found = []
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type == "markdown":
            text = re.sub(r"```.*?```", "", cell.source, flags=re.S)  # not inside fenced code
            found += [(i, len(m.group(1)), m.group(2)) for m in NUMBERED_HEADING.finditer(text)]
    return found


def test_numbered_headings_are_found():
    """The pattern sees the headings of both languages (so the parity test below cannot pass
    vacuously)."""
    en, zh = (ROOT / "chapters" / lang / "08-bert.ipynb" for lang in LANGS)
    for path in (en, zh):
        numbers = [number for _, _, number in numbered_headings(path)]
        assert numbers[0] == "8" and "8.1" in numbers, f"{path.name}: {numbers}"
    text = "# 7 · T\n## 7.1 Residual\n### Q12.5 · Why\n### 问题 12.5 · 为什么\n## Summary\n#7 no\n"
    assert [m.group(2) for m in NUMBERED_HEADING.finditer(text)] == ["7", "7.1", "12.5", "12.5"]


@pytest.mark.parametrize("en,zh", pairs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_same_numbered_sections(en, zh):
    """Every numbered heading (chapter, section, question) sits in the same cell at the same level
    in both languages, so the page outlines, section links and cross-references ("section 8.6")
    agree."""
    a, b = numbered_headings(en), numbered_headings(zh)
    only_en = [h for h in a if h not in b]
    only_zh = [h for h in b if h not in a]
    assert a == b, (
        "numbered headings differ (cell, level, number): "
        f"only in en {only_en}, only in zh {only_zh}"
    )
