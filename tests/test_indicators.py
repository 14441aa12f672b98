"""The plan's 表1/表2 as validated tables, progress against actuals, charts and the ``indicators`` command."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from wuzhong_geo.errors import InputError
from wuzhong_geo.indicators import (
    actual_indicators,
    assess,
    plan_indicators,
    progress,
    read_actual_indicators,
    read_plan_indicators,
    target_label,
)
from wuzhong_geo.indicators.progress import growth_series, level_breaks
from wuzhong_geo.settings import plan_dir


@pytest.fixture(scope="module")
def assessed() -> pd.DataFrame:
    return progress().set_index("indicator_id")


def _row(frame: pd.DataFrame, iid: str) -> pd.Series:
    return frame[frame["indicator_id"] == iid].iloc[0]


# ---------------------------------------------------------------- tables

def test_plan_tables_have_every_row_and_sub_row():
    t1, t2 = plan_indicators("T1"), plan_indicators("T2")
    assert len(t1) == 36 and sorted(set(t1["item_no"])) == list(range(1, 31))
    assert len(t2) == 34 and sorted(set(t2["item_no"])) == list(range(1, 34))
    assert set(t2["category"]) == {"创新吴中", "开放吴中", "生态吴中", "人文吴中", "幸福吴中"}
    assert set(t2[t2["attribute"] == "约束性"]["item_no"]) == {14, 15, 16, 23, 32}
    assert list(_row(t2, "T2-08a")[["indicator_group", "target_value", "unit"]]) == ["工业经济质量", 210, "亿元"]
    assert t2["target_value"].dtype == float and t2["is_rate"].dtype == bool


def test_qualifiers_and_text_targets_are_kept():
    t2 = plan_indicators("T2")
    assert (_row(t2, "T2-10")["target_qualifier"], _row(t2, "T2-10")["target_value"]) == ("about", 7)
    assert (_row(t2, "T2-23")["target_qualifier"], _row(t2, "T2-23")["target_value"]) == ("le", 3)
    assert (_row(t2, "T2-22")["target_qualifier"], _row(t2, "T2-22")["target_value"]) == ("gt", 90)
    assert _row(plan_indicators("T1"), "T1-04")["target_qualifier"] == "ge"
    text = t2[t2["target_qualifier"] == "text"]
    assert text["target_value"].isna().all()
    assert {"完成上级指标要求", "高于苏州市平均水平", "与 GDP 增长同步"} == set(text["target_text"])


@pytest.mark.parametrize("iid, label", [
    ("T2-10", "7% 左右"), ("T2-23", "3% 以内"), ("T2-22", ">90"), ("T1-04", "≥93%"),
    ("T2-08a", "210 亿元"), ("T2-04", "高于苏州市平均水平"),
])
def test_target_label(iid, label):
    assert target_label(_row(plan_indicators(), iid)) == label


def _broken_copy(tmp_path, name, column, row, value):
    frame = pd.read_csv(plan_dir() / name, dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("column, value, message", [
    ("attribute", "可选性", "attribute"),
    ("target_qualifier", "approx", "target_qualifier"),
    ("target_value", "六", "not a number"),
    ("is_rate", "yes", "is_rate"),
])
def test_plan_schema_rejects_bad_rows(tmp_path, column, value, message):
    row = 40  # a 表2 row
    path = _broken_copy(tmp_path, "indicators_plan.csv", column, row, value)
    with pytest.raises(InputError, match=message):
        read_plan_indicators(path)


def test_text_target_with_a_number_is_rejected(tmp_path):
    frame = pd.read_csv(plan_dir() / "indicators_plan.csv", dtype=str, keep_default_na=False)
    row = frame.index[(frame["table"] == "T2") & (frame["item_no"] == "12")][0]
    frame.loc[row, "target_value"] = "1"
    path = tmp_path / "plan.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="text target"):
        read_plan_indicators(path)


def test_actuals_keep_preliminary_and_final_apart():
    actual = actual_indicators()
    gdp_2021 = actual[(actual["indicator_id"] == "T2-01") & (actual["year"] == 2021)]
    assert dict(zip(gdp_2021["basis"], gdp_2021["value"])) == {"preliminary": 1500.0, "final": 1519.17}
    assert {"source", "confidence", "basis", "year"} <= set(actual.columns)
    assert (actual["source"] != "").all()


def test_actuals_must_name_a_plan_indicator(tmp_path):
    path = _broken_copy(tmp_path, "indicators_actual.csv", "item_no", 0, "77")
    with pytest.raises(InputError, match="T2-77"):
        read_actual_indicators(path)


def test_actual_basis_is_checked(tmp_path):
    path = _broken_copy(tmp_path, "indicators_actual.csv", "basis", 0, "estimate")
    with pytest.raises(InputError, match="basis"):
        read_actual_indicators(path)


# ---------------------------------------------------------------- progress

def test_gdp_growth_compared_as_rates_not_levels(assessed):
    gdp = assessed.loc["T2-01"]
    expected = (1.09 * 1.045 * 1.053) ** (1 / 3) * 100 - 100
    assert math.isclose(gdp["avg_growth_pct"], round(expected, 2))
    assert gdp["growth_years"] == "2021;2023;2024"
    assert gdp["status"] == "on_track"
    assert gdp["revision_years"] == "2024"  # 1638 → 2005.70 with +5.3%: the census revision
    assert "不用总量相除" in gdp["reason_zh"] and "2022" in gdp["reason_zh"]


def test_level_jump_never_becomes_growth():
    """Levels doubling across a revision must not count: only the published +2% does."""
    plan = plan_indicators("T2")
    actual = pd.DataFrame({
        "indicator_id": "T2-01", "table": "T2", "item_no": 1, "sub_item": "", "indicator": "地区生产总值",
        "unit": "亿元", "year": [2020, 2021, 2022], "value": [100.0, 102.0, 210.0],
        "value_kind": "level", "growth_pct": [None, 2.0, 2.0], "basis": ["final", "final", "revised"],
        "source": "test", "confidence": "high", "notes": "",
    })
    result = assess(_row(plan, "T2-01"), actual)
    assert result["status"] == "behind" and result["avg_growth_pct"] == 2.0
    assert level_breaks(actual, "T2-01") == [2022]
    assert list(growth_series(actual, "T2-01")["growth"]) == [2.0, 2.0]


@pytest.mark.parametrize("iid, status", [
    ("T2-02", "on_track"), ("T2-03", "achieved"), ("T2-04", "not_comparable"), ("T2-07", "no_data"),
    ("T2-08a", "behind"), ("T2-10", "on_track"), ("T2-11", "on_track"), ("T2-18", "behind"),
    ("T2-24", "not_comparable"), ("T2-33", "no_data"),
])
def test_statuses_of_the_bundled_data(assessed, iid, status):
    assert assessed.loc[iid, "status"] == status
    assert assessed.loc[iid, "reason_zh"] and assessed.loc[iid, "reason"]


def test_level_trajectory_from_the_baseline(assessed):
    culture = assessed.loc["T2-18"]  # 4.63 (2020) → 10 (2025); 4.8 in 2021
    assert math.isclose(culture["expected_value"], 4.63 + (10 - 4.63) / 5)
    assert culture["gap_to_trajectory"] < 0


def test_inferred_values_lower_the_confidence(assessed):
    assert assessed.loc["T2-03", "latest_basis"] == "inferred"
    assert assessed.loc["T2-03", "confidence"] == "low"
    assert "推算" in assessed.loc["T2-03", "reason_zh"]


def test_without_baseline_the_needed_growth_is_compared(assessed):
    investment = assessed.loc["T2-08a"]  # 105 (2021, +7%) → 210 by 2025 needs about 18.9% a year
    assert math.isclose(investment["required_growth_pct"], round((2 ** 0.25 - 1) * 100, 2))


def _synthetic(iid: str, values: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame({
        "indicator_id": iid, "table": "T2", "item_no": 0, "sub_item": "", "indicator": "x", "unit": "%",
        "year": list(values), "value": list(values.values()), "value_kind": "level",
        "growth_pct": None, "basis": "final", "source": "test", "confidence": "high", "notes": "",
    })


@pytest.mark.parametrize("values, status", [
    ({2020: 1.85, 2022: 2.5}, "achieved"),      # 3 以内: a ceiling
    ({2020: 3.5, 2022: 3.3}, "on_track"),       # falling toward the ceiling faster than the line
    ({2020: 3.5, 2022: 3.45}, "behind"),
])
def test_ceiling_targets(values, status):
    assert assess(_row(plan_indicators("T2"), "T2-23"), _synthetic("T2-23", values))["status"] == status


def test_about_targets_allow_five_percent():
    forest = _row(plan_indicators("T2"), "T2-16")  # 32 左右
    assert assess(forest, _synthetic("T2-16", {2020: 29.0, 2023: 30.5}))["status"] == "achieved"
    assert assess(forest, _synthetic("T2-16", {2020: 29.0, 2023: 29.5}))["status"] == "behind"


# ---------------------------------------------------------------- charts and outputs

def test_chart_is_deterministic(tmp_path):
    from wuzhong_geo.indicators.charts import progress_chart, save_figure

    first = save_figure(progress_chart("T2-01"), tmp_path / "a.png").read_bytes()
    second = save_figure(progress_chart("T2-01"), tmp_path / "b.png").read_bytes()
    assert first == second


def test_indicators_command_writes_tables_and_charts(tmp_path):
    from wuzhong_geo.cli import app

    result = CliRunner().invoke(app, ["indicators", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in tmp_path.iterdir()}
    assert {"indicators_plan.csv", "indicators_actual.csv", "indicators_progress.csv", "indicators.xlsx",
            "progress_overview.png"} <= names
    charted = {n[len("progress_"):-4] for n in names if n.startswith("progress_T2")}
    with_actuals = set(actual_indicators().query("year > 2020 and table == 'T2'")["indicator_id"])
    assert charted == with_actuals
    assert (tmp_path / "indicators_plan.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    sheets = pd.read_excel(tmp_path / "indicators.xlsx", sheet_name=None)
    assert {"说明", "表1", "表2", "实际值", "进展"} <= set(sheets)
    assert len(sheets["表2"]) == 34 and "属性" in sheets["表2"].columns
    progress_csv = pd.read_csv(tmp_path / "indicators_progress.csv", encoding="utf-8-sig")
    assert len(progress_csv) == 34
    assert not list(tmp_path.glob(".tmp-*"))
