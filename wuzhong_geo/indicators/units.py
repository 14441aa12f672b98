"""Indicators per spatial unit (town, functional zone, sub-region, management zone) from the plan's layers.

What each column measures is data: ``data/indicators/unit_indicator_columns.csv`` gives its
Chinese and English name, unit, definition, basis, and the rule computing it (``measure`` on a
``layer``, rows selected by ``filter``). Every measurement is made in the analysis CRS
(EPSG:4549) on the layers in use, so official boundaries (``--boundaries``) change the figures.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wuzhong_geo import layers, style
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import ANALYSIS_CRS, data_dir

log = logging.getLogger(__name__)

#: ``--by`` choices -> (Chinese, English) name of the unit.
UNIT_KINDS: dict[str, tuple[str, str]] = {
    "town": ("镇（街道）", "town or street"),
    "zone": ("功能区", "functional zone"),
    "subregion": ("片区", "sub-region"),
    "management_zone": ("管理主体", "management zone"),
}
#: Columns of the dictionary file, in order.
DICTIONARY_COLUMNS = ["column", "name_zh", "name_en", "unit", "measure", "layer", "filter", "param",
                      "applies_to", "definition_zh", "definition_en", "basis", "qgis_style"]
#: Layers the dictionary may measure (``layer`` column), besides ``towns``.
LAYERS_MEASURED = ("infrastructure", "places", "functional_zones", "policy_areas")
#: Columns of :func:`infrastructure_detail`.
DETAIL_COLUMNS = ["code", "name", "kind", "kind_zh", "status", "status_zh", "in_plan", "features", "km"]


def dictionary_path():
    """Return the path of the indicator column dictionary (CSV)."""
    return data_dir() / "indicators" / "unit_indicator_columns.csv"


@lru_cache(maxsize=1)
def _dictionary() -> pd.DataFrame:
    table = pd.read_csv(dictionary_path(), dtype=str, keep_default_na=False, encoding="utf-8")
    if list(table.columns) != DICTIONARY_COLUMNS:
        raise InputError(f"{dictionary_path()}：字段字典的列不对 / columns must be {', '.join(DICTIONARY_COLUMNS)}")
    return table


def indicator_columns(by: str = "town") -> pd.DataFrame:
    """Return the column dictionary of :func:`unit_indicators` for ``by`` (one row per output column)."""
    _check_by(by)
    table = _dictionary()
    keep = (table["applies_to"] == "all") | (table["applies_to"] == by)
    return table[keep].reset_index(drop=True).copy()


def _check_by(by: str) -> None:
    if by not in UNIT_KINDS:
        raise InputError(f"未知的单元类型 / unknown unit {by!r}; choose one of {', '.join(UNIT_KINDS)}")


# ---------------------------------------------------------------- units

def unit_layer(by: str = "town") -> gpd.GeoDataFrame:
    """Return the polygons of ``by`` units with ``code``, ``name``, ``name_en`` and member towns' codes."""
    _check_by(by)
    towns = layers.towns()
    if by == "town":
        frame = towns[["code", "name", "name_en", "short_name", "geometry"]].copy()
        frame["members"] = [[c] for c in frame["code"]]
        return frame
    if by == "zone":
        zones = layers.functional_zones()
        return gpd.GeoDataFrame({
            "code": [style.ZONES[z][0] for z in zones["zone"]], "name": zones["zone"],
            "name_en": [style.ZONES[z][1] for z in zones["zone"]], "short_name": zones["zone"],
            "members": [None] * len(zones)}, geometry=zones.geometry.values, crs=zones.crs)
    if by == "subregion":
        subs = layers.subregions()
        return gpd.GeoDataFrame({
            "code": subs["subregion_en"], "name": subs["subregion"],
            "name_en": [style.SUBREGIONS[s][1] for s in subs["subregion"]], "short_name": subs["subregion"],
            "members": [list(towns.loc[towns["subregion"] == s, "code"]) for s in subs["subregion"]]},
            geometry=subs.geometry.values, crs=subs.crs)
    zones = layers.management_zones()
    return gpd.GeoDataFrame({
        "code": [style.MANAGEMENT_ZONES[n][0] for n in zones["name"]], "name": zones["name"],
        "name_en": zones["name_en"], "short_name": zones["short_name"],
        "members": [list(towns.loc[towns["management_zone"] == n, "code"]) for n in zones["name"]]},
        geometry=zones.geometry.values, crs=zones.crs)


