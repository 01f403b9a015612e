"""The RFM report's words and pictures: cards, headline, segment charts, grid, regions, migration, tiers."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from .. import kpi, rfm
from . import kpi as vkpi
from .context import Presentation
from . import page
from .page import KPI, Figure, card
from .theme import CATEGORIES, PALETTE, REST, describe

# the lifecycle stages' bars: colour-blind safe, the members who never bought grey (theme.CATEGORIES, theme.REST)
STAGE_COLOURS = {"new": CATEGORIES[2], "active": CATEGORIES[0], "silent": CATEGORIES[1], "lapsed": CATEGORIES[3],
                 "no_purchase": REST}


def segment_name(p: Presentation, key: str, scheme: str = "high_low") -> str:
    """A segment key as the reader sees it, in the report's language."""
    return rfm.schemes()[scheme].label(key, p.language)


def group_label(p: Presentation, dimension: str, value) -> str:
    """How a breakdown group reads in a report, as a label of its own (a bar, a row): a segment by its name, a
    channel by its catalogue label ('In store', '门店'; a channel of the shop's own as given),
    a tier by :func:`tier_label`, a region or category of the shop's data by its display name (``p.shop``)."""
    if dimension == "segment":
        outside = rfm.outside_window()
        return outside.label[p.language] if value == outside.key else segment_name(p, value)
    if dimension == "tier":
        return tier_label(p, value)
    if dimension == "channel":
        return p.code("channel_labels", value)
    return p.shop(dimension, value) if dimension in ("region", "category") else str(value)


def tier_label(p: Presentation, tier) -> str:
    """A member tier in ``p``'s language. A tier's name is its id, the shop's own word from the settings
    (``tier_thresholds``, ``base_tier``); the kit's default tiers have words in each language (catalogue
    ``tiers``: 银卡 reads Silver on an English page), any other name is shown as given."""
    return p.code("tiers", tier)


def list_tier_labels(params=None) -> dict[str, dict[str, str]]:
    """Every language's label of each tier of ``params`` (RFMParams: ``base_tier`` and the names in
    ``tier_thresholds``; the kit's default tiers without), for the CRM lists: {language: {tier: label}}."""
    from ..languages import LANGUAGES
    tiers = [params.base_tier, *params.tier_thresholds] if params is not None else list(rfm.TIER_ORDER)
    return {language: {t: tier_label(Presentation(language), t) for t in tiers} for language in LANGUAGES}


def kpis(p: Presentation, res: dict, figures: dict | None = None):
    """Cards from the report's results (:meth:`memberkit.report.Results.to_dict`): members segmented,
    then the five key figures with their change against the previous period. With the month figures
    (``month.json``), a change that flagged bulk orders make half or more of is coloured neither good
    nor bad and its card says how much of it they are, as on the summary
    (:func:`memberkit.views.outliers.bulk_change`)."""
    from ..periods import previous_period
    from .outliers import bulk_change
    r, k, period = res.get("results", {}), res.get("kpis", {}), res.get("period") or ""
    cards = [KPI(p.text("rfm.buyers"), p.count_of(k.get("members_segmented"), "members"),
                 p.text("rfm.buyers_sub", days=r.get("window_days", 365)),
                 figure=Figure("rfm_segmentation.members_segmented", period, k.get("members_segmented")))]
    for key, f in r.get("key_figures", {}).items():
        change = vkpi.change_label(p, key, f.get("current"), f.get("previous"))
        bulk = bulk_change(p, figures, key, period, previous_period(period)) if figures and period else None
        cards.append(KPI(vkpi.figure_label(p, key, (figures or {}).get("active_window_days")),
                         vkpi.card_figure(p, key, f.get("current")),
                         change + p.clause_sep + bulk["text"] if bulk and change else change,
                         None if bulk else vkpi.is_good(key, f.get("current"), f.get("previous"), p),
                         figure=Figure(key, period, f.get("current"))))
    return cards


def compared(p: Presentation, res: dict):
    """What a scratch run sets beside the published run (:func:`memberkit.views.page.vs_published`): the cards,
    then the members of every segment in both schemes (what a change of ``split`` or of the window moves,
    while the cards stay), from the results."""
    segments = res.get("results", {}).get("segments", {})
    counts = [KPI(p.text(f"rfm.compared_{scheme}", segment=segment_name(p, key, scheme)), p.count(s.get("members")))
              for scheme in ("high_low", "score_grid") for key, s in (segments.get(scheme) or {}).items()]
    return [*kpis(p, res), *counts]


def headline(p: Presentation, res: dict) -> str:
    """Which segment holds what share of revenue, and which region is most at risk (from the results)."""
    r = res.get("results", {})
    segments = r.get("segments", {}).get("high_low", {})
    members = sum(s.get("members") or 0 for s in segments.values())
    revenue = sum(s.get("revenue") or 0 for s in segments.values())
    shares = {key: (s.get("share", s.get("members", 0) / members if members else None),
                    s.get("revenue_share", s.get("revenue", 0) / revenue if revenue else None))
              for key, s in segments.items()}
    shares = {key: v for key, v in shares.items() if v[1] is not None}
    if not shares or not res.get("kpis", {}).get("members_segmented"):
        return p.text("rfm.headline_empty", period=res.get("period"))
    top = max(shares, key=lambda key: shares[key][1])
    sentence = p.text("rfm.headline_top", segment=segment_name(p, top), share=p.pct(shares[top][0]),
                      revenue_share=p.pct(shares[top][1]))
    if r.get("most_at_risk_region") and r.get("most_at_risk_lost_rate") is not None:
        # 'lapsed', the lifecycle stage, never the month's churn (DOMAIN.md): the summary shows both
        key = "rfm.headline_region" if r.get("lapsed_days") is not None else "rfm.headline_region_no_days"
        sentence += p.sentence_sep + p.text(key, region=p.shop("region", r["most_at_risk_region"]), days=p.count(r.get("lapsed_days")),
                                            rate=p.pct(r["most_at_risk_lost_rate"]))
    return sentence


