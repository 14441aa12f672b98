"""界址点坐标 TXT: the parcel coordinate exchange file of land pre-review (用地预审/勘测定界).

Layout::

    [属性描述]
    坐标系=2000国家大地坐标系
    几度分带=3
    带号=40
    ...
    [地块坐标]
    5,1.2345,1,某某项目,面,H51G001001,工业用地,0601,@
    J1,1,3456789.123,40512345.678
    ...

A parcel header lists 点数, 面积 (公顷), 地块编号, 地块名称, 图形属性 (点/线/面), 图幅号, 地块用途,
地类编码 and ends with ``@``; each point line is 点号, 圈号 (ring number), X (northing), Y (easting,
with or without the zone prefix). One file may hold several parcels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wuzhong_geo.coords import gk_crs_for_zone, transformer
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import STORAGE_CRS
from wuzhong_geo.textio import read_text

#: Columns of a parcel header line, in order (the trailing ``@`` is dropped).
HEADER_FIELDS = (
    "点数",
    "面积",
    "地块编号",
    "地块名称",
    "图形属性",
    "图幅号",
    "地块用途",
    "地类编码",
)
_SECTION = re.compile(r"^\s*\[(.+?)\]\s*$")
_NUMBER = r"[+-]?\d+(?:\.\d*)?"
_POINT = re.compile(
    rf"^\s*([^,，]*)[,，]\s*(\d+)\s*[,，]\s*({_NUMBER})\s*[,，]\s*({_NUMBER})\s*[,，]?\s*$"
)
_GEOMETRY_KIND = {"面": "polygon", "线": "line", "点": "point"}


@dataclass
class ParcelFile:
    """A parsed 界址点 file: one row per parcel (EPSG:4326) plus the [属性描述] entries."""

    parcels: gpd.GeoDataFrame
    attributes: dict[str, str]
    crs: str
    notes: list[str] = field(default_factory=list)


def looks_like_parcel_txt(text: str) -> bool:
    """True when the text has the ``[地块坐标]`` section of a 界址点坐标 file."""
    return "[地块坐标]" in text.replace(" ", "")


def _attributes(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        if "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _file_crs(attrs: dict[str, str], prefix_zone: int | None) -> tuple[str, int, int]:
    """Work out the plain-easting GK CRS from [属性描述] and the zone prefix; refuse other datums."""
    system = attrs.get("坐标系", "")
    if re.search(r"西安|1980|北京|1954|地方|独立", system):
        raise InputError(
            f"界址点文件的坐标系为 {system!r}，无法直接转换：请先转换为 2000 国家大地坐标系，或用 --crs EPSG:n 指定。"
            f" / the parcel file's CRS {system!r} cannot be converted; convert to CGCS2000 or pass --crs EPSG:n."
        )
    width = 6 if attrs.get("几度分带", "3").strip().startswith("6") else 3
    zone_text = re.sub(r"\D", "", attrs.get("带号", ""))
    zone = prefix_zone or (int(zone_text) if zone_text else (40 if width == 3 else 21))
    return gk_crs_for_zone(zone, False, width), zone, width


def _assemble(kind: str, rings: list[np.ndarray]) -> shapely.Geometry | None:
    """Build a geometry from rings (x=easting, y=northing); rings inside the first become holes."""
    if kind == "point":
        return shapely.multipoints(np.vstack(rings)) if rings else None
    if kind == "line":
        parts = [shapely.linestrings(r) for r in rings if len(r) >= 2]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else shapely.multilinestrings(parts)
    closed = [
        r if np.array_equal(r[0], r[-1]) else np.vstack([r, r[:1]]) for r in rings if len(r) >= 3
    ]
    if not closed:
        return None
    rings_geom = [shapely.linearrings(r) if len(r) >= 4 else None for r in closed]
    if any(g is None for g in rings_geom):
        return None
    shells: list[tuple[shapely.Geometry, list]] = []
    for ring in sorted(rings_geom, key=lambda g: -shapely.area(shapely.polygons(g))):
        host = next(
            (s for s in shells if shapely.contains(shapely.polygons(s[0]), shapely.polygons(ring))),
            None,
        )
        if host is None:
            shells.append((ring, []))
        else:
            host[1].append(ring)
    polygons = [shapely.polygons(shell, holes=holes or None) for shell, holes in shells]
    return polygons[0] if len(polygons) == 1 else shapely.multipolygons(polygons)


def parse_parcel_text(text: str, source: str = "", crs: str | None = None) -> ParcelFile:
    """Parse the text of a 界址点坐标 file; bad parcels get ``_status``/``_message``, never dropped."""
    sections: dict[str, list[str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _SECTION.match(line)
        if match:
            current = match.group(1).strip()
            sections.setdefault(current, [])
        elif current is not None:
            sections[current].append(line)
    if "地块坐标" not in sections:
        raise InputError(
            f"{source}: 缺少 [地块坐标] 段，不是界址点坐标文件 / no [地块坐标] section"
        )
    attrs = _attributes(sections.get("属性描述", []))

    records: list[dict] = []
    points: list[list] = []  # per parcel: list of (ring, x_north, y_east)
    bad_lines: list[list[str]] = []
    for line_no, line in enumerate(sections["地块坐标"], start=1):
        if line.rstrip().endswith("@"):
            fields = [f.strip() for f in re.split(r"[,，]", line.rstrip().rstrip("@"))]
            fields = (fields + [""] * len(HEADER_FIELDS))[: len(HEADER_FIELDS)]
            records.append(dict(zip(HEADER_FIELDS, fields)))
            points.append([])
            bad_lines.append([])
            continue
        if not records:
            raise InputError(
                f"{source}: [地块坐标] 第 {line_no} 行在任何地块头（以 @ 结尾）之前 / a point line comes before "
                "any parcel header line ending in '@'"
            )
        match = _POINT.match(line)
        if match:
            points[-1].append((int(match.group(2)), float(match.group(3)), float(match.group(4))))
        else:
            bad_lines[-1].append(line[:40])
    if not records:
        raise InputError(
            f"{source}: [地块坐标] 段没有地块 / the [地块坐标] section holds no parcel"
        )

    all_east = np.array([p[2] for pts in points for p in pts], dtype=float)
    prefixes = np.floor_divide(all_east[all_east > 1e6], 1e6)
    prefix_zone = int(np.median(prefixes)) if prefixes.size else None
    if crs:
        file_crs, strip = crs, False
        notes = [f"界址点坐标按指定的 {crs} 读取"]
    else:
        file_crs, zone, width = _file_crs(attrs, prefix_zone)
        strip = True
        how = (
            "带号前缀"
            if prefixes.size == all_east.size
            else ("不带带号前缀" if not prefixes.size else "部分带带号前缀")
        )
        notes = [
            f"界址点坐标按 CGCS2000 高斯-克吕格 {width}° 带第 {zone} 带（{file_crs}）读取，Y 坐标{how}"
        ]
        header_zone = re.sub(r"\D", "", attrs.get("带号", ""))
        if prefix_zone and header_zone and int(header_zone) != prefix_zone:
            notes.append(
                f"[属性描述] 带号={header_zone} 与坐标前缀 {prefix_zone} 不一致，按坐标前缀处理"
            )
    to_wgs = transformer(file_crs, STORAGE_CRS)

    geoms, statuses, messages, row_notes = [], [], [], []
    for record, pts, bad in zip(records, points, bad_lines):
        kind = _GEOMETRY_KIND.get(record["图形属性"], "polygon")
        status, message, note = None, "", []
        if bad:
            status = "invalid_coordinates"
            message = f"地块 {record['地块编号'] or record['地块名称']} 有无法解析的坐标行：{'；'.join(bad[:3])}"
        if pts:
            arr = np.array(pts, dtype=float)
            east = (
                np.where(arr[:, 2] > 1e6, np.mod(arr[:, 2], 1e6), arr[:, 2]) if strip else arr[:, 2]
            )
            lon, lat = to_wgs.transform(east, arr[:, 1])
            xy = np.column_stack([lon, lat])
            rings = [xy[arr[:, 0] == r] for r in pd.unique(arr[:, 0])]
            geom = _assemble(kind, rings)
        else:
            geom = None
        if geom is None and status is None:
            status = "invalid_geometry"
            message = "地块坐标点不足，无法构成图形（面至少 3 个点）"
        declared = pd.to_numeric(record["点数"], errors="coerce")
        if pts and pd.notna(declared) and int(declared) != len(pts):
            note.append(f"地块头写 {int(declared)} 个点，实际 {len(pts)} 个")
        geoms.append(geom)
        statuses.append(status)
        messages.append(message)
        row_notes.append("；".join(note))

    frame = pd.DataFrame.from_records(records, columns=list(HEADER_FIELDS))
    frame["点数"] = pd.to_numeric(frame["点数"], errors="coerce").astype("Int64")
    frame["面积"] = pd.to_numeric(frame["面积"], errors="coerce")
    frame = frame.rename(columns={"面积": "面积_公顷"})
    parcels = gpd.GeoDataFrame(frame, geometry=geoms, crs=STORAGE_CRS)
    parcels["_status"] = statuses
    parcels["_message"] = messages
    parcels["_notes"] = row_notes
    return ParcelFile(parcels=parcels, attributes=attrs, crs=file_crs, notes=notes)


def read_parcel_txt(
    path: str | Path, crs: str | None = None, encoding: str | None = None
) -> ParcelFile:
    """Read a 界址点坐标 TXT file (UTF-8 or GBK), one row per parcel in EPSG:4326."""
    path = Path(path)
    text, _ = read_text(path, encoding)
    return parse_parcel_text(text, source=path.name, crs=crs)
