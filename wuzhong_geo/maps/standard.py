"""The standard map set of the plan (区位图 … 指标专题图) and :func:`render_standard_set`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import shapely
from matplotlib.figure import Figure

from wuzhong_geo import layers, style
from wuzhong_geo.errors import InputError
from wuzhong_geo.maps import basemap, elements, legend, theme
from wuzhong_geo.maps.compose import compose
from wuzhong_geo.maps.indicator_maps import eco_belt_share_map, metro_stations_map
from wuzhong_geo.maps.labels import LabelItem
from wuzhong_geo.maps.layout import Page
from wuzhong_geo.maps.output import map_date, parse_formats, save_figure
from wuzhong_geo.outdir import publish, staging

PLAN = "吴中区“十四五”规划"


@dataclass(frozen=True)
class MapSpec:
    """One map of the standard set."""

    slug: str
    title: str
    title_en: str
    build: Callable[..., Figure]


# ----------------------------------------------------------------------------------------------
# shared drawing helpers
# ----------------------------------------------------------------------------------------------

def _town_outlines(ax, *, lw: float = theme.TOWN_LW, colour: str = style.TOWN_EDGE, zorder: float = 20) -> None:
    basemap.layer("towns").boundary.plot(ax=ax, color=colour, lw=lw, zorder=zorder)


def _town_area_labels(frame: gpd.GeoDataFrame | None = None, *, size: float = theme.LABEL_SIZE,
                      column: str = "short_name", colour: str = theme.INK, priority: int = 6,
                      mandatory: bool = True) -> list[LabelItem]:
    towns = basemap.layer("towns") if frame is None else frame
    items = []
    for _, row in towns.iterrows():
        centre = shapely.maximum_inscribed_circle(_largest(row.geometry)).coords[0]
        items.append(LabelItem(centre[0], centre[1], row[column], size=size, colour=colour,
                               priority=priority, point=False, mandatory=mandatory))
    return items


def _largest(geom):
    return max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)


def _split_lines() -> gpd.GeoSeries:
    """Return the assumed lines splitting a town between two functional zones."""
    parts = basemap.layer("town_zone_parts")
    lines = []
    for _, group in parts.groupby("code"):
        if len(group) < 2:
            continue
        geoms = list(group.geometry)
        for i in range(len(geoms)):
            for j in range(i + 1, len(geoms)):
                shared = shapely.line_merge(_only_lines(shapely.intersection(geoms[i].boundary, geoms[j].boundary)))
                if not shared.is_empty and shared.length > 0:
                    lines.append(shared)
    return gpd.GeoSeries(lines, crs=parts.crs)


def _only_lines(geom):
    """Keep the line parts of an intersection (touching boundaries also yield points)."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("LineString", "MultiLineString")]
    return shapely.MultiLineString([p for g in parts for p in shapely.get_parts(g)])


def _split_note() -> str:
    return "功能区在镇内的分界线为示意假设（见 zone_split_rules.yaml），规划原文只列出镇名。"


# ----------------------------------------------------------------------------------------------
# 1 区位图
# ----------------------------------------------------------------------------------------------

