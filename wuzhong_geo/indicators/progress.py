"""Progress of every 表2 indicator toward its 2025 target, judged from the published actuals.

Rules (each assessment carries its reason in Chinese and English):

* Text targets (完成上级指标要求, 高于苏州市平均水平, 与 GDP 增长同步): ``not_comparable``.
* Rate targets (年均增速): the *published* annual growth rates are averaged geometrically and compared
  with the target rate. Levels are never divided to make a growth rate: a level series can break at a
  revision (the 2024 GDP level includes the fifth economic census revision) and levels are nominal
  while growth targets are usually real.
* Level targets: the latest actual (best basis of its year: revised > final > preliminary > inferred)
  is compared with the 2025 target (``achieved``) and, if not yet there, with the straight line from
  the 2020 baseline to the target (``on_track`` / ``behind``). Without a baseline the published growth
  rate is compared with the growth needed to reach the target by 2025.
* No actual after 2020: ``no_data``.
"""

from __future__ import annotations

import math

import pandas as pd

from wuzhong_geo.indicators.tables import (
    BASELINE_YEAR,
    BASES,
    TARGET_YEAR,
    actual_indicators,
    plan_indicators,
    target_label,
)

#: Status key -> (Chinese label, English label), in display order.
STATUSES: dict[str, tuple[str, str]] = {
    "achieved": ("已达到目标", "Achieved"),
    "on_track": ("进度正常", "On track"),
    "behind": ("进度滞后", "Behind"),
    "no_data": ("暂无数据", "No data"),
    "not_comparable": ("定性目标，不可比", "Not comparable"),
}
#: Relative tolerance of a 左右 (about) target: 7 左右 is met by 6.65.
ABOUT_TOLERANCE = 0.05
#: A level series breaks where level-over-level growth and the published growth differ by more.
BREAK_THRESHOLD_PP = 5.0

_RANK = {basis: rank for basis, (_, _, rank) in BASES.items()}
_CONF_RANK = {"high": 2, "medium": 1, "low": 0}

PROGRESS_COLUMNS = [
    "indicator_id", "table", "item_no", "sub_item", "indicator", "category", "attribute", "unit",
    "target_text", "target_value", "target_qualifier", "is_rate", "direction",
    "baseline_year", "baseline_value", "latest_year", "latest_value", "latest_basis",
    "expected_value", "gap_to_target", "gap_to_trajectory", "growth_years", "avg_growth_pct",
    "required_growth_pct", "revision_years", "status", "status_zh", "confidence", "reason_zh", "reason",
]


def _best_per_year(rows: pd.DataFrame) -> pd.DataFrame:
    """Keep one row per year: the best basis (revised > final > preliminary > inferred)."""
    if rows.empty:
        return rows
    rows = rows.assign(_rank=rows["basis"].map(_RANK))
    rows = rows.sort_values(["year", "_rank"], ascending=[True, False], kind="stable")
    return rows.drop_duplicates("year").drop(columns="_rank").reset_index(drop=True)


def level_series(actual: pd.DataFrame, indicator_id: str, best: bool = False) -> pd.DataFrame:
    """Return the published levels of an indicator (every basis, or ``best=True``: one per year)."""
    rows = actual[(actual["indicator_id"] == indicator_id) & (actual["value_kind"] == "level")]
    rows = rows.sort_values(["year", "basis"], kind="stable").reset_index(drop=True)
    return _best_per_year(rows) if best else rows


def growth_series(actual: pd.DataFrame, indicator_id: str) -> pd.DataFrame:
    """Return one published growth rate per year (``growth_rate`` rows and ``growth_pct`` of levels)."""
    rows = actual[actual["indicator_id"] == indicator_id]
    rates = rows[rows["value_kind"] == "growth_rate"].assign(growth=lambda d: d["value"])
    with_pct = rows[(rows["value_kind"] == "level") & rows["growth_pct"].notna()]
    with_pct = with_pct.assign(growth=with_pct["growth_pct"])
    both = pd.concat([rates, with_pct], ignore_index=True)
    columns = ["year", "growth", "basis", "source", "confidence"]
    if both.empty:
        return pd.DataFrame(columns=columns)
    return _best_per_year(both)[columns]


