"""Give notebook figures real alt text on the site.

``rnn2bert.setup()`` makes every inline matplotlib figure carry a description (read from its
titles and axis labels, ``rnn2bert.plotting.describe_figure``) in the output's metadata,
``{"image/png": {"alt": ...}}``. MyST-NB reads only width and height from that metadata and
would use the image's file name as alt text; this extension hands the description over.
An ``alt`` set in a cell's own metadata (``mystnb: image: alt:``) still wins.

It also marks the book's diagrams (``![alt](diagrams/NAME.svg)`` in a chapter's prose, drawn by
``make diagrams``) with the class ``r2b-diagram``: Sphinx copies every image into ``_images/``,
so the page's CSS (``_assets/reading.css``) and tests find them by that class.

On a Chinese page a figure's description opens with 图 rather than "Figure" (the notebook's
outputs, and their metadata, are the same in both editions; the axis labels are bilingual).
"""

from __future__ import annotations

import re

from docutils import nodes
from myst_nb.core.render import NbElementRenderer

DIAGRAM_CLASS = "r2b-diagram"


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


FIGURE = re.compile(r"^Figure[:.]\s*")


def mark_diagrams(app, doctree):
    chinese = "zh" in app.env.docname.split("/")[:-1]
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if uri.startswith("diagrams/") or "/diagrams/" in uri:
            image["classes"].append(DIAGRAM_CLASS)
        elif chinese and FIGURE.match(image.get("alt", "")):
            image["alt"] = FIGURE.sub("图：", image["alt"])


def setup(app):
    app.connect("doctree-read", mark_diagrams)
    if not getattr(NbElementRenderer.render_image, "figure_alt", False):
        NbElementRenderer.render_image = _render_image_with_alt(NbElementRenderer.render_image)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
