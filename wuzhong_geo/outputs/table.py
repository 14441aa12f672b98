"""One chunk of results as Arrow data, converted once and shared by the CSV, GeoParquet and GPKG writers."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import shapely


def prepare_for_files(frame: pd.DataFrame) -> pd.DataFrame:
    """Object and categorical columns to text so every chunk has the same field types (GPKG appends need it).

    Returns a new frame sharing the other columns' data (no deep copy).
    """
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
    """A checked chunk for the writers: the pandas frame (text columns made uniform) and its Arrow table."""

    frame: gpd.GeoDataFrame  # geometry included
    table: pa.Table  # every column but geometry
    wkb: pa.Array  # the geometry as WKB (null where missing)

    @classmethod
    def of(cls, sites: gpd.GeoDataFrame) -> ChunkData:
        """Convert ``sites`` once (text columns as strings, geometry as WKB)."""
        frame = prepare_for_files(sites)
        if not isinstance(frame, gpd.GeoDataFrame):
            frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=sites.crs)
        table = pa.Table.from_pandas(frame.drop(columns="geometry"), preserve_index=False)
        wkb = pa.array(shapely.to_wkb(frame.geometry.values.to_numpy()), type=pa.binary(), from_pandas=True)
        return cls(frame=frame, table=table, wkb=wkb)
