"""The book's BERT against Hugging Face's, number for number, on random and on real weights."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the internet

import pytest
import torch

from conftest import require
from rnn2bert.bert import (
    TIED,
    BertConfig,
    BertForPreTraining,
    BertModel,
    book_to_hf_name,
    count_parameters,
    hf_to_book_name,
    load_hf_state_dict,
    parameter_breakdown,
)
from rnn2bert.masks import as_attention_mask
from rnn2bert.transformer import EncoderLayer

transformers = require("transformers")

SMALL = dict(
    vocab_size=100,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=128,
    max_position_embeddings=32,
)
ATOL = 1e-4


def close(actual, expected):
    torch.testing.assert_close(actual, expected, atol=ATOL, rtol=ATOL)


def randomize(model: torch.nn.Module, seed: int = 0) -> None:
    """Weights far from the initialisation (LayerNorm gains included), so that every swapped
    name or forgotten parameter shows in the outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(
                torch.randn(p.shape, generator=g) * 0.2
                + (1.0 if name.endswith("LayerNorm.weight") else 0.0)
            )


def hf_model(cls, config: BertConfig):
    hf_config = transformers.BertConfig(**config.to_dict())
    model = getattr(transformers, cls)._from_config(hf_config, attn_implementation="eager")
    randomize(model)
    return model.eval()


def batch():
    """Two sentence pairs, the second padded: token_type_ids 0…0 1…1, attention_mask 1…1 0 0."""
    g = torch.Generator().manual_seed(1)
    input_ids = torch.randint(5, 100, (2, 9), generator=g)
    input_ids[1, 7:] = 0
    token_type_ids = torch.tensor([[0] * 4 + [1] * 5, [0] * 3 + [1] * 4 + [0] * 2])
    attention_mask = torch.tensor([[1] * 9, [1] * 7 + [0] * 2])
    return input_ids, token_type_ids, attention_mask


def test_config_maps_hugging_face_json(tmp_path):
    config = BertConfig(**SMALL)
    transformers.BertConfig(**config.to_dict()).save_pretrained(tmp_path)
    assert BertConfig.from_json_file(tmp_path / "config.json") == config
    assert BertConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="relative_key"):
        BertConfig.from_dict({"position_embedding_type": "relative_key"})


def test_names_round_trip():
    model = BertForPreTraining(BertConfig(**SMALL))
    hf = hf_model("BertForPreTraining", BertConfig(**SMALL))
    hf_names = set(hf.state_dict())
    for name in model.state_dict().keys() - TIED:
        assert hf_to_book_name(book_to_hf_name(name)) == name
        assert book_to_hf_name(name) in hf_names
    assert (
        hf_to_book_name("bert.encoder.layer.3.attention.output.LayerNorm.gamma")
        == "bert.encoder.layers.3.norm1.weight"
    )


def test_bert_model_equals_hugging_face():
    config = BertConfig(**SMALL)
    hf = hf_model("BertModel", config)
    model = BertModel(config).eval()
    load_hf_state_dict(model, hf.state_dict())
    input_ids, token_type_ids, attention_mask = batch()
    with torch.no_grad():
        want = hf(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_attentions=True,
        )
        got = model(input_ids, token_type_ids, attention_mask)
    close(got.last_hidden_state, want.last_hidden_state)
    close(got.pooler_output, want.pooler_output)
    assert len(got.attentions) == config.num_hidden_layers
    for mine, theirs in zip(got.attentions, want.attentions, strict=True):
        assert mine.shape == (2, config.num_attention_heads, 9, 9)
        close(mine, theirs)
    assert (got.attentions[0][1, :, :, 7:] == 0).all()  # nobody attends to the padding


def test_padding_does_not_change_real_tokens():
    model = BertModel(BertConfig(**SMALL)).eval()
    input_ids, token_type_ids, attention_mask = batch()
    with torch.no_grad():
        padded = model(input_ids, token_type_ids, attention_mask).last_hidden_state[1, :7]
        alone = model(input_ids[1:, :7], token_type_ids[1:, :7]).last_hidden_state[0]
    close(padded, alone)


