"""Per-unit indicators: figures recomputed by hand on the bundled layers, outputs, dictionary, CLI."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from pyproj import Transformer
from typer.testing import CliRunner

from wuzhong_geo import layers
from wuzhong_geo.cli import app
from wuzhong_geo.errors import InputError
from wuzhong_geo.indicators import join_to_towns
from wuzhong_geo.indicators.unit_outputs import display_headers, write_unit_indicators
from wuzhong_geo.indicators.units import (
    UNIT_KINDS,
    indicator_columns,
    outside_units,
    select,
    town_indicators,
    unit_indicators,
)
from wuzhong_geo.settings import ANALYSIS_CRS, data_dir

CHANGQIAO, CHENGNAN, LUZHI, DONGSHAN = "320506001", "320506009", "320506100", "320506107"


@pytest.fixture(scope="module")
def towns_table() -> gpd.GeoDataFrame:
    return town_indicators().set_index("code")


def _town(code: str) -> gpd.GeoDataFrame:
    towns = layers.towns().to_crs(ANALYSIS_CRS)
    return towns[towns["code"] == code]


def _infra(kind: str) -> gpd.GeoDataFrame:
    infra = layers.infrastructure().to_crs(ANALYSIS_CRS)
    return infra[infra["kind"] == kind]


def test_metro_stations_in_changqiao_by_hand(towns_table):
    inside = gpd.sjoin(_infra("metro_station"), _town(CHANGQIAO), predicate="within")
    # 石湖东路 is an interchange station (two rows): a station counts once. 红庄站 is in 城南
    # (data/build/evidence.csv), so the evidence-fitted 长桥 no longer holds it.
    assert set(inside["name_left"]) == {"石湖东路站", "宝带路站"}
    assert len(inside) == 3
    assert towns_table.at[CHANGQIAO, "metro_stations"] == 2


def test_every_station_is_in_one_town_or_listed_outside(towns_table):
    names = _infra("metro_station")["name"]
    outside = outside_units("town")
    outside_names = set(outside.loc[outside["kind"] == "metro_station", "name"])
    assert towns_table["metro_stations"].sum() + len(outside_names) == names.nunique()
    assert outside_names == {"独墅湖南站", "花港站", "车坊站"}


def test_metro_km_in_changqiao_is_the_clipped_length(towns_table):
    clipped = gpd.clip(_infra("metro_line"), _town(CHANGQIAO))
    km = clipped.length.sum() / 1000
    assert km > 5
    assert towns_table.at[CHANGQIAO, "metro_km"] == pytest.approx(km, abs=0.002)
    # a line that only passes by adds nothing: the unclipped lines are much longer
    assert _infra("metro_line").length.sum() / 1000 > 5 * km


def test_eco_belt_share_of_dongshan_from_the_zone_parts(towns_table):
    parts = layers.town_zone_parts().to_crs(ANALYSIS_CRS)
    mine = parts[parts["code"] == DONGSHAN]
    share = mine.loc[mine["zone"] == "生态文旅带"].area.sum() / mine.area.sum() * 100
    assert 80 < share < 100
    assert towns_table.at[DONGSHAN, "share_eco_culture_tourism_belt"] == pytest.approx(share, abs=0.01)


def test_zone_shares_add_up_to_100(towns_table):
    zones = indicator_columns("town").query("layer == 'functional_zones'")["column"]
    assert len(zones) == 3
    shares = towns_table[list(zones)].sum(axis=1)
    assert np.allclose(shares, 100, atol=0.05)


def test_seat_distance_of_luzhi_by_hand(towns_table):
    town = layers.towns().set_index("code").loc[LUZHI]
    to_metric = Transformer.from_crs("EPSG:4326", ANALYSIS_CRS, always_xy=True)
    x, y = to_metric.transform(town["seat_lon"], town["seat_lat"])
    stations = layers.infrastructure().query("kind == 'metro_station'")
    sx, sy = to_metric.transform(stations.geometry.x.to_numpy(), stations.geometry.y.to_numpy())
    d = np.hypot(np.asarray(sx) - x, np.asarray(sy) - y)
    assert towns_table.at[LUZHI, "seat_metro_km"] == pytest.approx(d.min() / 1000, abs=0.001)
    assert towns_table.at[LUZHI, "seat_metro_station"] == stations.iloc[int(d.argmin())]["name"]


def test_museums_in_chengnan_by_hand(towns_table):
    places = layers.places().to_crs(ANALYSIS_CRS)
    inside = gpd.sjoin(places[places["category"] == "museum"], _town(CHENGNAN), predicate="within")
    assert len(inside) == 2
    assert towns_table.at[CHENGNAN, "places_museum"] == 2


def test_places_total_adds_categories_and_outside_points():
    table = town_indicators()
    categories = [c for c in table.columns if c.startswith("places_") and c != "places_total"]
    assert (table[categories].sum(axis=1) == table["places_total"]).all()
    outside = outside_units("town")
    assert table["places_total"].sum() + (outside["layer"] == "places").sum() == len(layers.places())


def test_plan_unbuilt_km_never_exceeds_plan_km(towns_table):
    assert (towns_table["plan_unbuilt_km"] <= towns_table["plan_km"] + 1e-9).all()
    assert (towns_table["metro_plan_km"] <= towns_table["metro_km"] + 1e-9).all()


@pytest.mark.parametrize("by, rows", [("town", 14), ("zone", 3), ("subregion", 3), ("management_zone", 5)])
def test_every_unit_kind(by, rows):
    table = unit_indicators(by)
    assert len(table) == rows
    assert list(table.columns[:-1]) == list(indicator_columns(by)["column"])
    # the units tile the same land: areas add up to the towns' total
    assert table["area_km2"].sum() == pytest.approx(layers.towns().to_crs(ANALYSIS_CRS).area.sum() / 1e6, rel=1e-4)


def test_unit_sums_match_the_towns():
    towns = town_indicators()
    subs = unit_indicators("subregion")
    assert subs["metro_stations"].sum() == towns["metro_stations"].sum()
    assert subs["plan_km"].sum() == pytest.approx(towns["plan_km"].sum(), abs=0.01)


def test_official_area_of_unions_is_the_member_sum():
    zones = unit_indicators("management_zone").set_index("code")
    towns = layers.towns().set_index("code")
    assert zones.at["hitech_zone", "official_area_km2"] == towns.at[CHANGQIAO, "official_area_km2"]
    # 开发区 has members without a published area: no sum of what is known
    assert pd.isna(zones.at["development_zone", "official_area_km2"])
    assert unit_indicators("zone")["official_area_km2"].isna().all()


def test_dictionary_describes_every_column():
    for by in UNIT_KINDS:
        table = indicator_columns(by)
        assert table["column"].is_unique
        for column in ("name_zh", "name_en", "definition_zh", "definition_en", "basis"):
            assert (table[column].str.len() > 0).all(), (by, column)
    headers = display_headers("town")
    assert headers["metro_stations"] == "轨道交通站点（个）" and headers["seat_metro_km"].endswith("（km）")


def test_filter_rules():
    infra = layers.infrastructure()
    mask = select(infra, "kind=metro_line;in_plan=true;status!=built")
    assert set(infra.loc[mask, "id"]) == {"M6E"}
    assert select(infra, "kind=high_speed_rail|intercity_rail").sum() == 4
    with pytest.raises(InputError, match="colour"):
        select(infra, "colour=red")


def test_official_boundaries_change_the_figures(tmp_path):
    towns = layers.towns()
    metric = towns.to_crs(ANALYSIS_CRS)
    shrunk = metric.geometry.where(metric["code"] != CHANGQIAO, metric.geometry.buffer(-400))
    official = gpd.GeoDataFrame(towns[["code", "name"]], geometry=shrunk.values, crs=ANALYSIS_CRS)
    path = tmp_path / "official.gpkg"
    official.to_file(path, driver="GPKG")
    layers.use_boundaries(path)
    table = town_indicators().set_index("code")
    assert (table["boundary_source"] == "official").all()
    assert table.at[CHANGQIAO, "area_km2"] == pytest.approx(shrunk[metric["code"] == CHANGQIAO].area.iloc[0] / 1e6,
                                                            abs=0.01)
    assert table.at[CHANGQIAO, "area_km2"] < 15.0


def test_outputs_csv_xlsx_and_typed_geopackage(tmp_path):
    paths = write_unit_indicators(tmp_path, "town")
    assert {p.name for p in paths} == {"indicators_by_town.csv", "indicators_by_town_columns.csv",
                                       "infrastructure_by_town.csv", "indicators_by_town.xlsx",
                                       "indicators_by_town.gpkg"}
    csv = pd.read_csv(tmp_path / "indicators_by_town.csv", dtype={"code": str}, encoding="utf-8-sig")
    assert len(csv) == 14 and csv.set_index("code").at[CHANGQIAO, "metro_stations"] == 2
    info = pyogrio.read_info(tmp_path / "indicators_by_town.gpkg", layer="indicators_by_town")
    types = dict(zip(info["fields"], info["dtypes"]))
    numeric = indicator_columns("town").query("unit in ['km', 'km²', '%', '个']")["column"]
    assert len(numeric) > 30
    for column in numeric:
        assert types[column] in ("float64", "int64", "int32"), column
    con = sqlite3.connect(tmp_path / "indicators_by_town.gpkg")
    try:
        assert con.execute("SELECT typeof(metro_stations), typeof(seat_metro_km) FROM indicators_by_town "
                           "WHERE code = ?", (CHANGQIAO,)).fetchone() == ("integer", "real")
    finally:
        con.close()
    book = load_workbook(tmp_path / "indicators_by_town.xlsx", read_only=True)
    assert book.sheetnames == ["说明", "指标", "字段说明", "基础设施明细", "单元外点位"]
    header = [c.value for c in next(book["指标"].iter_rows(max_row=1))]
    assert "轨道交通站点（个）" in header and "生态文旅带占比（%）" in header
    book.close()


def test_cli_indicators_by_zone(tmp_path):
    result = CliRunner().invoke(app, ["indicators", "--by", "zone", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "indicators_by_zone.csv", encoding="utf-8-sig")
    assert list(table["name"]) == ["中心城市核", "先进制造轴", "生态文旅带"]
    bad = CliRunner().invoke(app, ["indicators", "--by", "county", "--out", str(tmp_path)])
    assert bad.exit_code == 2


def test_sample_table_is_marked_illustrative_and_joins():
    path = data_dir() / "samples" / "town_table_illustrative.csv"
    towns, report = join_to_towns(path, key="镇街", value="示例指标")
    assert report.n_matched == 14 and report.towns_without_data == ["光福镇"]
    assert list(report.unmatched["key_value"]) == ["吴中高新区"]
    table = pd.read_csv(path, dtype=str)
    assert table["说明"].str.contains("非统计数据").all()


def test_atlas_fact_rows_show_the_indicators(towns_table):
    from wuzhong_geo.maps.atlas import indicator_rows

    rows = dict(indicator_rows(towns_table.reset_index().set_index("code", drop=False).loc[CHANGQIAO]))
    assert rows["轨道交通"].startswith("站点 2 个")
    assert "石湖东路站" in rows["轨道交通"]
    assert rows["规划地点"].startswith(f"{towns_table.at[CHANGQIAO, 'places_total']} 处")


def _style_rules(qml: str) -> list[tuple[str, str]]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(qml.split("\n", 1)[1])
    return [(r.get("filter"), r.get("label")) for r in root.iter("rule")]


def _matches(expr: str, value) -> bool:
    """Evaluate the two filter forms the indicator styles use on one value."""
    import re

    if expr.endswith("IS NULL"):
        return pd.isna(value)
    op, lo, hi = re.fullmatch(r'"\w+" (>=|>) (\S+) AND "\w+" <= (\S+)', expr).groups()
    if pd.isna(value):
        return False
    return (value >= float(lo) if op == ">=" else value > float(lo)) and value <= float(hi)


def test_geopackage_carries_choropleth_styles_for_qgis(tmp_path):
    write_unit_indicators(tmp_path, "town")
    table = town_indicators()
    con = sqlite3.connect(tmp_path / "indicators_by_town.gpkg")
    try:
        styles = con.execute("SELECT styleName, styleQML, useAsDefault FROM layer_styles "
                             "WHERE f_table_name = 'indicators_by_town'").fetchall()
    finally:
        con.close()
    marked = indicator_columns("town").query("qgis_style != ''")
    assert len(styles) == len(marked)
    assert [name for name, _, default in styles if default] == ["轨道交通站点（个）"]
    headers = display_headers("town")
    for spec in marked.itertuples():
        qml = next(q for name, q, _ in styles if name == headers[spec.column])
        rules = _style_rules(qml)
        assert rules[-1][1] == "无数据"
        # every town falls in exactly one class (or the no-data rule)
        for value in table[spec.column]:
            assert sum(_matches(expr, value) for expr, _ in rules) == 1, (spec.column, value)
    official = next(q for name, q, _ in styles if name == headers["official_area_km2"])
    assert sum(_matches('"x" IS NULL', v) for v in table["official_area_km2"]) == 4
    assert "b_diagonal" in official


@pytest.mark.parametrize("field, value, message", [
    ("measure", "volume", "unknown measure 'volume'"),
    ("layer", "rivers", "layer 'rivers' cannot be measured"),
])
def test_a_bad_dictionary_row_is_named(tmp_path, monkeypatch, field, value, message):
    from wuzhong_geo.indicators import units

    table = pd.read_csv(units.dictionary_path(), dtype=str, keep_default_na=False)
    table.loc[table["column"] == "metro_km", field] = value
    path = tmp_path / "columns.csv"
    table.to_csv(path, index=False)
    monkeypatch.setattr(units, "dictionary_path", lambda: path)
    units._dictionary.cache_clear()
    try:
        with pytest.raises(InputError, match=message):
            unit_indicators("town")
    finally:
        monkeypatch.undo()
        units._dictionary.cache_clear()


def test_policy_coverage_of_dongshan_by_hand(towns_table):
    town = _town(DONGSHAN).geometry.iloc[0]
    policy = layers.policy_areas().to_crs(ANALYSIS_CRS)
    band = policy[policy["kind"] == "shore_band"].geometry.union_all()
    share = town.intersection(band).area / town.area * 100
    assert 50 < share < 100
    assert towns_table.at[DONGSHAN, "policy_shore_band"] == pytest.approx(share, abs=0.01)
    # 东山 lies in the 太湖生态岛 (eco_zone); 长桥 in no ecological policy area
    assert towns_table.at[DONGSHAN, "policy_eco_zone"] == pytest.approx(100, abs=0.5)
    assert towns_table.at[CHANGQIAO, "policy_eco_zone"] == 0


def test_policy_areas_without_a_location_cover_nothing():
    policy = layers.policy_areas()
    unknown = policy[~policy["drawn"]]
    assert len(unknown) > 0 and unknown.geometry.isna().all()
    columns = indicator_columns("town").query("layer == 'policy_areas'")
    assert len(columns) >= 8
    table = town_indicators()
    assert table[list(columns["column"])].notna().all().all()
    assert ((table[list(columns["column"])] >= 0) & (table[list(columns["column"])] <= 100)).all().all()
