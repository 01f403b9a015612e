"""A deterministic sample retailer whose truth is known.

The generator writes the canonical tables of the domain the way a retailer's systems
export them (Chinese ERP headers in GB18030, a platform export in UTF-8, campaigns in
Excel), with every kind of dirt the cleaning rules handle, and a ``ground_truth.json``
beside the files so tests can check that the analysis recovers what was put in.

Purchases follow a BG/NBD process and spend a Gamma-Gamma process with global
parameters. Cities differ in behaviour because members are *assigned* to cities by
their drawn rates, not because cities have their own rates: the population as a whole
still follows exactly the global parameters, while some cities end up with big
spenders who churn and others with frequent small baskets.

Example
-------
>>> import tempfile
>>> from memberkit.sample import generate_sample
>>> truth = generate_sample(tempfile.mkdtemp(), n_members=300, seed=1)
>>> truth["bgnbd"]["r"]
0.55
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# Column names as the retailer's systems export them; params/base.yaml maps them.
MEMBER_EXPORT_COLUMNS = {
    "member_id": "会员编号",
    "name": "姓名",
    "join_date": "注册日期",
    "region": "城市",
    "channel": "注册渠道",
    "tier": "会员等级",
    "gender": "性别",
    "birth_date": "出生日期",
    "phone": "手机号",
    "email": "邮箱",
}
ORDER_EXPORT_COLUMNS = {
    "order_id": "OrderID",
    "member_id": "MemberID",
    "order_ts": "OrderTime",
    "channel": "Channel",
    "store_id": "StoreID",
    "amount": "PaidAmount",
    "quantity": "Qty",
    "category": "Category",
    "discount": "DiscountAmount",
    "coupon_id": "CouponID",
    "status": "Status",
}

#: rows of orders.csv formatted and written at a time (the generator's memory at 10,000,000 members)
ORDER_CHUNK_ROWS = 500_000

CITIES = ["北京", "上海", "广州", "深圳", "成都", "杭州"]
# How each city's membership leans, as weights on standardised (spend, frequency, churn).
CITY_DESIGN = {
    "北京": {"base": 0.6, "spend": 0.0, "freq": 0.0, "churn": 0.0},
    "上海": {"base": 0.0, "spend": 1.2, "freq": 0.0, "churn": 1.4},   # big spenders, high churn
    "广州": {"base": 0.2, "spend": -0.2, "freq": 0.6, "churn": -0.2},
    "深圳": {"base": 0.0, "spend": 0.9, "freq": 0.2, "churn": -0.9},  # big spenders, loyal
    "成都": {"base": 0.1, "spend": -1.2, "freq": 1.3, "churn": -0.3},  # frequent small baskets
    "杭州": {"base": 0.0, "spend": 0.0, "freq": -0.7, "churn": 0.5},
}
REGION_VARIANTS = {
    "北京": ["Beijing ", "beijing", "北京市", " 北京"],
    "上海": ["Shanghai", "SHANGHAI", "上海市", "shanghai "],
    "广州": ["Guangzhou", "广州市", "guangzhou"],
    "深圳": ["Shenzhen", "深圳市", " shenzhen"],
    "成都": ["Chengdu", "成都市", "chengdu "],
    "杭州": ["Hangzhou", "杭州市", "HANGZHOU"],
}
CHANNEL_VARIANTS = {
    "online": ["Online", "ONLINE ", "线上", " online"],
    "offline": ["Offline", "门店", "线下", "OFFLINE"],
    "app": ["APP", "App ", "小程序"],
}
CATEGORIES = ["服饰", "美妆", "食品", "家居", "母婴", "数码"]
TIER_THRESHOLDS = [(20000, "钻石"), (8000, "金卡"), (2000, "银卡"), (0, "普通")]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕")


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    name: str
    type: str
    start: str
    end: str
    cost: float
    target_segment: str
    n_target: int
    holdout_share: float          # 0 means no holdout group
    uplift: float                 # probability a target member makes one incremental order
    pull_forward: float = 0.0     # probability an organic order after the end moves into the window


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    variants: tuple[str, ...]
    planned_split: tuple[float, ...]
    assigned: str
    n_members: int
    uplift: tuple[float, ...]     # per variant, probability of one incremental order in the window
    window_days: int = 30
    lost_share: tuple[float, ...] = ()  # assignments lost in logging per variant (breaks the split)


CAMPAIGNS = (
    Campaign("C2501", "新春会员日", "member_day", "2025-01-20", "2025-01-26", 30000, "active", 3000, 0.2, 0.08),
    Campaign("C2503", "满300减50", "spend_save", "2025-03-08", "2025-03-14", 45000, "all", 4000, 0.15, 0.05),
    Campaign("C2506", "618 大促", "markdown", "2025-06-01", "2025-06-18", 80000, "all", 5000, 0.0, 0.06),
    Campaign("C2511", "双11 满减", "spend_save", "2025-11-01", "2025-11-11", 90000, "all", 5000, 0.2, 0.04, 0.6),
    Campaign("C2603", "新会员礼", "new_member_gift", "2026-03-01", "2026-03-31", 20000, "new", 1500, 0.2, 0.10),
    Campaign("C2606", "618 优惠券", "coupon", "2026-06-10", "2026-06-18", 40000, "active", 4000, 0.15, 0.03),
    # An app-push member day for lapsed members: cheap to run and a clear response, so it pays.
    Campaign("C2610", "国庆会员日", "member_day", "2026-10-01", "2026-10-07", 3000, "lapsed", 3000, 0.2, 0.07),
)
EXPERIMENTS = (
    Experiment("EXP-PUSH", ("control", "push"), (0.5, 0.5), "2026-06-01", 6000, (0.0, 0.05)),
    Experiment("EXP-COUPON", ("control", "coupon_10", "coupon_20"), (1 / 3, 1 / 3, 1 / 3), "2026-08-01", 9000,
               (0.0, 0.03, 0.07)),
    Experiment("EXP-BANNER", ("control", "banner"), (0.5, 0.5), "2026-09-01", 4000, (0.0, 0.0),
               lost_share=(0.0, 0.08)),
)


@dataclass(frozen=True)
class Shock:
    """One city's order value changed by a share in one month (``aov_change=-0.4``: every order of
    that city's members in ``month`` is worth 40% less), for testing why a month changed.

    No random draw is made for it, so every other number of the sample stays as it was.
    """
    city: str
    month: str            # YYYY-MM
    aov_change: float     # a share, above -1


@dataclass(frozen=True)
class FollowUps:
    """What follows the sample's last month (October 2026) in one more month of data, planted when
    ``SampleSpec.follow_ups`` is on, for the ledger (:mod:`memberkit.ledger`) to find.

    The October summary says to repeat C2610 (a member day), that EXP-COUPON's coupon_20 lifts
    conversion but not the margin after its cost, and lists the high-value members at risk. In
    November: a campaign of the same type (``campaign``, with a holdout, cheap and with a clear
    response, so it pays again), EXP-COUPON assigning new members from ``experiment_from`` to
    ``experiment_last`` and then no more (its assignments end), and a purchase
    by ``winback_response`` of the big spenders gone quiet (top ``winback_top`` of spend to date, no
    purchase in the ``winback_quiet_days`` before November but one in the 540 days before). Every
    draw comes from its own random stream (``SeedSequence([seed, 26])``) and the rows are appended
    after everything else, so the months up to October are the default sample's, row for row.
    """
    end: str = "2026-11-30"
    campaign: Campaign = Campaign("C2611", "双11会员日", "member_day", "2026-11-05", "2026-11-11", 3000, "lapsed",
                                  3000, 0.2, 0.07)
    experiment: str = "EXP-COUPON"
    experiment_members: int = 600
    experiment_from: str = "2026-11-02"
    experiment_last: str = "2026-11-12"
    winback_top: float = 0.1
    winback_quiet_days: int = 120
    winback_response: float = 0.3


#: The channel multipliers ``source.sample.response_by_channel: true`` uses: app members answer a
#: campaign two and a half times as often as the campaign's average, in-store members hardly at all.
RESPONSE_BY_CHANNEL = {"app": 2.5, "online": 1.0, "offline": 0.1}


def true_list_margin(folder, member_ids, campaign_type: str, margin: float, contact_cost: float) -> float:
    """The true net incremental margin of contacting ``member_ids`` in a campaign of ``campaign_type``
    on a sample generated with ``response_by_channel`` (its ``uplift_truth.csv`` in ``folder``): the
    sum over the members of the chance of an incremental order x the expected order value x
    ``margin``, less ``contact_cost`` each (currency). An id the truth does not know brings nothing
    and costs the contact. Raises ``FileNotFoundError`` for a sample without the setting."""
    truth = pd.read_csv(Path(folder) / "uplift_truth.csv", dtype={"member_id": str}).set_index("member_id")
    t = truth.reindex(pd.Index(list(member_ids), dtype=object).astype(str))
    gain = (t[f"uplift_{campaign_type}"] * t.expected_order_value * margin).fillna(0.0)
    return float((gain - contact_cost).sum())


@dataclass
class DirtCounts:
    """How many rows of each problem the generator injects (each into a distinct row)."""

    duplicate_orders: int = 400
    guest_orders: int = 3000
    cancelled_orders: int = 1500
    returns: int = 1200
    unparseable_order_dates: int = 150
    future_order_dates: int = 80
    negative_quantity: int = 100
    non_positive_amount: int = 120
    outliers: int = 60
    duplicate_members: int = 150
    bad_join_dates: int = 40

    def scaled(self, factor: float) -> "DirtCounts":
        return DirtCounts(**{k: max(3, int(round(v * factor))) for k, v in self.__dict__.items()})


@dataclass
class SampleSpec:
    n_members: int = 20_000
    seed: int = 20241
    start: str = "2024-01-01"
    end: str = "2026-10-31"
    # BG/NBD in days: purchase rate ~ Gamma(r, alpha), dropout after a repeat purchase ~ Beta(a, b)
    r: float = 0.55
    alpha: float = 45.0
    a: float = 0.7
    b: float = 3.5
    # Gamma-Gamma: spend per order ~ Gamma(p, nu), nu ~ Gamma(q, v)
    gg_p: float = 6.0
    gg_q: float = 8.0
    gg_v: float = 230.0
    buyer_share: float = 0.88
    linked_share: float = 0.12
    dirt: DirtCounts = field(default_factory=DirtCounts)
    shock: Shock | None = None     # off by default
    follow_ups: bool = False       # off by default: plant what followed the last month's decisions (FollowUps)
    #: off by default: a campaign's chance of an incremental order scaled by the member's channel
    #: (RESPONSE_BY_CHANNEL), a feature RFM does not see; drawn from its own stream (with follow_ups,
    #: November's repeated campaign answers the same way)
    response_by_channel: dict[str, float] | None = None


def generate_sample(out_dir: str | Path, n_members: int = 20_000, seed: int = 20241,
                    spec: SampleSpec | None = None) -> dict:
    """Write the sample retailer's export files and ground truth into ``out_dir``.

    Parameters
    ----------
    out_dir : folder to write into (created if missing).
    n_members : number of people (an identity-linked person has two member ids).
    seed : random seed; the same seed and size give byte-identical files.
    spec : full specification; ``n_members`` and ``seed`` override its fields.

    Returns
    -------
    dict
        The ground truth, also written to ``out_dir/ground_truth.json``.
    """
    spec = spec or SampleSpec()
    spec.n_members, spec.seed = n_members, seed
    if n_members < 20_000:
        spec.dirt = DirtCounts().scaled(n_members / 20_000)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _Generator(spec).write(out)


class _Generator:
    def __init__(self, spec: SampleSpec):
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self.shock_truth = None
        # issue 26 part 3: its own stream, apart from the main one and from the follow-ups' ([seed, 26])
        self.response_rng = np.random.default_rng([spec.seed, 26, 3])
        self.start = pd.Timestamp(spec.start)
        self.end = pd.Timestamp(spec.end) + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
        self.span_days = (self.end - self.start) / pd.Timedelta(days=1)

    # ----------------------------------------------------------------- people
    def people(self) -> pd.DataFrame:
        s, rng, n = self.spec, self.rng, self.spec.n_members
        lam = rng.gamma(s.r, 1 / s.alpha, n)
        p = rng.beta(s.a, s.b, n)
        nu = rng.gamma(s.gg_q, 1 / s.gg_v, n)
        z = {
            "spend": _standardise(np.log(s.gg_p / nu)),
            "freq": _standardise(np.log(lam)),
            "churn": _standardise(np.log(p / (1 - p))),
        }
        logits = np.column_stack([
            d["base"] + d["spend"] * z["spend"] + d["freq"] * z["freq"] + d["churn"] * z["churn"]
            for d in CITY_DESIGN.values()
        ])
        prob = np.exp(logits - logits.max(axis=1, keepdims=True))
        prob /= prob.sum(axis=1, keepdims=True)
        city_idx = (prob.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
        # Membership grows over time: half uniform, half with rising density.
        u = rng.random(n)
        frac = np.where(rng.random(n) < 0.5, u, np.sqrt(u)) * 0.995
        join = self.start + pd.to_timedelta(frac * self.span_days, unit="D")
        buyer = rng.random(n) < s.buyer_share
        delay = np.where(rng.random(n) < 0.7, rng.random(n) * 0.3, rng.exponential(10, n))
        first = join + pd.to_timedelta(delay, unit="D")
        buyer &= first <= self.end
        channel = np.array(["online", "offline", "app"])[
            (np.array([0.35, 0.8, 1.0]) > rng.random((n, 1))).argmax(axis=1)]
        phones = _unique_phones(rng, n)
        return pd.DataFrame({
            "person": np.arange(n), "lam": lam, "p": p, "nu": nu,
            "city": np.array(CITIES)[city_idx], "join": join.floor("s"), "first": first.floor("s"),
            "buyer": buyer, "channel": channel, "phone": phones,
        })

    def organic_purchases(self, people: pd.DataFrame) -> pd.DataFrame:
        """BG/NBD: first purchase at ``first``; after each repeat purchase, drop out with prob p."""
        rng = self.rng
        buyers = people[people.buyer]
        idx = buyers.person.to_numpy()
        t = ((buyers["first"] - self.start) / pd.Timedelta(days=1)).to_numpy().copy()
        lam, p = buyers.lam.to_numpy().copy(), buyers.p.to_numpy().copy()
        persons, times, repeat = [idx], [t.copy()], [np.zeros(len(idx), bool)]
        alive = np.ones(len(idx), bool)
        beyond_p, beyond_t = [], []     # alive at the end: the next purchase already drawn, after the end
        while alive.any():
            a = np.flatnonzero(alive)
            t[a] += rng.exponential(1 / lam[a])
            inside = t[a] <= self.span_days
            a_in = a[inside]
            alive[a[~inside]] = False
            beyond_p.append(idx[a[~inside]]); beyond_t.append(t[a[~inside]].copy())
            persons.append(idx[a_in]); times.append(t[a_in].copy()); repeat.append(np.ones(len(a_in), bool))
            alive[a_in[rng.random(len(a_in)) < p[a_in]]] = False
        out = pd.DataFrame({"person": np.concatenate(persons), "t": np.concatenate(times),
                            "repeat": np.concatenate(repeat)})
        self.beyond = (np.concatenate(beyond_p), np.concatenate(beyond_t))
        return out.sort_values(["person", "t"], kind="stable").reset_index(drop=True)

    def spend(self, people: pd.DataFrame, person: np.ndarray) -> np.ndarray:
        nu = people.nu.to_numpy()[person]
        return np.round(self.rng.gamma(self.spec.gg_p, 1 / nu), 2)

    # -------------------------------------------------------------- campaigns
    def apply_shock(self, people: pd.DataFrame, o: pd.DataFrame) -> dict | None:
        """Scale the amount and discount of the shocked city's member order rows in the shocked month
        (in place, on the export's rows once every random draw is made, so nothing else moves); its truth."""
        shock = self.spec.shock
        if shock is None:
            return None
        if shock.city not in CITIES or not shock.aov_change > -1:
            raise ValueError(f"a shock needs one of {CITIES} and a change above -1, got {shock}")
        when = self.start + pd.to_timedelta(o.t.to_numpy(), unit="D")
        hit = ((people.city.to_numpy()[o.person.to_numpy()] == shock.city) & (when.to_period("M") == pd.Period(shock.month, "M"))
               & (o.member_id.fillna("").to_numpy() != ""))
        for col in ("amount", "discount"):
            o.loc[hit, col] = np.round(o[col][hit].to_numpy() * (1 + shock.aov_change), 2)
        return {"city": shock.city, "month": shock.month, "aov_change": shock.aov_change, "rows": int(hit.sum())}

    def campaigns(self, people, orders):
        """Assign campaign groups and add incremental (and pulled-forward) orders."""
        rng = self.rng
        day = lambda ts: (pd.Timestamp(ts) - self.start) / pd.Timedelta(days=1)
        rows, truth, extra = [], [], []
        for c in CAMPAIGNS:
            s, e = day(c.start), day(c.end) + 1
            joined = ((people["join"] - self.start) / pd.Timedelta(days=1)).to_numpy() < s
            recent = _last_before(orders, people, s)
            if c.target_segment == "active":
                eligible = joined & (recent > s - 180)
            elif c.target_segment == "lapsed":
                eligible = joined & (recent <= s - 90) & (recent > s - 540)
            elif c.target_segment == "new":
                jd = ((people["join"] - self.start) / pd.Timedelta(days=1)).to_numpy()
                eligible = (jd >= s - 60) & (jd < s)
            else:
                eligible = joined
            pool = np.flatnonzero(eligible & people.buyer.to_numpy())
            chosen = rng.choice(pool, size=min(c.n_target, len(pool)), replace=False)
            holdout = rng.random(len(chosen)) < c.holdout_share
            target = chosen[~holdout]
            draw = rng.random(len(target))
            if self.spec.response_by_channel:   # its own stream: the main stream's draws are made as before
                scale = pd.Series(people.channel.to_numpy()[target]).map(self.spec.response_by_channel).fillna(1.0)
                draw = self.response_rng.random(len(target)) / scale.to_numpy()
            incr = target[draw < c.uplift]
            t_incr = s + rng.random(len(incr)) * (e - s)
            extra.append(pd.DataFrame({"person": incr, "t": t_incr, "repeat": True, "campaign": c.campaign_id,
                                       "incremental": True}))
            moved = 0
            if c.pull_forward:
                after = orders.t.between(e, e + 30) & orders.person.isin(target)
                cand = orders.index[after]
                move = cand[rng.random(len(cand)) < c.pull_forward]
                orders.loc[move, "t"] = s + rng.random(len(move)) * (e - s)
                orders.loc[move, "campaign"] = c.campaign_id
                moved = len(move)
            rows.append(pd.DataFrame({"campaign_id": c.campaign_id, "person": chosen,
                                      "group": np.where(holdout, "holdout", "target"),
                                      "sent_t": s + rng.random(len(chosen)) * 0.5}))
            truth.append({
                "campaign_id": c.campaign_id, "type": c.type, "start": c.start, "end": c.end, "cost": c.cost,
                "has_holdout": c.holdout_share > 0, "n_target": int(len(target)), "n_holdout": int(holdout.sum()),
                "true_incremental_orders_per_target": c.uplift,
                "realized_incremental_orders": int(len(incr)),
                "pull_forward": c.pull_forward > 0, "orders_pulled_forward": moved,
            })
        return pd.concat(rows, ignore_index=True), pd.concat(extra, ignore_index=True), truth

    def experiments(self, people, orders, spend_mean):
        rng = self.rng
        day = lambda ts: (pd.Timestamp(ts) - self.start) / pd.Timedelta(days=1)
        rows, extra, truth = [], [], []
        for x in EXPERIMENTS:
            s = day(x.assigned)
            e = s + x.window_days
            recent = _last_before(orders, people, s)
            pool = np.flatnonzero(recent > s - 180)
            chosen = rng.choice(pool, size=min(x.n_members, len(pool)), replace=False)
            variant = (np.cumsum(x.planned_split) > rng.random((len(chosen), 1))).argmax(axis=1)
            in_window = orders[(orders.t >= s) & (orders.t < e)]
            converted = np.isin(chosen, in_window.person.unique())
            effects = {}
            for v, name in enumerate(x.variants):
                members = chosen[variant == v]
                incr = members[rng.random(len(members)) < x.uplift[v]]
                extra.append(pd.DataFrame({"person": incr, "t": s + rng.random(len(incr)) * x.window_days,
                                           "repeat": True, "campaign": None, "incremental": True}))
                if v > 0:
                    # Expected effect over the assigned population: an extra order converts only non-buyers.
                    effects[name] = {
                        "incremental_order_prob": x.uplift[v],
                        "conversion_abs": float(x.uplift[v] * (1 - converted.mean())),
                        "orders_per_member_abs": x.uplift[v],
                        "revenue_per_member_abs": float(x.uplift[v] * spend_mean[chosen].mean()),
                    }
            keep = np.ones(len(chosen), bool)
            for v, share in enumerate(x.lost_share):
                lost = (variant == v) & (rng.random(len(chosen)) < share)
                keep &= ~lost
            rows.append(pd.DataFrame({"experiment_id": x.experiment_id, "person": chosen[keep],
                                      "variant": np.array(x.variants)[variant[keep]],
                                      "assigned_t": s + rng.random(keep.sum()) * 0.9}))
            truth.append({"experiment_id": x.experiment_id, "variants": list(x.variants), "control": x.variants[0],
                          "planned_split": list(x.planned_split), "assigned": x.assigned,
                          "window_days": x.window_days, "broken_split": bool(any(x.lost_share)),
                          "effects": effects})
        return pd.concat(rows, ignore_index=True), pd.concat(extra, ignore_index=True), truth

    # ------------------------------------------------------------ the exports
    def write(self, out: Path) -> dict:
        s, rng = self.spec, self.rng
        people = self.people()
        orders = self.organic_purchases(people)
        orders["campaign"], orders["incremental"] = None, False
        camp_rows, camp_extra, camp_truth = self.campaigns(people, orders)
        spend_mean = s.gg_p / people.nu.to_numpy()
        exp_rows, exp_extra, exp_truth = self.experiments(people, orders, spend_mean)
        orders = pd.concat([orders, camp_extra, exp_extra], ignore_index=True)
        orders = orders.sort_values(["person", "t"], kind="stable").reset_index(drop=True)
        # text of a few values, one per order: categorical keeps a small code per row instead of a string
        orders["campaign"] = orders.campaign.astype("category")
        orders["amount"] = self.spend(people, orders.person.to_numpy())
        for t in camp_truth:   # what the campaign truly brought: its incremental orders' revenue
            revenue = float(orders.amount[orders.incremental & (orders.campaign == t["campaign_id"])].sum())
            t["realized_incremental_revenue"] = round(revenue, 2)
            t["break_even_margin"] = round(t["cost"] / revenue, 4) if revenue else None

        # Channel of each order, and the account it lands on.
        pc = people.channel.to_numpy()[orders.person]
        own = rng.random(len(orders)) < 0.75
        other = np.array(["online", "offline", "app"])[rng.integers(0, 3, len(orders))]
        orders["channel"] = pd.Categorical(np.where(own, pc, other))
        linked_candidate = people.buyer.to_numpy() & (rng.random(len(people)) < s.linked_share)
        is_offline = (orders.channel == "offline").to_numpy()
        people["primary_id"] = _ids(people.channel.to_numpy(), people.person.to_numpy())
        people["second_id"] = _second_ids(people.channel.to_numpy(), people.person.to_numpy(), len(people))
        primary_offline = (people.channel == "offline").to_numpy()[orders.person]
        to_second = linked_candidate[orders.person] & (is_offline != primary_offline)
        orders["member_id"] = pd.Categorical(np.where(to_second, people.second_id.to_numpy()[orders.person],
                                                      people.primary_id.to_numpy()[orders.person]))
        second_first = orders[to_second].groupby("person").t.min()
        linked = people.person.isin(second_first.index).to_numpy()
        del pc, own, other, is_offline, primary_offline, to_second   # a row each: GBs at 10,000,000 members

        members = self._members(people, orders, second_first, linked)
        order_rows, dirt_truth = self._orders_export(people, orders, members)
        orders = orders[["person", "t", "amount"]]   # all that is read from here on
        members_export, member_dirt = self._members_export(members)
        del members
        dirt_truth.update(member_dirt)
        members_export.rename(columns=MEMBER_EXPORT_COLUMNS).to_csv(
            out / "members.csv", index=False, encoding="gb18030")
        n_member_rows = len(members_export)
        del members_export

        # Campaign and experiment tables refer to the person's primary account.
        pid = people.primary_id.to_numpy()
        cm = pd.DataFrame({
            "campaign_id": camp_rows.campaign_id, "member_id": pid[camp_rows.person], "group": camp_rows.group,
            "sent_ts": _ts(self.start, camp_rows.sent_t),
        })
        redeemed = self._redemptions(cm, camp_rows, orders)
        cm["redeemed_ts"] = redeemed
        campaigns = pd.DataFrame([{
            "campaign_id": c.campaign_id, "name": c.name, "type": c.type, "start": c.start, "end": c.end,
            "cost": c.cost, "target_segment": c.target_segment} for c in CAMPAIGNS])
        experiments = pd.DataFrame({
            "experiment_id": exp_rows.experiment_id, "member_id": pid[exp_rows.person],
            "variant": exp_rows.variant, "assigned_ts": _ts(self.start, exp_rows.assigned_t),
        })

        follow = follow_orders = None
        if s.follow_ups:     # appended after every draw of the main stream: the months before stay as they are
            follow = self.follow_ups(people, orders, exp_rows)
            follow_orders = follow.pop("orders")
            cm = pd.concat([cm, follow.pop("campaign_members")], ignore_index=True)
            campaigns = pd.concat([campaigns, follow.pop("campaigns")], ignore_index=True)
            experiments = pd.concat([experiments, follow.pop("experiments")], ignore_index=True)
        n_order_rows = self._write_orders(out / "orders.csv", order_rows, follow_orders)
        del order_rows
        with pd.ExcelWriter(out / "campaigns.xlsx", engine="openpyxl") as xw:
            campaigns.to_excel(xw, sheet_name="campaigns", index=False)
        cm.to_csv(out / "campaign_members.csv", index=False)
        experiments.to_csv(out / "experiments.csv", index=False)

        pairs = people[linked][["primary_id", "second_id"]]
        by_city = people.groupby("city").agg(members=("person", "size"), mean_dropout_p=("p", "mean"),
                                             mean_rate_per_day=("lam", "mean"))
        by_city["mean_spend"] = pd.Series(spend_mean, index=people.index).groupby(people.city).mean()
        truth = {
            "seed": s.seed, "n_people": s.n_members, "start": s.start, "end": s.end,
            "extracted_at": str((self.end + pd.Timedelta(seconds=1)).date()),
            "time_unit": "day",
            "bgnbd": {"r": s.r, "alpha": s.alpha, "a": s.a, "b": s.b},
            "gamma_gamma": {"p": s.gg_p, "q": s.gg_q, "v": s.gg_v},
            "note": "BG/NBD and Gamma-Gamma describe the organic process; campaign and experiment "
                    "orders are added on top.",
            "cities": by_city.round(6).reset_index().to_dict(orient="records"),
            "highest_churn_city": str(by_city.mean_dropout_p.idxmax()),
            "linked_identities": {"count": int(linked.sum()),
                                  "pairs": pairs.sort_values("primary_id").values.tolist()},
            "dirt": dirt_truth,
            "rows": {"members": int(n_member_rows), "orders": int(n_order_rows),
                     "campaign_members": int(len(cm)), "experiments": int(len(experiments)),
                     "campaigns": int(len(campaigns))},
            "campaigns": camp_truth,
            "experiments": exp_truth,
            "shock": self.shock_truth,
        }
        if s.response_by_channel:
            truth["response_by_channel"] = self.response_truth(people, linked, out)
        if follow is not None:
            truth["follow_ups"] = follow
            truth["end"] = FollowUps().end
            truth["extracted_at"] = str((pd.Timestamp(FollowUps().end) + pd.Timedelta(days=1)).date())
        (out / "ground_truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
        return truth

    # ------------------------------------------------------------ planted follow-ups (off by default)
    def follow_ups(self, people: pd.DataFrame, orders: pd.DataFrame, exp_rows: pd.DataFrame) -> dict:
        """One more month (:class:`FollowUps`) drawn from its own stream: organic purchases continuing
        the BG/NBD process (each member alive at the end buys at the next time already drawn, then
        drops out with p or draws the next), the repeated campaign, the experiment's last assignments and the
        win-back purchases. Returns the export rows to append (``orders``, ``campaign_members``,
        ``campaigns``, ``experiments``, in the exports' columns) and the truth of what was planted."""
        f = FollowUps()
        rng = np.random.default_rng(np.random.SeedSequence([self.spec.seed, 26]))
        day = lambda ts: (pd.Timestamp(ts) - self.start) / pd.Timedelta(days=1)
        old_end, new_end = self.span_days, day(f.end) + 1 - 1 / 86400
        lam, p = people.lam.to_numpy(), people.p.to_numpy()
        who, t = self.beyond
        new = []
        while len(who):
            inside = t <= new_end
            who, t = who[inside], t[inside]
            new.append(pd.DataFrame({"person": who, "t": t, "kind": "organic", "campaign": ""}))
            stay = rng.random(len(who)) >= p[who]
            who, t = who[stay], t[stay] + rng.exponential(1 / lam[who[stay]])
        # the same type of campaign again, for lapsed members, with a holdout
        c = f.campaign
        s, e = day(c.start), day(c.end) + 1
        joined = ((people["join"] - self.start) / pd.Timedelta(days=1)).to_numpy() < s
        recent = _last_before(orders, people, s)
        pool = np.flatnonzero(joined & (recent <= s - 90) & (recent > s - 540) & people.buyer.to_numpy())
        chosen = rng.choice(pool, size=min(c.n_target, len(pool)), replace=False)
        holdout = rng.random(len(chosen)) < c.holdout_share
        target = chosen[~holdout]
        draw = rng.random(len(target))
        if self.spec.response_by_channel:   # the repeated campaign answers by channel too, from the response stream
            scale = pd.Series(people.channel.to_numpy()[target]).map(self.spec.response_by_channel).fillna(1.0)
            draw = self.response_rng.random(len(target)) / scale.to_numpy()
        incr = target[draw < c.uplift]
        new.append(pd.DataFrame({"person": incr, "t": s + rng.random(len(incr)) * (e - s), "kind": "campaign",
                                 "campaign": c.campaign_id}))
        # the big spenders gone quiet: a share of them buys again
        spend = orders.groupby("person").amount.sum().reindex(people.person).fillna(0).to_numpy()
        quiet = _last_before(orders, people, old_end + 1)
        top = spend >= np.quantile(spend[people.buyer.to_numpy()], 1 - f.winback_top)
        at_risk = np.flatnonzero(top & (quiet <= old_end - f.winback_quiet_days) & (quiet > old_end - 540))
        back = at_risk[rng.random(len(at_risk)) < f.winback_response]
        new.append(pd.DataFrame({"person": back, "t": old_end + rng.random(len(back)) * (new_end - old_end),
                                 "kind": "winback", "campaign": ""}))
        o = pd.concat(new, ignore_index=True)
        o = o.sort_values(["person", "t"], kind="stable").reset_index(drop=True)
        o["amount"] = np.round(rng.gamma(self.spec.gg_p, 1 / people.nu.to_numpy()[o.person]), 2)
        channel = people.channel.to_numpy()[o.person]
        city_no = pd.Series(range(len(CITIES)), index=CITIES)[people.city.to_numpy()[o.person]].to_numpy()
        pid = people.primary_id.to_numpy()
        rows = pd.DataFrame({
            "order_id": "F" + pd.Series(np.arange(1, len(o) + 1) + 10_000_000).astype(str),
            "member_id": pid[o.person], "order_ts": _ts(self.start, o.t.to_numpy()), "channel": channel,
            "store_id": np.where(channel == "offline",
                                 "S" + (city_no * 3 + rng.integers(1, 4, len(o))).astype(str).astype(object), ""),
            "amount": [f"{x:.2f}" for x in o.amount], "quantity": 1 + rng.poisson(o.amount / 180),
            "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), len(o))], "discount": "0.00",
            "coupon_id": o.campaign.to_numpy(), "status": "paid"})[list(ORDER_EXPORT_COLUMNS)]
        window = o[(o.t >= s) & (o.t < e)].groupby("person").t.min()
        redeem = np.isin(target, window.index) & (rng.random(len(target)) < 0.6)
        redeemed = pd.Series("", index=chosen, dtype=object)
        redeemed[target[redeem]] = _ts(self.start, window.reindex(target[redeem]).to_numpy())
        cm = pd.DataFrame({"campaign_id": c.campaign_id, "member_id": pid[chosen],
                           "group": np.where(holdout, "holdout", "target"),
                           "sent_ts": _ts(self.start, s + rng.random(len(chosen)) * 0.5),
                           "redeemed_ts": redeemed.to_numpy()})
        campaign = pd.DataFrame([{"campaign_id": c.campaign_id, "name": c.name, "type": c.type, "start": c.start,
                                  "end": c.end, "cost": c.cost, "target_segment": c.target_segment}])
        # the experiment assigns new members until experiment_last, then no more
        x = next(x for x in EXPERIMENTS if x.experiment_id == f.experiment)
        a0, a1 = day(f.experiment_from), day(f.experiment_last)
        already = exp_rows.person[exp_rows.experiment_id == f.experiment].to_numpy()
        pool = np.setdiff1d(np.flatnonzero(_last_before(orders, people, a0) > a0 - 180), already)
        joiners = rng.choice(pool, size=min(f.experiment_members, len(pool)), replace=False)
        when = a0 + rng.random(len(joiners)) * (a1 + 0.9 - a0)
        when[np.argmax(when)] = a1 + 0.4         # the last assignment falls on experiment_last
        variant = np.array(x.variants)[(np.cumsum(x.planned_split) > rng.random((len(joiners), 1))).argmax(axis=1)]
        exp = pd.DataFrame({"experiment_id": x.experiment_id, "member_id": pid[joiners], "variant": variant,
                            "assigned_ts": _ts(self.start, when)})
        return {"orders": rows, "campaign_members": cm, "campaigns": campaign, "experiments": exp,
                "end": f.end, "organic_orders": int((o.kind == "organic").sum()),
                "campaign": {"campaign_id": c.campaign_id, "type": c.type, "start": c.start, "end": c.end,
                             "cost": c.cost, "repeats": "C2610", "n_target": int(len(target)),
                             "n_holdout": int(holdout.sum()), "true_incremental_orders_per_target": c.uplift,
                             "realized_incremental_orders": int(len(incr)),
                             "realized_incremental_revenue": round(float(o.amount[o.kind == "campaign"].sum()), 2)},
                "experiment": {"experiment_id": x.experiment_id, "assigned": int(len(joiners)),
                               "first": f.experiment_from, "last": f.experiment_last},
                "winback": {"eligible": int(len(at_risk)), "planted_purchases": int(len(back)),
                            "response": f.winback_response, "members": sorted(pid[back].tolist())}}

    def response_truth(self, people: pd.DataFrame, linked: np.ndarray, out: Path) -> dict:
        """What ``response_by_channel`` makes true: each campaign's chance of an incremental order per
        target member by channel, and per person (``uplift_truth.csv``: member id, channel, the
        expected value of an order (Gamma-Gamma's p / nu, currency) and each campaign type's chance
        of an incremental order when targeted, the type's campaigns averaged; a linked person's
        second account has its own row with the same values, so the truth is found under whichever
        id the cleaning merges the person into)."""
        mult = self.spec.response_by_channel
        by_type: dict[str, list[float]] = {}
        for c in CAMPAIGNS:
            by_type.setdefault(c.type, []).append(c.uplift)
        channel = people.channel.to_numpy()
        scale = pd.Series(channel).map(mult).fillna(1.0).to_numpy()
        frame = pd.DataFrame({"member_id": people.primary_id, "channel": channel,
                              "expected_order_value": np.round(self.spec.gg_p / people.nu.to_numpy(), 4)})
        for kind, values in sorted(by_type.items()):
            frame[f"uplift_{kind}"] = np.round(np.mean(values) * scale, 6)
        frame = pd.concat([frame, frame[linked].assign(member_id=people.second_id[linked].to_numpy())],
                          ignore_index=True)
        frame.sort_values("member_id", kind="stable").to_csv(out / "uplift_truth.csv", index=False)
        return {"multipliers": dict(mult), "file": "uplift_truth.csv",
                "campaigns": {c.campaign_id: {ch: round(c.uplift * m, 6) for ch, m in sorted(mult.items())}
                              for c in CAMPAIGNS}}

    def _members(self, people, orders, second_first, linked):
        rng = self.rng
        n = len(people)
        gender = rng.choice(["男", "女"], n, p=[0.42, 0.58])
        birth = pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 365 * 45, n), unit="D")
        names = np.char.add(np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)],
                            np.char.add(np.array(GIVEN)[rng.integers(0, len(GIVEN), n)],
                                        np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]))
        spend = orders.groupby("person").amount.sum().reindex(people.person).fillna(0).to_numpy()
        tier = np.select([spend >= t for t, _ in TIER_THRESHOLDS], [name for _, name in TIER_THRESHOLDS], default="普通")
        base = pd.DataFrame({
            "member_id": people.primary_id, "name": names, "join_date": people["join"].dt.strftime("%Y-%m-%d"),
            "region": people.city, "channel": people.channel, "tier": tier, "gender": gender,
            "birth_date": birth.strftime("%Y-%m-%d"), "phone": people.phone, "person": people.person,
        })
        base["email"] = np.where(base.channel != "offline", "user" + (people.person + 100).astype(str) + "@example.com", "")
        second = base[linked].copy()
        second["member_id"] = people.second_id[linked].to_numpy()
        second["join_date"] = pd.Series(_ts(self.start, second_first.reindex(second.person).to_numpy())).str[:10].to_numpy()
        second["channel"] = np.where(people.channel[linked] == "offline", "online", "offline")
        second["email"] = np.where(second.channel == "online", second.email.where(second.email != "",
                                   "user" + (second.person + 100).astype(str) + "@example.com"), "")
        # The two accounts of one person show the phone in different formats.
        base["phone"] = _format_phones(rng, base.phone.to_numpy(), style=0)
        second["phone"] = _format_phones(rng, second.phone.to_numpy(), style=1)
        no_phone = (~base.person.isin(second.person)) & (rng.random(len(base)) < 0.03)
        base.loc[no_phone, "phone"] = ""
        return pd.concat([base, second], ignore_index=True).sort_values("member_id", kind="stable")

    def _members_export(self, members):
        rng, d = self.rng, self.spec.dirt
        m = members.drop(columns="person").reset_index(drop=True)
        region_var = rng.random(len(m)) < 0.15
        m.loc[region_var, "region"] = [rng.choice(REGION_VARIANTS[c]) for c in m.region[region_var]]
        chan_var = rng.random(len(m)) < 0.1
        m.loc[chan_var, "channel"] = [rng.choice(CHANNEL_VARIANTS[c]) for c in m.channel[chan_var]]
        bad = rng.choice(len(m), d.bad_join_dates, replace=False)
        m.loc[bad, "join_date"] = rng.choice(["N/A", "2025-02-30", "00/00/0000", "未知"], len(bad))
        dup_src = rng.choice(np.setdiff1d(np.arange(len(m)), bad), d.duplicate_members, replace=False)
        m = pd.concat([m, m.iloc[dup_src]], ignore_index=True)
        m = m.iloc[rng.permutation(len(m))].reset_index(drop=True)
        return m, {"duplicate_members": d.duplicate_members, "bad_join_dates": d.bad_join_dates,
                   "member_region_variants": int(region_var.sum()), "member_channel_variants": int(chan_var.sum())}

    def _orders_export(self, people, orders, members):
        rng, d = self.rng, self.spec.dirt
        n = len(orders)
        # Text columns of a few values are categorical (a small code per row, not a string), with every
        # value they take later among their categories, so copies and edits keep them compact.
        channels = pd.CategoricalDtype(sorted({c for v in CHANNEL_VARIANTS.values() for c in v} | set(CHANNEL_VARIANTS)))
        o = pd.DataFrame({
            "order_id": "O" + pd.Series(np.arange(1, n + 1) + 10_000_000).astype(str),
            "member_id": pd.Categorical(orders.member_id).add_categories([""]),
            "t": orders.t.to_numpy(),
            "channel": orders.channel.astype(channels).array,
            "amount": orders.amount.to_numpy(),
            "person": orders.person.to_numpy(),
        })
        city_no = pd.Series(range(len(CITIES)), index=CITIES)[people.city.to_numpy()[o.person]].to_numpy()
        store_no = city_no * 3 + rng.integers(1, 4, n)          # S1 ... S18, three stores a city
        o["store_id"] = pd.Categorical.from_codes(np.where(o.channel == "offline", store_no, 0),
                                                  ["", *(f"S{i}" for i in range(1, 3 * len(CITIES) + 1))])
        o["quantity"] = 1 + rng.poisson(o.amount / 180)
        o["category"] = pd.Categorical.from_codes(rng.integers(0, len(CATEGORIES), n), CATEGORIES)
        disc_rate = rng.choice([0, 0, 0, 0.05, 0.1, 0.2], n)
        o["discount"] = np.round(o.amount * disc_rate / (1 - disc_rate), 2)
        o["coupon_id"] = pd.Categorical(np.where(pd.notna(orders.campaign), orders.campaign, ""))
        o["status"] = pd.Categorical.from_codes(np.zeros(n, np.int8), ["paid", "cancelled", "returned"])

        extra = []
        def copies(k, **overrides):
            src = o.iloc[rng.choice(n, k, replace=False)].copy()
            src["order_id"] = "X" + pd.Series(rng.choice(10**8, k, replace=False) + 10**8).astype(str).to_numpy()
            for col, val in overrides.items():
                src[col] = pd.Series(val, index=src.index, dtype=o[col].dtype)
            return src
        guests = copies(d.guest_orders, member_id="")
        guests["amount"] = np.round(rng.gamma(4, 45, d.guest_orders), 2)
        extra.append(guests)
        extra.append(copies(d.cancelled_orders, status="cancelled"))
        ret = o.iloc[rng.choice(n, d.returns, replace=False)].copy()
        ret["t"] = np.minimum(ret.t + rng.uniform(1, 20, len(ret)), self.span_days - 0.01)
        ret["amount"] = -np.round(ret.amount * rng.choice([1.0, 0.5, 0.3], len(ret)), 2)
        ret["quantity"] = -1
        ret["status"] = pd.Series("returned", index=ret.index, dtype=o.status.dtype)
        extra.append(ret)
        neg_q = copies(d.negative_quantity)
        neg_q["quantity"] = -rng.integers(1, 4, d.negative_quantity)
        extra.append(neg_q)
        nonpos = copies(d.non_positive_amount)
        zero = rng.random(d.non_positive_amount) < 0.5     # a free order (a purchase); the rest are refused
        nonpos["amount"] = np.where(zero, 0.0, -np.round(rng.uniform(1, 100, d.non_positive_amount), 2))
        extra.append(nonpos)
        bulk = copies(d.outliers)
        bulk["amount"] = np.round(rng.uniform(15000, 40000, d.outliers), 2)
        bulk["quantity"] = rng.integers(50, 200, d.outliers)
        extra.append(bulk)
        # The export's rows are the n orders (``o``) then the added rows (``tail``), kept apart until written:
        # joining them would copy every row, several times. A draw or an edit over all rows is made over
        # both parts, in that order.
        tail = pd.concat(extra, ignore_index=True)
        del extra

        # Times are kept as days and written as text chunk by chunk (_write_orders): millions of
        # timestamps as strings would hold most of the generator's memory. A row's order_ts holds
        # text only where the export shows something other than its time.
        alt = rng.random(n + len(tail)) < 0.1  # a second, valid export format
        for part, part_alt in ((o, alt[:n]), (tail, alt[n:])):
            part["alt_ts"] = part_alt
            part["order_ts"] = pd.Series(None, index=part.index, dtype="str")
        del alt
        bad_dates = copies(d.unparseable_order_dates)
        bad_dates["order_ts"] = rng.choice(["N/A", "2025-13-01 10:00:00", "31/02/2025", "#VALUE!", "昨天"],
                                           d.unparseable_order_dates)
        future = copies(d.future_order_dates)
        future["order_ts"] = _ts(pd.Timestamp("2027-01-01"), rng.uniform(0, 365 * 70, d.future_order_dates))
        tail = pd.concat([tail, bad_dates, future], ignore_index=True)

        chan_var = rng.random(n + len(tail)) < 0.08
        shocked = []
        for part, part_var in ((o, chan_var[:n]), (tail, chan_var[n:])):
            part.loc[part_var, "channel"] = [rng.choice(CHANNEL_VARIANTS[c]) for c in part.channel[part_var]]
            shocked.append(self.apply_shock(people, part))
        self.shock_truth = shocked[0] and {**shocked[0], "rows": shocked[0]["rows"] + shocked[1]["rows"]}
        cols = [c if c != "order_ts" else "t" for c in ORDER_EXPORT_COLUMNS] + ["alt_ts", "order_ts"]
        # duplicate only ordinary rows: the n orders and the guests' (the first rows of the tail)
        dup = _rows_at(o, tail, rng.choice(n + d.guest_orders, d.duplicate_orders, replace=False))
        tail = pd.concat([tail, dup], ignore_index=True)[cols]
        # the rows' shuffled order, applied as they are written: row k of the export is row order[k]
        rows = _OrderRows(o[cols], tail, rng.permutation(n + len(tail)))
        truth = {k: getattr(d, k) for k in ["duplicate_orders", "guest_orders", "cancelled_orders", "returns",
                                            "unparseable_order_dates", "future_order_dates",
                                            "negative_quantity", "non_positive_amount", "outliers"]}
        truth["zero_amount_orders"] = int(zero.sum())
        truth["negative_amount"] = int(d.non_positive_amount - zero.sum())
        truth["order_channel_variants"] = int(chan_var.sum())
        truth["organic_and_campaign_orders"] = int(n)
        return rows, truth

    def _write_orders(self, path: Path, rows: "_OrderRows", follow: pd.DataFrame | None = None,
                      chunk_rows: int | None = None) -> int:
        """Write ``orders.csv``: the rows of :meth:`_orders_export` in their shuffled order, then ``follow``
        (rows already in the export's text: the follow-ups'), ``chunk_rows`` rows at a time; returns the rows
        written. Each row's text depends on that row alone, so any chunk size gives the same bytes."""
        chunk_rows = chunk_rows or ORDER_CHUNK_ROWS
        cols = list(ORDER_EXPORT_COLUMNS)
        with open(path, "w", encoding="utf-8", newline="") as f:
            for i in range(0, max(len(rows.order), 1), chunk_rows):
                part = _rows_at(rows.orders, rows.tail, rows.order[i:i + chunk_rows])
                stamp = (self.start + pd.to_timedelta(part.t.to_numpy(), unit="D")).floor("s")
                ts = np.where(part.alt_ts.to_numpy(), stamp.strftime("%Y/%m/%d %H:%M"),
                              stamp.strftime("%Y-%m-%d %H:%M:%S"))
                text = part.assign(order_ts=np.where(part.order_ts.isna().to_numpy(), ts, part.order_ts.to_numpy()),
                                   amount=[f"{x:.2f}" for x in part.amount],
                                   discount=[f"{x:.2f}" for x in part.discount])[cols]
                # to_csv formats every category of a categorical column, for any number of rows: ten million
                # member ids per chunk. As text first, only the chunk's own values are formatted.
                text = text.astype({c: "str" for c, t in text.dtypes.items() if isinstance(t, pd.CategoricalDtype)})
                text.rename(columns=ORDER_EXPORT_COLUMNS).to_csv(f, index=False, header=i == 0)
            if follow is not None:
                for i in range(0, len(follow), chunk_rows):
                    follow.iloc[i:i + chunk_rows][cols].rename(columns=ORDER_EXPORT_COLUMNS).to_csv(
                        f, index=False, header=False)
        return len(rows.order) + (0 if follow is None else len(follow))

    def _redemptions(self, cm, camp_rows, orders):
        """A target member redeems when it buys with the campaign's coupon during the window."""
        rng = self.rng
        out = np.full(len(cm), "", dtype=object)
        day = lambda ts: (pd.Timestamp(ts) - self.start) / pd.Timedelta(days=1)
        for c in CAMPAIGNS:
            s, e = day(c.start), day(c.end) + 1
            window = orders[(orders.t >= s) & (orders.t < e)]
            first = window.groupby("person").t.min()
            rows = np.flatnonzero((cm.campaign_id == c.campaign_id).to_numpy() & (cm.group == "target").to_numpy())
            persons = camp_rows.person.to_numpy()[rows]
            has = np.isin(persons, first.index)
            uses = has & (rng.random(len(rows)) < 0.6)
            out[rows[uses]] = _ts(self.start, first.reindex(persons[uses]).to_numpy())
        return out


