"""results.gpkg: layers appended chunk by chunk through GDAL's Arrow interface."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio


class GpkgWriter:
    """Append GeoDataFrames to named layers of one GeoPackage."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._started: set[str] = set()

    def append(self, layer: str, frame: gpd.GeoDataFrame) -> None:
        """Append ``frame`` to ``layer`` (created by the first call); empty frames are skipped."""
        if not len(frame):
            return
        pyogrio.write_dataframe(
            frame,
            self.path,
            layer=layer,
            driver="GPKG",
            append=layer in self._started,
            geometry_type="Unknown",
            promote_to_multi=False,
            use_arrow=True,
        )
        self._started.add(layer)

    def close(self) -> None:
        """Nothing to flush (each append closes the file)."""
