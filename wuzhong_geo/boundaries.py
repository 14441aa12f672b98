"""Drop-in official town boundaries: read any vector file, match the 14 units, validate."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from wuzhong_geo import coords, limits, plan
from wuzhong_geo.errors import InputError
from wuzhong_geo.geom import polygonal
from wuzhong_geo.settings import ANALYSIS_CRS, DISTRICT_BBOX, STORAGE_CRS
from wuzhong_geo.vector import short_reason

log = logging.getLogger(__name__)

#: Two official units may overlap by this much (km²) before the file is rejected.
MAX_OVERLAP_KM2 = 0.01
#: A unit smaller than this (m²) is a placeholder, not a town.
MIN_UNIT_AREA_M2 = 10_000.0


class BoundaryError(InputError):
    """An official boundary file cannot be used; the message says what to fix."""


def _read(path: Path, encoding: str | None) -> gpd.GeoDataFrame:
    return gpd.read_file(path, engine="pyogrio", encoding=encoding) if encoding else gpd.read_file(
        path, engine="pyogrio"
    )


def _match_counts(frame: pd.DataFrame) -> tuple[str | None, pd.Series]:
    """Find the column that names the most towns; return it and its matched codes."""
    best, best_codes = None, pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for column in frame.columns:
        if column == "geometry":
            continue
        codes = frame[column].map(plan.town_code)
        if codes.notna().sum() > best_codes.notna().sum():
            best, best_codes = column, codes
    return best, best_codes


def _needs_encoding_guess(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        return True
    return path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists()


def read_official_towns(path: str | Path) -> gpd.GeoDataFrame:
    """Read official town boundaries (Shapefile, zipped Shapefile, GeoPackage, GeoJSON; any CRS).

    Every one of the 14 units must be matched once by code, name or alias; the result is in
    EPSG:4326 with ``code``, ``name``, ``source_name`` and ``boundary_source = "official"``.
    """
    path = Path(path)
    if not path.exists():
        raise BoundaryError(f"--boundaries {path}: 找不到文件 / official boundary file not found")
    if path.suffix.lower() == ".zip":
        limits.check_zip(path)
    try:
        frame = _read(path, None)
    except Exception as exc:  # noqa: BLE001 pyogrio raises several DataSourceError types
        raise BoundaryError(f"--boundaries {path.name}: 无法作为矢量文件读取（{short_reason(exc)}），请用 .shp/.zip/.gpkg/.geojson / "
                            "cannot read it as a vector file; use .shp/.zip/.gpkg/.geojson") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise BoundaryError(f"--boundaries {path.name}: 文件中没有几何（边界）列 / the file has no geometry; "
                            "use .shp/.zip/.gpkg/.geojson")
    column, codes = _match_counts(frame)
    if _needs_encoding_guess(path):
        # Shapefiles from Chinese GIS desktops usually carry GBK DBFs without a .cpg file.
        for encoding in ("GBK", "UTF-8"):
            try:
                alt = _read(path, encoding)
            except Exception:  # noqa: BLE001 - a wrong encoding guess is not an error
                continue
            alt_column, alt_codes = _match_counts(alt)
            if alt_codes.notna().sum() > codes.notna().sum():
                frame, column, codes = alt, alt_column, alt_codes
    if frame.crs is None:
        raise BoundaryError(
            f"{path} has no CRS (missing .prj?). Add one, e.g. for CGCS2000 Gauss-Kruger CM 120E: "
            "ogr2ogr -a_srs EPSG:4549 out.gpkg in.shp"
        )
    coords.refuse_declared_crs(frame.crs, path.name)
    if column is None:
        raise BoundaryError(
            f"no column of {path} names the towns; columns are {[c for c in frame.columns if c != 'geometry']}. "
            "One column must hold the NBS code (e.g. 320506100) or the name (e.g. 甪直镇)."
        )
    unmatched = frame.loc[codes.isna(), column].astype(str).tolist()
    if unmatched:
        raise BoundaryError(
            f"{path}: rows whose {column!r} matches no Wuzhong town: {unmatched}. "
            "Use NBS codes or names such as 长桥街道 / 甪直镇 (甬直 is accepted)."
        )
    duplicated = codes[codes.duplicated(keep=False)]
    if not duplicated.empty:
        names = frame.loc[duplicated.index, column].astype(str).tolist()
        raise BoundaryError(f"{path}: several rows name the same town: {names}; dissolve them first")
    table = plan.towns_table().set_index("code")
    missing = sorted(set(table.index) - set(codes))
    if missing:
        raise BoundaryError(
            f"{path}: towns missing from the file: {[table.loc[c, 'name'] for c in missing]}"
        )
    out = gpd.GeoDataFrame(
        {
            "code": codes.values,
            "name": [table.loc[c, "name"] for c in codes],
            "source_name": frame[column].astype(str).values,
            "boundary_source": "official",
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    empty = out[out.geometry.isna() | out.geometry.is_empty]
    if not empty.empty:
        raise BoundaryError(f"--boundaries {path.name}: {'、'.join(empty['name'])} 的边界为空，请补全后重试 / the boundary "
                            f"of {', '.join(empty['code'])} is empty; fill it in and retry")
    bad = out[~out.geometry.is_valid]
    if not bad.empty:
        log.warning("repairing invalid geometry of %s", ", ".join(bad["name"]))
        out["geometry"] = out.geometry.make_valid()
    out["geometry"] = [polygonal(g) for g in out.geometry]
    flat = out[out.geometry.is_empty | (out.to_crs(ANALYSIS_CRS).geometry.area < MIN_UNIT_AREA_M2)]
    if not flat.empty:
        raise BoundaryError(f"--boundaries {path.name}: {'、'.join(flat['name'])} 不是有面积的面（空、线或点）/ "
                            f"{', '.join(flat['code'])} have no polygon area (empty, lines or points); fix the file")
    out = out.to_crs(STORAGE_CRS)
    minx, miny, maxx, maxy = out.total_bounds
    if not (DISTRICT_BBOX[0] <= minx and maxx <= DISTRICT_BBOX[2]
            and DISTRICT_BBOX[1] <= miny and maxy <= DISTRICT_BBOX[3]):
        raise BoundaryError(
            f"{path}: after conversion from {frame.crs.to_string()} the towns span lon {minx:.3f}–{maxx:.3f}, "
            f"lat {miny:.3f}–{maxy:.3f}, outside Wuzhong. Is the declared CRS right "
            "(EPSG:4549 plain easting vs EPSG:4528 with the 40 zone prefix)?"
        )
    projected = out.to_crs(ANALYSIS_CRS)
    overlaps = []
    left, right = projected.sindex.query(projected.geometry, predicate="intersects")
    for i, j in zip(left, right):
        if i < j:
            area = shapely.intersection(projected.geometry.iloc[i], projected.geometry.iloc[j]).area / 1e6
            if area > MAX_OVERLAP_KM2:
                overlaps.append(f"{out['name'].iloc[i]} / {out['name'].iloc[j]} ({area:.3f} km²)")
    if overlaps:
        raise BoundaryError(f"{path}: units overlap: {'; '.join(overlaps)}")
    return out.sort_values("code").reset_index(drop=True)
