"""The explorers (rnn2bert.explorers): self-contained HTML + JavaScript with the data inside.

They are driven by mouse in a real browser in tests/test_site.py; here: the data they embed,
and that nothing in them reaches outside the page.
"""

import json
import re

import pytest
import torch

from rnn2bert.explorers import (
    attention_explorer,
    mask_explorer,
    positional_explorer,
    scaling_explorer,
)

URL = re.compile(r"(?:https?:)?//(?!www\.w3\.org/)[a-z0-9.-]+\.[a-z]{2,}", re.I)


def embedded(html: str) -> dict:
    """The JSON the page hands to R2B.mount."""
    return json.loads(re.search(r'R2B\.mount\("[^"]+", "\w+", (\{.*\})\);', html).group(1))


def examples():
    torch.manual_seed(0)
    w = torch.softmax(torch.randn(2, 3, 5, 5), -1)
    return [
        attention_explorer(list("abcde"), w, layer=1, head=2, focus=3),
        scaling_explorer([1, 64], torch.randn(2, 10)),
        mask_explorer(list("abcd"), torch.randn(4, 4)),
        positional_explorer(16, 50),
    ]


@pytest.mark.parametrize("explorer", examples(), ids=lambda e: e.kind)
def test_page_is_self_contained(explorer):
    html = explorer._repr_html_()
    assert html.count("<script>") == 1 and html.count("</script>") == 1
    assert f'id="{explorer.element_id}"' in html and f'R2B.mount("{explorer.element_id}"' in html
    assert not URL.findall(html), URL.findall(html)  # nothing loaded from anywhere
    assert embedded(html) == explorer.data
    assert explorer._repr_html_() == html  # the same data gives the same page


def test_attention_weights_travel_in_thousandths():
    torch.manual_seed(0)
    w = torch.softmax(torch.randn(2, 3, 5, 5), -1)
    e = attention_explorer(["[CLS]", "a", "</script>", "b", "[SEP]"], w, layer=-1, head=1, focus=-1)
    data = embedded(e._repr_html_())
    assert (torch.tensor(data["weights"]) / 1000 - w).abs().max() <= 0.0005
    assert (data["layer"], data["head"], data["focus"]) == (1, 1, 4)
    assert data["tokens"][2] == "</script>"  # escaped in the page, intact in the data
    assert '</script>"' not in e._repr_html_()
    assert repr(e) == "attention explorer: 2 layer(s) × 3 head(s), 5 tokens"


def test_attention_accepts_one_head_and_masked_rows():
    w = torch.tensor([[1.0, 0.0], [0.0, 0.0]])  # the second query was fully masked
    assert attention_explorer(["a", "b"], w).data["weights"] == [[[[1000, 0], [0, 0]]]]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: attention_explorer(["a", "b"], torch.ones(2, 2)), "sum to 1"),
        (lambda: attention_explorer(["a"], torch.eye(2)), "2 tokens|1 tokens"),
        (lambda: scaling_explorer([1, 2, 3], torch.zeros(2, 4)), "3 values"),
        (lambda: mask_explorer(["a", "b"], torch.zeros(3, 3)), r"\(2, 2\)"),
        (lambda: positional_explorer(7), "even"),
    ],
)
def test_bad_input_is_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_explorer_code_ships_with_the_package():
    from importlib import resources

    files = resources.files("rnn2bert")
    assert "function attention" in (files / "explorers.js").read_text()
    assert ".r2b-explorer" in (files / "explorers.css").read_text()
