"""Checks for chapter 08, BERT's architecture and inputs."""
from __future__ import annotations

import torch
from torch import nn

from ..bert import BertConfig, parameter_breakdown
from ..bert import count_parameters as bert_count_parameters
from ..tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
from .core import Mistake, compare, exercise

# ---- ch08.wordpiece ---------------------------------------------------------------------------

VOCAB = {"play", "##ing", "ing", "##in", "##g", "p", "##l", "##a", "##ay", "##y", "##i", "##n",
         "un", "u", "##aff", "##af", "##f", "##able", "##ab", "##le", "##b", "##e",
         "token", "to", "##ken", "##k", "##o", "##ization", "##iz", "##ation", "##s"}
WORDS = ["playing", "unaffable", "tokenization", "play", "plays", "playx", "xplay"]
MAX_LOOKUPS = 10_000


class _CountingVocab(set):
    """A set that counts membership tests, to stop a loop that never advances."""

    lookups = 0

    def __contains__(self, item) -> bool:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise Mistake("Your loop never ends: when no piece of the vocabulary fits at the current position, stop and "
                          "return ['[UNK]'] for the whole word.",
                          "你的循环停不下来：当前位置没有任何词表片段能匹配时，应停止并对整个词返回 ['[UNK]']。")
        return super().__contains__(item)


def _wordpiece(word: str, vocab, shortest: bool = False, hashes: bool = True, on_failure: str = "unk") -> list[str]:
    """The reference (defaults) and the classic mistakes."""
    pieces, start = [], 0
    while start < len(word):
        ends = range(start + 1, len(word) + 1) if shortest else range(len(word), start, -1)
        for end in ends:
            piece = word[start:end] if start == 0 or not hashes else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            if on_failure == "partial":
                return pieces + ["[UNK]"]
            if on_failure == "skip":
                start += 1
                continue
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


@exercise("ch08.wordpiece", "WordPiece: greedy longest-match-first", "WordPiece：贪心最长匹配优先")
def check_wordpiece(wordpiece) -> None:
    library = WordPieceTokenizer({t: i for i, t in enumerate(list(SPECIAL_TOKENS) + sorted(VOCAB))})
    want = {w: library.wordpiece(w) for w in WORDS}
    got = {}
    for w in WORDS:
        vocab = _CountingVocab(VOCAB)
        out = wordpiece(w, vocab)
        if out is None:
            raise Mistake(f"wordpiece({w!r}) returned None: did you forget to `return` the list of pieces?",
                          f"wordpiece({w!r}) 返回了 None：是不是忘了 `return` 片段列表？")
        if isinstance(out, str) or not all(isinstance(p, str) for p in out):
            raise Mistake(f"wordpiece({w!r}) should return a list of strings, got {out!r}.",
                          f"wordpiece({w!r}) 应返回字符串列表，却得到 {out!r}。")
        got[w] = list(out)
    if got == want:
        return
    mistakes = [
        ({"shortest": True}, "You took the shortest matching piece first; WordPiece takes the longest one: try the end of the word first and move it left.",
         "你先取了最短的匹配片段；WordPiece 取最长的：从词尾开始尝试，再逐步向左缩短。"),
        ({"hashes": False}, "You forgot the \"##\": every piece after the first is looked up (and returned) as \"##\" + piece.",
         "忘了 “##”：第一个片段之后的每个片段，都要以 “##” + 片段 的形式查词表(并返回)。"),
        ({"on_failure": "partial"}, "When a word cannot be cut, the whole word becomes ['[UNK]'], not the pieces found so far plus [UNK].",
         "一个词切不下去时，整个词都变成 ['[UNK]']，而不是已找到的片段再加一个 [UNK]。"),
        ({"on_failure": "skip"}, "You skipped the character that no piece matches; WordPiece gives up instead: the whole word becomes ['[UNK]'].",
         "你跳过了无法匹配的字符；WordPiece 的做法是放弃：整个词变成 ['[UNK]']。"),
    ]
    for options, en, zh in mistakes:
        if got == {w: _wordpiece(w, VOCAB, **options) for w in WORDS}:
            raise Mistake(en, zh)
    word = next(w for w in WORDS if got[w] != want[w])
    raise Mistake(f"wordpiece({word!r}) returned {got[word]}, expected {want[word]}.",
                  f"wordpiece({word!r}) 返回了 {got[word]}，应为 {want[word]}。")


