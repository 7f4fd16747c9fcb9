"""Give notebook figures real alt text on the site.

``rnn2bert.setup()`` makes every inline matplotlib figure carry a description (read from its
titles and axis labels, ``rnn2bert.plotting.describe_figure``) in the output's metadata,
``{"image/png": {"alt": ...}}``. MyST-NB reads only width and height from that metadata and
would use the image's file name as alt text; this extension hands the description over.
An ``alt`` set in a cell's own metadata (``mystnb: image: alt:``) still wins.
"""
from __future__ import annotations

from myst_nb.core.render import NbElementRenderer


def _render_image_with_alt(original):
    def render_image(self, data):
        nodes = original(self, data)
        alt = data.output_metadata.get(data.mime_type, {}).get("alt")
        for node in nodes:
            if alt and (not node.get("alt") or node["alt"] == node.get("uri")):
                node["alt"] = alt
        return nodes

    render_image.figure_alt = True
    return render_image


def setup(app):
    if not getattr(NbElementRenderer.render_image, "figure_alt", False):
        NbElementRenderer.render_image = _render_image_with_alt(NbElementRenderer.render_image)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