def test_pretraining_model_equals_hugging_face():
    config = BertConfig(**SMALL)
    hf = hf_model("BertForPreTraining", config)
    model = BertForPreTraining(config).eval()
    load_hf_state_dict(model, hf.state_dict())
    input_ids, token_type_ids, attention_mask = batch()
    labels = torch.full_like(input_ids, -100)
    labels[0, 2], labels[0, 6], labels[1, 1] = 7, 42, 99
    next_sentence_label = torch.tensor([0, 1])
    with torch.no_grad():
        want = hf(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            labels=labels,
            next_sentence_label=next_sentence_label,
        )
        got = model(
            input_ids,
            token_type_ids,
            attention_mask,
            labels=labels,
            next_sentence_label=next_sentence_label,
        )
    close(got.prediction_logits, want.prediction_logits)
    close(got.seq_relationship_logits, want.seq_relationship_logits)
    close(got.loss, want.loss)
    close(got.loss, got.mlm_loss + got.nsp_loss)
    only_mlm = model(input_ids, token_type_ids, attention_mask, labels=labels)
    assert only_mlm.nsp_loss is None and torch.equal(only_mlm.loss, only_mlm.mlm_loss)
    assert model(input_ids).loss is None


def test_decoder_is_tied_to_word_embeddings():
    model = BertForPreTraining(BertConfig(**SMALL))
    assert model.heads.mlm_decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert not model.bert.embeddings.word_embeddings.weight[0].any()  # [PAD] starts at 0
    assert sum(p.numel() for p in model.parameters()) == count_parameters(
        model.config, pretraining_heads=True
    )


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**SMALL)).eval()
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    loaded = BertForPreTraining.from_pretrained(tmp_path)
    assert not loaded.training
    assert loaded.heads.mlm_decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    mine, theirs = model.state_dict(), loaded.state_dict()
    assert list(mine) == list(theirs)
    for name in mine:
        assert torch.equal(mine[name], theirs[name]), name
    input_ids, token_type_ids, attention_mask = batch()
    with torch.no_grad():
        want = model(input_ids, token_type_ids, attention_mask)
        # Hugging Face reads the checkpoint the book wrote, and the encoder alone loads from it too
        hf = transformers.BertForPreTraining.from_pretrained(tmp_path, attn_implementation="eager")
        hf_out = hf(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        encoder = BertModel.from_pretrained(tmp_path)(input_ids, token_type_ids, attention_mask)
    close(hf_out.prediction_logits, want.prediction_logits)
    close(encoder.last_hidden_state, want.last_hidden_state)


def test_loading_is_strict(tmp_path):
    config = BertConfig(**SMALL)
    BertModel(config).save_pretrained(tmp_path)  # an encoder only: no pretraining heads
    with pytest.raises(KeyError, match="heads.nsp.weight"):
        BertForPreTraining.from_pretrained(tmp_path)
    state = transformers.BertModel(transformers.BertConfig(**config.to_dict())).state_dict()
    state["encoder.layer.0.attention.self.surprise"] = torch.zeros(1)
    with pytest.raises(KeyError, match="surprise"):
        load_hf_state_dict(BertModel(config), state)


def test_pytorch_bin_checkpoint(tmp_path):
    config = BertConfig(**SMALL)
    hf = hf_model("BertModel", config)
    config.to_json_file(tmp_path / "config.json")
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")
    model = BertModel.from_pretrained(tmp_path)
    input_ids, token_type_ids, attention_mask = batch()
    with torch.no_grad():
        close(model(input_ids).pooler_output, hf(input_ids).pooler_output)


def test_parameter_counts():
    for config in (
        BertConfig(**SMALL),
        BertConfig(**{**SMALL, "type_vocab_size": 1, "intermediate_size": 37}),
    ):
        assert count_parameters(config) == sum(p.numel() for p in BertModel(config).parameters())
    base = BertConfig()
    assert (
        count_parameters(base)
        == sum(p.numel() for p in BertModel(base).parameters())
        == 109_482_240
    )
    large = BertConfig(
        num_hidden_layers=24, hidden_size=1024, num_attention_heads=16, intermediate_size=4096
    )
    assert count_parameters(large) == 335_141_888
    assert parameter_breakdown(base)["embeddings"] == (30522 + 512 + 2) * 768 + 2 * 768


# ----------------------------------------------------------------------------- real weights
@pytest.fixture(scope="module")
def minilm(minilm_dir):
    folder = minilm_dir
    hf = transformers.BertModel.from_pretrained(folder, attn_implementation="eager").eval()
    return BertModel.from_pretrained(folder), hf, transformers.BertTokenizer.from_pretrained(folder)


def test_minilm_equals_hugging_face(minilm):
    model, hf, tokenizer = minilm
    sentences = [
        "The animal didn't cross the street because it was too tired.",
        "I went to the bank to deposit money.",
        "我爱北京天安门。",
    ]
    enc = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        want = hf(**enc, output_attentions=True)
        got = model(enc["input_ids"], enc["token_type_ids"], enc["attention_mask"])
    close(got.last_hidden_state, want.last_hidden_state)
    close(got.pooler_output, want.pooler_output)
    assert len(got.attentions) == 6 and got.attentions[0].shape[1] == 12
    for mine, theirs in zip(got.attentions, want.attentions, strict=True):
        close(mine, theirs)


# ----------------------------------------------------------------------------- chapter 07 -> 08
def test_chapter_07_encoder_layer_computes_hugging_face_bert_layers():
    """BERT's layer is chapter 07's: an ``EncoderLayer`` with GELU and ε = 1e-12, given a layer's
    weights, maps Hugging Face's hidden state before that layer to the one after it."""
    config = BertConfig(**SMALL)
    hf = hf_model("BertModel", config)
    input_ids, token_type_ids, attention_mask = batch()
    with torch.no_grad():
        hidden = hf(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_hidden_states=True,
        ).hidden_states
    assert len(hidden) == config.num_hidden_layers + 1
    for i in range(config.num_hidden_layers):
        layer = EncoderLayer(
            config.hidden_size,
            config.num_attention_heads,
            config.intermediate_size,
            activation="gelu",
            eps=config.layer_norm_eps,
        ).eval()
        prefix = f"encoder.layers.{i}."
        state = {
            hf_to_book_name(k).removeprefix(prefix): v
            for k, v in hf.state_dict().items()
            if hf_to_book_name(k).startswith(prefix)
        }
        layer.load_state_dict(state)  # strict: every parameter of the layer
        with torch.no_grad():
            out = layer(hidden[i], as_attention_mask(attention_mask))
        close(out, hidden[i + 1])


def test_bert_layer_is_an_encoder_layer_with_bert_options():
    config = BertConfig(
        **SMALL, hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.3, hidden_act="relu"
    )
    layer = BertModel(config).encoder.layers[1]
    assert isinstance(layer, EncoderLayer) and not layer.norm_first
    assert (layer.norm1.eps, layer.norm2.eps) == (config.layer_norm_eps, config.layer_norm_eps)
    assert (layer.dropout1.p, layer.dropout2.p, layer.self_attn.dropout.p, layer.ffn.dropout.p) == (
        0.2,
        0.2,
        0.3,
        0.0,
    )
    assert isinstance(layer.ffn.activation, torch.nn.ReLU)
    assert layer.ffn.linear1.out_features == config.intermediate_size


# The cell of chapter 08 (section 8.1) that shows the equality, run verbatim on MiniLM below.
CHAPTER_08_CELL = """\
from rnn2bert.masks import as_attention_mask
from rnn2bert.transformer import EncoderLayer

bert_layer = model.encoder.layers[0]
chapter_07 = EncoderLayer(
    config.hidden_size,
    config.num_attention_heads,
    config.intermediate_size,
    activation="gelu",
    eps=config.layer_norm_eps,
)
chapter_07.load_state_dict(bert_layer.state_dict())  # the same names, strict
chapter_07.eval()
pair = tokenizer.encode_batch(["my dog is cute", "he likes playing"])
pair_mask = as_attention_mask(pair["attention_mask"])
with torch.no_grad():
    embedded = model.embeddings(pair["input_ids"], pair["token_type_ids"])
    bert_out, _ = bert_layer(embedded, pair_mask)
    chapter_07_out = chapter_07(embedded, pair_mask)
print("a BertLayer is an EncoderLayer:", isinstance(bert_layer, EncoderLayer))
print(
    "chapter 07's layer with MiniLM's weights gives the same output:",
    torch.allclose(bert_out, chapter_07_out, atol=1e-6),
)
"""


def test_chapter_08_cell_minilm_layer_is_an_encoder_layer(minilm_dir, capsys):
    from rnn2bert.pretrained import load_minilm

    model, tokenizer = load_minilm()
    namespace = {"model": model, "config": model.config, "tokenizer": tokenizer, "torch": torch}
    exec(compile(CHAPTER_08_CELL, "chapter-08-cell", "exec"), namespace)
    assert capsys.readouterr().out == (
        "a BertLayer is an EncoderLayer: True\n"
        "chapter 07's layer with MiniLM's weights gives the same output: True\n"
    )
    assert max(len(line) for line in CHAPTER_08_CELL.splitlines()) <= 80


# ----------------------------------------------------------------------------- on a GPU
@pytest.mark.cuda
def test_pretraining_forward_backward_on_cuda():
    """Every tensor the model creates lives on the input's device: forward (plain and fast
    paths, with padding, labels and ``last_rows``) and backward on CUDA, equal to the CPU."""
    torch.manual_seed(0)
    cpu = BertForPreTraining(BertConfig(**SMALL)).eval()
    gpu = BertForPreTraining(BertConfig(**SMALL)).eval()
    gpu.load_state_dict(cpu.state_dict())
    gpu.cuda()
    input_ids, token_type_ids, attention_mask = batch()
    labels = torch.full_like(input_ids, -100)
    labels[0, 2], labels[1, 1] = 7, 99
    inputs = dict(
        input_ids=input_ids,
        token_type_ids=token_type_ids,
        attention_mask=attention_mask,
        labels=labels,
        next_sentence_label=torch.tensor([0, 1]),
    )
    for output_attentions in (True, False):
        want = cpu(**inputs, output_attentions=output_attentions)
        got = gpu(**{k: v.cuda() for k, v in inputs.items()}, output_attentions=output_attentions)
        assert got.loss.device.type == "cuda"
        close(got.loss.cpu(), want.loss)
        close(got.prediction_logits.cpu(), want.prediction_logits)
        got.loss.backward()
        want.loss.backward()
    for (name, p), q in zip(cpu.named_parameters(), gpu.parameters(), strict=True):
        torch.testing.assert_close(q.grad.cpu(), p.grad, atol=ATOL, rtol=ATOL, msg=name)
    rows = torch.tensor([[0, 2, 5], [0, 1, 1]])
    with torch.no_grad():
        want = cpu.bert(
            input_ids, token_type_ids, attention_mask, output_attentions=False, last_rows=rows
        )
        got = gpu.bert(
            input_ids.cuda(),
            token_type_ids.cuda(),
            attention_mask.cuda(),
            output_attentions=False,
            last_rows=rows.cuda(),
        )
    close(got.last_hidden_state.cpu(), want.last_hidden_state)


def test_states_saved_with_the_old_layer_names_still_load():
    """Training states saved before BertLayer became an EncoderLayer (names attention.*,
    attention_norm.*, ffn_in.*, ffn_out.*, ffn_norm.*) load strictly, and the parameters keep
    their old order, so that a saved optimizer state still fits them."""
    old_order = ["attention.w_q", "attention.w_k", "attention.w_v", "attention.w_o",
                 "attention_norm", "ffn_in", "ffn_out", "ffn_norm"]  # fmt: skip
    new_order = ["self_attn.w_q", "self_attn.w_k", "self_attn.w_v", "self_attn.w_o",
                 "norm1", "ffn.linear1", "ffn.linear2", "norm2"]  # fmt: skip
    model = BertForPreTraining(BertConfig(**SMALL))
    randomize(model)
    layer_names = [n for n, _ in model.bert.encoder.layers[0].named_parameters()]
    assert layer_names == [f"{m}.{p}" for m in new_order for p in ("weight", "bias")]
    rename = dict(zip(new_order, old_order, strict=True))
    old_state = {}
    for name, tensor in model.state_dict().items():
        head, sep, tail = name.partition(".layers.")
        if sep:
            index, _, rest = tail.partition(".")
            module, _, kind = rest.rpartition(".")
            name = f"{head}.layers.{index}.{rename[module]}.{kind}"
        old_state[name] = tensor
    assert "bert.encoder.layers.1.attention_norm.weight" in old_state
    loaded = BertForPreTraining(BertConfig(**SMALL))
    loaded.load_state_dict(old_state)  # strict
    for (name, mine), theirs in zip(
        model.state_dict().items(), loaded.state_dict().values(), strict=True
    ):
        assert torch.equal(mine, theirs), name
