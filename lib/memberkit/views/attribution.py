"""Why the month changed, in words and pictures: the summary page's "what happened this month".

Reads month.json's ``attribution`` (numbers and codes, :mod:`memberkit.attribution`) and words
it through the catalogue (section ``why``): two or three sentences leading with the largest
contributions, a waterfall of the driver split drawn as HTML bars (readable at any width, no
picture to scale), and the table behind it. Displayed parts are rounded so that they sum to the
displayed total; the rounding remainder goes on the largest part and the page says so.

Example
-------
>>> round_parts([10.4, 20.4, -5.3], 25.5, 1.0)
[10.0, 21.0, -5.0]
"""

from __future__ import annotations

import math

from markupsafe import Markup

from ..report import missing
from .context import Presentation
from .page import Figure, mark

#: How each driver's value is shown.
DRIVER_FORMAT = {"members": "count", "activity_rate": "pct", "orders_per_active_member": "ratio",
                 "average_order_value": "money", "revenue": "money", "orders": "count", "repeat_buyers": "count",
                 "buyers": "count", "active_members": "count", "lapsed_in_month": "count",
                 "active_at_start": "count", "joined_in_month": "count", "joined_before": "count",
                 "bulk_orders": "money"}
#: Dimensions whose groups can lead a sentence (a member attribute a reader can act on).
LEADING_DIMENSIONS = ("region", "channel")


def round_parts(parts: list[float], total: float, step: float = 1.0) -> list[float]:
    """``parts`` rounded to ``step`` so that they sum to ``total`` rounded to ``step``.

    Each part is rounded half away from zero; what is left between the rounded total and the
    sum of the rounded parts goes onto the part largest in absolute value (the first of equals).
    """
    if not parts:
        return []
    units = [_round_half_away(x / step) for x in parts]
    rest = _round_half_away(total / step) - sum(units)
    largest = max(range(len(parts)), key=lambda i: (abs(parts[i]), -i))
    units[largest] += rest
    return [u * step for u in units]


def largest_remainder(values: list[float]) -> list[int]:
    """Non-negative ``values`` (counts that may hold fractions, e.g. expected members per group) as whole
    numbers that add up to their sum rounded half away from zero: each is rounded down and the units left
    go one each to the largest fractional parts (the first of equals), the largest remainder (Hamilton)
    method. Rounding each on its own gave 1,911.5 + 1,911.5 -> 1,912 + 1,912 = 3,824 against 3,823
    assigned.

    >>> largest_remainder([1911.5, 1911.5])
    [1912, 1911]
    """
    floors = [int(math.floor(v)) for v in values]
    left = _round_half_away(sum(values)) - sum(floors)
    by_remainder = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    for i in by_remainder[:max(left, 0)]:
        floors[i] += 1
    return floors


def _round_half_away(x: float) -> int:
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def _value(p: Presentation, name: str, value) -> str:
    kind = DRIVER_FORMAT.get(name, "ratio")
    if missing(value):
        return p.text("kpi.no_history")
    return {"count": p.count, "pct": p.pct, "money": p.money, "ratio": p.ratio}[kind](value)


def _signed_money(p: Presentation, x: float) -> str:
    return ("+" if x > 0 else "") + p.money(x)


def _relative(before, after) -> float | None:
    return (after - before) / abs(before) if before else None


#: Drivers taken without the flagged bulk orders when the split has them (they differ from the cards).
WITHOUT_BULK = ("orders_per_active_member", "average_order_value")


def _has_bulk(change: dict) -> bool:
    return any(d["name"] == "bulk_orders" for d in change.get("drivers") or [])


def _label(p: Presentation, name: str, own: bool, kind: str = "driver") -> str:
    """A driver's name in a table (``kind`` driver) or a sentence (``in_sentence``); ``own``: the
    split has a bulk-orders line, so the order-based drivers are without them and say so."""
    return p.text(f"why.{kind}_own.{name}" if own and name in WITHOUT_BULK else f"why.{kind}.{name}")


def _change(p: Presentation, d: dict, signed: bool = True) -> str:
    """A driver's change from ``before`` to ``after``: a rate's in percentage points (as the cards give it),
    any other relative, in percent; without its sign for a sentence that says rose or fell; '' when the
    earlier value is zero or missing."""
    before, after = d["before"], d["after"]
    if DRIVER_FORMAT.get(d["name"]) == "pct":
        if missing(before) or missing(after):
            return ""
        shown = p.pp_change(before, after)
        return shown if signed else shown.lstrip("+-")
    rel = _relative(before, after)
    if rel is None:
        return ""
    return p.signed_pct(rel) if signed else p.pct(abs(rel))


