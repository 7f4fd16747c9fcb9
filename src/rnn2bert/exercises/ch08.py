"""Checks for chapter 08, BERT's architecture and inputs."""

from __future__ import annotations

import torch
from torch import nn

from ..bert import BertConfig, parameter_breakdown
from ..bert import count_parameters as bert_count_parameters
from ..tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
from .core import (
    Mistake,
    compare,
    describe,
    exercise,
    generator,
    predictions,
    require_graph,
    require_integer_ids,
)

# ---- ch08.wordpiece ---------------------------------------------------------------------------

VOCAB = {
    "play",
    "##ing",
    "ing",
    "##in",
    "##g",
    "p",
    "##l",
    "##a",
    "##ay",
    "##y",
    "##i",
    "##n",
    "un",
    "u",
    "##aff",
    "##af",
    "##f",
    "##able",
    "##ab",
    "##le",
    "##b",
    "##e",
    "token",
    "to",
    "##ken",
    "##k",
    "##o",
    "##ization",
    "##iz",
    "##ation",
    "##s",
    "##un",  # so that "##" on the first piece does not make every word [UNK]
    "re",
    "rea",
    "##ad",  # "read": the longest first piece "rea" leads nowhere, and WordPiece does not go back
    "transformer",  # a piece of 11 characters: a search capped at 8 or 10 does not find it
}
WORDS = [
    "playing",
    "unaffable",
    "tokenization",
    "play",
    "plays",
    "playx",
    "xplay",
    "ingplay",
    "u",
    "x",
    "read",
    "transformers",
]
# the hidden run's vocabulary and words: "run" also exists without "##", "##un" only after a start
HIDDEN_VOCAB = {
    "run",
    "runn",
    "##ing",
    "##in",
    "##g",
    "##n",
    "##s",
    "un",
    "##un",
    "##want",
    "##wan",
    "##t",
    "##ed",
    "##e",
    "##d",
    "jump",
    "ju",
    "##mp",
    "##m",
    "##p",
    "s",
    "##u",
    "##r",
    "r",
    "##nx",  # "rununx": run ##un then x fails; going back (run ##u ##nx) is not WordPiece
    "##wanted",  # long pieces and a long word: a search capped at a few characters fails
    "##running",
    "understanding",
}
HIDDEN_WORDS = [
    "running",
    "unwanted",
    "jumps",
    "jumped",
    "runs",
    "run",
    "rununx",
    "xrun",
    "s",
    "q",
    "sun",
    "jumprun",  # "##run" is not in the vocabulary, "run" is: no "##" is not a fallback
    "jumprunning",
    "understandings",
]
MAX_LOOKUPS = 10_000


class _CountingVocab(set):
    """A set that counts membership tests, to stop a loop that never advances."""

    lookups = 0

    def __contains__(self, item) -> bool:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise Mistake(
                "Your loop never ends: when no piece of the vocabulary fits at the current "
                "position, stop and "
                "return ['[UNK]'] for the whole word.",
                "你的循环停不下来：当前位置没有任何词表片段能匹配时，应停止并对整个词返回 "
                "['[UNK]']。",
            )
        return super().__contains__(item)


def _wordpiece(
    word: str, vocab, shortest: bool = False, hashes: bool = True, on_failure: str = "unk"
) -> list[str]:
    """The reference (defaults) and the classic mistakes."""
    pieces, start = [], 0
    while start < len(word):
        ends = range(start + 1, len(word) + 1) if shortest else range(len(word), start, -1)
        for end in ends:
            piece = (
                word[start:end]
                if (start == 0 and hashes != "all") or not hashes
                else "##" + word[start:end]
            )
            if piece in vocab:
                break
        else:
            if on_failure == "partial":
                return pieces + ["[UNK]"]
            if on_failure == "skip":
                start += 1
                continue
            if on_failure == "char_unk":
                pieces.append("[UNK]")
                start += 1
                continue
            return [] if on_failure == "empty" else ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def _backtracking(word: str, vocab) -> list[str]:
    """A wrong answer: a shorter piece is tried when the rest of the word cannot be cut."""

    def cut(start: int) -> list[str] | None:
        if start == len(word):
            return []
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab and (rest := cut(end)) is not None:
                return [piece] + rest
        return None

    return cut(0) or ["[UNK]"]