# ---------------------------------------------------------------- the rule language of the dictionary

def select(frame: pd.DataFrame, rule: str) -> pd.Series:
    """Return the rows of ``frame`` a dictionary filter selects (``kind=a|b;in_plan=true;status!=built``)."""
    mask = pd.Series(True, index=frame.index)
    for clause in filter(None, (c.strip() for c in rule.split(";"))):
        negate = "!=" in clause
        key, _, values = clause.partition("!=" if negate else "=")
        key = key.strip()
        if key not in frame.columns:
            raise InputError(f"{dictionary_path().name}：筛选条件 {rule!r} 引用了图层没有的列 {key!r} / "
                             f"filter {rule!r} names column {key!r}, which the layer lacks")
        wanted = {v.strip().lower() for v in values.split("|")}
        hit = frame[key].map(lambda v: str(v).strip().lower()).isin(wanted)
        mask &= ~hit if negate else hit
    return mask


# ---------------------------------------------------------------- measures

def _clip_length_km(lines: gpd.GeoSeries, unit) -> float:
    return float(shapely.length(shapely.intersection(lines.values, unit)).sum() / 1000.0) if len(lines) else 0.0


def _count(features: gpd.GeoDataFrame, unit, distinct: str | None = None) -> int:
    hit = features[features.intersects(unit)]
    return int(hit[distinct].nunique()) if distinct else len(hit)


def _share(unit, other) -> float:
    return float(unit.intersection(other).area / unit.area * 100.0) if unit.area > 0 else float("nan")


def _official(rows: pd.DataFrame, towns: pd.DataFrame, by: str, field: str) -> list:
    """Official area (and its year/source) per unit: a town's own, a union's member sum, none for zones."""
    table = towns.set_index("code")
    out = []
    for members in rows["members"]:
        if by == "zone" or members is None:
            out.append(np.nan if field == "official_area_km2" else "")
            continue
        if field != "official_area_km2":
            out.append(table.loc[members[0], field] if len(members) == 1 else "")
            continue
        values = table.loc[members, "official_area_km2"]
        out.append(float(values.sum()) if len(values) and values.notna().all() else np.nan)
    return out


def unit_indicators(by: str = "town") -> gpd.GeoDataFrame:
    """Return one row per ``by`` unit with every indicator of :func:`indicator_columns`, polygons kept.

    ``by`` is ``town`` (14 rows), ``zone`` (3), ``subregion`` (3) or ``management_zone`` (5).
    Numeric columns are floats (km, km², %) or integers (counts); towns-only columns are left out
    for the other units.
    """
    columns = indicator_columns(by)
    units = unit_layer(by)
    metric = units.to_crs(ANALYSIS_CRS)
    geoms = list(metric.geometry)
    towns = layers.towns()
    sources: dict[str, gpd.GeoDataFrame] = {}
    for name in sorted(set(columns["layer"]) - {"", "towns"}):
        if name not in LAYERS_MEASURED:
            raise InputError(f"{dictionary_path().name}：图层 {name!r} 不能量算 / layer {name!r} cannot be measured; "
                             f"use one of {', '.join(LAYERS_MEASURED)}")
        sources[name] = getattr(layers, name)().to_crs(ANALYSIS_CRS)
    seats = gpd.GeoSeries(gpd.points_from_xy(towns["seat_lon"], towns["seat_lat"]), crs=towns.crs,
                          index=towns["code"]).to_crs(ANALYSIS_CRS)
    out = pd.DataFrame(index=units.index)
    for spec in columns.itertuples():
        source = sources.get(spec.layer)
        chosen = source[select(source, spec.filter)] if source is not None else None
        values: list
        if spec.measure == "key":
            values = list(units["code"])
        elif spec.measure in ("name", "name_en", "short_name"):
            values = list(units[spec.measure])
        elif spec.measure == "area":
            values = [round(g.area / 1e6, 3) for g in geoms]
        elif spec.measure == "boundary_source":
            values = ["official" if layers.active_boundaries() is not None else "schematic"] * len(units)
        elif spec.measure == "official_area":
            values = _official(units, towns, by, "official_area_km2")
        elif spec.measure == "official_area_year":
            values = pd.array([int(v) if pd.notna(v) and v != "" else None
                               for v in _official(units, towns, by, "official_area_year")], dtype="Int64")
        elif spec.measure == "official_area_source":
            values = _official(units, towns, by, "area_source")
        elif spec.measure == "area_share":
            # rows without a known location (no geometry) cover nothing
            area = chosen.geometry[~chosen.geometry.isna() & ~chosen.geometry.is_empty].union_all()
            values = [round(_share(g, area), 2) for g in geoms]
        elif spec.measure == "line_km":
            lines = chosen[chosen.geom_type.isin(["LineString", "MultiLineString"])].geometry
            values = [round(_clip_length_km(lines, g), 3) for g in geoms]
        elif spec.measure == "feature_count":
            # param names a column whose distinct values are counted (an interchange station is one station)
            values = [_count(chosen, g, spec.param or None) for g in geoms]
        elif spec.measure == "place_count":
            values = [_count(chosen, g) for g in geoms]
        elif spec.measure in ("seat_distance", "seat_nearest"):
            values = _nearest(seats.loc[units["code"]], chosen, spec.measure)
        elif spec.measure == "buffer_share":
            reach = chosen.geometry.buffer(float(spec.param)).union_all()
            values = [round(_share(g, reach), 2) for g in geoms]
        else:
            raise InputError(f"{dictionary_path().name}：列 {spec.column} 的计算规则未知 / "
                             f"unknown measure {spec.measure!r} for column {spec.column}")
        out[spec.column] = values
    for spec in columns.itertuples():
        if spec.measure in ("feature_count", "place_count"):
            out[spec.column] = out[spec.column].astype("int64")
    log.info("computed %d indicators for %d %s units", len(columns), len(units), by)
    return gpd.GeoDataFrame(out, geometry=units.geometry.values, crs=units.crs)