def level_breaks(actual: pd.DataFrame, indicator_id: str,
                 threshold_pp: float = BREAK_THRESHOLD_PP) -> list[int]:
    """Return years whose level jump disagrees with the published growth (a revision or new basis)."""
    levels = level_series(actual, indicator_id)
    published = levels[levels["basis"] != "inferred"]
    best_prev = _best_per_year(published[published["basis"] != "inferred"])
    previous = dict(zip(best_prev["year"], best_prev["value"]))
    breaks = []
    for row in published[published["growth_pct"].notna()].itertuples():
        before = previous.get(row.year - 1)
        if before is None or before <= 0:
            continue
        implied = (row.value / before - 1) * 100
        if abs(implied - row.growth_pct) > threshold_pp:
            breaks.append(int(row.year))
    # a revised or inferred level for a year that also has a preliminary one is a break as well
    for year, group in levels.groupby("year"):
        if len(group) > 1 and {"revised", "inferred"} & set(group["basis"]) and \
                "preliminary" in set(group["basis"]):
            breaks.append(int(year) + 1)
    return sorted(set(breaks))


def meets(value: float, target: float, qualifier: str) -> bool:
    """Whether ``value`` satisfies a numeric target with its qualifier (左右 within 5 %)."""
    if qualifier == "le":
        return value <= target
    if qualifier == "lt":
        return value < target
    if qualifier == "gt":
        return value > target
    if qualifier == "about":
        return value >= target * (1 - ABOUT_TOLERANCE)
    return value >= target


def direction(qualifier: str) -> str:
    """Return ``down`` for ceilings (以内, <) and ``up`` for every other numeric target."""
    return "down" if qualifier in ("le", "lt") else "up"


def _fmt(value: float, unit: str = "") -> str:
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text}{unit}" if unit in ("", "%") else f"{text} {unit}"


def _basis_zh(basis: str) -> str:
    return BASES[basis][0]


def _min_confidence(values: list[str]) -> str:
    values = [v for v in values if v in _CONF_RANK]
    return min(values, key=_CONF_RANK.__getitem__) if values else ""


def _geometric_mean(rates: list[float]) -> float:
    product = math.prod(1 + r / 100 for r in rates)
    return (product ** (1 / len(rates)) - 1) * 100


def _assess_text(out: dict) -> dict:
    out["status"] = "not_comparable"
    out["reason_zh"] = f"定性目标“{out['target_text']}”，无数值可比。"
    out["reason"] = f"Qualitative target ({out['target_text']}): nothing numeric to compare."
    return out


def _assess_rate(out: dict, plan_row: pd.Series, actual: pd.DataFrame) -> dict:
    iid, target, qualifier = plan_row["indicator_id"], plan_row["target_value"], plan_row["target_qualifier"]
    growth = growth_series(actual, iid)
    growth = growth[(growth["year"] > BASELINE_YEAR) & (growth["year"] <= TARGET_YEAR)]
    breaks = level_breaks(actual, iid)
    out["revision_years"] = ";".join(map(str, breaks))
    note_zh = note_en = ""
    if breaks:
        note_zh = f"{'、'.join(map(str, breaks))}年总量口径变化（修订），不用总量相除计算增速。"
        note_en = (f" The level series breaks in {', '.join(map(str, breaks))} (a revision), so no growth "
                   "is computed by dividing levels.")
    if growth.empty:
        has_levels = not level_series(actual, iid).empty
        out["status"] = "no_data"
        out["reason_zh"] = "尚无公布的年度增速。" + ("总量数据不用于推算增速。" if has_levels else "") + note_zh
        out["reason"] = "No published annual growth rate." + (
            " Levels are not divided to make one." if has_levels else "") + note_en
        return out
    rates = growth["growth"].astype(float).tolist()
    years = growth["year"].astype(int).tolist()
    average = _geometric_mean(rates)
    last = growth.iloc[-1]
    missing = [y for y in range(BASELINE_YEAR + 1, max(years) + 1) if y not in years]
    out.update(latest_year=int(last["year"]), latest_value=float(last["growth"]),
               latest_basis=last["basis"], avg_growth_pct=round(average, 2),
               growth_years=";".join(map(str, years)), expected_value=float(target),
               gap_to_target=round(average - target, 2),
               confidence=_min_confidence(growth["confidence"].tolist()))
    ok = meets(average, target, qualifier)
    complete = years == list(range(BASELINE_YEAR + 1, TARGET_YEAR + 1))
    out["status"] = ("achieved" if complete else "on_track") if ok else "behind"
    listed_zh = "，".join(f"{y}年{r:+.1f}%（{_basis_zh(b)}）"
                         for y, r, b in zip(years, rates, growth["basis"]))
    listed_en = ", ".join(f"{y} {r:+.1f}% ({BASES[b][1]})" for y, r, b in zip(years, rates, growth["basis"]))
    verdict_zh = "不低于" if ok else "低于"
    verdict_en = "meets" if ok else "falls short of"
    out["reason_zh"] = (f"公布增速：{listed_zh}；年均{average:.1f}%，{verdict_zh}目标{target_label(plan_row)}。"
                        + (f"{'、'.join(map(str, missing))}年增速未找到。" if missing else "") + note_zh)
    out["reason"] = (f"Published growth: {listed_en}; average {average:.1f}% {verdict_en} the target "
                     f"{target_label(plan_row)}."
                     + (f" No growth found for {', '.join(map(str, missing))}." if missing else "") + note_en)
    return out