@exercise("ch08.wordpiece", "WordPiece: greedy longest-match-first", "WordPiece：贪心最长匹配优先")
def check_wordpiece(wordpiece, hidden: bool = False) -> None:
    vocab_set, words = (VOCAB, WORDS) if not hidden else (HIDDEN_VOCAB, HIDDEN_WORDS)
    library = WordPieceTokenizer(
        {t: i for i, t in enumerate(list(SPECIAL_TOKENS) + sorted(vocab_set))}
    )
    want = {w: library.wordpiece(w) for w in words}
    got = {}
    for w in words:
        vocab = _CountingVocab(vocab_set)
        out = wordpiece(w, vocab)
        if (
            isinstance(out, str)
            or not isinstance(out, (list, tuple))
            or not all(isinstance(p, str) for p in out)
        ):
            raise Mistake(
                f"wordpiece({w!r}) should return a list of strings, got {describe(out)}.",
                f"wordpiece({w!r}) 应返回字符串列表，却得到 {describe(out)}。",
                "wrong_type",
            )
        got[w] = list(out)
    if got == want:
        return
    mistakes = [
        (
            {"shortest": True},
            "You took the shortest matching piece first; WordPiece takes the longest one: try the "
            "end of "
            "the word first and move it left.",
            "你先取了最短的匹配片段；WordPiece 取最长的：从词尾开始尝试，再逐步向左缩短。",
            "shortest_first",
        ),
        (
            {"hashes": False},
            'You forgot the "##": every piece after the first is looked up (and returned) as "##" '
            "+ piece.",
            "忘了“##”：第一个片段之后的每个片段，都要加上“##”再查词表（并返回）。",
            "forgot_hashes",
        ),
        (
            {"hashes": "all"},
            'The first piece of a word has no "##": only the pieces that continue a word do.',
            "一个词的第一个片段没有“##”：只有接在词中间的片段才有。",
            "hashes_on_first",
        ),
        (
            {"on_failure": "partial"},
            "When a word cannot be cut, the whole word becomes ['[UNK]'], not the pieces found so "
            "far "
            "plus [UNK].",
            "一个词切不下去时，整个词都变成 ['[UNK]']，而不是已找到的片段再加一个 [UNK]。",
            "partial_unk",
        ),
        (
            {"on_failure": "skip"},
            "You skipped the character that no piece matches; WordPiece gives up instead: the "
            "whole word "
            "becomes ['[UNK]'].",
            "你跳过了无法匹配的字符；WordPiece 的做法是放弃：整个词变成 ['[UNK]']。",
            "skipped_character",
        ),
        (
            {"on_failure": "char_unk"},
            "You replaced only the character that no piece matches by [UNK]; WordPiece gives up on "
            "the whole word: ['[UNK]'].",
            "你只把无法匹配的字符换成了 [UNK]；WordPiece 会放弃整个词：['[UNK]']。",
            "unk_per_character",
        ),
        (
            {"on_failure": "empty"},
            "A word that cannot be cut becomes ['[UNK]'], not an empty list.",
            "切不下去的词应变成 ['[UNK]']，而不是空列表。",
            "empty_for_unknown",
        ),
    ]
    for options, en, zh, key in mistakes:
        if got == {w: _wordpiece(w, vocab_set, **options) for w in words}:
            raise Mistake(en, zh, key)
    if got == {w: _backtracking(w, vocab_set) for w in words}:
        raise Mistake(
            "When the rest of a word cannot be cut, you went back and tried a shorter piece. "
            "WordPiece is greedy and never goes back: the whole word becomes ['[UNK]'].",
            "当词的剩余部分切不下去时，你回头尝试了更短的片段。WordPiece 是贪心的，从不回头："
            "整个词变成 ['[UNK]']。",
            "backtracking",
        )
    if all(got[w] == ["[UNK]"] for w in words):
        raise Mistake(
            "Every word became ['[UNK]'], even words of the vocabulary: does your loop try the "
            "whole rest of the word (end = len(word)) down to one character (end = start + 1)?",
            "每个词都变成了 ['[UNK]']，连词表里的词也是：你的循环是否从整个剩余部分"
            "（end = len(word)）一直试到单个字符（end = start + 1）？",
            "always_unk",
        )
    word = next(w for w in words if got[w] != want[w])
    raise Mistake(
        f"wordpiece({word!r}) returned {got[word]}, expected {want[word]}.",
        f"wordpiece({word!r}) 返回了 {got[word]}，应为 {want[word]}。",
    )


# ---- ch08.segment_ids -------------------------------------------------------------------------


