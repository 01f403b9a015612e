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

from ..report import missing
from .context import Presentation

#: How each driver's value is shown.
DRIVER_FORMAT = {"members": "count", "activity_rate": "pct", "orders_per_active_member": "ratio",
                 "average_order_value": "money", "revenue": "money", "orders": "count", "repeat_buyers": "count",
                 "buyers": "count", "active_members": "count", "lapsed_in_month": "count",
                 "active_at_start": "count", "joined_in_month": "count", "joined_before": "count"}
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


def _driver_phrase(p: Presentation, d: dict) -> str:
    rel = _relative(d["before"], d["after"])
    key = "why.rose" if d["after"] > d["before"] else "why.fell" if d["after"] < d["before"] else "why.held"
    return p.text(key, driver=p.text(f"why.driver.{d['name']}"),
                  change=p.signed_pct(rel) if rel is not None else "",
                  before=_value(p, d["name"], d["before"]), after=_value(p, d["name"], d["after"]))


def _group_label(p: Presentation, dimension: str, group) -> str:
    if group is None:
        return p.text("why.unknown_group", dimension=p.text(f"why.dimension.{dimension}"))
    if dimension == "channel":
        return p.code("channels", group)
    if dimension == "new_vs_returning":
        return p.text(f"why.{group}")
    return str(group)


def sentences(p: Presentation, change: dict) -> list[str]:
    """Two or three sentences on member revenue's change (``change``: one comparison of
    month.json's ``attribution.member_revenue``): the group (region or channel) that moved it most
    with the driver that moved that group most, the driver that moved the whole most, and the
    largest member flow. Each gives its part of the total change."""
    total = _signed_money(p, change["total_change"])
    out = []
    groups = [g for g in change.get("groups", []) if g["dimension"] in LEADING_DIMENSIONS]
    if groups:
        g = max(groups, key=lambda r: (abs(r["contribution"]), -groups.index(r)))
        within = sorted(g.get("drivers") or [], key=lambda d: -abs(d["contribution"]))
        if within:
            out.append(p.text("why.group_sentence", group=_group_label(p, g["dimension"], g["group"]),
                              what=_driver_phrase(p, within[0]), part=_signed_money(p, g["contribution"]), total=total))
    if change.get("drivers"):
        d = max(change["drivers"], key=lambda r: abs(r["contribution"]))
        out.append(p.text("why.driver_sentence", what=_driver_phrase(p, d), part=_signed_money(p, d["contribution"]),
                          total=total))
    if change.get("flows"):
        f = max(change["flows"], key=lambda r: abs(r["contribution"]))
        out.append(p.text(f"why.flow_sentence.{f['flow']}", part=_signed_money(p, f["contribution"]), total=total))
    return out


def waterfall(p: Presentation, change: dict) -> dict:
    """The driver split of member revenue as rows of a waterfall: the earlier month, one row per
    driver (its rounded part), this month. Each row: ``label``, ``value`` (text), ``left`` and
    ``width`` (percent of the chart's range), ``kind`` (``level``, ``up`` or ``down``); plus
    ``rest`` (the rounding remainder put on the largest part, in currency) and the table rows."""
    drivers = change["drivers"]
    before, after = change["before"], change["after"]
    parts = round_parts([d["contribution"] for d in drivers], round(after) - round(before))
    rest = sum(parts) - sum(_round_half_away(d["contribution"]) for d in drivers)
    levels, level = [], round(before)
    for part in parts:
        levels.append((level, level + part))
        level += part
    lo = min([0.0, round(before), round(after)] + [min(a, b) for a, b in levels])
    hi = max([round(before), round(after)] + [max(a, b) for a, b in levels])
    span = (hi - lo) or 1.0

    def bar(a, b):
        return round((min(a, b) - lo) / span * 100, 2), max(round(abs(b - a) / span * 100, 2), 0.4)

    rows = [{"label": p.text("why.start"), "value": p.money(before), "kind": "level",
             **dict(zip(("left", "width"), bar(lo if lo < 0 else 0.0, round(before))))}]
    for d, part, (a, b) in zip(drivers, parts, levels):
        rows.append({"label": p.text(f"why.driver.{d['name']}"), "value": _signed_money(p, part),
                     "kind": "up" if part > 0 else "down" if part < 0 else "level",
                     **dict(zip(("left", "width"), bar(a, b)))})
    rows.append({"label": p.text("why.end"), "value": p.money(after), "kind": "level",
                 **dict(zip(("left", "width"), bar(lo if lo < 0 else 0.0, round(after))))})
    table = [{"driver": p.text(f"why.driver.{d['name']}"), "before": _value(p, d["name"], d["before"]),
              "after": _value(p, d["name"], d["after"]),
              "change": p.signed_pct(_relative(d["before"], d["after"])) if d["before"] else "",
              "part": _signed_money(p, part)} for d, part in zip(drivers, parts)]
    method = p.text(f"why.method.{change['method']}") if change.get("method") else ""
    return {"rows": rows, "table": table, "rest": rest, "method": method,
            "note": p.text("why.rounding", rest=_signed_money(p, rest)) if rest else ""}


def top_groups(p: Presentation, change: dict, per_dimension: int = 3) -> list[dict]:
    """The groups that moved member revenue most, ``per_dimension`` per dimension (already ranked):
    ``dimension``, ``group``, ``part``, ``mix``, ``rate`` as text."""
    out = []
    for dim in ("region", "channel", "new_vs_returning"):
        for g in [g for g in change.get("groups", []) if g["dimension"] == dim][:per_dimension]:
            out.append({"dimension": p.text(f"why.dimension.{dim}"), "group": _group_label(p, dim, g["group"]),
                        "part": _signed_money(p, g["contribution"]), "mix": _signed_money(p, g["mix"]),
                        "rate": _signed_money(p, g["rate"])})
    return out


def why_block(p: Presentation, figures: dict | None) -> dict | None:
    """Everything the summary page shows of why member revenue changed (None when month.json has no
    attribution, or member revenue is unknown against the previous month): ``sentences``, and per
    comparison (``vs_previous``, ``vs_year_ago``) the waterfall, the table and the top groups, or
    ``unknown`` with the reason."""
    why = (figures or {}).get("attribution", {}).get("member_revenue")
    if not why or not why.get("vs_previous"):
        return None
    out = {"sentences": sentences(p, why["vs_previous"]), "comparisons": []}
    for key in ("vs_previous", "vs_year_ago"):
        change = why.get(key)
        title = p.text(f"why.{key}")
        if not change or not change.get("drivers"):
            out["comparisons"].append({"key": key, "title": title, "unknown": p.text("why.not_known")})
            continue
        out["comparisons"].append({"key": key, "title": title, **waterfall(p, change),
                                   "groups": top_groups(p, change),
                                   "total": _signed_money(p, change["total_change"])})
    return out
