"""Town-level joins: every key form matches, every row that does not is reported, and ``wuzhong-geo join``.

Fixtures (fictional numbers, for the tests only):
- ``towns_stats_gbk.csv``: GBK, CRLF; names as offices write them (甬直镇, 長橋街道, "城南　街道" with a
  full-width space, 木渎, an English name), 12-digit codes, an unknown name (火星镇), a management zone
  (吴中高新区), a duplicate (甪直), an empty value (—), a non-number (未统计) and a code that
  contradicts its name (郭巷街道 with 横泾's code).
- ``towns_stats.xlsx``: sheet 面积 with numeric 9/12-digit codes, an NBS special unit (320506404) and
  codes Wuzhong does not have.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wuzhong_geo import layers
from wuzhong_geo.cli import app
from wuzhong_geo.errors import InputError
from wuzhong_geo.indicators import join_to_towns, match_town, read_table
from wuzhong_geo.indicators.join import unmatched_table

runner = CliRunner()


DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def gbk_table() -> pd.DataFrame:
    return read_table(DATA / "towns_stats_gbk.csv")


@pytest.mark.parametrize("value, code, how", [
    ("甪直镇", "320506100", "name"),
    ("甬直镇", "320506100", "alias"),
    ("甬直", "320506100", "alias"),
    ("甪直", "320506100", "short_name"),
    ("長橋街道", "320506001", "alias"),
    ("城南　街道", "320506009", "alias"),
    ("吴中区木渎镇", "320506103", "alias"),
    ("苏州市吴中区臨湖鎮", "320506110", "alias"),
    ("Luzhi", "320506100", "alias"),
    ("320506100000", "320506100", "code"),
    ("320506100", "320506100", "code"),
    (320506107000.0, "320506107", "code"),
    ("３２０５０６１０９", "320506109", "code"),
])
def test_every_key_form_matches(value, code, how):
    assert match_town(value)[:2] == (code, how)


@pytest.mark.parametrize("value, reason", [
    ("火星镇", "unknown name"),
    ("吴中高新区", "management zone"),
    ("高新区", "management zone"),
    ("320506404", "special statistical unit"),
    ("320506999000", "NBS statistical code"),
    ("320505001", "not a code of Wuzhong"),
    ("3205061", "9 or 12 digits"),
    ("", "empty key"),
    (None, "empty key"),
])
def test_unmatched_keys_have_reasons(value, reason):
    code, _, reason_zh, reason_en = match_town(value)
    assert code is None and reason in reason_en and reason_zh


def test_gbk_csv_is_detected(gbk_table):
    assert gbk_table.attrs["encoding"] in {"gb18030", "gbk"}
    assert list(gbk_table.columns) == ["镇街", "代码", "示例指标", "备注"]
    assert gbk_table.loc[2, "镇街"] == "城南　街道"


def test_join_by_name_reports_everything(gbk_table):
    towns, report = join_to_towns(gbk_table, key="镇街", value="示例指标")
    assert len(towns) == 14 and towns.crs == layers.towns().crs
    # every input row is either joined or reported, none silently dropped
    reported = set(report.matched["row"]) | set(report.not_joined()["row"])
    assert reported == set(range(1, len(gbk_table) + 1))
    assert dict(zip(report.unmatched["row"], report.unmatched["key_value"])) == {5: "火星镇", 6: "吴中高新区"}
    assert list(report.duplicates[["row", "kept_row"]].itertuples(index=False, name=None)) == [(7, 1)]
    assert list(report.invalid_values["value"]) == ["未统计"]
    assert list(report.conflicts[["row", "name", "other_name"]].itertuples(index=False, name=None)) == [
        (10, "郭巷街道", "横泾街道")]
    values = towns.set_index("name")["示例指标"]
    assert values["甪直镇"] == 12.3  # the first 甪直 row wins, not the duplicate's 99
    assert values["木渎镇"] == 1034.5  # thousands separator
    assert math.isnan(values["胥口镇"]) and math.isnan(values["东山镇"]) and math.isnan(values["越溪街道"])
    assert len(report.towns_without_data) == 8 and "越溪街道" in report.towns_without_data
    assert not report.ok
    matched_by = dict(zip(report.matched["key_value"], report.matched["matched_by"]))
    assert matched_by["甬直镇"] == "alias" and matched_by["木渎"] == "short_name"
    assert "火星镇" in report.summary() and "吴中高新区" in report.summary("en")


def test_join_by_12_digit_codes(gbk_table):
    towns, report = join_to_towns(gbk_table, key="代码", value="示例指标")
    assert set(report.unmatched["reason"]) == {"empty key"}
    assert towns.set_index("name").loc["横泾街道", "示例指标"] == 8.8
    assert list(report.conflicts["other_value"]) == ["郭巷街道"]


def test_unmatched_table_keeps_the_input_rows(gbk_table):
    _, report = join_to_towns(gbk_table, key="镇街", value="示例指标")
    left = unmatched_table(gbk_table, report)
    assert list(left["row"]) == [5, 6, 7, 9]  # row 9 is joined but its value is not a number
    assert list(left["镇街"])[:3] == ["火星镇", "吴中高新区", "甪直"] and left["reason_zh"].str.len().min() > 0
    assert "not a finite number" in left["reason"].iloc[3]


def test_xlsx_with_numeric_codes(test_data):
    towns, report = join_to_towns(test_data / "towns_stats.xlsx", key="区划代码", value="面积")
    assert set(report.matched["name"]) == {"香山街道", "金庭镇", "临湖镇", "东山镇"}
    reasons = dict(zip(report.unmatched["key_value"], report.unmatched["reason"]))
    assert "special statistical unit" in reasons["320506404"]
    assert set(reasons) == {"320506404", "320506999", "320506101000"}
    assert towns.set_index("code").loc["320506109", "面积"] == 82.36


def test_xlsx_sheet_choice(test_data):
    with pytest.raises(InputError, match="面积"):
        read_table(test_data / "towns_stats.xlsx", sheet="人口")
    assert read_table(test_data / "towns_stats.xlsx", sheet="面积").shape == (7, 3)


@pytest.mark.parametrize("text, encoding", [
    ("名稱,數值\n長橋街道,1\n木瀆鎮,2\n東山鎮,3\n", "big5"),
    ("名称,值\n木渎,1\n胥口,2\n", "gbk"),  # short GBK that charset detection alone takes for Big5
    ("名称,值\n木渎,1\n胥口,2\n", "utf-8-sig"),
    ("名称\t值\n木渎\t1\n胥口\t2\n", "utf-8"),
])
def test_csv_encodings_and_delimiters(tmp_path, text, encoding):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode(encoding))
    table = read_table(path)
    towns, report = join_to_towns(table, key=table.columns[0], value=table.columns[1])
    assert report.n_matched == len(table) and report.ok
    assert towns[table.columns[1]].notna().sum() == len(table)


def test_real_data_official_areas_leave_four_towns_without_data():
    table = pd.DataFrame(layers.towns().drop(columns="geometry"))[["code", "official_area_km2"]]
    towns, report = join_to_towns(table, key="code", value="official_area_km2")
    assert report.n_matched == 14 and report.unmatched.empty
    assert len(report.towns_without_data) == 4 and towns["official_area_km2"].isna().sum() == 4


def test_conflicting_column_names_get_a_suffix():
    table = pd.DataFrame({"name": ["甪直", "木渎"], "area_km2": [1.0, 2.0]})
    towns, report = join_to_towns(table, key="name", value="area_km2")
    assert report.columns == {"name": "name_input"} and report.value_column == "area_km2"
    assert towns.set_index("name").loc["甪直镇", "name_input"] == "甪直"


def test_bad_columns_and_files_raise_input_error(tmp_path, gbk_table):
    with pytest.raises(InputError, match="镇街"):
        join_to_towns(gbk_table, key="town")
    with pytest.raises(InputError, match="value column"):
        join_to_towns(gbk_table, key="镇街", value="人口")
    (tmp_path / "t.ods").write_bytes(b"x")
    with pytest.raises(InputError, match="CSV or XLSX"):
        read_table(tmp_path / "t.ods")
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "missing.csv")


# ---------------------------------------------------------------- wuzhong-geo join

def test_join_command_errors_exit_2(tmp_path, test_data):
    result = runner.invoke(app, ["join", str(test_data / "towns_stats_gbk.csv"), "--key", "town",
                                 "--value", "示例指标", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "镇街" in result.output
    result = runner.invoke(app, ["join", str(tmp_path / "missing.csv"), "--key", "a", "--value", "b",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2


def test_join_command_fails_when_no_value_is_numeric(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("镇,值\n木渎,无\n火星,1\n", encoding="utf-8")
    result = runner.invoke(app, ["join", str(path), "--key", "镇", "--value", "值", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    # nothing half-written: the summary names both rows that are left off, and why
    assert not (tmp_path / "o").exists()
    assert "火星" in result.output and "1 row(s)" in result.output


@pytest.mark.parametrize("bad", ["inf", "-inf", "1e400", "Infinity"])
def test_join_refuses_non_finite_values_and_lists_them(tmp_path, bad):
    path = tmp_path / "t.csv"
    path.write_text(f"镇,值\n木渎,{bad}\n", encoding="utf-8")
    result = runner.invoke(app, ["join", str(path), "--key", "镇", "--value", "值", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and not (tmp_path / "o").exists()
    assert "not a finite number" in result.output or "不是数字" in result.output


@pytest.mark.slow
def test_join_command_renders_the_choropleth(tmp_path, test_data):
    pytest.importorskip("wuzhong_geo.maps")
    pytest.importorskip("wuzhong_geo.web")
    out = tmp_path / "out"
    result = runner.invoke(app, ["join", str(test_data / "towns_stats_gbk.csv"), "--key", "镇街",
                                 "--value", "示例指标", "--out", str(out), "-k", "3"])
    assert result.exit_code == 0, result.output
    for name in ("choropleth.png", "choropleth.pdf", "choropleth.html", "joined.csv", "unmatched.csv"):
        assert (out / name).stat().st_size > 0, name
    assert "火星镇" in result.output
    joined = pd.read_csv(out / "joined.csv", encoding="utf-8-sig", dtype={"code": str})
    assert len(joined) == 14 and joined["示例指标"].isna().sum() == 8
    unmatched = pd.read_csv(out / "unmatched.csv", encoding="utf-8-sig")
    assert list(unmatched["row"]) == [5, 6, 7, 9] and unmatched["reason"].notna().all()
    html = (out / "choropleth.html").read_text(encoding="utf-8")
    assert "无数据" in html or "\\u65e0\\u6570\\u636e" in html  # folium writes JSON-escaped text