def location_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """区位图: Wuzhong within Suzhou and the Taihu region."""
    ctx = basemap.layer("context")
    suzhou = ctx[ctx["level"] == "district"]
    extent = basemap.bounds_of(gpd.GeoDataFrame(geometry=list(suzhou.geometry) + list(
        basemap.layer("taihu_full").geometry), crs=ctx.crs), pad=0.02)

    def draw(page: Page) -> list:
        ax = page.map_ax
        others = ctx[ctx["level"] != "district"]
        others.plot(ax=ax, color=style.CONTEXT_FILL, edgecolor=style.CONTEXT_EDGE, lw=0.5, zorder=1)
        suzhou.plot(ax=ax, color=style.LAND, edgecolor=style.CONTEXT_EDGE, lw=0.6, zorder=1.1)
        basemap.sip().plot(ax=ax, color=style.SIP_FILL, edgecolor=style.SIP_EDGE, hatch=style.SIP_HATCH,
                           lw=0.6, zorder=1.2)
        basemap.layer("taihu_full").plot(ax=ax, color=style.WATER, edgecolor=style.WATER_EDGE, lw=0.5,
                                         zorder=1.3)
        district = basemap.layer("district")
        district.plot(ax=ax, color=style.HIGHLIGHT, alpha=0.16, zorder=1.4)
        basemap.layer("land").plot(ax=ax, color=style.HIGHLIGHT, alpha=0.45, edgecolor="none", zorder=1.5)
        _town_outlines(ax, lw=0.25, colour=style.HIGHLIGHT)
        items = []
        water = basemap.layer("taihu_full").geometry.union_all()
        for _, row in ctx.iterrows():
            if row["name"] == "吴中区":
                continue
            visible = row.geometry.intersection(shapely.box(*page.extent)).difference(water)
            if visible.is_empty or visible.area < 60e6:
                continue
            centre = shapely.maximum_inscribed_circle(_largest(visible)).coords[0]
            items.append(LabelItem(centre[0], centre[1], row["name"], size=theme.CONTEXT_LABEL_SIZE + 0.8,
                                   colour=theme.MUTED, priority=4, point=False))
        park = basemap.sip().geometry.iloc[0]
        pc = park.representative_point()
        items.append(LabelItem(pc.x, pc.y, "苏州工业园区", size=theme.CONTEXT_LABEL_SIZE,
                               colour=style.SIP_EDGE, priority=7, point=True, marker_pt=1.0, mandatory=True))
        land = basemap.layer("land").geometry.iloc[0]
        lc = shapely.maximum_inscribed_circle(_largest(land)).coords[0]
        items.append(LabelItem(lc[0], lc[1], "吴中区", size=12, colour=style.HIGHLIGHT, priority=10,
                               point=True, marker_pt=1.0, mandatory=True))
        return items

    def locator(page: Page) -> None:
        elements.locator_inset(page.locator_ax, frame=page.extent, label="长三角示意")

    sections = [
        ("区位 Location", [
            legend.fill(style.HIGHLIGHT, "吴中区（陆域）Wuzhong land", edge=style.HIGHLIGHT, alpha=0.45),
            legend.fill(style.HIGHLIGHT, "吴中区太湖水域 Wuzhong's Taihu waters", edge=style.HIGHLIGHT,
                        alpha=0.16),
            legend.fill(style.LAND, "苏州市其他区、县级市 Suzhou", edge=style.CONTEXT_EDGE),
            legend.fill(style.SIP_FILL, "苏州工业园区 SIP", edge=style.SIP_EDGE, hatch=style.SIP_HATCH),
            legend.fill(style.CONTEXT_FILL, "周边城市 Neighbouring cities", edge=style.CONTEXT_EDGE),
            legend.fill(style.WATER, "太湖 Taihu", edge=style.WATER_EDGE),
            legend.line(style.HIGHLIGHT, "镇（街道）界（示意）Towns", lw=0.6),
        ]),
    ]
    return compose(title="吴中区区位图", subtitle=f"{PLAN} · Location of Wuzhong in Suzhou and the Taihu region",
                   draw=draw, sections=sections, date=map_date(date), size=size, extent=extent, dem=dem,
                   base=False, district_outline=True,
                   notes_extra="苏州工业园区在公开行政区划数据中归入 320506，本项目区界已将其扣除。",
                   locator=locator)


# ----------------------------------------------------------------------------------------------
# 2 功能分区图
# ----------------------------------------------------------------------------------------------

def functional_zones_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """功能分区图: 中心城市核 / 先进制造轴 / 生态文旅带 over the towns."""

    def draw(page: Page) -> list:
        ax = page.map_ax
        parts = basemap.layer("town_zone_parts")
        for zone, (_, _, colour) in style.ZONES.items():
            sel = parts[parts["zone"] == zone]
            sel.plot(ax=ax, color=colour, alpha=0.55, edgecolor="none", zorder=2)
        _split_lines().plot(ax=ax, color=style.SPLIT_LINE, lw=0.7, ls="--", zorder=21)
        _town_outlines(ax)
        return _town_area_labels(size=theme.LABEL_SIZE - 0.5)

    sections = [
        ("功能分区 Functional zones", [legend.fill(c, f"{zh}  {en}", alpha=0.55, edge="none")
                                    for zh, (_, en, c) in style.ZONES.items()]),
        ("界线 Boundaries", [
            legend.line(style.TOWN_EDGE, "镇（街道）界（示意）Town boundary", lw=theme.TOWN_LW),
            legend.line(style.SPLIT_LINE, "功能区镇内分界（假设）Assumed split", lw=0.7, ls="--"),
        ] + legend.base_sections()),
    ]
    return compose(title="吴中区功能分区图", subtitle=f"{PLAN} · “一核一轴一带” Functional zones",
                   draw=draw, sections=sections, date=map_date(date), size=size, dem=dem,
                   notes_extra=_split_note())


