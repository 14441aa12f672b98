"""Rasters: one shared planning grid, categorical GeoTIFFs, zonal statistics and hillshade.

Every raster this module writes lies on one grid in ``settings.ANALYSIS_CRS`` (EPSG:4549): the
district's bounds snapped outward to multiples of the resolution, so two grids of the same
resolution always share cell edges, whatever boundaries are in use.
"""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.warp import reproject

from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import ANALYSIS_CRS

Bounds = tuple[float, float, float, float]


# --------------------------------------------------------------------------------------------
# Hillshade (used lazily by the static maps: keep this import-light)
# --------------------------------------------------------------------------------------------

def hillshade(
    dem_path, bounds: Bounds, resolution_m: float = 30.0, *,
    azimuth: float = 315.0, altitude: float = 45.0, z_factor: float = 1.0,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Return hillshade (0..1, NaN without DEM data) and its (xmin, xmax, ymin, ymax) in EPSG:4549.

    ``bounds`` is (xmin, ymin, xmax, ymax) in EPSG:4549. The DEM (any CRS, heights in metres)
    is resampled bilinearly onto a north-up grid of ``resolution_m`` covering ``bounds``; row 0
    is the northern edge, so draw it with ``imshow(shade, extent=extent, origin="upper")``.
    A flat cell is ``sin(altitude)`` (0.71 at 45°); slopes facing the light approach 1.
    """
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if not (xmax > xmin and ymax > ymin):
        raise InputError(f"hillshade bounds {bounds} are empty: expected (xmin, ymin, xmax, ymax)")
    if resolution_m <= 0:
        raise InputError(f"hillshade resolution must be positive, not {resolution_m}")
    width = max(1, int(np.ceil((xmax - xmin) / resolution_m)))
    height = max(1, int(np.ceil((ymax - ymin) / resolution_m)))
    transform = from_origin(xmin, ymax, resolution_m, resolution_m)
    elevation = np.full((height, width), np.nan, dtype="float32")
    with _open_raster(dem_path, "DEM") as src:
        if src.crs is None:
            raise InputError(f"DEM {dem_path} has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:4326)")
        reproject(
            source=rasterio.band(src, 1), destination=elevation,
            src_nodata=src.nodata, dst_transform=transform, dst_crs=CRS.from_user_input(ANALYSIS_CRS),
            dst_nodata=np.nan, resampling=Resampling.bilinear,
        )
    if not np.isfinite(elevation).any():
        raise InputError(f"DEM {dem_path} does not cover the map area {bounds} (EPSG:4549)")
    shade = shade_relief(elevation, resolution_m, azimuth=azimuth, altitude=altitude, z_factor=z_factor)
    extent = (xmin, xmin + width * resolution_m, ymax - height * resolution_m, ymax)
    return shade, extent


def shade_relief(
    elevation: np.ndarray, resolution_m: float, *,
    azimuth: float = 315.0, altitude: float = 45.0, z_factor: float = 1.0,
) -> np.ndarray:
    """Return the hillshade (0..1) of a north-up elevation array with square cells."""
    z = np.asarray(elevation, dtype="float64") * z_factor
    if min(z.shape) < 2:
        flat = np.full(z.shape, np.sin(np.radians(altitude)))
        return np.where(np.isfinite(z), flat, np.nan).astype("float32")
    d_row, d_col = np.gradient(z, resolution_m)
    dz_dx, dz_dy = d_col, -d_row  # rows run southwards, y runs northwards
    az, alt = np.radians(azimuth), np.radians(altitude)
    # Lambert shading: unit surface normal (-dz/dx, -dz/dy, 1) dotted with the unit vector towards
    # the light, whose azimuth is clockwise from north.
    light = (np.sin(az) * np.cos(alt), np.cos(az) * np.cos(alt), np.sin(alt))
    shade = (-dz_dx * light[0] - dz_dy * light[1] + light[2]) / np.sqrt(1.0 + dz_dx**2 + dz_dy**2)
    return np.clip(shade, 0.0, 1.0).astype("float32")


def _open_raster(path, what: str = "raster"):
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot open {what} {path}: {exc}") from exc
