"""Invariants of the bundled planning layers (issue: foundation)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely import Point

from wuzhong_geo import layers, plan
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS

OFFICIAL_LAND_KM2 = 745.0
OFFICIAL_TAIHU_KM2 = 1486.0


def km2(frame: gpd.GeoDataFrame) -> float:
    return float(frame.to_crs(ANALYSIS_CRS).geometry.union_all().area / 1e6)


def assert_partition(parts: gpd.GeoDataFrame, whole: gpd.GeoDataFrame, what: str) -> None:
    """Union equals the whole within 0.1 % and no two parts overlap by 0.01 km² or more."""
    proj = parts.to_crs(ANALYSIS_CRS).reset_index(drop=True)
    union = proj.geometry.union_all()
    target = whole.to_crs(ANALYSIS_CRS).geometry.union_all()
    diff = union.symmetric_difference(target).area / target.area
    assert diff < 0.001, f"{what}: union differs from the whole by {diff:.4%}"
    for i in range(len(proj)):
        for j in range(i + 1, len(proj)):
            overlap = shapely.intersection(proj.geometry[i], proj.geometry[j]).area / 1e6
            assert overlap < 0.01, f"{what}: rows {i} and {j} overlap by {overlap:.3f} km²"


@pytest.mark.parametrize("name", layers.LAYER_NAMES)
def test_every_layer_is_wgs84_and_valid(name):
    frame = layers.get(name)
    assert frame.crs.to_string() == STORAGE_CRS
    assert len(frame) > 0
    if "drawn" in frame:  # policy areas of unknown location are rows without geometry
        assert frame["geometry"].isna().eq(~frame["drawn"]).all()
        frame = frame[frame["drawn"]]
    assert frame.geometry.is_valid.all(), f"{name} has invalid geometry"
    assert not frame.geometry.is_empty.any(), f"{name} has empty geometry"


def test_towns_contract():
    towns = layers.towns()
    assert len(towns) == 14
    assert towns["code"].str.fullmatch(r"320506\d{3}").all()
    assert set(towns["unit_type"]) == {"街道", "镇"}
    assert (towns["unit_type"] == "街道").sum() == 7
    assert (towns["boundary_source"] == "schematic").all()
    luzhi = towns.set_index("code").loc["320506100"]
    assert luzhi["name"] == "甪直镇" and luzhi["short_name"] == "甪直"
    for col in ["code", "name", "short_name", "unit_type", "management_zone", "area_km2", "boundary_source"]:
        assert towns[col].notna().all(), col


def test_luzhi_alias_is_accepted_everywhere():
    assert plan.town_code("甬直") == plan.town_code("甪直镇") == plan.town_code("甬直镇") == "320506100"
    assert plan.town_code("长桥") == "320506001"
    assert plan.town_code("320506100000") == "320506100"
    assert plan.town_code("苏州工业园区") is None


def test_towns_partition_the_land():
    assert_partition(layers.towns(), layers.land(), "towns")


def test_functional_zones_partition_the_land():
    zones = layers.functional_zones()
    assert list(zones["zone"]) == ["中心城市核", "先进制造轴", "生态文旅带"]
    assert list(zones["zone_en"]) == [
        "central_urban_core", "advanced_manufacturing_axis", "eco_culture_tourism_belt"]
    assert_partition(zones, layers.land(), "functional zones")


def test_subregions_partition_the_land():
    subs = layers.subregions()
    assert set(subs["subregion"]) == {"东部片区", "中部片区", "西部片区"}
    assert subs["interpretation"].all()
    assert_partition(subs, layers.land(), "sub-regions")


def test_management_zones_partition_the_land():
    mz = layers.management_zones()
    assert {"吴中高新区", "吴中经济技术开发区", "苏州太湖国家旅游度假区", "吴中太湖新城", "区直属"} == set(mz["name"])
    assert_partition(mz, layers.land(), "management zones")


def test_zone_membership_matches_the_plan_text():
    membership = plan.zone_membership()
    by_zone = {z: dict(zip(g["short_name"], g["membership"])) for z, g in membership.groupby("zone")}
    assert by_zone["中心城市核"] == {"长桥": "whole", "城南": "whole", "越溪": "part", "太湖": "whole"}
    assert by_zone["先进制造轴"] == {
        "甪直": "whole", "郭巷": "whole", "越溪": "part", "横泾": "part", "临湖": "part",
        "木渎": "part", "胥口": "part", "光福": "part", "东山": "part"}
    assert by_zone["生态文旅带"] == {
        "香山": "whole", "金庭": "whole", "胥口": "part", "光福": "part", "东山": "part",
        "木渎": "part", "横泾": "part", "临湖": "part"}
    split_between_axis_and_belt = [
        t for t in by_zone["先进制造轴"] if t in by_zone["生态文旅带"]]
    assert len(split_between_axis_and_belt) == 6


def test_whole_towns_lie_in_their_zone_and_partial_towns_have_both_parts():
    towns = layers.towns().to_crs(ANALYSIS_CRS).set_index("code")
    zones = layers.functional_zones().to_crs(ANALYSIS_CRS).set_index("zone")
    parts = layers.town_zone_parts()
    for row in plan.zone_membership().itertuples():
        town = towns.geometry[row.code]
        inside = town.intersection(zones.geometry[row.zone]).area / town.area
        if row.membership == "whole":
            assert inside > 0.999, f"{row.short_name} only {inside:.2%} in {row.zone}"
        else:
            assert 0.01 < inside < 0.99, f"{row.short_name}: {inside:.2%} in {row.zone}"
            part = parts[(parts["code"] == row.code) & (parts["zone"] == row.zone)]
            assert part["area_km2"].iloc[0] > 0.5
            assert part["split_assumption"].iloc[0]


def test_areas_are_close_to_the_official_figures(capsys):
    land, water = km2(layers.land()), km2(layers.taihu())
    assert abs(land - OFFICIAL_LAND_KM2) / OFFICIAL_LAND_KM2 < 0.10, land
    assert abs(water - OFFICIAL_TAIHU_KM2) / OFFICIAL_TAIHU_KM2 < 0.10, water
    towns = layers.towns()
    with capsys.disabled():
        print("\nschematic / official town area:")
        for row in towns[towns["official_area_km2"].notna()].itertuples():
            print(f"  {row.name}: {row.area_km2:.1f} / {row.official_area_km2:.1f} km² = "
                  f"{row.area_km2 / row.official_area_km2:.2f}")
    assert towns["area_km2"].sum() == pytest.approx(land, rel=0.001)


@pytest.mark.parametrize(
    "label, lon, lat",
    [("金鸡湖 (SIP)", 120.705, 31.315), ("唯亭 (SIP)", 120.69399, 31.34652),
     ("苏州站", 120.6108, 31.3296), ("苏州南站", 120.7950350694, 31.0655454389)],
)
def test_known_outside_points_fall_outside(label, lon, lat):
    assert not layers.district().geometry.iloc[0].covers(Point(lon, lat)), label


@pytest.mark.parametrize(
    "label, lon, lat, code",
    [("甪直 seat", 120.86762, 31.27642, "320506100"), ("木渎 seat", 120.51259, 31.25975, "320506103"),
     ("金庭 (西山岛)", 120.30542, 31.13454, "320506109"), ("东山 seat", 120.40278, 31.08264, "320506107")],
)
def test_known_inside_points_fall_in_their_town(label, lon, lat, code):
    towns = layers.towns()
    hit = towns[towns.geometry.covers(Point(lon, lat))]
    assert list(hit["code"]) == [code], label


def test_taihu_is_water_not_land():
    lake_point = Point(120.20, 31.20)
    assert layers.taihu().geometry.iloc[0].covers(lake_point)
    assert not layers.land().geometry.iloc[0].covers(lake_point)


def test_infrastructure_and_places_contract():
    infra = layers.infrastructure()
    for col in ["name", "kind", "status", "geometry_accuracy_m"]:
        assert col in infra.columns and infra[col].notna().all(), col
    in_plan = infra[infra["in_plan"].astype(str).str.lower() == "true"]
    assert len(in_plan) >= 25 and in_plan["plan_ref"].notna().all()
    assert set(infra["status"]) <= {"planned", "under_construction", "built", "unknown"}
    places = layers.places()
    assert places.geometry.geom_type.eq("Point").all()
    assert {"source", "confidence"} <= set(places.columns)


def test_layers_are_copies_not_shared_state():
    a = layers.towns()
    a.loc[0, "name"] = "changed"
    assert layers.towns().loc[0, "name"] != "changed"


def test_split_parts_have_no_zero_width_spikes_and_tile_their_town():
    parts = layers.town_zone_parts().to_crs(ANALYSIS_CRS)
    towns = layers.towns().to_crs(ANALYSIS_CRS).set_index("code")
    for row in parts.itertuples():
        opened = row.geometry.buffer(-0.5, join_style="mitre").buffer(0.5, join_style="mitre")
        assert row.geometry.length - opened.length < 1, f"{row.name} / {row.zone} has a thin spike"
    for code, group in parts.groupby("code"):
        seams = group.geometry.union_all().symmetric_difference(towns.geometry[code]).area
        assert seams < 1.0, f"{code}: parts leave {seams:.2f} m² of seams"