# ----------------------------------------------------------------------------------------------
# 3 东中西片区图
# ----------------------------------------------------------------------------------------------

def subregions_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """东中西片区图: the three sub-regions (an interpretation: the plan lists no towns)."""

    def draw(page: Page) -> list:
        ax = page.map_ax
        regions = basemap.layer("subregions")
        for name, (_, _, colour) in style.SUBREGIONS.items():
            regions[regions["subregion"] == name].plot(ax=ax, color=colour, alpha=0.5, edgecolor="none",
                                                      zorder=2)
        _town_outlines(ax)
        regions.boundary.plot(ax=ax, color=theme.INK, lw=1.0, zorder=22)
        items = _town_area_labels(size=theme.LABEL_SIZE - 0.5, priority=5)
        for _, row in regions.iterrows():
            c = row.geometry.representative_point() if row["subregion"] != "西部片区" else None
            if c is None:  # the west is mostly lake: put its name on the Guangfu–Mudu mainland
                towns = basemap.layer("towns")
                c = towns[towns["short_name"] == "光福"].geometry.iloc[0].representative_point()
            items.append(LabelItem(c.x, c.y, row["subregion"], size=12, colour=style.SUBREGIONS[row["subregion"]][2],
                                   priority=8, point=False, mandatory=True))
        return items

    sections = [
        ("片区 Sub-regions", [legend.fill(c, f"{zh}  {en}", alpha=0.5, edge="none")
                            for zh, (_, en, c) in style.SUBREGIONS.items()]),
        ("界线 Boundaries", [
            legend.line(theme.INK, "片区界 Sub-region boundary", lw=1.0),
            legend.line(style.TOWN_EDGE, "镇（街道）界（示意）Town boundary", lw=theme.TOWN_LW),
        ] + legend.base_sections()),
    ]
    return compose(title="吴中区东中西片区图", subtitle=f"{PLAN} · Eastern, central and western sub-regions",
                   draw=draw, sections=sections, date=map_date(date), size=size, dem=dem,
                   notes_extra="规划未列出各片区所含镇（街道），片区归属为本项目解读（置信度低）。")


# ----------------------------------------------------------------------------------------------
# 4 镇（街道）图
# ----------------------------------------------------------------------------------------------

