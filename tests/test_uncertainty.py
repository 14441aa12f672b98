"""Per-point uncertainty of the schematic town and zone lines, on the bundled layers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from wuzhong_geo import layers, uncertainty
from wuzhong_geo.coords import transformer
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS

ERROR = uncertainty.BoundaryError(medium_m=150.0, high_m=700.0, basis="test")


def _lonlat(x, y):
    return transformer(ANALYSIS_CRS, STORAGE_CRS).transform(np.asarray(x), np.asarray(y))


def _assess(lon, lat, error=ERROR):
    from wuzhong_geo.classify import STATUS_OUTSIDE, classify_points

    found = classify_points(lon, lat)
    x, y = transformer(STORAGE_CRS, ANALYSIS_CRS).transform(np.asarray(lon), np.asarray(lat))
    out = uncertainty.assess_points(x, y, found["code"], found["functional_zone"],
                                    outside=(found["status"] == STATUS_OUTSIDE).to_numpy(), error=error)
    return found.join(out)


def test_grade_uses_the_thresholds():
    grades = ERROR.grade(np.array([0.0, 149.9, 150.0, 699.0, 700.0, np.nan]))
    assert list(grades) == ["low", "low", "medium", "medium", "high", ""]


def test_default_thresholds_are_measured_not_invented():
    error = uncertainty.boundary_error()
    assert 0 < error.medium_m < error.high_m
    assert error.basis


def test_distance_equals_shapely_distance_to_the_towns_schematic_lines():
    towns = layers.towns().to_crs(ANALYSIS_CRS)
    land = towns.geometry.union_all()
    rng = np.random.default_rng(14)
    xmin, ymin, xmax, ymax = land.bounds
    x = rng.uniform(xmin, xmax, 4000)
    y = rng.uniform(ymin, ymax, 4000)
    lon, lat = _lonlat(x, y)
    got = _assess(lon, lat)
    lines = uncertainty.current_lines().town_lines
    checked = 0
    for town in towns.itertuples():
        sel = np.flatnonzero((got["code"] == town.code).to_numpy())
        own = lines[lines["code"] == town.code]
        if len(sel) == 0 or own.empty:
            continue
        expected = shapely.distance(shapely.points(x[sel], y[sel]), own.geometry.union_all())
        # a town's schematic lines are on its own boundary
        assert own.geometry.union_all().buffer(uncertainty.SHARED_TOL_M * 2).covers(
            own.geometry.union_all())
        # whole metres (columns.DISTANCE_DIGITS): the exact distance, rounded
        np.testing.assert_array_equal(got["town_boundary_distance_m"].to_numpy()[sel], np.round(expected))
        checked += len(sel)
    assert checked > 500


def test_a_point_next_to_a_shared_line_is_low_and_names_the_neighbour():
    lines = uncertainty.current_lines().town_lines
    line = lines[(lines["code"] == "320506001") & (lines["other"] == "320506009")].geometry.iloc[0]
    mid = line.interpolate(0.5, normalized=True)
    towns = layers.towns().to_crs(ANALYSIS_CRS).set_index("code")
    # step 30 m into each town, perpendicular-ish: toward each town's interior point
    result = {}
    for code in ("320506001", "320506009"):
        inner = towns.loc[code, "geometry"]
        target = shapely.ops.nearest_points(inner.buffer(-30).boundary, mid)[0]
        lon, lat = _lonlat([target.x], [target.y])
        row = _assess(lon, lat).iloc[0]
        assert row["code"] == code
        result[code] = row
    assert result["320506001"]["town_confidence"] == "low"
    assert result["320506001"]["town_alternative"] == "城南街道"
    assert result["320506009"]["town_alternative"] == "长桥街道"
    assert result["320506001"]["town_boundary_distance_m"] == pytest.approx(30, abs=5)


def test_deep_inside_is_high_and_has_no_alternative():
    towns = layers.towns()
    got = _assess(towns["seat_lon"], towns["seat_lat"])
    jinting = got[got["code"] == "320506109"].iloc[0]
    assert jinting["town_confidence"] == "high"  # an island: no schematic line at all
    assert jinting["town_alternative"] == ""
    dongshan = got[got["code"] == "320506107"].iloc[0]
    assert dongshan["town_boundary_distance_m"] > 5000 and dongshan["town_confidence"] == "high"
    assert set(got["town_confidence"]) <= {"high", "medium", "low"}
    assert (got.loc[got["town_confidence"] == "high", "town_alternative"] == "").all()


def test_outside_points_measure_to_the_district_outline_and_water_gets_nothing():
    # 苏州站 (姑苏区) is outside; open Taihu water west of 金庭 is in the district's water.
    got = _assess([120.6086, 120.20], [31.3300, 31.15])
    outside, water = got.iloc[0], got.iloc[1]
    assert outside["status"] == "outside_district"
    district_edge = layers.district().to_crs(ANALYSIS_CRS).geometry.iloc[0].boundary
    x, y = transformer(STORAGE_CRS, ANALYSIS_CRS).transform(120.6086, 31.3300)
    assert outside["town_boundary_distance_m"] >= shapely.Point(x, y).distance(district_edge) - 1
    assert outside["town_confidence"] == "high" and outside["town_alternative"] == ""
    assert water["status"] == "in_taihu_water"
    assert np.isnan(water["town_boundary_distance_m"]) and water["town_confidence"] == ""


def test_zone_split_lines_inside_partial_towns():
    # 越溪 is split at 120.59°E: a point 100 m west of it is 先进制造轴 with 中心城市核 across.
    x, y = transformer(STORAGE_CRS, ANALYSIS_CRS).transform(120.59, 31.225)
    lon, lat = _lonlat([x - 100, x + 100], [y, y])
    got = _assess(lon, lat)
    assert list(got["code"]) == ["320506003", "320506003"]
    assert list(got["functional_zone"]) == ["先进制造轴", "中心城市核"]
    assert list(got["zone_alternative"]) == ["中心城市核", "先进制造轴"]
    assert got["zone_line_distance_m"].tolist() == pytest.approx([100, 100], abs=3)
    assert list(got["zone_confidence"]) == ["low", "low"]
    # a town wholly in one zone has no zone line
    seat = layers.towns().set_index("code").loc["320506009"]
    row = _assess([seat.seat_lon], [seat.seat_lat]).iloc[0]
    assert np.isnan(row["zone_line_distance_m"]) and row["zone_confidence"] == ""


def test_official_boundaries_report_official(tmp_path):
    path = tmp_path / "towns.gpkg"
    layers.towns()[["code", "name", "geometry"]].to_file(path)
    layers.use_boundaries(path)
    towns = layers.towns()
    got = uncertainty.assess(towns["seat_lon"], towns["seat_lat"])
    assert set(got["town_confidence"]) == {"official"}
    assert (got["town_alternative"] == "").all()
    assert got["town_boundary_distance_m"].notna().sum() >= 13


def test_just_outside_the_district_names_the_town_across_the_outline():
    lines = uncertainty.current_lines().outer
    mid = lines[lines["code"] == "320506001"].geometry.iloc[0].interpolate(0.5, normalized=True)
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    lon, lat = _lonlat(mid.x + 60 * np.cos(angles), mid.y + 60 * np.sin(angles))
    got = _assess(lon, lat)
    out = got[got["status"] == "outside_district"]
    assert len(out)
    assert (out["town_confidence"] == "low").all()
    assert (out["town_alternative"] == "长桥街道").all()
    inside = got[got["code"] == "320506001"]
    assert len(inside) and (inside["town_alternative"] == uncertainty.OUTSIDE).all()


def _band_artists(fig):
    from matplotlib.colors import to_rgba

    from wuzhong_geo import style

    want = to_rgba(style.UNCERTAINTY_BAND)[:3]
    return [c for ax in fig.axes for c in ax.collections
            if len(c.get_facecolor()) and tuple(c.get_facecolor()[0][:3]) == pytest.approx(want)]


def test_towns_map_and_atlas_draw_the_band_only_for_schematic_lines(tmp_path):
    import matplotlib.pyplot as plt

    from wuzhong_geo.maps import atlas, standard

    fig = standard.towns_map()
    assert len(_band_artists(fig)) == 2
    labels = [t.get_text() for leg in fig.legends + [a.get_legend() for a in fig.axes if a.get_legend()]
              for t in leg.get_texts()]
    error = uncertainty.boundary_error()
    assert any(f"{error.high_m:,.0f}" in t and "误差带" in t for t in labels)
    plt.close(fig)
    fig = atlas.town_page("320506009")
    assert len(_band_artists(fig)) == 2
    plt.close(fig)
    path = tmp_path / "towns.gpkg"
    layers.towns()[["code", "name", "geometry"]].to_file(path)
    layers.use_boundaries(path)
    fig = standard.towns_map()
    assert _band_artists(fig) == []
    plt.close(fig)
