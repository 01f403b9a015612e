"""Cleaning rules on hand-made rows, and recovery of every injected problem of the sample retailer."""
import datetime as dt

import ibis
import pandas as pd
import pytest

from memberkit import clean, engine
from memberkit.config import DEFAULT_DATE_FORMATS

AS_OF = dt.date(2026, 11, 1)


def _raw(con, table, rows):
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
        ["O9", "U2", "2025-04-04 00:00:00", "app", None, "0", "1", None, "0", None, "paid"],       # zero amount
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
                                     "negative_quantity": 1, "non_positive_amount": 1, "unknown_member": 1}
    o = r.tables["orders"]
    assert (o.rows_in, o.kept, o.rejected) == (15, 6, 9)
    assert r.guest_orders == 1 and r.return_rows == 1
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
    # U2's join date is unreadable: its first kept order (2025-04-06 is a guest's) is O12 on 2025-04-07
    assert bool(m.loc["U2", "join_date_repaired"]) and str(m.loc["U2", "join_date"])[:10] == "2025-04-07"
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
    assert orders.get("non_positive_amount", 0) == dirt["non_positive_amount"]
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
