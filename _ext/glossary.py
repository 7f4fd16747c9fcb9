"""glossary: one bilingual glossary, two pages, and term links from every chapter.

The terms live in one file, ``glossary.yml`` at the repository root (``glossary_path``),
one entry per term::

    - en: self-attention
      zh: 自注意力
      chapter: 02-self-attention        # the chapter that introduces it
      en_def: Attention in which ...     # one line each, `code` and $math$ allowed
      zh_def: 查询、键、值都来自 ...
      aliases: [intra-attention]         # optional: other forms, linked too
      also: [weight]                     # optional: accepted by the tests, never linked

This extension

* provides the directive ``bilingual-glossary`` (option ``:lang: en`` or ``zh``), which
  renders every entry with an anchor ``#term-<slug of the English term>`` (the same in both
  languages), both terms, the definition in the page's language and a link to the chapter
  that introduces it in the same language. English: alphabetical, with a letter index.
  Chinese: grouped by chapter, in the order of the file. Both pages come from the same
  data, so the editions cannot drift apart;
* links the first use of each term in the prose of every chapter page
  (``chapters/<lang>/NN-*``) to its entry in the glossary page of the same language, with
  the definition as the link's title (a tooltip). Only terms introduced in that chapter or an
  earlier one are linked. Headings, code, math, existing links, notebook outputs and the
  references section are left alone. English forms match whole words (ignoring case unless
  the form has a capital, plural -s/-es allowed); Chinese forms match exactly, longest first
  (多头注意力 wins over 注意力); a single Chinese character is never linked (键 is in 关键).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from docutils import nodes
from docutils.parsers.rst import Directive, directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

LANGS = ("en", "zh")
REQUIRED = ("en", "zh", "chapter", "en_def", "zh_def")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CHAPTER_DOC = re.compile(r"^chapters/(en|zh)/(\d\d)-[^/]+$")
GLOSSARY_DOC = "chapters/{lang}/glossary"
SKIP_SECTIONS = {"references", "参考文献", "参考资料"}
# a term is a whole word: no letter, digit, underscore or hyphen right before or after it
BEFORE, AFTER = r"(?<![A-Za-z0-9_-])", r"(?![A-Za-z0-9_-])"


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Entry:
    en: str
    zh: str
    chapter: str
    en_def: str
    zh_def: str
    aliases: tuple[str, ...] = field(default=())
    also: tuple[str, ...] = field(default=())

    @property
    def anchor(self) -> str:
        return "term-" + slug(self.en)

    @property
    def number(self) -> int:
        return int(self.chapter[:2])

    def term(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def definition(self, lang: str) -> str:
        return self.en_def if lang == "en" else self.zh_def

    def linked_forms(self, lang: str) -> list[str]:
        """The surface forms linked on pages of `lang` (Chinese pages use English names too)."""
        if lang == "en":
            return [f for f in (self.en, *self.aliases) if not CJK.search(f)]
        return [self.zh, self.en, *self.aliases]


def slug(text: str) -> str:
    """``self-attention`` -> ``self-attention``, ``[MASK]`` -> ``mask-token``.

    (``mask`` is a term too.)
    """
    text = re.sub(r"^\[(\w+)\]$", r"\1-token", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def sort_key(entry: Entry) -> str:
    """Alphabetical by the English term, ignoring case and brackets ([CLS] sorts as cls)."""
    return re.sub(r"[^a-z0-9 ]", "", entry.en.lower()).strip()


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> tuple[Entry, ...]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    entries = []
    for i, item in enumerate(raw):
        missing = [key for key in REQUIRED if not str(item.get(key) or "").strip()]
        if missing:
            raise ValueError(f"{path}: entry {i} ({item.get('en')!r}) lacks {missing}")
        entries.append(
            Entry(
                en=str(item["en"]),
                zh=str(item["zh"]),
                chapter=str(item["chapter"]),
                en_def=str(item["en_def"]).strip(),
                zh_def=str(item["zh_def"]).strip(),
                aliases=tuple(str(a) for a in item.get("aliases") or ()),
                also=tuple(str(a) for a in item.get("also") or ()),
            )
        )
    anchors = [e.anchor for e in entries]
    duplicates = sorted({a for a in anchors if anchors.count(a) > 1})
    if duplicates:
        raise ValueError(f"{path}: two entries share an anchor: {duplicates}")
    return tuple(entries)


def load_glossary(path: str | Path) -> tuple[Entry, ...]:
    """The entries of the glossary file (cached until the file changes)."""
    path = Path(path).resolve()
    return _load(str(path), path.stat().st_mtime)


def glossary_file(app: Sphinx) -> Path:
    return Path(app.srcdir) / app.config.glossary_path


# --------------------------------------------------------------------------- the pages

INLINE = re.compile(r"(`[^`]+`|\$[^$]+\$)")


def inline_nodes(text: str) -> list[nodes.Node]:
    """Plain text with `code` and $math$, as docutils nodes."""
    out: list[nodes.Node] = []
    for part in INLINE.split(text):
        if not part:
            continue
        if part.startswith("`"):
            out.append(nodes.literal(part[1:-1], part[1:-1]))
        elif part.startswith("$"):
            out.append(nodes.math(part[1:-1], part[1:-1]))
        else:
            out.append(nodes.Text(part))
    return out


TEX_WORDS = {
    r"\cdot": "·",
    r"\odot": "⊙",
    r"\sum": "Σ",
    r"\alpha": "α",
    r"\omega": "ω",
    r"\rho": "ρ",
    r"\Phi": "Φ",
    r"\infty": "∞",
    r"\dots": "…",
    r"\top": "ᵀ",
    r"\ln": "ln",
    r"\tanh": "tanh",
    r"\max": "max",
    r"\sin": "sin",
    r"\cos": "cos",
    r"\le": "≤",
    r"\,": " ",
    r"\!": "",
}


def plain(text: str) -> str:
    """A definition as plain text for a tooltip: `code` and $math$ without markup (√d_k, QKᵀ)."""

    def math(m: re.Match) -> str:
        tex = re.sub(r"\\sqrt\{([^{}]*)\}", r"√\1", m.group(1))
        tex = re.sub(r"\\(?:mathrm|text|operatorname)\{([^{}]*)\}", r"\1", tex)
        for command, char in TEX_WORDS.items():
            tex = tex.replace(command, char)
        tex = re.sub(r"([_^])\{\(([^{}]*)\)\}", r"\1(\2)", tex)  # PE_{(pos,2i)} -> PE_(pos,2i)
        tex = re.sub(r"([_^])\{([^{}]{2,})\}", r"\1(\2)", tex)  # h_{t-1} -> h_(t-1)
        return tex.replace("^ᵀ", "ᵀ").replace("{", "").replace("}", "")

    return re.sub(r"\$([^$]+)\$", math, text).replace("`", "")


def chapter_link(entry: Entry, lang: str, refdoc: str) -> addnodes.pending_xref:
    """A link to the chapter that introduces the entry, titled with the chapter's title."""
    target = f"/chapters/{lang}/{entry.chapter}"
    xref = addnodes.pending_xref(
        "",
        nodes.inline(target, target),
        refdomain="std",
        reftype="doc",
        reftarget=target,
        refdoc=refdoc,
        refexplicit=False,
        refwarn=True,
    )
    return xref


