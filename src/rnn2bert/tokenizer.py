"""BERT's WordPiece tokenizer (chapter 08), in two stages, exactly as the original BERT:

1. basic tokenization: clean the text (drop control characters, every whitespace becomes a
   space), put spaces around each CJK character (so every Chinese character is a token of its
   own), lowercase and strip accents (``lowercase=True``), split on whitespace and punctuation;
2. WordPiece: cut each word greedily into the longest piece found in the vocabulary, then the
   longest continuation ``##…`` and so on ("pretraining" -> "pre", "##train", "##ing" with the
   BERT-Base / MiniLM vocabulary, where "playing" is a token of its own); a word that cannot be
   cut, or longer than 100 characters, becomes ``[UNK]``.

Special tokens written in the text (``"[MASK]"``) stay whole. It gives the same tokens and ids
as Hugging Face's ``BertTokenizer`` on the same vocabulary (tested).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import torch

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def is_punctuation(char: str) -> bool:
    """Unicode punctuation (category P*), and every ASCII character that is neither a letter,
    a digit nor a space (so ``$``, ``^``, ``+`` split too)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_cjk(char: str) -> bool:
    """A CJK Unified Ideograph (the Chinese characters; not Japanese kana, not Korean Hangul)."""
    cp = ord(char)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def strip_accents(text: str) -> str:
    """ "café" -> "cafe": decompose (NFD: é = e + ◌́) and drop the combining marks (category Mn)."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


# ASCII text in one pass of two regular expressions (the same result as the loop in
# ``basic_tokenize``): drop the control characters, then words are runs of letters and digits, and
# every other visible character is a punctuation mark of its own.
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_WORD = re.compile(r"[0-9A-Za-z]+|[!-/:-@\[-`{-~]")


def basic_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Stage 1: text -> words and punctuation marks.
    ``"Héllo, 世界!"`` -> ``["hello", ",", "世", "界", "!"]``.

    (Pure ASCII text takes a shortcut with two regular expressions, tested to give the same words.)
    """
    if text.isascii():
        text = _ASCII_CONTROL.sub("", text)
        return _ASCII_WORD.findall(text.lower() if lowercase else text)
    return _basic_tokenize_any(text, lowercase)


def _basic_tokenize_any(text: str, lowercase: bool = True) -> list[str]:
    """``basic_tokenize`` for any text, character by character."""
    text = "".join(
        " " if is_whitespace(c) else c
        for c in text
        if not (c == "\0" or c == "\ufffd" or is_control(c))
    )
    text = "".join(f" {c} " if is_cjk(c) else c for c in text)
    if lowercase:
        text = strip_accents(text.lower())
    words = []
    for chunk in text.split():
        word = ""
        for char in chunk:
            if is_punctuation(char):
                words += [word, char] if word else [char]
                word = ""
            else:
                word += char
        if word:
            words.append(word)
    return words


