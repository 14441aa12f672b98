"""QGIS layer styles in the layers GeoPackage: the table QGIS reads, in the shared palette."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import pyogrio
import pytest
from matplotlib.colors import to_rgb

from wuzhong_geo import gpkg as gpkg_io
from wuzhong_geo import layers, style
from wuzhong_geo.export import write_layers
from wuzhong_geo.qgis_styles import add_layer_styles, layer_qml

#: The typed tables of the layers GeoPackage: infrastructure is split by geometry type.
TABLES = tuple(t for name in layers.LAYER_NAMES
               for t in (("infrastructure_lines", "infrastructure_points") if name == "infrastructure" else (name,)))


def _rgb(colour: str) -> str:
    r, g, b = to_rgb(colour)
    return f"{round(r * 255)},{round(g * 255)},{round(b * 255)}"


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory):
    path = write_layers(tmp_path_factory.mktemp("layers"), "gpkg")[0]
    add_layer_styles(path, TABLES)
    return path


def _rows(path):
    with sqlite3.connect(path) as con:
        return con.execute(
            "SELECT f_table_name, f_geometry_column, styleName, styleQML, useAsDefault, update_time "
            "FROM layer_styles ORDER BY id").fetchall()


def test_every_layer_has_a_default_style(gpkg):
    rows = _rows(gpkg)
    assert [r[0] for r in rows] == list(TABLES)
    with sqlite3.connect(gpkg) as con:
        columns = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        registered = con.execute(
            "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone()
    assert registered == ("attributes",)  # QGIS' OGR provider only sees registered tables
    for table, geom_col, _, qml, default, stamp in rows:
        assert geom_col == columns[table]
        assert default == 1
        assert stamp.endswith("Z") and "T" in stamp  # GPKG datetime format, no GDAL warning
        root = ET.fromstring(qml.split("\n", 1)[1])
        assert root.tag == "qgis" and root.find("renderer-v2").get("type") == "RuleRenderer"


def test_styles_are_idempotent_and_file_stays_valid(gpkg):
    add_layer_styles(gpkg, ["towns", "places"])
    assert len(_rows(gpkg)) == len(TABLES)
    listed = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert set(TABLES) <= listed and "layer_styles" in listed
    towns = pyogrio.read_dataframe(gpkg, layer="towns")
    assert len(towns) == 14
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles", read_geometry=False)
    assert set(styles["f_table_name"]) == set(TABLES)


def test_palette_is_the_figures_palette():
    zones = layer_qml("functional_zones")
    for zone, (_, _, colour) in style.ZONES.items():
        assert zone in zones and _rgb(colour) in zones
    towns = ET.fromstring(layer_qml("towns").split("\n", 1)[1])
    rules = towns.findall(".//rules/rule")
    assert len(rules) == 14
    assert _rgb(style.TOWN_COLOURS[0]) in layer_qml("towns")
    text_style = towns.find(".//labeling/settings/text-style")
    assert text_style.get("fontFamily") == "Noto Sans CJK SC" and text_style.get("fieldName") == "name"
    water = layer_qml("taihu")
    assert _rgb(style.WATER) in water and _rgb(style.WATER_EDGE) in water
    for name, (_, _, colour) in style.MANAGEMENT_ZONES.items():
        assert _rgb(colour) in layer_qml("management_zones"), name


@pytest.mark.parametrize("table, symbol_type", [("infrastructure_lines", "line"), ("infrastructure_points", "marker")])
def test_typed_infrastructure_tables_get_their_own_rules(table, symbol_type):
    root = ET.fromstring(layer_qml(table).split("\n", 1)[1])
    symbols = {s.get("name"): s.get("type") for s in root.findall("./renderer-v2/symbols/symbol")}
    assert set(symbols.values()) == {symbol_type}
    if symbol_type == "line":
        rules = root.findall("./renderer-v2/rules/rule")
        planned = next(r for r in rules if "'high_speed_rail'" in r.get("filter") and "'planned'" in r.get("filter"))
        layer = root.find(f"./renderer-v2/symbols/symbol[@name='{planned.get('symbol')}']/layer[last()]")
        options = {o.get("name"): o.get("value") for o in layer.find("Option").findall("Option")}
        assert options["use_custom_dash"] == "1"  # planned = dashed, as in the figures


def test_site_check_tables_are_coloured_by_status():
    for table, symbol_type in [("results_points", "marker"), ("results_polygons", "fill"), ("results_lines", "line")]:
        qml = layer_qml(table)
        assert _rgb(style.SITE_STATUS_COLOURS["ok"]) in qml and style.SITE_STATUS_LABELS["flagged"][0] in qml
        root = ET.fromstring(qml.split("\n", 1)[1])
        assert {s.get("type") for s in root.findall("./renderer-v2/symbols/symbol")} == {symbol_type}
    assert gpkg_io.split_family("zone_parts_polygons") == ("zone_parts", "polygons")
    assert _rgb(next(iter(style.ZONES.values()))[2]) in layer_qml("zone_parts_polygons")


def test_places_cover_every_category():
    qml = layer_qml("places")
    for cat, (zh, _, colour) in style.PLACE_CATEGORIES.items():
        assert f"'{cat}'" in qml and zh in qml and _rgb(colour) in qml


def test_errors(tmp_path, gpkg):
    with pytest.raises(FileNotFoundError):
        add_layer_styles(tmp_path / "missing.gpkg", ["towns"])
    with pytest.raises(KeyError, match="not a feature table"):
        add_layer_styles(gpkg, ["nope"])
    with pytest.raises(KeyError):
        layer_qml("nope")
