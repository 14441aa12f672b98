"""Interactive web maps that work offline: one self-contained HTML file, no CDN, no tiles by default.

``webmap()`` draws every plan layer, ``choropleth_map()`` one value per polygon, and
``save_offline()`` writes either as a single HTML file with Leaflet and its plugins inlined
(from the ``folium-offline`` package), failing loudly if any external reference is left.
"""

from __future__ import annotations

from wuzhong_geo.web.assets import (
    OfflineAssetError,
    check_offline,
    external_references,
    offline_html,
    save_offline,
)
from wuzhong_geo.web.maps import (
    LAYER_TITLES,
    OfflineMap,
    choropleth_map,
    read_sites,
    webmap,
    write_webmap,
)
from wuzhong_geo.web.tiles import TILES

__all__ = [
    "LAYER_TITLES",
    "TILES",
    "OfflineAssetError",
    "OfflineMap",
    "check_offline",
    "choropleth_map",
    "external_references",
    "offline_html",
    "read_sites",
    "save_offline",
    "webmap",
    "write_webmap",
]
