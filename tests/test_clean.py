"""Cleaning rules on hand-made rows, and recovery of every injected problem of the sample retailer."""
import datetime as dt

import ibis
import pandas as pd
import pytest

from memberkit import clean, engine
from memberkit.config import DEFAULT_DATE_FORMATS
from memberkit.config import project_root

ROOT = project_root()

AS_OF = dt.date(2026, 11, 1)


def _raw(con, table, rows):
    """Hand-made rows in canonical column order; trailing columns left out are empty."""
    from memberkit.schema import CANONICAL
    cols = list(CANONICAL[table])
    rows = [list(r) + [None] * (len(cols) - len(r)) for r in rows]   # optional trailing columns left empty
    df = pd.DataFrame(rows, columns=cols, dtype=object)
    df["_source"] = "hand.csv"
    df["_row"] = range(1, len(df) + 1)
    return con.create_table(f"raw_{table}", ibis.memtable(df).cast({c: "string" for c in CANONICAL[table]}),
                            overwrite=True)


@pytest.fixture
def hand(tmp_path):
    con = engine.connect()
    members = _raw(con, "members", [
        ["U1", "2025-01-01", "Beijing ", "Online", None, "女", None, "13812345678"],
        ["C1", "2025-03-01", "北京市", "门店", None, "女", None, "+86 138 1234 5678"],   # same person as U1
        ["U2", "N/A", "shanghai", "app", None, None, None, ""],                        # bad join date
        ["U2", "N/A", "shanghai", "app", None, None, None, ""],                        # exact duplicate
        [None, "2025-01-01", "成都", "online", None, None, None, None],                # no id
    ])
    orders = _raw(con, "orders", [
        ["O1", "U1", "2025-02-01 10:00:00", "online", None, "100", "1", None, "0", None, "paid"],
        ["O1", "U1", "2025-02-01 10:00:00", "online", None, "100", "1", None, "0", None, "paid"],   # duplicate
        ["O2", "C1", "2025/03/05 12:00", "线下", "S1", "120", "2", None, "0", None, "PAID"],          # merged id
        ["O3", "U2", "昨天", "app", None, "50", "1", None, "0", None, "paid"],                      # bad date
        ["O4", "U2", "2031-01-01 00:00:00", "app", None, "50", "1", None, "0", None, "paid"],       # future
        ["O5", "U2", "2025-04-01 00:00:00", "app", None, "abc", "1", None, "0", None, "paid"],     # amount
        ["O6", "U2", "2025-04-01 00:00:00", "app", None, "50", "1", None, "0", None, "lost"],      # status
        ["O7", "U2", "2025-04-02 00:00:00", "app", None, "80", "1", None, "0", None, "已取消"],     # cancelled
        ["O8", "U2", "2025-04-03 00:00:00", "app", None, "80", "-2", None, "0", None, "paid"],     # neg qty
        ["O9", "U2", "2025-04-04 00:00:00", "app", None, "0", "1", None, "0", None, "paid"],       # zero: a purchase
        ["O9b", "U2", "2025-04-04 00:00:00", "app", None, "-5", "1", None, "0", None, "paid"],    # negative amount
        ["O10", "X9", "2025-04-05 00:00:00", "app", None, "60", "1", None, "0", None, "paid"],     # unknown member
        ["O11", None, "2025-04-06 00:00:00", "offline", "S1", "70", "1", None, "0", None, "paid"], # guest, kept
        ["O1", "U1", "2025-02-10 00:00:00", "online", None, "40", "-1", None, "0", None, "returned"],  # return
        ["O12", "U2", "2025-04-07 00:00:00", "app", None, "90000", "1", None, "0", None, "paid"],  # outlier
        ["O13", "U2", "2025-04-08 00:00:00", "app", None, "95", "1", None, "0", None, "paid"],
    ])
    return con, {"members": members, "orders": orders}


def _reasons(result, table):
    return {s["rule"]: s["rows"] for s in result.tables[table].steps if s["rows"]}


def test_every_order_rule_on_hand_made_rows(hand, tmp_path):
    con, raw = hand
    r = clean.clean_all(con, raw, as_of=AS_OF, date_formats=DEFAULT_DATE_FORMATS, outlier_multiple=30,
                        out_dir=tmp_path)
    assert _reasons(r, "orders") == {"duplicate": 1, "unparseable_date": 1, "future_date": 1,
                                     "unparseable_amount": 1, "unknown_status": 1, "cancelled": 1,
                                     "negative_quantity": 1, "negative_amount": 1, "unknown_member": 1}
    o = r.tables["orders"]
    assert (o.rows_in, o.kept, o.rejected) == (16, 7, 9)
    assert r.guest_orders == 1 and r.return_rows == 1 and r.zero_amount_orders == 1
    # median paid amount of kept rows: 70, 95, 100, 120, 90000 -> 100; threshold 3000
    assert r.outlier_threshold == pytest.approx(3000) and r.outlier_orders == 1
    kept = pd.read_parquet(tmp_path / "clean" / "orders.parquet").set_index("order_id")
    assert kept.loc["O2", "member_id"] == "U1", "the card's order belongs to the person's first account"
    assert kept.loc["O2", "channel"] == "offline" and kept.loc["O2", "status"] == "paid"
    ret = kept[kept.status == "returned"].iloc[0]
    assert ret.amount == -40 and ret.quantity == -1
    rejected = pd.read_parquet(tmp_path / "rejected" / "orders.parquet")
    assert set(rejected.columns) >= {"reason", "source_file", "source_row"}
    assert rejected.set_index("order_id").loc["O3", "source_row"] == 4


def test_member_rules_identity_merge_and_repaired_join_date(hand, tmp_path):
    con, raw = hand
    r = clean.clean_all(con, raw, as_of=AS_OF, date_formats=DEFAULT_DATE_FORMATS, out_dir=tmp_path)
    assert _reasons(r, "members") == {"duplicate": 1, "missing_member_id": 1, "merged_identity": 1}
    assert r.merged_members == 1 and r.linked_people == 1
    m = pd.read_parquet(tmp_path / "clean" / "members.parquet").set_index("member_id")
    assert list(m.index.sort_values()) == ["U1", "U2"]
    assert m.loc["U1", "region"] == "北京" and m.loc["U1", "linked_accounts"] == 2
    assert m.loc["U2", "region"] == "上海" and m.loc["U2", "channel"] == "app"
    # U2's join date is unreadable: its first kept order is O9 on 2025-04-04 (an order of zero is a purchase)
    assert bool(m.loc["U2", "join_date_repaired"]) and str(m.loc["U2", "join_date"])[:10] == "2025-04-04"
    assert "phone" not in m.columns, "personal data does not leave the cleaning step"
    rej = pd.read_parquet(tmp_path / "rejected" / "members.parquet")
    assert "phone" not in rej.columns and rej.phone_masked.dropna().str.contains(r"\*\*\*\*").all()


