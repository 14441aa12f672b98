"""results.parquet: GeoParquet (WKB geometry, EPSG:4326) streamed chunk by chunk with pyarrow."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely


def _geo_metadata(crs) -> bytes:
    """GeoParquet 1.1 metadata of one WKB column (no bbox: chunks are written before all are seen)."""
    column = {"encoding": "WKB", "geometry_types": [], "crs": crs.to_json_dict() if crs else None}
    return json.dumps({"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}).encode()


class ParquetWriter:
    """Append GeoDataFrames with the same columns to one GeoParquet file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._writer: pq.ParquetWriter | None = None

    def append(self, frame: gpd.GeoDataFrame) -> None:
        """Write one chunk (its schema is the file's; later chunks are cast to it)."""
        if not len(frame) and self._writer is not None:
            return
        table = pa.Table.from_pandas(frame.drop(columns="geometry"), preserve_index=False)
        wkb = shapely.to_wkb(frame.geometry.values.to_numpy())
        table = table.append_column("geometry", pa.array(wkb, type=pa.binary(), from_pandas=True))
        if self._writer is None:
            meta = {**(table.schema.metadata or {}), b"geo": _geo_metadata(frame.crs)}
            schema = table.schema.with_metadata(meta)
            self._writer = pq.ParquetWriter(self.path, schema, compression="zstd")
        self._writer.write_table(table.cast(self._writer.schema))

    def close(self) -> None:
        """Finish the file."""
        if self._writer is not None:
            self._writer.close()
