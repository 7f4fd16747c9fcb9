"""The book's figures: one style, a Chinese-capable font, crisp output, and the attention heat map.

Figures are shared by the English and Chinese editions (their code cells are identical), so
labels are English or short bilingual pairs such as ``"query · 查询"``. The Chinese glyphs come
from Noto Sans SC (SIL Open Font License), shipped by the PyPI package
``pylopdf-fonts-zh-cn``. It must come *first* in ``font.family``: matplotlib picks one font
per text run, and a Latin font listed first would leave the Chinese characters as boxes.

Figures are shown as SVG (sharp at any zoom, text drawn as paths so no font is needed to
view them, an opaque white background that stays legible in the site's dark mode). A figure
whose SVG would be heavy (a big heat map, thousands of points) falls back to a PNG at twice
the resolution. Sizes: SVG lengths are points, 72 per inch, and a browser draws 1 pt as
4/3 CSS px, so a ``PAGE_WIDTH``-inch figure fills the site's text column at 1280 px and its
12 pt text is 16 px, the size of the body text. Wider figures are shrunk to the column on a
desktop (their text with them) and scroll in their own box on a phone.
"""

from __future__ import annotations

from importlib import resources
from typing import Sequence

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import font_manager

CJK_FONT_FILE = "NotoSansSC-Regular.otf"
CJK_FONT_NAME = "Noto Sans SC"
FONT_SIZE = 12  # points: 16 CSS px when the figure is shown at its own size, like the body text
PAGE_WIDTH = 7.0  # inches: 672 CSS px, the widest figure that fits the text column unshrunk
SVG_LIMIT = 400_000  # bytes: a heavier figure is sent as a 2x PNG instead
SVG_METADATA = {"Date": None}  # no time stamp: the same figure gives the same bytes


def register_cjk_font() -> str:
    """Register Noto Sans SC with matplotlib and return its family name."""
    path = resources.files("pylopdf_fonts_zh_cn") / CJK_FONT_FILE
    if CJK_FONT_NAME not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    return CJK_FONT_NAME


def use_book_style() -> None:
    """Set the book's matplotlib style: CJK font first, quiet axes, crisp inline SVG figures."""
    family = register_cjk_font()
    matplotlib.rcParams.update(
        {
            "font.family": [family, "DejaVu Sans"],
            "font.size": FONT_SIZE,
            "axes.titlesize": FONT_SIZE,
            "axes.labelsize": FONT_SIZE,
            "xtick.labelsize": FONT_SIZE - 1,
            "ytick.labelsize": FONT_SIZE - 1,
            "legend.fontsize": FONT_SIZE - 1,
            "figure.titlesize": FONT_SIZE + 1,
            "mathtext.fontset": "dejavusans",
            "axes.unicode_minus": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": False,
            "figure.figsize": (6.0, 3.6),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "savefig.bbox": "tight",
            "figure.facecolor": "white",  # opaque: dark text must not sit on the dark-mode page
            "savefig.facecolor": "white",
            "image.cmap": "viridis",
            "svg.hashsalt": "rnn2bert",
            "svg.fonttype": "path",  # glyphs as paths: the figure needs no font to be seen
        }
    )
    use_crisp_inline_figures()
    add_alt_text_to_inline_figures()


def attention_heatmap(
    weights,
    queries: Sequence[str],
    keys: Sequence[str] | None = None,
    *,
    ax=None,
    title: str | None = None,
    annotate: bool = True,
    cmap: str = "Blues",
):
    """Draw attention weights ``(L_q, L_k)``: one row per query token, one column per key.

    Returns the matplotlib ``Axes``. Rows sum to 1 when ``weights`` come out of a softmax.
    """
    import numpy as np

    w = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights, dtype=float)
    keys = list(queries if keys is None else keys)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.62 * len(keys) + 1.8, 0.5 * len(queries) + 1.2))
    ax.imshow(w, cmap=cmap, vmin=0.0, vmax=max(1e-9, float(w.max())), aspect="auto")
    ax.set_xticks(range(len(keys)), keys, rotation=45, ha="right")
    ax.set_yticks(range(len(queries)), list(queries))
    ax.set_xlabel("key · 键")
    ax.set_ylabel("query · 查询")
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    if annotate:
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                color = "white" if w[i, j] > 0.6 * w.max() else "black"
                ax.text(
                    j,
                    i,
                    f"{w[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=FONT_SIZE - 2,
                    color=color,
                )
    if title:
        ax.set_title(title)
    return ax