@dataclass
class _OrderRows:
    """The order export's rows before they are written: ``orders`` (one per order, in order) and ``tail``
    (the rows added to them), row ``i`` being ``orders``' row ``i`` below ``len(orders)``, else ``tail``'s row
    ``i - len(orders)``; ``order`` the export's row order (row ``k`` of the file is row ``order[k]``)."""
    orders: pd.DataFrame
    tail: pd.DataFrame
    order: np.ndarray


def _rows_at(head: pd.DataFrame, tail: pd.DataFrame, at: np.ndarray) -> pd.DataFrame:
    """Rows ``at`` (positions, in that order) of ``head`` followed by ``tail``, without joining the two."""
    n, at = len(head), np.asarray(at)
    first = at < n
    both = pd.concat([head.iloc[at[first]], tail.iloc[at[~first] - n]], ignore_index=True)
    return both.iloc[np.argsort(np.concatenate([np.flatnonzero(first), np.flatnonzero(~first)]), kind="stable")]


def _last_before(orders, people, t):
    """Day of each person's last order before ``t`` (very negative when none)."""
    return orders[orders.t < t].groupby("person").t.max().reindex(people.person).fillna(-1e9).to_numpy()


def _standardise(x):
    return (x - x.mean()) / x.std()


SECOND_ID_OFFSET = 5_000_001   # a second account's number: person + this (person + 1,000,001 is the primary's)


