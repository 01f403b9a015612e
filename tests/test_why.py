"""The summary page's "why member revenue changed": sentences, waterfall and tables read from month.json's
``attribution``; displayed parts add up to the displayed total, in both languages."""
import math
import random
import re
from html.parser import HTMLParser

import pytest

from memberkit import attribution as A
from memberkit.views import Presentation
from memberkit.views.attribution import round_parts, sentences, shown_total, waterfall, why_block

EN, ZH = Presentation("en", "CNY"), Presentation("zh", "CNY")


def amount(text: str) -> int:
    """A shown amount of money back as a whole number ('-CN¥1,234' -> -1234, '+¥5' -> 5)."""
    sign = -1 if re.match(r"^\s*[-−]", text) else 1
    return sign * int(re.sub(r"[^0-9]", "", text))


# ------------------------------------------------------------------ rounding that adds up
def test_rounded_parts_add_up_to_the_rounded_total_with_the_remainder_on_the_largest_part():
    assert round_parts([10.4, 20.4, -5.3], 25.5) == [10.0, 21.0, -5.0]     # 25 rounded, +1 on 20.4
    assert round_parts([0.5, 0.5, 0.5], 1.5) == [0.0, 1.0, 1.0]   # each half away to 1, total to 2: -1 on the first
    assert round_parts([-2.5, 1.0], -1.5) == [-3.0, 1.0]                 # -1.5 rounds away to -2: no remainder
    assert round_parts([], 0.0) == []
    assert round_parts([123.4, 56.7], 180.1, 10.0) == [120.0, 60.0]
    rng = random.Random(3)
    for _ in range(500):
        parts = [rng.uniform(-1e5, 1e5) for _ in range(rng.randint(1, 6))]
        total = sum(parts)
        shown = round_parts(parts, total)
        assert sum(shown) == math.copysign(math.floor(abs(total) + 0.5), total)
        assert all(x == int(x) for x in shown)
        # only the largest part moves off its own rounding, by what the rounding left
        moved = [i for i, (a, b) in enumerate(zip(parts, shown)) if abs(a - b) > 0.5 + 1e-9]
        largest = max(range(len(parts)), key=lambda i: (abs(parts[i]), -i))
        assert moved in ([], [largest])


# ------------------------------------------------------------------ the view of one comparison
def _change(before: dict, after: dict, flows: list[float] | None = None, groups: list[dict] | None = None) -> dict:
    split = A.driver_split(before, after)
    out = {**split, "groups": groups or []}
    if flows is not None:
        out["flows"] = [{"flow": f, "contribution": c} for f, c in zip(A.FLOWS, flows)]
    return out


BEFORE = {"members": 1000.0, "activity_rate": 0.3, "orders_per_active_member": 0.6, "average_order_value": 201.7}
AFTER = {"members": 1040.0, "activity_rate": 0.31, "orders_per_active_member": 0.62, "average_order_value": 223.9}


@pytest.mark.parametrize("p", [EN, ZH])
def test_the_waterfall_and_its_table_add_up_to_the_change_shown(p):
    change = _change(BEFORE, AFTER)
    w = waterfall(p, change, "September 2026", "October 2026")
    before, after = round(change["before"]), round(change["after"])
    assert w["total"] == after - before
    assert sum(w["parts"]) == w["total"]
    assert sum(amount(r["part"]) for r in w["table"]) == amount(w["total_text"]) == after - before
    assert [r["value"] for r in w["rows"]][0] == p.money(change["before"])
    assert [r["kind"] for r in w["rows"]] == ["level", "up", "up", "up", "up", "level"]
    # every bar starts inside the chart and ends inside it; each step starts where the last ended
    assert all(0 <= r["left"] and r["left"] + r["width"] <= 100.0001 for r in w["rows"])
    steps = w["rows"][1:-1]
    for a, b in zip(steps, steps[1:]):
        assert b["left"] == pytest.approx(a["left"] + a["width"], abs=0.02)


