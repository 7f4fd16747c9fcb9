"""The book's architecture diagrams, drawn by code in English and Chinese (``make diagrams``).

Each diagram is a function ``draw_<name>(lang)`` that returns a matplotlib figure; ``DIAGRAMS``
maps the file name (``chapters/<lang>/diagrams/<name>.svg``) to it. One style for all: the
boxes, colours and arrows below, 12 pt text (16 px on the page), a white background, the
Noto Sans SC font of :mod:`rnn2bert.plotting` drawn as paths (the SVG needs no font).

The numbers in the diagrams are not typed here. They are read from where the chapters take
them: the tiny BERT's ``checkpoints/<lang>/config.json``, all-MiniLM-L6-v2's ``config.json``,
the defaults of :class:`rnn2bert.bert.BertConfig` and :func:`rnn2bert.pretraining.mask_tokens`,
the masks of :mod:`rnn2bert.masks`, the sinusoids of :mod:`rnn2bert.positional`, and the
literal settings in the chapters' own code cells (``d_model, max_len = 64, 100``,
``Transformer(..., d_model=64, num_heads=4)``), found with :func:`chapter_settings`. When a
chapter changes a number, ``make diagrams`` redraws the picture and ``tests/test_diagrams.py``
fails until it has.
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")  # a script or a test: never a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

from . import plotting  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "zh")
FONT = plotting.FONT_SIZE  # 12 pt = 16 CSS px at the diagram's own size
SMALL = FONT - 1  # shapes and notes: 11 pt = 14.7 px
TINY = 10  # the smallest text: 10 pt = 13.3 px (a token in a narrow box)
WIDTH = plotting.PAGE_WIDTH  # inches: fills the text column without shrinking

# One meaning per colour, in every diagram: (fill, edge).
COLORS = {
    "token": ("#f1f3f5", "#495057"),  # tokens, inputs, outputs
    "embed": ("#efe6f8", "#7048a8"),  # embeddings, positions
    "attn": ("#dcebfa", "#1c6fb8"),  # attention (self-, cross-, masked)
    "ffn": ("#e2f3e0", "#2f8a3b"),  # feed-forward and linear layers
    "norm": ("#fff3cf", "#b58300"),  # LayerNorm, softmax, scaling: normalisers
    "state": ("#fde5d4", "#c4561a"),  # recurrent states, the bottleneck, the highlighted path
    "head": ("#fbe0ea", "#b0306a"),  # task heads and their outputs
    "plain": ("#ffffff", "#495057"),
}
INK = "#212529"
MUTED = "#6c757d"
ACCENT = COLORS["state"][1]
MASKED = "#ced4da"


# --------------------------------------------------------------------------- the numbers


def chapter_code(stem: str) -> list[str]:
    """The code cells of ``chapters/en/<stem>.ipynb`` (the zh chapter's are identical)."""
    path = ROOT / "chapters" / "en" / f"{stem}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None


@lru_cache(maxsize=None)
def chapter_settings(stem: str) -> tuple[dict, dict]:
    """The literal settings of a chapter's code: ``(names, calls)``.

    ``names[name]``: the values assigned to ``name`` with literals, in order
    (``d_model, max_len = 64, 100`` gives ``names["d_model"] == [64]``).
    ``calls[function]``: the literal keyword arguments of each call of ``function``, in order.
    """
    names: dict[str, list] = {}
    calls: dict[str, list[dict]] = {}
    for source in chapter_code(stem):
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        value = _literal(node.value)
                        if value is not None:
                            names.setdefault(target.id, []).append(value)
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        for t, v in zip(target.elts, node.value.elts, strict=False):
                            value = _literal(v)
                            if isinstance(t, ast.Name) and value is not None:
                                names.setdefault(t.id, []).append(value)
            elif isinstance(node, ast.Call):
                func = (
                    node.func.attr
                    if isinstance(node.func, ast.Attribute)
                    else getattr(node.func, "id", "")
                )
                keywords = {k.arg: _literal(k.value) for k in node.keywords if k.arg}
                calls.setdefault(func, []).append(
                    {k: v for k, v in keywords.items() if v is not None}
                )
    return names, calls


def setting(stem: str, name: str, index: int = 0):
    """The ``index``-th literal value a chapter assigns to ``name``; else an error naming it."""
    values = chapter_settings(stem)[0].get(name, [])
    if len(values) <= index:
        raise LookupError(
            f"chapters/en/{stem}.ipynb assigns no literal {name!r} (#{index}): "
            "update rnn2bert/diagrams.py to where the chapter sets it now"
        )
    return values[index]


def call_setting(stem: str, function: str, keyword: str, index: int = 0):
    """The literal ``keyword=`` of the ``index``-th call of ``function`` that passes it."""
    values = [c[keyword] for c in chapter_settings(stem)[1].get(function, []) if keyword in c]
    if len(values) <= index:
        raise LookupError(
            f"chapters/en/{stem}.ipynb has no call {function}({keyword}=<literal>) "
            f"(#{index}): update rnn2bert/diagrams.py"
        )
    return values[index]


def tiny_bert_config(lang: str) -> dict:
    """The tiny BERT of chapters 09-11, as pretrained (``checkpoints/<lang>/config.json``)."""
    return json.loads((ROOT / "checkpoints" / lang / "config.json").read_text(encoding="utf-8"))


def minilm_config() -> dict:
    """all-MiniLM-L6-v2's configuration (chapter 08), from the installed package."""
    from .pretrained import minilm_folder

    return json.loads((minilm_folder() / "config.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- drawing


class Box:
    """A drawn box; its anchors (``.top``, ``.bottom``, ``.left``, ``.right``) are (x, y)."""

    def __init__(self, x: float, y: float, w: float, h: float):
        self.x, self.y, self.w, self.h = x, y, w, h

    top = property(lambda self: (self.x, self.y + self.h / 2))
    bottom = property(lambda self: (self.x, self.y - self.h / 2))
    left = property(lambda self: (self.x - self.w / 2, self.y))
    right = property(lambda self: (self.x + self.w / 2, self.y))
    center = property(lambda self: (self.x, self.y))


class Canvas:
    """A figure whose data coordinates are inches, origin at the bottom left."""

    def __init__(self, lang: str, width: float = WIDTH, height: float = 3.0):
        plotting.use_book_style()
        self.lang, self.width, self.height = lang, width, height
        self.fig = plt.figure(figsize=(width, height))
        self.fig.patch.set_facecolor("white")
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.set_axis_off()

    def tr(self, en: str, zh: str) -> str:
        """The label in the diagram's language."""
        return en if self.lang == "en" else zh

    def text(
        self, x, y, s, *, size=FONT, color=INK, ha="center", va="center", weight="normal", **kw
    ):
        if size < TINY:
            raise ValueError(
                f"{size} pt is below the book's smallest diagram text ({TINY} pt): {s!r}"
            )
        return self.ax.text(
            x, y, s, fontsize=size, color=color, ha=ha, va=va, fontweight=weight, **kw
        )

    def box(
        self,
        x,
        y,
        w,
        h,
        label="",
        kind="plain",
        *,
        size=FONT,
        dashed=False,
        weight="normal",
        note: str | None = None,
        note_size=SMALL,
        radius=0.06,
        lw=1.4,
    ) -> Box:
        """A rounded box centred at (x, y); ``note`` is a second, smaller line (a shape)."""
        fill, edge = COLORS[kind]
        patch = FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle=f"round,pad=0,rounding_size={radius}",
            facecolor=fill,
            edgecolor=edge,
            linewidth=lw,
            linestyle=(0, (4, 2)) if dashed else "-",
        )
        self.ax.add_patch(patch)
        if note:
            self.text(x, y + h * 0.17, label, size=size, weight=weight)
            self.text(x, y - h * 0.22, note, size=note_size, color=MUTED)
        elif label:
            self.text(x, y, label, size=size, weight=weight)
        return Box(x, y, w, h)

    def arrow(self, start, end, *, color=INK, lw=1.3, style="-|>", rad=0.0, dashed=False, shrink=2):
        patch = FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=12,
            color=color,
            linewidth=lw,
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=shrink,
            shrinkB=shrink,
            linestyle=(0, (4, 2)) if dashed else "-",
        )
        self.ax.add_patch(patch)
        return patch

    def path(self, points, *, color=INK, lw=1.3, head=True):
        """A polyline through ``points`` with an arrow head on the last segment."""
        xs, ys = zip(*points, strict=True)
        self.ax.plot(xs[:-1], ys[:-1], color=color, lw=lw, solid_capstyle="butt")
        self.arrow(
            points[-2], points[-1], color=color, lw=lw, style="-|>" if head else "-", shrink=0
        )

    def cells(
        self, x0, y0, cell, colors, *, texts=None, size=SMALL, text_colors=None, edge="white"
    ):
        """A grid of squares, row 0 at the top, its top-left corner at (x0, y0)."""
        for i, row in enumerate(colors):
            for j, color in enumerate(row):
                self.ax.add_patch(
                    Rectangle(
                        (x0 + j * cell, y0 - (i + 1) * cell),
                        cell,
                        cell,
                        facecolor=color,
                        edgecolor=edge,
                        linewidth=1.0,
                    )
                )
                if texts is not None and texts[i][j]:
                    tc = text_colors[i][j] if text_colors is not None else INK
                    self.text(
                        x0 + (j + 0.5) * cell,
                        y0 - (i + 0.5) * cell,
                        texts[i][j],
                        size=size,
                        color=tc,
                    )

    def title(self, x, y, s, *, size=FONT, ha="center"):
        return self.text(x, y, s, size=size, weight="normal", ha=ha)


def check_fits(fig, name: str = "") -> None:
    """Raise if anything is drawn outside the figure (it would be cut off)."""
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())
    width, height = fig.get_size_inches()
    slack = 0.02
    if bbox.x0 < -slack or bbox.y0 < -slack or bbox.x1 > width + slack or bbox.y1 > height + slack:
        raise ValueError(
            f"diagram {name}: drawing ({bbox.x0:.2f}, {bbox.y0:.2f})-({bbox.x1:.2f}, "
            f"{bbox.y1:.2f}) in spills out of its {width:.2f} x {height:.2f} in canvas"
        )