def dominant_sentence(p: Presentation, res: dict) -> str:
    """The members holding more than the set share of the window's orders or revenue, named (masked), with
    the figures and the top segment with and without them, from the results (``dominant_members``); ''
    when there are none."""
    r = res.get("results", {})
    return vkpi.dominant_sentence(p, r.get("dominant_members"),
                                  p.text("kpi.dominant_scope_window", days=p.count(r.get("window_days", 365))))


def summary_card(p: Presentation, res: dict) -> dict:
    """The month summary's card of this report: headline and first cards, from its results."""
    return card(headline(p, res), kpis(p, res))


def record(p: Presentation, a: rfm.RFMAnalysis, results) -> None:
    """Fill :class:`memberkit.report.Results`: KPI values, and members and revenue per segment for both schemes."""
    results.kpi("members_segmented", a.buyers)
    for key in kpi.KEY_FIGURES:
        results.kpi(key, a.figures.loc[key, "current"])
    results.key_results = rfm.key_results(a)


def segment_groups(profile: pd.DataFrame) -> list[list[str]]:
    """The segments of the high/low ``profile`` (indexed by segment key) in two groups of the page's order:
    those of high spend (M high: the 'important' ones), then the rest; one chart of :func:`plot_segments`
    each. Segments the scheme does not know (none in the bundled scheme) go with the rest."""
    by_key = {s.key: s for s in rfm.schemes()["high_low"].segments}
    high = [k for k in profile.index if k in by_key and by_key[k].when.get("m") == "high"]
    return [g for g in (high, [k for k in profile.index if k not in high]) if g]


def plot_segments(p: Presentation, profile: pd.DataFrame, keys=None, top: float | None = None):
    """Share of members against share of revenue (fractions of ``profile``'s ``share`` and ``revenue_share``),
    per segment of ``keys`` (default every segment of ``profile``), on an axis from 0 to ``top`` (default
    this chart's largest share), so that the charts of :func:`segment_groups` read on one scale. The page
    draws a chart a group: the eight in one drawing, printed 115 mm high, could not follow the key figures
    on the first A4 page and left it half white."""
    import matplotlib
    import matplotlib.pyplot as plt
    prof = (profile if keys is None else profile.loc[list(keys)]).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * len(prof) + 1.1))
    y = np.arange(len(prof))
    ax.barh(y + 0.2, prof.share.fillna(0), 0.4, color=PALETTE[5], label=p.text("rfm.share_members"))
    ax.barh(y - 0.2, prof.revenue_share.fillna(0), 0.4, color=PALETTE[0], label=p.text("rfm.share_revenue"))
    for yi, (ms, rs) in enumerate(zip(prof.share.fillna(0), prof.revenue_share.fillna(0))):
        ax.text(rs + 0.005, yi - 0.2, f"{rs:.0%}", va="center", fontsize=11)
        ax.text(ms + 0.005, yi + 0.2, f"{ms:.0%}", va="center", fontsize=11, color="#555")
    ax.set_yticks(y, [segment_name(p, k) for k in prof.index])
    if top is not None:
        ax.set_xlim(0, top * 1.08)   # the room matplotlib's margins leave, on the common scale
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    # under the axis at a set distance, whatever the chart's height
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0), ncol=2, frameon=False,
              bbox_transform=ax.transAxes + matplotlib.transforms.ScaledTranslation(0, -0.3, fig.dpi_scale_trans))
    ax.set_title(p.text("rfm.segments_chart"), loc="left")
    return fig


def segments_top(profile: pd.DataFrame) -> float:
    """The largest share of members or of revenue of any segment: the end of every segment chart's axis."""
    return float(np.nanmax([profile.share.max(), profile.revenue_share.max(), 0.0]))


def cell_count(n) -> str:
    """A count short enough for a heat map's cell: exact under 1,000, else in thousands (one decimal under
    10,000) or millions: 845 -> '845', 1899 -> '1.9k', 31470 -> '31k', 1250000 -> '1.2M'.

    >>> [cell_count(n) for n in (0, 845, 999, 1899, 9960, 31470, 1250000)]
    ['0', '845', '999', '1.9k', '10k', '31k', '1.2M']
    """
    n = int(n)
    if abs(n) < 1000:
        return f"{n}"
    if abs(n) < 1_000_000:
        return f"{n / 1000:.1f}k" if abs(n) < 9950 else f"{n / 1000:.0f}k"
    return f"{n / 1e6:.1f}M"


def cell_name(label: str, width: int = 10) -> str:
    """A segment's name on lines of about ``width`` characters, broken between words only ('Can't lose
    them' on two lines; 'Hibernating' whole, never 'Hibernatin' over 'g')."""
    return textwrap.fill(label, width, break_long_words=False, break_on_hyphens=False)