class BilingualGlossary(Directive):
    """``{bilingual-glossary}`` with ``:lang: en`` or ``:lang: zh``: the whole glossary."""

    has_content = False
    option_spec = {"lang": lambda arg: directives.choice(arg, LANGS)}

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        lang = self.options.get("lang", "en")
        path = glossary_file(env.app)
        env.note_dependency(str(path))
        entries = load_glossary(path)
        if lang == "en":
            groups: dict[str, list[Entry]] = {}
            for entry in sorted(entries, key=sort_key):
                first = sort_key(entry)[:1].upper()
                groups.setdefault(first if first.isalpha() else "#", []).append(entry)
            labels = {key: key for key in groups}
            group_ids = {
                key: "letter-" + (key.lower() if key != "#" else "symbols") for key in groups
            }
        else:
            groups = {}
            for entry in entries:  # the file's order: by chapter, in the order of introduction
                groups.setdefault(entry.chapter, []).append(entry)
            groups = dict(sorted(groups.items()))
            labels = {key: f"{int(key[:2])}" for key in groups}
            group_ids = {key: "chapter-" + key[:2] for key in groups}

        root = nodes.container(classes=["bilingual-glossary", f"bilingual-glossary-{lang}"])
        # the index: letters (English) or chapter numbers (Chinese)
        index = nodes.paragraph(classes=["glossary-index"])
        for i, key in enumerate(groups):
            if i:
                index += nodes.Text(" ")
            index += nodes.reference("", labels[key], refid=group_ids[key], internal=True)
        root += index

        for key, members in groups.items():
            if lang == "en":
                heading = nodes.rubric("", key, ids=[group_ids[key]], classes=["glossary-group"])
            else:
                heading = nodes.rubric("", "", ids=[group_ids[key]], classes=["glossary-group"])
                heading += chapter_link(members[0], lang, env.docname)
            root += heading
            items = nodes.definition_list(classes=["glossary", "bilingual-glossary-list"])
            for entry in members:
                items += self.item(entry, lang, env.docname)
            root += items
        return [root]

    @staticmethod
    def item(entry: Entry, lang: str, docname: str) -> nodes.definition_list_item:
        other = "zh" if lang == "en" else "en"
        term = nodes.term("", "", ids=[entry.anchor])
        term += nodes.strong(entry.term(lang), entry.term(lang))
        if entry.term(other) != entry.term(lang):
            term += nodes.inline(" · ", " · ", classes=["glossary-sep"])
            term += nodes.inline(entry.term(other), entry.term(other), classes=["glossary-other"])
        body = nodes.paragraph()
        body += inline_nodes(entry.definition(lang))
        if lang == "en":  # (the Chinese page is grouped under links to the chapters)
            seen = nodes.inline("", "", classes=["glossary-chapter"])
            seen += nodes.Text("→ ")
            seen += chapter_link(entry, lang, docname)
            body += [nodes.Text(" "), seen]
        return nodes.definition_list_item("", term, nodes.definition("", body))


