"""Optional base tiles (off by default, so the page makes no request) and the GCJ-02 shift for Amap."""

from __future__ import annotations

import os
import re

import folium
import geopandas as gpd
import numpy as np
import shapely

from wuzhong_geo.coords import wgs84_to_gcj02
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


def _gcj02(coords: np.ndarray) -> np.ndarray:
    lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


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