@pytest.mark.parametrize("policy,outliers_kept,amount", [("flag", 1, 90000.0), ("cap", 1, 3000.0),
                                                          ("exclude", 0, None)])
def test_outlier_policy(hand, tmp_path, policy, outliers_kept, amount):
    con, raw = hand
    r = clean.clean_all(con, raw, as_of=AS_OF, date_formats=DEFAULT_DATE_FORMATS, outlier_policy=policy,
                        out_dir=tmp_path)
    kept = pd.read_parquet(tmp_path / "clean" / "orders.parquet")
    assert kept.is_outlier.sum() == outliers_kept
    if amount is not None:
        assert kept.loc[kept.order_id == "O12", "amount"].item() == amount
    assert _reasons(r, "orders").get("outlier", 0) == (1 if policy == "exclude" else 0)


def test_sample_retailer_every_injected_problem_found(small_cleaned):
    r, truth, _ = small_cleaned
    dirt = truth["dirt"]
    orders, members = _reasons(r, "orders"), _reasons(r, "members")
    assert orders.get("duplicate", 0) == dirt["duplicate_orders"]
    assert orders.get("unparseable_date", 0) == dirt["unparseable_order_dates"]
    assert orders.get("future_date", 0) == dirt["future_order_dates"]
    assert orders.get("cancelled", 0) == dirt["cancelled_orders"]
    assert orders.get("negative_quantity", 0) == dirt["negative_quantity"]
    assert orders.get("negative_amount", 0) == dirt["negative_amount"] > 0
    assert r.zero_amount_orders == dirt["zero_amount_orders"] > 0      # kept: an order of zero is a purchase
    assert r.guest_orders == dirt["guest_orders"]
    assert r.return_rows == dirt["returns"]
    assert r.outlier_orders == dirt["outliers"]
    assert members.get("duplicate", 0) == dirt["duplicate_members"]
    q = r.quality.set_index(["table", "column"])
    assert q.loc[("members", "join_date"), "invalid"] == dirt["bad_join_dates"]
    assert r.text_unified["members.region"] == dirt["member_region_variants"]
    assert r.text_unified["orders.channel"] == dirt["order_channel_variants"]
    for rep in r.tables.values():
        assert rep.rows_in == rep.kept + rep.rejected


def test_sample_retailer_identity_merge_finds_the_linked_accounts(small_cleaned):
    r, truth, out = small_cleaned
    assert r.merged_members == truth["linked_identities"]["count"]
    ident = pd.read_parquet(out / "clean" / "identity_map.parquet")
    merged = ident[ident.source_member_id != ident.member_id]
    found = {frozenset(p) for p in merged[["source_member_id", "member_id"]].values.tolist()}
    assert found == {frozenset(p) for p in truth["linked_identities"]["pairs"]}


# ------------------------------------------------------------------ the parser (engine) on hand-made values
def _values(expr_fn, values):
    t = ibis.memtable({"x": values})
    return engine.connect().execute(expr_fn(t.x).name("v")).tolist()


def test_times_read_by_default_and_zones_converted_to_the_business_zone():
    values = ["2026-08-27T20:04:18", "2026-08-27 20:04:18.556739", "2026-08-27T12:04:18Z",
              "2026-08-27T20:04:18+08:00", "2026-08-27 07:04:18-0500", "2026年8月27日 20:04", "2026年8月27日",
              "46261.5", "2026/8/27 20:04", "27-Aug-2026", "昨天", "2025-13-01 10:00:00", None]
    got = _values(lambda c: engine.parse_timestamp(c, DEFAULT_DATE_FORMATS, "Asia/Shanghai"), values)
    expected = ["2026-08-27 20:04:18", "2026-08-27 20:04:18.556739", "2026-08-27 20:04:18", "2026-08-27 20:04:18",
                "2026-08-27 20:04:18", "2026-08-27 20:04:00", "2026-08-27 00:00:00", "2026-08-27 12:00:00",
                "2026-08-27 20:04:00", "2026-08-27 00:00:00", None, None, None]
    assert [None if pd.isna(v) else str(pd.Timestamp(v)) for v in got] == [
        None if e is None else str(pd.Timestamp(e)) for e in expected]
    # the same instant in another business zone; a naive time stays as written (local)
    london = _values(lambda c: engine.parse_timestamp(c, DEFAULT_DATE_FORMATS, "Europe/London"),
                     ["2026-08-27T12:04:18Z", "2026-01-27T12:04:18Z", "2026-08-27 12:04:18"])
    assert [str(v) for v in london] == ["2026-08-27 13:04:18", "2026-01-27 12:04:18", "2026-08-27 12:04:18"]


def test_money_forms_decimal_comma_per_column_and_non_finite():
    got = _values(lambda c: engine.parse_money(c, 2), ["¥1,234.50", "1234.50元", "RMB 99", "￥ 5", "(12.5)",
                                                        "193009.60999999984", "nan", "inf", "abc"])
    assert [None if v is None else str(v) for v in got] == ["1234.50", "1234.50", "99.00", "5.00", "-12.50",
                                                             "193009.61", None, None, None]
    assert _values(lambda c: engine.is_finite(engine.parse_number(c)), ["nan", "inf", "-Infinity", "1"]) == \
        [False, False, False, True]
    comma = ibis.memtable({"a": ["135,17", "1.234,50", "12"]})
    assert engine.decimal_mark(comma, "a") == ","
    assert [str(v) for v in _values(lambda c: engine.parse_money(c, 2, ","), ["135,17", "1.234,50", "12"])] == \
        ["135.17", "1234.50", "12.00"]
    assert engine.decimal_mark(ibis.memtable({"a": ["1,234", "12"]}), "a") == "."   # reads either way
    with pytest.raises(engine.DecimalMarkError, match="decimal comma"):
        engine.decimal_mark(ibis.memtable({"a": ["135,17", "1,234.50"]}), "a")
    assert engine.currency_scale("JPY") == 0 and engine.currency_scale("BHD") == 3 and engine.currency_scale("cny") == 2


def test_float_like_ids_lose_their_spreadsheet_zero():
    t = ibis.memtable({"a": ["14646.0", "12", None], "b": ["A1", "2.0", None], "c": ["1", "2", "3"]})
    assert engine.float_like_ids(t, ["a", "b", "c"]) == {"a"}
    assert [None if pd.isna(v) else v for v in _values(lambda c: engine.id_text(c, True), ["14646.0", " 12 ", ""])] \
        == ["14646", "12", None]