def _second_ids(channel, person, n_people: int):
    """A linked person's second account: the other prefix than the primary's (:func:`_ids`), numbered past every
    primary id, so that no second id is another person's primary id. Up to 4,000,000 people the number is
    person + 5,000,001, as the sample has always had; beyond, the offset grows with the people."""
    base = SECOND_ID_OFFSET + max(0, n_people - 4_000_000)
    prefix = np.where(channel == "offline", "U", "C")
    return np.char.add(prefix.astype(str), (person + base).astype(str))


def _ids(channel, person):
    prefix = np.where(channel == "offline", "C", "U")
    return np.char.add(prefix.astype(str), (person + 1_000_001).astype(str))


def _ts(start, days) -> np.ndarray:
    return (start + pd.to_timedelta(np.asarray(days, float), unit="D")).floor("s").strftime("%Y-%m-%d %H:%M:%S").to_numpy()


def _unique_phones(rng, n):
    prefixes = np.array([130, 131, 135, 136, 138, 139, 150, 151, 158, 159, 177, 186, 188, 199])
    body = rng.choice(10**8, n, replace=False)
    return np.char.add(prefixes[rng.integers(0, len(prefixes), n)].astype(str),
                       np.char.zfill(body.astype(str), 8))


def _format_phones(rng, phones, style):
    """Write phone numbers the way different systems do: plain, +86 with spaces, dashes."""
    out = []
    for ph in phones:
        if style == 0:
            out.append(ph if rng.random() < 0.7 else f"{ph[:3]}-{ph[3:7]}-{ph[7:]}")
        else:
            out.append(rng.choice([f"+86 {ph[:3]} {ph[3:7]} {ph[7:]}", f"86-{ph}", f"0086{ph}", f"+86{ph}"]))
    return out


