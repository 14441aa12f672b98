"""Write the shared palette (:mod:`wuzhong_geo.style`) into a GeoPackage as QGIS layer styles.

QGIS looks for a ``layer_styles`` table in a GeoPackage and applies the row with
``useAsDefault`` for a table (``f_table_name``/``f_geometry_column``) when the layer is added, so
``wuzhong-geo layers`` output opens in QGIS styled like the static maps. Every renderer is
rule-based. Tables hold one geometry type each (:mod:`wuzhong_geo.gpkg` splits mixed layers into
``<name>_lines``/``<name>_points``/...); a suffixed table gets the rules of its base layer that
draw its geometry type.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from dataclasses import dataclass
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import quoteattr

from wuzhong_geo import style
from wuzhong_geo.gpkg import split_family

QGIS_VERSION = "3.28.0-Firenze"
LABEL_FONT = "Noto Sans CJK SC"
PT_TO_MM = 0.3528
_NS = uuid.UUID("8c6d1f0e-2a57-4a57-9e0c-77a6f3c9e0b1")

#: matplotlib marker -> QGIS SimpleMarker name (and rotation).
_MARKERS = {"o": ("circle", 0), "s": ("square", 0), "D": ("diamond", 0), "^": ("triangle", 0),
            "v": ("triangle", 180), "*": ("star", 0), "p": ("pentagon", 0), "h": ("hexagon", 0),
            "H": ("hexagon", 30), "8": ("octagon", 0), "P": ("cross_fill", 0), "X": ("cross_fill", 45)}
#: matplotlib dash style -> QGIS custom dash (mm), None for solid.
_DASHES = {"-": None, "--": "2.2;1.4", "-.": "3;1.2;0.6;1.2", ":": "0.6;1.2"}

_CREATE = (
    "CREATE TABLE IF NOT EXISTS layer_styles ("
    "id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256), "
    "f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, "
    "styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
    "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
)


# ----------------------------------------------------------------------------------------------
# XML pieces
# ----------------------------------------------------------------------------------------------

def _rgba(colour: str, alpha: float = 1.0) -> str:
    if len(colour) == 7 and colour.startswith("#"):  # the palette's hex: no matplotlib import (checks write GPKG)
        return f"{','.join(map(str, style.hex_rgb(colour)))},{round(alpha * 255)}"
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return f"{round(r * 255)},{round(g * 255)},{round(b * 255)},{round(alpha * 255)}"


def _key(*parts: str) -> str:
    return "{" + str(uuid.uuid5(_NS, "|".join(parts))) + "}"


def _options(props: dict[str, str]) -> str:
    items = sorted(props.items())
    option = "".join(f'<Option name={quoteattr(k)} value={quoteattr(str(v))} type="QString"/>' for k, v in items)
    legacy = "".join(f"<prop k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in items)
    return f'<Option type="Map">{option}</Option>{legacy}'


def _layer(cls: str, props: dict[str, str]) -> str:
    return f'<layer class="{cls}" enabled="1" locked="0" pass="0">{_options(props)}</layer>'


def _line_props(colour: str, width_mm: float, dash: str | None = None, alpha: float = 1.0,
                inside: bool = False) -> dict[str, str]:
    props = {"line_color": _rgba(colour, alpha), "line_width": f"{width_mm:.2f}", "line_width_unit": "MM",
             "line_style": "solid", "capstyle": "round", "joinstyle": "round",
             "use_custom_dash": "1" if dash else "0", "customdash": dash or "5;2", "customdash_unit": "MM",
             "draw_inside_polygon": "1" if inside else "0", "offset": "0", "offset_unit": "MM"}
    return props


def fill_symbol(name: str, colour: str | None, *, alpha: float = 1.0, edge: str | None = None,
                edge_mm: float = 0.26, inner_band: str | None = None, band_mm: float = 1.1,
                brush: str = "solid") -> str:
    """Return a QGIS fill symbol (``colour`` None: no brush; ``brush``: a QGIS brush style, e.g. b_diagonal)."""
    layers = [_layer("SimpleFill", {
        "color": _rgba(colour or "#ffffff", alpha if colour else 0), "style": brush if colour else "no",
        "outline_color": _rgba(edge or "#000000"), "outline_style": "solid" if edge else "no",
        "outline_width": f"{edge_mm:.2f}", "outline_width_unit": "MM", "joinstyle": "round",
    })]
    if inner_band:
        layers.append(_layer("SimpleLine", _line_props(inner_band, band_mm * 2, inside=True, alpha=0.9)))
    return (f'<symbol name="{name}" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">'
            + "".join(layers) + "</symbol>")


def line_symbol(name: str, colour: str, width_mm: float, dash: str | None = None, *, casing: bool = False) -> str:
    """Return a QGIS line symbol (optionally with a white casing, as in the figures)."""
    layers = []
    if casing:
        layers.append(_layer("SimpleLine", _line_props("#ffffff", width_mm + 0.4, alpha=0.8)))
    layers.append(_layer("SimpleLine", _line_props(colour, width_mm, dash)))
    return (f'<symbol name="{name}" type="line" alpha="1" clip_to_extent="1" force_rhr="0">'
            + "".join(layers) + "</symbol>")


def marker_symbol(name: str, colour: str, shape: str = "o", size_mm: float = 2.4, *, edge: str = "#ffffff",
                  filled: bool = True) -> str:
    """Return a QGIS marker symbol for a matplotlib marker shape."""
    qname, angle = _MARKERS.get(shape, ("circle", 0))
    props = {"name": qname, "angle": str(angle), "color": _rgba(colour if filled else "#ffffff"),
             "outline_color": _rgba(edge if filled else colour), "outline_width": "0.25",
             "outline_width_unit": "MM", "size": f"{size_mm:.2f}", "size_unit": "MM", "scale_method": "diameter"}
    return (f'<symbol name="{name}" type="marker" alpha="1" clip_to_extent="1" force_rhr="0">'
            + _layer("SimpleMarker", props) + "</symbol>")


def _renderer(layer: str, rules: list[tuple[str, str, str]]) -> str:
    """``rules``: (filter expression, legend label, symbol XML with name = index)."""
    rule_xml = "".join(
        f"<rule key={quoteattr(_key(layer, label))} filter={quoteattr(expr)} label={quoteattr(label)} "
        f'symbol="{i}"/>' if expr else
        f'<rule key={quoteattr(_key(layer, label))} label={quoteattr(label)} symbol="{i}"/>'
        for i, (expr, label, _) in enumerate(rules)
    )
    symbols = "".join(symbol for _, _, symbol in rules)
    return (f'<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0" '
            f'referencescale="-1"><rules key={quoteattr(_key(layer, "root"))}>{rule_xml}</rules>'
            f"<symbols>{symbols}</symbols></renderer-v2>")


def _labeling(field: str, *, size: float = 9.0, colour: str = style.INK, placement: int = 1) -> str:
    """A simple label setup: halo, CJK font; placement 1 = over the centroid, 2 = along lines."""
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fontFamily="{LABEL_FONT}" namedStyle="Regular" fieldName={quoteattr(field)} isExpression="0" '
        f'fontSize="{size}" fontSizeUnit="Point" textColor="{_rgba(colour)}" textOpacity="1" fontWeight="50" '
        'fontItalic="0" fontUnderline="0" fontStrikeout="0" fontKerning="1" multilineHeight="1" '
        'blendMode="0" capitalization="0" allowHtml="0" textOrientation="horizontal" previewBkgrdColor="255,255,255,255">'
        f'<text-buffer bufferDraw="1" bufferSize="0.7" bufferSizeUnits="MM" bufferColor="{_rgba(style.HALO)}" '
        'bufferOpacity="1" bufferNoFill="1" bufferJoinStyle="128" bufferBlendMode="0"/>'
        '</text-style>'
        f'<placement placement="{placement}" centroidInside="1" centroidWhole="0" fitInPolygonOnly="0" '
        'dist="1" distUnits="MM" placementFlags="10" overrunDistance="0" repeatDistance="0" priority="5"/>'
        '<rendering obstacle="1" obstacleType="1" scaleVisibility="0" drawLabels="1" upsidedownLabels="0" '
        'limitNumLabels="0" mergeLines="1" displayAll="0" labelPerPart="0"/>'
        "</settings></labeling>"
    )


def _qml(renderer: str, labeling: str = "") -> str:
    enabled = "1" if labeling else "0"
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Labeling" labelsEnabled="{enabled}">'
            f"{renderer}{labeling}</qgis>")


# ----------------------------------------------------------------------------------------------
# one style per layer
# ----------------------------------------------------------------------------------------------

def _q(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _towns_rules(layer: str) -> list:
    from wuzhong_geo import plan

    codes = sorted(plan.towns_table()["code"].astype(str))
    names = dict(zip(plan.towns_table()["code"].astype(str), plan.towns_table()["name"]))
    return [(f'"code" = {_q(c)}', names.get(c, c),
             fill_symbol(str(i), style.TOWN_COLOURS[i % len(style.TOWN_COLOURS)], alpha=0.8, edge=style.TOWN_EDGE))
            for i, c in enumerate(codes)]


def _infrastructure_rules(family: str | None = None) -> list:
    rules = []
    for kind, (zh, _, colour, width_pt) in style.INFRASTRUCTURE_KINDS.items():
        if family and (family == "lines") != (width_pt > 0):
            continue  # a typed table only gets the rules of its own geometry type
        for status, (status_zh, _, dash, _) in style.STATUSES.items():
            label = f"{zh}（{status_zh}）"
            geometry = "geometry_type($geometry) = 'Line'" if width_pt > 0 else "geometry_type($geometry) = 'Point'"
            expr = f'"kind" = {_q(kind)} AND "status" = {_q(status)} AND {geometry}'
            idx = str(len(rules))
            if width_pt > 0:
                symbol = line_symbol(idx, colour, width_pt * PT_TO_MM, _DASHES.get(dash), casing=True)
            else:
                shape = {"metro_station": "o", "interchange": "D", "bridge": "s"}.get(kind, "o")
                symbol = marker_symbol(idx, colour, shape, 2.2, filled=status == "built")
            rules.append((expr, label, symbol))
    return rules


def _places_rules() -> list:
    rules = []
    for cat, (zh, _, colour) in style.PLACE_CATEGORIES.items():
        shape = style.PLACE_MARKERS.get(cat, "o")
        size = 4.0 if cat == "cultural_tourism_cluster" else 2.8
        rules.append((f'"category" = {_q(cat)}', zh, marker_symbol(str(len(rules)), colour, shape, size)))
    known = ", ".join(_q(c) for c in style.PLACE_CATEGORIES)
    rules.append((f'"category" NOT IN ({known}) OR "category" IS NULL', "其他",
                  marker_symbol(str(len(rules)), style.PLACE_CATEGORIES["other"][2], "o", 2.4)))
    return rules


def classed_fill_qml(layer: str, column: str, classes: list[tuple[float, float, str, str]], *,
                     no_data_label: str = "无数据", label_field: str = "name") -> str:
    """Return a choropleth style: ``classes`` are (lower, upper, label, colour); NULL is drawn hatched as no data.

    Rule-based like the other styles (the first class includes its lower bound, the others start
    above it, as mapclassify's classes do), so the legend shows the same classes as the PNG maps.
    """
    field = '"' + column.replace('"', '""') + '"'
    rules = []
    for i, (lower, upper, label, colour) in enumerate(classes):
        above = ">=" if i == 0 else ">"
        rules.append((f"{field} {above} {lower!r} AND {field} <= {upper!r}", label,
                      fill_symbol(str(i), colour, edge=style.TOWN_EDGE)))
    rules.append((f"{field} IS NULL", no_data_label,
                  fill_symbol(str(len(classes)), style.NO_DATA_EDGE, edge=style.NO_DATA_EDGE, brush="b_diagonal")))
    return _qml(_renderer(f"{layer}:{column}", rules), _labeling(label_field, size=8))


def _symbol(family: str | None, name: str, colour: str, alpha: float = 1.0) -> str:
    """A marker, line or fill symbol in ``colour``, whichever draws a table of this family."""
    if family == "lines":
        return line_symbol(name, colour, 0.8)
    if family in ("polygons", "collections"):
        return fill_symbol(name, colour, alpha=alpha, edge=colour)
    return marker_symbol(name, colour, "o", 2.6)


def _site_rules(family: str | None) -> list:
    rules = [(f'"status" = {_q(key)}', zh, _symbol(family, str(i), style.SITE_STATUS_COLOURS.get(key, style.SITE_STATUS_UNKNOWN), 0.5))
             for i, (key, (zh, _)) in enumerate(style.SITE_STATUS_LABELS.items())]
    known = ", ".join(_q(k) for k in style.SITE_STATUS_LABELS)
    rules.append((f'"status" NOT IN ({known}) OR "status" IS NULL', "其他",
                  _symbol(family, str(len(rules)), style.SITE_STATUS_UNKNOWN, 0.5)))
    return rules


def layer_qml(layer: str) -> str:
    """Return the QGIS style (QML) of a layer or typed table (``infrastructure_lines``), in the figures' palette."""
    mm = PT_TO_MM
    base, family = split_family(layer)
    if family:
        if base == "infrastructure":
            return _qml(_renderer(layer, _infrastructure_rules(family)),
                        _labeling("name", size=7, placement=2 if family == "lines" else 6))
        if base == "results":  # site-check results, coloured by status as in the report
            return _qml(_renderer(layer, _site_rules(family)), _labeling("row_id", size=7, placement=6))
        if base == "zone_parts":  # site-check parts per functional zone
            rules = [(f'"functional_zone" = {_q(zh)}', zh, _symbol(family, str(i), colour, 0.55))
                     for i, (zh, (_, _, colour)) in enumerate(style.ZONES.items())]
            return _qml(_renderer(layer, rules))
        layer = base
    if layer == "district":
        return _qml(_renderer(layer, [("", "区界", fill_symbol("0", None, edge=style.DISTRICT_EDGE,
                                                               edge_mm=1.4 * mm))]))
    if layer == "land":
        return _qml(_renderer(layer, [("", "陆域", fill_symbol("0", style.LAND))]))
    if layer in ("taihu", "taihu_full"):
        return _qml(_renderer(layer, [("", "太湖", fill_symbol("0", style.WATER, edge=style.WATER_EDGE))]))
    if layer == "towns":
        return _qml(_renderer(layer, _towns_rules(layer)), _labeling("name", size=9))
    if layer in ("functional_zones", "town_zone_parts"):
        rules = [(f'"zone" = {_q(zh)}', zh, fill_symbol(str(i), colour, alpha=0.55,
                                                       edge=style.TOWN_EDGE if layer == "town_zone_parts" else None))
                 for i, (zh, (_, _, colour)) in enumerate(style.ZONES.items())]
        field = "name" if layer == "town_zone_parts" else "zone"
        return _qml(_renderer(layer, rules), _labeling(field, size=8 if field == "name" else 10))
    if layer == "subregions":
        rules = [(f'"subregion" = {_q(zh)}', zh, fill_symbol(str(i), colour, alpha=0.5, edge=style.INK, edge_mm=0.35))
                 for i, (zh, (_, _, colour)) in enumerate(style.SUBREGIONS.items())]
        return _qml(_renderer(layer, rules), _labeling("subregion", size=11))
    if layer == "management_zones":
        rules = [(f'"name" = {_q(zh)}', zh, fill_symbol(str(i), None, edge=colour, edge_mm=0.1, inner_band=colour))
                 for i, (zh, (_, _, colour)) in enumerate(style.MANAGEMENT_ZONES.items())]
        return _qml(_renderer(layer, rules), _labeling("short_name", size=8))
    if layer == "infrastructure":
        return _qml(_renderer(layer, _infrastructure_rules()), _labeling("name", size=7, placement=2))
    if layer == "places":
        return _qml(_renderer(layer, _places_rules()), _labeling("name", size=7, placement=6))
    if layer == "policy_areas":
        rules = [(f'"kind" = {_q(kind)}', zh, fill_symbol(str(i), colour, alpha=style.POLICY_ALPHA, edge=colour,
                                                         edge_mm=0.35))
                 for i, (kind, (zh, _, colour, _)) in enumerate(style.POLICY_KINDS.items())]
        return _qml(_renderer(layer, rules), _labeling("name", size=7))
    if layer == "context":
        return _qml(_renderer(layer, [("", "周边区县", fill_symbol("0", style.CONTEXT_FILL, edge=style.CONTEXT_EDGE))]),
                    _labeling("name", size=8, colour=style.MUTED))
    raise KeyError(f"no QGIS style for layer {layer!r}")


# ----------------------------------------------------------------------------------------------
# GeoPackage
# ----------------------------------------------------------------------------------------------

def style_feature_tables(gpkg_path: Path) -> list[str]:
    """Add the default QGIS style to every feature table of ``gpkg_path`` that has one; return them."""
    with sqlite3.connect(gpkg_path) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM gpkg_geometry_columns ORDER BY table_name")]
    styled = []
    for name in names:
        try:
            layer_qml(name)
        except KeyError:
            continue
        styled.append(name)
    add_layer_styles(gpkg_path, styled)
    return styled


def add_layer_styles(gpkg_path: Path, layer_names: Iterable[str]) -> None:
    """Write (or replace) the default QGIS style of each named layer into ``gpkg_path``."""
    names = list(layer_names)
    tables = feature_tables(gpkg_path)
    for name in names:
        if name not in tables:  # before layer_qml, which knows only the planning layers
            raise KeyError(f"layer {name!r} is not a feature table of {Path(gpkg_path).name}")
    write_styles(gpkg_path, [StyleRow(name, name, layer_qml(name)) for name in names])


def feature_tables(gpkg_path: Path) -> dict[str, str]:
    """Return the feature tables of a GeoPackage with their geometry column."""
    gpkg_path = Path(gpkg_path)
    if not gpkg_path.is_file():
        raise FileNotFoundError(f"GeoPackage not found: {gpkg_path}")
    con = sqlite3.connect(gpkg_path)
    try:
        return dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    finally:
        con.close()


@dataclass(frozen=True)
class StyleRow:
    """One QGIS style of a GeoPackage table (``default``: the one QGIS applies when the layer is added)."""

    table: str
    name: str
    qml: str
    default: bool = True
    description: str = "wuzhong_geo: palette of wuzhong_geo.style"


def write_styles(gpkg_path: Path, rows: Iterable[StyleRow]) -> None:
    """Write (or replace, by table and style name) QGIS styles into the ``layer_styles`` table of ``gpkg_path``."""
    gpkg_path = Path(gpkg_path)
    geometry_columns = feature_tables(gpkg_path)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    con = sqlite3.connect(gpkg_path)
    try:
        con.execute(_CREATE)
        registered = con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone()
        if not registered:
            # without this row QGIS' OGR provider does not see the table (and GDAL warns)
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles (wuzhong_geo palette)', ?)",
                (stamp,))
        for row in rows:
            if row.table not in geometry_columns:
                raise KeyError(f"layer {row.table!r} is not a feature table of {gpkg_path.name}")
            con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND f_geometry_column = ? AND styleName = ?",
                        (row.table, geometry_columns[row.table], row.name))
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                "VALUES ('', '', ?, ?, ?, ?, '', ?, ?, '', NULL, ?)",
                (row.table, geometry_columns[row.table], row.name, row.qml, int(row.default), row.description, stamp))
        has_ogr = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_ogr_contents'").fetchone()
        if has_ogr:
            count = con.execute("SELECT COUNT(*) FROM layer_styles").fetchone()[0]
            con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents (table_name, feature_count) VALUES ('layer_styles', ?)",
                        (count,))
        con.commit()
    finally:
        con.close()