# ------------------------------------------------------------------ order lines as shops export them
LINE = ["order_id", "member_id", "order_ts", "amount", "quantity", "status", "unit_price", "product_id", "category"]


def _orders(con, rows, extra=None):
    """Order lines given by the LINE columns; ``extra`` adds a source column outside the map (its hash)."""
    from memberkit.schema import CANONICAL
    df = pd.DataFrame(rows, columns=LINE, dtype=object)
    for c in CANONICAL["orders"]:
        if c not in df:
            df[c] = None
    df = df[list(CANONICAL["orders"])]
    df["_source"] = "lines.csv"
    df["_row"] = range(1, len(df) + 1)
    if extra is not None:
        df["_dupkey"] = [hash(str(x)) for x in extra]
    return con.create_table("raw_orders", ibis.memtable(df).cast({c: "string" for c in CANONICAL["orders"]}),
                            overwrite=True)


def _clean_lines(rows, tmp_path, extra=None, **rules):
    con = engine.connect()
    raw = {"orders": _orders(con, rows, extra)}
    r = clean.clean_all(con, raw, as_of=AS_OF, date_formats=DEFAULT_DATE_FORMATS, out_dir=tmp_path,
                        rules=clean.CleaningRules(**rules))
    return r, pd.read_parquet(tmp_path / "clean" / "orders.parquet")


def test_two_products_with_equal_mapped_values_are_two_lines_not_a_copy(tmp_path):
    row = ["536365", "17850.0", "2010-12-01 08:26:00", None, "6", "", "2.55", None, None]
    # the first two differ only in a column that is not mapped (the stock code); the third is a true copy
    r, kept = _clean_lines([row, row, row], tmp_path, extra=["85123A", "71053", "85123A"])
    assert _reasons(r, "orders") == {"duplicate": 1}
    assert len(kept) == 2 and r.orders_kept == 1 and r.lines_kept == 2
    assert str(kept.amount.sum()) == "30.60"      # quantity x unit price, per line, exact
    assert set(kept.member_id) == {"17850"}       # the spreadsheet's float id is text again


def test_a_line_breaking_several_rules_takes_the_first_that_fires(tmp_path):
    """Each line names every rule it breaks, as that rule alone would judge it; the one pass over the lines'
    flags (line rules, then the order's, then the late line rules, then the outlier) gives the first of them
    in the order of ORDER_RULES, and the rejected counts are those reasons counted."""
    dated, later = "2026-09-01 10:00:00", "2031-01-01 00:00:00"
    lines = [   # LINE columns, then the rules the line breaks
        (["D1", "m1", later, "2000", "1", "", None, None, None], {"future_date", "implausible_amount"}),
        (["D1", "m1", later, "2000", "1", "", None, None, None],
         {"duplicate", "future_date", "implausible_amount"}),
        (["A1", "m1", "昨天", "abc", "1", "", None, None, None], {"unparseable_date", "unparseable_amount"}),
        (["S1", "zz", dated, "10", "1", "lost", None, None, None], {"unknown_status", "unknown_member"}),
        # a cancelled order: its lines break the late rules too, and its copy does not cancel another order
        (["Q1", "zz", dated, "10", "-1", "cancelled", None, "POST", None],
         {"cancelled", "non_product", "negative_quantity", "unknown_member"}),
        (["Q1", "m1", dated, "20", "1", "", None, None, None], {"cancelled"}),
        # an implausible order total (1,200 > 1,000) though each line is plausible
        (["E1", "m1", dated, "600", "1", "", None, None, None], {"implausible_amount"}),
        (["E1", "zz", dated, "600", "1", "", None, "POST", None],
         {"implausible_amount", "non_product", "unknown_member"}),
        (["N1", "zz", dated, "7", "-1", "", None, "POST", None], {"non_product", "negative_quantity", "unknown_member"}),
        (["N2", "m1", dated, "-10", "-2", "", None, None, None], {"negative_quantity", "negative_amount"}),
        (["N3", "zz", dated, "-3", "1", "", None, None, None], {"negative_amount", "unknown_member"}),
        # the median paid order is 100 and the threshold 500: OUT's paid line is an outlier, its other line
        # a member's unknown to the member table (not counted in the order's paid total)
        (["OUT", "m1", dated, "900", "1", "", None, None, None], {"outlier"}),
        (["OUT", "zz", dated, "5000", "1", "", None, None, None], {"implausible_amount", "unknown_member"}),
        (["K1", "m1", dated, "100", "1", "", None, None, None], set()),
        (["K2", "m1", dated, "100", "1", "", None, None, None], set()),
        (["K3", "m1", dated, "100", "1", "", None, None, None], set()),
    ]
    con = engine.connect()
    raw = {"orders": _orders(con, [row for row, _ in lines], extra=[i if i != 1 else 0 for i in range(len(lines))]),
           "members": _raw(con, "members", [["m1", "2025-01-01"]])}
    r = clean.clean_all(con, raw, as_of=AS_OF, date_formats=DEFAULT_DATE_FORMATS, outlier_multiple=5,
                        outlier_policy="exclude", out_dir=tmp_path,
                        rules=clean.CleaningRules(max_order_amount=1000, non_product_ids=("POST",)))
    order = [rule for rule, _ in clean.ORDER_RULES]
    expected = {i + 1: min(broken, key=order.index) for i, (_, broken) in enumerate(lines) if broken}
    rejected = pd.read_parquet(tmp_path / "rejected" / "orders.parquet")
    assert dict(zip(rejected.source_row, rejected.reason)) == expected
    assert r.outlier_threshold == 500 and r.outlier_orders == 1
    counted = {rule: list(expected.values()).count(rule) for rule in set(expected.values())}
    assert _reasons(r, "orders") == counted
    kept = pd.read_parquet(tmp_path / "clean" / "orders.parquet")
    assert kept.order_id.tolist() == ["K1", "K2", "K3"] and r.tables["orders"].kept == 3