# --------------------------------------------------------------------------- term links


@lru_cache(maxsize=64)
def _pattern(path: str, mtime: float, lang: str, upto: int) -> tuple[re.Pattern | None, tuple]:
    """One regex for every linkable form of the terms introduced up to chapter `upto`."""
    forms: list[tuple[str, int]] = []
    entries = _load(path, mtime)
    for i, entry in enumerate(entries):
        if entry.number > upto:
            continue
        for form in dict.fromkeys(entry.linked_forms(lang)):  # unique, in order
            if CJK.search(form) and len(CJK.findall(form)) < 2 and len(form) < 2:
                continue  # one Chinese character: too many false hits
            forms.append((form, i))
    forms.sort(key=lambda f: -len(f[0]))  # the longest form wins where several start together
    if not forms:
        return None, ()
    parts = []
    for n, (form, _) in enumerate(forms):
        if CJK.search(form):
            regex = re.escape(form)
        else:
            regex = r"\s+".join(re.escape(word) for word in form.split())
            if form[-1].isalpha():
                regex += "(?:s|es)?"
            if not any(c.isupper() for c in form):
                regex = f"(?i:{regex})"
            regex = BEFORE + regex + AFTER
        parts.append(f"(?P<g{n}>{regex})")
    return re.compile("|".join(parts)), tuple(entries[i] for _, i in forms)


