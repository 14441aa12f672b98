"""The plan's policy areas: geometry rules, the cases the issue names, and official boundaries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from wuzhong_geo import layers, policy, style
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    return layers.policy_areas().to_crs(ANALYSIS_CRS).set_index("id")


def _pt(lon: float, lat: float) -> shapely.Point:
    return gpd.GeoSeries([shapely.Point(lon, lat)], crs=STORAGE_CRS).to_crs(ANALYSIS_CRS).iloc[0]


def test_contract():
    frame = layers.policy_areas()
    assert frame.crs.to_string() == STORAGE_CRS
    assert {"id", "name", "kind", "plan_ref", "plan_quote", "geometry_basis", "geometry_accuracy_m", "source",
            "confidence", "legal_source", "legal_quote", "drawn", "area_km2"} <= set(frame.columns)
    assert set(frame["kind"]) <= set(style.POLICY_KINDS)
    drawn = frame[frame["drawn"]]
    assert drawn.geometry.is_valid.all() and not drawn.geometry.is_empty.any()
    assert (drawn["geometry_accuracy_m"] > 0).all()
    # what is not drawn says so
    assert frame.loc[~frame["drawn"], "geometry_basis"].str.startswith("unknown").all()
    # the kinds the issue asks for are all there
    assert {"eco_zone", "eco_zone_proposed", "shore_band", "protection_zone", "canal_corridor", "canal_node",
            "heritage_town", "heritage_village", "heritage_site", "tourism_cluster", "industrial_park",
            "agri_park"} <= set(frame["kind"])
    assert (frame["kind"] == "tourism_cluster").sum() == 6


def test_a_point_on_jinting_is_in_the_eco_island_and_the_conservation_zone(areas):
    point = _pt(120.30, 31.13)  # 西山岛, 金庭镇
    assert areas.geometry["EC01"].contains(point)
    assert areas.geometry["EC02"].contains(point)
    assert not areas.geometry["EC03"].contains(point)  # the proposed extension is 光福/临湖


def test_conservation_zone_area_against_the_published_285_km2(areas):
    # 两镇陆域 + 两镇之间水域 + 环两镇 500 米水域 = about 285 km² (land 168.6, water 116.4)
    area = areas.geometry["EC02"].area / 1e6
    assert 250 < area < 320, area


def test_a_point_2_km_from_the_shore_is_in_the_3_km_band_and_not_at_4_km(areas):
    shore = layers.taihu_full().to_crs(ANALYSIS_CRS).geometry.union_all()
    land = layers.land().to_crs(ANALYSIS_CRS).geometry.union_all()
    xs, ys = np.meshgrid(np.linspace(*land.bounds[0::2], 80), np.linspace(*land.bounds[1::2], 80))
    points = gpd.GeoSeries(gpd.points_from_xy(xs.ravel(), ys.ravel()), crs=ANALYSIS_CRS)
    points = points[points.within(land)]
    dist = points.distance(shore)
    at_2km = points[(dist > 1900) & (dist < 2100)]
    at_4km = points[(dist > 3900) & (dist < 4100)]
    assert len(at_2km) > 5 and len(at_4km) > 5
    assert at_2km.within(areas.geometry["SH01"].buffer(1)).all()
    assert not at_4km.intersects(areas.geometry["SH01"]).any()
    assert at_4km.within(areas.geometry["SH02"].buffer(1)).all()  # the 5 km 一级保护区 holds it


def test_the_first_level_protection_zone_holds_the_lake(areas):
    lake = layers.taihu().to_crs(ANALYSIS_CRS).geometry.union_all()
    assert lake.difference(areas.geometry["SH02"]).area / lake.area < 0.001
    assert "五公里" in areas.loc["SH02", "legal_quote"]


def test_a_point_in_luzhi_old_town_hits_the_heritage_layer(areas):
    point = _pt(120.858, 31.2635)  # 甪直古镇 (places.csv P005)
    hits = areas[areas.geometry.contains(point)]
    assert {"heritage_town", "heritage_site"} <= set(hits["kind"])
    assert "HE06" in hits.index and "甪直古镇申报世界文化遗产" in hits.loc["HE06", "plan_quote"]


def test_canal_corridor_has_its_named_nodes(areas):
    nodes = areas[areas["kind"] == "canal_node"]
    assert {"宝带桥—澹台湖城市客厅", "蠡墅文化街区", "澄湖大堤", "惠苏码头", "胥江运河"} <= set(nodes["name"])
    corridor = areas.geometry["CA01"]
    assert corridor.contains(_pt(120.6495, 31.25868))  # 宝带桥 on the canal
    assert "一廊多点" in areas.loc["CA01", "plan_quote"]


def test_proposed_extension_names_guangfu_and_linhu_and_says_the_rest_is_unknown(areas):
    row = areas.loc["EC03"]
    assert row["status"] == "proposed" and set(row["basis_towns"].split(";")) == {"光福", "临湖"}
    assert "unknown" in row["notes"]


def test_town_based_areas_follow_official_boundaries(tmp_path):
    towns = layers.towns()[["code", "name", "geometry"]].copy()
    before = layers.policy_areas().set_index("id").geometry["EC01"]
    # swap 金庭 and 东山: a valid partition whose 金庭 is provably the file's
    swapped = towns.copy()
    jin, dong = swapped.index[swapped.code == "320506109"][0], swapped.index[swapped.code == "320506107"][0]
    swapped.loc[[jin, dong], "geometry"] = towns.loc[[dong, jin], "geometry"].to_numpy()
    path = tmp_path / "official.gpkg"
    swapped.to_file(path)
    layers.use_boundaries(path)
    after = layers.policy_areas().set_index("id").geometry["EC01"]
    dongshan = towns.set_index("code").geometry["320506107"]
    assert after.symmetric_difference(dongshan).area < 1e-8
    assert not after.equals(before)


def test_table_rejects_a_drawn_row_without_accuracy(monkeypatch, tmp_path):
    table = pd.read_csv(policy.plan_dir() / "policy_areas.csv", dtype=str, keep_default_na=False)
    table.loc[0, "geometry_accuracy_m"] = ""
    (tmp_path / "policy_areas.csv").write_text(table.to_csv(index=False), encoding="utf-8")
    monkeypatch.setattr(policy, "plan_dir", lambda: tmp_path)
    policy.policy_table.cache_clear()
    try:
        with pytest.raises(ValueError, match="EC01"):
            policy.policy_table()
    finally:
        monkeypatch.undo()
        policy.policy_table.cache_clear()