def test_shop_statuses_cancelled_orders_return_lines_and_gross_and_net(tmp_path):
    rows = [
        ["A1", "m1", "2026-09-01 10:00:00", "100", "1", "delivered", None, "P1", None],
        ["A1", "m1", "2026-09-01 10:00:00", "50", "1", "delivered", None, "P2", None],
        ["A2", "m1", "2026-09-02 10:00:00", "80", "1", "已取消", None, "P1", None],
        ["A2", "m1", "2026-09-02 10:00:00", "20", "1", "已完成", None, "P2", None],   # same order: cancelled too
        ["C9", "m1", "2026-10-03 10:00:00", "30", "-1", "Complete", None, "P1", None],  # cancellation line
        ["A3", "m2", "2026-09-04 10:00:00", "0", "1", "shipped", None, "P3", None],     # a free order: a purchase
        ["A4", "m2", "2026-09-05 10:00:00", "12", "1", "on hold", None, "P3", None],    # unknown word
        ["A5", "m2", "2026-09-06 10:00:00", "7.5", "1", "paid", None, "POST", None],    # postage
        ["A6", "m2", "2026-09-07 10:00:00", "9", "1", "invoiced", None, "P4", "fees"],  # a fee by category
    ]
    r, kept = _clean_lines(rows, tmp_path, statuses=(("complete", "paid"),), return_prefixes=("C",),
                           non_product_ids=("POST",), non_product_categories=("Fees",))
    assert _reasons(r, "orders") == {"cancelled": 2, "unknown_status": 1, "non_product": 2}
    assert r.cancelled_orders == 1 and r.unknown_statuses == {"on hold": 1}
    assert r.orders_kept == 2 and r.zero_amount_orders == 1 and r.return_rows == 1
    assert r.revenue == {"gross": 150.0, "returns": -30.0, "net": 120.0}
    ret = kept[kept.order_id == "C9"].iloc[0]
    assert ret.status == "returned" and float(ret.amount) == -30 and ret.quantity == -1
    rejected = pd.read_parquet(tmp_path / "rejected" / "orders.parquet")
    assert rejected.loc[rejected.reason == "unknown_status", "reason_detail"].tolist() == ["unknown status on hold"]
    quality = r.quality.set_index(["table", "column"])
    assert quality.loc[("orders", "status"), "invalid"] == 1    # only "on hold": mapped words are valid
    assert quality.loc[("orders", "amount"), "invalid"] == 0


def test_non_finite_implausible_and_negative_amounts_are_refused_with_their_reason(tmp_path):
    rows = [
        ["B1", "m1", "2026-09-01 10:00:00", "nan", "1", "", None, None, None],
        ["B2", "m1", "2026-09-01 10:00:00", "inf", "1", "", None, None, None],
        ["B3", "m1", "2026-09-01 10:00:00", "1e15", "1", "", None, None, None],
        ["B4", "m1", "2026-09-01 10:00:00", "600", "1", "", None, None, None],      # order total 1,200 > bound
        ["B4", "m1", "2026-09-01 10:00:00", "600", "1", "", None, "X", None],
        ["B5", "m1", "2026-09-01 10:00:00", "-5", "1", "", None, None, None],
        ["B6", "m1", "2026-09-01 10:00:00", "5", "-1", "", None, None, None],
        ["B7", "m1", "2026-09-01 10:00:00", "", "1", "", None, None, None],
        ["B8", "m1", "2026-09-01 10:00:00", "40", "1", "", None, None, None],
    ]
    r, kept = _clean_lines(rows, tmp_path, max_order_amount=1000)
    assert _reasons(r, "orders") == {"non_finite_amount": 2, "implausible_amount": 3, "negative_amount": 1,
                                     "negative_quantity": 1, "unparseable_amount": 1}
    assert kept.order_id.tolist() == ["B8"]


def test_outliers_are_orders_the_sum_of_their_lines_and_capping_keeps_the_cents(tmp_path):
    rows = [[f"N{i}", "m1", "2026-09-01 10:00:00", "100", "1", "", None, None, None] for i in range(5)]
    # each line (400.01) is below 10 x the median order (100); the order (1,200.03) is not
    rows += [["BIG", "m2", "2026-09-02 10:00:00", "400.01", "1", "", None, None, None] for _ in range(3)]
    con = engine.connect()
    raw = {"orders": _orders(con, rows, list(range(8)))}
    r = clean.clean_all(con, raw, as_of=AS_OF, date_formats=DEFAULT_DATE_FORMATS, outlier_multiple=10,
                        outlier_policy="cap", out_dir=tmp_path)
    kept = pd.read_parquet(tmp_path / "clean" / "orders.parquet")
    big = kept[kept.order_id == "BIG"]
    assert r.outlier_orders == 1 and r.outlier_threshold == 1000 and big.is_outlier.all() and len(big) == 3
    assert str(big.amount.sum()) == "1000.00"       # capped to the threshold, to the cent
    assert not kept[kept.order_id != "BIG"].is_outlier.any()


def test_amount_from_payments_summed_per_order(tmp_path):
    con = engine.connect()
    orders = _orders(con, [["P1", "m1", "2026-09-01 10:00:00", None, "1", "delivered", None, "x", None],
                           ["P1", "m1", "2026-09-01 10:00:00", None, "2", "delivered", None, "y", None],
                           ["P2", "m1", "2026-09-03 10:00:00", None, "1", "delivered", None, "x", None]],
                     extra=[1, 2, 3])
    pay = pd.DataFrame({"order_id": ["P1", "P1", "P2", "P9"], "amount": ["60.10", "39.90", "15", "5"],
                        "paid_ts": None, "method": ["card", "voucher", "card", "card"],
                        "_source": "payments.csv", "_row": [1, 2, 3, 4]})
    payments = con.create_table("raw_payments", ibis.memtable(pay).cast(
        {"order_id": "string", "amount": "string", "paid_ts": "string", "method": "string"}), overwrite=True)
    r = clean.clean_all(con, {"orders": orders, "payments": payments}, as_of=AS_OF,
                        date_formats=DEFAULT_DATE_FORMATS, out_dir=tmp_path)
    kept = pd.read_parquet(tmp_path / "clean" / "orders.parquet")
    assert kept.groupby("order_id").amount.sum().map(str).to_dict() == {"P1": "100.00", "P2": "15.00"}
    assert _reasons(r, "payments") == {"unknown_order": 1} and r.orders_kept == 2


def test_a_table_that_keeps_nothing_stops_and_says_what_removed_the_rows(tmp_path):
    rows = [[f"D{i}", "m1", "2026-09-01 10:00:00", "10", "1", word, None, None, None]
            for i, word in enumerate(["delivered?", "delivered?", "on hold"])]
    with pytest.raises(clean.InputError, match=r"no order line is left.*delivered\? 2, on hold 1"):
        _clean_lines(rows, tmp_path)