def plot_rf_heatmap(p: Presentation, a: rfm.RFMAnalysis):
    """R score x F score, coloured by mean spend, each cell labelled with its segment and member count."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    mean_m, count = a.grid_mean_m, a.grid_count
    grid = rfm.schemes()["score_grid"].lookup()
    # a name of several words on several lines, so that the cell holds it at a phone's text size
    labels = [[f"{cell_name(rfm.schemes()['score_grid'].label(grid[(r, f)], p.language))}\n{int(count.loc[r, f]):,}"
               for f in range(1, 6)] for r in range(5, 0, -1)]
    # wider than tall, so that on A4 it is printed at most 115 mm high and follows what is on the page (at
    # 6.8 inches high it was printed 19 cm high and went to a page of its own)
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    # the colour scale under the grid, not beside it: the cells take the chart's whole width, so that
    # "Champions" fits its cell on a phone
    sns.heatmap(mean_m, annot=np.array(labels), fmt="", cmap="Blues", ax=ax, annot_kws={"fontsize": 11},
                cbar_kws={"label": p.text("rfm.mean_m", currency=p.symbol), "orientation": "horizontal",
                          "fraction": 0.05, "pad": 0.12, "aspect": 40}, linewidths=0.5, linecolor="white")
    ax.grid(False)
    ax.set_xlabel(p.text("rfm.f_score"))
    ax.set_ylabel(p.text("rfm.r_score"))
    ax.set_title(p.text("rfm.grid_chart"), loc="left")
    fig.tight_layout()     # the grid takes the width the colour scale left
    return describe(fig, grid_description(p, a))


def grid_description(p: Presentation, a: rfm.RFMAnalysis) -> str:
    """The score grid in words for a screen reader: what a cell shows, the cells of the highest and lowest mean
    spend by their R and F scores with their segment and members, and the members of each segment."""
    scheme = rfm.schemes()["score_grid"]
    grid, mean_m, count = scheme.lookup(), a.grid_mean_m, a.grid_count
    cells = [(r, f) for r in range(1, 6) for f in range(1, 6) if pd.notna(mean_m.loc[r, f])]
    if not cells:
        return ""
    def at(cell, end):
        r, f = cell
        return {f"{end}": p.money(mean_m.loc[r, f]), f"{end}_r": r, f"{end}_f": f, f"{end}_n": p.count(int(count.loc[r, f])),
                f"{end}_segment": scheme.label(grid[cell], p.language)}
    high = max(cells, key=lambda c: mean_m.loc[c])
    low = min(cells, key=lambda c: mean_m.loc[c])
    members: dict[str, int] = {}
    for cell, key in grid.items():
        members[key] = members.get(key, 0) + int(count.loc[cell])
    segments = p.list_sep.join(p.text("rfm.grid_segment_item", segment=scheme.label(k, p.language), n=p.count(n))
                               for k, n in sorted(members.items(), key=lambda kv: -kv[1]) if n)
    return p.text("rfm.grid_description", title=p.text("rfm.grid_chart"), segments=segments, **at(high, "high"),
                  **at(low, "low"))


def grid_note(p: Presentation, a: rfm.RFMAnalysis) -> str:
    """Why a row or column of the R x F grid is empty (heavy ties), naming the scores; '' when none is."""
    count = a.grid_count
    notes = []
    for dimension, totals in (("F", count.sum(axis=0)), ("R", count.sum(axis=1))):
        empty = sorted(int(k) for k, n in totals.items() if n == 0)
        if empty and totals.sum() > 0:
            notes.append(p.text("rfm.grid_empty", dimension=dimension, scores=p.list_sep.join(map(str, empty))))
    return p.sentence_sep.join(notes)


# The bubble chart is drawn about as wide as a 420 px screen leaves it (so it is not narrowed there) and
# wider than tall, so that on A4 it is printed at most PRINT_WIDE_MM high beside the text before it; drawn
# with its size legend under it, it was as tall as wide, printed a page high and scrolled on a phone
BUBBLES_WIDTH_IN, BUBBLES_HEIGHT_IN = 5.0, 3.9
BUBBLE_AREA = 1600        # the area of the bubble of the most days since the last order, in pt²
LEGEND_TITLE_CHARS = 60   # Latin characters a line of the size legend's title (half as many Chinese ones)


def _bubble_areas(days, most: float):
    """Each bubble's area (pt²) for its region's mean days since the last order, against the most days."""
    return BUBBLE_AREA * (np.asarray(days, dtype=float) / most) ** 1.5


# where a region's name may go around its bubble, in order of preference: (direction x, y, ha, va)
LABEL_SIDES = ((0, -1, "center", "top"), (0, 1, "center", "bottom"), (1, 0, "left", "center"),
               (-1, 0, "right", "center"), (1, -1, "left", "top"), (-1, -1, "right", "top"),
               (1, 1, "left", "bottom"), (-1, 1, "right", "bottom"))


def _box_at(centre, radius, side, size, gap):
    """The box (x0, y0, x1, y1, in pixels) of a label ``size`` (w, h) put on ``side`` of a bubble."""
    dx, dy, ha, va = side
    reach = radius + gap
    # a diagonal side starts where the bubble's edge is, not at its bounding square's corner
    ax_, ay_ = (dx * reach / 2 ** 0.5, dy * reach / 2 ** 0.5) if dx and dy else (dx * reach, dy * reach)
    x, y = centre[0] + ax_, centre[1] + ay_
    w, h = size
    x0 = x - w / 2 if ha == "center" else (x if ha == "left" else x - w)
    y0 = y - h / 2 if va == "center" else (y if va == "bottom" else y - h)
    return (x0, y0, x0 + w, y0 + h), (ax_, ay_)


def _overlap(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _circle_overlap(box, centre, radius) -> float:
    """About how much of ``box`` a bubble covers: the box against the square inside the circle and,
    at a quarter of the weight, the square around it (a corner of a box near the rim counts a little)."""
    inner, outer = radius / 2 ** 0.5, radius
    cx, cy = centre
    return (_overlap(box, (cx - inner, cy - inner, cx + inner, cy + inner))
            + 0.25 * _overlap(box, (cx - outer, cy - outer, cx + outer, cy + outer)))


def _distance(box, centre) -> float:
    """From a point to the nearest point of a box (0 inside it), in pixels."""
    dx = max(box[0] - centre[0], 0.0, centre[0] - box[2])
    dy = max(box[1] - centre[1], 0.0, centre[1] - box[3])
    return (dx * dx + dy * dy) ** 0.5


def place_bubble_labels(labels, centres, radii, frame, gap: float) -> list[tuple]:
    """For each label (its (w, h) in ``labels``, pixels) of a bubble (``centres``, ``radii``, pixels), the side
    of :data:`LABEL_SIDES` and the offset from the bubble's centre that covers least of the other bubbles,
    of the other labels and of what lies outside ``frame`` (the axes' box), and that sits no nearer another
    bubble than its own (a name beside two bubbles names either): below its bubble where that is free, else
    above, beside or at a corner, then a little farther out. Placed largest bubble first, then each label
    again against where the others went, a few rounds. Returns (side, (dx, dy)) per label."""
    n = len(labels)

    def options(i):
        for extra in (0.0, 0.5, 1.0):           # half a label's height farther out when every side is taken
            for rank, side in enumerate(LABEL_SIDES):
                box, offset = _box_at(centres[i], radii[i], side, labels[i], gap + extra * labels[i][1])
                yield (extra, rank), side, offset, box

    def cost(i, box, others):
        w, h = box[2] - box[0], box[3] - box[1]
        own = _distance(box, centres[i]) - radii[i]
        total = 2 * (w * h - _overlap(box, frame)) + 3 * sum(_overlap(box, b) for b in others)
        for j in range(n):
            if j != i:
                total += _circle_overlap(box, centres[j], radii[j])
                # about as near another bubble as its own: whose name is it?
                total += max(0.0, own + 4 * gap - (_distance(box, centres[j]) - radii[j])) * h
        return total

    def best(i, others):
        return min(((cost(i, box, others), pref, side, offset, box) for pref, side, offset, box in options(i)),
                   key=lambda c: (round(c[0], 6), c[1]))

    chosen: dict[int, tuple] = {}
    for i in sorted(range(n), key=lambda k: -radii[k]):    # the largest bubbles' rims leave least room
        chosen[i] = best(i, [c[4] for k, c in chosen.items()])
    for _ in range(3):
        for i in range(n):
            chosen[i] = best(i, [c[4] for k, c in chosen.items() if k != i])
    return [(chosen[i][2], chosen[i][3]) for i in range(n)]


def _place_labels_when_drawn(ax, texts, points, areas, gap_pt: float = 3.0) -> None:
    """Put each region's name (``texts``: annotations of ``points`` with bubbles of ``areas`` pt²) beside its
    bubble each time the chart is drawn (:func:`place_bubble_labels`), as wide as it is then drawn: a page
    narrows a chart for a phone after it is made (:func:`memberkit.views.page._fit_phone`), and the bubbles,
    sized in points, then crowd closer. An artist drawn first in the axes moves the labels."""
    from matplotlib.artist import Artist

    class Placer(Artist):
        def draw(self, renderer):
            to_px = renderer.points_to_pixels(1.0)
            centres = ax.transData.transform(np.asarray(points, dtype=float))
            radii = [float(a) ** 0.5 / 2 * to_px for a in areas]
            sizes = []
            for t in texts:
                t.set_position((0, 0))
                box = t.get_window_extent(renderer)
                sizes.append((box.width, box.height))
            frame = ax.get_window_extent(renderer)
            chosen = place_bubble_labels(sizes, centres, radii, (frame.x0, frame.y0, frame.x1, frame.y1), gap_pt * to_px)
            for t, ((_, _, ha, va), (dx, dy)) in zip(texts, chosen):
                t.set_horizontalalignment(ha)
                t.set_verticalalignment(va)
                t.set_position((dx / to_px, dy / to_px))   # the annotation's offset, in points

    placer = Placer()
    placer.set_zorder(-100)      # drawn before the labels it moves
    placer.set_in_layout(False)
    ax.add_artist(placer)


def plot_region_bubbles(p: Presentation, regions: pd.DataFrame):
    """Per region (``regions``: one row per region with ``mean_m`` in money, ``mean_f`` in orders, ``mean_r``
    in days and ``established_lost_rate`` as a fraction): x = mean spend, y = mean orders, bubble size =
    mean days since the last order (its legend: :func:`plot_bubble_sizes`), colour = the share of
    established members lapsed, on a scale from zero."""
    import matplotlib.pyplot as plt
    r = regions.dropna(subset=["mean_m", "mean_f", "mean_r"])
    fig, ax = plt.subplots(figsize=(BUBBLES_WIDTH_IN, BUBBLES_HEIGHT_IN))
    if r.empty:
        ax.text(0.5, 0.5, p.text("rfm.no_regions"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return describe(fig, p.text("rfm.no_regions"))   # an empty chart says why, also to a screen reader
    size = _bubble_areas(r.mean_r, r.mean_r.max())
    # a rate's colour scale starts at zero, like its axes would
    top = float(r.established_lost_rate.max()) if r.established_lost_rate.notna().any() else 1.0
    top = top if top > 0 else 1.0
    sc = ax.scatter(r.mean_m, r.mean_f, s=size, c=r.established_lost_rate, cmap="Reds", alpha=0.75,
                    edgecolors="#333", linewidths=0.6, vmin=0.0, vmax=top)
    # each label in dark text beside its bubble, whatever the bubble's size and the name's length: white text
    # inside a bubble ran past its edge onto the white page ("hengdu"); "R=103" is now "103 days", as the size
    # legend says. Below its bubble when that is free, else where it covers no other bubble or label: always
    # below, a name lay on the next bubble at 420 px (Chengdu's on Guangzhou's, Guangzhou's on Shanghai's)
    texts = [ax.annotate(p.text("rfm.bubble_label", region=p.shop("region", name), days=p.count(round(row.mean_r))),
                         (row.mean_m, row.mean_f), xytext=(0, -(area ** 0.5) / 2 - 3), textcoords="offset points",
                         ha="center", va="top", fontsize=9.5, color="#1a1a1a", linespacing=1.05,
                         bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
             for (name, row), area in zip(r.iterrows(), size)]
    _place_labels_when_drawn(ax, texts, list(zip(r.mean_m, r.mean_f)), list(size))
    ax.margins(x=0.22, y=0.3)   # room below the lowest bubble for its label, and beside the outer ones
    ax.set_xlabel(p.text("rfm.mean_m", currency=p.symbol))
    ax.set_ylabel(p.text("rfm.mean_f"))
    fig.colorbar(sc, ax=ax, label=p.text("rfm.established_lost_rate"), format=lambda x, _: f"{x:.0%}")
    # a Chinese title breaks after its full-width semicolon: a title wraps only at spaces, and its first line
    # (up to " = ") was wider than a 420 px screen leaves the chart
    ax.set_title(p.text("rfm.bubble_chart").replace("；", "；\n"), loc="left")
    return fig


def plot_bubble_sizes(p: Presentation, regions: pd.DataFrame):
    """What size means in :func:`plot_region_bubbles`, drawn right under it: the smallest, middle and
    largest region's mean days since the last order, as bubbles of the same scale and width. None when
    there is no region to draw."""
    import matplotlib.pyplot as plt
    r = regions.dropna(subset=["mean_m", "mean_f", "mean_r"])
    if r.empty:
        return None
    keys = sorted({round(float(v)) for v in (r.mean_r.min(), r.mean_r.median(), r.mean_r.max())})
    labels = [p.text("profile.size_days", days=p.count(k)) for k in keys]
    from matplotlib.patches import Rectangle
    fig, ax = plt.subplots(figsize=(BUBBLES_WIDTH_IN, 1.3))
    ax.set_axis_off()
    # the drawing as wide as the bubble chart's, so that on any screen both are scaled alike and the
    # bubbles here are the size of the ones they explain
    fig.add_artist(Rectangle((0, 0), 1, 1, transform=fig.transFigure, fill=False, edgecolor="none"))
    handles = [ax.scatter([], [], s=area, color="#bbb", edgecolors="#333", linewidths=0.6)
               for area in _bubble_areas(keys, r.mean_r.max())]
    # the title on lines of the chart's width: on one line it was the widest thing in the drawing, which then
    # could not be narrowed to a 420 px screen and scrolled
    title = textwrap.fill(p.text("profile.size_legend"), LEGEND_TITLE_CHARS // (2 if p.language == "zh" else 1),
                          break_long_words=p.language == "zh")
    ax.legend(handles, labels, title=title + "\n\n", loc="center", ncol=len(keys), frameon=False, borderpad=0.6,
              handleheight=5.0, handlelength=5.4, columnspacing=1.8, handletextpad=0.4, scatteryoffsets=[0.5],   # in font sizes (10 pt)
              title_fontsize=10, fontsize=10)
    return describe(fig, f"{p.text('profile.size_legend')}{p.text('common.colon')}{p.list_sep.join(labels)}")


MIGRATION_PANELS = ("matrix", "flows")   # the transition matrix, then the largest flows between segments


def plot_migration(p: Presentation, a: rfm.RFMAnalysis, panels=MIGRATION_PANELS):
    """Each of ``panels`` (:data:`MIGRATION_PANELS`) one above the other: ``matrix``, the transition matrix
    (share of each previous segment going to each segment now, each cell labelled with its members, thousands
    as "1.9k": :func:`cell_count`);
    ``flows``, the largest flows between different segments. The page draws one panel a chart: drawn
    together they were a drawing of about 23 cm that could only start on a new page, leaving the one
    before it half white on A4."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    panels = [panel for panel in panels if panel in MIGRATION_PANELS]
    # each panel wider than tall (the matrix with its turned names under it), so that on A4 it is printed at
    # most 115 mm high and follows what is on the page
    heights = {"matrix": 5.0, "flows": 4.9}
    fig, axes = plt.subplots(len(panels), 1, figsize=(6.4, sum(heights[k] for k in panels)), squeeze=False,
                             gridspec_kw={"height_ratios": [heights[k] for k in panels]})
    drawn = dict(zip(panels, axes[:, 0]))
    name = lambda k: p.text("rfm.outside") if k == rfm.OUTSIDE else segment_name(p, k)  # noqa: E731
    if "matrix" in drawn:
        ax1, matrix = drawn["matrix"], a.migration
        rows = matrix.div(matrix.sum(axis=1).where(lambda s: s > 0), axis=0)
        # names on two lines (the columns' upright) and counts of thousands as "1.9k": at 420 px a cell was
        # about 30 px wide, and '1,899' beside one-line names filled it edge to edge
        sns.heatmap(rows, annot=np.vectorize(cell_count, otypes=[str])(matrix.to_numpy()), fmt="", cmap="Blues",
                    ax=ax1, cbar=False, annot_kws={"fontsize": 10},
                    xticklabels=[cell_name(name(k), 12) for k in matrix.columns],
                    yticklabels=[cell_name(name(k), 12) for k in matrix.index])
        for label in ax1.get_xticklabels() + ax1.get_yticklabels():
            label.set_linespacing(1.0)
        ax1.set_xlabel(p.text("rfm.now"))
        ax1.set_ylabel(p.text("rfm.before"))
        ax1.tick_params(axis="x", labelrotation=90, labelsize=11)
        ax1.tick_params(axis="y", labelsize=11)
        ax1.set_title(p.text("rfm.migration_matrix"), loc="left")
    if "flows" in drawn:
        ax2, flows = drawn["flows"], a.flows.iloc[::-1]
        # each flow named above its bar, not beside it: long names beside the bars would push the matrix
        # above into a narrow column whose counts no longer fit their cells
        ax2.barh(range(len(flows)), flows.members, height=0.45, color=PALETTE[0])
        ax2.set_yticks([])
        for i, (f, t, v) in enumerate(zip(flows["from"], flows["to"], flows.members)):
            ax2.text(0, i + 0.28, f"{name(f)} → {name(t)}", va="bottom", ha="left", fontsize=11)
            ax2.text(v, i, f" {v:,}", va="center", fontsize=11)
        ax2.set_ylim(-0.5, len(flows) - 0.1)
        ax2.set_xlim(0, max(flows.members.max(), 1) * 1.15 if len(flows) else 1)
        ax2.set_title(p.text("rfm.main_flows"), loc="left")
    fig.tight_layout()
    if "matrix" not in drawn:
        return fig
    # the map in its own words; the flows beside it, when drawn with it, as their bars say them
    said = [migration_description(p, a)] + ([page.panel_description(drawn["flows"], p.language)] if "flows" in drawn else [])
    return describe(fig, " · ".join(w for w in said if w))


def migration_description(p: Presentation, a: rfm.RFMAnalysis) -> str:
    """The migration map in words for a screen reader, as it is drawn: members by segment last month (rows)
    and now (columns), the shade a share of the row; those who stayed on the diagonal, the segment that kept
    the most (:func:`memberkit.rfm.largest_stay`), and the largest move (the flows' first; "not segmented" may be
    one end of it).
    The generic description named the cell of the highest share, a move of 845 members, as the 'highest'
    beside drawn cells of 3.1k."""
    name = lambda k: p.text("rfm.outside") if k == rfm.OUTSIDE else segment_name(p, k)  # noqa: E731
    stay = rfm.largest_stay(a.migration)
    parts = [p.text("rfm.migration_alt")]
    if stay is not None:
        parts.append(p.text("rfm.migration_alt_stay", segment=name(stay[0]), members=p.count(stay[1])))
    if not a.flows.empty:
        f = a.flows.iloc[0]
        parts.append(p.text("rfm.migration_alt_move", flow_from=name(f["from"]), flow_to=name(f["to"]),
                            members=p.count(f.members)))
    return p.sentence_sep.join(parts)


def stage_label(p: Presentation, stage: str, params=None) -> str:
    """A lifecycle stage as the reader sees it, with its day counts (``params``: RFMParams; the defaults
    90 / 90 / 180 without): 'lapsed (180+ days)', never 'churned', which is the month's churn rate."""
    days = {k: getattr(params, k, d) for k, d in (("new_days", 90), ("silent_days", 90), ("churned_days", 180))}
    return p.text(f"rfm.stage_{stage}", **days)


def stage_labels(p: Presentation, params=None) -> dict[str, str]:
    """Every lifecycle stage code with its label (:func:`stage_label`) in ``p``'s language."""
    return {stage: stage_label(p, stage, params) for stage in rfm.STAGES}


def list_stage_labels(params=None) -> dict[str, dict[str, str]]:
    """Every language's stage labels (:func:`stage_labels`), for the CRM lists
    (:func:`memberkit.rfm.export_segment_lists`): the lists carry every language's words, so a run in
    English and one in Chinese write the same files, whatever the report's own language."""
    from ..languages import LANGUAGES
    return {language: stage_labels(Presentation(language), params) for language in LANGUAGES}


def exports_list(p: Presentation, exported: dict) -> str:
    """The CRM lists as the reader finds them: each segment's name with its file, named after the segment's
    code ('Important, lapsing: rfm_important_lapsing.csv'), in the scheme's order, one clause each (the
    names themselves hold commas)."""
    return p.clause_sep.join(p.text("rfm.export_item_hint", segment=segment_name(p, key), file=path.name)
                           for key, path in exported.items())


def _width(text: str) -> int:
    """How wide ``text`` is drawn, in Latin characters: a Chinese character counts two."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def tick_lines(label: str, width: int = 12) -> str:
    r"""A category label on lines narrow enough for one bar of five on a phone: its name first, what is in
    brackets under it, each broken between words into lines of about ``width`` Latin characters (a Chinese
    character counts two), never inside a word.

    >>> tick_lines("first-time buyers (first order ≤ 90 days)")
    'first-time\nbuyers\n(first order\n≤ 90 days)'
    >>> tick_lines("沉默（90–180 天）")
    '沉默\n（90–180\n天）'
    >>> tick_lines("no purchase")
    'no purchase'
    """
    import re
    m = re.match(r"^(.*?)\s*([（(].*)$", label)
    parts = [m.group(1), m.group(2)] if m else [label]
    return "\n".join(line for part in parts for line in _words_in_lines(part, width))


def _words_in_lines(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and _width(line) + 1 + _width(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line]


def tier_revenue_shares(tiers: pd.DataFrame) -> tuple[pd.Series, bool]:
    """Each tier's share of the window's revenue (a fraction per tier of :func:`memberkit.rfm.tier_stage_frame`'s
    frame) and whether it leaves out the orders the cleaning flagged as bulk purchases: when the tiers hold
    any, each tier's revenue without them over all revenue without them (what :func:`tiers_bulk_sentence`
    sums for the top tiers), else ``revenue_share``. The chart shows these and says which they are, so it
    never gives another number for the share the sentence under it states."""
    bulk = float(tiers.bulk_revenue.sum()) if "bulk_revenue" in tiers else 0.0
    if not bulk:
        return tiers.revenue_share, False
    rest = float(tiers.revenue.sum()) - bulk
    return (tiers.revenue - tiers.bulk_revenue) / rest if rest else tiers.revenue * np.nan, True


TIER_PANELS = ("tiers", "stages")   # members per tier, then per lifecycle stage


def plot_tiers_stages(p: Presentation, a: rfm.RFMAnalysis, params=None, panels=TIER_PANELS):
    """Each of ``panels`` (:data:`TIER_PANELS`) one above the other: ``tiers``, members per tier (with their
    revenue share, without the flagged bulk orders when the tiers hold any: :func:`tier_revenue_shares`);
    ``stages``, members per lifecycle stage (with their share of all members), the stages labelled with
    their day counts from ``params`` (RFMParams). The page draws one panel a chart, each wider than tall,
    so that on A4 each follows what is on the page (the two in one drawing were printed 21 cm high)."""
    import matplotlib.pyplot as plt
    tiers, stages = a.tiers, a.stages
    panels = [panel for panel in panels if panel in TIER_PANELS]
    fig, axes = plt.subplots(len(panels), 1, figsize=(6.4, 3.8 * len(panels)), squeeze=False)
    drawn = dict(zip(panels, axes[:, 0]))
    if "tiers" in drawn:
        ax1 = drawn["tiers"]
        ax1.bar([tier_label(p, t) for t in tiers.index], tiers.members, color=PALETTE[0])
        shares, without_bulk = tier_revenue_shares(tiers)
        # in words, members and share each on its line ('19,412 members' / '76% of revenue'): the figures
        # alone with 'excl. bulk' between them read as one number; the title says which revenue it is
        for i, (n, rs) in enumerate(zip(tiers.members, shares.fillna(0))):
            ax1.text(i, n, p.counted("rfm.tier_bar", n, members=p.count(n), share=p.pct(rs, 0)),
                     ha="center", va="bottom", fontsize=11)
        # linear from zero: bar heights compare as counts; room above the tallest bar for its two lines
        ax1.set_ylim(0, max(1, tiers.members.max()) * 1.3)
        ax1.set_title(p.text("rfm.tiers_chart_without_bulk" if without_bulk else "rfm.tiers_chart"), loc="left")
    if "stages" in drawn:
        ax2 = drawn["stages"]
        ax2.bar([tick_lines(stage_label(p, s, params), 10) for s in stages.index], stages.members,
                color=[STAGE_COLOURS[s] for s in stages.index])
        for i, (n, sh) in enumerate(zip(stages.members, stages.share.fillna(0))):
            ax2.text(i, n, f"{n:,}\n{sh:.0%}", ha="center", va="bottom", fontsize=11)
        ax2.set_title(p.text("rfm.stages_chart"), loc="left")
        ax2.tick_params(axis="x", labelsize=10)   # 10 px at 420 px: the chart is narrowed to 5.3 in, no further
    for ax in drawn.values():
        ax.margins(y=0.2)
    fig.tight_layout()
    return fig


def profile_frame(p: Presentation, profile: pd.DataFrame, scheme: str = "high_low") -> pd.DataFrame:
    """The segment profile of ``scheme`` for display: name and the action in a few words first (they stay in
    view; two lines at most at 1280 px, issue 23), then the figures formatted with their units, and the action in
    full last, where the table's words wrap; on paper the action in full is left out, a line saying so."""
    sch = rfm.schemes()[scheme]
    unit = f" ({p.symbol})"
    frame = page.decision_first(pd.DataFrame({
        p.text("rfm.segment"): [sch.label(k, p.language) for k in profile.index],
        p.text("rfm.action"): [sch.short_action(k, p.language) for k in profile.index],
        p.text("rfm.members"): [p.count(x) for x in profile.members],
        p.text("rfm.share"): [p.pct(x) for x in profile.share],
        p.text("rfm.revenue_share"): [p.pct(x) for x in profile.revenue_share],
        p.text("rfm.mean_r_col"): [p.ratio(x, 0) for x in profile.mean_r],
        p.text("rfm.mean_f_col"): [p.ratio(x, 1) for x in profile.mean_f],
        p.text("rfm.mean_m_col") + unit: [p.money(x) for x in profile.mean_m],
        p.text("rfm.aov") + unit: [p.money(x) for x in profile.aov],
        p.text("rfm.action_detail"): [sch.action(k, p.language) for k in profile.index]}))
    # on A4 the action in full, the widest words, wrapped to four and five lines and squeezed the headings beside
    # it (issue 23): paper has the short action, which carries the decision, and a line saying where the rest is
    return page.printed_without(frame, [len(frame.columns) - 1], p.text("rfm.printed_without_detail"))


