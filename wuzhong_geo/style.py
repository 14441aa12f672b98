"""The single source of colours, line styles and Chinese/English display names for every output."""

from __future__ import annotations

#: Functional zones (核轴带): Chinese name -> (English key, English label, fill colour).
ZONES: dict[str, tuple[str, str, str]] = {
    "中心城市核": ("central_urban_core", "Central urban core", "#d7301f"),
    "先进制造轴": ("advanced_manufacturing_axis", "Advanced manufacturing axis", "#6a51a3"),
    "生态文旅带": ("eco_culture_tourism_belt", "Eco-culture-tourism belt", "#41ab5d"),
}
SUBREGIONS: dict[str, tuple[str, str, str]] = {
    "东部片区": ("east", "Eastern sub-region", "#4292c6"),
    "中部片区": ("central", "Central sub-region", "#fe9929"),
    "西部片区": ("west", "Western sub-region", "#78c679"),
}
MANAGEMENT_ZONES: dict[str, tuple[str, str, str]] = {
    "吴中高新区": ("hitech_zone", "Wuzhong Hi-tech Zone", "#e7298a"),
    "吴中经济技术开发区": ("development_zone", "Wuzhong Economic-Technological Development Zone", "#7570b3"),
    "苏州太湖国家旅游度假区": ("tourist_resort", "Taihu National Tourist Resort", "#1b9e77"),
    "吴中太湖新城": ("taihu_new_town", "Wuzhong Taihu New Town", "#d95f02"),
    "区直属": ("district_direct", "Directly under the district", "#bdbdbd"),
}
#: Fourteen distinguishable, print-safe pastel fills for town maps (ordered by town code).
TOWN_COLOURS = [
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
    "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f", "#a6cee3", "#e5c494",
]
#: Infrastructure kinds: key -> (Chinese label, English label, colour, line width in points).
INFRASTRUCTURE_KINDS: dict[str, tuple[str, str, str, float]] = {
    "high_speed_rail": ("高速铁路", "High-speed rail", "#252525", 2.2),
    "intercity_rail": ("城际铁路", "Intercity rail", "#525252", 1.8),
    "metro_line": ("轨道交通线路", "Metro line", "#e31a1c", 1.6),
    "metro_station": ("轨道交通站点", "Metro station", "#e31a1c", 0.0),
    "expressway": ("高速公路", "Expressway", "#1f78b4", 2.0),
    "interchange": ("互通立交", "Interchange", "#1f78b4", 0.0),
    "provincial_road": ("省道", "Provincial road", "#ff7f00", 1.6),
    "urban_expressway": ("城市快速路", "Urban expressway", "#fb9a99", 1.8),
    "trunk_road": ("城市主干道", "Trunk road", "#fdbf6f", 1.4),
    "tunnel": ("隧道", "Tunnel", "#6a3d9a", 1.8),
    "bridge": ("桥梁", "Bridge", "#b15928", 0.0),
    "waterway": ("航道", "Waterway", "#0570b0", 1.4),
}
#: Project status: key -> (Chinese label, English label, matplotlib dash pattern, web dash array).
STATUSES: dict[str, tuple[str, str, str, str]] = {
    "planned": ("规划", "Planned", "--", "6 4"),
    "under_construction": ("在建", "Under construction", "-.", "8 3 2 3"),
    "built": ("建成", "Built", "-", ""),
    "unknown": ("状态不明", "Status unknown", ":", "2 4"),
}
#: Site-check status colours, shared by the report and the web map.
SITE_STATUS_COLOURS = {
    "ok": "#1a9850",
    "flagged": "#fdae61",
    "outside_district": "#878787",
    "in_taihu_water": "#2c7fb8",
    "invalid_coordinates": "#d73027",
    "invalid_geometry": "#d73027",
    "malformed_row": "#d73027",
}
WATER = "#cfe8f3"
WATER_EDGE = "#6baed6"
LAND = "#f7f4ea"
CONTEXT_FILL = "#ececec"
CONTEXT_EDGE = "#9e9e9e"
DISTRICT_EDGE = "#252525"
TOWN_EDGE = "#636363"
NO_DATA = "#ffffff"
NO_DATA_HATCH = "////"