def term_pattern(app: Sphinx, lang: str, upto: int):
    path = glossary_file(app).resolve()
    return _pattern(str(path), path.stat().st_mtime, lang, upto)


def skipped(node: nodes.Node) -> bool:
    """Inside a heading, code, math, a link, a notebook cell's code or output, or the references."""
    parent = node.parent
    while parent is not None:
        if isinstance(
            parent,
            (
                nodes.title,
                nodes.subtitle,
                nodes.rubric,
                nodes.literal,
                nodes.FixedTextElement,
                nodes.math,
                nodes.math_block,
                nodes.reference,
                nodes.raw,
                nodes.comment,
                nodes.target,
                nodes.image,
                nodes.caption,
                nodes.term,
                addnodes.pending_xref,
                addnodes.download_reference,
                addnodes.desc,
            ),
        ):
            return True
        if isinstance(parent, nodes.container) and (
            parent.get("nb_element", "").startswith("cell_code")
            or {"cell", "cell_output", "cell_input", "output"} & set(parent.get("classes", []))
        ):
            return True
        if (
            isinstance(parent, nodes.section)
            and parent.children
            and isinstance(parent[0], nodes.title)
        ):
            if parent[0].astext().strip().lower() in SKIP_SECTIONS:
                return True
        parent = parent.parent
    return False


def link_terms(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Link the first use of each glossary term on a chapter page to the glossary."""
    match = CHAPTER_DOC.match(docname)
    if not match or app.builder.format != "html":
        return
    lang, upto = match.group(1), int(match.group(2))
    glossary_doc = GLOSSARY_DOC.format(lang=lang)
    if glossary_doc not in app.env.found_docs:
        return
    pattern, owners = term_pattern(app, lang, upto)
    if pattern is None:
        return
    uri = app.builder.get_relative_uri(docname, glossary_doc)
    done: set[str] = set()
    for text in list(doctree.findall(nodes.Text)):
        if skipped(text):
            continue
        source = str(text)
        pieces: list[nodes.Node] = []
        last = 0
        for m in pattern.finditer(source):
            entry = owners[int(m.lastgroup[1:])]
            if entry.anchor in done:
                continue  # linked already; the match still hides the shorter terms inside it
            done.add(entry.anchor)
            other = entry.term("zh" if lang == "en" else "en")
            title = (
                f"{other}: {entry.definition(lang)}"
                if other != entry.term(lang)
                else entry.definition(lang)
            )
            pieces.append(nodes.Text(source[last : m.start()]))
            pieces.append(
                nodes.reference(
                    m.group(0),
                    m.group(0),
                    refuri=f"{uri}#{entry.anchor}",
                    internal=True,
                    reftitle=plain(title),
                    classes=["glossary-term"],
                )
            )
            last = m.end()
        if pieces:
            pieces.append(nodes.Text(source[last:]))
            text.parent.replace(
                text, [p for p in pieces if not isinstance(p, nodes.Text) or str(p)]
            )


# --------------------------------------------------------------------------- setup


def check_chapters(app: Sphinx, env) -> None:
    """Warn (fails the -W build) when an entry names a chapter that is not in the book."""
    path = glossary_file(app)
    if not path.is_file():
        logger.warning("glossary: %s not found", path, type="glossary")
        return
    for entry in load_glossary(path):
        for lang in LANGS:
            doc = f"chapters/{lang}/{entry.chapter}"
            if doc not in env.found_docs:
                logger.warning(
                    "glossary: %r names chapter %r, which is not built (%s)",
                    entry.en,
                    entry.chapter,
                    doc,
                    type="glossary",
                )


def setup(app: Sphinx) -> dict:
    app.add_config_value("glossary_path", "glossary.yml", "env", [str])
    app.add_directive("bilingual-glossary", BilingualGlossary)
    app.add_css_file("glossary.css")
    app.connect("env-check-consistency", check_chapters)
    app.connect("doctree-resolved", link_terms)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