# ---- ch08.segment_ids -------------------------------------------------------------------------

@exercise("ch08.segment_ids", "Segment ids of a sentence pair", "句子对的片段编号")
def check_segment_ids(segment_ids) -> None:
    for n_a, n_b in ((4, 3), (2, 5), (1, 1)):
        got = segment_ids(n_a, n_b)
        want = torch.tensor([0] * (n_a + 2) + [1] * (n_b + 1))
        name = f"segment_ids({n_a}, {n_b})"
        compare(got, want, name, wrong=[
            (torch.tensor([0] * (n_a + 1) + [1] * (n_b + 2)), "The [SEP] that closes sentence A belongs to segment A (0); only B and its own [SEP] are 1.",
             "结束句子 A 的那个 [SEP] 属于片段 A(0)；只有 B 及其自己的 [SEP] 为 1。"),
            (torch.zeros(n_a + n_b + 3), "All zeros: sentence B and its [SEP] must have segment id 1.",
             "全是 0：句子 B 及其 [SEP] 的片段编号必须是 1。"),
            (torch.tensor([0] * (n_a + 2) + [1] * n_b + [0]), "The final [SEP] closes sentence B, so it belongs to segment B (1).",
             "最后一个 [SEP] 结束的是句子 B，所以它属于片段 B(1)。"),
            (torch.tensor([1] * (n_a + 2) + [2] * (n_b + 1)), "Segment ids are 0 and 1: they index a table of two rows, E_A and E_B.",
             "片段编号是 0 和 1：它们索引一张只有两行(E_A 和 E_B)的表。"),
            (torch.tensor([1] * (n_a + 2) + [0] * (n_b + 1)), "Swapped: [CLS], sentence A and its [SEP] are segment 0; sentence B and its [SEP] are 1.",
             "反了：[CLS]、句子 A 及其 [SEP] 属于片段 0；句子 B 及其 [SEP] 属于片段 1。"),
        ], shape_hints=[
            ((n_a + n_b,), "You forgot the special tokens: the sequence is [CLS] A [SEP] B [SEP], n_a + n_b + 3 ids.",
             "忘了特殊词元：序列是 [CLS] A [SEP] B [SEP]，共 n_a + n_b + 3 个编号。"),
            ((n_a + n_b + 2,), "One special token short: [CLS] A [SEP] B [SEP] has three ([CLS] and two [SEP]), n_a + n_b + 3 ids.",
             "少了一个特殊词元：[CLS] A [SEP] B [SEP] 中有三个([CLS] 和两个 [SEP])，共 n_a + n_b + 3 个编号。"),
        ])


# ---- ch08.input_embedding ---------------------------------------------------------------------

@exercise("ch08.input_embedding", "BERT's input embedding", "BERT 的输入嵌入")
def check_input_embedding(input_embedding) -> None:
    g = torch.Generator().manual_seed(8)
    V, P, H = 12, 16, 6
    word, segment, position = (torch.randn(n, H, generator=g, dtype=torch.float64) for n in (V, 2, P))
    input_ids = torch.tensor([[1, 5, 7, 2, 9, 3, 2, 0], [1, 4, 4, 2, 11, 10, 6, 2]])
    token_type_ids = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1]])
    layer_norm = nn.LayerNorm(H, eps=1e-12).double()
    with torch.no_grad():
        layer_norm.weight.copy_(torch.rand(H, generator=g, dtype=torch.float64) + 0.5)
        layer_norm.bias.copy_(torch.randn(H, generator=g, dtype=torch.float64))
        L = input_ids.shape[1]
        got = input_embedding(input_ids.clone(), token_type_ids.clone(), word.clone(), segment.clone(), position.clone(), layer_norm)
        tok, seg, pos = word[input_ids], segment[token_type_ids], position[:L]
        compare(got, layer_norm(tok + seg + pos), "input embedding", wrong=[
            (layer_norm(tok + pos),
             ("You forgot the segment embedding: add segment_embeddings[token_type_ids] (E_A or E_B). "
              "(Adding the id 0 or 1 itself to every number would change nothing: LayerNorm removes a constant shift.)"),
             ("忘了片段嵌入：要加上 segment_embeddings[token_type_ids](E_A 或 E_B)。"
              "(把编号 0 或 1 本身加到每个数上不会有任何效果：LayerNorm 会去掉一个常数平移。)")),
            (layer_norm(tok + seg), "You forgot the position embedding: add position_embeddings[0 … L−1].",
             "忘了位置嵌入：要加上 position_embeddings[0 … L−1]。"),
            (tok + seg + pos, "You forgot the LayerNorm after the sum.", "忘了求和之后的 LayerNorm。"),
            (layer_norm(tok) + seg + pos, "LayerNorm comes after the sum of the three embeddings, not before it.",
             "LayerNorm 应在三个嵌入相加之后，而不是之前。"),
            (layer_norm(tok + seg + position[input_ids]), "You indexed the position table with the token ids; use the positions 0, 1, …, L−1.",
             "你用词元编号去索引位置表；应使用位置 0, 1, …, L−1。"),
        ])