# --- Added for the report maps (wuzhong_geo.maps) and the QGIS layer styles ---
#: Text colours: main ink, secondary notes, and the halo behind map labels.
INK = "#262626"
MUTED = "#5f5f5f"
HALO = "#ffffff"
#: Suzhou Industrial Park: administratively outside Wuzhong, drawn distinct from other neighbours.
SIP_FILL = "#e6e0f0"
SIP_EDGE = "#8c7fb0"
SIP_HATCH = ".."
#: The district (or town) highlighted on locator insets and the atlas.
HIGHLIGHT = "#c0392b"
#: Schematic split line inside a town between two functional zones (an assumption).
SPLIT_LINE = "#404040"
#: Display names of the uncertainty levels of a town / zone answer (wuzhong_geo.uncertainty).
CONFIDENCE_LABELS = {
    "high": ("高", "High"),
    "medium": ("中", "Medium"),
    "low": ("低", "Low"),
    "official": ("官方边界", "Official boundary"),
}
#: The soft band along schematic town lines, as wide as their measured error.
UNCERTAINTY_BAND = "#7a5195"
#: Default qualitative colour map for categorical thematic maps.
QUALITATIVE_CMAP = "Set2"
#: Matplotlib marker of each place category (colours and labels: PLACE_CATEGORIES).
PLACE_MARKERS: dict[str, str] = {
    "cultural_tourism_cluster": "*",
    "homestay_village": "^",
    "industrial_park": "s",
    "logistics": "X",
    "heritage": "D",
    "museum": "p",
    "park": "o",
    "scenic_area": "h",
    "sports": "v",
    "hospital": "P",
    "education": "8",
    "admin": "H",
    "other": "o",
}

#: Display names of columns (snake_case in code, Chinese in figures and reports).
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "code": ("区划代码", "NBS code"),
    "name": ("名称", "Name"),
    "short_name": ("简称", "Short name"),
    "unit_type": ("类型", "Unit type"),
    "management_zone": ("管理主体", "Management zone"),
    "area_km2": ("面积（平方公里）", "Area (km²)"),
    "official_area_km2": ("官方面积（平方公里）", "Official area (km²)"),
    "boundary_source": ("边界来源", "Boundary source"),
    "zone": ("功能区", "Functional zone"),
    "subregion": ("片区", "Sub-region"),
    "kind": ("类别", "Kind"),
    "status": ("状态", "Status"),
    "plan_ref": ("规划出处", "Plan reference"),
    "geometry_accuracy_m": ("几何精度（米）", "Geometry accuracy (m)"),
}
BOUNDARY_SOURCE_LABELS = {
    "schematic": ("示意边界，非法定界线", "Schematic boundary, not a legal line"),
    "official": ("用户提供的官方边界", "Official boundary supplied by the user"),
}
SCHEMATIC_NOTE_ZH = "镇（街道）边界为示意性划分，非法定界线；功能区内部分界为本项目假设。"
SCHEMATIC_NOTE_EN = (
    "Town boundaries are schematic, not legal lines; splits inside towns are this project's assumption."
)


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """A ``#rrggbb`` palette colour as red, green, blue in 0–255 (no matplotlib needed)."""
    h = colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def zone_colour(zone: str) -> str:
    """Return the fill colour of a functional zone (Chinese name)."""
    return ZONES[zone][2]


def label(column: str, lang: str = "zh") -> str:
    """Return the display name of a column in Chinese (``zh``) or English (``en``)."""
    zh, en = COLUMN_LABELS.get(column, (column, column))
    return zh if lang == "zh" else en


