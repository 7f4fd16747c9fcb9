"""The architecture diagrams (rnn2bert/diagrams.py, `make diagrams`): current, referenced from
both languages, drawn from the chapters' own numbers, legible, self-contained SVG."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rnn2bert import diagrams

ROOT = Path(__file__).resolve().parents[1]
NAMES = list(diagrams.DIAGRAMS)


def test_every_chapter_from_01_to_11_has_a_diagram():
    chapters = {p.stem[:2] for p in (ROOT / "chapters" / "en").glob("[0-9][0-9]-*.ipynb")}
    drawn = {name[:2] for name in NAMES}
    assert {f"{n:02d}" for n in range(1, 12)} <= chapters & drawn | drawn, drawn
    assert {f"{n:02d}" for n in range(1, 12)} <= drawn


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("diagrams")
    diagrams.write_all(out)
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lang", diagrams.LANGS)
def test_diagram_is_current(fresh, name, lang):
    """The committed SVG is byte for byte what `make diagrams` draws now."""
    committed = ROOT / "chapters" / lang / "diagrams" / f"{name}.svg"
    assert committed.is_file(), f"{committed.relative_to(ROOT)} missing: run make diagrams"
    assert committed.read_bytes() == (fresh / lang / "diagrams" / f"{name}.svg").read_bytes(), (
        f"{committed.relative_to(ROOT)} is out of date: run make diagrams"
    )


def test_drawing_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    diagrams.write_all(a, ["04-masks"], ("zh",))
    diagrams.write_all(b, ["04-masks"], ("zh",))
    assert (a / "zh/diagrams/04-masks.svg").read_bytes() == (
        b / "zh/diagrams/04-masks.svg"
    ).read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_svg_is_self_contained_opaque_and_page_wide(name):
    """Glyphs as paths (renders without the font), no date, a white background, 7 in wide
    (the text column: 12 pt labels are 16 px, no label below 10 pt = 13 px)."""
    for lang in diagrams.LANGS:
        svg = (ROOT / "chapters" / lang / "diagrams" / f"{name}.svg").read_text(encoding="utf-8")
        assert "<text" not in svg and "@font-face" not in svg
        assert "<dc:date>" not in svg
        assert "fill: #ffffff" in svg.split('<g id="patch_1">', 1)[1][:400]
        width = float(re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', svg).group(1))
        assert width == diagrams.WIDTH * 72


def test_small_text_is_refused():
    canvas = diagrams.Canvas("en", height=1)
    with pytest.raises(ValueError, match="smallest"):
        canvas.text(1, 0.5, "too small", size=diagrams.TINY - 1)
    diagrams.plt.close(canvas.fig)


def test_spilling_out_of_the_canvas_is_refused():
    canvas = diagrams.Canvas("en", height=1)
    canvas.text(diagrams.WIDTH - 0.1, 0.5, "a label that runs off the right edge", ha="left")
    with pytest.raises(ValueError, match="spills out"):
        diagrams.check_fits(canvas.fig, "test")
    diagrams.plt.close(canvas.fig)


@pytest.mark.parametrize("name", NAMES)
def test_no_label_collides(name):
    """No two labels overlap, none straddles a box's edge or is crossed by an arrow, no two
    boxes partly overlap, and a label keeps some room inside its box, in both languages
    (`make diagrams` refuses to write a diagram that fails this)."""
    for lang in diagrams.LANGS:
        fig = diagrams.DIAGRAMS[name](lang)
        try:
            diagrams.check_layout(fig, f"{lang}/{name}")
        finally:
            diagrams.plt.close(fig)


def label_width(canvas, text) -> float:
    """Inches that ``text`` takes at the diagrams' font size."""
    label = canvas.text(0, 0, text)
    width = label.get_window_extent(canvas.fig.canvas.get_renderer()).width / canvas.fig.dpi
    label.remove()
    return width


@pytest.mark.parametrize(
    "draw, problem",
    [
        (lambda c: (c.text(1, 0.5, "one label"), c.text(1.2, 0.5, "another label")), "overlap"),
        (lambda c: (c.box(2, 0.5, 1, 0.4), c.text(2.5, 0.5, "across the edge")), "straddles"),
        (
            lambda c: (c.text(3, 0.5, "crossed out"), c.arrow((2.5, 0.5), (3.5, 0.5))),
            "runs through",
        ),
        (lambda c: (c.box(1, 0.5, 1, 0.4), c.box(1.5, 0.6, 1, 0.4)), "partly overlap"),
        (lambda c: c.box(1, 0.5, label_width(c, "snug") + 0.04, 0.4, "snug"), "touches the sides"),
    ],
)
def test_colliding_labels_are_refused(draw, problem):
    canvas = diagrams.Canvas("en", height=1)
    draw(canvas)
    with pytest.raises(ValueError, match=problem):
        diagrams.check_layout(canvas.fig, "test")
    diagrams.plt.close(canvas.fig)


