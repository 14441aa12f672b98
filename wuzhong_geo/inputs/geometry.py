"""Geometry of sites: bring any CRS to EPSG:4326 (GCJ-02/BD-09 by vertex), flag and repair bad shapes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from wuzhong_geo import coords
from wuzhong_geo.inputs.sites import InputInfo
from wuzhong_geo.settings import STORAGE_CRS


def reproject_vector(
    frame: gpd.GeoDataFrame, spec, info: InputInfo, default_by_numbers: bool
) -> gpd.GeoDataFrame:
    """Bring vector geometries to EPSG:4326, honouring --crs (GCJ-02/BD-09 vertices converted)."""
    geoms = frame.geometry.values
    finite = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    bounds = shapely.bounds(geoms[finite]) if finite.any() else np.zeros((0, 4))
    projected_numbers = bool(bounds.size) and bool(np.nanmax(np.abs(bounds)) > 1000)
    declared = frame.crs
    if spec is None or spec.kind not in ("epsg", "wgs84"):  # --crs EPSG:n / wgs84 overrides the file's own
        coords.refuse_declared_crs(declared, info.source, override=(
            "如坐标实为其他坐标系，请用 --crs 指定 / if the coordinates are in another CRS, declare it with --crs"))
    chosen = pyproj.CRS.from_user_input(spec.crs) if spec is not None and spec.kind == "epsg" else declared
    if chosen is not None and chosen.is_projected and bounds.size and not projected_numbers:
        degrees_hint(info, chosen.to_string())
    if spec is not None and spec.kind in ("gcj02", "bd09"):
        fn = coords.gcj02_to_wgs84 if spec.kind == "gcj02" else coords.bd09_to_wgs84
        if declared is not None and not declared.is_geographic:
            frame = frame.to_crs(STORAGE_CRS)
        out = shapely.transform(
            frame.geometry.values,
            lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1], iterations=coords.REFINE)),
        )
        info.crs = spec.label
        info.notes.append(f"几何坐标按 {spec.label} 转换为 WGS84")
        return frame.set_geometry(gpd.GeoSeries(out, index=frame.index), crs=STORAGE_CRS)
    if spec is not None and spec.kind == "epsg":
        info.crs = spec.crs
        if declared is not None and not declared.equals(spec.crs):
            info.notes.append(f"文件声明的坐标系 {declared.to_string()} 被 --crs {spec.crs} 覆盖")
        return frame.set_crs(spec.crs, allow_override=True).to_crs(STORAGE_CRS)
    if spec is not None and spec.kind == "wgs84":
        info.crs = "wgs84"
        return frame.set_crs(STORAGE_CRS, allow_override=True)
    # No --crs or cgcs2000: trust a declared projected CRS; otherwise decide from the numbers.
    if (
        declared is not None
        and not declared.is_geographic
        and not (spec and spec.kind == "cgcs2000")
    ):
        info.crs = declared.to_string()
        return frame.to_crs(STORAGE_CRS)
    if projected_numbers:
        east = bounds[:, 0]
        north = bounds[:, 1]
        # Survey exports put northing first (X); geometries normally hold x = easting.
        if np.nanmedian(east) > 2e6 and np.nanmedian(east) < 1e7 and np.nanmedian(north) < 1e6:
            frame = frame.set_geometry(
                shapely.transform(frame.geometry.values, lambda xy: xy[:, ::-1])
            )
            info.notes.append("几何坐标 X/Y 顺序为 北/东，已交换")
            east = north
        crs = str(coords.gk_crs_for_easting(np.array([np.nanmedian(east)]))[0])  # numpy.str_ confuses pyproj
        if declared is not None and declared.is_geographic:
            info.notes.append(
                f"文件声明 {declared.to_string()}，但坐标是米制数值：按 CGCS2000 高斯-克吕格 {crs} 读取"
            )
        elif declared is None:
            info.notes.append(
                f"文件没有坐标系（缺 .prj？），按数值判断为 CGCS2000 高斯-克吕格 {crs}"
            )
        info.crs = str(crs)
        return frame.set_crs(crs, allow_override=True).to_crs(STORAGE_CRS)
    if declared is None:
        info.notes.append("文件没有坐标系（缺 .prj？），按数值判断为经纬度（WGS84/CGCS2000）")
        info.crs = "wgs84"
        return frame.set_crs(STORAGE_CRS)
    info.crs = "cgcs2000" if spec is not None else declared.to_string()
    return frame.to_crs(STORAGE_CRS)


def degrees_hint(info: InputInfo, crs: str) -> None:
    """Note that numbers in the lon/lat range were declared as a projected CRS (metres): likely wrong."""
    note = (f"坐标声明为投影坐标系 {crs}（单位：米），但数值都在经纬度范围内，结果多半落在区外；"
            "若其实是经纬度，请用 --crs wgs84（或 gcj02/bd09）重新核查 / coordinates declared as "
            f"{crs} (metres) look like degrees; if they are lon/lat, rerun with --crs wgs84")
    if note not in info.notes:
        info.notes.append(note)


#: A site wider or taller than this (degrees, ~200 km) is not a project site but a wrong CRS or a stray shape.
MAX_SITE_EXTENT_DEG = 2.0

_REASONS = {
    "Self-intersection": "边界自相交",
    "Ring Self-intersection": "环自相交",
    "Too few points": "点数不足",
    "Hole lies outside shell": "内环在外环之外",
    "Nested shells": "外环嵌套",
    "Interior is disconnected": "内部不连通",
    "Duplicate Rings": "重复的环",
    "Invalid Coordinate": "坐标无效",
    "Nested holes": "内环嵌套",
    "Ring is not closed": "环未闭合",
}


def reason_zh(reason: str) -> str:
    """GEOS's English validity reason in Chinese (longest matching prefix; the English kept after it if unknown)."""
    for key in sorted(_REASONS, key=len, reverse=True):
        if reason.startswith(key):
            return _REASONS[key]
    return f"其他几何错误（{reason}）" if reason else "几何无效"


