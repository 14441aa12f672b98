"""results.gpkg: layers written in large batches into typed tables (see :mod:`wuzhong_geo.gpkg`).

Chunks arrive as Arrow tables (text decoded from the chunk's dictionaries in Arrow's C++, no pandas
frame) and go to GDAL through its Arrow interface. They are buffered up to :data:`FLUSH_ROWS` rows
per layer and written together: a table GDAL creates in one go gets its spatial index built once at
the end, while every appended row of an existing table updates the index through triggers (twice
the time). SQLite runs without fsync and without a rollback journal while the file is written: it
lives in the run's temporary folder, which is dropped whole if the run fails. Its pages are 64 KiB
(SQLite's largest; GDAL's default is 4 KiB): fewer B-tree pages to split and balance while rows are
inserted (about 12 % less CPU, a 10 % smaller file, the same tables and values).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyogrio

from wuzhong_geo import gpkg as typed

#: Rows buffered per layer before they are written (at most about 300 MB of results in memory).
FLUSH_ROWS = 250_000
#: GDAL settings while results.gpkg is written (see the module doc).
_FAST_SQLITE = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_SQLITE_JOURNAL": "OFF", "OGR_SQLITE_PRAGMA": "page_size=65536"}


class GpkgWriter:
    """Append chunks (Arrow attributes and shapely geometries) to named layers of one GeoPackage."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.crs = None
        self._buffer: dict[str, list[tuple[pa.Table, np.ndarray, pa.Array | None]]] = {}

    def append(self, layer: str, table: pa.Table, geoms, crs, wkb: pa.Array | None = None) -> None:
        """Add rows ``table`` with geometries ``geoms`` in ``crs`` (and their ``wkb``, if known) to
        ``layer`` (tables ``results_points``, ...); empty chunks are skipped."""
        if not len(table):
            return
        self.crs = crs
        parts = self._buffer.setdefault(layer, [])
        parts.append((table, np.asarray(geoms), wkb))
        if sum(len(t) for t, _, _ in parts) >= FLUSH_ROWS:
            self._flush(layer)

    def _flush(self, layer: str) -> None:
        parts = self._buffer.pop(layer, [])
        if not parts:
            return
        if len(parts) == 1:
            table, geoms, wkb = parts[0]
        else:
            table = pa.concat_tables([t for t, _, _ in parts])
            geoms = np.concatenate([g for _, g, _ in parts])
            wkb = None if any(w is None for _, _, w in parts) else pa.concat_arrays([w for _, _, w in parts])
        with _gdal_options(_FAST_SQLITE):
            typed.append_arrow(table, geoms, self.path, layer, self.crs, wkb=wkb)

    def close(self) -> None:
        """Write what is buffered and give every table its default QGIS style."""
        for layer in list(self._buffer):
            self._flush(layer)
        from wuzhong_geo.qgis_styles import style_feature_tables

        if self.path.exists():
            style_feature_tables(self.path)


@contextmanager
def _gdal_options(options: dict[str, str]):
    """Set GDAL config options for the block, then restore them."""
    old = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(old)
