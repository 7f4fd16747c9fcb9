"""The library's fast paths against the plain ones the chapters teach: outputs, losses and
gradients equal (to float rounding), in eval mode and in training mode with dropout.

* ``MultiHeadAttention(..., need_weights=False)`` (fused Q/K/V projection, ``1/√d_k`` folded into
  ``W_q``, PyTorch's fused attention without dropout);
* ``BertModel`` / ``BertForPreTraining`` with ``output_attentions=False``;
* ``BertModel(..., last_rows=…)`` (the last layer only at some positions) against the full output;
* ``pretraining_loss`` (no maps, last layer and MLM head at [CLS] and the labelled positions only)
  against ``model(**batch).loss``;
* ``pretraining_optimizer`` (fused AdamW) against the plain ``torch.optim.AdamW``;
* the tokenizer's shortcut for ASCII text against its character-by-character loop.

In training mode the fast attention draws its dropout mask exactly as the plain one does (same
shapes, same order), so with the same seed both paths drop the same weights. The last-layer subset
draws fewer random numbers than the full layer, so it is compared in training mode without dropout.
"""

from __future__ import annotations

import copy

import pytest
import torch

from rnn2bert.attention import MultiHeadAttention
from rnn2bert.bert import BertConfig, BertForPreTraining, BertModel
from rnn2bert.masks import causal_mask, padding_mask
from rnn2bert.pretraining import (
    IGNORE,
    evaluate,
    pretrain,
    pretraining_loss,
    pretraining_optimizer,
    pretraining_step,
    rows_for_heads,
)

TOL = dict(atol=1e-5, rtol=1e-5)
SMALL = dict(
    vocab_size=100,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=128,
    max_position_embeddings=32,
)
NO_DROPOUT = dict(SMALL, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def grads(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}


def assert_same_grads(a: torch.nn.Module, b: torch.nn.Module, **tol) -> None:
    ga, gb = grads(a), grads(b)
    assert ga.keys() == gb.keys() and ga
    for name in ga:
        torch.testing.assert_close(ga[name], gb[name], **(tol or TOL), msg=name)


def run_both(mha: MultiHeadAttention, query, key, value, mask, seed=0):
    """Plain and fast forward + backward of the same module on copies; returns outputs, weights,
    input gradients and the two modules."""
    results = []
    for need_weights in (True, False):
        module = copy.deepcopy(mha)
        q = query.clone().requires_grad_()
        kv = q if key is query else key.clone().requires_grad_()
        torch.manual_seed(seed)
        out, weights = module(q, kv, kv if value is key else value, mask, need_weights=need_weights)
        (out * torch.linspace(-1, 1, out.size(-1))).sum().backward()
        results.append((out, weights, q.grad, module))
    return results


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "all", "padding", "causal", "empty_row"])
@pytest.mark.parametrize("bias", [True, False])
def test_fast_self_attention_equals_plain(training, mask_kind, bias):
    torch.manual_seed(0)
    mha = MultiHeadAttention(32, 4, bias=bias, dropout=0.2).train(training)
    x = torch.randn(3, 7, 32)
    mask = {
        "none": None,
        "all": torch.ones(3, 1, 1, 7, dtype=torch.bool),
        "padding": padding_mask(torch.tensor([7, 5, 2]), max_len=7),
        "causal": causal_mask(7),
        "empty_row": torch.ones(7, 7, dtype=torch.bool).index_fill_(0, torch.tensor([3]), False),
    }[mask_kind]
    (plain, w, plain_grad, m_plain), (fast, none, fast_grad, m_fast) = run_both(mha, x, x, x, mask)
    assert none is None and w.shape == (3, 4, 7, 7)
    torch.testing.assert_close(fast, plain, **TOL)
    torch.testing.assert_close(fast_grad, plain_grad, **TOL)
    assert_same_grads(m_fast, m_plain)
    if mask_kind == "empty_row":
        assert (fast[:, 3] == mha.w_o.bias.detach() if bias else fast[:, 3] == 0).all()