def test_labels_are_in_the_page_language():
    """The same drawing, with Chinese labels on the Chinese page (text is drawn as paths, so
    compare the labels the figure holds)."""
    for name, draw in diagrams.DIAGRAMS.items():
        texts = {}
        for lang in diagrams.LANGS:
            fig = draw(lang)
            texts[lang] = " ".join(t.get_text() for t in fig.findobj(diagrams.matplotlib.text.Text))
            diagrams.plt.close(fig)
        assert re.search(r"[\u4e00-\u9fff]", texts["zh"]), (
            f"{name}: no Chinese label on the zh diagram"
        )
        assert texts["en"] != texts["zh"], name


def test_numbers_come_from_the_chapters(monkeypatch):
    """Change a chapter's setting and the diagram follows: nothing is typed twice."""
    names, calls = diagrams.chapter_settings("05-multi-head")
    assert names["d_model"][0] == 12 and names["h"][0] == 3  # B, L, d_model, h = 2, 5, 12, 3
    texts = lambda fig: " ".join(t.get_text() for t in fig.findobj(diagrams.matplotlib.text.Text))  # noqa: E731
    fig = diagrams.draw_multi_head("en")
    assert "d_model = 12, h = 3" in texts(fig) and "3 × 4 = 12" in texts(fig)
    diagrams.plt.close(fig)
    code = [
        c.replace("B, L, d_model, h = 2, 5, 12, 3", "B, L, d_model, h = 2, 5, 16, 4")
        for c in diagrams.chapter_code("05-multi-head")
    ]
    diagrams.chapter_settings.cache_clear()
    monkeypatch.setattr(diagrams, "chapter_code", lambda stem: code)
    try:
        fig = diagrams.draw_multi_head("en")
        assert "d_model = 16, h = 4" in texts(fig) and "4 × 4 = 16" in texts(fig)
        diagrams.plt.close(fig)
    finally:
        diagrams.chapter_settings.cache_clear()


def test_models_are_labelled_from_their_configurations():
    tiny = diagrams.tiny_bert_config("en")
    assert (tiny["hidden_size"], tiny["num_hidden_layers"], tiny["num_attention_heads"]) == (
        192,
        4,
        4,
    )
    minilm = diagrams.minilm_config()
    assert (minilm["hidden_size"], minilm["num_hidden_layers"], minilm["num_attention_heads"]) == (
        384,
        6,
        12,
    )
    assert diagrams.masking_fractions() == (0.15, 0.8, 0.1, 0.1)
    for draw, expected in (
        (diagrams.draw_pretraining_heads, "192→8,000"),
        (diagrams.draw_bert_input, "384"),
    ):
        fig = draw("en")
        assert expected in " ".join(
            t.get_text() for t in fig.findobj(diagrams.matplotlib.text.Text)
        )
        diagrams.plt.close(fig)


def markdown_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


IMAGE = re.compile(
    r"!\[([^\]]*)\]\((diagrams/[^)\s]+\.svg)\)|<img\b[^>]*src=\"(diagrams/[^\"]+\.svg)\"[^>]*>"
)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lang", diagrams.LANGS)
def test_diagram_is_shown_in_its_chapter_with_alt_text(name, lang):
    """chapters/<lang>/NN-*.ipynb shows diagrams/<name>.svg with an alt text in the page's
    language. (The chapter owners insert these references.)"""
    chapter = sorted((ROOT / "chapters" / lang).glob(f"{name[:2]}-*.ipynb"))
    assert chapter, f"no chapter {name[:2]} in {lang}"
    markdown = markdown_of(chapter[0])
    found = [
        m
        for m in IMAGE.finditer(markdown)
        if f"diagrams/{name}.svg" in (m.group(2) or m.group(3) or "")
    ]
    assert found, f"{chapter[0].relative_to(ROOT)} does not show diagrams/{name}.svg"
    for m in found:
        alt = (
            m.group(1) if m.group(2) else (re.search(r'alt="([^"]*)"', m.group(0)) or [None, ""])[1]
        )
        assert len(alt.strip()) >= 12, (
            f"{chapter[0].name}: diagrams/{name}.svg needs a real alt text: {alt!r}"
        )
        if lang == "zh":
            assert re.search(r"[\u4e00-\u9fff]", alt), (
                f"zh/{chapter[0].name}: alt text of {name} is not Chinese"
            )