def segments_caption(p: Presentation, a: rfm.RFMAnalysis, split: str) -> str:
    """Where the segments split each measure, in words (days since the last order, orders, spend); the
    letters R, F and M stand in :func:`segments_hint`, for analysts."""
    s = a.segmenter.splits_
    split_word = {"en": {"mean": "mean", "median": "median"}, "zh": {"mean": "均值", "median": "中位数"}}[p.language][split]
    return p.text("rfm.segments_caption", split=split_word, days=a.window_days, r=p.ratio(s["r"], 0),
                f=p.ratio(s["f"], 1), m=p.money(s["m"]))


def segments_hint(p: Presentation, a: rfm.RFMAnalysis) -> str:
    """For analysts, under :func:`segments_caption`: the same splits by RFM's letters."""
    s = a.segmenter.splits_
    return p.text("rfm.segments_hint", r=p.ratio(s["r"], 0), f=p.ratio(s["f"], 1), m=p.money(s["m"]))


def region_sentence(p: Presentation, a: rfm.RFMAnalysis, params) -> str:
    """The region losing the most established members and, when another region qualifies, the one losing the fewest."""
    r = a.regions
    worst, safe = a.region_at_risk, a.region_safest
    if worst is None:
        return ""
    values = dict(region=p.shop("region", worst), rate=p.pct(r.loc[worst, "established_lost_rate"]), orders=params.established_orders,
                  days=params.churned_days)
    if safe is None:
        return p.text("rfm.region_text_alone", min=p.count(rfm.REGION_MIN_MEMBERS), **values)
    return p.text("rfm.region_text", safe=p.shop("region", safe), safe_rate=p.pct(r.loc[safe, "established_lost_rate"]), **values)


