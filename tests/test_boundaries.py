"""Official boundaries drop in with one flag: formats, CRSs, names and clear rejections."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pytest
from shapely.affinity import translate
from typer.testing import CliRunner

from wuzhong_geo import layers
from wuzhong_geo.boundaries import BoundaryError, read_official_towns
from wuzhong_geo.cli import app
from wuzhong_geo.settings import ANALYSIS_CRS, ANALYSIS_CRS_ZONE_PREFIXED


@pytest.fixture
def official() -> gpd.GeoDataFrame:
    """Stand-in 'official' towns: the schematic polygons under the names a bureau would use."""
    towns = layers.towns()[["code", "name", "geometry"]].copy()
    towns["name"] = towns["name"].replace({"甪直镇": "甬直镇", "城南街道": "城南　街道"})
    return towns.rename(columns={"name": "XZQMC", "code": "XZQDM"})


def test_gpkg_in_gauss_kruger_matches_names_and_aliases(tmp_path, official):
    path = tmp_path / "towns.gpkg"
    official.drop(columns="XZQDM").to_crs(ANALYSIS_CRS).to_file(path)
    towns = read_official_towns(path)
    assert len(towns) == 14
    assert (towns["boundary_source"] == "official").all()
    assert towns.crs.to_epsg() == 4326
    assert "甬直镇" in set(towns["source_name"]) and "甪直镇" in set(towns["name"])


def test_zipped_gbk_shapefile_without_cpg_in_zone_prefixed_crs(tmp_path, official):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    frame = official.to_crs(ANALYSIS_CRS_ZONE_PREFIXED)
    assert frame.total_bounds[0] > 40_000_000  # the zone number really is in the easting
    frame.to_file(shp_dir / "towns.shp", encoding="GBK")
    (shp_dir / "towns.cpg").unlink(missing_ok=True)
    raw = (shp_dir / "towns.dbf").read_bytes()
    assert "甬直镇".encode("gbk") in raw
    archive = tmp_path / "towns.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp_dir.iterdir():
            zf.write(part, part.name)
    towns = read_official_towns(archive)
    assert sorted(towns["code"]) == sorted(layers.towns()["code"])


def test_geojson_with_12_digit_codes(tmp_path, official):
    frame = official.drop(columns="XZQMC").assign(XZQDM=lambda f: f["XZQDM"] + "000")
    path = tmp_path / "towns.geojson"
    frame.to_file(path, driver="GeoJSON")
    assert len(read_official_towns(path)) == 14


def test_layers_rebuild_from_official_towns(tmp_path, official):
    moved = official.copy()
    # Move one shared border a little so the result provably comes from the file.
    path = tmp_path / "towns.gpkg"
    moved.to_file(path)
    layers.use_boundaries(path)
    assert layers.active_boundaries() == path
    towns = layers.towns()
    assert (towns["boundary_source"] == "official").all()
    assert len(layers.functional_zones()) == 3
    assert layers.district()["boundary_source"].iloc[0] == "official"
    layers.use_boundaries(None)
    assert (layers.towns()["boundary_source"] == "schematic").all()


def test_missing_crs_is_rejected_with_advice(tmp_path, official):
    path = tmp_path / "towns.shp"
    official.to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(BoundaryError, match="no CRS"):
        read_official_towns(path)


def test_unmatched_and_missing_towns_are_listed(tmp_path, official):
    frame = official.drop(columns="XZQDM")
    frame.loc[0, "XZQMC"] = "苏州工业园区"
    path = tmp_path / "towns.gpkg"
    frame.to_file(path)
    with pytest.raises(BoundaryError, match="苏州工业园区"):
        read_official_towns(path)
    path2 = tmp_path / "thirteen.gpkg"
    official.iloc[1:].to_file(path2)
    with pytest.raises(BoundaryError, match="missing.*长桥街道"):
        read_official_towns(path2)


def test_overlapping_units_are_rejected(tmp_path, official):
    frame = official.to_crs(ANALYSIS_CRS)
    frame.loc[0, "geometry"] = translate(frame.geometry.iloc[0], xoff=800)
    path = tmp_path / "towns.gpkg"
    frame.to_file(path)
    with pytest.raises(BoundaryError, match="overlap"):
        read_official_towns(path)


def test_wrong_crs_declaration_is_caught(tmp_path, official):
    frame = official.to_crs(ANALYSIS_CRS).set_crs(ANALYSIS_CRS_ZONE_PREFIXED, allow_override=True)
    path = tmp_path / "towns.gpkg"
    frame.to_file(path)
    with pytest.raises(BoundaryError, match="outside Wuzhong"):
        read_official_towns(path)


def test_cli_flag_fails_cleanly_with_exit_code_2(tmp_path):
    result = CliRunner().invoke(app, ["layers", "--out", str(tmp_path / "o"), "--boundaries", str(tmp_path / "no.shp")])
    assert result.exit_code == 2
    assert "not found" in result.output
    assert not (tmp_path / "o").exists()