@exercise("ch08.segment_ids", "Segment ids of a sentence pair", "句子对的片段编号")
def check_segment_ids(segment_ids, hidden: bool = False) -> None:
    cases = (
        ((2, 5), (4, 3), (1, 1), (7, 2), (3, 3))
        if not hidden
        else ((1, 4), (5, 2), (6, 6), (2, 1), (9, 3))
    )
    for n_a, n_b in cases:
        got = segment_ids(n_a, n_b)
        want = torch.tensor([0] * (n_a + 2) + [1] * (n_b + 1))
        name = f"segment_ids({n_a}, {n_b})"
        compare(
            got,
            want,
            name,
            wrong=[
                (
                    torch.tensor([0] * (n_a + 1) + [1] * (n_b + 2)),
                    "The [SEP] that closes sentence A belongs to segment A (0); "
                    "only B and its own [SEP] are 1.",
                    "结束句子 A 的那个 [SEP] 属于片段 A(0)；只有 B 及其自己的 [SEP] 为 1。",
                    "first_sep_in_b",
                ),
                (
                    torch.zeros(n_a + n_b + 3),
                    "All zeros: sentence B and its [SEP] must have segment id 1.",
                    "全是 0：句子 B 及其 [SEP] 的片段编号必须是 1。",
                    "all_zeros",
                ),
                (
                    torch.tensor([0] * (n_a + 2) + [1] * n_b + [0]),
                    "The final [SEP] closes sentence B, so it belongs to segment B (1).",
                    "最后一个 [SEP] 结束的是句子 B，所以它属于片段 B(1)。",
                    "last_sep_in_a",
                ),
                (
                    torch.tensor([1] * (n_a + 2) + [2] * (n_b + 1)),
                    "Segment ids are 0 and 1: they index a table of two rows, E_A and E_B.",
                    "片段编号是 0 和 1：它们索引一张只有两行（E_A 和 E_B）的表。",
                    "ids_1_and_2",
                ),
                (
                    torch.tensor([1] * (n_a + 2) + [0] * (n_b + 1)),
                    "Swapped: [CLS], sentence A and its [SEP] are segment 0; "
                    "sentence B and its [SEP] are 1.",
                    "反了：[CLS]、句子 A 及其 [SEP] 属于片段 0；句子 B 及其 [SEP] 属于片段 1。",
                    "swapped",
                ),
                (
                    torch.tensor([0] * (n_b + 2) + [1] * (n_a + 1)) if n_a != n_b else None,
                    "You swapped n_a and n_b: the first n_a + 2 ids ([CLS], A, [SEP]) are 0.",
                    "你把 n_a 和 n_b 弄反了：前 n_a + 2 个编号（[CLS]、A、[SEP]）为 0。",
                    "lengths_swapped",
                ),
                (
                    torch.tensor([1] + [0] * (n_a + 1) + [1] * (n_b + 1)),
                    "[CLS] belongs to segment A (0).",
                    "[CLS] 属于片段 A(0)。",
                    "cls_in_b",
                ),
            ],
            shape_hints=[
                (
                    (n_a + n_b,),
                    "You forgot the special tokens: the sequence is [CLS] A [SEP] B [SEP], n_a + "
                    "n_b + 3 ids.",
                    "忘了特殊词元：序列是 [CLS] A [SEP] B [SEP]，共 n_a + n_b + 3 个编号。",
                    "no_special_tokens",
                ),
                (
                    (n_a + n_b + 2,),
                    "One special token short: [CLS] A [SEP] B [SEP] has three ([CLS] and two "
                    "[SEP]), "
                    "n_a + n_b + 3 ids.",
                    "少了一个特殊词元：[CLS] A [SEP] B [SEP] 中有三个（[CLS] 和两个 [SEP]），"
                    "共 n_a "
                    "+ n_b + 3 个编号。",
                    "one_special_token_short",
                ),
                (
                    (n_a + n_b + 4,),
                    "One special token too many: [CLS] A [SEP] B [SEP] has three, n_a + n_b + 3 "
                    "ids.",
                    "多了一个特殊词元：[CLS] A [SEP] B [SEP] 中只有三个，共 n_a + n_b + 3 个编号。",
                    "one_special_token_too_many",
                ),
            ],
        )
        require_integer_ids(got, name)


# ---- ch08.input_embedding ---------------------------------------------------------------------