def _nearest(seats: gpd.GeoSeries, stations: gpd.GeoDataFrame, measure: str) -> list:
    values = []
    for seat in seats:
        distances = stations.distance(seat)
        nearest = distances.idxmin()
        values.append(round(float(distances[nearest]) / 1000.0, 3) if measure == "seat_distance"
                      else stations.at[nearest, "name"])
    return values


def town_indicators() -> gpd.GeoDataFrame:
    """Return the indicators of the 14 towns and streets (see :func:`unit_indicators`)."""
    return unit_indicators("town")


def infrastructure_detail(by: str = "town") -> pd.DataFrame:
    """Return km and feature counts per unit, infrastructure kind, status and plan mention (long table)."""
    units = unit_layer(by).to_crs(ANALYSIS_CRS)
    infra = layers.infrastructure().to_crs(ANALYSIS_CRS)
    rows = []
    for unit in units.itertuples():
        hit = infra[infra.intersects(unit.geometry)]
        for (kind, status, in_plan), group in hit.groupby(["kind", "status", "in_plan"], sort=True):
            lines = group[group.geom_type.isin(["LineString", "MultiLineString"])].geometry
            rows.append({
                "code": unit.code, "name": unit.name, "kind": kind,
                "kind_zh": style.INFRASTRUCTURE_KINDS.get(kind, (kind,))[0], "status": status,
                "status_zh": style.STATUSES.get(status, (status,))[0], "in_plan": bool(in_plan),
                "features": len(group), "km": round(_clip_length_km(lines, unit.geometry), 3),
            })
    return pd.DataFrame(rows, columns=DETAIL_COLUMNS)


def outside_units(by: str = "town") -> pd.DataFrame:
    """Return the places and point infrastructure that fall in no ``by`` unit (lake, neighbours), with layer."""
    area = unit_layer(by).to_crs(ANALYSIS_CRS).geometry.union_all()
    rows = []
    for name, frame in (("places", layers.places()), ("infrastructure", layers.infrastructure())):
        frame = frame.to_crs(ANALYSIS_CRS)
        points = frame[frame.geom_type == "Point"]
        for row in points[~points.intersects(area)].itertuples():
            rows.append({"layer": name, "id": row.id, "name": row.name,
                         "kind": getattr(row, "category", None) or getattr(row, "kind", "")})
    return pd.DataFrame(rows, columns=["layer", "id", "name", "kind"])