def towns_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """镇（街道）图: the 14 units labelled, management zones outlined."""

    def draw(page: Page) -> list:
        ax = page.map_ax
        towns = basemap.layer("towns").sort_values("code")
        towns.plot(ax=ax, color=style.TOWN_COLOURS[: len(towns)], edgecolor="none", alpha=0.8, zorder=2)
        zones = basemap.layer("management_zones")
        for _, row in zones.iterrows():
            # an inner band (like QGIS' "draw line only inside polygon"): neighbouring zones'
            # outlines sit side by side instead of on top of each other
            colour = style.MANAGEMENT_ZONES[row["name"]][2]
            band = row.geometry.difference(row.geometry.buffer(-_band_width(page)))
            gpd.GeoSeries([band], crs=zones.crs).plot(ax=ax, color=colour, edgecolor="none", alpha=0.9,
                                                      zorder=19)
        basemap.draw_uncertainty_band(ax)
        _town_outlines(ax, lw=0.6, colour=theme.INK)
        items = []
        for _, row in towns.iterrows():
            seat = gpd.GeoSeries(gpd.points_from_xy([row["seat_lon"]], [row["seat_lat"]]),
                                 crs=layers.towns().crs).to_crs(towns.crs).iloc[0]
            town_seat = row["unit_type"] == "镇"
            ax.plot(seat.x, seat.y, marker="o", ms=5 if town_seat else 4, mfc="white" if town_seat else theme.INK,
                    mec=theme.INK, mew=0.9, zorder=42, ls="none")
            if town_seat:
                ax.plot(seat.x, seat.y, marker="o", ms=1.6, color=theme.INK, zorder=43, ls="none")
            items.append(LabelItem(seat.x, seat.y, row["name"], size=theme.LABEL_SIZE, priority=8,
                                   mandatory=True, marker_pt=2.8))
        return items

    towns = basemap.layer("towns").sort_values("code")
    sections = [
        ("镇（街道）Towns and streets", [legend.fill(c, n, alpha=0.8, edge=theme.INK, lw=0.4)
                                       for c, n in zip(style.TOWN_COLOURS, towns["name"])]),
        ("管理主体 Management zones", [legend.outline(c, zh, lw=2.4) for zh, (_, _, c) in style.MANAGEMENT_ZONES.items()]),
        ("驻地 Seats", [legend.marker("white", "镇政府驻地 Town seat", edge=theme.INK, size=5),
                      legend.marker(theme.INK, "街道办事处驻地 Street office", edge=theme.INK, size=4)]),
        ("其他 Other", legend.base_sections()),
    ]
    band = basemap.uncertainty_legend()
    if band:
        sections.insert(2, ("边界精度 Boundary accuracy", band))
    return compose(title="吴中区镇（街道）图", subtitle=f"{PLAN} · 14 towns and streets, management zones outlined",
                   draw=draw, sections=sections, date=map_date(date), size=size, dem=dem,
                   notes_extra="驻地位置部分为估计值（见 towns.csv seat_source）；管理主体按镇（街道）整体归属绘制。")


# ----------------------------------------------------------------------------------------------
# 5 重大基础设施规划图
# ----------------------------------------------------------------------------------------------

def _band_width(page: Page, mm: float = 1.1) -> float:
    """Return ``mm`` of paper in map metres."""
    return page.scale_denominator() * mm / 1000.0


_POINT_KINDS = {"metro_station": "o", "interchange": "D", "bridge": "s"}


def infrastructure_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """重大基础设施规划图: planned infrastructure by kind and status over the zones."""

    def draw(page: Page) -> list:
        ax = page.map_ax
        parts = basemap.layer("town_zone_parts")
        for zone, (_, _, colour) in style.ZONES.items():
            parts[parts["zone"] == zone].plot(ax=ax, color=colour, alpha=0.18, edgecolor="none", zorder=2)
        _town_outlines(ax, colour="#9e9e9e", lw=0.4)
        infra = basemap.layer("infrastructure")
        view = shapely.box(*page.extent)
        lines = infra[infra.geom_type.isin(["LineString", "MultiLineString"])]
        points = infra[infra.geom_type == "Point"]
        items = []
        for kind, (zh, _, colour, width) in style.INFRASTRUCTURE_KINDS.items():
            for status, (_, _, dash, _) in style.STATUSES.items():
                sel = lines[(lines["kind"] == kind) & (lines["status"] == status)]
                if sel.empty:
                    continue
                sel.plot(ax=ax, color="white", lw=width + 1.2, zorder=29, alpha=0.8)
                sel.plot(ax=ax, color=colour, lw=width, ls=dash, zorder=30)
        for _, row in lines.iterrows():
            if not row["in_plan"]:
                continue
            inside = row.geometry.intersection(view.buffer(-2000))
            if inside.is_empty:
                continue
            mid = _largest_line(inside).interpolate(0.5, normalized=True)
            items.append(LabelItem(mid.x, mid.y, row["name"], size=theme.SMALL_LABEL_SIZE,
                                   colour=theme.darker(style.INFRASTRUCTURE_KINDS[row["kind"]][2]), priority=6,
                                   marker_pt=1.5))
        for kind, shape in _POINT_KINDS.items():
            colour = style.INFRASTRUCTURE_KINDS[kind][2]
            for built, sel in points[points["kind"] == kind].groupby(points["status"] == "built"):
                ax.scatter(sel.geometry.x, sel.geometry.y, marker=shape, s=14 if kind == "metro_station" else 26,
                           c=colour if built else "white", edgecolors=colour if not built else "white",
                           linewidths=0.9, zorder=42)
        for _, row in points[(points["kind"] != "metro_station") & points["in_plan"]].iterrows():
            items.append(LabelItem(row.geometry.x, row.geometry.y, row["name"], size=theme.SMALL_LABEL_SIZE,
                                   colour=theme.darker(style.INFRASTRUCTURE_KINDS[row["kind"]][2]), priority=7,
                                   marker_pt=3.0))
        return items + _town_area_labels(size=theme.SMALL_LABEL_SIZE, colour="#8a8a8a", priority=2,
                                         mandatory=False)

    infra = layers.infrastructure()
    line_kinds = [k for k in style.INFRASTRUCTURE_KINDS if k not in _POINT_KINDS and (infra["kind"] == k).any()]
    sections = [
        ("类别 Kind", [legend.line(style.INFRASTRUCTURE_KINDS[k][2], style.INFRASTRUCTURE_KINDS[k][0],
                                 lw=style.INFRASTRUCTURE_KINDS[k][3]) for k in line_kinds]
         + [legend.marker(style.INFRASTRUCTURE_KINDS[k][2], style.INFRASTRUCTURE_KINDS[k][0], shape=s, size=5.5)
            for k, s in _POINT_KINDS.items()]),
        ("状态 Status", [legend.line(theme.INK, f"{zh} {en}", lw=1.4, ls=dash)
                       for zh, en, dash, _ in style.STATUSES.values()]
         + [legend.marker(theme.MUTED, "站点等：实心为建成，空心为未建成", shape="o", size=5, filled=False)]),
        ("底图 Base", [legend.fill(c, zh, alpha=0.18, edge="none") for zh, (_, _, c) in style.ZONES.items()]
         + legend.base_sections()),
    ]
    return compose(title="吴中区重大基础设施规划图",
                   subtitle=f"{PLAN} 第七章 · Major infrastructure by kind and status",
                   draw=draw, sections=sections, date=map_date(date), size=size, dem=dem,
                   notes_extra="线位多为示意走向（几何精度 1.5–10 公里，见 infrastructure.csv）；"
                               "状态截至各条目 status_as_of 日期；仅标注规划列明的项目名称。")


