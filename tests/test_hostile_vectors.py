"""Hostile vector input (issue 15): Shapefiles without .cpg and files that declare Xi'an 80 / Beijing 54.

The Shapefiles are fixtures written by ``tests/data/sites/make_fixtures.py`` (``hostile_vectors``):
GBK and Latin-1 DBFs without a .cpg, as desktop GIS writes them, and a .prj in Xi'an 1980.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from wuzhong_geo import coords, textio
from wuzhong_geo.errors import InputError
from wuzhong_geo.vector import read_vector
from test_hostile import invoke, refused

XIAN_BEIJING = [2385, 2383, 2327, 2345, 2390, 4610, 2415, 2435, 4214]


@pytest.fixture
def sites(test_data):
    return test_data / "sites"


def _raster(path, crs="EPSG:4326") -> None:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=100, height=100, count=1, dtype="float32", crs=crs,
                       transform=from_origin(120.4, 31.4, 0.005, 0.005)) as dst:
        dst.write(np.ones((1, 100, 100), dtype="float32"))


# --- GBK (or any non-UTF-8) Shapefile without .cpg -----------------------------------------------------------

def test_gbk_shapefile_without_cpg_for_zonal_by(tmp_path, sites):
    tif = tmp_path / "r.tif"
    _raster(tif)
    result = invoke("zonal", tif, "--by", sites / "zones_gbk.zip", "--out", tmp_path / "z.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "z.csv", encoding="utf-8-sig")
    assert {"木渎镇", "甪直镇", "香山街道"} <= set(table["单元名称"])
    assert set(table["备注"]) == {"吴中区镇街"}


def test_gbk_shapefile_without_cpg_for_coverage(tmp_path, sites):
    result = invoke("coverage", sites / "facilities_gbk.zip", "--no-map", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    facilities = gpd.read_file(tmp_path / "o" / "coverage.gpkg", layer="facilities")
    assert list(facilities["设施名称"]) == ["木渎文化中心", "甪直体育馆", "香山街道社区中心"]


def test_gbk_shapefile_without_cpg_for_check(tmp_path, sites):
    out = tmp_path / "o"
    result = invoke("check", sites / "facilities_gbk.zip", "--out", out, "--no-progress", "--formats", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results.csv", encoding="utf-8-sig")
    assert list(table["设施名称"]) == ["木渎文化中心", "甪直体育馆", "香山街道社区中心"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["input"]["encoding"] == "GB18030"


@pytest.mark.parametrize("command", [
    ["coverage", "FILE", "--no-map", "--out", "OUT"],
    ["check", "FILE", "--out", "OUT", "--no-progress"],
    ["zonal", "TIF", "--by", "FILE", "--out", "OUT/z.csv"],
])
def test_undecodable_dbf_names_the_file_and_encoding_option(tmp_path, sites, command):
    _raster(tmp_path / "r.tif")
    subst = {"FILE": sites / "facilities_latin1.zip", "OUT": tmp_path / "o", "TIF": tmp_path / "r.tif",
             "OUT/z.csv": tmp_path / "z.csv"}
    args = [subst.get(a, a) for a in command]
    refused(invoke(*args), "facilities_latin1.zip", "--encoding")
    if command[0] != "zonal":  # with --encoding the same file reads
        result = invoke(*args, "--encoding", "latin1")
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", [["coverage", "places", "--no-map"], ["zonal", "TIF"]])
def test_unknown_encoding_option_refused_up_front(tmp_path, command):
    _raster(tmp_path / "r.tif")
    args = [tmp_path / "r.tif" if a == "TIF" else a for a in command]
    out = tmp_path / ("z.csv" if command[0] == "zonal" else "o")
    refused(invoke(*args, "--encoding", "nope", "--out", out), "--encoding")
    assert not out.exists()


names = st.lists(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1,
                         max_size=6), min_size=1, max_size=5)


@given(names, st.sampled_from(["gb18030", "utf-8"]))
def test_dbf_bytes_decode_back_to_the_names(values, codec):
    """Any run of common Chinese text encoded as GBK or UTF-8 is detected as that encoding."""
    data = " ".join(values).encode(codec)
    try:
        " ".join(values).encode("gb2312")
    except UnicodeEncodeError:
        return  # rare characters: GB18030 vs Big5 is a guess, not a promise
    assert textio.detect_bytes_encoding(data) == codec


# --- files that declare Xi'an 1980 / Beijing 1954 ----------------------------------------------------------

@pytest.mark.parametrize("code", XIAN_BEIJING)
def test_any_xian_or_beijing_crs_declared_by_a_file_is_refused(code):
    for wkt in (pyproj.CRS.from_epsg(code).to_wkt(), pyproj.CRS.from_epsg(code).to_wkt("WKT1_ESRI")):
        with pytest.raises(InputError) as declared:
            coords.refuse_declared_crs(wkt, "f.prj")
        with pytest.raises(InputError) as option:
            coords.parse_crs(f"EPSG:{code}")
        # the same bilingual message as --crs, after the file's name
        assert str(declared.value).startswith("f.prj: ")
        assert str(declared.value).split(": ", 1)[1].startswith(str(option.value))


def _xian_files(tmp_path) -> dict:
    points = gpd.GeoDataFrame({"名称": ["甲", "乙"]}, geometry=[shapely.Point(120.6, 31.26)] * 2, crs=4326)
    xian = points.to_crs("EPSG:4549").set_crs("EPSG:2385", allow_override=True)  # numbers in metres, as delivered
    gpkg, geojson = tmp_path / "xian.gpkg", tmp_path / "xian.geojson"
    xian.to_file(gpkg, engine="pyogrio")
    body = json.loads(xian.to_json())
    body["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2385"}}
    geojson.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    zones = gpd.GeoDataFrame({"名称": ["东片"]}, geometry=[shapely.box(120.5, 31.1, 120.6, 31.2)], crs=4326)
    zones_xian = tmp_path / "zones_xian.gpkg"
    zones.to_crs("EPSG:4549").set_crs("EPSG:2385", allow_override=True).to_file(zones_xian, engine="pyogrio")
    return {"gpkg": gpkg, "geojson": geojson, "zones": zones_xian}


@pytest.mark.parametrize("kind", ["shp", "gpkg", "geojson"])
def test_check_refuses_a_file_declaring_xian80_like_the_crs_option(tmp_path, sites, kind):
    path = sites / "facilities_xian80.zip" if kind == "shp" else _xian_files(tmp_path)[kind]
    refused(invoke("check", path, "--out", tmp_path / "o", "--no-progress"), path.name, "EPSG:2385",
            "Xi'an 1980", "CGCS2000", "--crs")
    assert not (tmp_path / "o").exists()
    # the user who knows the numbers are CGCS2000 says so and is heard
    result = invoke("check", path, "--out", tmp_path / "o", "--no-progress", "--crs", "EPSG:4549", "--formats", "csv")
    assert result.exit_code == 0, result.output


def test_coverage_zonal_and_boundaries_refuse_xian80(tmp_path, sites):
    files = _xian_files(tmp_path)
    refused(invoke("coverage", sites / "facilities_xian80.zip", "--no-map", "--out", tmp_path / "o"),
            "facilities_xian80.zip", "EPSG:2385")
    refused(invoke("coverage", files["gpkg"], "--no-map", "--out", tmp_path / "o"), "xian.gpkg", "EPSG:2385")
    _raster(tmp_path / "r.tif")
    refused(invoke("zonal", tmp_path / "r.tif", "--by", files["zones"], "--out", tmp_path / "z.csv"),
            "zones_xian.gpkg", "EPSG:2385")
    _raster(tmp_path / "xian.tif", crs="EPSG:4610")  # a raster in Xi'an 1980 geographic
    refused(invoke("zonal", tmp_path / "xian.tif", "--out", tmp_path / "z.csv"), "xian.tif", "EPSG:4610")
    assert not (tmp_path / "z.csv").exists()
    with pytest.raises(InputError, match="EPSG:2385"):
        read_vector(files["geojson"])


def test_official_boundaries_in_xian80_are_refused(tmp_path):
    from wuzhong_geo import layers

    towns = layers.towns()[["code", "name", "geometry"]].to_crs("EPSG:4549").set_crs("EPSG:2385",
                                                                                      allow_override=True)
    path = tmp_path / "official.gpkg"
    towns.to_file(path, engine="pyogrio")
    refused(invoke("layers", "--boundaries", path, "--out", tmp_path / "o"), "official.gpkg", "EPSG:2385")