class WordPieceTokenizer:
    """A vocabulary (``token -> id``) with BERT's tokenization and input format.

    ``encode("my dog is cute", "he likes playing")`` gives ``[CLS] my dog is cute [SEP] he likes
    playing [SEP]`` with ``token_type_ids`` 0 for ``[CLS]``, sentence A and its ``[SEP]``,
    1 for sentence B and its ``[SEP]``.
    """

    def __init__(
        self, vocab: dict[str, int], lowercase: bool = True, max_input_chars_per_word: int = 100
    ):
        missing = [t for t in SPECIAL_TOKENS if t not in vocab]
        if missing:
            raise ValueError(f"the vocabulary lacks {missing} · 词表缺少 {missing}")
        self.vocab = vocab
        self.ids_to_tokens = {i: t for t, i in vocab.items()}
        self.lowercase = lowercase
        self.max_input_chars_per_word = max_input_chars_per_word
        (
            self.pad_token_id,
            self.unk_token_id,
            self.cls_token_id,
            self.sep_token_id,
            self.mask_token_id,
        ) = (vocab[t] for t in SPECIAL_TOKENS)
        # [PAD], [UNK], [CLS], [SEP], [MASK]
        self.all_special_ids = [vocab[t] for t in SPECIAL_TOKENS]
        self._special = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")
        self._pieces: dict[
            str, list[str]
        ] = {}  # word -> its pieces, remembered (the vocabulary is fixed)

    @classmethod
    def from_vocab_file(cls, path, lowercase: bool = True) -> WordPieceTokenizer:
        """``vocab.txt``: one token a line; the line number (from 0) is its id."""
        tokens = Path(path).read_text(encoding="utf-8").splitlines()
        return cls({token: i for i, token in enumerate(tokens)}, lowercase=lowercase)

    @classmethod
    def from_pretrained(cls, folder) -> WordPieceTokenizer:
        """``folder/vocab.txt``, lowercasing as ``tokenizer_config.json`` says (``do_lower_case``;
        Hugging Face's default, True, when the file or the key is absent)."""
        folder = Path(folder)
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.exists() else {}
        return cls.from_vocab_file(
            folder / "vocab.txt", lowercase=config.get("do_lower_case", True)
        )

    def save_pretrained(self, folder) -> None:
        """Write ``vocab.txt`` and ``tokenizer_config.json`` (readable by Hugging Face too)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tokens = [self.ids_to_tokens[i] for i in range(len(self))]
        (folder / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
        config = {
            "do_lower_case": self.lowercase,
            "tokenizer_class": "BertTokenizer",
            "model_max_length": 512,
        }
        (folder / "tokenizer_config.json").write_text(
            json.dumps(config, indent=2) + "\n", encoding="utf-8"
        )

    def __len__(self) -> int:
        return len(self.vocab)

    # ------------------------------------------------------------------ text -> tokens
    def wordpiece(self, word: str) -> list[str]:
        """Stage 2 for one word: greedy longest-match-first.
        ``"pretraining"`` -> ``["pre", "##train", "##ing"]``."""
        if len(word) > self.max_input_chars_per_word:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):  # the longest candidate first
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
            else:
                return ["[UNK]"]  # no piece fits: the whole word is unknown
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """Text -> WordPiece tokens; special tokens written in the text (``[MASK]``) stay whole."""
        tokens = []
        for part in self._special.split(text):
            if part in SPECIAL_TOKENS:
                tokens.append(part)
            else:
                for word in basic_tokenize(part, self.lowercase):
                    pieces = self._pieces.get(word)
                    if pieces is None:
                        pieces = self.wordpiece(word)
                        if len(self._pieces) < 200_000:
                            self._pieces[word] = pieces
                    tokens += pieces
        return tokens

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        return [self.vocab.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids) -> list[str]:
        return [self.ids_to_tokens[int(i)] for i in ids]

    # ------------------------------------------------------------------ BERT's input format
    def encode(
        self, text: str, text_pair: str | None = None, max_length: int | None = None
    ) -> dict[str, list[int]]:
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]`` -> ``input_ids``, ``token_type_ids``
        (0 for ``[CLS]`` A ``[SEP]``, 1 for B ``[SEP]``), ``attention_mask`` (all 1).

        ``max_length`` truncates to at most that many ids in all, one token at a time from the
        end of the longer sentence, as the original BERT (and Hugging Face's slow tokenizer) do.
        """
        a = self.convert_tokens_to_ids(self.tokenize(text))
        b = None if text_pair is None else self.convert_tokens_to_ids(self.tokenize(text_pair))
        if max_length is not None:
            budget = max_length - (2 if b is None else 3)
            while len(a) + len(b or []) > budget:
                if b is None or len(a) > len(b):
                    a.pop()
                else:
                    b.pop()
        input_ids = [self.cls_token_id, *a, self.sep_token_id]
        token_type_ids = [0] * len(input_ids)
        if b is not None:
            input_ids += [*b, self.sep_token_id]
            token_type_ids += [1] * (len(b) + 1)
        return {
            "input_ids": input_ids,
            "token_type_ids": token_type_ids,
            "attention_mask": [1] * len(input_ids),
        }

    def encode_batch(
        self, texts: list[str], text_pairs: list[str] | None = None, max_length: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Encode each text (or pair), pad with ``[PAD]`` to the longest: ``input_ids``,
        ``token_type_ids``, ``attention_mask`` (1 real, 0 padding), each a ``(B, L)`` long tensor,
        ready for ``model(**batch)``."""
        pairs = [None] * len(texts) if text_pairs is None else text_pairs
        encodings = [self.encode(a, b, max_length) for a, b in zip(texts, pairs, strict=True)]
        length = max(len(e["input_ids"]) for e in encodings)
        pad = {"input_ids": self.pad_token_id, "token_type_ids": 0, "attention_mask": 0}
        return {
            key: torch.tensor([e[key] + [value] * (length - len(e[key])) for e in encodings])
            for key, value in pad.items()
        }

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """Ids -> text: tokens joined by spaces, ``##`` continuations glued to the piece before
        (``"pre ##train ##ing"`` -> ``"pretraining"``). Lowercasing, stripped accents and the
        spaces put around punctuation and Chinese characters are not undone."""
        tokens = self.convert_ids_to_tokens(
            i for i in ids if not (skip_special_tokens and int(i) in self.all_special_ids)
        )
        return " ".join(tokens).replace(" ##", "")
