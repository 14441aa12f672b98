"""Read any project list an analyst gets into sites: one row per input row, none dropped.

Supported: CSV/TSV/TXT (UTF-8, UTF-8 with BOM, GBK/GB18030, Big5; detected), XLSX, GeoJSON,
GeoPackage, Shapefile (plain or zipped; GBK DBF without .cpg), 界址点坐标 TXT, and in-memory
DataFrames/GeoDataFrames. Every row leaves with a geometry in EPSG:4326 (or None) and, when its
coordinates or geometry are unusable, a pre-analysis ``_status`` and a Chinese ``_message``
(see :mod:`wuzhong_geo.inputs.sites`). Readers know nothing of results.

Modules: ``detect`` (column roles from header names), ``tables`` (CSV/XLSX/DataFrame),
``vector`` (GIS files), ``parcels`` (界址点坐标 TXT parser), ``geometry`` (CRS, validity),
``sites`` (InputInfo, SiteReader).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import geopandas as gpd
import pandas as pd

from wuzhong_geo import coords
from wuzhong_geo.errors import InputError
from wuzhong_geo.inputs.sites import (
    INTERNAL_COLUMNS,
    InputInfo,
    SiteReader,
    slices,
    whole_frame_reader,
)
from wuzhong_geo.inputs.tables import open_excel, open_text, table_reader
from wuzhong_geo.inputs.vector import VECTOR_SUFFIXES, open_vector, vector_sites

__all__ = ["INTERNAL_COLUMNS", "InputInfo", "SiteReader", "open_input", "read_input"]


def read_input(source, **options) -> tuple[gpd.GeoDataFrame, InputInfo]:
    """Read a file or frame (see :func:`open_input`) into sites; return them with the InputInfo."""
    reader = open_input(source, **options)
    sites = reader.read()
    return sites, reader.info


def open_input(
    source,
    *,
    crs: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
    category_col: str | None = None,
    town_col: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    layer: str | None = None,
    reserved: Collection[str] = (),
) -> SiteReader:
    """Open a path, DataFrame or GeoDataFrame; raise InputError for anything that stops the run.

    ``crs``: wgs84 | cgcs2000 | gcj02 | bd09 | EPSG:n (default: WGS84 for degrees, CGCS2000
    Gauss-Kruger for metres, the file's own CRS for vector files). ``reserved``: column names the
    caller will add (input columns of those names are renamed ``input_<name>``).
    """
    spec = coords.parse_crs(crs) if crs else None
    if (lon_col is None) != (lat_col is None):
        raise InputError("--lon-col 与 --lat-col 须同时给出 / give both --lon-col and --lat-col")
    explicit = {
        "lon_col": lon_col,
        "lat_col": lat_col,
        "name_col": name_col,
        "category_col": category_col,
        "town_col": town_col,
        "reserved": tuple(reserved),
    }
    if isinstance(source, gpd.GeoDataFrame):
        info = InputInfo(source="GeoDataFrame", format="geodataframe")
        frame = vector_sites(source.copy(), spec, info)
        return whole_frame_reader(frame, info, explicit)
    if isinstance(source, pd.DataFrame):
        info = InputInfo(source="DataFrame", format="dataframe")
        return table_reader(
            lambda size: slices(source, size),
            source.head(0),
            len(source),
            spec,
            info,
            explicit,
            first=source.head(1000),
        )
    path = Path(source)
    if not path.exists():
        raise InputError(f"找不到输入文件 / input file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} 是文件夹，请给出文件 / is a folder; give a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: 文件为空 / the file is empty")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return open_text(path, spec, encoding, explicit)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return open_excel(path, spec, sheet, explicit)
    if suffix in VECTOR_SUFFIXES:
        return open_vector(path, spec, layer, encoding, explicit)
    raise InputError(
        f"{path.name}: 不支持的文件类型 {suffix!r} / unsupported file type; use CSV, XLSX, GeoJSON, GPKG, "
        "Shapefile (.shp/.zip) or 界址点坐标 TXT"
    )


# --- tables ------------------------------------------------------------------------------------
