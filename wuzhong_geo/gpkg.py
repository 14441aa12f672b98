"""Write GeoPackages every client reads cleanly: one geometry type per table, GeoPackage 1.2.

Debian 12's GDAL 3.6 and QGIS 3.22 warn about GeoPackage 1.4 files ("may only be partially
supported"), and a table of geometry type "Unknown" (mixed points and lines) is shown by them as
several sub-layers or not at all. So every writer goes through this module:

* a frame whose rows hold one geometry family keeps its table name (``towns``);
* a frame that mixes families is split into ``<name>_points``, ``<name>_lines``, ``<name>_polygons``
  (``_multipoints``, ``_collections`` if needed); its rows without geometry go to a non-spatial
  table ``<name>_no_geometry``;
* chunked writers (:func:`append`) cannot know the families of later chunks, so they always use
  the suffixed tables.

:func:`read` puts such a group of tables back together as one GeoDataFrame.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pyproj
import shapely

from wuzhong_geo.settings import STORAGE_CRS

#: The GeoPackage version written; GDAL 3.6 (Debian 12) reads 1.2 without a warning, 1.4 with one.
GPKG_VERSION = "1.2"
#: Table-name suffix of each geometry family, and the GeoPackage geometry type of its table.
FAMILIES: dict[str, str] = {
    "points": "Point",
    "multipoints": "MultiPoint",
    "lines": "MultiLineString",
    "polygons": "MultiPolygon",
    "collections": "GeometryCollection",
}
#: Suffix of the non-spatial table that holds rows without geometry when a frame is split.
NO_GEOMETRY = "no_geometry"
_SINGLE = {"lines": "LineString", "polygons": "Polygon"}
#: shapely type ids of MultiLineString and MultiPolygon (a table of them cannot be single-typed).
_MULTI_TYPE_IDS = (5, 6)
#: shapely type ids promoted to their multi type in a multi-typed table, and how.
_PROMOTE = {1: shapely.multilinestrings, 2: shapely.multilinestrings, 3: shapely.multipolygons}
_FAMILY_OF_TYPE = {
    "Point": "points", "MultiPoint": "multipoints", "LineString": "lines", "LinearRing": "lines",
    "MultiLineString": "lines", "Polygon": "polygons", "MultiPolygon": "polygons",
    "GeometryCollection": "collections",
}


def families(frame: gpd.GeoDataFrame) -> pd.Series:
    """Return each row's geometry family (a key of :data:`FAMILIES`), "" for no or empty geometry."""
    return pd.Series(_families(frame.geometry.values), index=frame.index, dtype=object)


def _families(geoms) -> np.ndarray:
    """:func:`families` of an array of shapely geometries (an object array of family names)."""
    # shapely type id (-1 missing, 0 Point … 7 GeometryCollection) -> family, by array lookup
    names = ["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
             "GeometryCollection"]
    lookup = np.array([_FAMILY_OF_TYPE[n] for n in names] + [""], dtype=object)
    kinds = np.asarray(shapely.get_type_id(geoms))
    out = lookup[np.where((kinds >= 0) & (kinds < len(names)), kinds, len(names))]
    out[np.asarray(shapely.is_empty(geoms)) | np.asarray(shapely.is_missing(geoms))] = ""
    return out


def split_family(table: str) -> tuple[str, str | None]:
    """Return (base name, family or ``no_geometry``) of a table name, family None if unsuffixed."""
    for suffix in (*FAMILIES, NO_GEOMETRY):
        if table.endswith("_" + suffix):
            return table[: -len(suffix) - 1], suffix
    return table, None


def _geometry_type(family: str, geoms, exact: bool) -> str:
    """The table geometry type of ``geoms`` (shapely geometries of one family); single only if ``exact``."""
    gtype = FAMILIES[family]
    geoms = np.asarray(geoms)
    if exact and family in _SINGLE:
        multi = shapely.get_num_geometries(geoms) > 1
        if not multi.any() and not np.isin(shapely.get_type_id(geoms), _MULTI_TYPE_IDS).any():
            gtype = _SINGLE[family]
    if shapely.has_z(geoms).any():
        gtype += " Z"
    return gtype


def _write(path: Path, table: str, frame: pd.DataFrame, gtype: str | None, append: bool) -> None:
    kwargs = {"append": True} if append else {"dataset_options": {"VERSION": GPKG_VERSION}}
    if gtype is None:  # a non-spatial (attributes) table
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame)
                             else frame)
        pyogrio.write_dataframe(frame, path, layer=table, driver="GPKG", use_arrow=True, **kwargs)
        return
    pyogrio.write_dataframe(frame, path, layer=table, driver="GPKG", geometry_type=gtype,
                            promote_to_multi=gtype.startswith("Multi"), use_arrow=True, **kwargs)


def write(frame: gpd.GeoDataFrame, path: str | Path, layer: str) -> list[str]:
    """Write ``frame`` as typed table(s) named after ``layer`` (see module doc); return the table names."""
    path = Path(path)
    fam = families(frame)
    present = [f for f in FAMILIES if (fam == f).any()]
    if not present:
        _write(path, layer, frame, None, False)
        return [layer]
    if len(present) == 1:  # one family: keep the name; rows without geometry stay, with NULL geometry
        _write(path, layer, frame, _geometry_type(present[0], frame.geometry.values[(fam != "").to_numpy()], exact=True), False)
        return [layer]
    tables = []
    for family in present:
        part = frame[fam == family]
        table = f"{layer}_{family}"
        _write(path, table, part, _geometry_type(family, part.geometry.values, exact=True), False)
        tables.append(table)
    if (fam == "").any():
        tables.append(f"{layer}_{NO_GEOMETRY}")
        _write(path, tables[-1], frame[fam == ""], None, False)
    return tables