@pytest.mark.parametrize("training", [False, True])
def test_fast_cross_attention_equals_plain(training):
    torch.manual_seed(1)
    mha = MultiHeadAttention(24, 3, dropout=0.3).train(training)
    x, memory = torch.randn(2, 5, 24), torch.randn(2, 9, 24)
    mask = padding_mask(torch.tensor([9, 4]))
    (plain, _, plain_grad, m_plain), (fast, _, fast_grad, m_fast) = run_both(
        mha, x, memory, memory, mask
    )
    torch.testing.assert_close(fast, plain, **TOL)
    torch.testing.assert_close(fast_grad, plain_grad, **TOL)
    assert_same_grads(m_fast, m_plain)


def bert_batch(seed: int = 1):
    """Two sentence pairs, the second padded, with MLM and NSP labels."""
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, 100, (2, 12), generator=g)
    input_ids[1, 9:] = 0
    token_type_ids = torch.tensor([[0] * 6 + [1] * 6, [0] * 4 + [1] * 5 + [0] * 3])
    attention_mask = (input_ids != 0).long()
    labels = torch.full_like(input_ids, IGNORE)
    labels[0, [2, 5, 8]] = input_ids[0, [2, 5, 8]]
    labels[1, [1, 6]] = input_ids[1, [1, 6]]
    return dict(
        input_ids=input_ids,
        token_type_ids=token_type_ids,
        attention_mask=attention_mask,
        labels=labels,
        next_sentence_label=torch.tensor([0, 1]),
    )


@pytest.mark.parametrize("training", [False, True])
def test_bert_without_attention_maps_equals_plain(training):
    torch.manual_seed(0)
    model = BertModel(BertConfig(**SMALL)).train(training)
    b = bert_batch()
    outs = []
    for output_attentions in (True, False):
        m = copy.deepcopy(model)
        torch.manual_seed(3)
        out = m(
            b["input_ids"],
            b["token_type_ids"],
            b["attention_mask"],
            output_attentions=output_attentions,
        )
        (out.last_hidden_state.sum() + out.pooler_output.sum()).backward()
        outs.append((out, m))
    (plain, m_plain), (fast, m_fast) = outs
    assert fast.attentions is None and len(plain.attentions) == 2
    torch.testing.assert_close(fast.last_hidden_state, plain.last_hidden_state, **TOL)
    torch.testing.assert_close(fast.pooler_output, plain.pooler_output, **TOL)
    assert_same_grads(m_fast, m_plain)


def test_rows_for_heads_lists_cls_then_the_labels_in_order():
    chosen = torch.tensor(
        [
            [False, True, False, True, False],
            [False, False, False, False, True],
            [False, False, False, False, False],
        ]
    )
    rows, valid = rows_for_heads(chosen)
    assert rows.shape == valid.shape == (3, 3)
    assert rows[valid].tolist() == [0, 1, 3, 0, 4, 0]
    assert valid.tolist() == [[True, True, True], [True, True, False], [True, False, False]]


@pytest.mark.parametrize("fast", [False, True])
def test_last_layer_at_some_rows_equals_full_output(fast):
    torch.manual_seed(0)
    model = BertModel(BertConfig(**SMALL)).eval()
    b = bert_batch()
    rows = torch.tensor([[0, 3, 7, 11], [0, 1, 8, 2]])
    full = model(b["input_ids"], b["token_type_ids"], b["attention_mask"])
    some = model(
        b["input_ids"],
        b["token_type_ids"],
        b["attention_mask"],
        output_attentions=not fast,
        last_rows=rows,
    )
    assert some.last_hidden_state.shape == (2, 4, 64)
    torch.testing.assert_close(
        some.last_hidden_state,
        full.last_hidden_state.gather(1, rows[..., None].expand(-1, -1, 64)),
        **TOL,
    )
    torch.testing.assert_close(some.pooler_output, full.pooler_output, **TOL)
    with pytest.raises(ValueError, match="CLS"):
        model(b["input_ids"], last_rows=rows[:, 1:])


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("label_on_cls", [False, True])
def test_pretraining_loss_equals_full_forward(training, label_on_cls):
    """The fast loss = ``model(**batch).loss``, and so are its gradients (training mode without
    dropout: the last layer's dropout would draw fewer random numbers). A label on position 0
    takes the fallback that computes the last layer everywhere."""
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**NO_DROPOUT)).train(training)
    b = bert_batch()
    if label_on_cls:
        b["labels"][1, 0] = b["input_ids"][1, 0]
    plain_model, fast_model = copy.deepcopy(model), copy.deepcopy(model)
    torch.manual_seed(5)
    plain = plain_model(**b)
    plain.loss.backward()
    torch.manual_seed(5)
    loss, mlm, nsp = pretraining_loss(fast_model, b)
    loss.backward()
    torch.testing.assert_close(loss, plain.loss, **TOL)
    torch.testing.assert_close(mlm, plain.mlm_loss, **TOL)
    torch.testing.assert_close(nsp, plain.nsp_loss, **TOL)
    assert_same_grads(fast_model, plain_model)
    assert fast_model.heads.mlm_decoder.weight is fast_model.bert.embeddings.word_embeddings.weight