# ------------------------------------------------------------------ a line-level export with its truth
LINE_EXPORT_COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                       "CustomerID", "Country", "Status"]
LINE_PRODUCTS = [("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 255), ("71053", "WHITE METAL LANTERN", 339),
                 ("84406B", "CREAM CUPID HEARTS COAT HANGER", 275), ("22752", "SET 7 BABUSHKA NESTING BOXES", 765),
                 ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 425), ("22633", "HAND WARMER UNION JACK", 185),
                 ("84879", "ASSORTED COLOUR BIRD ORNAMENT", 169), ("22745", "POPPY'S PLAYHOUSE BEDROOM", 210),
                 ("21754", "HOME BUILDING BLOCK WORD", 595), ("22310", "IVORY KNITTED MUG COSY", 165)]
LINE_STATUS_WORDS = {"paid": ["Complete", "Shipped", "Delivered", "Dispatched"], "cancelled": ["Canceled"]}


def generate_line_sample(out_dir: str | Path, n_customers: int = 300, seed: int = 1,
                         months: tuple[str, ...] = ("2026-07", "2026-08", "2026-09", "2026-10"),
                         time_zone: str = "Asia/Shanghai") -> dict:
    """Write a shop's order-line export (``order_lines.csv``), a config (``lines.yaml``) and the truth.

    The export looks like an online retailer's invoice lines: several lines per order, no amount
    column (quantity x unit price), the shop's own status words (one of them, "Dispatched",
    unknown to the kit until the config maps it), cancelled orders, cancellation lines marked by
    an id prefix "C" with negative quantities (dated later, often in a later month), postage and
    fee lines, zero-price lines (and whole orders of zero), guest lines without a customer id,
    customer ids a spreadsheet turned into floats (``12346.0``), fractional-second timestamps,
    some written in UTC with a zone, whole-row copies, and pairs of lines with the same quantity
    and price but different products (two lines, not a copy).

    Returns
    -------
    dict
        The truth (also ``ground_truth_lines.json``): per month, buyers, orders, gross revenue,
        net revenue (gross plus the month's cancellation lines), average order value (net / orders)
        and repeat rate (buyers with two orders or more / buyers), for members only; money in the
        currency's units with two decimals, computed from integer cents.
    """
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    first, last = pd.Period(months[0], "M"), pd.Period(months[-1], "M")
    start, end = first.start_time, last.end_time.floor("s")
    span = (end - start) / pd.Timedelta(seconds=1)
    ids = (12346 + np.arange(n_customers)).astype(str)
    rows, sales, cancels = [], [], []       # sales/cancels: (customer, local ts, cents, order, cancelled)
    invoice = 536365

    def stamp(local: pd.Timestamp) -> str:
        if rng.random() < 0.25:   # written in UTC with a zone
            utc = local.tz_localize(time_zone).tz_convert("UTC")
            return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{local.microsecond:06d}" if local.microsecond else "") + "Z"
        return local.strftime("%Y-%m-%d %H:%M:%S.%f")

    def lines_of(order_no: str, customer: str | None, local, status: str, free: bool) -> int:
        total = 0
        k = int(rng.integers(1, 5))
        picks = rng.choice(len(LINE_PRODUCTS), size=k, replace=False)
        written = stamp(local)
        cid = "" if customer is None else f"{customer}.0"
        for j, p in enumerate(picks):
            code, desc, price = LINE_PRODUCTS[p]
            qty = int(rng.integers(1, 13))
            price = 0 if (free or rng.random() < 0.05) else price
            if j == 1 and rng.random() < 0.3:        # same quantity and price as the line before
                qty, price = prev_qty, prev_price
            prev_qty, prev_price = qty, price
            rows.append([order_no, code, desc, str(qty), written, f"{price / 100:.2f}", cid, "United Kingdom", status])
            total += qty * price
        if rng.random() < 0.3:
            rows.append([order_no, "POST", "POSTAGE", "1", written, "18.00", cid, "United Kingdom", status])
        if rng.random() < 0.1:
            rows.append([order_no, "FEE", "MARKETPLACE FEE", "1", written, "1.50", cid, "United Kingdom", status])
        return total

    for c in ids:
        n = int(rng.poisson(2.2))
        for t in np.sort(rng.random(n)) * span:
            local = (start + pd.Timedelta(seconds=float(t))).floor("us")
            local = local.replace(microsecond=int(rng.integers(0, 10**6)) if rng.random() < 0.8 else 0)
            cancelled = rng.random() < 0.08
            status = rng.choice(LINE_STATUS_WORDS["cancelled" if cancelled else "paid"])
            free = rng.random() < 0.03
            order_no = str(invoice)
            invoice += 1
            cents = lines_of(order_no, c, local, status, free)
            sales.append((c, local, cents, order_no, cancelled))
            if not cancelled and cents > 0 and rng.random() < 0.15:   # a later cancellation line
                later = local + pd.Timedelta(days=float(rng.uniform(1, 40)))
                if later <= end:
                    code, desc, price = LINE_PRODUCTS[int(rng.integers(0, len(LINE_PRODUCTS)))]
                    qty = int(rng.integers(1, 4))
                    cancels.append((c, later, -qty * price))
                    rows.append([f"C{invoice}", code, desc, str(-qty), stamp(later), f"{price / 100:.2f}",
                                 f"{c}.0", "United Kingdom", "Complete"])
                    invoice += 1
    for _ in range(max(3, n_customers // 10)):        # guests: no customer id
        local = (start + pd.Timedelta(seconds=float(rng.random() * span))).floor("s")
        lines_of(str(invoice), None, local, "Complete", False)
        invoice += 1
    copies = [list(rows[i]) for i in rng.choice(len(rows), size=max(3, len(rows) // 100), replace=False)]
    rows.extend(copies)
    order = rng.permutation(len(rows))
    frame = pd.DataFrame([rows[i] for i in order], columns=LINE_EXPORT_COLUMNS)
    frame.to_csv(out / "order_lines.csv", index=False)

    truth = {"seed": seed, "customers": n_customers, "time_zone": time_zone, "whole_row_copies": len(copies),
             "months": {}}
    sale = pd.DataFrame(sales, columns=["customer", "ts", "cents", "order", "cancelled"])
    sale = sale[~sale.cancelled]
    back = pd.DataFrame(cancels, columns=["customer", "ts", "cents"])
    for m in months:
        p = pd.Period(m, "M")
        s = sale[sale.ts.dt.to_period("M") == p]
        r = back[back.ts.dt.to_period("M") == p] if len(back) else back
        per = s.groupby("customer").order.nunique()
        gross, returns = int(s.cents.sum()), int(r.cents.sum())
        truth["months"][m] = {
            "buyers": int(len(per)), "orders": int(len(s)), "gross_revenue": round(gross / 100, 2),
            "returns": round(returns / 100, 2), "net_revenue": round((gross + returns) / 100, 2),
            "average_order_value": (gross + returns) / 100 / len(s) if len(s) else None,
            "repeat_rate": float((per >= 2).sum() / len(per)) if len(per) else None,
            "zero_amount_orders": int((s.cents == 0).sum()),
        }
    (out / "ground_truth_lines.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    config = {
        "currency": "GBP", "as_of": str((end + pd.Timedelta(days=1)).date()), "period": months[-1],
        "time_zone": time_zone,
        "source": {"base_dir": str(out.resolve()), "sample": None, "tables": {"orders": {
            "path": "order_lines.csv",
            "columns": {"order_id": "InvoiceNo", "product_id": "StockCode", "quantity": "Quantity",
                        "order_ts": "InvoiceDate", "unit_price": "UnitPrice", "member_id": "CustomerID",
                        "status": "Status"}}}},
        "notebooks": {"data_cleaning": {"statuses": {"Dispatched": "paid"}, "return_prefixes": ["C"],
                                        "non_product_ids": ["POST", "FEE"]}},
    }
    import yaml
    (out / "lines.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return truth


def ensure_sample(source, root: Path) -> Path:
    """Generate the bundled sample retailer in the source's ``base_dir`` when it is not there yet
    (``source.sample.generate_if_missing``); return the base folder.

    The runner's checks and :func:`memberkit.notebook.resolve` call this before anything reads the
    sources; readers never generate (:func:`memberkit.sources.base_folder` says when it is missing).
    """
    import sys
    base = Path(source.base_dir)
    base = base if base.is_absolute() else Path(root) / base
    if source.sample and source.sample.generate_if_missing and not (base / "ground_truth.json").exists():
        print(f"Generating the sample retailer ({source.sample.members:,} members) in {base} ...", file=sys.stderr,
              flush=True)
        shock = source.sample.shock
        spec = SampleSpec(shock=Shock(shock.city, shock.month, shock.aov_change) if shock else None,
                          follow_ups=source.sample.follow_ups,
                          response_by_channel=dict(RESPONSE_BY_CHANNEL) if source.sample.response_by_channel else None)
        generate_sample(base, n_members=source.sample.members, seed=source.sample.seed, spec=spec)
    return base