MARGIN = 0.03  # inches: the least room between a label and the sides of the box it sits in


def check_layout(fig, name: str = "") -> None:
    """Raise if the drawing's labels collide: two labels overlap, a label straddles the edge of a
    box or a cell, an arrow or a line runs through a label, two boxes partly overlap (touching
    is not overlapping), or a label comes within ``MARGIN`` of the sides of the box it sits in."""
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    eps = 0.01 * fig.dpi
    labels = [
        (t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text().strip()
    ]
    boxes = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, FancyBboxPatch)]
    cells = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, Rectangle)]
    strokes = [
        p.get_transform().transform_path(p.get_path())
        for p in ax.patches
        if isinstance(p, FancyArrowPatch)
    ]
    strokes += [line.get_transform().transform_path(line.get_path()) for line in ax.lines]

    def overlap(a, b):
        return a.x0 < b.x1 - eps and b.x0 < a.x1 - eps and a.y0 < b.y1 - eps and b.y0 < a.y1 - eps

    def inside(a, b):
        return (
            a.x0 >= b.x0 - eps and a.x1 <= b.x1 + eps and a.y0 >= b.y0 - eps and a.y1 <= b.y1 + eps
        )

    problems = []
    for i, (text, a) in enumerate(labels):
        problems += [
            f"labels {text!r} and {other!r} overlap"
            for other, b in labels[i + 1 :]
            if overlap(a, b)
        ]
        if any(overlap(a, b) and not inside(a, b) for b in boxes + cells):
            problems.append(f"label {text!r} straddles the edge of a box")
        holders = [b for b in boxes if inside(a, b)]
        if holders:
            box = min(holders, key=lambda b: b.width * b.height)
            if min(a.x0 - box.x0, box.x1 - a.x1) < MARGIN * fig.dpi:
                problems.append(f"label {text!r} touches the sides of its box")
        for path in strokes:
            points = path.interpolated(40).vertices
            if (
                (points[:, 0] > a.x0 + eps)
                & (points[:, 0] < a.x1 - eps)
                & (points[:, 1] > a.y0 + eps)
                & (points[:, 1] < a.y1 - eps)
            ).any():
                problems.append(f"an arrow or a line runs through label {text!r}")
                break
    for i, a in enumerate(boxes):
        problems += [
            "two boxes partly overlap"
            for b in boxes[i + 1 :]
            if overlap(a, b) and not inside(a, b) and not inside(b, a)
        ]
    if problems:
        raise ValueError(f"diagram {name}: " + "; ".join(dict.fromkeys(problems)))


