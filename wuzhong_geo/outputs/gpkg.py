"""results.gpkg: layers written in large batches into typed tables (see :mod:`wuzhong_geo.gpkg`).

Chunks are buffered up to :data:`FLUSH_ROWS` rows per layer and written together: a table GDAL
creates in one go gets its spatial index built once at the end, while every appended row of an
existing table updates the index through triggers (twice the time).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from wuzhong_geo import gpkg as typed

#: Rows buffered per layer before they are written (at most about 300 MB of results in memory).
FLUSH_ROWS = 250_000


class GpkgWriter:
    """Append GeoDataFrames to named layers of one GeoPackage, one geometry type per table."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._buffer: dict[str, list[gpd.GeoDataFrame]] = {}

    def append(self, layer: str, frame: gpd.GeoDataFrame) -> None:
        """Add ``frame`` to ``layer`` (tables ``results_points``, ...); empty frames are skipped."""
        if not len(frame):
            return
        frames = self._buffer.setdefault(layer, [])
        frames.append(frame)
        if sum(len(f) for f in frames) >= FLUSH_ROWS:
            self._flush(layer)

    def _flush(self, layer: str) -> None:
        frames = self._buffer.pop(layer, [])
        if frames:
            frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
            typed.append(gpd.GeoDataFrame(frame, geometry="geometry", crs=frames[0].crs), self.path, layer)

    def close(self) -> None:
        """Write what is buffered and give every table its default QGIS style."""
        for layer in list(self._buffer):
            self._flush(layer)
        from wuzhong_geo.qgis_styles import style_feature_tables

        if self.path.exists():
            style_feature_tables(self.path)