def test_a_fall_draws_down_bars_and_the_remainder_is_on_the_largest_part_and_said():
    change = _change(AFTER, BEFORE)
    w = waterfall(EN, change, "a", "b")
    assert [r["kind"] for r in w["rows"][1:-1]] == ["down"] * 4
    own = [round(d["contribution"]) for d in change["drivers"]]
    largest = max(range(4), key=lambda i: abs(change["drivers"][i]["contribution"]))
    assert [i for i in range(4) if own[i] != w["parts"][i]] in ([], [largest])
    if w["rest"]:
        assert EN.money(abs(w["rest"])) in w["note"]


def test_the_split_and_rounding_notes_read_as_two_sentences_without_a_space_after_the_full_stop():
    """'…各部分之和恰好等于变化。 各部分取整到个位…': the page joined the method's sentence and the rounding note
    with a space, as English does; in Chinese nothing follows 。."""
    change = _change(BEFORE, AFTER)
    change["method"] = "lmdi_i"
    zh, en = waterfall(ZH, change, "a", "b"), waterfall(EN, change, "a", "b")
    assert zh["method_note"] == zh["method"] + zh["note"] and "。 " not in zh["method_note"]
    assert en["method_note"] == f'{en["method"]} {en["note"]}'
    from .conftest import ROOT
    template = (ROOT / "lib/memberkit/templates/month/summary.html.j2").read_text(encoding="utf-8")
    assert "{{ c.method_note }}" in template and "{{ c.method }} {{ c.note }}" not in template


def test_sentences_lead_with_the_city_or_channel_then_the_driver_then_a_flow():
    change = _change(BEFORE, AFTER, flows=[30000.0, 40000.0, 5000.0, -40000.0])
    # a city whose whole part is larger than any driver's: it leads
    city_drivers = A.driver_split({**BEFORE, "average_order_value": 300.0}, {**BEFORE, "average_order_value": 180.0})
    change["groups"] = [{"dimension": "region", "group": "Shanghai", "contribution": city_drivers["total_change"],
                         "mix": 0.0, "rate": city_drivers["total_change"], "drivers": city_drivers["drivers"]},
                        {"dimension": "channel", "group": "online", "contribution": 100.0, "mix": 100.0, "rate": 0.0,
                         "drivers": []}]
    said = sentences(EN, change, "September 2026")
    assert len(said) == 4
    assert said[0].startswith("Shanghai brought -\u2060CN¥") and "average order value fell 40.0%" in said[0]
    assert "Across all members, average order value rose" in said[1]
    # the driver's part is the one the table shows (rounded to add up), the flow is the largest one
    w = waterfall(EN, change, "a", "b")
    assert EN.money(w["parts"][3]).lstrip("-") in said[1]
    assert said[2].startswith("Members who came back") and f"of the +{EN.money(shown_total(change))} change" in said[2]
    # the flows offset each other: the largest going the other way follows, so the page is not one-sided
    assert said[3].startswith("Members who bought in September 2026 and not this month account for -\u2060CN¥40,000")
    zh = sentences(ZH, change, "2026年9月")
    assert zh[0].startswith("较 2026年9月的") and "Shanghai贡献 " in zh[0] and "客单价下降 40.0%" in zh[0]
    assert not re.search(r"[A-Za-z]{3,}", "".join(zh).replace("Shanghai", ""))


def _figures(change_previous, change_year, revenue: list) -> dict:
    return {"period": "2026-10", "months": ["2025-10", "2026-09", "2026-10"], "active_window_days": 90,
            "figures": {"member_revenue": revenue},
            "attribution": {"member_revenue": {"vs_previous": change_previous, "vs_year_ago": change_year}}}


