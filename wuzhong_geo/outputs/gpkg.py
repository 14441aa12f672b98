"""results.gpkg: layers appended chunk by chunk into typed tables (see :mod:`wuzhong_geo.gpkg`)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from wuzhong_geo import gpkg as typed


class GpkgWriter:
    """Append GeoDataFrames to named layers of one GeoPackage, one geometry type per table."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, layer: str, frame: gpd.GeoDataFrame) -> None:
        """Append ``frame`` to the typed tables of ``layer`` (``results_points``, ...); empty frames are skipped."""
        if not len(frame):
            return
        typed.append(frame, self.path, layer)

    def close(self) -> None:
        """Give every table its default QGIS style (each append already closed the file)."""
        from wuzhong_geo.qgis_styles import style_feature_tables

        if self.path.exists():
            style_feature_tables(self.path)