def _driver_phrase(p: Presentation, d: dict, own: bool = False) -> str:
    key = "why.rose" if d["after"] > d["before"] else "why.fell" if d["after"] < d["before"] else "why.held"
    return p.text(key, driver=_label(p, d["name"], own, "in_sentence"), change=_change(p, d, signed=False),
                  before=_value(p, d["name"], d["before"]), after=_value(p, d["name"], d["after"]))


def _group_label(p: Presentation, dimension: str, group, in_sentence: bool = False) -> str:
    """A group as a table's row ('In store', the words of :func:`memberkit.views.rfm.group_label`, as the CLV
    page's channel rows) or, ``in_sentence``, within a sentence ('members whose sign-up channel is in store')."""
    if group is None:
        return p.text(f"why.no_{dimension}") if dimension in ("tier", "segment") else \
            p.text("why.unknown_group", dimension=p.text(f"why.dimension.{dimension}"))
    if dimension == "channel":
        from .rfm import group_label
        return p.code("channels", group) if in_sentence else group_label(p, dimension, group)
    if dimension == "segment":
        from .rfm import segment_name
        return segment_name(p, group)
    if dimension == "tier":
        from .rfm import tier_label
        return tier_label(p, group)
    if dimension == "new_vs_returning":
        return p.text(f"why.{group}")
    return p.shop(dimension, group)   # a region: its display name (shown as written when it has none)


def shown_total(change: dict) -> float:
    """The change as the page shows it: this month's rounded value minus the earlier month's, so that
    the waterfall's bars, its table and its sentences all add up to what the reader can check."""
    return float(_round_half_away(change["after"]) - _round_half_away(change["before"]))


def sentences(p: Presentation, change: dict, base: str) -> list[str]:
    """Two or three sentences on member revenue's change against the month ``base`` (its label), from
    ``change`` (one comparison of month.json's ``attribution.member_revenue``): first the city or
    channel whose part is largest, with the driver that moved it most (the place and the lever a
    reader can act on), then the driver that moved all members' revenue most, then the largest
    member flow and the largest one the other way, when there is one (flows are gross movements that
    offset each other, so they never lead and are not given one-sided). Each gives
    its part of the total change as the tables below show it (rounded to add up, :func:`round_parts`)."""
    total = shown_total(change)
    found = []
    groups = [g for g in change.get("groups", []) if g["dimension"] in LEADING_DIMENSIONS]
    if groups:
        g = max(groups, key=lambda r: (abs(r["contribution"]), -groups.index(r)))
        within = sorted(g.get("drivers") or [], key=lambda d: -abs(d["contribution"]))
        if within:
            part = float(_round_half_away(g["contribution"]))
            # the share of the change says how much of it the place or channel is; the sentence names its basis
            found.append(p.text(
                f"why.group_sentence.{g['dimension']}", group=_group_label(p, g["dimension"], g["group"], in_sentence=True),
                what=_driver_phrase(p, within[0], _has_bulk(change)), part=_signed_money(p, part), total=_signed_money(p, total),
                base=base, share=_share_clause(p, part, total)))
    drivers = change.get("drivers") or []
    own = [k for k, d in enumerate(drivers) if d["name"] != "bulk_orders"]   # bulk orders have their own sentence
    if own:
        parts = round_parts([d["contribution"] for d in drivers], total)
        i = max(own, key=lambda k: (abs(drivers[k]["contribution"]), -k))
        found.append(p.text("why.driver_sentence", what=_driver_phrase(p, drivers[i], _has_bulk(change)),
                            part=_signed_money(p, parts[i]), total=_signed_money(p, total), base=base))
    flows = change.get("flows") or []
    own = [k for k, f in enumerate(flows) if f["flow"] != "bulk_orders"]
    if own:
        parts = round_parts([f["contribution"] for f in flows], total)
        i = max(own, key=lambda k: (abs(flows[k]["contribution"]), -k))
        # flows offset each other: the largest one going the other way is said too, or a month whose revenue
        # rose reads as 'we lost 441k' without the members who came back
        other = [k for k in own if flows[k]["contribution"] * flows[i]["contribution"] < 0]
        for k in [i] + ([max(other, key=lambda k: (abs(flows[k]["contribution"]), -k))] if other else []):
            found.append(p.text(f"why.flow_sentence.{flows[k]['flow']}", part=_signed_money(p, parts[k]),
                                total=_signed_money(p, total), base=base))
    return found


