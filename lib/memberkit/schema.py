"""The canonical tables of the domain, as data: every source is mapped onto these.

Each column has a kind (id, text, number, timestamp, date) and whether the source must
provide it. Columns a source lacks are added empty; columns a source has beyond these
(names, e-mails) never enter the kit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Col:
    kind: str           # id | text | number | timestamp | date
    required: bool = False


CANONICAL: dict[str, dict[str, Col]] = {
    "members": {
        "member_id": Col("id", True), "join_date": Col("date"), "region": Col("text"), "channel": Col("text"),
        "tier": Col("text"), "gender": Col("text"), "birth_date": Col("date"), "phone": Col("text"),
        "person_id": Col("id"),
    },
    "orders": {
        "order_id": Col("id"), "member_id": Col("id", True), "order_ts": Col("timestamp", True),
        "channel": Col("text"), "store_id": Col("id"), "amount": Col("number", True),
        "quantity": Col("number"), "category": Col("text"), "discount": Col("number"),
        "coupon_id": Col("id"), "status": Col("text"),
        # Without a member table, the members derived from the orders take these two from them.
        "person_id": Col("id"), "region": Col("text"),
    },
    "campaigns": {
        "campaign_id": Col("id", True), "name": Col("text"), "type": Col("text"),
        "start": Col("date", True), "end": Col("date", True), "cost": Col("number"),
        "target_segment": Col("text"),
    },
    "campaign_members": {
        "campaign_id": Col("id", True), "member_id": Col("id", True), "group": Col("text", True),
        "sent_ts": Col("timestamp"), "redeemed_ts": Col("timestamp"),
    },
    "experiments": {
        "experiment_id": Col("id", True), "member_id": Col("id", True), "variant": Col("text", True),
        "assigned_ts": Col("timestamp", True),
    },
    # A mapping from account id to the person behind it (e.g. a marketplace's customer_unique_id).
    "accounts": {
        "member_id": Col("id", True), "person_id": Col("id", True),
    },
}

# Columns that identify a person; they are used for the identity merge and then dropped.
PERSONAL_COLUMNS = ("phone", "birth_date", "person_id")

# A column whose values mostly fail to parse means the column map points at the wrong column.
MIN_PARSEABLE_SHARE = 0.5
