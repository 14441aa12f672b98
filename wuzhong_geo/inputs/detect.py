"""Column roles from header names: longitude/latitude, WKT, name, category, town, CRS; header rows.

Names are compared after NFKC, lower-casing and removing spaces, underscores and bracketed
suffixes such as （°） or (GCJ-02). Candidate tuples are in order of preference.
"""

from __future__ import annotations

import csv
import re
import unicodedata

LON_NAMES = (
    "经度",
    "东经",
    "lng",
    "lon",
    "long",
    "longitude",
    "x",
    "x坐标",
    "坐标x",
    "pointx",
    "中心点经度",
    "centerx",
    "gcj经度",
    "高德经度",
    "百度经度",
    "wgs84经度",
    "gcjlng",
    "gcjlon",
    "bdlng",
    "bdlon",
    "wgslng",
    "wgslon",
    "lng84",
    "横坐标",
)
LAT_NAMES = (
    "纬度",
    "北纬",
    "lat",
    "latitude",
    "y",
    "y坐标",
    "坐标y",
    "pointy",
    "中心点纬度",
    "centery",
    "gcj纬度",
    "高德纬度",
    "百度纬度",
    "wgs84纬度",
    "gcjlat",
    "bdlat",
    "wgslat",
    "lat84",
    "纵坐标",
)
LONLAT_NAMES = ("经纬度", "坐标", "location", "lnglat", "lonlat", "经纬度坐标", "中心点坐标", "gps坐标")
WKT_NAMES = ("wkt", "geometry", "geom", "几何", "shape", "thegeom", "geometrywkt", "图形")
NAME_NAMES = (
    "项目名称",
    "名称",
    "项目",
    "工程名称",
    "地块名称",
    "name",
    "projectname",
    "project",
    "title",
    "项目名",
)
CATEGORY_NAMES = (
    "项目类型",
    "项目类别",
    "类别",
    "类型",
    "行业",
    "产业类别",
    "产业类型",
    "用地性质",
    "地块用途",
    "用途",
    "category",
    "type",
    "industry",
    "landuse",
    "kind",
)
TOWN_NAMES = (
    "所在镇",
    "所在镇街",
    "所在镇（街道）",
    "镇街",
    "镇",
    "乡镇",
    "街道",
    "所在街道",
    "属地",
    "所属镇街",
    "镇区",
    "town",
    "township",
    "street",
)
CRS_NAMES = (
    "坐标系",
    "坐标类型",
    "坐标来源",
    "坐标系统",
    "crs",
    "coordtype",
    "coordsys",
    "srs",
    "coordinatesystem",
)



#: Traditional characters of the header words above (Big5 files from Hong Kong/Taiwan tools: 經度/緯度).
HEADER_FIXES = str.maketrans({
    "經": "经", "緯": "纬", "東": "东", "標": "标", "係": "系", "統": "统", "稱": "称", "項": "项",
    "類": "类", "別": "别", "鎮": "镇", "區": "区", "屬": "属", "圖": "图", "幾": "几", "點": "点",
    "號": "号", "碼": "码", "塊": "块", "編": "编", "來": "来", "業": "业", "設": "设", "單": "单",
})


def column_key(name: object) -> str:
    """A column name reduced for comparison (NFKC, lower case, no spaces or bracketed units)."""
    text = unicodedata.normalize("NFKC", str(name)).translate(HEADER_FIXES).strip().lower()
    text = re.sub(r"[\(\[【（].*?[\)\]】）]", "", text)
    return re.sub(r"[\s_\-./]+", "", text)


def find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """The first column whose key equals a candidate, candidates in order of preference."""
    keys = {c: column_key(c) for c in columns}
    for cand in candidates:  # candidates are in order of preference
        for col, key in keys.items():
            if key == cand:
                return col
    return None


def find_containing(columns: list[str], needles: tuple[str, ...]) -> str | None:
    """The first column whose key contains one of ``needles``."""
    for col in columns:
        key = column_key(col)
        if any(n in key for n in needles):
            return col
    return None



def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter of a text table from its first lines (``,`` when unsure)."""
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in (",", "\t", ";", "|")}
        return max(counts, key=counts.get) if max(counts.values()) else ","


def is_header(cells: list[str], explicit: dict) -> bool:
    """Do these cells look like a header (coordinate or WKT columns, or the explicit one)?"""
    cols = [str(c) for c in cells if c is not None and str(c).strip() and str(c) != "nan"]
    if not cols:
        return False
    if explicit.get("lon_col") and explicit["lon_col"] in cols:
        return True
    found = (find(cols, LON_NAMES) and find(cols, LAT_NAMES)) or find(cols, LONLAT_NAMES) or find(cols, WKT_NAMES)
    return bool(found)


def header_row(lines: list[str], sep: str, explicit: dict) -> int:
    """Index of the header line: exports often start with 'XX项目表' and a blank line."""
    rows = list(csv.reader(lines, delimiter=sep))
    if rows and is_header(rows[0], explicit):
        return 0
    for i, row in enumerate(rows[:15]):
        if is_header(row, explicit):
            return i
    return 0



def dedupe(columns: list[str]) -> list[str]:
    """Make repeated column names unique: ``a``, ``a_1``, ``a_2``."""
    seen: dict[str, int] = {}
    out = []
    for c in columns:
        if c in seen:
            seen[c] += 1
            out.append(f"{c}_{seen[c]}")
        else:
            seen[c] = 0
            out.append(c)
    return out

