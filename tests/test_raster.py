"""Rasters: the shared planning grid, categorical GeoTIFFs, zonal statistics and hillshade.

Synthetic GeoTIFFs with known values make the expected results exact: a raster of ones sums,
per zone, to the zone's area in cells, partly covered edge cells included by their fraction.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.enums import Compression
from rasterio.transform import from_origin
from typer.testing import CliRunner

from wuzhong_geo import layers, raster, style
from wuzhong_geo.cli import app
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import ANALYSIS_CRS

runner = CliRunner()
RES = 100.0  # zonal rasters: fine enough for many partial cells, small enough to be quick


def _write(path, bands, crs, transform, nodata=-9999.0):
    bands = np.asarray(bands, dtype="float32")
    if bands.ndim == 2:
        bands = bands[None]
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1],
                       count=bands.shape[0], dtype="float32", crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(bands)
    return path


@pytest.fixture(scope="module")
def grid():
    return raster.planning_grid(RES)


@pytest.fixture(scope="module")
def ones_4549(tmp_path_factory, grid):
    path = tmp_path_factory.mktemp("rasters") / "ones_4549.tif"
    return _write(path, np.ones(grid.shape), ANALYSIS_CRS, grid.transform)


@pytest.fixture(scope="module")
def towns_4549():
    return layers.towns().to_crs(ANALYSIS_CRS)


# ------------------------------------------------------------------ grid and rasterize


def test_planning_grid_is_snapped_and_covers_the_district(grid):
    xmin, ymin, xmax, ymax = layers.district().to_crs(ANALYSIS_CRS).total_bounds
    gx0, gy0, gx1, gy1 = grid.bounds
    assert gx0 <= xmin and gy0 <= ymin and gx1 >= xmax and gy1 >= ymax
    assert gx1 - xmax < RES and xmin - gx0 < RES
    for value in grid.bounds:
        assert value % RES == 0
    # any two resolutions that divide each other share cell edges
    coarse = raster.planning_grid(500.0)
    assert (coarse.xmin - grid.xmin) % RES == 0 and (coarse.ymax - grid.ymax) % RES == 0


@pytest.fixture(scope="module")
def rasterized(tmp_path_factory):
    out = tmp_path_factory.mktemp("rasterize")
    result = runner.invoke(app, ["rasterize", "--out", str(out), "--res", "200",
                                 "--layers", "towns,functional_zones,subregions"])
    assert result.exit_code == 0, result.output
    paths = sorted(out.glob("*.tif"))
    assert {p.stem for p in paths} == {"towns_200m", "functional_zones_200m", "subregions_200m"}
    return {p.stem.rsplit("_", 1)[0]: p for p in paths}


def test_rasterize_geotiff_format(rasterized):
    for path in rasterized.values():
        with rasterio.open(path) as src:
            assert src.crs.to_epsg() == 4549
            assert src.profile["tiled"] and src.block_shapes == [(256, 256)]
            assert src.compression == Compression.deflate
            assert src.nodata == 0 and src.dtypes == ("uint8",)
            assert src.res == (200.0, 200.0)
            assert src.colormap(1)[0][3] == 0  # nodata transparent


def test_rasterize_layers_share_one_grid(rasterized):
    grids = set()
    for path in rasterized.values():
        with rasterio.open(path) as src:
            grids.add((tuple(src.transform), src.shape))
    assert len(grids) == 1
    expected = raster.planning_grid(200.0)
    assert grids == {(tuple(expected.transform), expected.shape)}


@pytest.mark.parametrize("layer, palette, column", [
    ("towns", None, "code"),
    ("functional_zones", style.ZONES, "zone"),
    ("subregions", style.SUBREGIONS, "subregion"),
])
def test_rasterize_category_table_matches_layer_and_raster(rasterized, layer, palette, column):
    path = rasterized[layer]
    table = raster.read_categories(path)
    units = layers.get(layer)
    assert sorted(table["key"]) == sorted(units[column].astype(str))
    assert table["value"].tolist() == list(range(1, len(units) + 1))
    if palette is None:
        ordered = units.sort_values("code")
        assert table["key"].tolist() == ordered["code"].tolist()
        assert table["name"].tolist() == ordered["name"].tolist()
        assert table["colour"].tolist() == style.TOWN_COLOURS[: len(units)]
    else:
        assert table["colour"].tolist() == [palette[k][2] for k in table["key"]]
        assert table["name_en"].tolist() == [palette[k][1] for k in table["key"]]
    with rasterio.open(path) as src:
        data = src.read(1)
        cmap = src.colormap(1)
    counts = np.bincount(data.ravel(), minlength=len(table) + 1)
    assert table["cells"].tolist() == counts[1:].tolist()
    assert set(np.unique(data)) <= set([0] + table["value"].tolist())
    for value, colour in zip(table["value"], table["colour"]):
        assert "#{:02x}{:02x}{:02x}".format(*cmap[value][:3]) == colour
    # cell-centre rasterization: total area within 1 % of the layer's
    area = units.to_crs(ANALYSIS_CRS).area.sum() / 1e6
    assert table["area_km2"].sum() == pytest.approx(area, rel=0.01)


def test_rasterize_sidecars_carry_names_for_gdal_and_qgis(rasterized):
    path = rasterized["functional_zones"]
    table = raster.read_categories(path)
    pam = ET.parse(path.with_name(path.name + ".aux.xml")).getroot()
    band = pam.find("PAMRasterBand")
    assert [c.text or "" for c in band.find("CategoryNames")] == [""] + table["name"].tolist()
    rat = band.find("GDALRasterAttributeTable")
    assert rat.get("tableType") == "thematic"
    rows = [[f.text for f in row.findall("F")] for row in rat.findall("Row")]
    assert [r[:2] for r in rows] == [[str(v), n] for v, n in zip(table["value"], table["name"])]
    qml = ET.parse(path.with_suffix(".qml")).getroot()
    entries = qml.findall(".//paletteEntry")
    assert [(e.get("value"), e.get("color")) for e in entries] == [
        (str(v), c) for v, c in zip(table["value"], table["colour"])]
    assert all(e.get("label").startswith(n) for e, n in zip(entries, table["name"]))


def test_rasterize_rejects_unknown_layer(tmp_path):
    result = runner.invoke(app, ["rasterize", "--out", str(tmp_path), "--layers", "towns,parcels"])
    assert result.exit_code == 2
    assert "parcels" in result.output


# ------------------------------------------------------------------ zonal statistics


def test_zonal_ones_in_4549_sum_equals_covered_cells(ones_4549, towns_4549):
    result = raster.zonal_stats(ones_4549, "towns", ["sum", "count", "mean", "min", "max"])
    expected = towns_4549.area.to_numpy() / RES**2  # cells, fractional edge cells included
    np.testing.assert_allclose(result["sum"], expected, rtol=1e-6)  # fractional edge cells: float noise of ~1e-7 on some towns
    np.testing.assert_allclose(result["count"], expected, rtol=1e-6)
    assert (result["mean"] == 1).all() and (result["min"] == 1).all() and (result["max"] == 1).all()
    # edges are fractional: whole-cell counting could not give these
    assert (np.abs(expected - np.round(expected)) > 1e-3).any()
    assert result["code"].tolist() == layers.towns()["code"].tolist()


def test_zonal_ones_in_4326(tmp_path):
    step = 0.002
    west, north = 120.15, 31.45
    width, height = int(0.95 / step), int(0.6 / step)
    path = _write(tmp_path / "ones_4326.tif", np.ones((height, width)), "EPSG:4326",
                  from_origin(west, north, step, step))
    towns = layers.towns()
    result = raster.zonal_stats(path, "towns", "sum,count")
    # the zones are projected to the raster's CRS: the cells they cover are their area in degrees²
    expected = shapely.area(towns.to_crs("EPSG:4326").geometry.values) / step**2
    np.testing.assert_allclose(result["count"], expected, rtol=1e-7)
    np.testing.assert_allclose(result["sum"], expected, rtol=1e-7)


def test_zonal_two_bands_with_nodata(tmp_path, grid, towns_4549):
    ones = np.ones(grid.shape)
    twos = np.full(grid.shape, 2.0)
    half = grid.width // 2
    twos[:, half:] = -9999.0  # east half of band 2 is nodata
    path = _write(tmp_path / "two_bands.tif", [ones, twos], ANALYSIS_CRS, grid.transform)
    result = raster.zonal_stats(path, "towns", ["sum", "count", "mean"])
    assert {"band1_sum", "band1_count", "band2_sum", "band2_count", "band2_mean"} <= set(result.columns)
    west = shapely.box(grid.xmin, grid.bounds[1], grid.xmin + half * RES, grid.ymax)
    expected_west = towns_4549.intersection(west).area.to_numpy() / RES**2
    np.testing.assert_allclose(result["band1_count"], towns_4549.area.to_numpy() / RES**2, rtol=1e-6)
    np.testing.assert_allclose(result["band2_count"], expected_west, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(result["band2_sum"], 2 * expected_west, rtol=1e-6, atol=1e-6)
    covered = expected_west > 0
    assert covered.any() and (~covered).any(), "the split should leave some towns without band-2 data"
    assert (result.loc[covered, "band2_mean"] == 2).all()
    assert result.loc[~covered, "band2_mean"].isna().all()


def test_zonal_weights_partial_cells_by_coverage(tmp_path):
    # values are the column index; the square covers half of column 10, all of 11..19, a quarter of 20
    width, height = 40, 20
    values = np.tile(np.arange(width, dtype=float), (height, 1))
    path = _write(tmp_path / "columns.tif", values, ANALYSIS_CRS, from_origin(500000, 3450000, 10, 10))
    square = shapely.box(500000 + 10.5 * 10, 3450000 - 150, 500000 + 20.25 * 10, 3450000 - 50)
    zones = gpd.GeoDataFrame({"zone": ["square"]}, geometry=[square], crs=ANALYSIS_CRS)
    result = raster.zonal_stats(path, zones, ["min", "max", "mean", "count", "sum"])
    weights = np.array([0.5] + [1.0] * 9 + [0.25])
    cols = np.arange(10, 21)
    rows = 10
    assert result.loc[0, "min"] == 10 and result.loc[0, "max"] == 20
    assert result.loc[0, "count"] == pytest.approx(rows * weights.sum(), rel=1e-12)
    assert result.loc[0, "sum"] == pytest.approx(rows * (weights * cols).sum(), rel=1e-12)
    assert result.loc[0, "mean"] == pytest.approx((weights * cols).sum() / weights.sum(), rel=1e-12)


def test_zonal_cli_table_joins_back_to_the_layer(ones_4549, tmp_path):
    # functional_zones has a zero-width spike (中心城市核) on which exactextract alone misses 8 cells
    out = tmp_path / "zonal.csv"
    png = tmp_path / "zonal.png"
    result = runner.invoke(app, ["zonal", str(ones_4549), "--by", "functional_zones", "--stats", "sum,count",
                                 "--out", str(out), "--map", str(png)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table.columns.tolist() == ["zone", "zone_en", "sum", "count"]
    zones = layers.functional_zones()
    joined = zones.merge(table, on="zone", validate="one_to_one")
    np.testing.assert_allclose(joined["count"], joined.to_crs(ANALYSIS_CRS).area / RES**2, rtol=1e-7)
    assert png.stat().st_size > 0


def test_zonal_bad_input(ones_4549, tmp_path):
    with pytest.raises(InputError, match="statistic"):
        raster.zonal_stats(ones_4549, "towns", "mean,average")
    with pytest.raises(InputError, match="neither a layer"):
        raster.zonal_stats(ones_4549, "parcels")
    no_crs = tmp_path / "no_crs.tif"
    with rasterio.open(no_crs, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8") as dst:
        dst.write(np.ones((1, 2, 2), dtype="uint8"))
    with pytest.raises(InputError, match="no CRS"):
        raster.zonal_stats(no_crs, "towns")
    result = runner.invoke(app, ["zonal", str(tmp_path / "missing.tif")])
    assert result.exit_code == 2


# ------------------------------------------------------------------ hillshade


def test_hillshade_of_a_plane_is_exact(tmp_path):
    # a plane rising eastwards by 0.1 m per metre, on the output grid itself (no resampling error)
    res, x0, y1 = 30.0, 540000.0, 3450000.0
    width, height = 40, 30
    x = x0 + (np.arange(width) + 0.5) * res
    dem = np.tile(0.1 * (x - x0), (height, 1))
    path = _write(tmp_path / "plane.tif", dem, ANALYSIS_CRS, from_origin(x0, y1, res, res))
    bounds = (x0, y1 - height * res, x0 + width * res, y1)
    shade, extent = raster.hillshade(path, bounds, res)
    assert shade.shape == (height, width)
    assert extent == (bounds[0], bounds[2], bounds[1], bounds[3])
    # light from the north-west at 45°: a west-facing slope of 0.1 is brighter than flat ground
    expected = (0.1 * math.sin(math.radians(45)) * math.sin(math.radians(45)) + math.sin(math.radians(45)))
    expected /= math.sqrt(1 + 0.1**2)
    inner = shade[1:-1, 1:-1]
    np.testing.assert_allclose(inner, expected, rtol=1e-5)
    assert expected > math.sin(math.radians(45))


def test_hillshade_reprojects_a_geographic_dem(tmp_path):
    flat = np.full((200, 300), 12.0)
    path = _write(tmp_path / "flat_4326.tif", flat, "EPSG:4326", from_origin(120.4, 31.3, 0.001, 0.001))
    centre = gpd.GeoSeries(gpd.points_from_xy([120.55], [31.2]), crs="EPSG:4326").to_crs(ANALYSIS_CRS).iloc[0]
    bounds = (centre.x - 3000, centre.y - 2000, centre.x + 3000, centre.y + 2000)
    shade, _ = raster.hillshade(path, bounds, resolution_m=100)
    assert shade.shape == (40, 60)
    assert np.nanmin(shade) >= 0 and np.nanmax(shade) <= 1
    np.testing.assert_allclose(shade, math.sin(math.radians(45)), rtol=1e-5)
    with pytest.raises(InputError, match="does not cover"):
        raster.hillshade(path, (400000, 3300000, 401000, 3301000))
