"""Constants shared by every module: coordinate reference systems and data paths."""

from __future__ import annotations

from pathlib import Path

#: Storage CRS of every bundled layer (WGS84 geographic; CGCS2000 EPSG:4490 differs by < 1 m here).
STORAGE_CRS = "EPSG:4326"
#: CGCS2000 geographic, accepted as an alias of the storage CRS.
CGCS2000_GEOGRAPHIC = "EPSG:4490"
#: Analysis CRS for areas and distances: CGCS2000 / 3-degree Gauss-Kruger CM 120E.
ANALYSIS_CRS = "EPSG:4549"
#: The same projection with the zone number (40) prefixed to the easting.
ANALYSIS_CRS_ZONE_PREFIXED = "EPSG:4528"

#: Default radius (metres) of ``where``: nearby infrastructure and policy areas are listed within it.
WHERE_RADIUS_M = 3000.0

#: Wuzhong's NBS county code.
DISTRICT_CODE = "320506"
DISTRICT_NAME = "吴中区"

#: A generous lon/lat box around the district, used to sanity-check coordinates.
DISTRICT_BBOX = (119.85, 30.85, 121.0, 31.45)

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir() -> Path:
    """Return the bundled data folder (``data/`` in a checkout, ``wuzhong_geo/_data`` when installed)."""
    installed = _PACKAGE_DIR / "_data"
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent / "data"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        "wuzhong_geo's bundled data was not found: expected "
        f"{installed} (installed package) or {checkout} (source checkout). Reinstall the package."
    )


def plan_dir() -> Path:
    """Return the folder of plan tables (CSV/YAML)."""
    return data_dir() / "plan"


def base_gpkg() -> Path:
    """Return the GeoPackage of built base geometry (district, Taihu, land, schematic towns)."""
    return data_dir() / "base" / "wuzhong_base.gpkg"