def _assess_level(out: dict, plan_row: pd.Series, actual: pd.DataFrame) -> dict:
    iid, target, qualifier = plan_row["indicator_id"], plan_row["target_value"], plan_row["target_qualifier"]
    unit = plan_row["unit"]
    levels = level_series(actual, iid, best=True)
    out["revision_years"] = ";".join(map(str, level_breaks(actual, iid)))
    baseline = levels[levels["year"] == BASELINE_YEAR]
    later = levels[(levels["year"] > BASELINE_YEAR) & (levels["year"] <= TARGET_YEAR)]
    if not baseline.empty:
        out.update(baseline_year=BASELINE_YEAR, baseline_value=float(baseline["value"].iloc[0]))
    if later.empty:
        out["status"] = "no_data"
        if baseline.empty:
            out["reason_zh"] = "尚无实际值。"
            out["reason"] = "No actual value found."
        else:
            base = out["baseline_value"]
            already = meets(base, target, qualifier)
            out["reason_zh"] = (f"只有{BASELINE_YEAR}年基期值{_fmt(base, unit)}，之后年份未找到"
                                + ("（基期已达到目标）" if already else "") + "。")
            out["reason"] = (f"Only the {BASELINE_YEAR} baseline ({_fmt(base, unit)}); no later value found"
                             + (" (the baseline already meets the target)" if already else "") + ".")
            out["confidence"] = baseline["confidence"].iloc[0]
        return out
    last = later.iloc[-1]
    year, value = int(last["year"]), float(last["value"])
    used = [last["confidence"], *baseline["confidence"].tolist()]
    out.update(latest_year=year, latest_value=value, latest_basis=last["basis"],
               gap_to_target=round(value - target, 4), confidence=_min_confidence(used))
    if last["basis"] == "inferred":
        latest_zh = f"{year}年{_fmt(value, unit)}（推算值，未正式公布，可信度低）"
        latest_en = f"{_fmt(value, unit)} in {year} (inferred, not published: low confidence)"
    else:
        latest_zh = f"{year}年{_fmt(value, unit)}（{_basis_zh(last['basis'])}）"
        latest_en = f"{_fmt(value, unit)} in {year} ({BASES[last['basis']][1]})"
    label = target_label(plan_row)
    years_left = TARGET_YEAR - year
    reached = meets(value, target, qualifier)
    if years_left > 0 and value > 0 and target > 0 and not reached:
        out["required_growth_pct"] = round(((target / value) ** (1 / years_left) - 1) * 100, 2)
    if reached:
        out["status"] = "achieved"
        out["reason_zh"] = f"{latest_zh}已达到{TARGET_YEAR}年目标{label}。"
        out["reason"] = f"{latest_en} already meets the {TARGET_YEAR} target {label}."
        return out
    up = direction(qualifier) == "up"
    if not baseline.empty:
        base = out["baseline_value"]
        expected = base + (target - base) * (year - BASELINE_YEAR) / (TARGET_YEAR - BASELINE_YEAR)
        out.update(expected_value=round(expected, 4), gap_to_trajectory=round(value - expected, 4))
        ahead = value >= expected if up else value <= expected
        out["status"] = "on_track" if ahead else "behind"
        word_zh = "达到" if ahead else "未达到"
        out["reason_zh"] = (f"{latest_zh}；按{BASELINE_YEAR}年基期{_fmt(base, unit)}到目标{label}的线性进度，"
                            f"{year}年应为{_fmt(expected, unit)}，{word_zh}进度。")
        out["reason"] = (f"{latest_en}; the straight line from the {BASELINE_YEAR} baseline "
                         f"{_fmt(base, unit)} to the target {label} gives {_fmt(expected, unit)} for {year}: "
                         + ("on track." if ahead else "behind."))
        return out
    growth = growth_series(actual, iid)
    growth = growth[growth["year"] == year]
    needed = out.get("required_growth_pct")
    if growth.empty or needed is None or not up:
        out["status"] = "no_data"
        out["reason_zh"] = f"{latest_zh}；无{BASELINE_YEAR}年基期值，也无同年增速，无法判断进度。"
        out["reason"] = f"{latest_en}; no {BASELINE_YEAR} baseline and no growth rate to judge progress."
        return out
    rate = float(growth["growth"].iloc[0])
    ahead = rate >= needed
    out["status"] = "on_track" if ahead else "behind"
    out["avg_growth_pct"] = rate
    out["growth_years"] = str(year)
    out["reason_zh"] = (f"{latest_zh}，增长{rate:+.1f}%；无{BASELINE_YEAR}年基期值。{TARGET_YEAR}年达到{label}"
                        f"需年均增长{needed:.1f}%，当前增速{'足够' if ahead else '不足'}。")
    out["reason"] = (f"{latest_en}, growth {rate:+.1f}%; no {BASELINE_YEAR} baseline. Reaching {label} by "
                     f"{TARGET_YEAR} needs {needed:.1f}% a year: " + ("on track." if ahead else "behind."))
    return out