@exercise("ch08.input_embedding", "BERT's input embedding", "BERT 的输入嵌入")
def check_input_embedding(input_embedding, hidden: bool = False) -> None:
    cases = [
        (
            12,
            16,
            6,
            [[1, 5, 7, 2, 9, 3, 2, 0], [1, 4, 4, 2, 11, 10, 6, 2]],
            [[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1]],
        ),
        (9, 5, 4, [[1, 3, 2, 8, 2]], [[0, 0, 0, 1, 1]]),  # L = P: every position used
        (7, 6, 3, [[1, 2], [1, 6], [5, 2]], [[0, 0], [0, 1], [1, 1]]),
    ]
    if hidden:
        cases = [
            (
                10,
                12,
                4,
                [[1, 6, 2, 3, 3, 2], [1, 9, 2, 8, 2, 0]],  # a padded row: id 0 is embedded too
                [[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0]],
            ),
            (6, 4, 5, [[1, 4, 2, 5]], [[0, 0, 1, 1]]),
            (8, 9, 2, [[1, 7, 2], [1, 3, 2], [4, 4, 4]], [[0, 0, 0], [0, 1, 1], [1, 0, 1]]),
        ]
    for n, (V, P, H, ids, types) in enumerate(cases):
        g = torch.Generator().manual_seed(8) if n == 0 and not hidden else generator(8 + n, hidden)
        word, segment, position = (
            torch.randn(m, H, generator=g, dtype=torch.float64) for m in (V, 2, P)
        )
        input_ids, token_type_ids = torch.tensor(ids), torch.tensor(types)
        layer_norm = nn.LayerNorm(H, eps=1e-12).double()
        with torch.no_grad():
            layer_norm.weight.copy_(torch.rand(H, generator=g, dtype=torch.float64) + 0.5)
            layer_norm.bias.copy_(torch.randn(H, generator=g, dtype=torch.float64))
        L = input_ids.shape[1]
        # tables that require gradients, as nn.Embedding's weights do: the output keeps its graph
        tables = (t.clone().requires_grad_() for t in (word, segment, position))
        got = input_embedding(input_ids, token_type_ids, *tables, layer_norm)
        with torch.no_grad():
            tok, seg, pos = word[input_ids], segment[token_type_ids], position[:L]
            compare(
                got,
                layer_norm(tok + seg + pos),
                "input embedding",
                wrong=[
                    (
                        lambda: layer_norm(tok + pos),
                        (
                            "You forgot the segment embedding: add "
                            "segment_embeddings[token_type_ids] (E_A or E_B). "
                            "(Adding the id 0 or 1 itself to every number would change nothing: "
                            "LayerNorm removes a constant shift.)"
                        ),
                        (
                            "忘了片段嵌入：要加上 segment_embeddings[token_type_ids]"
                            "（E_A 或 E_B）。（把编号 0 或 1 本身加到每个数上"
                            "不会有任何效果：LayerNorm 会去掉一个常数平移。）"
                        ),
                        "no_segment",
                    ),
                    (
                        lambda: layer_norm(tok + seg),
                        "You forgot the position embedding: add position_embeddings[0 … L−1].",
                        "忘了位置嵌入：要加上 position_embeddings[0 … L−1]。",
                        "no_position",
                    ),
                    (
                        lambda: tok + seg + pos,
                        "You forgot the LayerNorm after the sum.",
                        "忘了求和之后的 LayerNorm。",
                        "no_layer_norm",
                    ),
                    (
                        lambda: layer_norm(tok) + seg + pos,
                        "LayerNorm comes after the sum of the three embeddings, not before it.",
                        "LayerNorm 应在三个嵌入相加之后，而不是之前。",
                        "layer_norm_first",
                    ),
                    (
                        lambda: layer_norm(tok + seg + position[input_ids]),
                        "You indexed the position table with the token ids; "
                        "use the positions 0, 1, …, L−1.",
                        "你用词元编号去索引位置表；应使用位置 0, 1, …, L−1。",
                        "positions_from_ids",
                    ),
                    (
                        lambda: layer_norm(tok + seg + position[1 : L + 1]) if L < P else None,
                        "Off by one: the first token has "
                        "position 0, so add position_embeddings[0 … L−1].",
                        "差了一位：第一个词元的位置是 0，应加上 position_embeddings[0 … L−1]。",
                        "positions_from_one",
                    ),
                    (
                        lambda: layer_norm(tok + segment[1 - token_type_ids] + pos),
                        "The segment ids are swapped: token_type_ids "
                        "0 selects E_A (row 0), 1 selects E_B.",
                        "片段编号用反了：token_type_ids 为 0 时取 E_A（第 0 行），为 1 时取 E_B。",
                        "segments_swapped",
                    ),
                    (
                        lambda: layer_norm(tok + seg + position[:L].sum(0)),
                        "Each token gets its OWN position vector: "
                        "position_embeddings[t] at position t.",
                        "每个词元有自己的位置向量：位置 t 加 position_embeddings[t]。",
                        "positions_summed",
                    ),
                ],
            )
        require_graph(got, "the input embedding")