def test_status_scan_before_any_report(small_config, tmp_path):
    """The runner's up-front scan: all statuses unknown -> exit 2 and the list, before any report."""
    import subprocess
    import sys
    from .conftest import ROOT
    src = pd.read_csv(yaml_base(small_config) / "orders.csv", dtype=str, keep_default_na=False)
    src["Status"] = src.Status.map(lambda s: {"paid": "delivered?", "cancelled": "nope"}.get(s, s))
    src.to_csv(tmp_path / "orders.csv", index=False)
    cfg = tmp_path / "c.yaml"
    import yaml
    cfg.write_text(yaml.safe_dump({"as_of": "2026-11-01", "period": "2026-10", "source": {
        "base_dir": str(tmp_path), "sample": None, "tables": {"orders": {"path": "orders.csv", "columns": {
            "order_id": "OrderID", "member_id": "MemberID", "order_ts": "OrderTime", "amount": "PaidAmount",
            "status": "Status"}}}}}), encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "run_reports.py"), "--config", str(cfg), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-1500:]
    assert "status the kit does not know" in proc.stderr and "delivered? " in proc.stderr and "nope " in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def yaml_base(config_path):
    import yaml
    from pathlib import Path
    return Path(yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))["source"]["base_dir"])


def test_cleaning_page_counts_what_was_read_warns_of_unknown_statuses_and_draws_from_zero():
    """A derived member table is not 'read'; no 'repaired' sentence without a member table; the
    waterfall starts at zero; unknown statuses are a warning in the headline (and so on the index)."""
    import matplotlib
    matplotlib.use("Agg")
    from memberkit.views import Presentation
    from memberkit.views import clean as view

    def steps(rules, counts):
        return [{"rule": r, "description": d, "rows": counts.get(r, 0)} for r, d in rules]
    tables = {"members": clean.TableReport("members", 4372, 4372, 0, steps(clean.MEMBER_RULES, {}), derived=True),
              "orders": clean.TableReport("orders", 4998, 25, 4973, steps(clean.ORDER_RULES, {"unknown_status": 4973}))}
    r = clean.CleaningResult(tables=tables, merged_members=0, linked_people=0, guest_orders=0, return_rows=0,
                             outlier_orders=0, outlier_threshold=100.0, join_dates_repaired=0, text_unified={},
                             quality=pd.DataFrame(), paths={}, orders_kept=25, lines_kept=25,
                             revenue={"gross": 10.0, "returns": 0.0, "net": 10.0},
                             unknown_statuses={"delivered": 4600, "shipped": 373})
    assert (r.rows_in, r.kept, r.rejected) == (4998, 25, 4973)
    p = Presentation("en", "GBP")
    from memberkit.report import Results
    res = Results("data_cleaning", "2026-10")
    view.record(p, r, res)
    head = view.headline(p, res.to_dict())
    assert head.startswith("Warning: 4,973 order lines have a status") and "delivered 4,600, shipped 373" in head
    assert "0.5%" in head                             # 25 of 4,998 rows read are clean, not 50%
    notes = " ".join(view.treatment_notes(p, r, clean_params()))
    assert "join date" not in notes and "25 orders in 25 order lines" in notes
    frame = view.accounting_frame(p, r)
    assert frame.iloc[0, 0] == "members (derived from the orders, not read)"
    fig = view.plot_rule_waterfall(p, r)
    assert fig.axes[0].get_xlim()[0] == 0


def clean_params():
    from memberkit.config import CleaningParams
    return CleaningParams.model_validate({"source": {"tables": {"orders": {"path": "o.csv"}}}})


def _experiment_with_outcome(con, values):
    """One experiment, one member per value, the value in a numeric outcome column ``basket``."""
    from memberkit.schema import CANONICAL
    df = pd.DataFrame({"experiment_id": "E1", "member_id": [f"m{i}" for i in range(len(values))],
                       "variant": ["A", "B"] * (len(values) // 2) + ["A"] * (len(values) % 2),
                       "assigned_ts": "2026-09-01 10:00:00"}, dtype=object)
    df = df[list(CANONICAL["experiments"])]
    df[clean.outcome_column("basket")] = values
    df["_source"] = "exp.csv"
    df["_row"] = range(1, len(df) + 1)
    return con.create_table("raw_experiments", ibis.memtable(df).cast({c: "string" for c in df.columns[:-2]}),
                            overwrite=True)


@pytest.mark.parametrize("values, setting, mark, expected", [
    (["0,75", "12,5", "1.234,50", "3"], "auto", ",", [0.75, 12.5, 1234.5, 3.0]),     # commas recognised
    (["0.75", "12.5", "1,234.50", "3"], "auto", ".", [0.75, 12.5, 1234.5, 3.0]),     # points recognised
    (["1,5", "2"], ",", ",", [1.5, 2.0]),                                            # the table's setting
])
def test_a_numeric_outcome_is_read_with_its_decimal_mark(tmp_path, values, setting, mark, expected):
    con = engine.connect()
    rows = [[f"O{i}", f"m{i}", "2026-09-02 10:00:00", "10", "1"] + [None] * 4 for i in range(len(values))]
    raw = {"orders": _orders(con, rows), "experiments": _experiment_with_outcome(con, values)}
    r = clean.clean_all(con, raw, as_of=AS_OF, date_formats=DEFAULT_DATE_FORMATS, out_dir=tmp_path,
                        outcomes={"basket": "numeric"},
                        rules=clean.CleaningRules(decimal=(("experiments", setting),)))
    assert r.tables["experiments"].kept == len(values)
    kept = pd.read_parquet(tmp_path / "clean" / "experiments.parquet").sort_values("member_id")
    assert list(kept[clean.outcome_column("basket")]) == expected
    assert r.decimal_marks.get("experiments.outcome__basket", ".") == mark, "the cleaning page names the mark"


def test_the_cleaning_stamp_names_the_code_commit_so_a_code_fix_cleans_again(tmp_path, monkeypatch):
    import yaml
    from memberkit import version
    from memberkit.config import load_settings, notebook_params
    from memberkit.runfile import build
    from .conftest import ROOT
    (tmp_path / "orders.csv").write_text("OrderID,MemberID,OrderTime,PaidAmount\nA1,m1,2026-09-01 10:00:00,10\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"as_of": "2026-11-01", "source": {
        "base_dir": str(tmp_path), "sample": None, "tables": {"orders": {"path": "orders.csv", "columns": {
            "order_id": "OrderID", "member_id": "MemberID", "order_ts": "OrderTime", "amount": "PaidAmount"}}}}}))
    params = notebook_params(load_settings(ROOT, [cfg]), "data_cleaning")
    run = build(ROOT, load_settings(ROOT, [cfg]))
    monkeypatch.setattr(version, "code_version", lambda: "0.9.0+1a2b3c4")
    first = build(ROOT, load_settings(ROOT, [cfg]))
    assert first.code_version == "0.9.0+1a2b3c4" and first.fingerprint == run.fingerprint
    before = clean.cleaning_stamp(params, first.as_of, first.fingerprint, first.code_version)
    assert before["code"] == "0.9.0+1a2b3c4"
    assert clean.cleaning_stamp(params, first.as_of, first.fingerprint, first.code_version) == before, \
        "the same code and inputs give the same stamp"
    monkeypatch.setattr(version, "code_version", lambda: "0.9.0+5d6e7f8")
    second = build(ROOT, load_settings(ROOT, [cfg]))
    after = clean.cleaning_stamp(params, second.as_of, second.fingerprint, second.code_version)
    assert after != before and {k for k in after if after[k] != before[k]} == {"code"}


