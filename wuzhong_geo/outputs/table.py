"""One chunk of results as Arrow data, converted once and shared by the CSV, GeoParquet, GPKG and XLSX writers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import shapely


#: The Arrow type of a categorical text column in :attr:`ChunkData.table` (the same in every chunk).
_DICTIONARY = pa.dictionary(pa.int32(), pa.large_string())


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Object and categorical columns to text: the field types every chunk shares (a shallow copy)."""
    converted = {
        col: frame[col].astype("string") for col in frame.columns if col != "geometry" and _uneven_text(frame[col].dtype)
    }
    return frame.assign(**converted) if converted else frame


def _uneven_text(dtype) -> bool:
    """Object, categorical and Arrow dictionary columns: their type can differ from chunk to chunk."""
    if dtype == object or isinstance(dtype, pd.CategoricalDtype):
        return True
    return isinstance(dtype, pd.ArrowDtype) and pa.types.is_dictionary(dtype.pyarrow_dtype)


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
        attributes = self.sites.drop(columns="geometry")
        text = {c: attributes[c].astype("string") for c in attributes if attributes[c].dtype == object}
        decoded = pa.Schema.from_pandas(_as_text(attributes.iloc[:0]), preserve_index=False)
        schema = pa.schema(
            [pa.field(f.name, _DICTIONARY) if isinstance(attributes[f.name].dtype, pd.CategoricalDtype) else f
             for f in decoded],
            metadata=decoded.metadata,
        )
        return pa.Table.from_pandas(attributes.assign(**text), preserve_index=False).cast(schema)

    @cached_property
    def wkb(self) -> pa.Array:
        """The geometry as WKB (null where missing)."""
        return pa.array(shapely.to_wkb(self.sites.geometry.values.to_numpy()), type=pa.binary(), from_pandas=True)
