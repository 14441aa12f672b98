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
        col: frame[col].astype("string")
        for col in frame.columns
        if col != "geometry" and (frame[col].dtype == object or isinstance(frame[col].dtype, pd.CategoricalDtype))
    }
    return frame.assign(**converted) if converted else frame


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
