"""One chart style for every report."""

from __future__ import annotations

PALETTE = ["#1f4e79", "#c0504d", "#4f9a94", "#e8a33d", "#7f6aa3", "#8c8c8c", "#5b9bd5", "#a5a5a5"]


def apply_theme(p=None) -> None:
    """Set the seaborn/matplotlib style; CJK-capable fonts first so Chinese labels render."""
    import matplotlib
    import seaborn as sns
    from matplotlib import font_manager
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    available = {f.name for f in font_manager.fontManager.ttflist}
    preferred = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "SimHei", "PingFang SC"]
    cjk = [f for f in preferred if f in available] + sorted(f for f in available if "CJK" in f)
    matplotlib.rcParams["font.sans-serif"] = cjk + ["DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    matplotlib.rcParams["figure.dpi"] = 100
    matplotlib.rcParams["savefig.bbox"] = "tight"
