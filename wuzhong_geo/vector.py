"""Read a user's vector file (GeoJSON, GPKG, Shapefile, zipped Shapefile …) with bilingual errors."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pandas as pd

from wuzhong_geo import limits
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import STORAGE_CRS
from wuzhong_geo.textio import read_csv_text, read_text


def short_reason(exc: BaseException) -> str:
    """First line of an exception, at most 200 characters: never a whole file echoed into a message."""
    text = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def read_vector(path: str | Path, *, what: str = "矢量 vector", **kwargs) -> gpd.GeoDataFrame:
    """Read any vector file GDAL knows; InputError (naming the file and what to do) if it cannot."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"找不到{what}文件 / {what} file not found: {path}")
    if path.suffix.lower() == ".zip":
        limits.check_zip(path)
    source: object = path
    if path.suffix.lower() in (".geojson", ".json"):
        text, codec = read_text(path)  # GeoJSON must be UTF-8, but GBK files from office tools are common
        if codec not in ("utf-8", "utf-8-sig"):
            source = io.BytesIO(text.encode("utf-8"))
    try:
        frame = gpd.read_file(source, engine="pyogrio", **kwargs)
    except Exception as exc:  # noqa: BLE001 pyogrio/GDAL raise many types for a damaged or foreign file
        raise InputError(
            f"{path.name}: 无法作为{what}文件读取（{type(exc).__name__}: {short_reason(exc)}），请用 "
            f".gpkg/.geojson/.shp/.zip 重新导出 / cannot read it as a {what} file; export it again as "
            ".gpkg, .geojson, .shp or .zip"
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InputError(f"{path.name}: 文件中没有几何（图形）列 / the file has no geometry column; "
                         "export it as .gpkg, .geojson or .shp")
    return frame


def read_point_table(path: Path) -> gpd.GeoDataFrame:
    """Read a CSV of lon/lat points (any common encoding); InputError names the rows without a position."""
    table = read_csv_text(path)
    cols = {str(c).strip().lower(): c for c in table.columns}
    lon = next((cols[c] for c in ("lon", "lng", "longitude", "x", "经度", "經度") if c in cols), None)
    lat = next((cols[c] for c in ("lat", "latitude", "y", "纬度", "緯度") if c in cols), None)
    if lon is None or lat is None:
        raise InputError(f"{path.name}: 需要 lon、lat（或 经度、纬度）两列，WGS84 经纬度 / a CSV of points needs "
                         "lon and lat columns (WGS84)")
    x = pd.to_numeric(table[lon].str.strip(), errors="coerce")
    y = pd.to_numeric(table[lat].str.strip(), errors="coerce")
    bad = ~(x.between(-180, 180) & y.between(-90, 90))
    if bad.any():
        rows = ", ".join(str(i + 2) for i in table.index[bad][:5])
        raise InputError(f"{path.name}: 第 {rows} 行没有有效的经纬度（空、非数字或超出范围），请填写或删除这些行 / "
                         f"line(s) {rows} have no valid lon/lat (empty, not a number or out of range); "
                         "fill them in or delete the rows")
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y), crs=STORAGE_CRS)