# ---- ch08.count_parameters --------------------------------------------------------------------

CONFIGS = [(30522, 768, 12, 3072, 512, 2), (30522, 1024, 24, 4096, 512, 2), (30522, 384, 6, 1536, 512, 2),
           (100, 8, 2, 20, 16, 2), (50, 6, 3, 10, 12, 3)]


def _parameter_variants(V: int, H: int, L: int, I: int, P: int, S: int) -> dict[str, int]:
    config = BertConfig(vocab_size=V, hidden_size=H, num_hidden_layers=L, intermediate_size=I,
                        max_position_embeddings=P, type_vocab_size=S, num_attention_heads=1)
    total = bert_count_parameters(config)
    return {
        "right": total,
        "no_pos_seg": total - (P + S) * H,
        "no_pooler": total - (H * H + H),
        "no_layer_norms": total - 2 * H - L * 4 * H,
        "no_biases": total - L * (4 * H + I + H) - H,
        "heads": total + parameter_breakdown(config)["pretraining_heads"],
        "square_ffn": total - L * (2 * H * I + I) + L * (2 * H * H + H),
    }


@exercise("ch08.count_parameters", "Predict BERT's parameter count", "预测 BERT 的参数量")
def check_count_parameters(count_parameters) -> None:
    messages = {
        "no_pos_seg": ("You forgot the position and segment embeddings: (max_positions + type_vocab_size) · H more.",
                       "忘了位置嵌入和片段嵌入：还要加上 (max_positions + type_vocab_size) · H。"),
        "no_pooler": ("You forgot the pooler, a dense H → H layer on [CLS]: H² + H.",
                      "忘了池化层(作用在 [CLS] 上的 H → H 全连接层)：H² + H。"),
        "no_layer_norms": ("You forgot the LayerNorms (2H each): one after the embeddings and two in every layer.",
                           "忘了 LayerNorm(每个 2H)：嵌入之后一个，每层两个。"),
        "no_biases": ("You forgot the biases of the linear layers (W_q, W_k, W_v, W_o, both FFN layers, the pooler).",
                      "忘了线性层的偏置(W_q、W_k、W_v、W_o、FFN 的两层、池化层)。"),
        "heads": ("You added the pretraining heads (masked LM and next sentence); BertModel stops at the pooler.",
                  "你加上了预训练头(掩码语言模型和下一句预测)；BertModel 到池化层为止。"),
        "square_ffn": ("The feed-forward network goes H → intermediate_size → H, not H → H → H.",
                       "前馈网络是 H → intermediate_size → H，而不是 H → H → H。"),
    }
    for V, H, L, I, P, S in CONFIGS:
        got = count_parameters(V, H, L, I, P, S)
        name = f"count_parameters({V}, {H}, {L}, {I}, {P}, {S})"
        if got is None:
            raise Mistake(f"{name} is None: did you forget to `return` it?", f"{name} 是 None：是不是忘了 `return`？")
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise Mistake(f"{name} should be a number, got {type(got).__name__}.",
                          f"{name} 应该是一个数，却得到 {type(got).__name__}。") from None
        variants = _parameter_variants(V, H, L, I, P, S)
        if value == variants["right"]:
            continue
        for key, (en, zh) in messages.items():
            if value == variants[key]:
                raise Mistake(en, zh)
        raise Mistake(f"{name} = {value:,.0f}, expected {variants['right']:,} (off by {value - variants['right']:+,.0f}).",
                      f"{name} = {value:,.0f}，应为 {variants['right']:,}(相差 {value - variants['right']:+,.0f})。")