def migration_sentence(p: Presentation, a: rfm.RFMAnalysis) -> str:
    m = a.migration
    if a.flows.empty:
        return ""
    name = lambda k: p.text("rfm.outside") if k == rfm.OUTSIDE else segment_name(p, k)  # noqa: E731
    f = a.flows.iloc[0]
    return p.text("rfm.migration_text", stayed=p.pct(a.stayed_share), flow_from=name(f["from"]), flow_to=name(f["to"]),
                flow_n=p.count(f.members), total=p.count(m.to_numpy().sum()), outside=p.text("rfm.outside"))


def tier_currency_warning(p: Presentation, params) -> str | None:
    """A warning when the tier thresholds are meant in another currency than the shop's; else None."""
    mismatch = rfm.tier_currency_mismatch(params)
    if mismatch is None:
        return None
    return p.text("rfm.tier_currency_warning", tier_currency=mismatch[0], currency=mismatch[1])


def tier_currency_hint(p: Presentation, params) -> str:
    """For analysts, under :func:`tier_currency_warning`: the settings to change ('' without a mismatch)."""
    mismatch = rfm.tier_currency_mismatch(params)
    return p.text("rfm.tier_currency_hint", currency=mismatch[1]) if mismatch else ""


def tiers_sentence(p: Presentation, a: rfm.RFMAnalysis, params=None) -> str:
    """The top tiers' share of members and revenue and the churned and silent shares; with
    ``params`` (RFMParams) also what each lifecycle stage means, since they differ from the
    activity and churn figures of the month (which follow members active at its start)."""
    tiers, stages = a.tiers, a.stages
    top = tiers.iloc[1:]   # every tier above the base tier
    sep = "、" if p.language == "zh" else "/"
    return p.text("rfm.tiers_text", top_tiers=sep.join(tier_label(p, t) for t in top.index),
                top_share=p.pct(top.members.sum() / tiers.members.sum() if tiers.members.sum() else float("nan")),
                top_revenue=p.pct(top.revenue_share.sum()), churned=p.pct(stages.loc["lapsed", "share"]),
                churned_days=p.count(getattr(params, "churned_days", 180)),
                silent=p.pct(stages.loc["silent", "share"])) + tiers_bulk_sentence(p, a) + (
                    "" if params is None else p.sentence_sep + p.text(
                    "rfm.stages_defined", new_days=p.count(params.new_days), silent_days=p.count(params.silent_days),
                    churned_days=p.count(params.churned_days)))


