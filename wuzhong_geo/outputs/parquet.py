"""results.parquet: GeoParquet (WKB geometry, EPSG:4326) streamed chunk by chunk with pyarrow."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def _geo_metadata(crs) -> bytes:
    """GeoParquet 1.1 metadata of one WKB column (no bbox: chunks are written before all are seen)."""
    column = {"encoding": "WKB", "geometry_types": [], "crs": crs.to_json_dict() if crs else None}
    return json.dumps({"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}).encode()


def _unique(column: pa.ChunkedArray) -> bool:
    """Whether most texts of a column differ, judged on its first rows (the first chunk's, when the file starts)."""
    sample = column.slice(0, 1000)
    return pc.count_distinct(sample).as_py() * 2 > len(sample)


class ParquetWriter:
    """Append chunks with the same columns to one GeoParquet file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._writer: pq.ParquetWriter | None = None

    def append(self, table: pa.Table, wkb: pa.Array, crs) -> None:
        """Write one chunk: attributes ``table`` and its ``wkb`` geometry (the first chunk's schema is the file's)."""
        if not len(table) and self._writer is not None:
            return
        table = table.append_column("geometry", wkb)
        if self._writer is None:
            meta = {**(table.schema.metadata or {}), b"geo": _geo_metadata(crs)}
            schema = table.schema.with_metadata(meta)
            # no Arrow schema in the file: dictionary columns read back as plain text, like any Parquet;
            # Parquet dictionaries for text only (tried on distances they fall back, at twice the
            # cost), and zstd level 1: the same size as the default level here, 30 % less CPU
            # texts that are (nearly) all different (names, raw coordinates) have none: their dictionary
            # page fills and falls back to plain after hashing every value (10 % of the file's CPU)
            text = [f.name for f in schema if pa.types.is_dictionary(f.type)
                    or (pa.types.is_large_string(f.type) or pa.types.is_string(f.type)) and not _unique(table[f.name])]
            self._writer = pq.ParquetWriter(self.path, schema, compression="zstd", compression_level=1,
                                            use_dictionary=text, store_schema=False)
            self._writer.add_key_value_metadata(meta)  # without the stored schema, metadata goes separately
        self._writer.write_table(table.cast(self._writer.schema))

    def close(self) -> None:
        """Finish the file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