def assess(plan_row: pd.Series, actual: pd.DataFrame) -> dict:
    """Assess one plan indicator against the actuals; return a row of :data:`PROGRESS_COLUMNS`."""
    out = {column: None for column in PROGRESS_COLUMNS}
    for column in ("indicator_id", "table", "item_no", "sub_item", "indicator", "category", "attribute",
                   "unit", "target_text", "target_value", "target_qualifier", "is_rate"):
        out[column] = plan_row[column]
    out["confidence"] = ""
    out["revision_years"] = ""
    qualifier = plan_row["target_qualifier"]
    if qualifier == "text":
        out = _assess_text(out)
    else:
        out["direction"] = direction(qualifier)
        out = (_assess_rate if plan_row["is_rate"] else _assess_level)(out, plan_row, actual)
    out["status_zh"] = STATUSES[out["status"]][0]
    return out


def progress(plan: pd.DataFrame | None = None, actual: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one assessment per 表2 indicator: status, latest value, trajectory and reasons."""
    plan = plan_indicators("T2") if plan is None else plan[plan["table"] == "T2"]
    actual = actual_indicators() if actual is None else actual
    rows = [assess(row, actual) for _, row in plan.iterrows()]
    frame = pd.DataFrame(rows, columns=PROGRESS_COLUMNS)
    for column in ("baseline_year", "latest_year"):
        frame[column] = frame[column].astype("Int64")
    for column in ("baseline_value", "latest_value", "expected_value", "gap_to_target", "gap_to_trajectory",
                   "avg_growth_pct", "required_growth_pct", "target_value"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


def status_counts(frame: pd.DataFrame) -> pd.Series:
    """Return how many indicators have each status, in :data:`STATUSES` order."""
    return frame["status"].value_counts().reindex(list(STATUSES), fill_value=0)
