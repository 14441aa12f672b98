"""The plan's policy geography (data/plan/policy_areas.csv) as areas derived from the current layers.

Each row states how its area is made (``geometry_basis``); the parts are read from columns:
``basis_towns`` (union of towns, so official boundaries change it), ``shore_band_m`` (land within that
distance of the Taihu shore), ``include_lake`` (Wuzhong's Taihu waters), ``lake_margin_m`` (Taihu
waters inside the towns' convex hull grown by that distance) and ``anchor`` + ``anchor_radius_m``
(a point or line from the places/infrastructure layers or a WKT, grown by the radius). A row with
none of these has no geometry: its location is unknown and it is never drawn.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from wuzhong_geo import plan, tablecheck
from wuzhong_geo.geom import polygonal
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS, plan_dir
from wuzhong_geo.style import POLICY_KINDS

STATUSES = ["designated", "proposed", "planned", "under_construction", "built", "unknown"]


def schema():
    """The pandera schema of policy_areas.csv (pandera is imported only when the table is validated)."""
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{2}\d{2}$"), unique=True),
            "name": pa.Column(str, unique=True),
            "name_en": pa.Column(str),
            "kind": pa.Column(str, pa.Check.isin(list(POLICY_KINDS))),
            "protection_level": pa.Column(str),
            "status": pa.Column(str, pa.Check.isin(STATUSES)),
            "plan_ref": pa.Column(str),
            "plan_quote": pa.Column(str),
            "geometry_basis": pa.Column(str, pa.Check.str_length(min_value=1)),
            "basis_towns": pa.Column(str),
            "shore_band_m": pa.Column(float, pa.Check.gt(0), nullable=True),
            "include_lake": pa.Column(bool),
            "lake_margin_m": pa.Column(float, pa.Check.ge(0), nullable=True),
            "anchor": pa.Column(str),
            "anchor_radius_m": pa.Column(float, pa.Check.gt(0), nullable=True),
            "geometry_accuracy_m": pa.Column(float, pa.Check.gt(0), nullable=True),
            "legal_source": pa.Column(str),
            "legal_ref": pa.Column(str),
            "legal_quote": pa.Column(str),
            "source": pa.Column(str, pa.Check.str_length(min_value=1)),
            "confidence": pa.Column(str, pa.Check.isin(["high", "medium", "low"])),
            "notes": pa.Column(str),
        },
        strict=True,
    )


_TEXT = ["id", "name", "name_en", "kind", "protection_level", "status", "plan_ref", "plan_quote",
         "geometry_basis", "basis_towns", "anchor", "legal_source", "legal_ref", "legal_quote", "source",
         "confidence", "notes"]


@lru_cache(maxsize=1)
def policy_table() -> pd.DataFrame:
    """Return the validated policy-area table (one row per area the plan or the law names)."""
    frame = pd.read_csv(plan_dir() / "policy_areas.csv", encoding="utf-8", dtype={c: str for c in _TEXT},
                        keep_default_na=False, na_values={"shore_band_m": [""], "lake_margin_m": [""],
                                                          "anchor_radius_m": [""], "geometry_accuracy_m": [""]})
    frame["include_lake"] = frame["include_lake"].map({"true": True, "": False, "false": False})
    frame = tablecheck.validated("plan/policy_areas.csv", frame, schema)
    drawn = frame["basis_towns"].ne("") | frame["shore_band_m"].notna() | frame["include_lake"] | frame["anchor"].ne("")
    # an area that is drawn must say how far off it may be; an undrawn one must say why
    missing = frame[drawn & frame["geometry_accuracy_m"].isna()]
    if not missing.empty:
        raise ValueError(f"policy_areas.csv: rows {list(missing['id'])} are drawn but have no geometry_accuracy_m")
    unknown = frame[~drawn & ~frame["geometry_basis"].str.startswith("unknown")]
    if not unknown.empty:
        raise ValueError(f"policy_areas.csv: rows {list(unknown['id'])} have no geometry rule; "
                         "write geometry_basis 'unknown: …'")
    return frame


def _anchor(ref: str, places: gpd.GeoDataFrame, infra: gpd.GeoDataFrame) -> BaseGeometry:
    kind, _, key = ref.partition(":")
    if kind == "place":
        return places.loc[key, "geometry"]
    if kind == "infra":
        return infra.loc[key, "geometry"]
    # a WKT anchor is written in lon/lat like every coordinate in data/plan
    point = gpd.GeoSeries([shapely.from_wkt(ref)], crs=STORAGE_CRS).to_crs(ANALYSIS_CRS)
    return point.iloc[0]


def build_policy_areas(towns: gpd.GeoDataFrame, land: gpd.GeoDataFrame, taihu: gpd.GeoDataFrame,
                       taihu_full: gpd.GeoDataFrame, places: gpd.GeoDataFrame,
                       infrastructure: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Derive every policy area's geometry from the given layers (EPSG:4326 in, EPSG:4326 out)."""
    table = policy_table()
    metric = {name: frame.to_crs(ANALYSIS_CRS) for name, frame in
              {"towns": towns, "land": land, "taihu": taihu, "taihu_full": taihu_full}.items()}
    by_name = {}
    for row in metric["towns"].itertuples():
        for key in (row.code, row.name, row.short_name):
            by_name[key] = row.geometry
    land_geom = metric["land"].geometry.union_all()
    lake = metric["taihu"].geometry.union_all()
    shore = metric["taihu_full"].geometry.union_all()
    district = shapely.union(land_geom, lake)
    places_m = places.to_crs(ANALYSIS_CRS).set_index("id")
    infra_m = infrastructure.to_crs(ANALYSIS_CRS).set_index("id")
    band_cache: dict[float, BaseGeometry] = {}

    geoms = []
    for row in table.itertuples():
        parts = []
        if row.basis_towns:
            town_geoms = [by_name[plan.town_code(t) or t] for t in row.basis_towns.split(";")]
            parts.extend(town_geoms)
            if pd.notna(row.lake_margin_m):
                hull = shapely.union_all(town_geoms).convex_hull.buffer(row.lake_margin_m)
                parts.append(lake.intersection(hull))
        if pd.notna(row.shore_band_m):
            if row.shore_band_m not in band_cache:
                band_cache[row.shore_band_m] = land_geom.intersection(shore.buffer(row.shore_band_m))
            parts.append(band_cache[row.shore_band_m])
        if row.include_lake:
            parts.append(lake)
        if row.anchor:
            grown = _anchor(row.anchor, places_m, infra_m).buffer(row.anchor_radius_m)
            parts.append(grown.intersection(land_geom if row.kind in LAND_ONLY else district))
        geoms.append(polygonal(shapely.union_all(parts)) if parts else None)
    frame = gpd.GeoDataFrame(table.copy(), geometry=gpd.GeoSeries(geoms, crs=ANALYSIS_CRS))
    frame["area_km2"] = (frame.geometry.area / 1e6).round(3)
    frame["drawn"] = frame.geometry.notna() & ~frame.geometry.is_empty
    out = frame.to_crs(STORAGE_CRS)
    # reprojection can make a valid polygon self-intersect by a hair: repair, as geom.to_storage does
    out.loc[out["drawn"], "geometry"] = out.loc[out["drawn"], "geometry"].apply(polygonal)
    return out


#: Kinds whose corridor or circle stops at the shore (a canal corridor has no part in the lake).
LAND_ONLY = {"canal_corridor", "tourism_cluster"}
