"""Figures' alt text: rnn2bert.plotting.describe_figure and the inline-backend hook that carries it
into the notebook's output metadata (the site's _ext/figure_alt.py turns it into <img alt>)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnn2bert.plotting import add_alt_text_to_inline_figures, describe_figure  # noqa: E402


def test_description_reads_titles_and_labels_in_plain_letters():
    fig, axes = plt.subplots(1, 2)
    fig.suptitle("Temperature · 温度")
    axes[0].set_title(r"scaled: $\mathrm{softmax}(q\cdot k/\sqrt{d_k})$")
    axes[0].set_xlabel("key · 键")
    axes[0].set_ylabel("weight")
    axes[1].set_xlabel("position")
    text = describe_figure(fig)
    plt.close(fig)
    assert text == "Figure: Temperature · 温度. scaled: softmax(q· k/√d_k) (x: key · 键, y: weight); (x: position)"


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
    assert metadata["image/png"]["alt"] == "Figure. loss · 损失"
