"""Small line charts for the dashboard, as SVG images inlined in the page."""

import base64
import io
import math


def line_chart_svg(
    days: list[str], values: list[float | None], title: str, *, percent: bool = False
) -> str:
    """A small line chart as SVG text (matplotlib's object API: no pyplot state, thread-safe)."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    figure = Figure(figsize=(6.4, 2.4), dpi=100, layout="constrained")
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    points = [math.nan if v is None else v for v in values]
    axes.plot(range(len(days)), points, marker="o", markersize=3, linewidth=1.5, color="#2f6f4f")
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_ylim(bottom=0)
    axes.set_xlim(-0.5, len(days) - 0.5)  # the whole period, days without data included
    axes.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    axes.xaxis.set_major_formatter(lambda x, _pos: days[int(x)] if 0 <= x < len(days) else "")
    if percent:
        axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    if all(v is None for v in values):
        axes.text(0.5, 0.5, "no transactions yet", transform=axes.transAxes, ha="center")
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def svg_data_uri(svg: str) -> str:
    """``svg`` as an ``<img src>`` the dashboard's Content-Security-Policy allows (data: only)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
