import datetime as dt, sys, time, yaml
from pathlib import Path
import numpy as np, pandas as pd
from memberkit import clean, engine, sources, campaign, rfm, uplift
from memberkit.config import load_settings, notebook_params
ROOT = Path("/work/wt-uplift")
folder = Path(sys.argv[1]); kind = sys.argv[2] if len(sys.argv) > 2 else "member_day"
cfg = folder.parent / (folder.name + ".yaml")
cfg.write_text(yaml.safe_dump({"as_of": "2026-11-01", "source": {"base_dir": str(folder), "sample": None}}))
st = load_settings(ROOT, [cfg])
p = notebook_params(st, "data_cleaning"); cp = notebook_params(st, "campaign_review"); rp = notebook_params(st, "rfm_segmentation")
con = engine.connect()
out = folder.parent / (folder.name + "-out")
if not (out / "clean" / "orders.parquet").exists():
    raw = sources.load_sources(con, p.source, ROOT, folder.parent / "stg")
    clean.clean_all(con, raw, as_of=dt.date(2026, 11, 1), date_formats=p.source.tables["orders"].date_formats, out_dir=out)
tables = {n: con.read_parquet(out / "clean" / f"{n}.parquet") for n in ("orders", "members", "campaigns", "campaign_members")}
camps = campaign.campaigns_frame(tables)
ids = list(camps[camps.type == kind].campaign_id)
members = campaign.campaign_members(tables, ids, cp, dt.date(2026, 10, 31))
days = {cid: camps.set_index("campaign_id").loc[cid, "start"] - dt.timedelta(days=1) for cid in ids}
prof = rfm.member_profile(tables["members"])
at = rfm.member_tables_at(tables["orders"], prof, set(days.values()) | {dt.date(2026, 10, 31)}, rp)
rows = uplift.training_rows(members, {c: at[d][0] for c, d in days.items()}, cp.margin)
print(rows.groupby(["campaign_id", "treated"]).size().to_dict())
t0 = time.time(); v = uplift.validate(rows, cp.margin, bootstraps=100); print("validate", round(time.time()-t0,1), "s")
print("model", v.model_qini, "rfm", v.rfm_qini, "diff", v.difference)
last = max(ids, key=lambda c: camps.set_index("campaign_id").loc[c, "start"]); cost = float(camps.set_index("campaign_id").loc[last, "cost"] / (members.campaign_id == last).sum())
learner = uplift.TLearner().fit(rows)
end_table = at[dt.date(2026, 10, 31)][0]
cand = uplift.member_features(end_table, dt.date(2026, 10, 31), uplift.past_responses(members, dt.date(2026, 11, 1)))
em = uplift.expected_incremental_margin(learner, cand, cp.margin)
lst = uplift.target_list(cand, em, cost)
rl = uplift.rfm_target_list(cand, uplift.segment_uplift(rows), cost)
truth = pd.read_csv(folder / "uplift_truth.csv").set_index("member_id")
def true_net(l):
    t = truth.reindex(l.member_id)
    return float((t[f"uplift_{kind}"] * t.expected_order_value * cp.margin - cost).fillna(-cost).sum()), len(l)
print("cost", cost, "model list", true_net(lst), "rfm list", true_net(rl))
print(lst.merge(truth.reset_index(), on="member_id").channel.value_counts().to_dict())
