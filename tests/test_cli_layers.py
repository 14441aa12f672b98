"""``wuzhong-geo layers`` writes every layer, in each format, ready for QGIS."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from typer.testing import CliRunner

from wuzhong_geo.cli import app
from wuzhong_geo.layers import LAYER_NAMES

runner = CliRunner()


def test_layers_gpkg_has_one_table_per_layer(tmp_path):
    result = runner.invoke(app, ["layers", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    gpkg = tmp_path / "wuzhong_layers.gpkg"
    tables = dict(pyogrio.list_layers(gpkg))
    typed = (set(LAYER_NAMES) - {"infrastructure"}) | {"infrastructure_lines", "infrastructure_points"}
    assert typed <= set(tables)
    assert tables["infrastructure_lines"] == "LineString" and tables["infrastructure_points"] == "Point"
    assert "Unknown" not in tables.values()
    towns = gpd.read_file(gpkg, layer="towns")
    assert len(towns) == 14 and towns.crs.to_epsg() == 4326
    assert not list(tmp_path.glob(".tmp-*")), "temporary files left behind"


@pytest.mark.parametrize("fmt, suffix", [("geojson", ".geojson"), ("parquet", ".parquet")])
def test_layers_other_formats(tmp_path, fmt, suffix):
    result = runner.invoke(app, ["layers", "--out", str(tmp_path), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert {p.stem for p in tmp_path.glob(f"*{suffix}")} == set(LAYER_NAMES)


def test_unknown_format_exits_2(tmp_path):
    result = runner.invoke(app, ["layers", "--out", str(tmp_path), "--format", "kml"])
    assert result.exit_code == 2
    assert "--format" in result.output


def test_help_is_bilingual():
    result = runner.invoke(app, ["layers", "--help"])
    assert result.exit_code == 0
    assert "导出" in result.output and "Export" in result.output
