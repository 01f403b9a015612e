"""One chart style for every report, drawn with the kit's own CJK font."""

from __future__ import annotations

from . import fonts

PALETTE = ["#1f4e79", "#c0504d", "#4f9a94", "#e8a33d", "#7f6aa3", "#8c8c8c", "#5b9bd5", "#a5a5a5"]

# Categories told apart by colour alone (a chart's rules, verdicts): seaborn's "colorblind" palette (after Okabe
# and Ito's, safe for the three common colour vision deficiencies) without its grey, which stands for
# "the rest" (kept rows) beside it. Nine colours; a chart with more categories repeats them with a hatch.
CATEGORIES = ["#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#ece133", "#56b4e9"]
REST = "#949494"          # the part that is not one of the categories (the cleaning's kept rows)
HATCHES = ["", "////", "...."]   # the second and third round of CATEGORIES in one chart
# Two colours of one chart are told apart when their CIEDE2000 difference is at least this, with normal colour
# vision and with each simulated dichromacy (about 2 is the least difference one notices between two patches
# side by side; the colour-blind palette above keeps 11.6 and 5.5)
LEAST_DIFFERENCE = {"normal": 10.0, "protanopia": 5.0, "deuteranopia": 5.0, "tritanopia": 5.0}


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


# ----------------------------------------------------------------- telling colours apart
# Machado, Oliveira and Fernandes (2009), "A physiologically-based model for simulation of color vision
# deficiency", IEEE TVCG 15(6), table of severity 1.0 (dichromacy), applied to linear sRGB.
DICHROMACY = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}


def _linear(colour) -> tuple[float, float, float]:
    """A colour (``"#rrggbb"`` or an RGB(A) tuple of 0..1) as linear sRGB, 0..1 (IEC 61966-2-1)."""
    if isinstance(colour, str):
        h = colour.lstrip("#")
        if len(h) != 6:
            raise ValueError(f"not a #rrggbb colour: {colour!r}")
        colour = tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in colour[:3])


def _lab_of_linear(rgb) -> tuple[float, float, float]:
    x, y, z = (sum(m * c for m, c in zip(row, rgb)) for row in (
        (0.4124564, 0.3575761, 0.1804375), (0.2126729, 0.7151522, 0.0721750), (0.0193339, 0.1191920, 0.9503041)))
    white = (0.95047, 1.0, 1.08883)   # D65

    def f(t):
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
    fx, fy, fz = (f(v / w) for v, w in zip((x, y, z), white))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def lab(colour, vision: str = "normal") -> tuple[float, float, float]:
    """CIE L*a*b* (D65, L* 0..100) of an sRGB colour (``"#rrggbb"`` or an RGB(A) tuple of 0..1), as seen with
    normal colour vision or simulated for one of :data:`DICHROMACY` (``vision``: "protanopia",
    "deuteranopia", "tritanopia"; Machado et al. 2009, severity 1). Raises ValueError for another vision or a
    malformed colour."""
    rgb = _linear(colour)
    if vision != "normal":
        if vision not in DICHROMACY:
            raise ValueError(f"unknown colour vision {vision!r}: normal or one of {sorted(DICHROMACY)}")
        rgb = tuple(min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb)))) for row in DICHROMACY[vision])
    return _lab_of_linear(rgb)


def delta_e_2000(lab1, lab2) -> float:
    """The CIEDE2000 colour difference of two CIE L*a*b* colours (kL = kC = kH = 1).

    Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes, supplementary
    test data, and mathematical observations", Color Research & Application 30(1); their test pairs are the
    tests of this function."""
    import math
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    elif abs(h2p - h1p) <= 180:
        dh = h2p - h1p
    else:
        dh = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    dhh = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_mean - 30)) + 0.24 * math.cos(math.radians(2 * h_mean))
         + 0.32 * math.cos(math.radians(3 * h_mean + 6)) - 0.20 * math.cos(math.radians(4 * h_mean - 63)))
    d_theta = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cp_mean ** 7 / (cp_mean ** 7 + 25 ** 7))
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    sc, sh = 1 + 0.045 * cp_mean, 1 + 0.015 * cp_mean * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh))


def least_difference(colours) -> dict[str, tuple[float, object, object]]:
    """The two colours of ``colours`` (a chart's categories) hardest to tell apart, for normal vision and each
    simulated dichromacy (:func:`lab`): ``{vision: (CIEDE2000 difference, colour, colour)}``; empty for fewer
    than two colours. Compare with :data:`LEAST_DIFFERENCE`."""
    import itertools
    pairs = list(itertools.combinations(colours, 2))
    if not pairs:
        return {}
    return {vision: min(((delta_e_2000(lab(a, vision), lab(b, vision)), a, b) for a, b in pairs), key=lambda x: x[0])
            for vision in ("normal", *DICHROMACY)}


def hard_to_tell_apart(colours) -> list[str]:
    """What :func:`least_difference` finds under :data:`LEAST_DIFFERENCE` for ``colours``, one line each
    ('deuteranopia: #2e7d32 and #c62828 differ by 4.1'); empty when every two can be told apart."""
    def name(c):
        return c if isinstance(c, str) else "#" + "".join(f"{round(v * 255):02x}" for v in c[:3])
    return [f"{vision}: {name(a)} and {name(b)} differ by {d:.1f}"
            for vision, (d, a, b) in least_difference(colours).items() if d < LEAST_DIFFERENCE[vision]]
