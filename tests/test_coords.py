"""Coordinates: CRS names, GCJ-02/BD-09 (against cnmaps.geo), DMS text, swaps, Gauss-Kruger zones."""

from __future__ import annotations

import cnmaps.geo as reference
import numpy as np
import pandas as pd
import pytest

from wuzhong_geo import coords
from wuzhong_geo.errors import InputError

RNG = np.random.default_rng(20240520)
LON = RNG.uniform(119.9, 120.95, 200)
LAT = RNG.uniform(30.9, 31.45, 200)


@pytest.mark.parametrize(
    "name",
    [
        "gcj02_to_wgs84",
        "wgs84_to_gcj02",
        "bd09_to_wgs84",
        "wgs84_to_bd09",
        "bd09_to_gcj02",
        "gcj02_to_bd09",
    ],
)
def test_vectorised_conversions_match_cnmaps(name):
    expected = np.array([getattr(reference, name)(x, y) for x, y in zip(LON, LAT)])
    got = np.column_stack(getattr(coords, name)(LON, LAT))
    assert np.abs(got - expected).max() < 1e-6


def test_refined_gcj_inverse_round_trips():
    lon, lat = coords.gcj02_to_wgs84(*coords.wgs84_to_gcj02(LON, LAT), iterations=2)
    assert np.abs(lon - LON).max() < 1e-8 and np.abs(lat - LAT).max() < 1e-8
    one_step, _ = coords.gcj02_to_wgs84(*coords.wgs84_to_gcj02(LON, LAT))
    assert np.abs(one_step - LON).max() > 1e-6  # the plain inverse is the metre-level approximation


@pytest.mark.parametrize(
    "text, kind",
    [
        ("wgs84", "wgs84"),
        ("WGS-84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("cgcs2000", "cgcs2000"),
        ("gcj02", "gcj02"),
        ("高德", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("bd09", "bd09"),
        ("百度", "bd09"),
    ],
)
def test_parse_crs_keywords(text, kind):
    assert coords.parse_crs(text).kind == kind


def test_parse_crs_epsg():
    spec = coords.parse_crs("EPSG:4549")
    assert spec.kind == "epsg" and spec.crs == "EPSG:4549" and spec.geographic is False
    assert coords.parse_crs("epsg4528").crs == "EPSG:4528"


@pytest.mark.parametrize("bad", ["EPSG:99999", "mars", "bd09mc", "西安80"])
def test_parse_crs_rejects_and_names_the_value(bad):
    with pytest.raises(InputError, match=bad.replace("EPSG:", "")):
        coords.parse_crs(bad)


def test_crs_from_column_names():
    assert coords.crs_from_columns(["高德经度", "高德纬度"]).kind == "gcj02"
    assert coords.crs_from_columns(["bd_lng", "bd_lat"]).kind == "bd09"
    assert coords.crs_from_columns(["经度", "纬度"]) is None


def test_parse_coordinate_decimal_and_dms():
    values, dms, problem = coords.parse_coordinate(
        pd.Series(
            [
                "120.5",
                "120°31′12″",
                "31°15′31″N",
                "31度15分31秒",
                "E120°31'12.5\"",
                "１２０．５",
                "120 31 12",
                "",
                None,
                "abc",
                "120°61′",
                "120°31′12″W",
            ]
        )
    )
    assert values[:7].round(6).tolist() == [
        120.5,
        120.52,
        31.258611,
        31.258611,
        120.520139,
        120.5,
        120.52,
    ]
    assert (
        np.isnan(values[7]) and np.isnan(values[8]) and np.isnan(values[9]) and np.isnan(values[10])
    )
    assert values[11] == pytest.approx(-120.52)
    assert dms[1] and not dms[0]
    assert (
        problem[7] == "为空"
        and problem[9].startswith("无法解析")
        and problem[10].startswith("无法解析")
    )


def test_swapped_lonlat_detected():
    assert coords.lonlat_swapped([31.26, 120.6], [120.6, 31.26]).tolist() == [True, False]
    conv = coords.to_wgs84([31.26, 120.6], [120.6, 31.26], None)
    assert conv.swapped.tolist() == [True, False]
    assert np.allclose(conv.lon, 120.6) and np.allclose(conv.lat, 31.26)


def test_gauss_kruger_with_and_without_zone_prefix():
    assert coords.gk_crs_for_easting(np.array([512345.0, 40512345.0])).tolist() == [
        "EPSG:4549",
        "EPSG:4528",
    ]
    assert coords.gk_crs_for_zone(40, prefixed=True) == "EPSG:4528"
    assert coords.gk_crs_for_zone(40, prefixed=False) == "EPSG:4549"
    assert coords.gk_crs_for_zone(21, prefixed=False, width=6) == "EPSG:4510"
    # X = northing first (survey habit) or easting first: same place, no "swap" reported
    conv = coords.to_wgs84(
        [550519.6, 40550519.6, 3451606.5], [3451606.5, 3451606.5, 40550519.6], None
    )
    assert np.allclose(conv.lon, conv.lon[0]) and np.allclose(conv.lat, conv.lat[0])
    assert 120.5 < conv.lon[0] < 120.6 and not conv.swapped.any()


def test_out_of_range_and_flavour_mismatch_are_row_problems():
    conv = coords.to_wgs84(
        [120.6, 1205.3, 512345.0], [310.5, 31.2, 3451606.5], coords.parse_crs("gcj02")
    )
    assert "310.5" in conv.problem[0] and "1205.3" in conv.problem[1]
    assert "cgcs2000" in conv.problem[2]
    assert np.isnan(conv.lon[:3]).all()
