"""Text from the data is shown, never run: hostile strings in every free-text column of every input
table go through all reports, and every page shows them literally with no tag from the data live."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser

import pandas as pd
import pytest
import yaml

from .conftest import ROOT

SCRIPT = '<script>alert("mk")</script>'
IMG = "<img src=x onerror=alert(1)>"
QUOTES = "\"'><mark>q</mark>"
HOSTILE = (SCRIPT, IMG, QUOTES)


class _Page(HTMLParser):
    """The tags, attributes and visible text of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._style = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._style += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._style -= tag in ("style", "script") and self._style > 0

    def handle_data(self, data):
        if not self._style:
            self.text.append(data)


def _poison(folder) -> None:
    """Every free-text column of every input table (names, regions, tiers, stores, categories, campaign
    names, types and target segments, variants) carries the hostile strings; coded columns stay as they are."""
    members = pd.read_csv(folder / "members.csv", encoding="gb18030", dtype=str)
    rows = members.index[:: 7]
    members.loc[rows, "城市"] = [f"{HOSTILE[i % 3]}上海" for i in range(len(rows))]
    members.loc[members.index[1::5], "会员等级"] = IMG
    members.loc[members.index[2::9], "姓名"] = SCRIPT
    members.to_csv(folder / "members.csv", index=False, encoding="gb18030")
    orders = pd.read_csv(folder / "orders.csv", dtype=str)
    orders.loc[orders.index[::3], "Category"] = QUOTES
    orders.loc[orders.index[1::4], "StoreID"] = SCRIPT
    orders.to_csv(folder / "orders.csv", index=False)
    campaigns = pd.read_excel(folder / "campaigns.xlsx", sheet_name="campaigns", dtype=str)
    campaigns["name"] = [f"{HOSTILE[i % 3]}{n}" for i, n in enumerate(campaigns["name"])]
    campaigns["type"] = [f"{t}{IMG}" for t in campaigns["type"]]
    campaigns["target_segment"] = SCRIPT
    with pd.ExcelWriter(folder / "campaigns.xlsx") as xl:
        campaigns.to_excel(xl, sheet_name="campaigns", index=False)
    experiments = pd.read_csv(folder / "experiments.csv", dtype=str)
    experiments["variant"] = experiments.variant.replace({"coupon_10": SCRIPT, "coupon_20": IMG, "push": QUOTES})
    experiments.to_csv(folder / "experiments.csv", index=False)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    from memberkit.sample import generate_sample
    folder = tmp_path_factory.mktemp("hostile")
    truth = generate_sample(folder, n_members=2000, seed=11)
    _poison(folder)
    config = folder / "hostile.yaml"
    config.write_text(yaml.safe_dump({"as_of": truth["extracted_at"], "language": "zh",
                                      "source": {"base_dir": str(folder), "sample": None}}), encoding="utf-8")
    out = tmp_path_factory.mktemp("pages")
    proc = subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--config", str(config), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    return proc, out


PAGES = ["index.html", "data_cleaning.html", "rfm_segmentation.html", "clv_forecast.html", "ab_test.html",
         "campaign_review.html"]


@pytest.mark.slow
def test_every_page_shows_data_text_literally_and_runs_none_of_it(hostile_run):
    proc, out = hostile_run
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "  WARNING  " not in proc.stdout, proc.stdout          # the Chinese edition draws every character
    shown = set()
    for name in PAGES:
        raw = (out / "zh" / name).read_text(encoding="utf-8")
        page = _Page()
        page.feed(raw)
        assert not [t for t, _ in page.tags if t == "script"], f"{name}: a script element"
        assert not [t for t, a in page.tags if any(k.startswith("on") for k in a)], f"{name}: an event handler"
        assert not [t for t, _ in page.tags if t == "mark"], f"{name}: a tag from the data"
        images = [a.get("src", "") for t, a in page.tags if t == "img"]
        assert all(src.startswith("data:image/") for src in images), f"{name}: an image from the data"
        text = "".join(page.text)
        shown |= {h for h in HOSTILE if h in text}
        assert '<html lang="zh-CN">' in raw, name
    # The strings reach the pages (campaign names, variants, regions), shown as the shop wrote them.
    assert shown == set(HOSTILE)
    campaign = _Page()
    campaign.feed((out / "zh" / "campaign_review.html").read_text(encoding="utf-8"))
    assert f"{SCRIPT}国庆会员日" in "".join(campaign.text)
    ab = _Page()
    ab.feed((out / "zh" / "ab_test.html").read_text(encoding="utf-8"))
    assert IMG in "".join(ab.text) and SCRIPT in "".join(ab.text)