def tiers_bulk_sentence(p: Presentation, a: rfm.RFMAnalysis) -> str:
    """How much of the top tiers' revenue (every tier above the base tier) is orders the cleaning flagged
    as bulk purchases, per tier with any, and those tiers' share of revenue without them; '' when they
    hold none. Begins with the page's sentence separator, to follow :func:`tiers_sentence`'s first sentence.
    Tiers are set on spend with the bulk orders in it, so the share the tiers hold is shown both ways
    rather than changed."""
    tiers = a.tiers
    if "bulk_revenue" not in tiers:
        return ""
    top = tiers.iloc[1:]
    bulk = float(top.bulk_revenue.sum())
    if not bulk or not float(top.revenue.sum()):
        return ""
    sep = "、" if p.language == "zh" else ", "
    each = sep.join(p.text("rfm.tier_bulk_part", tier=tier_label(p, t), share=p.pct(r.bulk_share))
                    for t, r in top.iloc[::-1].iterrows() if r.bulk_revenue)
    shares, _ = tier_revenue_shares(tiers)   # the chart's shares: the sentence's total is theirs summed
    return p.sentence_sep + p.text("rfm.tiers_bulk_text", share=p.pct(bulk / float(top.revenue.sum())), tiers=each,
                                   top_revenue=p.pct(float(shares.iloc[1:].sum(min_count=1))))


def cohort_sentence(p: Presentation, a: rfm.RFMAnalysis) -> str:
    c = a.cohorts
    if c.shape[1] < 3 or c[1].dropna().empty:
        return ""
    row = c[1].dropna().index[-1]   # the latest cohort with a second month observed
    return p.text("rfm.cohort_text", cohort=p.month(str(row), full=True), m1=p.pct(c.loc[row, 1]))
