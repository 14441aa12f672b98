"""Optional base tiles (off by default, so the page makes no request) and the GCJ-02 shift for Amap."""

from __future__ import annotations

import os
import re

import folium
import geopandas as gpd
import numpy as np
import shapely

from wuzhong_geo.errors import InputError

#: Values of ``tiles``: "none" (default, fully offline), OpenStreetMap, Tianditu, Amap (GCJ-02).
TILES = ("none", "osm", "tianditu", "amap")
#: Environment variable read when no Tianditu key is passed.
TIANDITU_KEY_ENV = "TIANDITU_KEY"

_TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/%(layer)s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=%(layer)s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%(key)s"
)
_AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)


def check_tiles(tiles: str) -> str:
    """Return ``tiles`` normalised, or raise InputError naming the accepted values."""
    value = str(tiles or "none").strip().lower()
    if value not in TILES:
        raise InputError(f"tiles must be one of {', '.join(TILES)}, not {tiles!r}")
    return value


def tianditu_key(key: str | None) -> str:
    """Return the Tianditu key (argument, else $TIANDITU_KEY), or raise InputError saying how to get one."""
    key = (key or os.environ.get(TIANDITU_KEY_ENV, "")).strip()
    if not key:
        raise InputError(
            "Tianditu tiles need your own key: pass --tianditu-key KEY (or tianditu_key=) or set "
            f"{TIANDITU_KEY_ENV}. Apply for a free browser key at the Tianditu developer console "
            "(天地图开发者控制台 → 应用管理 → 创建新应用, type 浏览器端)."
        )
    if not re.fullmatch(r"[0-9A-Za-z]{8,64}", key):
        raise InputError(f"the Tianditu key must be 8-64 letters or digits, got {key!r}")
    return key


def tile_layers(tiles: str, key: str | None = None) -> list[folium.TileLayer]:
    """Return the folium tile layers of ``tiles`` (empty for "none")."""
    if tiles == "osm":
        return [folium.TileLayer("OpenStreetMap", name="OpenStreetMap 底图", control=True)]
    if tiles == "tianditu":
        attr = "&copy; 天地图 Tianditu (国家地理信息公共服务平台)"
        common = {"attr": attr, "subdomains": "01234567", "max_zoom": 18}
        return [
            folium.TileLayer(_TIANDITU_URL % {"layer": "vec", "key": key}, name="天地图矢量底图",
                             **common),
            folium.TileLayer(_TIANDITU_URL % {"layer": "cva", "key": key}, name="天地图注记",
                             overlay=True, **common),
        ]
    if tiles == "amap":
        return [folium.TileLayer(_AMAP_URL, name="高德底图（GCJ-02）", subdomains="1234", max_zoom=18,
                                 attr="&copy; 高德地图 AutoNavi (GCJ-02)")]
    return []


# Krasovsky 1940 semi-major axis and eccentricity squared, as the GCJ-02 formula uses them.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323


def _gcj02(coords: np.ndarray) -> np.ndarray:
    # The published WGS84 -> GCJ-02 formula, vectorised (same numbers as cnmaps.geo.wgs84_to_gcj02,
    # which the tests check, without importing cnmaps and matplotlib for it).
    lon, lat = coords[:, 0], coords[:, 1]
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + common
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + common
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = dlon * 180.0 / (_GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
    return np.column_stack([lon + dlon, lat + dlat])


def wgs84_to_gcj02(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Return GCJ-02 (lon, lat) of WGS84 (lon, lat), element-wise (mainland China only)."""
    out = _gcj02(np.column_stack([np.ravel(lon), np.ravel(lat)]).astype(float))
    return out[:, 0], out[:, 1]


def to_gcj02(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` (EPSG:4326) shifted to GCJ-02, for display over Amap tiles only."""
    out = frame.copy()
    out.geometry = shapely.transform(frame.geometry.values, _gcj02)
    return out


def gcj02_offset_m(lon: float, lat: float) -> float:
    """Return how far (metres) GCJ-02 moves the WGS84 point (lon, lat)."""
    from pyproj import Geod

    glon, glat = _gcj02(np.array([[lon, lat]]))[0]
    return float(Geod(ellps="WGS84").inv(lon, lat, glon, glat)[2])