def test_the_status_check_and_the_cleaning_page_count_unknown_statuses_alike(tmp_path):
    from memberkit.config import CleaningParams
    from memberkit.errors import InputError
    rows = [
        ["B1", "m1", "2026-09-01 10:00:00", "10", "1", "lost", None, "P1", None],
        ["B1", "m1", "2026-09-01 10:00:00", "10", "1", "lost", None, "P1", None],     # an exact copy: a duplicate
        ["B2", "m1", "2026-09-02 10:00:00", "20", "1", "lost", None, "P1", None],
        ["B3", "m2", "not a date", "30", "1", "on hold", None, "P1", None],           # set aside for its date first
        ["B4", "m2", "2026-09-04 10:00:00", "40", "1", "paid", None, "P1", None],
        ["B5", "m2", "2026-09-05 10:00:00", "50", "1", "", None, "P1", None],          # empty: paid
    ]
    r, _ = _clean_lines(rows, tmp_path)
    # by hand: "lost" on B1 (once: its copy is the same line) and B2; "on hold" on B3; 5 distinct lines
    assert r.unknown_statuses == {"lost": 2, "on hold": 1}
    con = engine.connect()
    raw = _orders(con, rows)
    assert clean.status_words(raw, clean.CleaningRules()) == ({"lost": 2, "on hold": 1}, 5)
    params = CleaningParams.model_validate({"source": {"tables": {"orders": {"path": "o.csv"}}},
                                            "unknown_status_share": 0.9})
    assert clean.status_scan(raw, params) == r.unknown_statuses
    with pytest.raises(InputError, match=r"3 of 5 order lines \(60\.0%\)") as e:
        clean.status_scan(raw, params.model_copy(update={"unknown_status_share": 0.5}))
    assert "lost 2, on hold 1" in str(e.value)


def test_status_words_with_a_row_hash_count_unknown_words_once_per_line_and_nothing_when_all_are_known():
    from memberkit.config import CleaningParams
    rows = [
        ["B1", "m1", "2026-09-01 10:00:00", "10", "1", "lost", None, "P1", None],
        ["B1", "m1", "2026-09-01 10:00:00", "10", "1", "lost", None, "P1", None],     # the same source row again
        ["B2", "m1", "2026-09-02 10:00:00", "20", "1", " lost ", None, "P1", None],   # the same word, blanks around
        ["B3", "m2", "2026-09-03 10:00:00", "30", "1", "PAID", None, "P1", None],      # known in any case
        ["B4", "m2", "2026-09-04 10:00:00", "40", "1", None, None, "P1", None],        # empty: paid
        ["B5", "m2", "2026-09-05 10:00:00", "50", "1", "Refunded", None, "P1", None],  # known: returned
    ]
    con = engine.connect()
    # the first two lines share their row hash (a copy); the others have hashes of their own
    raw = _orders(con, rows, extra=["r1", "r1", "r2", "r3", "r4", "r5"])
    # by hand: "lost" on B1 once and on B2 (trimmed); 5 distinct lines
    assert clean.status_words(raw, clean.CleaningRules()) == ({"lost": 2}, 5)
    assert clean.status_words(raw, clean.CleaningRules(), count_lines=False) == ({"lost": 2}, None)
    known = _orders(con, rows[3:], extra=["r3", "r4", "r5"])
    assert clean.status_words(known, clean.CleaningRules()) == ({}, 3)
    params = CleaningParams.model_validate({"source": {"tables": {"orders": {"path": "o.csv"}}},
                                            "unknown_status_share": 0.0})
    assert clean.status_scan(known, params) == {}   # no unknown line: nothing over any share


def test_a_non_product_pattern_in_the_settings_sets_its_lines_aside(tmp_path):
    from memberkit.config import CleaningParams
    params = CleaningParams.model_validate({"source": {"tables": {"orders": {"path": "o.csv"}}},
                                            "non_product_pattern": "^(POST|BANK CHARGES)$"})
    rules = clean.CleaningRules.from_params(params)
    assert rules.non_product_pattern == "^(POST|BANK CHARGES)$"
    rows = [
        ["A1", "m1", "2026-09-01 10:00:00", "100", "1", "paid", None, "P1", None],
        ["A2", "m1", "2026-09-02 10:00:00", "7.5", "1", "paid", None, "POST", None],
        ["A3", "m2", "2026-09-03 10:00:00", "2", "1", "paid", None, "BANK CHARGES", None],
        ["A4", "m2", "2026-09-04 10:00:00", "9", "1", "paid", None, "POSTER", None],   # a product: the pattern is anchored
    ]
    r, kept = _clean_lines(rows, tmp_path, non_product_pattern=rules.non_product_pattern)
    assert _reasons(r, "orders") == {"non_product": 2}
    assert sorted(kept.order_id) == ["A1", "A4"]


def test_quality_table_from_the_staging_profile_equals_its_own_parsing(small_params, small_sample, tmp_path):
    """The cleaning takes the number and date columns' valid counts from the staging's profile; the
    table is the same as when it parses every column itself (dirty dates, a day-first file, amounts)."""
    from memberkit import sources
    con = engine.connect()
    raw, decided = sources.stage_sources(con, small_params.source, ROOT, tmp_path)
    formats = {n: t.date_formats for n, t in small_params.source.tables.items()}
    rules = clean.CleaningRules.from_params(small_params)
    readable = {n: st.readable for n, st in decided.items()}
    assert readable["orders"] and readable["members"]
    own = clean.quality_scorecard(raw, formats, 7, rules)
    profiled = clean.quality_scorecard(raw, formats, 7, rules, readable)
    pd.testing.assert_frame_equal(profiled, own)
    assert own.set_index(["table", "column"]).loc[("members", "join_date"), "invalid"] > 0
    # the missing and distinct counts of the columns profiled by value, with the valid counts or without them
    counted = {n: st.value_counts for n, st in decided.items()}
    assert {"amount", "quantity", "discount", "unit_price"} <= set(counted["orders"])
    assert not set(counted["members"]) & set(decided["members"].day_month)   # (rewritten on reading: counted here)
    pd.testing.assert_frame_equal(clean.quality_scorecard(raw, formats, 7, rules, readable, counted), own)
    pd.testing.assert_frame_equal(clean.quality_scorecard(raw, formats, 7, rules, None, counted), own)
    indexed = own.set_index(["table", "column"])
    assert indexed.loc[("orders", "amount"), "distinct"] > 1 and indexed.loc[("orders", "unit_price"), "missing"] > 0


