"""The bilingual glossary (glossary.yml), its two pages, the term links, and the appendices.

* The data: every entry complete in both languages, naming a chapter that exists in both
  and that really uses the term; Chinese definitions in the house style.
* Coverage: the Chinese chapters introduce a term by giving the English in parentheses at
  its first use, 自注意力（self-attention） (full-width, DESIGN.md; the old half-width
  form is still read, so that no introduction escapes the check). Every such English term,
  in every chapter that exists (new chapters included), must be in the glossary. Adding a
  term is one entry in glossary.yml (see the comment at its top).
* The built site (the `site` fixture, as in test_site.py): both glossary pages have an
  anchor for every term; every chapter page links its terms to the glossary of its own
  language, once per term, to anchors that exist; the API reference documents every module.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from notebooks import CODE, typography_problems

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("en", "zh")
CJK = re.compile(r"[\u3400-\u9fff]")


def load_extension():
    """_ext/glossary.py, the Sphinx extension that reads glossary.yml (so both read it alike)."""
    spec = importlib.util.spec_from_file_location("glossary_ext", ROOT / "_ext" / "glossary.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


EXT = load_extension()
ENTRIES = EXT.load_glossary(ROOT / "glossary.yml")


def chapters(lang: str) -> dict[str, Path]:
    """Numbered chapters of one language (NN-slug -> notebook); the appendices are .md pages."""
    return {p.stem: p for p in sorted((ROOT / "chapters" / lang).glob("[0-9][0-9]-*.ipynb"))}


def markdown(path: Path) -> str:
    """The markdown cells of a notebook, emphasis removed (*Relative* position -> Relative
    position)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return re.sub(r"\*+", "", text)


def norm(term: str) -> str:
    """Compare terms ignoring case, spacing, dash style and a plural s/es."""
    term = re.sub(r"\s+", " ", term.strip().lower()).replace("–", "-").replace("’", "'")
    return re.sub(r"(?<=[a-z])(?:es|s)$", "", term) if len(term) > 3 else term


def known_english() -> set[str]:
    return {
        norm(form) for e in ENTRIES for form in (e.en, *e.aliases, *e.also) if not CJK.search(form)
    }


# --------------------------------------------------------------------------- the data


def test_every_entry_is_complete_and_unique():
    assert len(ENTRIES) >= 50, "the glossary should cover the terms of chapters 01-09"
    for field in ("en", "zh"):
        values = [getattr(e, field) for e in ENTRIES]
        assert len(values) == len(set(values)), f"two entries share a {field} term"
    for e in ENTRIES:
        for value in (e.en, e.zh, e.chapter, e.en_def, e.zh_def):
            assert value.strip() and "\n" not in value.strip(), f"{e.en}: empty or multi-line field"
        assert not CJK.search(e.en_def), f"{e.en}: Chinese in the English definition"
        assert CJK.search(e.zh_def), f"{e.en}: the Chinese definition has no Chinese"
        # one line: measured as read (math as in the tooltip, PE_(pos,2i) not PE_{(pos,2i)})
        assert len(EXT.plain(e.en_def)) <= 200 and len(EXT.plain(e.zh_def)) <= 120, (
            f"{e.en}: too long"
        )


@pytest.mark.parametrize("lang", LANGS)
def test_every_entry_names_a_chapter_that_exists(lang):
    stems = set(chapters(lang))
    wrong = [f"{e.en}: {e.chapter}" for e in ENTRIES if e.chapter not in stems]
    assert not wrong, f"chapters/{lang}/<chapter>.ipynb missing for:\n" + "\n".join(wrong)


def test_every_entry_is_used_in_its_chapter():
    """The chapter an entry names really uses the term (English or Chinese form) in its prose."""
    texts = {
        lang: {stem: markdown(path).lower() for stem, path in chapters(lang).items()}
        for lang in LANGS
    }
    wrong = []
    for e in ENTRIES:
        latin = [f for f in (e.en, *e.aliases, *e.also) if not CJK.search(f)]
        forms = {"en": latin, "zh": [e.zh, *e.aliases, *e.also, *latin]}
        for lang in LANGS:
            text = re.sub(r"\s+", " ", texts[lang].get(e.chapter, ""))
            if not any(f.lower() in text for f in forms[lang]):
                wrong.append(f"{lang}/{e.chapter}: {e.en} / {e.zh}")
    assert not wrong, "the named chapter never uses the term:\n" + "\n".join(wrong)


def test_chinese_definitions_follow_the_house_style():
    """The Chinese text the glossary page and the tooltips show follows the house typography
    (tests/notebooks.py TYPOGRAPHY): full-width punctuation and （）“”, a space between Chinese and
    Latin letters or digits."""
    problems = []
    for e in ENTRIES:
        for text in (e.zh, e.zh_def):
            text = re.sub(r"`[^`]*`|\$[^$]*\$", CODE, text)  # code and math may hold anything
            problems += [f"{e.zh}: {p}" for p in typography_problems(text)]
    assert not problems, "\n".join(problems)