def finish_geometries(frame: gpd.GeoDataFrame, info: InputInfo) -> gpd.GeoDataFrame:
    """Flag empty, out-of-range and invalid geometries (repairing the latter for analysis)."""
    frame = frame.copy()
    geoms = frame.geometry.values
    open_ = frame["_status"].isna().to_numpy()
    empty = pd.isna(geoms) | shapely.is_empty(geoms)
    sel = empty & open_
    frame.loc[sel, "_status"] = "invalid_geometry"
    frame.loc[sel, "_message"] = "几何为空（没有坐标）"
    geoms = shapely.force_2d(geoms)
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        out_of_range = ~empty & (
            (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1)
            | (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1)
            | ~np.isfinite(bounds).all(axis=1)
        )
    sel = out_of_range & frame["_status"].isna().to_numpy()
    frame.loc[sel, "_status"] = "invalid_coordinates"
    frame.loc[sel, "_message"] = "坐标超出经纬度范围（坐标系是否正确？）"
    with np.errstate(invalid="ignore"):
        huge = ~empty & ~out_of_range & (
            (bounds[:, 2] - bounds[:, 0] > MAX_SITE_EXTENT_DEG) | (bounds[:, 3] - bounds[:, 1] > MAX_SITE_EXTENT_DEG)
        )
    sel = huge & frame["_status"].isna().to_numpy()
    frame.loc[sel, "_status"] = "invalid_geometry"
    frame.loc[sel, "_message"] = (f"几何范围超过 {MAX_SITE_EXTENT_DEG:g}°（约 200 公里），不是一个项目选址（坐标系是否正确？"
                                  "是否误含整幅图框？）")
    geoms = np.where(out_of_range | empty | huge, None, geoms)  # no usable place: no geometry  # an empty geometry has no place: no geometry
    valid = shapely.is_valid(geoms)
    invalid = ~empty & ~out_of_range & ~valid
    if invalid.any():
        reasons = pd.Series(shapely.is_valid_reason(geoms[invalid]))
        kind = reasons.str.extract(r"^([A-Za-z \-]+)", expand=False).str.strip()
        xy = reasons.str.extract(r"\[([-\d.eE+]+) ([-\d.eE+]+)\]")
        where = (
            pd.to_numeric(xy[0], errors="coerce").round(6).astype("string")
            + ", "
            + pd.to_numeric(xy[1], errors="coerce").round(6).astype("string")
        )
        zh = kind.fillna("").map(reason_zh)
        text = "几何无效：" + zh + np.where(where.notna(), "（位置 " + where.fillna("") + "）", "")
        text = text.astype(str)
        text = text + "；以下分析基于自动修复后的图形，请核对红线"
        idx = np.flatnonzero(invalid)
        still_open = frame["_status"].isna().to_numpy()[idx]
        frame.loc[frame.index[idx[still_open]], "_status"] = "invalid_geometry"
        frame.loc[frame.index[idx[still_open]], "_message"] = text.to_numpy()[still_open]
        geoms[idx] = shapely.make_valid(geoms[idx])
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=STORAGE_CRS))
    return frame

