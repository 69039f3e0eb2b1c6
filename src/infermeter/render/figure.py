"""One figure of a report: how it is drawn (matplotlib on an Agg canvas, no pyplot) and written (SVG, PNG)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

# matplotlib is imported where a figure is drawn, not with this module: the console, the CLI's start and
# every worker process would otherwise pay ~0.3 s for pictures they never draw.

# Text from reports (variant names, model names) is never parsed as mathtext: a "$" in a name would
# otherwise change what is drawn or raise. svg.fonttype "none" keeps text as <text> elements: small,
# searchable, and written through matplotlib's XML escaping (tested), at the price of the viewer
# choosing the font (system sans-serif; nothing is fetched). A fixed hash salt makes element ids,
# and therefore the HTML, reproducible.
_RC: dict[RcKeyType, Any] = {
    "text.parse_math": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "infermeter",
    "font.size": 9,
}
_SIZE = (7.0, 3.4)
_MS = 1000.0


@dataclass(frozen=True)
class FigureSpec:
    """One plot of a report: ``name`` is stable (file names, HTML anchors), ``build`` draws it."""

    name: str
    title: str
    build: Callable[[], Figure]

    def figure(self) -> Figure:
        """Draw the figure under infermeter's matplotlib settings."""
        import matplotlib

        with matplotlib.rc_context(_RC):
            fig = self.build()
            fig.suptitle(self.title)
            fig.tight_layout()
            return fig


def to_svg(fig: Figure, prefix: str = "") -> str:
    """The figure as an ``<svg>`` element to inline in HTML (no XML prolog, no DOCTYPE, no metadata).

    ``prefix`` namespaces the element ids: several figures in one page must not share ids, or a
    ``clip-path: url(#...)`` in one plot could resolve to another plot's clip path.
    """
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop <?xml ...?> and the DOCTYPE (which names a DTD URL)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    if prefix:
        svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
        svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
        svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    return svg


def save_png(fig: Figure, path: Path | str, dpi: int = 120) -> Path:
    """Write the figure as a PNG (for terminals and READMEs) and return its path."""
    import matplotlib

    path = Path(path)
    with matplotlib.rc_context(_RC):
        fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    return path


def blank(size: tuple[float, float]) -> Figure:
    """An empty figure on its own Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)  # the Agg backend for this figure only
    return fig


def _new(ncols: int = 1, size: tuple[float, float] = _SIZE) -> tuple[Figure, list[Any]]:
    fig = blank(size)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig, axes