#: Place categories (places layer): key -> (Chinese label, English label, marker colour).
PLACE_CATEGORIES: dict[str, tuple[str, str, str]] = {
    "admin": ("行政机构", "Administration", "#252525"),
    "industrial_park": ("产业园区", "Industrial park", "#6a51a3"),
    "logistics": ("物流枢纽", "Logistics hub", "#807dba"),
    "heritage": ("文物古迹", "Heritage site", "#8c510a"),
    "museum": ("博物馆", "Museum", "#bf812d"),
    "cultural_tourism_cluster": ("文旅集聚区", "Culture-tourism cluster", "#dd3497"),
    "scenic_area": ("风景名胜区", "Scenic area", "#238443"),
    "park": ("公园", "Park", "#78c679"),
    "homestay_village": ("民宿村落", "Homestay village", "#fe9929"),
    "hospital": ("医疗机构", "Hospital", "#e31a1c"),
    "education": ("教育机构", "Education", "#2171b5"),
    "sports": ("体育设施", "Sports facility", "#41b6c4"),
    "other": ("其他", "Other", "#737373"),
}
#: Site-check statuses: key -> (Chinese label, English label); colours in SITE_STATUS_COLOURS.
SITE_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "ok": ("通过", "OK"),
    "flagged": ("需关注", "Flagged"),
    "outside_district": ("不在吴中区内", "Outside the district"),
    "in_taihu_water": ("位于太湖水域", "In Taihu waters"),
    "invalid_coordinates": ("坐标无效", "Invalid coordinates"),
    "invalid_geometry": ("几何无效", "Invalid geometry"),
    "malformed_row": ("行格式错误", "Malformed row (field count)"),
}
#: Site-check result columns: name -> (Chinese header, English description); see wuzhong_geo.columns.
CHECK_COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "town_boundary_distance_m": ("距示意镇界（米）", "Distance to the nearest schematic town line (m)"),
    "town_confidence": ("镇界可信度", "Town answer confidence (high/medium/low/official)"),
    "town_alternative": ("可能所属的相邻镇", "Neighbouring unit across the nearest line"),
    "zone_line_distance_m": ("距功能区分界（米）", "Distance to the zone split line (m)"),
    "zone_confidence": ("功能区可信度", "Zone answer confidence"),
    "zone_alternative": ("可能所属的相邻功能区", "Zone across the split line"),
    "row_id": ("行号", "Input row number (1 = first data row)"),
    "status": (
        "状态",
        "ok / outside_district / in_taihu_water / invalid_coordinates / invalid_geometry / malformed_row",
    ),
    "message": ("说明", "What the status means for this row, in Chinese"),
    "code": ("镇街代码", "9-digit NBS code of the town (main town for polygons/lines)"),
    "name": ("镇（街道）", "Town or street"),
    "management_zone": ("管理主体", "Management zone"),
    "functional_zone": ("功能区", "Functional zone (largest share for polygons/lines)"),
    "subregion": ("片区", "Sub-region (an interpretation)"),
    "functional_zones": ("涉及功能区", "Every functional zone the site touches (share ≥ 0.1 %)"),
    "zone_breakdown": ("功能区明细", "Area (m², 公顷, 亩) or length per zone, with share"),
    "towns": ("涉及镇（街道）", "Every town the site touches"),
    "geometry_type": ("几何类型", "point / line / polygon"),
    "area_m2": ("面积（平方米）", "Polygon or buffer area, m²"),
    "area_ha": ("面积（公顷）", "Area in hectares (公顷)"),
    "area_mu": ("面积（亩）", "Area in mu (亩 = 10000/15 m²)"),
    "length_m": ("长度（米）", "Line length, m"),
    "land_share": ("陆域占比", "Share on Wuzhong's land"),
    "taihu_share": ("太湖水域占比", "Share in Wuzhong's Taihu waters"),
    "taihu_shore_m": ("距太湖湖岸（米）", "Distance to the Taihu shore, m"),
    "district_distance_m": ("距区界（米）", "Distance to the district (sites outside it), m"),
    "rule_category": ("规则类别", "Project category used by the rules"),
    "input_town_code": ("填报镇街代码", "Town code of the input's town column"),
    "town_match": ("填报镇街一致", "Input town equals the located town"),
    "crosses_zone_boundary": ("跨功能区", "Touches more than one functional zone"),
    "crosses_town_boundary": ("跨镇街", "Touches more than one town"),
    "coordinates_swapped": ("经纬度填反", "Latitude/longitude were swapped in the input"),
    "flags": ("命中规则", "Rule ids that fired"),
    "flag_level": ("提示级别", "warning / note"),
    "flag_notes": ("提示", "Rule messages"),
    "wgs84_lon": ("经度（WGS84）", "Longitude of the site (point on surface), WGS84"),
    "wgs84_lat": ("纬度（WGS84）", "Latitude, WGS84"),
    "site_name": ("名称", "Site name"),
    "share": ("占比", "Share of the site"),
    "policies": ("涉及政策区", "Ids of the policy areas (data/plan/policy_areas.csv) the site touches, 、-joined"),
    "plan_basis": ("规划依据", "The plan's words for the site's zone and each policy area touched (chapter-section「quote」)"),
}
#: Rule severities of the site check: key -> (Chinese label, English label).
SEVERITY_LABELS = {"note": ("提示", "Note"), "warning": ("警示", "Warning")}
#: Fallback colour of a site-check status not listed in SITE_STATUS_COLOURS.
SITE_STATUS_UNKNOWN = "#000000"
#: Colour of layers a caller adds to a web map (``extra_layers``) without a style of its own.
EXTRA_LAYER = "#e6550d"
#: Web map chrome (panels, text, warning banner); map content colours are the entries above.
WEB_UI: dict[str, str] = {
    "background": "#ececec",
    "panel": "#ffffff",
    "text": "#252525",
    "muted": "#636363",
    "rule": "#d9d9d9",
    "warning_fill": "#fff3cd",
    "warning_edge": "#d95f02",
    "warning_text": "#7f2704",
}
#: Matplotlib colormap of choropleth classes, shared by the static thematic map and the web map.
CHOROPLETH_CMAP = "YlOrRd"
#: Outline of "no data" areas in choropleths (fill NO_DATA, hatched NO_DATA_HATCH).
NO_DATA_EDGE = "#969696"


