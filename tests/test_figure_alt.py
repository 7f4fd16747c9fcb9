"""Figures' alt text: rnn2bert.plotting.describe_figure and the inline-backend hook that carries it
into the notebook's output metadata (the site's _ext/figure_alt.py turns it into <img alt>)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnn2bert.plotting import add_alt_text_to_inline_figures, describe_figure, use_book_style  # noqa: E402

use_book_style()  # the Chinese font: figures here are rendered, as in a notebook


def test_description_reads_titles_and_labels_in_plain_letters():
    fig, axes = plt.subplots(1, 2)
    fig.suptitle("Temperature · 温度")
    axes[0].set_title(r"scaled: $\mathrm{softmax}(q\cdot k/\sqrt{d_k})$")
    axes[0].set_xlabel("key · 键")
    axes[0].set_ylabel("weight")
    axes[1].set_xlabel("position")
    text = describe_figure(fig)
    plt.close(fig)
    assert text == (
        "Figure: Temperature · 温度. scaled: softmax(q· k/√d_k) (x: key · 键, y: weight); "
        "(x: position)"
    )


def test_long_descriptions_are_cut():
    fig, ax = plt.subplots()
    ax.set_title("a" * 500)
    text = describe_figure(fig)
    plt.close(fig)
    assert len(text) == 400 and text.endswith("...")


def test_inline_figures_carry_the_description():
    from matplotlib_inline import backend_inline

    add_alt_text_to_inline_figures()
    hook = backend_inline._fetch_figure_metadata
    add_alt_text_to_inline_figures()  # a second setup() does not wrap the hook again
    assert backend_inline._fetch_figure_metadata is hook
    fig, ax = plt.subplots()
    ax.set_title("loss · 损失")
    metadata = backend_inline._fetch_figure_metadata(fig)
    plt.close(fig)
    assert metadata == {"image/svg+xml": {"alt": "Figure. loss · 损失"}}


def test_inline_figures_are_deterministic_opaque_svg_or_a_2x_png():
    """SVG by default (same bytes twice, white background, glyphs as paths, no date); a figure
    whose SVG would exceed SVG_LIMIT is sent as a PNG at twice the resolution instead."""
    import numpy as np

    from rnn2bert import plotting

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 0, 2])
    ax.set_title("loss · 损失")
    assert plotting.inline_format(fig) == "image/svg+xml"
    first, second = plotting._svg_formatter(fig), plotting._svg_formatter(fig)
    assert first == second and plotting._png_formatter(fig) is None
    assert "<dc:date>" not in first and "<text" not in first  # no time stamp; text drawn as paths
    background = first.split('<g id="patch_1">', 1)[1][:400]
    assert "fill: #ffffff" in background, background
    plt.close(fig)

    fig, ax = plt.subplots()
    ax.scatter(*np.random.default_rng(0).normal(size=(2, 20_000)), s=2)
    assert plotting.inline_format(fig) == "image/png"
    assert plotting._svg_formatter(fig) is None
    data, metadata = plotting._png_formatter(fig)
    width_in, height_in = fig.get_size_inches()
    assert metadata["width"] <= width_in * fig.dpi  # shown at its size, with twice the pixels
    plt.close(fig)