# ---- ch08.count_parameters --------------------------------------------------------------------

CONFIGS = [
    (30522, 768, 12, 3072, 512, 2),
    (30522, 1024, 24, 4096, 512, 2),
    (30522, 384, 6, 1536, 512, 2),
    (100, 8, 2, 20, 16, 2),
    (50, 6, 3, 10, 12, 3),
]
HIDDEN_CONFIGS = [
    (21128, 768, 12, 3072, 512, 2),
    (30522, 256, 4, 1024, 512, 2),
    (250, 12, 5, 7, 40, 4),
    (64, 4, 1, 16, 8, 2),
    (1000, 32, 3, 64, 128, 1),
]


def _parameter_variants(V: int, H: int, L: int, I: int, P: int, S: int) -> dict[str, int]:
    config = BertConfig(
        vocab_size=V,
        hidden_size=H,
        num_hidden_layers=L,
        intermediate_size=I,
        max_position_embeddings=P,
        type_vocab_size=S,
        num_attention_heads=1,
    )
    total = bert_count_parameters(config)
    return {
        "right": total,
        "no_pos_seg": total - (P + S) * H,
        "no_pooler": total - (H * H + H),
        "no_layer_norms": total - 2 * H - L * 4 * H,
        "no_biases": total - L * (4 * H + I + H) - H,
        "heads": total + parameter_breakdown(config)["pretraining_heads"],
        "square_ffn": total - L * (2 * H * I + I) + L * (2 * H * H + H),
        "one_layer": total - (L - 1) * (4 * H * H + 4 * H + 2 * H * I + I + H + 4 * H),
        "no_embedding_norm": total - 2 * H,
    }


@exercise("ch08.count_parameters", "Predict BERT's parameter count", "预测 BERT 的参数量")
def check_count_parameters(count_parameters, hidden: bool = False) -> None:
    messages = {
        "no_pos_seg": (
            "You forgot the position and segment embeddings: (max_positions + type_vocab_size) · H "
            "more.",
            "忘了位置嵌入和片段嵌入：还要加上 (max_positions + type_vocab_size) · H。",
        ),
        "no_pooler": (
            "You forgot the pooler, a dense H → H layer on [CLS]: H² + H.",
            "忘了池化层（作用在 [CLS] 上的 H → H 全连接层）：H² + H。",
        ),
        "no_layer_norms": (
            "You forgot the LayerNorms (2H each): one after the embeddings and two in every layer.",
            "忘了 LayerNorm（每个 2H）：嵌入之后一个，每层两个。",
        ),
        "no_biases": (
            "You forgot the biases of the linear layers (W_q, W_k, W_v, W_o, both FFN layers, the "
            "pooler).",
            "忘了线性层的偏置（W_q、W_k、W_v、W_o、FFN 的两层、池化层）。",
        ),
        "heads": (
            "You added the pretraining heads (masked LM and next sentence); BertModel stops at the "
            "pooler.",
            "你加上了预训练头（掩码语言模型和下一句预测）；BertModel 到池化层为止。",
        ),
        "square_ffn": (
            "The feed-forward network goes H → intermediate_size → H, not H → H → H.",
            "前馈网络是 H → intermediate_size → H，而不是 H → H → H。",
        ),
        "one_layer": (
            "You counted one encoder layer: there are L of them (num_hidden_layers).",
            "你只算了一层编码器：共有 L 层（num_hidden_layers）。",
        ),
        "no_embedding_norm": (
            "You forgot the LayerNorm after the embeddings (2H).",
            "忘了嵌入之后的 LayerNorm(2H)。",
        ),
    }
    cases = CONFIGS if not hidden else HIDDEN_CONFIGS
    predictions(
        count_parameters,
        cases,
        [_parameter_variants(*c)["right"] for c in cases],
        "count_parameters",
        [
            ((lambda *c, key=key: _parameter_variants(*c)[key]), en, zh, key)
            for key, (en, zh) in messages.items()
        ],
        rtol=0,
        atol=0.5,
    )