def test_the_clean_order_log_written_by_a_second_connection_equals_the_one_written_by_the_first(
        small_params, small_sample, tmp_path, monkeypatch):
    """On DuckDB the clean order log is written by a second connection while the first keeps and writes the other
    tables (the staged views and kept tables are the database's, engine.shared): every file and every figure is
    the same as when one connection does all of it in turn."""
    from memberkit import sources
    formats = {n: t.date_formats for n, t in small_params.source.tables.items()}
    used = []
    second = engine.second_connection

    def counted_second(con):
        used.append(con)
        return second(con)

    def run(out, one_connection):
        monkeypatch.setattr(engine, "second_connection", (lambda con: None) if one_connection else counted_second)
        con = engine.connect()
        raw, decided = sources.stage_sources(con, small_params.source, ROOT, tmp_path / f"staging-{out}")
        assert engine.shared(con, raw["orders"]) and not engine.shared(con, ibis.memtable({"x": [1]}))
        result = clean.clean_all(con, raw, as_of=AS_OF, date_formats=formats["orders"], out_dir=tmp_path / out,
                                 rules=clean.CleaningRules.from_params(small_params), table_date_formats=formats,
                                 staged=decided)
        return result, {p.relative_to(tmp_path / out): p.read_bytes() for p in sorted((tmp_path / out).rglob("*.parquet"))}
    (one, one_files), (two, two_files) = run("one", True), run("two", False)
    assert used and len(one_files) >= 8 and one_files == two_files
    assert [k.replace("two", "one") for k in two.paths.values()] == list(one.paths.values())
    pd.testing.assert_frame_equal(one.quality, two.quality)
    assert clean.key_results(one) == clean.key_results(two)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_rule_chart_is_described_by_its_counts_not_by_its_bar_labels(language):
    """The sample's October: the chart's description read each bar's label "838 / 20,838" as the value of
    'kept' and of 'merged into the same person', and "2,292 / 75,263" as cancelled orders'. It now says
    what the tables hold: 20,000 members kept, 688 merged, 1,500 cancelled orders; the label says what it counts."""
    import matplotlib
    matplotlib.use("Agg")
    from types import SimpleNamespace
    from memberkit.views import clean as view
    from memberkit.views.context import Presentation
    from memberkit.views.page import ALT
    steps = lambda **rows: [{"rule": r, "description": "", "rows": n} for r, n in rows.items()]
    tables = {"members": clean.TableReport("members", 20838, 20000, 838, steps(duplicate=150, merged_identity=688)),
              "orders": clean.TableReport("orders", 75263, 72971, 2292, steps(
                  duplicate=400, unparseable_date=150, future_date=80, cancelled=1500, negative_quantity=100,
                  negative_amount=62)),
              "campaigns": clean.TableReport("campaigns", 7, 7, 0, steps(duplicate=0))}
    result = SimpleNamespace(tables=tables)
    p = Presentation(language=language, currency="CNY")
    from memberkit.views import theme
    theme.apply_theme(p)                              # the reports' style: their font sizes
    fig = view.plot_rule_waterfall(p, result)
    said = getattr(fig, ALT)
    want = {"en": ["members: 20,838 rows read, 20,000 kept", "merged into the same person (688)",
                   "cancelled order (1,500)", "campaigns: 7 rows read, all kept"],
            "zh": ["读入 20,838 行，保留 20,000 行", "（688 行）", "（1,500 行）", "读入 7 行，全部保留"]}[language]
    assert all(w in said for w in want), said
    assert "838 / 20,838" not in said and "2,292 / 75,263" not in said
    labels = [t.get_text() for t in fig.axes[0].texts]
    # merged accounts apart from the rows a rule set aside, as on the cards (150 + 688, not 838 set aside)
    assert labels[0] == {"en": "150 set aside and 688 merged of 20,838", "zh": "20,838 行中剔除 150 行、合并 688 行"}[language]
    assert labels[1] == {"en": "2,292 of 75,263 set aside", "zh": "75,263 行中剔除 2,292 行"}[language]
    # issue 23: beside the bars' end the counts ran to the drawing's right edge and made it 9 px wider than a
    # 420 px screen leaves (409 of 400 px); drawn as a phone gets it, each label ends inside the frame
    import re
    from memberkit.views import page
    html = page.chart_html(fig)
    renderer = fig.canvas.get_renderer()
    frame = fig.axes[0].get_window_extent(renderer)
    assert all(t.get_window_extent(renderer).x1 <= frame.x1 for t in fig.axes[0].texts), labels
    assert int(re.search(r"min-width:(\d+)px", html).group(1)) <= page.PHONE_CHART_PX
    import matplotlib.pyplot as plt
    plt.close(fig)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_cleaning_cards_add_up_and_the_table_counts_rejected_rows_as_they_do(language):
    """Issue 23: the cards read rows read 139,472, kept 136,342, rejected 2,442 (read minus kept is 3,130) and
    the table's rejected column summed to 3,130: the 688 merged accounts were rejected in the table, apart in
    the cards. The cards now sum on their face (a sentence says so) and the table has the merged rows in a
    column of their own, so each column's total is the card of the same name."""
    from memberkit.report import Results
    from memberkit.views import Presentation
    from memberkit.views import clean as view

    def steps(rules, counts):
        return [{"rule": r, "description": d, "rows": counts.get(r, 0)} for r, d in rules]
    tables = {"members": clean.TableReport("members", 20838, 20000, 838,
                                           steps(clean.MEMBER_RULES, {"duplicate": 150, "merged_identity": 688})),
              "orders": clean.TableReport("orders", 118634, 116342, 2292, steps(clean.ORDER_RULES, {"cancelled": 2292}))}
    quality = pd.DataFrame({"table": ["members"], "column": ["join_date"], "rows": [20838], "missing": [0],
                            "invalid": [40], "distinct": [1036], "missing_share": [0.0], "invalid_share": [40 / 20838]})
    r = clean.CleaningResult(tables=tables, merged_members=688, linked_people=685, guest_orders=0, return_rows=0,
                             outlier_orders=0, outlier_threshold=100.0, join_dates_repaired=37, text_unified={},
                             quality=quality, paths={}, orders_kept=100, lines_kept=116342,
                             revenue={"gross": 10.0, "returns": 0.0, "net": 10.0}, unknown_statuses={})
    p = Presentation(language, "CNY")
    res = Results("data_cleaning", "2026-10")
    view.record(p, r, res)
    k = res.to_dict()["kpis"]
    assert (k["rows_read"], k["rows_kept"], k["rows_rejected"], k["members_merged"]) == (139472, 136342, 2442, 688)
    assert k["rows_read"] == k["rows_kept"] + k["rows_rejected"] + k["members_merged"]
    sentence = view.cards_sum_sentence(p, res.to_dict())
    assert all(p.count(x) in sentence for x in (139472, 136342, 2442, 688)) and "3,130" not in sentence
    frame = view.accounting_frame(p, r)
    count = lambda column: frame[p.text(f"data_cleaning.{column}")].str.replace(",", "").astype(int)   # noqa: E731
    assert count("rejected").sum() == k["rows_rejected"] and count("merged").sum() == k["members_merged"]
    assert (count("rows_in") == count("kept") + count("rejected") + count("merged")).all()
    assert list(count("rejected")) == [150, 2292] and list(count("merged")) == [688, 0]
    # each card's name says what it counts, as the table's columns do
    labels = [x.label for x in view.kpis(p, res.to_dict())]
    assert p.text("data_cleaning.rows_rejected") in labels and p.text("data_cleaning.members_merged") in labels
    # the join dates: the column table's 40 unreadable rows (as delivered) and the 37 members repaired (after
    # the merge) are both named with their scope, not left to read as one count
    repaired = view.repaired_sentence(p, r)
    assert p.count(37) in repaired and p.count(40) in repaired
    assert repaired in view.treatment_notes(p, r, clean_params())


