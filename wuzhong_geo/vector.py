"""Read a user's vector file (GeoJSON, GPKG, Shapefile, zipped Shapefile …) with bilingual errors."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from wuzhong_geo import coords, limits, textio
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import STORAGE_CRS
from wuzhong_geo.textio import read_csv_text, read_text


def short_reason(exc: BaseException) -> str:
    """First line of an exception, at most 200 characters: never a whole file echoed into a message."""
    text = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _dbf_bytes(path: Path) -> bytes | None:
    """The DBF of a Shapefile (plain or zipped) that has no .cpg and no code-page byte, else None."""
    suffix = path.suffix.lower()
    if suffix == ".shp":
        if any(path.with_suffix(s).exists() for s in (".cpg", ".CPG")):
            return None
        dbf = next((path.with_suffix(s) for s in (".dbf", ".DBF") if path.with_suffix(s).exists()), None)
        data = dbf.read_bytes() if dbf is not None else b""
    elif suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if not n.startswith("__MACOSX")]
                dbfs = [n for n in names if n.lower().endswith(".dbf")]
                if not dbfs or any(n.lower().endswith(".cpg") for n in names):
                    return None
                data = z.read(dbfs[0])  # sizes were bounded by limits.check_zip
        except zipfile.BadZipFile:
            return None
    else:
        return None
    # Byte 29 is the dBase language driver id: GDAL decodes by it when it is set.
    return data if len(data) > 32 and data[29] == 0 else None


def shapefile_encoding(path: str | Path, encoding: str | None = None) -> str | None:
    """The encoding to read a Shapefile's DBF with: ``encoding``, or detected when no .cpg says it.

    GDAL reads a DBF without .cpg as Latin-1, which turns the GBK that Chinese desktop GIS writes
    into mojibake; the bytes are decoded strictly instead (UTF-8, then GB18030 or Big5). None: let
    GDAL decide (.cpg present, ASCII only, not a Shapefile). InputError names the file and
    ``--encoding`` when no encoding decodes it.
    """
    path = Path(path)
    if encoding is not None:
        return textio.check_encoding(encoding)
    data = _dbf_bytes(path)
    if data is None:
        return None
    # The records decide (GDAL cuts field names at 11 bytes, which can split a UTF-8 character);
    # the field descriptors only when every value is ASCII.
    header_end = int.from_bytes(data[8:10], "little")
    records, names = data[header_end:], data[32:header_end]
    codec = textio.detect_bytes_encoding(records if not records.isascii() else names)
    if codec is None:
        raise InputError(
            f"{path.name}: 属性表（.dbf）没有 .cpg 编码说明，且不是 UTF-8、GBK/GB18030 或 Big5；请用 --encoding 指定"
            "（如 --encoding latin1），或在 .shp 旁放一个写有编码名的 .cpg 文件 / the attribute table (.dbf) has no "
            ".cpg and is neither UTF-8, GBK/GB18030 nor Big5: pass --encoding (e.g. --encoding latin1) or add a "
            ".cpg file naming its encoding"
        )
    return None if codec == "ascii" else codec.upper()  # as GDAL and .cpg files spell them


def read_vector(
    path: str | Path, *, what: str = "矢量 vector", encoding: str | None = None, **kwargs
) -> gpd.GeoDataFrame:
    """Read any vector file GDAL knows; InputError (naming the file and what to do) if it cannot.

    A Shapefile without .cpg is decoded by :func:`shapefile_encoding`; a file that declares
    Xi'an 1980 or Beijing 1954 is refused (:func:`wuzhong_geo.coords.refuse_declared_crs`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"找不到{what}文件 / {what} file not found: {path}")
    if path.suffix.lower() == ".zip":
        limits.check_zip(path)
    codec = shapefile_encoding(path, encoding)
    if codec is not None:
        kwargs["encoding"] = codec
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
    coords.refuse_declared_crs(frame.crs, path.name)
    return frame


def read_point_table(path: Path, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a CSV of lon/lat points (any common encoding); InputError names the rows without a position."""
    table = read_csv_text(path, encoding)
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