def linked(text: str, lang: str, upto: int) -> list[tuple[str, str]]:
    """(matched text, English term) for what the chapter-page linker would consider in `text`."""
    path = (ROOT / "glossary.yml").resolve()
    pattern, owners = EXT._pattern(str(path), path.stat().st_mtime, lang, upto)
    return [(m.group(0), owners[int(m.lastgroup[1:])].en) for m in pattern.finditer(text)]


def test_term_matching_rules():
    """Longest form first, whole English words, case only where a form has capitals, one
    Chinese character never alone, and only terms of this chapter or earlier ones."""
    assert linked("多头注意力和自注意力都是注意力", "zh", 5) == [
        ("多头注意力", "multi-head attention"),
        ("自注意力", "self-attention"),
        ("注意力", "attention"),
    ]
    assert linked("Multi-head attention is self-attention over tokens", "en", 5) == [
        ("Multi-head attention", "multi-head attention"),
        ("self-attention", "self-attention"),
        ("tokens", "token"),
    ]
    assert linked("two RNNs; an rnn", "en", 2) == [("RNNs", "recurrent neural network")]
    assert linked("关键的一步", "zh", 12) == []  # 键 (key) is one character: never linked
    assert linked("a causal mask", "en", 2) == []  # chapter 04's term is not linked in chapter 02
    assert linked("a causal mask", "en", 4) == [("causal mask", "causal mask")]
    assert linked("softmaxed", "en", 12) == []  # whole words only


# --------------------------------------------------------------------------- coverage

# 自注意力（self-attention）, **多头注意力**（multi-head attention）,
# 因果掩码（causal mask，又称…）; and the half-width 自注意力(self-attention)
# (the house style before December 2026)
INTRODUCED = re.compile(r"[\u3400-\u9fff][*]{0,2}[（(]([^()（）\n]{1,100})[)）]")
LATIN_TERM = re.compile(r"[A-Za-z][A-Za-z'’./ -]*[A-Za-z]|[A-Za-z]")
CITATION = re.compile(r"\b(1[89]|20)\d\d\b|等|et al")
# parenthesised English that the chapters use for something other than a term (lower case)
NOT_TERMS = {
    "river bank",
    "savings bank",  # chapter 01: the two senses of "bank", an example
}


