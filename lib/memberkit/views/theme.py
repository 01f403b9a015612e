"""One chart style for every report, drawn with the kit's own CJK font."""

from __future__ import annotations

from . import fonts

PALETTE = ["#1f4e79", "#c0504d", "#4f9a94", "#e8a33d", "#7f6aa3", "#8c8c8c", "#5b9bd5", "#a5a5a5"]


def apply_theme(p=None) -> None:
    """Set the seaborn/matplotlib style for this process's charts.

    Latin text is drawn in DejaVu Sans (matplotlib's own); every glyph it lacks (Chinese labels,
    city, tier and campaign names) falls back to the bundled Noto Sans SC, registered here, so no
    system font or font cache state is needed. ``p`` (a Presentation): both languages use the same
    fonts; its language is the one of the charts' descriptions (:func:`chart_language`).
    """
    import matplotlib
    import seaborn as sns
    global _LANGUAGE
    _LANGUAGE = getattr(p, "language", None) or _LANGUAGE
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    family = fonts.register()
    # Fallback runs along font.family (not along the fonts of one alias such as "sans-serif").
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", family]
    matplotlib.rcParams["axes.unicode_minus"] = False
    # Labels are text, never TeX: a "$" in a campaign name or a USD amount stays a dollar sign.
    matplotlib.rcParams["text.parse_math"] = False
    matplotlib.rcParams["figure.dpi"] = 100
    matplotlib.rcParams["savefig.bbox"] = "tight"
    # Charts reach pages as SVG with their text as text (views.page.chart_html; the fonts embedded
    # there), the same bytes for the same figure.
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "memberkit"


_LANGUAGE = "en"   # the language of this process's charts, set by apply_theme (one report, one language)


def chart_language() -> str:
    """The language :func:`apply_theme` was given ("en" until then): the words of a chart's description."""
    return _LANGUAGE


def describe(fig, description: str):
    """Give ``fig`` its description (a sentence from the catalogue), the chart's alt text on the
    page (:func:`memberkit.views.page.chart_html`); returns ``fig``."""
    from .page import ALT
    setattr(fig, ALT, description)
    return fig


LABELS_INSIDE = "memberkit_labels_inside"   # set on a figure by labels_inside: its pad, to lay it out again


def labels_inside(fig, pad_px: float = 4.0) -> None:
    """Widen each horizontal bar chart's value axis of ``fig`` so that every label drawn at a bar's end (its
    ``ax.texts``, left-aligned at x = the bar's value) ends inside the axes' frame: with the axes ``W`` pixels
    wide, a label ``L`` pixels wide at value ``v`` needs the axis to reach ``v W / (W - L - pad)``. Measured
    as drawn (the renderer's text extents), after the layout is settled (leave the labels out of it:
    ``set_in_layout(False)``); a label wider than three quarters of its axes keeps its bar at a quarter of the
    width. Call after ``tight_layout``."""
    setattr(fig, LABELS_INSIDE, pad_px)   # a figure narrowed later for a phone (views.page) calls this again
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        texts = [t for t in ax.texts if t.get_text().strip()]
        if not texts:
            continue
        width = ax.get_window_extent(renderer).width
        low, high = ax.get_xlim()
        need = high
        for t in texts:
            value = float(t.get_position()[0])
            room = width - t.get_window_extent(renderer).width - pad_px
            need = max(need, value * width / room if room > width / 4 else 4 * value)
        ax.set_xlim(low, need)


def percent_axis(axis, signed: bool = False) -> None:
    """Tick labels in percent with just enough decimals that neighbouring ticks differ (+0.5% +1.0% ...)."""
    import math
    from matplotlib.ticker import FuncFormatter

    def label(v, _):
        ticks = sorted(axis.get_majorticklocs())
        steps = [b - a for a, b in zip(ticks, ticks[1:]) if b > a]
        digits = max(0, math.ceil(-math.log10(min(steps) * 100) + 1e-9)) if steps else 0
        return f"{v:+.{digits}%}" if signed else f"{v:.{digits}%}"
    axis.set_major_formatter(FuncFormatter(label))


def legend_below(ax, ncol: int = 3, **kwargs) -> None:
    """A legend under the chart, where it never hides data, below the axis title when there is one."""
    below = -0.30 if ax.get_xlabel() else -0.18
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, below), ncol=ncol, frameon=False, **kwargs)
