"""Vector files as sites: GeoJSON, GeoPackage, Shapefile (plain or zipped; GBK DBF without .cpg), …"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio

from wuzhong_geo import limits
from wuzhong_geo.errors import InputError
from wuzhong_geo.inputs.geometry import finish_geometries, reproject_vector
from wuzhong_geo.inputs.sites import InputInfo, SiteReader, whole_frame_reader
from wuzhong_geo.vector import shapefile_encoding, short_reason

#: File suffixes read as vector data.
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".kml", ".parquet"}


def _zip_member(path: Path) -> str:
    """GDAL path of the dataset inside a zip (Shapefiles are often in a sub-folder)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except zipfile.BadZipFile:
        raise InputError(f"{path.name}: 不是有效的 zip 文件 / not a valid zip file") from None
    for ext in (".shp", ".gpkg", ".geojson", ".json"):
        found = sorted(n for n in names if n.lower().endswith(ext) and not n.startswith("__MACOSX"))
        if found:
            return f"/vsizip/{path.resolve()}/{found[0]}"
    raise InputError(
        f"{path.name}: zip 中没有 .shp/.gpkg/.geojson / the zip holds no vector file ({names[:10]})"
    )


def open_vector(
    path: Path, spec, layer: str | None, encoding: str | None, explicit: dict
) -> SiteReader:
    """Open a vector file (or zipped Shapefile) layer as sites in EPSG:4326."""
    if path.suffix.lower() == ".zip":
        limits.check_zip(path)
    source = _zip_member(path) if path.suffix.lower() == ".zip" else path
    try:
        layers = pyogrio.list_layers(source)
    except Exception as exc:  # noqa: BLE001 - pyogrio.errors.DataSourceError and friends
        raise InputError(
            f"{path.name}: 无法作为矢量文件读取（{short_reason(exc)}），请重新导出为 .gpkg/.geojson/.shp / "
            "cannot read as a vector file; export it again"
        ) from None
    if len(layers) == 0:
        raise InputError(f"{path.name}: 没有图层 / no layers")
    names = [str(n) for n in layers[:, 0]]
    if layer is not None and layer not in names:
        raise InputError(f"{path.name}: 没有图层 {layer!r}；已有 {names} / no layer {layer!r}")
    chosen = layer or names[0]
    info = InputInfo(source=path.name, format=_vector_format(path))
    if len(names) > 1:
        info.notes.append(f"读取图层 {chosen!r}（共 {len(names)} 个图层：{', '.join(names)}）")
    kwargs = {"layer": chosen, "engine": "pyogrio"}
    # A GBK DBF without .cpg (Chinese desktop GIS) would read as Latin-1 mojibake: decode it by its bytes.
    codec = shapefile_encoding(path, encoding)
    try:
        frame = gpd.read_file(source, encoding=codec, **kwargs) if codec else gpd.read_file(source, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any reader failure is an unreadable file
        raise InputError(f"{path.name}: 无法读取（{short_reason(exc)}）/ cannot read it; export it again") from None
    if codec:
        info.encoding = codec
        if not encoding:
            info.notes.append(f"属性表（DBF）没有 .cpg 编码说明，按字节识别为 {codec} 读取")
    if frame.empty:
        raise InputError(
            f"{path.name}: 图层 {chosen!r} 没有要素 / layer {chosen!r} has no features"
        )
    frame = vector_sites(frame, spec, info)
    return whole_frame_reader(frame, info, explicit)


def _vector_format(path: Path) -> str:
    suffix = path.suffix.lower()
    return {
        ".shp": "shapefile",
        ".zip": "shapefile_zip",
        ".gpkg": "gpkg",
        ".json": "geojson",
        ".geojson": "geojson",
    }.get(suffix, suffix.lstrip("."))


def vector_sites(frame: gpd.GeoDataFrame, spec, info: InputInfo) -> gpd.GeoDataFrame:
    """A GeoDataFrame as sites: reprojected to EPSG:4326, internal columns added, geometries checked."""
    geom_name = frame.geometry.name
    frame = frame.rename_geometry("geometry") if geom_name != "geometry" else frame
    frame = reproject_vector(frame, spec, info, default_by_numbers=frame.crs is None)
    n = len(frame)
    frame["_status"] = np.full(n, None, dtype=object)
    frame["_message"] = np.full(n, "", dtype=object)
    frame["_notes"] = np.full(n, "", dtype=object)
    frame["_swapped"] = np.zeros(n, dtype=bool)
    frame["_dms"] = np.zeros(n, dtype=bool)
    frame["_source_crs"] = info.crs
    return finish_geometries(frame, info)