def _largest_line(geom):
    return max(getattr(geom, "geoms", [geom]), key=lambda g: g.length)


# ----------------------------------------------------------------------------------------------
# 6 重点项目与集聚区分布图
# ----------------------------------------------------------------------------------------------

_PLACE_PRIORITY = {"cultural_tourism_cluster": 9, "homestay_village": 8, "industrial_park": 7,
                   "heritage": 6, "museum": 5, "park": 5, "scenic_area": 5, "logistics": 4,
                   "education": 4, "hospital": 4, "sports": 4, "admin": 3, "other": 3}


def places_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """重点项目与集聚区分布图: places, clusters and homestay villages."""
    places = basemap.layer("places")

    def draw(page: Page) -> list:
        ax = page.map_ax
        parts = basemap.layer("town_zone_parts")
        for zone, (_, _, colour) in style.ZONES.items():
            parts[parts["zone"] == zone].plot(ax=ax, color=colour, alpha=0.13, edgecolor="none", zorder=2)
        _town_outlines(ax, colour="#9e9e9e", lw=0.4)
        clusters = places[places["category"] == "cultural_tourism_cluster"]
        gpd.GeoSeries(clusters.buffer(2500), crs=places.crs).plot(
            ax=ax, color=style.PLACE_CATEGORIES["cultural_tourism_cluster"][2], alpha=0.15, edgecolor=
            style.PLACE_CATEGORIES["cultural_tourism_cluster"][2], lw=0.6, zorder=3)
        items = []
        order = sorted(places.index, key=lambda i: -_PLACE_PRIORITY.get(places.at[i, "category"], 3))
        for i in order:
            row = places.loc[i]
            cat = row["category"]
            _, _, colour = style.PLACE_CATEGORIES.get(cat, style.PLACE_CATEGORIES["other"])
            shape = style.PLACE_MARKERS.get(cat, "o")
            big = cat in ("cultural_tourism_cluster", "homestay_village", "industrial_park")
            ax.scatter([row.geometry.x], [row.geometry.y], marker=shape, s=70 if cat == "cultural_tourism_cluster"
                       else (34 if big else 20), c=colour, edgecolors="white", linewidths=0.6, zorder=42)
            items.append(LabelItem(row.geometry.x, row.geometry.y, _short(row["name"]),
                                   size=theme.SMALL_LABEL_SIZE + (0.5 if big else 0),
                                   colour=theme.darker(colour, 0.2) if big else theme.INK,
                                   priority=_PLACE_PRIORITY.get(cat, 3),
                                   marker_pt=4.5 if big else 3.2, mandatory=big))
        return items + _town_area_labels(size=theme.SMALL_LABEL_SIZE, colour="#8a8a8a", priority=1,
                                         mandatory=False)

    cats = [c for c in style.PLACE_CATEGORIES if (places["category"] == c).any()]
    order = sorted(cats, key=lambda c: -_PLACE_PRIORITY.get(c, 3))
    sections = [
        ("重点项目与地点 Places", [legend.marker(style.PLACE_CATEGORIES[c][2], f"{style.PLACE_CATEGORIES[c][0]}（{int((places['category'] == c).sum())}）",
                                            shape=style.PLACE_MARKERS.get(c, "o"), size=8 if c == "cultural_tourism_cluster" else 6)
                                 for c in order]),
        ("底图 Base", [legend.fill(style.PLACE_CATEGORIES["cultural_tourism_cluster"][2], "文旅集聚区范围示意（半径 2.5 公里）",
                                 alpha=0.15, edge=style.PLACE_CATEGORIES["cultural_tourism_cluster"][2])]
         + [legend.fill(c, zh, alpha=0.13, edge="none") for zh, (_, _, c) in style.ZONES.items()]
         + legend.base_sections()),
    ]
    return compose(title="吴中区重点项目与集聚区分布图",
                   subtitle=f"{PLAN} · Key projects, culture-tourism clusters and homestay villages",
                   draw=draw, sections=sections, date=map_date(date), size=size, dem=dem,
                   notes_extra="点位多为估计位置（精度 0.2–3 公里，见 places.csv）；"
                               "空间不足时次要地点只绘符号不注名。")