def test_the_guest_card_and_the_quality_tables_missing_member_ids_are_told_apart(tmp_path):
    """Issue 23: the card said 3,000 guest orders while the quality table showed 3,018 order lines without a
    member id (18 exact duplicates rejected). The lines without one are counted by what became of them, their
    sum is the quality table's figure, and the sentence under the cards names both scopes and the difference."""
    from memberkit.views import Presentation
    from memberkit.views import clean as view
    con = engine.connect()
    members = _raw(con, "members", [["U1", "2025-01-01", "Beijing", "online", None, "女", None, "13812345678"]])
    orders = _raw(con, "orders", [
        ["G1", None, "2025-04-06 00:00:00", "offline", "S1", "70", "1", None, "0", None, "paid"],
        ["G1", None, "2025-04-06 00:00:00", "offline", "S1", "70", "1", None, "0", None, "paid"],   # duplicate
        ["G2", None, "2025-04-07 00:00:00", "offline", "S1", "30", "1", "shoes", "0", None, "paid"],
        ["G2", None, "2025-04-07 00:00:00", "offline", "S1", "20", "1", "bags", "0", None, "paid"],  # second line
        ["G3", None, "2031-01-01 00:00:00", "offline", "S1", "20", "1", None, "0", None, "paid"],   # future
        ["O1", "U1", "2025-02-01 10:00:00", "online", None, "100", "1", None, "0", None, "paid"]])
    r = clean.clean_all(con, {"members": members, "orders": orders}, as_of=AS_OF,
                        date_formats=DEFAULT_DATE_FORMATS, out_dir=tmp_path)
    assert r.guest_orders == 2
    assert r.guest_lines == {"kept": 3, "duplicate": 1, "future_date": 1}
    missing = r.quality.set_index(["table", "column"]).loc[("orders", "member_id"), "missing"]
    assert sum(r.guest_lines.values()) == missing == 5
    en = view.guest_sentence(Presentation("en"), r)
    assert "2 guest orders" in en and "5 without a member id" in en and "3 were kept and 2 rejected" in en
    assert "exact duplicate 1" in en and "date in the future 1" in en
    zh = view.guest_sentence(Presentation("zh"), r)
    assert "2 笔非会员订单" in zh and "5 行" in zh and "剔除 2 行" in zh
    r.guest_lines = {"kept": 2}
    assert view.guest_sentence(Presentation("en"), r) == ""       # the two counts agree: nothing to explain


def test_the_clean_order_log_is_in_source_order_whether_or_not_the_source_comes_in_that_order(hand, tmp_path,
                                                                                             monkeypatch):
    """The clean log takes each line's source text beside the stage by position when the source is read in
    ``(_source, _row)`` order (engine.beside), and by a join and a sort otherwise: the same file either way."""
    con, raw = hand
    ways = []
    beside = engine.beside

    def recorded(*args, **kwargs):
        table, in_order = beside(*args, **kwargs)
        ways.append(in_order)
        return table, in_order
    monkeypatch.setattr(engine, "beside", recorded)
    r = clean.clean_all(con, raw, as_of=AS_OF, date_formats=DEFAULT_DATE_FORMATS, out_dir=tmp_path / "in_order")
    reversed_orders = con.create_table("raw_orders_reversed", raw["orders"].order_by(ibis.desc("_row")),
                                       overwrite=True)
    assert reversed_orders.to_pandas()._row.tolist()[0] == 16
    r2 = clean.clean_all(con, {**raw, "orders": reversed_orders}, as_of=AS_OF, date_formats=DEFAULT_DATE_FORMATS,
                         out_dir=tmp_path / "reversed")
    assert ways == [True, False]
    first = pd.read_parquet(tmp_path / "in_order" / "clean" / "orders.parquet")
    again = pd.read_parquet(tmp_path / "reversed" / "clean" / "orders.parquet")
    assert first._row.tolist() == sorted(first._row) and len(first) == r.tables["orders"].kept == 7
    pd.testing.assert_frame_equal(first, again)
    assert clean.key_results(r) == clean.key_results(r2)
    # each line's text is its own source row's: O2's store and channel, O11's store
    by_id = first.drop_duplicates("order_id", keep="last").set_index("order_id")
    assert by_id.loc["O2", "store_id"] == "S1" and by_id.loc["O2", "channel"] == "offline"
    assert by_id.loc["O11", "store_id"] == "S1" and pd.isna(by_id.loc["O13", "store_id"])