def choropleth_colours(k: int, cmap: str = CHOROPLETH_CMAP) -> list[str]:
    """Return ``k`` hex colours, lightest first, for choropleth classes (same in every output)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if k < 1:
        raise ValueError(f"choropleth needs at least one class, got k={k}")
    colormap = colormaps[cmap]
    # i / (k - 1): the positions geopandas gives classes 0..k-1 with ``scheme=``.
    return [to_hex(colormap(i / (k - 1) if k > 1 else 0.0)) for i in range(k)]


#: Service areas (coverage maps): fill, outline, and facility markers.
SERVICE_AREA = "#3182bd"
SERVICE_AREA_EDGE = "#08519c"
FACILITY = "#08306b"

#: Indicator progress status colours (charts, tables).
INDICATOR_STATUS_COLOURS: dict[str, str] = {
    "achieved": SITE_STATUS_COLOURS["ok"],
    "on_track": SUBREGIONS["东部片区"][2],
    "behind": SITE_STATUS_COLOURS["invalid_coordinates"],
    "no_data": CONTEXT_EDGE,
    "not_comparable": CONTEXT_FILL,
}
#: Basis of an indicator's actual value -> (colour, marker, filled marker).
INDICATOR_BASIS_STYLE: dict[str, tuple[str, str, bool]] = {
    "final": (DISTRICT_EDGE, "o", True),
    "revised": (ZONES["先进制造轴"][2], "s", True),
    "preliminary": (SUBREGIONS["东部片区"][2], "o", False),
    "inferred": (CONTEXT_EDGE, "D", False),
}

#: Policy areas (data/plan/policy_areas.csv): kind -> (Chinese label, English label, colour, group).
#: The group orders the `where` answer and the legend of the protection map.
POLICY_KINDS: dict[str, tuple[str, str, str, str]] = {
    "eco_zone": ("生态政策区", "Ecological policy area", "#1a9850", "生态保护"),
    "eco_zone_proposed": ("拟扩大的生态涵养区", "Proposed conservation-zone extension", "#a6d96a", "生态保护"),
    "shore_band": ("太湖沿岸带（规划）", "Taihu shore band (plan)", "#4eb3d3", "太湖保护"),
    "protection_zone": ("太湖流域一级保护区（法规）", "Taihu first-level protection zone (law)", "#08589e", "太湖保护"),
    "canal_corridor": ("大运河文化带", "Grand Canal cultural belt", "#cc4c02", "大运河文化带"),
    "canal_node": ("大运河文化带节点", "Grand Canal node", "#993404", "大运河文化带"),
    "heritage_town": ("历史文化名镇", "Historic and cultural town", "#8c510a", "历史文化保护"),
    "heritage_village": ("历史文化名村/传统村落", "Historic / traditional village", "#bf812d", "历史文化保护"),
    "heritage_site": ("申报世界文化遗产", "World Heritage nomination", "#543005", "历史文化保护"),
    "tourism_cluster": ("文化旅游集聚区", "Culture-tourism cluster", "#dd3497", "文化旅游"),
    "industrial_park": ("产业园区/载体", "Industrial park / platform", "#6a51a3", "产业载体"),
    "agri_park": ("农业园区", "Agricultural park", "#7fbc41", "农业农村"),
    "agri_priority": ("农业农村现代化先行镇", "Agricultural modernisation lead towns", "#d9f0a3", "农业农村"),
    "water_works": ("水利工程", "Water works", "#2c7fb8", "其他基础设施"),
    "eco_works": ("生态工程", "Ecological works", "#41ab5d", "其他基础设施"),
    "energy": ("能源项目", "Energy project", "#fd8d3c", "其他基础设施"),
    "waste_facility": ("静脉产业园", "Circular-economy (waste) park", "#737373", "其他基础设施"),
    "utility_tunnel": ("地下综合管廊", "Utility tunnel", "#969696", "其他基础设施"),
    "greenway": ("健身步道", "Greenway", "#78c679", "其他基础设施"),
}
#: Policy-area statuses beyond STATUSES: key -> (Chinese label, English label).
POLICY_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "designated": ("已设立", "Designated"),
    "proposed": ("拟议", "Proposed"),
    **{key: (zh, en) for key, (zh, en, _, _) in STATUSES.items()},
}
#: Fill opacity of policy areas on maps (they overlap; outlines carry the kind).
POLICY_ALPHA = 0.25