def _short(name: str) -> str:
    """Drop a trailing parenthesis (aliases) from a place name for the map label."""
    for bracket in ("（", "("):
        if bracket in name and not name.startswith(bracket):
            return name.split(bracket)[0]
    return name


# ----------------------------------------------------------------------------------------------
# 7 指标专题图 (choropleth on real bundled data)
# ----------------------------------------------------------------------------------------------

def area_choropleth_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """镇（街道）官方面积专题图: a choropleth of the official areas, with towns lacking one as 无数据."""
    from wuzhong_geo.maps.thematic import thematic_map

    towns = layers.towns()
    return thematic_map(
        towns, "official_area_km2", scheme="natural_breaks", k=4,
        title="吴中区镇（街道）辖区面积专题图",
        subtitle=f"{PLAN} · Official area of each town (km²), natural breaks (Fisher–Jenks)",
        legend_title="官方公布面积（平方公里）", label_column="short_name", size=size, date=date, dem=dem,
        notes="面积取自 towns.csv official_area_km2（来源与年份各异，见 area_source）；无公开数值的镇（街道）绘为“无数据”。",
    )


# ----------------------------------------------------------------------------------------------
# 10 生态与文化保护格局图 (policy areas)
# ----------------------------------------------------------------------------------------------

#: Policy kinds on the protection map, drawn bottom to top.
_PROTECTION_KINDS = ("protection_zone", "shore_band", "eco_zone", "eco_zone_proposed", "canal_corridor",
                     "canal_node", "heritage_village", "heritage_town", "heritage_site")