def describe_figure(fig) -> str:
    """A text description of a figure for its ``alt`` attribute, read from its titles and labels.

    Screen readers (and a page whose image fails to load) get "Figure: <title>. <panel title>
    (x: <label>, y: <label>); ...". Math written for mathtext is put in plain letters.
    """

    def plain(text: str) -> str:
        text = (
            text.replace(r"\sqrt", "√")
            .replace(r"\cdot", "·")
            .replace(r"\mathrm", "")
            .replace(r"\text", "")
        )
        return " ".join(
            text.replace("$", "").replace("{", "").replace("}", "").replace("\\", "").split()
        )

    parts = []
    suptitle = fig.get_suptitle()
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        axis = [
            f"{name}: {plain(label)}"
            for name, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel()))
            if label
        ]
        title = plain(ax.get_title())
        if title or axis:
            parts.append(" ".join(p for p in (title, f"({', '.join(axis)})" if axis else "") if p))
    text = "Figure: " + plain(suptitle) + ". " if suptitle else "Figure. "
    text += "; ".join(p for p in parts if p)
    return text.strip() if len(text) <= 400 else text[:397].rstrip() + "..."


def figure_svg(fig) -> str:
    """The figure as deterministic SVG text (white background, glyphs as paths, no date)."""
    import io

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", facecolor="white", metadata=SVG_METADATA)
    return buffer.getvalue()


def inline_format(fig) -> str:
    """``"image/svg+xml"`` for the figure, or ``"image/png"`` (2x) if its SVG exceeds ``SVG_LIMIT``.

    The SVG is kept on the figure until the formatter that shows it takes it (one render).
    """
    svg = getattr(fig, "_rnn2bert_svg", None)
    if svg is None:
        svg = fig._rnn2bert_svg = figure_svg(fig)
    return "image/svg+xml" if len(svg.encode()) <= SVG_LIMIT else "image/png"


def _svg_formatter(fig):
    if not fig.axes and not fig.lines:  # an empty figure shows nothing, as IPython's own
        return None
    fits = inline_format(fig) == "image/svg+xml"
    svg = fig.__dict__.pop("_rnn2bert_svg", None)
    return svg if fits else None


def _png_formatter(fig):
    if not fig.axes and not fig.lines:
        return None
    fits = inline_format(fig) == "image/svg+xml"
    fig.__dict__.pop("_rnn2bert_svg", None)
    if fits:
        return None
    from IPython.core.pylabtools import retina_figure

    return retina_figure(fig, base64=True, facecolor="white")


def use_crisp_inline_figures() -> None:
    """Show inline figures as SVG, or as a 2x PNG if the SVG would be heavy (``inline_format``)."""
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure

        # Importing the inline backend installs its own PNG formatter (once): do it first.
        from matplotlib_inline import backend_inline  # noqa: F401
    except ImportError:  # not in Jupyter: nothing to do
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):  # a script, not a notebook
        return
    formatters = shell.display_formatter.formatters
    for formatter in formatters.values():
        formatter.pop(Figure, None)
    formatters["image/svg+xml"].for_type(Figure, _svg_formatter)
    formatters["image/png"].for_type(Figure, _png_formatter)


def add_alt_text_to_inline_figures() -> None:
    """Make Jupyter's inline figures carry :func:`describe_figure` as ``alt`` in their metadata.

    The alt text goes under the figure's own format (``image/svg+xml`` or ``image/png``, see
    :func:`inline_format`). The book's site turns it into the ``<img alt=...>``
    (``_ext/figure_alt.py``).
    """
    try:
        from matplotlib_inline import backend_inline
    except ImportError:  # not in Jupyter: nothing to do
        return
    original = backend_inline._fetch_figure_metadata
    if getattr(original, "adds_alt_text", False):
        return

    def fetch_figure_metadata(fig):
        metadata = dict(original(fig) or {})
        metadata.pop("needs_background", None)  # the figures are opaque
        mime = inline_format(fig)
        metadata[mime] = {**metadata.get(mime, {}), "alt": describe_figure(fig)}
        return metadata

    fetch_figure_metadata.adds_alt_text = True
    backend_inline._fetch_figure_metadata = fetch_figure_metadata