def save_svg(fig, path: Path, png: Path | None = None) -> None:
    """Write ``fig`` as deterministic SVG (fixed hash salt, no date) and close it.

    ``png``: also a 2x PNG preview there, drawn by matplotlib from the same figure.
    """
    check_fits(fig, path.stem)
    check_layout(fig, path.stem)
    buffer = io.StringIO()
    # "standard", not the book's "tight": every diagram is WIDTH wide, so all have one text scale
    style = {
        "svg.hashsalt": "rnn2bert-diagrams",
        "svg.fonttype": "path",
        "savefig.bbox": "standard",
    }
    with matplotlib.rc_context(style):
        fig.savefig(buffer, format="svg", metadata=plotting.SVG_METADATA, facecolor="white")
        if png is not None:
            png.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(png, format="png", dpi=2 * 96, facecolor="white")
    plt.close(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def shape(*dims) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


# --------------------------------------------------------------------------- chapter 01


def running_tokens() -> list[str]:
    """The book's running example sentence (chapter 02's ``tokens``)."""
    return setting("02-self-attention", "tokens")


def draw_rnn_vs_attention(lang: str):
    tokens = running_tokens()[-5:]
    d_h = setting("01-rnn-limits", "d_model")
    n = len(tokens)
    c = Canvas(lang, height=4.1)
    gap = 0.66
    left0, right0 = 0.55, WIDTH / 2 + 0.45
    # RNN unrolled
    c.title(WIDTH / 4, 3.85, c.tr("RNN: one step per token", "RNN：每个词元一步"))
    xs = [left0 + i * gap for i in range(n)]
    states = [c.box(x, 2.55, 0.5, 0.5, f"h{i + 1}", "state") for i, x in enumerate(xs)]
    for x, t in zip(xs, tokens, strict=True):
        tok = c.box(x, 1.35, 0.58, 0.42, t, "token", size=SMALL)
        c.arrow(tok.top, (x, 2.3))
    for a, b in zip(states, states[1:], strict=False):
        c.arrow(a.right, b.left, color=ACCENT, lw=2.2)
    c.text(
        WIDTH / 4,
        3.28,
        c.tr(f"hidden state: {d_h} numbers", f"隐藏状态：{d_h} 维向量"),
        size=SMALL,
        color=MUTED,
    )
    c.text(
        WIDTH / 4,
        0.62,
        c.tr(
            f"from {tokens[0]!r} to {tokens[-1]!r}: {n - 1} steps",
            f"从“{tokens[0]}”到“{tokens[-1]}”：{n - 1} 步",
        ),
        size=SMALL,
        color=ACCENT,
    )
    c.text(
        WIDTH / 4,
        0.3,
        c.tr("path length grows with n: O(n)", "路径长度随 n 增长：O(n)"),
        size=SMALL,
    )
    # self-attention
    c.title(
        3 * WIDTH / 4,
        3.85,
        c.tr("Self-attention: all pairs at once", "自注意力：任意两个词元一步直达"),
    )
    xs2 = [right0 + i * gap for i in range(n)]
    outs = [c.box(x, 2.85, 0.5, 0.5, f"z{i + 1}", "attn") for i, x in enumerate(xs2)]
    toks = [
        c.box(x, 1.35, 0.58, 0.42, t, "token", size=SMALL) for x, t in zip(xs2, tokens, strict=True)
    ]
    for j, tok in enumerate(toks):
        for i, out in enumerate(outs):
            hot = j == 0 and i == n - 1
            if not hot:
                c.arrow(tok.top, out.bottom, color="#adb5bd", lw=0.8)
    c.arrow(toks[0].top, outs[-1].bottom, color=ACCENT, lw=2.2)
    c.text(
        3 * WIDTH / 4,
        0.62,
        c.tr(
            f"from {tokens[0]!r} to {tokens[-1]!r}: 1 step",
            f"从“{tokens[0]}”到“{tokens[-1]}”：1 步",
        ),
        size=SMALL,
        color=ACCENT,
    )
    c.text(
        3 * WIDTH / 4,
        0.3,
        c.tr("path length 1 for every pair: O(1)", "任意两个词元之间路径长度都为 1：O(1)"),
        size=SMALL,
    )
    c.ax.plot([WIDTH / 2, WIDTH / 2], [0.2, 3.7], color="#dee2e6", lw=1)
    return c.fig


def draw_encoder_decoder_bottleneck(lang: str):
    source = running_tokens()
    target = ["猫", "坐在", "垫子", "上"]
    d_h = setting("01-rnn-limits", "d_model")
    c = Canvas(lang, height=5.6)
    gap = 0.5
    # top: the fixed vector
    c.title(
        WIDTH / 2,
        5.35,
        c.tr(
            "RNN encoder–decoder: the whole sentence in one vector",
            "RNN 编码器–解码器：整句话挤进一个向量",
        ),
    )
    xs = [0.45 + i * gap for i in range(len(source))]
    enc = [c.box(x, 4.45, 0.38, 0.38, "", "state") for x in xs]
    for x, t, b in zip(xs, source, enc, strict=True):
        c.text(x, 3.95, t, size=SMALL)
        c.arrow((x, 4.08), b.bottom)
    for a, b in zip(enc, enc[1:], strict=False):
        c.arrow(a.right, b.left, color=ACCENT)
    bottleneck = c.box(3.75, 4.45, 0.75, 0.58, "c", "state", weight="normal", lw=2.4)
    c.text(3.75, 3.9, c.tr(f"{d_h} numbers", f"{d_h} 维向量"), size=SMALL, color=ACCENT)
    c.arrow(enc[-1].right, bottleneck.left, color=ACCENT, lw=2.2)
    xd = [4.6 + i * 0.62 for i in range(len(target))]
    dec = [c.box(x, 4.45, 0.38, 0.38, "", "state") for x in xd]
    c.arrow(bottleneck.right, dec[0].left, color=ACCENT, lw=2.2)
    for a, b in zip(dec, dec[1:], strict=False):
        c.arrow(a.right, b.left, color=ACCENT)
    for x, t, b in zip(xd, target, dec, strict=True):
        c.arrow(b.top, (x, 4.95))
        c.text(x, 5.08, t, size=SMALL)
    c.text(
        WIDTH / 2,
        3.55,
        c.tr("the decoder sees the source only through c", "解码器只能通过 c 看到原句"),
        size=SMALL,
        color=MUTED,
    )
    c.ax.plot([0.2, WIDTH - 0.2], [3.28, 3.28], color="#dee2e6", lw=1)
    # bottom: attention over all encoder states
    c.title(
        WIDTH / 2,
        3.0,
        c.tr(
            "With attention (Bahdanau et al.): each output step looks at every state",
            "加上注意力（Bahdanau 等人）：解码器每一步都关注编码器的所有状态",
        ),
    )
    enc2 = [c.box(x, 0.95, 0.38, 0.38, f"h{i + 1}", "state", size=TINY) for i, x in enumerate(xs)]
    for x, t in zip(xs, source, strict=True):
        c.text(x, 0.45, t, size=SMALL)
    for a, b in zip(enc2, enc2[1:], strict=False):
        c.arrow(a.right, b.left, color=ACCENT)
    ctx = c.box(3.75, 2.15, 0.75, 0.5, c.tr("context", "上下文"), "attn", size=SMALL)
    weights = [0.35, 0.12, 0.05, 0.08, 0.1, 0.3]
    for b, w in zip(enc2, weights, strict=False):
        c.arrow(b.top, ctx.bottom, color=COLORS["attn"][1], lw=0.6 + 5 * w)
    c.text(
        2.0,
        1.75,
        c.tr("weights α (softmax)", "权重 α（softmax）"),
        size=SMALL,
        color=COLORS["attn"][1],
    )
    dec2 = [c.box(x, 2.15, 0.38, 0.38, "", "state") for x in xd]
    for a, b in zip(dec2, dec2[1:], strict=False):
        c.arrow(a.right, b.left, color=ACCENT)
    c.arrow(ctx.right, dec2[1].left, color=COLORS["attn"][1], lw=1.8)
    for x, t, b in zip(xd, target, dec2, strict=True):
        c.arrow(b.top, (x, 2.6))
        c.text(x, 2.72, t, size=SMALL)
    c.text(
        5.55,
        1.45,
        c.tr("a fresh context for each output word", "每输出一个词，重新算一次上下文"),
        size=SMALL,
        color=MUTED,
    )
    return c.fig


# --------------------------------------------------------------------------- chapters 02-03


def draw_qkv_lookup(lang: str):
    tokens = running_tokens()
    d_k = setting("02-self-attention", "d_k")
    d_v = setting("02-self-attention", "d_v")
    query = tokens[2]
    scores = [0.8, 1.9, 2.6, 0.2, 0.8, 1.2]
    scores = scores[: len(tokens)] + [0.5] * max(0, len(tokens) - len(scores))
    exps = [math.exp(s) for s in scores]
    weights = [e / sum(exps) for e in exps]
    c = Canvas(lang, height=4.6)
    c.title(
        WIDTH / 2, 4.35, c.tr("Attention as a soft dictionary lookup", "注意力：一次“软”的字典查找")
    )
    q = c.box(
        0.75, 2.3, 1.05, 0.75, c.tr("query", "查询"), "attn", note=f"q · {query}", weight="normal"
    )
    c.text(0.75, 1.7, c.tr(f"{d_k} numbers", f"{d_k} 维向量"), size=SMALL, color=MUTED)
    row_h = 0.5
    top = 3.65
    c.text(
        2.35, top + 0.35, c.tr(f"keys k_j ({d_k})", f"键 k_j（{d_k}）"), size=SMALL, weight="normal"
    )
    c.text(3.65, top + 0.35, c.tr("q·k_j/√d_k", "q·k_j/√d_k"), size=SMALL, weight="normal")
    c.text(4.75, top + 0.35, c.tr("softmax", "softmax"), size=SMALL, weight="normal")
    c.text(
        6.15,
        top + 0.35,
        c.tr(f"values v_j ({d_v})", f"值 v_j（{d_v}）"),
        size=SMALL,
        weight="normal",
    )
    for j, (t, s, w) in enumerate(zip(tokens, scores, weights, strict=True)):
        y = top - j * row_h
        k = c.box(2.35, y, 1.1, 0.38, t, "plain", size=SMALL)
        c.arrow(q.right, k.left, color="#adb5bd", lw=0.8)
        c.text(3.65, y, f"{s:.1f}", size=SMALL)
        c.ax.add_patch(
            Rectangle(
                (4.3, y - 0.14),
                0.9 * w / max(weights),
                0.28,
                facecolor=COLORS["attn"][1],
                edgecolor="none",
            )
        )
        c.text(5.28, y, f"{w:.2f}", size=SMALL, ha="left")
        c.box(6.15, y, 0.95, 0.38, f"v · {t}", "ffn", size=SMALL)
    bottom = top - (len(tokens) - 1) * row_h
    out = c.box(
        6.15, bottom - 0.85, 1.35, 0.55, c.tr("output z", "输出 z"), "attn", weight="normal"
    )
    c.arrow((6.15, bottom - 0.2), out.top)
    c.text(
        3.6,
        bottom - 0.85,
        c.tr(
            "z = Σ_j softmax_j · v_j  (weights sum to 1)", "z = Σ_j softmax_j · v_j（权重之和为 1）"
        ),
        size=SMALL,
    )
    return c.fig


def draw_sdpa_block(lang: str):
    L = setting("02-self-attention", "tokens")
    L = len(L)
    d_k = setting("02-self-attention", "d_k")
    d_v = setting("02-self-attention", "d_v")
    c = Canvas(lang, height=5.6)
    x = 3.3
    c.title(WIDTH / 2, 5.4, c.tr("Scaled dot-product attention", "缩放点积注意力"))
    q = c.box(x - 1.2, 0.45, 0.9, 0.5, "Q", "token", note=shape("L_q", "d_k"))
    k = c.box(x, 0.45, 0.9, 0.5, "K", "token", note=shape("L_k", "d_k"))
    v = c.box(x + 1.9, 0.45, 0.9, 0.5, "V", "token", note=shape("L_k", "d_v"))
    mm1 = c.box(x - 0.6, 1.45, 1.7, 0.5, "MatMul  QKᵀ", "attn")
    scale = c.box(x - 0.6, 2.3, 1.7, 0.5, c.tr("Scale  ×1/√d_k", "缩放  ×1/√d_k"), "norm")
    mask = c.box(x - 0.6, 3.15, 1.7, 0.5, c.tr("Mask (opt.)", "掩码（可选）"), "plain", dashed=True)
    soft = c.box(x - 0.6, 4.0, 1.7, 0.5, "Softmax", "norm")
    mm2 = c.box(x + 1.9, 4.0, 1.3, 0.5, "MatMul", "attn")
    out = c.box(x + 1.9, 4.95, 1.3, 0.5, c.tr("output", "输出"), "token", note=shape("L_q", "d_v"))
    c.arrow(q.top, (mm1.x - 0.5, mm1.bottom[1]))
    c.arrow(k.top, (mm1.x + 0.5, mm1.bottom[1]))
    c.arrow(mm1.top, scale.bottom)
    c.arrow(scale.top, mask.bottom)
    c.arrow(mask.top, soft.bottom)
    c.arrow(soft.right, mm2.left)
    c.arrow(v.top, mm2.bottom)
    c.arrow(mm2.top, out.bottom)
    side = x - 0.6 - 0.95
    for box, note in (
        (mm1, shape("L_q", "L_k")),
        (scale, c.tr("scores", "得分")),
        (mask, c.tr("−∞ where not allowed", "被遮住处设为 −∞")),
        (soft, c.tr("each row sums to 1", "每行之和为 1")),
    ):
        c.text(side, box.y, note, size=SMALL, color=MUTED, ha="right")
    c.text(
        0.15,
        5.1,
        c.tr(
            f"chapter 02's example:\nL_q = L_k = {L}, d_k = {d_k}, d_v = {d_v}",
            f"第 02 章的例子：\nL_q = L_k = {L}，d_k = {d_k}，d_v = {d_v}",
        ),
        size=TINY,
        color=MUTED,
        ha="left",
        va="top",
    )
    return c.fig


# --------------------------------------------------------------------------- chapter 04


def draw_masks(lang: str):
    import torch

    from .masks import causal_mask, padding_mask

    sentences = setting("04-masking", "sentences")
    lengths = [len(s) for s in sentences]
    L = max(lengths)
    b = 1  # the short sentence, padded
    padded = sentences[b] + ["[PAD]"] * (L - lengths[b])
    pad = padding_mask(torch.tensor(lengths), L)[b, 0, 0]  # (L,)
    tokens = setting("04-masking", "tokens")
    causal = causal_mask(len(tokens))
    c = Canvas(lang, height=4.5)
    cell = 0.42

    def matrix(x0, y0, labels, allowed, title, note):
        n = len(labels)
        colors = [
            [COLORS["attn"][0] if allowed[i][j] else MASKED for j in range(n)] for i in range(n)
        ]
        texts = [["" if allowed[i][j] else "−∞" for j in range(n)] for i in range(n)]
        c.cells(x0, y0, cell, colors, texts=texts, size=TINY, text_colors=[[MUTED] * n] * n)
        for j, t in enumerate(labels):
            c.text(
                x0 + (j + 0.5) * cell, y0 + 0.08, t, size=TINY, rotation=50, ha="left", va="bottom"
            )
        for i, t in enumerate(labels):
            c.text(x0 - 0.08, y0 - (i + 0.5) * cell, t, size=TINY, ha="right")
        c.title(x0 + n * cell / 2, 4.3, title)
        c.text(x0 + n * cell / 2, y0 - n * cell - 0.28, note, size=SMALL, color=MUTED)

    allowed_pad = [[bool(pad[j]) for j in range(L)] for _ in range(L)]
    matrix(
        1.0,
        3.35,
        padded,
        allowed_pad,
        c.tr("padding mask", "填充掩码"),
        c.tr("no query looks at [PAD] keys", "任何查询都不关注 [PAD] 键"),
    )
    allowed_causal = causal.tolist()
    matrix(
        4.65,
        3.35,
        tokens,
        allowed_causal,
        c.tr("causal mask", "因果掩码"),
        c.tr("position i sees positions ≤ i", "位置 i 只关注 ≤ i 的位置"),
    )
    c.text(
        WIDTH / 2,
        0.25,
        c.tr(
            "rows: queries · columns: keys · grey: −∞ before softmax (weight 0)",
            "每行是一个查询，每列是一个键；灰色格在 softmax 之前设为 −∞（权重为 0）",
        ),
        size=SMALL,
    )
    return c.fig


# --------------------------------------------------------------------------- chapter 05


def draw_multi_head(lang: str):
    B = setting("05-multi-head", "B")
    L = setting("05-multi-head", "L")
    d_model = setting("05-multi-head", "d_model")
    h = setting("05-multi-head", "h")
    d_k = d_model // h
    c = Canvas(lang, height=5.5)
    mid = 2.85
    side = mid + 2.4
    c.title(
        WIDTH / 2,
        5.3,
        c.tr(
            f"Multi-head attention (chapter 05: d_model = {d_model}, h = {h} heads)",
            f"多头注意力（第 05 章：d_model = {d_model}，h = {h} 个头）",
        ),
    )
    x_in = c.box(mid, 0.4, 1.6, 0.55, "X", "token", note=shape(B, L, d_model))
    proj = c.box(
        mid,
        1.25,
        4.6,
        0.48,
        c.tr("linear: Q = XW_q, K = XW_k, V = XW_v", "线性层：Q = XW_q，K = XW_k，V = XW_v"),
        "ffn",
        size=SMALL,
    )
    c.arrow(x_in.top, proj.bottom)
    c.text(side, 1.25, shape(B, L, d_model), size=SMALL, color=MUTED, ha="left")
    c.text(side, 1.95, c.tr("split:", "拆分："), size=SMALL, color=MUTED, ha="left")
    c.text(side, 1.72, shape(B, h, L, d_k), size=SMALL, color=MUTED, ha="left")
    xs = [mid + (i - (h - 1) / 2) * 1.55 for i in range(h)]
    heads = []
    for i, x in enumerate(xs):
        att = c.box(
            x,
            2.65,
            1.4,
            0.62,
            c.tr(f"head {i + 1}", f"第 {i + 1} 个头"),
            "attn",
            size=SMALL,
            note=f"d_k = {d_k}",
        )
        c.arrow((x, proj.top[1]), att.bottom)
        heads.append(att)
    c.text(side, 2.65, c.tr("attend:", "计算注意力："), size=SMALL, color=MUTED, ha="left")
    c.text(
        side,
        2.42,
        c.tr(f"{h} × softmax(QKᵀ/√{d_k})V", f"{h} × softmax(QKᵀ/√{d_k})V"),
        size=TINY,
        color=MUTED,
        ha="left",
    )
    concat = c.box(mid, 3.65, 4.6, 0.45, c.tr("concat", "拼接"), "plain", size=SMALL)
    for att in heads:
        c.arrow(att.top, (att.x, concat.bottom[1]))
    c.text(side, 3.65, f"{h} × {d_k} = {d_model}", size=SMALL, color=MUTED, ha="left")
    wo = c.box(mid, 4.45, 1.6, 0.45, "W_O", "ffn", size=SMALL)
    c.arrow(concat.top, wo.bottom)
    c.text(side, 4.45, shape(B, L, d_model), size=SMALL, color=MUTED, ha="left")
    return c.fig


# --------------------------------------------------------------------------- chapter 06


def draw_positional_encoding(lang: str):
    from .positional import sinusoidal_encoding

    d_model = setting("06-positional-encoding", "d_model")
    tokens = running_tokens()
    n = len(tokens)
    pe = sinusoidal_encoding(n, d_model)
    c = Canvas(lang, height=3.75)
    c.title(
        WIDTH / 2,
        3.55,
        c.tr(
            f"Input = token embedding + positional encoding (d_model = {d_model})",
            f"输入 = 词元嵌入 + 位置编码（d_model = {d_model}）",
        ),
    )
    strip_w, row_h, y0 = 1.45, 0.33, 2.95
    rng = __import__("random").Random(0)
    cmap = matplotlib.colormaps["RdBu_r"]
    cols = 16  # drawn columns: sin/cos pairs, every (d_model / 16)-th pair
    dims = [(j // 2) * (d_model // (cols // 2)) + j % 2 for j in range(cols)]

    def strip(x0, values, title):
        c.text(x0 + strip_w / 2, y0 + 0.2, title, size=SMALL)
        cw = strip_w / cols
        for i, row in enumerate(values):
            for j in range(cols):
                c.ax.add_patch(
                    Rectangle(
                        (x0 + j * cw, y0 - (i + 1) * row_h),
                        cw,
                        row_h,
                        facecolor=cmap((row[j] + 1) / 2),
                        edgecolor="none",
                    )
                )
            c.ax.add_patch(
                Rectangle(
                    (x0, y0 - (i + 1) * row_h),
                    strip_w,
                    row_h,
                    facecolor="none",
                    edgecolor="white",
                    linewidth=1.2,
                )
            )

    emb_vals = {}
    for t in tokens:
        emb_vals.setdefault(t, [rng.uniform(-1, 1) for _ in range(cols)])
    emb = [emb_vals[t] for t in tokens]
    pos = [[float(pe[i, d]) for d in dims] for i in range(n)]
    summed = [
        [max(-1.0, min(1.0, (a + b) / 1.5)) for a, b in zip(r1, r2, strict=True)]
        for r1, r2 in zip(emb, pos, strict=True)
    ]
    x1, x2, x3 = 0.95, 3.1, 5.3  # "+" before the position numbers, "=" centred in its gap
    for i, t in enumerate(tokens):
        c.text(x1 - 0.1, y0 - (i + 0.5) * row_h, t, size=SMALL, ha="right")
        c.text(x2 - 0.1, y0 - (i + 0.5) * row_h, f"{i}", size=SMALL, ha="right", color=MUTED)
    strip(x1, emb, c.tr("token embedding", "词元嵌入"))
    strip(x2, pos, c.tr("position sinusoids", "正弦位置编码"))
    strip(x3, summed, c.tr("input to layer 1", "第 1 层的输入"))
    mid = y0 - n * row_h / 2
    c.text((x1 + strip_w + x2 - 0.25) / 2, mid, "+", size=FONT + 8)
    c.text((x2 + strip_w + x3) / 2, mid, "=", size=FONT + 8)
    below = y0 - n * row_h - 0.3
    c.text(
        x1 + strip_w / 2,
        below,
        c.tr("'the' twice: same row", "两个“the”：同一行"),
        size=TINY,
        color=MUTED,
    )
    c.text(
        x2 + strip_w / 2,
        below,
        c.tr("fast waves ← → slow", "高频 ← → 低频"),
        size=TINY,
        color=MUTED,
    )
    c.text(
        x3 + strip_w / 2,
        below,
        c.tr("the two 'the' now differ", "两个“the”不再相同"),
        size=TINY,
        color=MUTED,
    )
    c.text(
        WIDTH / 2,
        0.25,
        c.tr(
            f"{cols} of the {d_model} dimensions drawn (sin, cos pairs); "
            "red +1, blue −1; the embedding is made up",
            f"只画出 {d_model} 维中的 {cols} 维（sin、cos 成对）；"
            "红为 +1，蓝为 −1；词元嵌入为随机示意",
        ),
        size=TINY,
    )
    return c.fig


# --------------------------------------------------------------------------- chapter 07


def _sublayer(c, x, y, w, label, kind, *, pre: bool):
    """A sublayer, its residual and LayerNorm (Post-LN or Pre-LN), from y up; returns the top y."""
    h = 0.42
    if pre:
        ln = c.box(x, y + 0.35, w, 0.34, "LayerNorm", "norm", size=SMALL)
        sub = c.box(x, y + 0.95, w, h, label, kind, size=SMALL)
        add = c.box(x, y + 1.55, 0.36, 0.36, "+", "plain", size=SMALL, radius=0.18)
        c.arrow((x, y), ln.bottom)
        c.arrow(ln.top, sub.bottom)
        c.arrow(sub.top, add.bottom)
        c.path(
            [(x, y + 0.1), (x - w / 2 - 0.2, y + 0.1), (x - w / 2 - 0.2, y + 1.55), add.left],
            color=MUTED,
        )
        return y + 1.73
    sub = c.box(x, y + 0.45, w, h, label, kind, size=SMALL)
    add = c.box(x, y + 1.05, 0.36, 0.36, "+", "plain", size=SMALL, radius=0.18)
    ln = c.box(x, y + 1.6, w, 0.34, "LayerNorm", "norm", size=SMALL)
    c.arrow((x, y), sub.bottom)
    c.arrow(sub.top, add.bottom)
    c.arrow(add.top, ln.bottom)
    c.path(
        [(x, y + 0.1), (x - w / 2 - 0.2, y + 0.1), (x - w / 2 - 0.2, y + 1.05), add.left],
        color=MUTED,
    )
    return y + 1.77


def draw_encoder_decoder(lang: str):
    from .transformer import Transformer

    kw = {
        k: call_setting("07-transformer", "Transformer", k)
        for k in ("d_model", "num_heads", "num_layers", "d_ff")
    }
    pre = inspect.signature(Transformer).parameters["norm_first"].default
    c = Canvas(lang, height=8.6)
    c.title(
        WIDTH / 2,
        8.4,
        c.tr(
            "The Transformer of chapter 07 (d_model = {d_model}, h = {num_heads}, "
            "d_ff = {d_ff}, {num_layers} layers each)".format(**kw),
            "第 07 章的 Transformer（d_model = {d_model}，h = {num_heads}，"
            "d_ff = {d_ff}，各 {num_layers} 层）".format(**kw),
        ),
        size=SMALL,
    )
    ex, dx, w = 1.9, 5.1, 2.0
    c.title(ex, 7.95, c.tr("Encoder", "编码器"))
    c.title(dx, 7.95, c.tr("Decoder", "解码器"))
    # encoder
    src = c.box(ex, 0.3, w, 0.4, c.tr("source tokens", "源序列"), "token", size=SMALL)
    emb = c.box(
        ex, 0.95, w, 0.45, c.tr("embedding + positions", "嵌入 + 位置编码"), "embed", size=SMALL
    )
    c.arrow(src.top, emb.bottom)
    y = emb.top[1] + 0.15
    c.arrow(emb.top, (ex, y))
    top = _sublayer(c, ex, y, w, c.tr("self-attention", "自注意力"), "attn", pre=pre)
    top = _sublayer(c, ex, top, w, c.tr("feed-forward", "前馈网络"), "ffn", pre=pre)
    frame_top = top + 0.05
    c.ax.add_patch(
        FancyBboxPatch(
            (ex - w / 2 - 0.4, y - 0.05),
            w + 0.8,
            frame_top - y + 0.05,
            boxstyle="round,pad=0,rounding_size=0.1",
            facecolor="none",
            edgecolor=MUTED,
            linewidth=1.2,
            linestyle=(0, (4, 2)),
        )
    )
    c.text(ex - w / 2 - 0.48, (y + frame_top) / 2, f"{kw['num_layers']} ×", size=FONT, ha="right")
    memory_y = frame_top + 0.45
    c.arrow((ex, top), (ex, memory_y))
    c.text(
        ex,
        memory_y + 0.2,
        c.tr("encoder output (memory)", "编码器输出（memory）"),
        size=SMALL,
        color=MUTED,
    )
    # decoder
    tgt = c.box(
        dx,
        0.3,
        w,
        0.4,
        c.tr("target tokens, shifted right", "目标序列（右移一位）"),
        "token",
        size=SMALL,
    )
    emb2 = c.box(
        dx, 0.95, w, 0.45, c.tr("embedding + positions", "嵌入 + 位置编码"), "embed", size=SMALL
    )
    c.arrow(tgt.top, emb2.bottom)
    y2 = emb2.top[1] + 0.15
    c.arrow(emb2.top, (dx, y2))
    top2 = _sublayer(
        c, dx, y2, w, c.tr("masked self-attention", "带掩码的自注意力"), "attn", pre=pre
    )
    cross_y = top2 + (0.95 if pre else 0.45)
    top2 = _sublayer(c, dx, top2, w, c.tr("cross-attention", "交叉注意力"), "attn", pre=pre)
    top2 = _sublayer(c, dx, top2, w, c.tr("feed-forward", "前馈网络"), "ffn", pre=pre)
    c.ax.add_patch(
        FancyBboxPatch(
            (dx - w / 2 - 0.4, y2 - 0.05),
            w + 0.8,
            top2 + 0.1 - y2,
            boxstyle="round,pad=0,rounding_size=0.1",
            facecolor="none",
            edgecolor=MUTED,
            linewidth=1.2,
            linestyle=(0, (4, 2)),
        )
    )
    c.text(dx + w / 2 + 0.48, (y2 + top2) / 2, f"× {kw['num_layers']}", size=FONT, ha="left")
    # memory into every decoder layer's cross-attention, as keys and values
    route = (ex + w / 2 + dx - w / 2) / 2
    blue = COLORS["attn"][1]
    c.path(
        [(ex, memory_y), (route, memory_y), (route, cross_y), (dx - w / 2, cross_y)],
        color=blue,
        lw=1.8,
    )
    # on the memory line, left of its turn: between the two stacks there is no room for it
    c.text(route - 0.1, memory_y + 0.17, "K, V", size=SMALL, color=blue, ha="right")
    out = c.box(
        dx, top2 + 0.55, w, 0.42, c.tr("linear + softmax", "线性层 + softmax"), "ffn", size=SMALL
    )
    c.arrow((dx, top2 + 0.05), out.bottom)
    c.text(
        dx,
        out.top[1] + 0.2,
        c.tr("next-token probabilities", "下一个词元的概率"),
        size=SMALL,
        color=MUTED,
    )
    c.text(
        ex,
        0.0 + 7.45,
        c.tr(
            "Post-LN: LayerNorm after each residual add"
            if not pre
            else "Pre-LN: LayerNorm before each sublayer",
            "Post-LN：每次残差相加之后做 LayerNorm"
            if not pre
            else "Pre-LN：每个子层之前做 LayerNorm",
        ),
        size=TINY,
        color=MUTED,
    )
    return c.fig


def draw_post_vs_pre_ln(lang: str):
    c = Canvas(lang, height=3.9)
    w = 2.0
    left, right = 1.75, 5.25
    c.title(left, 3.7, c.tr("Post-LN (the 2017 paper, BERT)", "Post-LN（2017 年的原论文、BERT）"))
    c.title(
        right, 3.7, c.tr("Pre-LN (GPT-2 and most models since)", "Pre-LN（GPT-2 及之后的多数模型）")
    )
    for x, pre, formula, note in (
        (
            left,
            False,
            "LN(x + F(x))",
            c.tr(
                "the residual path passes\nthrough every LayerNorm",
                "残差通路要穿过\n每一个 LayerNorm",
            ),
        ),
        (
            right,
            True,
            "x + F(LN(x))",
            c.tr(
                "an untouched residual path\nfrom input to output",
                "从输入到输出有一条\n不经变换的残差通路",
            ),
        ),
    ):
        c.text(x, 0.18, "x", size=SMALL)
        top = _sublayer(c, x, 0.35, w, c.tr("sublayer F", "子层 F"), "attn", pre=pre)
        c.arrow((x, top), (x, top + 0.3))
        c.text(x, top + 0.45, formula, size=SMALL)
        c.text(x, 3.15, note, size=TINY, color=MUTED)
    return c.fig


# --------------------------------------------------------------------------- chapter 08


def bert_pair_tokens() -> list[str]:
    """Chapter 08's sentence pair, tokenized by all-MiniLM-L6-v2's WordPiece tokenizer."""
    from .pretrained import minilm_folder
    from .tokenizer import WordPieceTokenizer

    tokenizer = WordPieceTokenizer.from_pretrained(minilm_folder())
    pair = tokenizer.encode_batch(["my dog is cute"], ["he likes playing"])
    return tokenizer.convert_ids_to_tokens(pair["input_ids"][0]), pair["token_type_ids"][0].tolist()


def draw_bert_input(lang: str):
    config = minilm_config()
    H = config["hidden_size"]
    tokens, segments = bert_pair_tokens()
    n = len(tokens)
    c = Canvas(lang, height=4.5)
    c.title(
        WIDTH / 2,
        4.3,
        c.tr(
            f"BERT's input: three embeddings summed (all-MiniLM-L6-v2, d_model = {H})",
            f"BERT 的输入：三种嵌入相加（all-MiniLM-L6-v2，d_model = {H}）",
        ),
        size=SMALL,
    )
    gap = min(0.6, (WIDTH - 1.0) / n)
    x0 = WIDTH - 0.1 - gap * (n - 0.5)
    xs = [x0 + i * gap for i in range(n)]
    bw = gap - 0.03
    labels = [
        (3.6, c.tr("input", "输入")),
        (2.8, c.tr("token", "词元")),
        (1.95, c.tr("segment", "片段")),
        (1.2, c.tr("position", "位置")),
    ]
    for y, label in labels:
        c.text(x0 - gap / 2 - 0.08, y, label, size=SMALL, ha="right")
    for i, (x, t, s) in enumerate(zip(xs, tokens, segments, strict=True)):
        special = t.startswith("[")
        c.box(x, 3.6, bw, 0.42, t, "head" if special else "token", size=TINY)
        c.box(x, 2.8, bw, 0.62, "E", "embed", size=TINY, note=t, note_size=TINY)
        c.box(x, 1.95, bw, 0.42, f"e_{'AB'[s]}", "attn" if s == 0 else "ffn", size=TINY)
        c.box(x, 1.2, bw, 0.42, f"E_{i}", "norm", size=TINY)
        c.arrow((x, 3.38), (x, 3.12), lw=1.0, shrink=0)
    for y in (2.37, 1.575):
        c.text(x0 - gap / 2 - 0.2, y, "+", size=FONT)
    c.text(
        WIDTH / 2,
        0.68,
        c.tr(
            f"sum → LayerNorm → {n} vectors of {H} numbers → encoder",
            f"相加 → LayerNorm → {n} 个 {H} 维向量 → 编码器",
        ),
        size=SMALL,
    )
    c.text(
        WIDTH / 2,
        0.28,
        c.tr(
            "segment A up to the first [SEP], segment B after it",
            "第一个 [SEP] 及之前是片段 A，之后是片段 B",
        ),
        size=SMALL,
        color=MUTED,
    )
    return c.fig


# --------------------------------------------------------------------------- chapter 09


def masking_fractions() -> tuple[float, float, float, float]:
    """(chosen, mask, random, unchanged) of BERT's rule: ``rnn2bert.pretraining.mask_tokens``'s
    defaults (``mask_prob``, ``mask_frac``, ``random_frac``)."""
    from .pretraining import mask_tokens

    params = inspect.signature(mask_tokens).parameters
    p, m, r = (params[k].default for k in ("mask_prob", "mask_frac", "random_frac"))
    return p, m, r, round(1 - m - r, 10)


def draw_pretraining_heads(lang: str):
    config = tiny_bert_config(lang)
    H, V = config["hidden_size"], config["vocab_size"]
    p, m, r, u = masking_fractions()
    c = Canvas(lang, height=6.0)
    c.title(
        WIDTH / 2,
        5.8,
        c.tr(
            f"Pretraining heads of the book's tiny BERT (d_model = {H}, "
            f"{config['num_hidden_layers']} layers, {config['num_attention_heads']} heads, "
            f"vocabulary {V:,})",
            f"本书小 BERT 的预训练头（d_model = {H}，{config['num_hidden_layers']} 层，"
            f"{config['num_attention_heads']} 个头，词表 {V:,}）",
        ),
        size=SMALL,
    )
    # the 80/10/10 corruption
    if lang == "en":
        words = ["[CLS]", "my", "dog", "is", "cute", "[SEP]"]
        corrupted = ["[CLS]", "my", "[MASK]", "is", "cute", "[SEP]"]
    else:
        words = ["[CLS]", "北", "京", "是", "首", "都", "[SEP]"]
        corrupted = ["[CLS]", "北", "[MASK]", "是", "首", "都", "[SEP]"]
    c.text(
        0.15,
        5.3,
        c.tr(f"{p:.0%} of the tokens are chosen; of those:", f"随机选出 {p:.0%} 的词元，其中："),
        size=SMALL,
        ha="left",
    )
    pick = 2
    variants = [
        (f"{m:.0%}", "[MASK]"),
        (f"{r:.0%}", "apple" if lang == "en" else "马"),
        (f"{u:.0%}", words[pick]),
    ]
    for k, (share, token) in enumerate(variants):
        x = 0.55 + k * 2.2
        c.box(
            x + 0.55,
            4.75,
            1.0,
            0.4,
            token,
            "head" if k == 0 else ("state" if k == 1 else "token"),
            size=SMALL,
        )
        c.text(x - 0.3, 4.75, share, size=SMALL, weight="normal", ha="center")
    c.text(
        WIDTH / 2,
        4.3,
        c.tr(
            f"{words[pick]!r} becomes [MASK], a random token, or stays; "
            f"in all three the MLM loss asks for {words[pick]!r}",
            f"“{words[pick]}”被换成 [MASK]、换成随机词元或保持不变；"
            f"三种情况下，MLM 损失都要求预测出“{words[pick]}”",
        ),
        size=TINY,
        color=MUTED,
    )
    # encoder
    n = len(corrupted)
    xs = [0.9 + i * 0.62 for i in range(n)]
    for x, t in zip(xs, corrupted, strict=True):
        c.box(x, 0.35, 0.58, 0.38, t, "head" if t == "[MASK]" else "token", size=TINY)
    enc = c.box(
        (xs[0] + xs[-1]) / 2,
        1.15,
        xs[-1] - xs[0] + 0.6,
        0.5,
        c.tr(
            f"BERT encoder ({config['num_hidden_layers']} layers)",
            f"BERT 编码器（{config['num_hidden_layers']} 层）",
        ),
        "attn",
        size=SMALL,
    )
    for x in xs:
        c.arrow((x, 0.55), (x, enc.bottom[1]))
    # NSP head on [CLS]
    nx = xs[0]
    c.arrow((nx, enc.top[1]), (nx, 1.85))
    pool = c.box(
        nx + 0.2,
        2.1,
        1.4,
        0.5,
        c.tr("pooler", "池化层"),
        "ffn",
        size=SMALL,
        note=c.tr(f"{H}→{H}, tanh", f"{H}→{H}，tanh"),
        note_size=TINY,
    )
    nsp = c.box(
        nx + 0.2,
        2.95,
        1.4,
        0.5,
        c.tr("classifier", "分类器"),
        "ffn",
        size=SMALL,
        note=f"{H}→2",
        note_size=TINY,
    )
    c.arrow(pool.top, nsp.bottom)
    out_nsp = c.box(nx + 0.2, 3.7, 1.4, 0.45, c.tr("IsNext?", "是下一句？"), "head", size=SMALL)
    c.arrow(nsp.top, out_nsp.bottom)
    c.text(nx + 0.2, 1.58, "[CLS]", size=TINY, color=MUTED)
    # MLM head on the masked position
    mx = xs[pick] + 2.0
    c.path([(xs[pick], enc.top[1]), (xs[pick], 1.6), (mx, 1.6), (mx, 1.85)])
    dense = c.box(
        mx, 2.1, 1.9, 0.45, c.tr(f"dense {H}→{H}, GELU", f"全连接 {H}→{H}，GELU"), "ffn", size=TINY
    )
    ln = c.box(mx, 2.7, 1.9, 0.4, "LayerNorm", "norm", size=TINY)
    dec = c.box(
        mx,
        3.32,
        1.9,
        0.45,
        c.tr(f"decoder {H}→{V:,} + bias", f"输出层 {H}→{V:,} + 偏置"),
        "ffn",
        size=TINY,
    )
    c.arrow(dense.top, ln.bottom)
    c.arrow(ln.top, dec.bottom)
    out_mlm = c.box(
        mx, 3.9, 1.9, 0.4, c.tr(f"P({words[pick]!r})", f"P({words[pick]})"), "head", size=TINY
    )
    c.arrow(dec.top, out_mlm.bottom)
    emb = c.box(
        6.2,
        1.15,
        1.5,
        0.5,
        c.tr("token embedding", "词元嵌入"),
        "embed",
        size=TINY,
        note=f"{V:,} × {H}",
        note_size=TINY,
    )
    c.path([(emb.x, emb.top[1]), (emb.x, dec.y), (dec.right[0], dec.y)], color=COLORS["embed"][1])
    c.text(
        emb.x - 0.08,
        2.5,
        c.tr("tied:\nsame matrix", "权重共享：\n同一个矩阵"),
        size=TINY,
        color=COLORS["embed"][1],
        ha="right",
    )
    return c.fig


# --------------------------------------------------------------------------- chapter 10


def draw_fine_tuning_heads(lang: str):
    config = tiny_bert_config("en")
    H = config["hidden_size"]
    seq = call_setting("10-fine-tuning", "SequenceClassifier", "num_labels")
    tag = call_setting("10-fine-tuning", "TokenClassifier", "num_labels")
    c = Canvas(lang, height=6.2)
    c.title(
        WIDTH / 2,
        6.0,
        c.tr(
            f"Four fine-tuning heads on one pretrained encoder (tiny BERT, d_model = {H})",
            f"同一个预训练编码器上的四种微调头（小 BERT，d_model = {H}）",
        ),
        size=SMALL,
    )
    panel_w, panel_h = 3.3, 2.7
    specs = [
        (
            c.tr("sentence classification", "单句分类"),
            ["[CLS]", "w1", "w2", "[SEP]"],
            "cls",
            c.tr(f"[CLS] → linear {H}→{seq}", f"[CLS] → 线性层 {H}→{seq}"),
        ),
        (
            c.tr("sentence-pair classification", "句对分类"),
            ["[CLS]", "a", "[SEP]", "b", "[SEP]"],
            "cls",
            c.tr(f"[CLS] → linear {H}→{seq}", f"[CLS] → 线性层 {H}→{seq}"),
        ),
        (
            c.tr("token tagging", "词元标注"),
            ["[CLS]", "w1", "w2", "w3", "[SEP]"],
            "each",
            c.tr(f"each token → linear {H}→{tag}", f"每个词元 → 线性层 {H}→{tag}"),
        ),
        (
            c.tr("span extraction (QA)", "片段抽取（问答）"),
            ["[CLS]", "q", "[SEP]", "p1", "p2", "[SEP]"],
            "span",
            c.tr(f"each token → linear {H}→2", f"每个词元 → 线性层 {H}→2"),
        ),
    ]
    for k, (title, toks, kind, note) in enumerate(specs):
        px = 0.1 + (k % 2) * (panel_w + 0.2)
        py = 3.0 - (k // 2) * (panel_h + 0.1)
        c.ax.add_patch(
            FancyBboxPatch(
                (px, py - 0.1),
                panel_w,
                panel_h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor="none",
                edgecolor="#ced4da",
                linewidth=1.0,
            )
        )
        c.text(px + panel_w / 2, py + panel_h - 0.32, title, size=SMALL)
        n = len(toks)
        gap = (panel_w - 0.3) / n
        xs = [px + 0.15 + gap * (i + 0.5) for i in range(n)]
        for x, t in zip(xs, toks, strict=True):
            c.box(x, py + 0.2, gap - 0.06, 0.34, t, "token", size=TINY)
        enc = c.box(px + panel_w / 2, py + 0.85, panel_w - 0.3, 0.42, "BERT", "attn", size=SMALL)
        for x in xs:
            c.arrow((x, py + 0.37), (x, enc.bottom[1]), lw=0.8)
        targets = {
            "cls": [0],
            "each": list(range(1, n - 1)),
            "span": [i for i, t in enumerate(toks) if t.startswith("p")],
        }[kind]
        for i in targets:
            label = {
                "cls": c.tr("class", "类别"),
                "each": c.tr("tag", "标签"),
                "span": c.tr("S, E", "起止"),
            }[kind]
            head = c.box(
                xs[i],
                py + 1.58,
                gap - 0.06 if kind != "cls" else 0.7,  # inside the panel, apart from each other
                0.36,
                label,
                "head",
                size=TINY,
            )
            c.arrow((xs[i], enc.top[1]), head.bottom, lw=0.9)
        c.text(px + panel_w / 2, py + 2.0, note, size=TINY, color=MUTED)
    return c.fig


# --------------------------------------------------------------------------- chapter 11


def draw_model_families(lang: str):
    import torch

    from .masks import causal_mask

    n, m = 5, 4  # source and target lengths of the drawing
    full = torch.ones(n, n, dtype=torch.bool).tolist()
    causal = causal_mask(n).tolist()
    c = Canvas(lang, height=4.0)
    families = [
        (
            c.tr("encoder-only", "仅编码器"),
            "BERT, RoBERTa, ELECTRA",
            [(full, 0.3, "")],
            c.tr("every token sees\nevery token", "每个词元关注\n所有词元"),
        ),
        (
            c.tr("decoder-only", "仅解码器"),
            "GPT-1, GPT-2, GPT-3",
            [(causal, 0.3, "")],
            c.tr("each token sees\nitself and the past", "每个词元只关注\n自己和之前的词元"),
        ),
        (
            c.tr("encoder–decoder", "编码器–解码器"),
            "Transformer, T5, BART",
            [
                (full, 0.15, c.tr("encoder", "编码器")),
                (causal_mask(m).tolist(), 0.15, c.tr("decoder", "解码器")),
                (torch.ones(m, n, dtype=torch.bool).tolist(), 0.15, c.tr("cross", "交叉注意力")),
            ],
            c.tr(
                "decoder: its past;\ncross: all of the source",
                "解码器：只关注之前的词元；\n交叉注意力：关注整个源序列",
            ),
        ),
    ]
    xs = [0.25, 2.45, 4.6]
    for (name, examples, masks, note), x0 in zip(families, xs, strict=True):
        c.text(x0, 3.75, name, size=FONT, ha="left")
        c.text(
            x0,
            3.42,
            examples if lang == "en" else examples.replace(", ", "、"),
            size=TINY,
            color=MUTED,
            ha="left",
        )
        mx = x0
        for mask, cell, label in masks:
            colors = [[COLORS["attn"][1] if v else MASKED for v in row] for row in mask]
            c.cells(mx, 3.05, cell, colors)
            if label:
                c.text(mx + len(mask[0]) * cell / 2, 3.05 - n * cell - 0.2, label, size=TINY)
            mx += len(mask[0]) * cell + 0.1
        c.text(x0, 1.05, note, size=TINY, ha="left", va="top")
    c.text(
        WIDTH / 2,
        0.25,
        c.tr(
            "rows: queries · columns: keys · blue: may attend · grey: masked",
            "每行是一个查询，每列是一个键；蓝色：可以关注；灰色：被遮住",
        ),
        size=SMALL,
    )
    return c.fig


# --------------------------------------------------------------------------- the registry

DIAGRAMS: dict[str, Callable] = {
    "01-rnn-vs-attention": draw_rnn_vs_attention,
    "01-encoder-decoder-bottleneck": draw_encoder_decoder_bottleneck,
    "02-qkv-lookup": draw_qkv_lookup,
    "03-sdpa-block": draw_sdpa_block,
    "04-masks": draw_masks,
    "05-multi-head": draw_multi_head,
    "06-positional-encoding": draw_positional_encoding,
    "07-encoder-decoder": draw_encoder_decoder,
    "07-post-vs-pre-ln": draw_post_vs_pre_ln,
    "08-bert-input": draw_bert_input,
    "09-pretraining-heads": draw_pretraining_heads,
    "10-fine-tuning-heads": draw_fine_tuning_heads,
    "11-model-families": draw_model_families,
}


def write_all(
    out: Path = ROOT / "chapters", names=None, langs=LANGS, png: Path | None = None
) -> list[Path]:
    """Draw the diagrams into ``out/<lang>/diagrams/<name>.svg``; return the paths written.

    ``png``: a folder for PNG previews too (``<lang>-<name>.png``), to look at them.
    """
    written = []
    for name in names or DIAGRAMS:
        for lang in langs:
            path = Path(out) / lang / "diagrams" / f"{name}.svg"
            save_svg(
                DIAGRAMS[name](lang),
                path,
                None if png is None else Path(png) / f"{lang}-{name}.png",
            )
            written.append(path)
    return written
