"""The book's figures: one style, a Chinese-capable font, and the attention heat map.

Figures are shared by the English and Chinese editions (their code cells are identical), so
labels are English or short bilingual pairs such as ``"query · 查询"``. The Chinese glyphs come
from Noto Sans SC (SIL Open Font License), shipped by the PyPI package
``pylopdf-fonts-zh-cn``. It must come *first* in ``font.family``: matplotlib picks one font
per text run, and a Latin font listed first would leave the Chinese characters as boxes.
"""
from __future__ import annotations

from importlib import resources
from typing import Sequence

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import font_manager

CJK_FONT_FILE = "NotoSansSC-Regular.otf"
CJK_FONT_NAME = "Noto Sans SC"


def register_cjk_font() -> str:
    """Register Noto Sans SC with matplotlib and return its family name."""
    path = resources.files("pylopdf_fonts_zh_cn") / CJK_FONT_FILE
    if CJK_FONT_NAME not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    return CJK_FONT_NAME


def use_book_style() -> None:
    """Set the book's matplotlib style: CJK font first, quiet axes, crisp inline PNGs."""
    family = register_cjk_font()
    matplotlib.rcParams.update(
        {
            "font.family": [family, "DejaVu Sans"],
            "mathtext.fontset": "dejavusans",
            "axes.unicode_minus": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": False,
            "figure.figsize": (6.0, 3.6),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "savefig.bbox": "tight",
            "image.cmap": "viridis",
            "svg.hashsalt": "rnn2bert",
        }
    )
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
        _, ax = plt.subplots(figsize=(0.55 * len(keys) + 1.6, 0.45 * len(queries) + 1.0))
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
                ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center", fontsize=8, color=color)
    if title:
        ax.set_title(title)
    return ax


def describe_figure(fig) -> str:
    """A text description of a figure for its ``alt`` attribute, read from its titles and labels.

    Screen readers (and a page whose image fails to load) get "Figure: <title>. <panel title>
    (x: <label>, y: <label>); ...". Math written for mathtext is put in plain letters.
    """
    def plain(text: str) -> str:
        text = text.replace(r"\sqrt", "√").replace(r"\cdot", "·").replace(r"\mathrm", "").replace(r"\text", "")
        return " ".join(text.replace("$", "").replace("{", "").replace("}", "").replace("\\", "").split())

    parts = []
    suptitle = fig.get_suptitle()
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        axis = [f"{name}: {plain(label)}" for name, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())) if label]
        title = plain(ax.get_title())
        if title or axis:
            parts.append(" ".join(p for p in (title, f"({', '.join(axis)})" if axis else "") if p))
    text = "Figure: " + plain(suptitle) + ". " if suptitle else "Figure. "
    text += "; ".join(p for p in parts if p)
    return text.strip() if len(text) <= 400 else text[:397].rstrip() + "..."


def add_alt_text_to_inline_figures() -> None:
    """Make Jupyter's inline figures carry :func:`describe_figure` as ``alt`` in their output metadata.

    The book's site turns that metadata into the ``<img alt=...>`` (``_ext/figure_alt.py``).
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
        metadata["image/png"] = {**metadata.get("image/png", {}), "alt": describe_figure(fig)}
        return metadata

    fetch_figure_metadata.adds_alt_text = True
    backend_inline._fetch_figure_metadata = fetch_figure_metadata
