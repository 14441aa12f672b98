"""One chunk of results as Arrow data, converted once and shared by the CSV, GeoParquet, GPKG and XLSX writers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from wuzhong_geo.columns import is_whole

#: The Arrow type of a categorical text column in :attr:`ChunkData.table` (the same in every chunk).
_DICTIONARY = pa.dictionary(pa.int32(), pa.large_string())
#: One 2D point as WKB (little endian, as shapely writes it on this machine): byte order, type 1, x, y.
_CATEGORY = pd.CategoricalDtype()  # every categorical column's :func:`_schema` key
_POINT_WKB = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])


def _uneven_text(dtype) -> bool:
    """Object, categorical and Arrow dictionary columns: their type can differ from chunk to chunk."""
    if dtype == object or isinstance(dtype, pd.CategoricalDtype):
        return True
    return isinstance(dtype, pd.ArrowDtype) and pa.types.is_dictionary(dtype.pyarrow_dtype)


@lru_cache(maxsize=16)
def _schema(columns: tuple[tuple[str, object], ...]) -> pa.Schema:
    """The Arrow schema of :attr:`ChunkData.table` for columns of these (name, dtype) pairs: the types of
    a zero-row frame whose uneven text columns are text, categoricals as :data:`_DICTIONARY`.

    Cached: chunks of one run share their dtypes, so the pandas metadata is built once, not per chunk.
    """
    empty = pd.DataFrame({name: pd.Series([], dtype="string" if dtype == _CATEGORY or _uneven_text(dtype) else dtype)
                          for name, dtype in columns})
    decoded = pa.Schema.from_pandas(empty, preserve_index=False)
    fields = [pa.field(f.name, _DICTIONARY) if dtype == _CATEGORY else f
              for f, (_, dtype) in zip(decoded, columns, strict=True)]
    return pa.schema(fields, metadata=decoded.metadata)


def _dtype_key(dtype) -> object:
    """A column's dtype as :func:`_schema`'s cache key: every categorical the same (their categories differ)."""
    return _CATEGORY if isinstance(dtype, pd.CategoricalDtype) else dtype


def _arrow(values: pd.Series, field: pa.Field) -> pa.Array | pa.ChunkedArray:
    """One column as ``field``'s type (object columns as text, categoricals as dictionaries)."""
    if values.dtype == object:
        try:  # strings and missing values straight to Arrow, without a pandas string array first
            array = pa.array(values.to_numpy(), type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # other objects: as pandas writes them as text
            array = pa.array(values.astype("string"), from_pandas=True)
    else:
        array = pa.array(values, from_pandas=True)
    return array if array.type == field.type else array.cast(field.type)


def _point_wkb(geoms: np.ndarray) -> pa.Array | None:
    """WKB of non-empty 2D points from their coordinates (as :func:`shapely.to_wkb` writes them), None
    if any geometry is something else: a point table's WKB without a GEOS call per row."""
    if not len(geoms) or not (shapely.get_type_id(geoms) == 0).all() or shapely.has_z(geoms).any():
        return None
    xy = shapely.get_coordinates(geoms)
    if len(xy) != len(geoms):  # an empty point has no coordinates
        return None
    records = np.empty(len(geoms), dtype=_POINT_WKB)
    records["order"], records["kind"], records["x"], records["y"] = 1, 1, xy[:, 0], xy[:, 1]
    offsets = np.arange(0, (len(geoms) + 1) * _POINT_WKB.itemsize, _POINT_WKB.itemsize, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), len(geoms), [None, pa.py_buffer(offsets), pa.py_buffer(records)])


@dataclass(frozen=True)
class ChunkData:
    """A checked chunk for the writers: its Arrow table and its geometry as WKB.

    :meth:`of` only wraps the chunk; each view is built on first use, on the writer thread that
    needs it first (Arrow and GEOS release the GIL there, so the next chunk's check goes on).
    """

    sites: gpd.GeoDataFrame  # as checked (categorical text columns), geometry included

    @classmethod
    def of(cls, sites: gpd.GeoDataFrame) -> ChunkData:
        """Wrap ``sites`` for the writers (shallow copy: later changes to ``sites`` are not seen)."""
        return cls(sites=sites.copy(deep=False))

    @cached_property
    def table(self) -> pa.Table:
        """Every column but geometry, with the same types in every chunk: categorical columns as Arrow
        dictionaries (int32 indices, large_string values), other text as large_string. The writers
        take dictionaries as they are, without a Python string per cell."""
        names = [c for c in self.sites.columns if c != "geometry"]
        columns = [self.sites[c] for c in names]
        schema = _schema(tuple((c, _dtype_key(v.dtype)) for c, v in zip(names, columns, strict=True)))
        return pa.Table.from_arrays([_arrow(v, f) for v, f in zip(columns, schema, strict=True)], schema=schema)

    @cached_property
    def text_table(self) -> pa.Table:
        """:attr:`table` for the writers that format numbers as text (CSV, XLSX): whole-number columns
        (distances in metres) as int64, which Arrow formats several times faster than floats, with
        the same text ("1587", not "1587.0"). A fraction there is a bug upstream: the cast raises."""
        table = self.table
        for i, field in enumerate(table.schema):
            if pa.types.is_floating(field.type) and is_whole(field.name):
                table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
        return table

    @cached_property
    def wkb(self) -> pa.Array:
        """The geometry as WKB (null where missing)."""
        geoms = self.sites.geometry.values.to_numpy()
        points = _point_wkb(geoms)
        if points is not None:
            return points
        return pa.array(shapely.to_wkb(geoms), type=pa.binary(), from_pandas=True)