def protection_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """生态与文化保护格局图: 生态岛/涵养区, Taihu shore bands, 大运河文化带 and 名镇名村, each as the plan or law draws it."""
    areas = basemap.layer("policy_areas")
    areas = areas[areas["drawn"] & areas["kind"].isin(_PROTECTION_KINDS)]

    def draw(page: Page) -> list:
        ax = page.map_ax
        _town_outlines(ax, colour="#9e9e9e", lw=0.4)
        kinds = style.POLICY_KINDS
        zone = areas[areas["kind"] == "protection_zone"]
        basemap.plot(zone.boundary, ax=ax, color=kinds["protection_zone"][2], lw=1.2, ls="--", zorder=24)
        band = areas[areas["kind"] == "shore_band"]
        basemap.plot(band, ax=ax, facecolor="none", edgecolor=kinds["shore_band"][2], hatch="////", lw=0.0, zorder=3)
        basemap.plot(band.boundary, ax=ax, color=kinds["shore_band"][2], lw=0.6, zorder=23)
        eco = areas[areas["kind"] == "eco_zone"]
        basemap.plot(eco[eco["id"] != "EC01"], ax=ax, color=kinds["eco_zone"][2], alpha=0.3, edgecolor="none", zorder=4)
        basemap.plot(eco[eco["id"] == "EC01"].boundary, ax=ax, color=kinds["eco_zone"][2], lw=1.6, zorder=25)
        proposed = areas[areas["kind"] == "eco_zone_proposed"]
        basemap.plot(proposed, ax=ax, facecolor="none", edgecolor=kinds["eco_zone_proposed"][2], hatch="\\\\",
                     lw=0.0, zorder=4)
        basemap.plot(proposed.boundary, ax=ax, color=theme.darker(kinds["eco_zone_proposed"][2]), lw=1.0, ls=":",
                     zorder=25)
        for kind in ("canal_corridor", "canal_node", "heritage_village", "heritage_town", "heritage_site"):
            sel = areas[areas["kind"] == kind]
            filled = kind != "heritage_site"
            basemap.plot(sel, ax=ax, color=kinds[kind][2] if filled else "none", alpha=0.45 if filled else 1.0,
                         edgecolor=kinds[kind][2], lw=0.8 if filled else 1.4, zorder=26)
        items = []
        for _, row in areas[areas["kind"].isin(["eco_zone", "eco_zone_proposed", "heritage_town"])].iterrows():
            centre = shapely.maximum_inscribed_circle(_largest(row.geometry)).coords[0]
            items.append(LabelItem(centre[0], centre[1], _short(row["name"]), size=theme.SMALL_LABEL_SIZE + 0.5,
                                   colour=theme.darker(style.POLICY_KINDS[row["kind"]][2]), priority=8,
                                   point=row["kind"] == "heritage_town", marker_pt=3.0, mandatory=True))
        for _, row in areas[areas["kind"].isin(["heritage_village", "canal_node"])].iterrows():
            c = row.geometry.centroid
            items.append(LabelItem(c.x, c.y, _short(row["name"]), size=theme.SMALL_LABEL_SIZE,
                                   colour=theme.darker(style.POLICY_KINDS[row["kind"]][2]), priority=5,
                                   marker_pt=2.0, mandatory=False))
        return items + _town_area_labels(size=theme.SMALL_LABEL_SIZE, colour="#8a8a8a", priority=1,
                                         mandatory=False)

    k = style.POLICY_KINDS
    sections = [
        ("生态保护 Ecology", [
            legend.fill(k["eco_zone"][2], "苏州生态涵养发展实验区（东山、金庭及周边水域）", alpha=0.3, edge="none"),
            legend.outline(k["eco_zone"][2], "太湖生态岛（金庭）", lw=1.6),
            legend.fill("none", "拟扩大涵养区（光福、临湖等地）", edge=k["eco_zone_proposed"][2], hatch="\\\\"),
        ]),
        ("太湖保护 Taihu", [
            legend.fill("none", "太湖沿岸 3 公里（规划第一章）", edge=k["shore_band"][2], hatch="////"),
            legend.outline(k["protection_zone"][2], "太湖流域一级保护区：湖体及沿湖岸 5 公里（条例）", lw=1.2, ls="--"),
        ]),
        ("历史文化 Heritage", [
            legend.fill(k["canal_corridor"][2], "大运河文化带（运河两侧各 2 公里，示意）", alpha=0.45, edge=k["canal_corridor"][2]),
            legend.fill(k["canal_node"][2], "大运河文化带节点", alpha=0.45, edge=k["canal_node"][2]),
            legend.fill(k["heritage_town"][2], "历史文化名镇（古镇点位周边 1 公里）", alpha=0.45, edge=k["heritage_town"][2]),
            legend.fill(k["heritage_village"][2], "历史文化名村/传统村落（点位周边 500 米）", alpha=0.45,
                        edge=k["heritage_village"][2]),
            legend.outline(k["heritage_site"][2], "甪直古镇申报世界文化遗产", lw=1.4),
        ]),
        ("底图 Base", [legend.line("#9e9e9e", "镇（街道）界（示意）Towns", lw=0.4)] + legend.base_sections()),
    ]
    return compose(title="吴中区生态与文化保护格局图",
                   subtitle=f"{PLAN} 第五、六章 · Ecological and cultural protection areas",
                   draw=draw, sections=sections, date=map_date(date), size=size, dem=dem,
                   notes_extra="范围按 policy_areas.csv 的 geometry_basis 规则生成：镇界、岸线缓冲、运河走廊或点位加半径；"
                               "运河走廊宽度与古镇、村落半径为本项目设定，村落点位多为估计（误差 1.5–3 公里）。")


