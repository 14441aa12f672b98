"""Small geometry helpers shared by the layers and the build."""

from __future__ import annotations

import geopandas as gpd
import shapely
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from wuzhong_geo.settings import STORAGE_CRS


def polygonal(geom: BaseGeometry) -> MultiPolygon:
    """Return the polygon parts of a geometry as one valid MultiPolygon (drops stray lines/points)."""
    geom = shapely.make_valid(geom)
    parts = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, (Polygon, MultiPolygon))]
    return MultiPolygon([p for g in parts for p in getattr(g, "geoms", [g]) if not p.is_empty])


def to_storage(frame: gpd.GeoDataFrame, grid: float | None = None) -> gpd.GeoDataFrame:
    """Reproject polygons to the storage CRS and repair what reprojection can break.

    ``grid`` snaps coordinates to a precision grid (degrees) first, so rebuilds are stable.
    """
    out = frame.to_crs(STORAGE_CRS)
    geoms = out.geometry
    if grid:
        geoms = geoms.set_precision(grid)
    out = out.set_geometry(geoms.apply(polygonal), crs=STORAGE_CRS)
    return out
