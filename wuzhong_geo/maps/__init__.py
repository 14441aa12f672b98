"""Report-quality static maps: the standard set, thematic maps of any data, and the town atlas.

Public API::

    from wuzhong_geo.maps import thematic_map, render_standard_set, render_atlas, save_figure
"""

from __future__ import annotations

from wuzhong_geo.fonts import use_cjk_font
from wuzhong_geo.maps.atlas import render_atlas
from wuzhong_geo.maps.layout import PAGE_SIZES
from wuzhong_geo.maps.output import FORMATS, save_figure
from wuzhong_geo.maps.standard import STANDARD_MAPS, render_standard_set
from wuzhong_geo.maps.thematic import SCHEMES, thematic_map

# Chinese text in any figure drawn after this import (also users' own axes) finds its font.
use_cjk_font()

__all__ = [
    "FORMATS", "PAGE_SIZES", "SCHEMES", "STANDARD_MAPS",
    "render_atlas", "render_standard_set", "save_figure", "thematic_map",
]