def _share_clause(p: Presentation, part: float, total: float) -> str:
    """'(14.3% of it)' for a group's part of the change in the change's direction; a part against it is said
    so ('against the change as a whole'), never as a negative share of it; '' when there is no change."""
    if not total:
        return ""
    if part * total < 0:
        return p.text("why.share_against")
    return p.text("why.share_of", share=p.pct(part / total))


def _bars(levels: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Each (from, to) as (left, width) in percent of the range every bar and zero span."""
    lo = min([0.0] + [min(a, b) for a, b in levels])
    hi = max([0.0] + [max(a, b) for a, b in levels])
    span = (hi - lo) or 1.0
    return [(round((min(a, b) - lo) / span * 100, 2), max(round(abs(b - a) / span * 100, 2), 0.4)) for a, b in levels]


def waterfall(p: Presentation, change: dict, start: str, end: str, periods: tuple[str, str] | None = None) -> dict:
    """The driver split of member revenue as a waterfall from the earlier month (label ``start``) to
    this one (``end``): ``rows`` (``label``, ``value`` text, ``left`` and ``width`` in percent of
    the chart's range, ``kind`` = ``level``, ``up`` or ``down``), ``table`` (per driver: its value in
    both months, its change, its rounded part), ``parts`` (the rounded parts, currency), ``total``
    (the change shown), ``rest`` (the rounding remainder put on the largest part), ``note``,
    ``method`` (plain words) and the two as one text (``method_note``) with ``method_hint`` (the split's
    name and source, for analysts) and
    ``description`` (every bar with its amount, for a screen reader).
    With ``periods`` (the earlier month and this one, 'YYYY-MM') the two levels are marked as those
    months' member revenue (:func:`memberkit.views.page.mark`)."""
    drivers = change["drivers"]
    before, after = _round_half_away(change["before"]), _round_half_away(change["after"])
    total = shown_total(change)
    parts = round_parts([d["contribution"] for d in drivers], total)
    rest = sum(parts) - sum(_round_half_away(d["contribution"]) for d in drivers)
    levels, level = [(0.0, float(before))], float(before)
    for part in parts:
        levels.append((level, level + part))
        level += part
    levels.append((0.0, float(after)))
    bars = _bars(levels)
    own = _has_bulk(change)
    labels = [start] + [_label(p, d["name"], own) for d in drivers] + [end]
    levels_shown = [p.money(before), p.money(after)]
    if periods:
        levels_shown = [Markup(mark(shown, Figure("member_revenue", month, value)))
                        for shown, month, value in zip(levels_shown, periods, (change["before"], change["after"]))]
    values = [levels_shown[0]] + [_signed_money(p, x) for x in parts] + [levels_shown[1]]
    kinds = ["level"] + ["up" if x > 0 else "down" if x < 0 else "level" for x in parts] + ["level"]
    rows = [{"label": a, "value": v, "kind": k, "left": left, "width": width}
            for a, v, k, (left, width) in zip(labels, values, kinds, bars)]
    table = [{"driver": _label(p, d["name"], own), "before": _value(p, d["name"], d["before"]),
              "after": _value(p, d["name"], d["after"]),
              "change": _change(p, d),
              "part": _signed_money(p, part)} for d, part in zip(drivers, parts)]
    method = p.text(f"why.method.{change['method']}") if change.get("method") else ""
    # the split's name and reference are for analysts (folded on the page); the plain words say what it guarantees
    method_hint = p.text(f"why.method.{change['method']}_hint") if change.get("method") else ""
    hint = method_hint[:1].upper() + method_hint[1:] if p.language == "en" else method_hint
    # a screen reader hears the bars as drawn: each with its amount, from the earlier month's level to this one's
    plain = [p.money(before)] + [_signed_money(p, x) for x in parts] + [p.money(after)]
    description = p.list_sep.join(f"{a} {v}" for a, v in zip(labels, plain))
    note = p.text("why.rounding", rest=_signed_money(p, rest)) if rest else p.text("why.rounded")
    return {"rows": rows, "table": table, "parts": parts, "total": total, "total_text": _signed_money(p, total),
            "rest": rest, "method": method, "method_hint": hint, "analysts": p.text("common.for_analysts"),
            "description": description, "note": note,
            # the two sentences as the page prints them: a space between them in English, none after 。
            "method_note": p.sentence_sep.join(x for x in (method, note) if x)}


def flow_rows(p: Presentation, change: dict) -> list[dict]:
    """The member-flow bridge as table rows (``flow``, ``part``): new, reactivated, retained and lost
    members' parts of the change, rounded so that they sum to the change shown."""
    flows = change.get("flows") or []
    parts = round_parts([f["contribution"] for f in flows], shown_total(change))
    return [{"flow": p.text(f"why.flow.{f['flow']}"), "part": _signed_money(p, x)} for f, x in zip(flows, parts)]


def top_groups(p: Presentation, change: dict, per_dimension: int = 3) -> list[dict]:
    """The groups that moved member revenue most: per dimension (``dimension`` label) its first
    ``per_dimension`` ``rows`` (already ranked by absolute contribution), each ``group``, ``part``,
    ``mix`` and ``rate`` as text."""
    out = []
    for dim in ("region", "channel", "new_vs_returning", "tier", "segment"):
        rows = [{"group": _group_label(p, dim, g["group"]), "part": _signed_money(p, g["contribution"]),
                 "mix": _signed_money(p, g["mix"]), "rate": _signed_money(p, g["rate"])}
                for g in [g for g in change.get("groups", []) if g["dimension"] == dim][:per_dimension]]
        if rows:
            out.append({"dimension": p.text(f"why.dimension.{dim}"), "rows": rows})
    return out


def _unknown_reason(p: Presentation, figures: dict, base: str, base_label: str) -> str:
    values = dict(zip(figures.get("months", []), figures.get("figures", {}).get("member_revenue", [])))
    if values.get(base) is None:
        return p.text("why.no_history", month=base_label)
    return p.text("why.not_defined", month=base_label)


def why_block(p: Presentation, figures: dict | None, labels: dict[str, str], end: str,
              member_groups: dict | None = None) -> dict | None:
    """Everything the summary page shows of why member revenue changed, or None when month.json has no
    attribution (an older month). ``labels``: ``vs_previous``/``vs_year_ago`` -> that month's label;
    ``end``: this month's label. Returns ``sentences`` (against the previous month, or the year-ago
    month when only that is known) and ``comparisons``: per comparison its ``title`` and either the
    waterfall, flows and top groups, or ``unknown`` with the reason. ``member_groups``: the RFM
    report's split by tier and segment (``rfm_segmentation.json``'s ``revenue_change_groups``), shown
    with the other groups when given."""
    why = ((figures or {}).get("attribution") or {}).get("member_revenue")
    if why is None:
        return None
    out = {"sentences": [], "comparisons": [], "window": figures.get("active_window_days", 90)}
    for key in ("vs_previous", "vs_year_ago"):
        change, title = why.get(key), p.text(f"why.{key}", month=labels[key])
        if not change or not change.get("drivers"):
            out["comparisons"].append({"key": key, "title": title,
                                       "unknown": _unknown_reason(p, figures, _base_period(figures, key), labels[key])})
            continue
        if not out["sentences"]:
            out["sentences"] = sentences(p, change, labels[key])
        periods = (_base_period(figures, key), figures["period"])
        change = {**change, "groups": [*change.get("groups", []), *((member_groups or {}).get(key) or [])],
                  **exact_levels(figures, periods, change)}
        out["comparisons"].append({"key": key, "title": title, "unknown": "",
                                   **waterfall(p, change, labels[key], end, periods),
                                   "flows": flow_rows(p, change), "groups": top_groups(p, change)})
    return out


def exact_levels(figures: dict, periods: tuple[str, str], change: dict) -> dict:
    """The two months' member revenue as month.json's figures give it (``before``, ``after``; the shop's
    currency), for the waterfall's levels in place of ``change``'s: the attribution's levels are float sums of
    its groups (899380.2299999999 on the sample beside the cards' 899380.23, summed exactly in the engine).
    Only a level within half a cent of the figure is replaced (the same sum, rounded differently); a month
    month.json does not hold, or holds otherwise, keeps the attribution's level ({} when none is replaced)."""
    values = dict(zip(figures.get("months", []), figures.get("figures", {}).get("member_revenue", [])))
    return {k: values[m] for k, m in zip(("before", "after"), periods)
            if values.get(m) is not None and change.get(k) is not None and abs(values[m] - change[k]) < 0.005}


def _base_period(figures: dict, key: str) -> str:
    from ..periods import previous_period, same_period_last_year
    period = figures["period"]
    return previous_period(period) if key == "vs_previous" else same_period_last_year(period)