def test_fused_adamw_equals_plain_adamw():
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**NO_DROPOUT)).train()
    plain_model, fused_model = copy.deepcopy(model), copy.deepcopy(model)
    fused = pretraining_optimizer(fused_model, lr=1e-2)
    assert fused.defaults["fused"]
    decay = [p for p in plain_model.parameters() if p.ndim > 1]
    no_decay = [p for p in plain_model.parameters() if p.ndim <= 1]
    plain = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-2,
        foreach=False,
    )
    for step in range(3):
        b = bert_batch(seed=step)
        torch.manual_seed(step)
        plain_loss = plain_model(**b).loss
        plain.zero_grad()
        plain_loss.backward()
        torch.nn.utils.clip_grad_norm_(plain_model.parameters(), 1.0)
        plain.step()
        torch.manual_seed(step)
        # fp32 on both sides: the test is about the optimizer (bf16 autocast has its own tests)
        loss, _, _ = pretraining_step(fused_model, b, fused, max_grad_norm=1.0, precision="fp32")
        torch.testing.assert_close(loss, plain_loss.detach(), atol=1e-4, rtol=1e-4)
    for (name, p), q in zip(plain_model.named_parameters(), fused_model.parameters(), strict=True):
        torch.testing.assert_close(q, p, atol=1e-4, rtol=1e-4, msg=name)


def test_pretrain_history_and_fill_in_the_blank_output_unchanged():
    """``pretrain`` runs on the fast step; the full forward still gives every logit and the maps."""
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**SMALL))
    b = bert_batch()
    history = pretrain(model, iter([b] * 4), steps=4, lr=1e-3, progress=False)
    assert len(history["loss"]) == 4 and all(torch.isfinite(torch.tensor(history["loss"])))
    out = model(b["input_ids"], b["token_type_ids"], b["attention_mask"])
    assert out.prediction_logits.shape == (2, 12, 100) and len(out.attentions) == 2


def test_evaluate_equals_the_full_forward():
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**SMALL)).eval()
    b = bert_batch()
    result = evaluate(model, [b])
    with torch.no_grad():
        out = model(**b)
    chosen = b["labels"] != IGNORE
    logits = out.prediction_logits[chosen]
    assert result["masked_positions"] == int(chosen.sum())
    assert (
        result["mlm_accuracy"] == (logits.argmax(-1) == b["labels"][chosen]).float().mean().item()
    )
    assert abs(result["mlm_loss"] - out.mlm_loss.item()) < 1e-5


@pytest.mark.parametrize("lowercase", [True, False])
def test_ascii_shortcut_of_basic_tokenize_equals_the_loop(lowercase):
    from rnn2bert.tokenizer import _basic_tokenize_any, basic_tokenize

    g = torch.Generator().manual_seed(0)
    alphabet = [chr(i) for i in range(128)] + list("aaaaeeeooo      ")  # every ASCII character
    for _ in range(300):
        text = "".join(
            alphabet[i] for i in torch.randint(len(alphabet), (40,), generator=g).tolist()
        )
        assert basic_tokenize(text, lowercase) == _basic_tokenize_any(text, lowercase), repr(text)
    text = "Hello, World!\tIt's 3.14 [sic] a_b~c\x00\x7f\x1fd"
    assert basic_tokenize(text, lowercase) == _basic_tokenize_any(text, lowercase)