def append(frame: gpd.GeoDataFrame, path: str | Path, layer: str) -> list[str]:
    """Append a chunk to the suffixed typed tables of ``layer``; return the tables it went to."""
    attributes = pa.Table.from_pandas(pd.DataFrame(frame.drop(columns=frame.geometry.name)), preserve_index=False)
    return append_arrow(attributes, frame.geometry.values, path, layer, frame.crs)


def append_arrow(table: pa.Table, geoms, path: str | Path, layer: str, crs, wkb: pa.Array | None = None) -> list[str]:
    """Append a chunk given as Arrow attributes ``table`` and its shapely ``geoms`` (one per row, in ``crs``) to
    the suffixed typed tables of ``layer``, as :func:`append` does; return the tables it went to.

    ``wkb``: the geometry already as WKB (reused for tables that need no promotion to a multi type).
    Attributes go to GDAL as they are: no pandas frame, no Python object per cell.
    """
    path = Path(path)
    existing = {str(n) for n in pyogrio.list_layers(path)[:, 0]} if path.exists() else set()
    geoms = np.asarray(geoms)
    fam = _families(geoms)
    crs_text = _crs_text(crs)
    written = []
    for family in [*FAMILIES, ""]:
        mask = fam == family
        if not mask.any():
            continue
        every = bool(mask.all())
        part = table if every else table.filter(pa.array(mask))
        name = f"{layer}_{family or NO_GEOMETRY}"
        options = {"append": True} if name in existing else {"dataset_options": {"VERSION": GPKG_VERSION}}
        if family:
            gtype = _geometry_type(family, geoms[mask], exact=False)
            part = part.append_column("geometry", _wkb(geoms[mask], gtype, wkb if every else None))
            options.update(geometry_name="geometry", geometry_type=gtype, crs=crs_text)
        pyogrio.write_arrow(gdal_types(part), path, layer=name, driver="GPKG", **options)
        written.append(name)
    return written


def stream_points(batches: pa.RecordBatchReader, path: str | Path, layer: str, crs) -> str:
    """Write ``batches`` (attributes and a WKB ``geometry`` column of 2D points) as the new table
    ``<layer>_points`` of a new file ``path`` in one GDAL call; return the table name.

    GDAL writes each batch as it arrives and builds the spatial index once, at the end; appending the
    same rows chunk by chunk updates the index per row instead (twice the CPU, measured).
    """
    name = f"{layer}_points"
    pyogrio.write_arrow(batches, path, layer=name, driver="GPKG", geometry_name="geometry",
                        geometry_type=FAMILIES["points"], crs=_crs_text(crs), dataset_options={"VERSION": GPKG_VERSION})
    return name


def _wkb(geoms: np.ndarray, gtype: str, wkb: pa.Array | None) -> pa.Array:
    """WKB of ``geoms``, single parts promoted to the multi type of a ``Multi…`` table (GDAL would refuse them)."""
    if gtype.startswith("Multi"):
        kinds = shapely.get_type_id(geoms)
        promote = np.isin(kinds, list(_PROMOTE))
        if promote.any():
            geoms = geoms.copy()
            for kind, make in _PROMOTE.items():
                rows = kinds == kind
                if rows.any():
                    geoms[rows] = make(np.atleast_2d(geoms[rows]), axis=0)
            wkb = None
    if wkb is None:
        wkb = pa.array(shapely.to_wkb(geoms), type=pa.binary(), from_pandas=True)
    return wkb


def gdal_types(table: pa.Table) -> pa.Table:
    """Arrow types GDAL cannot write as they are: all-null columns to text, dictionaries decoded."""
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type) or pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.with_type(pa.large_string()), table.column(i).cast(pa.large_string()))
    return table


def _crs_text(crs) -> str | None:
    """``EPSG:n`` where the CRS has a code, else its WKT (as pyogrio's write_dataframe passes it)."""
    if crs is None:
        return None
    crs = pyproj.CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt("WKT1_GDAL")


def tables(path: str | Path, layer: str) -> list[str]:
    """Return the tables of ``path`` that hold ``layer`` (itself or its suffixed family tables)."""
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    return [n for n in names if n == layer or (split_family(n)[0] == layer and split_family(n)[1])]


def read(path: str | Path, layer: str) -> gpd.GeoDataFrame:
    """Read ``layer`` (one table, or its family tables put back together, in ``row_id`` order if any)."""
    parts = []
    crs = None
    for table in tables(path, layer):
        part = pyogrio.read_dataframe(path, layer=table, use_arrow=True)
        if not isinstance(part, gpd.GeoDataFrame):
            part = gpd.GeoDataFrame(part, geometry=gpd.GeoSeries([None] * len(part), index=part.index))
        crs = crs or part.crs
        parts.append(part)
    if not parts:
        raise KeyError(f"{Path(path).name} has no table {layer!r}")
    # only rows without geometry: no table carries a CRS, and the toolkit stores EPSG:4326
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs or STORAGE_CRS)
    if "row_id" in frame.columns:
        frame = frame.sort_values("row_id", kind="stable").reset_index(drop=True)
    return frame
