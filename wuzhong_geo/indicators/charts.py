"""Progress charts: target vs actual trajectory of each 表2 indicator, with Chinese labels."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from wuzhong_geo import style
from wuzhong_geo.fonts import use_cjk_font
from wuzhong_geo.indicators.progress import (
    STATUSES,
    growth_series,
    level_breaks,
    level_series,
    progress,
)
from wuzhong_geo.indicators.tables import (
    BASELINE_YEAR,
    BASES,
    TARGET_YEAR,
    actual_indicators,
    plan_indicators,
    target_label,
)

STATUS_COLOURS = style.INDICATOR_STATUS_COLOURS
BASIS_STYLE = style.INDICATOR_BASIS_STYLE
TARGET_COLOUR = style.zone_colour("中心城市核")
TRAJECTORY_COLOUR = style.TOWN_EDGE
DPI = 150
_PNG_METADATA = {"Software": None}

FOOTER_ZH = ("实心点：最终数/基期值；空心点：初步数或预计数；菱形：推算值（未公布）。"
             "数据：规划文本表1/表2，区政府工作报告，统计公报（见 indicators_actual.csv）。")


def _title(fig: Figure, title: str, subtitle: str, status: str | None = None) -> None:
    height = fig.get_figheight()
    fig.text(0.015, 1 - 0.12 / height, title, ha="left", va="top", fontsize=13)
    fig.text(0.015, 1 - 0.44 / height, subtitle, ha="left", va="top", fontsize=8.5, color=style.TOWN_EDGE)
    if status:
        fig.text(0.985, 1 - 0.14 / height, f" {STATUSES[status][0]} ", ha="right", va="top", fontsize=9.5,
                 color="white" if status in ("achieved", "on_track", "behind") else style.DISTRICT_EDGE,
                 bbox={"boxstyle": "round,pad=0.35", "facecolor": STATUS_COLOURS[status], "edgecolor": "none"})


def _wrap_cjk(text: str, width: int) -> list[str]:
    """Wrap at Chinese/English punctuation where possible, so numbers are not split across lines."""
    pieces = re.findall(r"[^。；，;,]*[。；，;,]?\s*", text)
    lines, line = [], ""
    for piece in filter(None, pieces):
        if line and len(line) + len(piece) > width:
            lines.append(line.rstrip())
            line = ""
        while len(piece) > width:
            lines.append(piece[:width])
            piece = piece[width:]
        line += piece
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _footer(fig: Figure, reason: str) -> None:
    # Chinese has no spaces to break at: wrap by character count, about one glyph per 7.5 pt
    width = int(fig.get_figwidth() * 72 / 7.8)
    text = "\n".join(_wrap_cjk(reason, width)[:3])
    fig.text(0.015, 0.075, text, ha="left", va="bottom", fontsize=7.5, color=style.DISTRICT_EDGE,
             linespacing=1.4)
    fig.text(0.015, 0.02, FOOTER_ZH, ha="left", va="bottom", fontsize=6.5, color=style.CONTEXT_EDGE)


def _basis_handles(bases: list[str]) -> list[Line2D]:
    handles = []
    for basis in BASES:
        if basis not in bases:
            continue
        colour, marker, filled = BASIS_STYLE[basis]
        handles.append(Line2D([], [], ls="none", marker=marker, color=colour, markersize=6,
                              markerfacecolor=colour if filled else "white", label=BASES[basis][0]))
    return handles


def _scatter_levels(ax: plt.Axes, levels: pd.DataFrame) -> None:
    for row in levels.itertuples():
        colour, marker, filled = BASIS_STYLE[row.basis]
        ax.plot(row.year, row.value, ls="none", marker=marker, markersize=7, color=colour,
                markerfacecolor=colour if filled else "white", markeredgewidth=1.4, zorder=4)


def _best_line(ax: plt.Axes, levels: pd.DataFrame, breaks: list[int]) -> None:
    """Join the best value of each year, but never across a revision break."""
    best = levels[levels["basis"] != "inferred"].copy()
    if best.empty:
        return
    best["_rank"] = best["basis"].map({b: r for b, (_, _, r) in BASES.items()})
    best = best.sort_values(["year", "_rank"], ascending=[True, False]).drop_duplicates("year")
    segment: list[tuple[int, float]] = []
    for row in best.itertuples():
        if segment and (row.year in breaks or row.year - segment[-1][0] > 1):
            if len(segment) > 1:
                ax.plot(*zip(*segment), color=style.DISTRICT_EDGE, lw=1.2, zorder=3)
            segment = []
        segment.append((row.year, row.value))
    if len(segment) > 1:
        ax.plot(*zip(*segment), color=style.DISTRICT_EDGE, lw=1.2, zorder=3)


def _mark_breaks(ax: plt.Axes, breaks: list[int]) -> None:
    for year in breaks:
        ax.axvline(year - 0.5, color=style.SITE_STATUS_COLOURS["flagged"], lw=1.6, ls="-", zorder=1)
        ax.text(year - 0.56, 0.03, "口径调整（修订）", transform=ax.get_xaxis_transform(), fontsize=7,
                ha="right", va="bottom", color=style.DISTRICT_EDGE)


def _year_axis(ax: plt.Axes) -> None:
    ax.set_xlim(BASELINE_YEAR - 0.6, TARGET_YEAR + 0.6)
    ax.set_xticks(range(BASELINE_YEAR, TARGET_YEAR + 1))
    ax.set_xticklabels([f"{y}年" for y in range(BASELINE_YEAR, TARGET_YEAR + 1)], fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", color=style.CONTEXT_FILL, lw=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _level_chart(fig: Figure, plan_row: pd.Series, assessment: pd.Series, actual: pd.DataFrame) -> None:
    iid, unit = plan_row["indicator_id"], plan_row["unit"]
    ax = fig.add_axes((0.075, 0.25, 0.64, 0.58))
    levels = level_series(actual, iid)
    breaks = level_breaks(actual, iid)
    target = float(plan_row["target_value"])
    _best_line(ax, levels, breaks)
    _scatter_levels(ax, levels)
    _mark_breaks(ax, breaks)
    handles = _basis_handles(sorted(set(levels["basis"])))
    if pd.notna(assessment["baseline_value"]):
        ax.plot([BASELINE_YEAR, TARGET_YEAR], [assessment["baseline_value"], target], ls="--",
                color=TRAJECTORY_COLOUR, lw=1.1, zorder=2)
        handles.append(Line2D([], [], ls="--", color=TRAJECTORY_COLOUR, label="基期至目标的线性进度"))
    elif pd.notna(assessment["required_growth_pct"]) and pd.notna(assessment["latest_value"]):
        start, value = int(assessment["latest_year"]), float(assessment["latest_value"])
        years = list(range(start, TARGET_YEAR + 1))
        rate = assessment["required_growth_pct"] / 100
        ax.plot(years, [value * (1 + rate) ** (y - start) for y in years], ls=":", color=TRAJECTORY_COLOUR,
                lw=1.3, zorder=2)
        handles.append(Line2D([], [], ls=":", color=TRAJECTORY_COLOUR,
                              label=f"达标所需路径（年均{assessment['required_growth_pct']:.1f}%）"))
    ax.axhline(target, color=TARGET_COLOUR, lw=0.8, ls=(0, (1, 2)), zorder=1)
    ax.plot([TARGET_YEAR], [target], marker="*", markersize=13, color=TARGET_COLOUR, ls="none", zorder=5)
    handles.append(Line2D([], [], ls="none", marker="*", markersize=11, color=TARGET_COLOUR,
                          label=f"{TARGET_YEAR}年目标 {target_label(plan_row)}"))
    values = [target, *levels["value"].tolist()]
    span = max(values) - min(values) or abs(target) or 1.0
    ax.set_ylim(max(0.0, min(values) - 0.25 * span) if min(values) >= 0 else min(values) - 0.25 * span,
                max(values) + 0.25 * span)
    _year_axis(ax)
    ax.set_ylabel(unit, fontsize=8.5)
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.735, 0.83), fontsize=8, frameon=False)


def _rate_chart(fig: Figure, plan_row: pd.Series, assessment: pd.Series, actual: pd.DataFrame) -> None:
    iid = plan_row["indicator_id"]
    target = float(plan_row["target_value"])
    growth = growth_series(actual, iid)
    growth = growth[growth["year"] > BASELINE_YEAR]
    ax = fig.add_axes((0.065, 0.25, 0.42, 0.58))
    for row in growth.itertuples():
        colour, _, filled = BASIS_STYLE[row.basis]
        ax.bar(row.year, row.growth, width=0.6, color=colour if filled else "white", edgecolor=colour,
               hatch=None if filled else style.NO_DATA_HATCH, lw=1.2, zorder=3)
        ax.text(row.year, row.growth, f"{row.growth:+.1f}%", ha="center", va="bottom", fontsize=7.5, zorder=4)
    if not growth.empty:
        for year in range(BASELINE_YEAR + 1, int(growth["year"].max()) + 1):
            if year not in set(growth["year"]):
                ax.text(year, 0, "未找到", ha="center", va="bottom", fontsize=7, color=style.CONTEXT_EDGE)
    ax.axhline(target, color=TARGET_COLOUR, lw=1.3, ls="--", zorder=4)
    handles = [Line2D([], [], color=TARGET_COLOUR, ls="--", label=f"目标：年均 {target_label(plan_row)}")]
    if pd.notna(assessment["avg_growth_pct"]):
        ax.axhline(assessment["avg_growth_pct"], color=style.DISTRICT_EDGE, lw=1.0, ls=":", zorder=4)
        handles.append(Line2D([], [], color=style.DISTRICT_EDGE, ls=":",
                              label=f"已公布年份年均 {assessment['avg_growth_pct']:.1f}%"))
    handles += [Patch(facecolor=BASIS_STYLE[b][0] if BASIS_STYLE[b][2] else "white",
                      edgecolor=BASIS_STYLE[b][0], hatch=None if BASIS_STYLE[b][2] else style.NO_DATA_HATCH,
                      label=f"增速（{BASES[b][0]}）") for b in BASES if b in set(growth["basis"])]
    top = max([target, *growth["growth"].tolist()]) if not growth.empty else target
    ax.set_ylim(0, top * 1.3)
    _year_axis(ax)
    ax.set_xlim(BASELINE_YEAR + 0.4, TARGET_YEAR + 0.6)
    ax.set_title("年度增速（%，按公布增速比较）", fontsize=9, loc="left")
    ax.legend(handles=handles, loc="upper right", fontsize=7, frameon=False)
    right = fig.add_axes((0.56, 0.25, 0.42, 0.58))
    levels = level_series(actual, iid)
    breaks = level_breaks(actual, iid)
    if levels.empty:
        right.text(0.5, 0.5, "无总量数据", ha="center", va="center", transform=right.transAxes)
    else:
        _best_line(right, levels, breaks)
        _scatter_levels(right, levels)
        _mark_breaks(right, breaks)
        right.legend(handles=_basis_handles(sorted(set(levels["basis"]))), loc="lower right", fontsize=7,
                     frameon=False)
        unit = levels["unit"].iloc[0]
        right.set_title(f"总量（{unit}，仅供参考，不用于计算增速）", fontsize=9, loc="left")
    _year_axis(right)


def progress_chart(indicator_id: str, plan: pd.DataFrame | None = None,
                   actual: pd.DataFrame | None = None, assessment: pd.DataFrame | None = None) -> Figure:
    """Return the target-vs-actual chart of one indicator (rate targets: growth bars; levels: trajectory)."""
    use_cjk_font()
    plan = plan_indicators() if plan is None else plan
    actual = actual_indicators() if actual is None else actual
    assessment = progress(plan, actual) if assessment is None else assessment
    matches = plan[plan["indicator_id"] == indicator_id]
    if matches.empty:
        raise KeyError(f"unknown indicator {indicator_id!r}; see plan_indicators()['indicator_id']")
    plan_row = matches.iloc[0]
    row = assessment[assessment["indicator_id"] == indicator_id].iloc[0]
    wide = bool(plan_row["is_rate"])
    fig = plt.figure(figsize=(10.0 if wide else 8.6, 4.6), dpi=DPI, facecolor="white")
    number = f"表2 第{plan_row['item_no']}项{plan_row['sub_item']}"
    name = plan_row["indicator"]
    unit = f"（{plan_row['unit']}）" if plan_row["unit"] else ""
    attribute = f"{plan_row['attribute']}指标 · " if plan_row["attribute"] else ""
    _title(fig, f"{name}{unit}",
           f"{number} · {plan_row['category']} · {attribute}{TARGET_YEAR}年目标 {target_label(plan_row)}",
           row["status"])
    if row["confidence"] == "low":
        fig.text(0.985, 1 - 0.5 / fig.get_figheight(), "依据推算值，可信度低", ha="right", va="top",
                 fontsize=7.5, color=style.TOWN_EDGE)
    if plan_row["target_qualifier"] == "text":
        ax = fig.add_axes((0.075, 0.25, 0.85, 0.58))
        _scatter_levels(ax, level_series(actual, indicator_id))
        _year_axis(ax)
    elif wide:
        _rate_chart(fig, plan_row, row, actual)
    else:
        _level_chart(fig, plan_row, row, actual)
    _footer(fig, row["reason_zh"])
    return fig


def overview_chart(assessment: pd.DataFrame | None = None, plan: pd.DataFrame | None = None) -> Figure:
    """Return a one-page status board of every 表2 indicator (target, latest value, progress)."""
    use_cjk_font()
    assessment = progress() if assessment is None else assessment
    plan = plan_indicators("T2") if plan is None else plan
    plan = plan.set_index("indicator_id")
    n = len(assessment)
    height = 1.0 + 0.24 * (n + 1)
    fig = plt.figure(figsize=(11.0, height), dpi=DPI, facecolor="white")
    counts = assessment["status"].value_counts()
    summary = "  ".join(f"{STATUSES[s][0]} {int(counts.get(s, 0))}" for s in STATUSES)
    _title(fig, "吴中区“十四五”主要指标进展（表2）", summary)
    ax = fig.add_axes((0.015, 0.12 / height, 0.97, 1 - 0.9 / height))
    ax.axis("off")
    header = ["序号", "类型", "指标", "属性", "2025年目标", "最新值", "进展"]
    cells, colours = [], []
    for row in assessment.itertuples():
        unit = row.unit if isinstance(row.unit, str) else ""
        if pd.isna(row.latest_value):
            latest = "—"
        elif row.is_rate:
            latest = f"{int(row.latest_year)}年 {row.latest_value:+.1f}%（年均{row.avg_growth_pct:.1f}%）"
        else:
            latest = f"{int(row.latest_year)}年 {row.latest_value:g}{'' if unit in ('', '%') else ' '}{unit}"
            latest += "（推算）" if row.latest_basis == "inferred" else ""
        name = row.indicator if len(row.indicator) <= 26 else row.indicator[:25] + "…"
        cells.append([f"{row.item_no}{row.sub_item}", row.category, name, row.attribute,
                      target_label(plan.loc[row.indicator_id]), latest, STATUSES[row.status][0]])
        colours.append(["white"] * 6 + [STATUS_COLOURS[row.status]])
    table = ax.table(cellText=cells, colLabels=header, cellColours=colours, bbox=(0, 0, 1, 1),
                     colWidths=[0.05, 0.08, 0.38, 0.06, 0.15, 0.18, 0.10], cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor(style.CONTEXT_FILL)
        if r == 0:
            cell.set_facecolor(style.LAND)
        elif c == 6 and assessment["status"].iloc[r - 1] in ("achieved", "on_track", "behind"):
            cell.get_text().set_color("white")
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save a chart as PNG (or PDF/SVG by suffix) without timestamps, so reruns give identical bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata: dict = {"Software": None} if path.suffix == ".png" else {}
    if path.suffix == ".pdf":
        metadata = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
    elif path.suffix == ".svg":
        metadata = {"Date": None, "Creator": None}
        matplotlib.rcParams["svg.hashsalt"] = "wuzhong_geo"
    fig.savefig(path, dpi=DPI, metadata=metadata, facecolor="white")
    plt.close(fig)
    return path


def charted_indicators(assessment: pd.DataFrame, actual: pd.DataFrame | None = None) -> list[str]:
    """Return the ids of the 表2 indicators that have an actual value after the 2020 baseline."""
    actual = actual_indicators() if actual is None else actual
    later = actual[(actual["year"] > BASELINE_YEAR) & (actual["table"] == "T2")]
    ids = set(later["indicator_id"])
    return [iid for iid in assessment["indicator_id"] if iid in ids]


def write_progress_charts(out_dir: str | Path, plan: pd.DataFrame | None = None,
                          actual: pd.DataFrame | None = None) -> list[Path]:
    """Write ``progress_overview.png`` and ``progress_<id>.png`` for every indicator with actuals."""
    out_dir = Path(out_dir)
    plan = plan_indicators() if plan is None else plan
    actual = actual_indicators() if actual is None else actual
    assessment = progress(plan, actual)
    written = [save_figure(overview_chart(assessment, plan[plan["table"] == "T2"]),
                           out_dir / "progress_overview.png")]
    for iid in charted_indicators(assessment, actual):
        fig = progress_chart(iid, plan, actual, assessment)
        written.append(save_figure(fig, out_dir / f"progress_{iid}.png"))
    return written