STANDARD_MAPS: tuple[MapSpec, ...] = (
    MapSpec("01_location", "区位图", "Location", location_map),
    MapSpec("02_functional_zones", "功能分区图", "Functional zones", functional_zones_map),
    MapSpec("03_subregions", "东中西片区图", "Sub-regions", subregions_map),
    MapSpec("04_towns", "镇（街道）图", "Towns and streets", towns_map),
    MapSpec("05_infrastructure", "重大基础设施规划图", "Major infrastructure", infrastructure_map),
    MapSpec("06_places", "重点项目与集聚区分布图", "Key projects and clusters", places_map),
    MapSpec("07_official_area", "镇（街道）面积专题图", "Official town areas (choropleth)", area_choropleth_map),
    MapSpec("08_metro_stations", "镇（街道）轨道交通站点专题图", "Metro stations per town", metro_stations_map),
    MapSpec("09_eco_belt_share", "镇（街道）生态文旅带占比专题图", "Share in the eco-culture-tourism belt",
            eco_belt_share_map),
    MapSpec("10_protection", "生态与文化保护格局图", "Ecological and cultural protection", protection_map),
)


def select_maps(only: tuple[str, ...] | None) -> list:
    """Return the standard maps named by ``only`` (slugs or two-digit numbers; all if None); InputError if unknown."""
    if not only:
        return list(STANDARD_MAPS)
    wanted = [w.strip() for w in only if w.strip()]
    known = {s.slug for s in STANDARD_MAPS} | {s.slug[:2] for s in STANDARD_MAPS}
    bad = [w for w in wanted if w not in known and w.zfill(2) not in known]
    if bad or not wanted:
        raise InputError(
            f"--only {','.join(only)!r}: 没有这些图 / no such map(s) {', '.join(bad) or '(none)'}; 可选 / choose from "
            + ", ".join(s.slug for s in STANDARD_MAPS)
        )
    wanted = {w.zfill(2) if w.isdigit() else w for w in wanted}
    return [s for s in STANDARD_MAPS if s.slug in wanted or s.slug[:2] in wanted]


def render_standard_set(
    out_dir: str | Path,
    formats: tuple[str, ...] | str = ("png",),
    dpi: int = 300,
    size: str = "A4",
    date: dt.date | str | None = None,
    dem: str | Path | None = None,
    *,
    only: tuple[str, ...] | None = None,
    progress: bool | None = None,
) -> list[Path]:
    """Render the standard map set into ``out_dir``; return the written files in order."""
    from wuzhong_geo.maps.progress import progress_bar

    out_dir = Path(out_dir)
    fmts = parse_formats(formats)
    when = map_date(date)
    specs = select_maps(only)
    written: list[Path] = []
    with staging(out_dir) as tmp:
        for spec in progress_bar(specs, desc="标准图集 maps", enabled=progress, label=lambda s: s.slug):
            fig = spec.build(size=size, date=when, dem=dem)
            try:
                for fmt in fmts:
                    written.append(save_figure(fig, tmp / f"{spec.slug}.{fmt}", dpi=dpi,
                                               title=f"吴中区{spec.title}" if not spec.title.startswith("吴中")
                                               else spec.title))
            finally:
                plt.close(fig)
        return publish(tmp, out_dir, [p.name for p in written])