def test_a_comparison_that_cannot_be_made_says_why():
    labels = {"vs_previous": "September 2026", "vs_year_ago": "October 2025"}
    change = _change(BEFORE, AFTER, flows=[1.0, 2.0, 3.0, -4.0])
    block = why_block(EN, _figures(change, None, [None, 1.0, 2.0]), labels, "October 2026")
    year = block["comparisons"][1]
    assert year["unknown"] == "Not known: the orders do not reach back to October 2025."
    assert block["comparisons"][0]["unknown"] == "" and block["sentences"]
    # a month with orders but no member revenue (zero members): not defined rather than no history
    block = why_block(ZH, _figures(change, None, [0.0, 1.0, 2.0]), labels, "2026年10月")
    assert block["comparisons"][1]["unknown"] == "无法得知：October 2025没有可比较的会员销售额。"
    # neither comparison known: no sentences, both say why; no attribution at all (an older month): nothing
    block = why_block(EN, _figures(None, None, [None, None, 2.0]), labels, "October 2026")
    assert block["sentences"] == [] and all(c["unknown"] for c in block["comparisons"])
    assert why_block(EN, {"period": "2026-10"}, labels, "October 2026") is None


# ------------------------------------------------------------------ on the published page
class _Why(HTMLParser):
    """Per comparison section: the shown parts and total of each table in it."""

    def __init__(self):
        super().__init__()
        self.sections, self._cell, self._table = {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-comparison" in a:
            self._key = a["data-comparison"]
            self.sections[self._key] = []
        elif tag == "table" and self.sections:
            self._table = {"parts": [], "total": None}
            self.sections[self._key].append(self._table)
        elif tag == "td" and self._table is not None and ("data-part" in a or "data-total" in a):
            self._cell = "parts" if "data-part" in a else "total"

    def handle_data(self, data):
        if self._cell == "parts":
            self._table["parts"].append(amount(data))
        elif self._cell == "total":
            self._table["total"] = amount(data)
        self._cell = None


@pytest.mark.parametrize("edition", ["e2e", "e2e_zh"])
def test_the_published_summary_explains_the_change_and_every_table_adds_up(edition, request):
    result, out, _ = request.getfixturevalue(edition)
    assert result.returncode == 0, result.stderr[-2000:]
    language = "en" if edition == "e2e" else "zh"
    page = (out / language / "index.html").read_text(encoding="utf-8")
    assert 'id="mk-why"' in page
    parser = _Why()
    parser.feed(page)
    assert set(parser.sections) == {"vs_previous", "vs_year_ago"}
    tables = [t for ts in parser.sections.values() for t in ts if t["total"] is not None]
    assert len(tables) == 4                      # drivers and flows, for both comparisons
    for t in tables:
        assert sum(t["parts"]) == t["total"]
    happened = page[page.index("mk-happened"):page.index('id="mk-why"')]
    assert ("Across all members" if language == "en" else "全体会员") in happened


def test_bulk_orders_are_a_line_of_their_own_and_never_lead_a_sentence():
    """A bulk order the cleaning flagged moves member revenue by more than any driver: the waterfall
    shows it as its own bar and the table still adds up, but the sentences speak of members' buying."""
    change = _change(BEFORE, AFTER, flows=[3000.0, 4000.0, 500.0, -4000.0])
    bulk = {"name": A.BULK, "before": 0.0, "after": 60000.0, "contribution": 60000.0}
    change = {**change, "drivers": [*change["drivers"], bulk], "after": change["after"] + 60000.0,
              "total_change": change["total_change"] + 60000.0,
              "flows": [*change["flows"], {"flow": A.BULK, "contribution": 60000.0}]}
    w = waterfall(EN, change, "September 2026", "October 2026")
    assert w["table"][-1]["driver"] == "Flagged bulk orders" and w["rows"][-2]["kind"] == "up"
    assert w["table"][-1]["after"] == EN.money(60000.0)
    assert sum(amount(r["part"]) for r in w["table"]) == amount(w["total_text"])
    said = " ".join(sentences(EN, change, "September 2026"))
    assert "flagged" not in said and "average order value (without the bulk orders) rose" in said
    # the order-based factors are counted without the bulk orders, and their names say so (they differ from the cards)
    assert [r["driver"] for r in w["table"]][2:4] == ["Orders per active member, without bulk orders",
                                                      "Average order value, without bulk orders"]


def test_the_waterfall_marks_member_revenue_with_the_exact_sum_the_cards_show():
    """The summary carried member_revenue 899380.23 on its cards and 899380.2299999999 on the waterfall's level:
    the attribution's levels are float sums of its groups; the page's figure is the month's exact sum."""
    labels = {"vs_previous": "September 2026", "vs_year_ago": "October 2025"}
    change = _change(BEFORE, AFTER, flows=[1.0, 2.0, 3.0, -4.0])
    exact = [None, round(change["before"], 2), round(change["after"], 2)]
    off = {**change, "before": exact[1] - 1e-10, "after": exact[2] - 1.2e-10}
    assert off["after"] != exact[2]
    block = why_block(EN, _figures(off, None, exact), labels, "October 2026")
    shown = " ".join(str(r["value"]) for r in block["comparisons"][0]["rows"])
    values = re.findall(r'data-figure="member_revenue" data-period="(\d{4}-\d\d)" data-value="([^"]+)"', shown)
    assert dict(values) == {"2026-09": repr(exact[1]), "2026-10": repr(exact[2])}
    # a level month.json holds otherwise (another sum) is not replaced
    block = why_block(EN, _figures(change, None, [None, 1.0, 2.0]), labels, "October 2026")
    assert "data-value=\"2.0\"" not in " ".join(str(r["value"]) for r in block["comparisons"][0]["rows"])


def test_the_member_flows_are_said_both_ways():
    """October's summary said only 'members who bought in September and not this month account for -CN¥441,221
    of the +CN¥162,041 change', without the +CN¥351,328 of members who came back: a month whose revenue rose
    read as a loss. The largest flow the other way is said beside it; flows all one way add nothing."""
    total = _change(BEFORE, AFTER)["total_change"]      # the flows of October's summary, scaled to add up
    flows = [165465.0, 351328.0, -11524.0, -441221.0]
    change = _change(BEFORE, AFTER, flows=[f * total / sum(flows) for f in flows])
    said = sentences(EN, change, "September 2026")
    flows = [x for x in said if x.startswith("Members who")]
    assert [x.split(" ")[:4] for x in flows] == [["Members", "who", "bought", "in"], ["Members", "who", "came", "back"]]
    assert " account for -\u2060CN¥" in flows[0] and " spent +CN¥" in flows[1]
    one_way = sentences(EN, _change(BEFORE, AFTER, flows=[3000.0, 4000.0, 500.0, 0.0]), "September 2026")
    assert len([x for x in one_way if x.startswith("Members who")]) == 1


@pytest.mark.parametrize("p", [EN, ZH], ids=["en", "zh"])
def test_channel_rows_read_as_the_clv_pages_channel_rows(p):
    """Issue 23: the channel rows of 'why member revenue changed' and of the member profile's new members read
    'online', 'app', while the CLV page's rows by channel read 'Online', 'App' (门店, 线上, App). Every table's
    channel row now takes the one label function's words; the sentence keeps the words said within a sentence."""
    from memberkit.views import profile as profile_view
    from memberkit.views.attribution import top_groups
    from memberkit.views.rfm import group_label
    codes = ["online", "offline", "app"]
    change = _change(BEFORE, AFTER, groups=[{"dimension": "channel", "group": c, "contribution": 10.0 - k, "mix": 0.0,
                                              "rate": 10.0 - k, "drivers": []} for k, c in enumerate(codes)])
    rows, = [g["rows"] for g in top_groups(p, change) if g["dimension"] == p.text("why.dimension.channel")]
    want = {"en": ["Online", "In store", "App"], "zh": ["线上", "门店", "App"]}[p.language]
    assert [r["group"] for r in rows] == want == [group_label(p, "channel", c) for c in codes]
    assert [profile_view.channel_label(p, c) for c in codes] == want