def introduced_terms() -> list[tuple[str, str, str]]:
    """(chapter, text before, English) for every `中文（English）` in the Chinese chapters."""
    found = []
    for stem, path in chapters("zh").items():
        text = markdown(path)
        text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$|`[^`\n]*`|\]\([^)]*\)", " ", text, flags=re.S)
        for m in INTRODUCED.finditer(text):
            inside = m.group(1)
            if CITATION.search(inside):
                continue  # (Vaswani 等人，2017), (Elman，1990)
            for part in re.split(r"[，；、：]|, ", inside):
                part = part.strip()
                if LATIN_TERM.fullmatch(part) and part.lower() not in NOT_TERMS:
                    found.append((stem, text[max(0, m.start() - 8) : m.start() + 1], part))
    return found


def test_introductions_are_read_in_both_widths():
    def found(text):
        return [m.group(1) for m in INTRODUCED.finditer(text)]

    assert found("**多头注意力**（multi-head attention）把") == ["multi-head attention"]
    assert found("自注意力(self-attention)") == ["self-attention"]
    assert found("因果掩码（causal mask，又称 look-ahead mask）") == [
        "causal mask，又称 look-ahead mask"
    ]
    assert found("Vaswani 等人（2017）") == ["2017"]  # a citation: dropped below
    assert found("用 softmax (self-attention)") == []  # not right after a Chinese term


def test_the_extraction_finds_the_introduced_terms():
    """The check below is not vacuous: it sees the terms of chapters 01, 02, 07 and 09."""
    english = {norm(term) for _, _, term in introduced_terms()}
    for term in (
        "recurrent neural network",
        "RNN",
        "self-attention",
        "query",
        "causal mask",
        "look-ahead mask",
        "residual connection",
        "teacher forcing",
        "masked language modelling",
    ):
        assert norm(term) in english, term
    assert not {norm("Vaswani"), norm("Elman"), norm("https")} & english


@pytest.mark.parametrize("chapter", sorted(chapters("zh")))
def test_every_term_the_chapters_introduce_is_in_the_glossary(chapter):
    known = known_english()
    missing = sorted(
        {
            f"{stem}: …{before}({term})"
            for stem, before, term in introduced_terms()
            if stem == chapter and norm(term) not in known
        }
    )
    assert not missing, (
        "terms introduced in the Chinese chapters as 中文（English） but missing from glossary.yml "
        "(add an entry, or the form to an entry's aliases/also):\n" + "\n".join(missing)
    )


# --------------------------------------------------------------------------- the built site

site_tests = pytest.mark.xdist_group("site")


class Links(HTMLParser):
    """ids and <a> links (href, class) of a built page."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (href, classes, text)
        self._a: list | None = None
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href") is not None:
            self._a = [a["href"], a.get("class") or "", ""]

    def handle_data(self, data):
        if self._a is not None:
            self._a[2] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._a is not None:
            self.links.append(tuple(self._a))
            self._a = None


@site_tests
@pytest.mark.parametrize("lang", LANGS)
def test_glossary_page_has_every_term(site, lang):
    page = site / "chapters" / lang / "glossary.html"
    assert page.is_file(), f"chapters/{lang}/glossary is not in the site (_toc.yml?)"
    parsed = Links(page)
    missing = [e.en for e in ENTRIES if e.anchor not in parsed.ids]
    assert not missing, f"{page}: no anchor for {missing}"
    html = page.read_text(encoding="utf-8")
    for e in ENTRIES[:: max(1, len(ENTRIES) // 10)]:  # both terms are shown
        assert e.en in html and e.zh in html, e.en
    # links to the chapters that introduce the terms stay in the page's language and exist
    chapter_links = {href.split("#")[0] for href, _, _ in parsed.links if re.match(r"\d\d-", href)}
    assert chapter_links, "the glossary links no chapter"
    for href in chapter_links:
        assert (page.parent / href).is_file(), href
    assert {e.chapter + ".html" for e in ENTRIES} <= chapter_links


@site_tests
@pytest.mark.parametrize("lang", LANGS)
def test_chapters_link_their_terms_to_the_glossary(site, lang):
    glossary = site / "chapters" / lang / "glossary.html"
    anchors = Links(glossary).ids
    problems, linked = [], {}
    for stem in chapters(lang):
        page = site / "chapters" / lang / f"{stem}.html"
        assert page.is_file(), f"chapters/{lang}/{stem} is not in the site (_toc.yml?)"
        terms = [
            (href, text)
            for href, classes, text in Links(page).links
            if "glossary-term" in classes.split()
        ]
        linked[stem] = len(terms)
        for href, text in terms:
            parts = urlsplit(href)
            if (page.parent / parts.path).resolve() != glossary.resolve():
                problems.append(f"{stem}: {text!r} -> {href} (not this language's glossary)")
            elif parts.fragment not in anchors:
                problems.append(f"{stem}: {text!r} -> #{parts.fragment} (no such anchor)")
        targets = [urlsplit(href).fragment for href, _ in terms]
        twice = {t for t in targets if targets.count(t) > 1}
        if twice:
            problems.append(f"{stem}: linked more than once: {sorted(twice)}")
    assert not problems, "\n".join(problems)
    # every chapter after the preface links terms (the preface comes before any term is introduced)
    unlinked = [stem for stem, n in linked.items() if n == 0 and not stem.startswith("00")]
    assert not unlinked, f"chapters with no glossary link: {unlinked}"


@site_tests
def test_term_links_skip_code_headings_and_links(site):
    html = (site / "chapters" / "en" / "02-self-attention.html").read_text(encoding="utf-8")
    # the first use of "self-attention" in the prose is linked, not the one in the title
    assert re.search(r"<h1>[^<]*Self-attention", html)
    assert re.search(r'class="glossary-term[^"]*"[^>]*>Self-attention</a>', html)
    for block in re.findall(r"<pre.*?</pre>|<h[1-6].*?</h[1-6]>", html, flags=re.S):
        assert "glossary-term" not in block


def public_modules() -> list[str]:
    package = ROOT / "src" / "rnn2bert"
    names = ["rnn2bert"] + [
        f"rnn2bert.{p.stem}" for p in sorted(package.glob("*.py")) if not p.stem.startswith("_")
    ]
    return names + ["rnn2bert.exercises.core"]


@pytest.mark.parametrize("lang", LANGS)
def test_api_reference_covers_every_module(lang):
    page = (ROOT / "chapters" / lang / "appendix-api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. automodule:: (\S+)", page, flags=re.M))
    assert set(public_modules()) <= documented, (
        f"not in the API reference: {set(public_modules()) - documented}"
    )
    # no object index entries: no duplicate descriptions (en and zh), and the site's search
    # lists chapters, not API objects, for words such as "positional" or "mask"
    assert page.count(":no-index:") == page.count(".. automodule::")


@site_tests
def test_api_reference_is_generated_from_the_docstrings(site):
    for lang in LANGS:
        html = (site / "chapters" / lang / "appendix-api.html").read_text(encoding="utf-8")
        names = set(
            re.findall(r'<span class="sig-name descname"><span class="pre">(\w+)</span>', html)
        )
        for name in (
            "scaled_dot_product_attention",
            "causal_mask",
            "MultiHeadAttention",
            "BertModel",
            "split_heads",
            "check",
        ):
            assert name in names, f"{lang}: {name} is not documented"
        # a docstring's text made it through napoleon (Args: -> Parameters)
        assert "True where a query may attend" in html
