"""Bilingual parity: the English and Chinese editions hold the same notebooks, cell for cell.

Code cells and their text outputs must be identical (so the nbval run of one language vouches
for the other); the prose is written natively in each language, and the Chinese follows the
house typography (DESIGN.md, notebooks.TYPOGRAPHY): full-width punctuation and （）“”, a space
between Chinese and Latin/digits; so do the Chinese pages (.md) and the Chinese halves of the
exercise checks' messages.
"""

import ast
import re

import pytest

from notebooks import (
    CJK,
    CODE,
    KINDS,
    LANGS,
    ROOT,
    notebooks,
    pairs,
    prose,
    read,
    text_outputs,
    typography_problems,
)


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


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@pytest.mark.parametrize("en,zh", pairs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_widget_output_has_its_state(en, zh):
    """A widget output is drawn on the site from the notebook's saved widget state: each view's
    model must be in that state, in the Chinese twin too (tools/copy_outputs.py copies it)."""
    for path in (en, zh):
        nb = read(path)
        state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        views = [
            o["data"][WIDGET_VIEW]["model_id"]
            for c in nb.cells
            for o in c.get("outputs", [])
            if WIDGET_VIEW in o.get("data", {})
        ]
        missing = [v for v in views if v not in state]
        assert not missing, f"{path.relative_to(ROOT)}: widget outputs without state {missing}"


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


ZH_NOTEBOOKS = [p for k in KINDS for p in notebooks(k, "zh")]
# the Chinese pages that are not notebooks: appendices, glossary page, teaching material
ZH_PAGES = sorted((ROOT / "chapters" / "zh").glob("*.md")) + sorted(
    (ROOT / "teaching").glob("*.zh.md")
)


@pytest.mark.parametrize("path", ZH_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_chinese_typography(path):
    """The house typography (notebooks.TYPOGRAPHY) in every Markdown cell, tables included."""
    problems = [
        f"cell {i}: {problem}"
        for i, c in enumerate(read(path).cells)
        if c.cell_type == "markdown"
        for problem in typography_problems(prose(c.source, tables=True, code=CODE))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ZH_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_chinese_typography_of_the_pages(path):
    problems = typography_problems(prose(path.read_text(encoding="utf-8"), tables=True, code=CODE))
    assert not problems, "\n".join(problems)


def chinese_messages() -> list[tuple[str, int, str]]:
    """(file, line, text) of the Chinese in the exercise checks' strings: the Chinese argument
    of a bilingual pair, or the Chinese halves of an "English · 中文" string. Built the way
    Python sees them (adjacent literals joined; an f-string's fields as CODE); docstrings left
    out."""
    found = []
    for path in sorted((ROOT / "src" / "rnn2bert" / "exercises").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        parts_of_fstrings = {
            id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(
                    v.value if isinstance(v, ast.Constant) else CODE for v in node.values
                )
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings | parts_of_fstrings
            ):
                text = node.value
            else:
                continue
            for half in re.split(r" · ", text):
                if CJK.search(half):
                    found.append((path.name, node.lineno, re.sub(r"`[^`\n]+`", CODE, half)))
    return found


def test_chinese_messages_are_found():
    """The extraction sees the check messages (so the test below cannot pass vacuously)."""
    texts = [text for _, _, text in chinese_messages()]
    assert len(texts) > 250, len(texts)
    assert "通过" in texts  # core.py: f"✓ {exercise_id} — passed · 通过"
    assert any(t.startswith("转置了：行是查询，列是键") for t in texts)  # ch11, a pair's Chinese
    assert {f for f, _, _ in chinese_messages()} >= {"core.py", "ch02.py", "ch12.py"}


def test_chinese_typography_of_the_check_messages():
    problems = [
        f"{file}:{line}: {problem}"
        for file, line, text in chinese_messages()
        for problem in typography_problems(text, plain=True)
    ]
    assert not problems, "\n".join(problems)


def test_typography_rules_catch_the_old_forms():
    """Each rule fires on the form it forbids and not on the house form."""
    bad = [
        "自注意力(self-attention)",  # half-width, touching hanzi
        "**多头注意力** (multi-head attention) 把",  # with spaces and emphasis
        "见 (第 04 章)",  # encloses Chinese
        "Vaswani 等人(2017)",
        "(a) 计算",
        '例如 "I am a student"',  # ASCII quotes in a Chinese line
        "看向 “animal” 的",  # spaces outside “”
        f"函数 {CODE} （因果掩码）",
        "分解后, 不分解",
        "第03章",
    ]
    good = [
        "自注意力（self-attention）",
        "**多头注意力**（multi-head attention）把",
        "Vaswani 等人（2017）",
        f"函数 {CODE}（因果掩码）的输出",
        "看向“animal”的",
        "* Vaswani, A. et al. (2017). Attention is all you need. 提出 Transformer。",
        "| mask (padding, causal) | 掩码（填充、因果） |",
        "推导 Var(q·k) = d_k",
        "第 03 章",
    ]
    assert [t for t in bad if not typography_problems(t)] == []
    assert [(t, typography_problems(t)) for t in good if typography_problems(t)] == []
    # plain text (check messages): math and code keep (), remarks take （）
    plain_bad = [
        "应在键的维度上(dim=-1)归一化",
        "差了一位(off by one)：",
        "请返回一对数 (分解后, 不分解)。",
    ]
    plain_good = [
        "形状是 (L, d_k)：",
        "应为 softmax(QKᵀ)。",
        "Python 把它读作 (d_k ** 1) / 2。",
        "应在键的维度上（dim=-1）归一化",
        "请返回一对数（分解后，不分解）。",
    ]
    assert [t for t in plain_bad if not typography_problems(t, plain=True)] == []
    assert [t for t in plain_good if typography_problems(t, plain=True)] == []
    assert typography_problems("形状是 (L, d_k)：")  # not in Markdown, where code is marked


@pytest.mark.parametrize("path", ZH_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
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


@pytest.mark.parametrize("path", [en for en, _ in pairs()], ids=lambda p: str(p.relative_to(ROOT)))
def test_sections_are_numbered_in_order(path):
    """At each heading level below the title, the numbers run N.1, N.2, … without a gap or a
    repeat, N the chapter's number (a lost "## 9.8" heading once left its section inside 9.7)."""
    headings = numbered_headings(path)
    chapter = next((number for _, level, number in headings if level == 1), None)
    by_level = {}
    for _, level, number in headings:
        if level > 1:
            by_level.setdefault(level, []).append(number)
    for level, numbers in by_level.items():
        expected = [f"{chapter}.{k}" for k in range(1, len(numbers) + 1)]
        assert numbers == expected, f"level {level}: {numbers}"
