"""The town atlas: one page per town (like a QGIS Atlas), as a multi-page PDF and optional PNGs."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
import shapely
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from wuzhong_geo import layers, style
from wuzhong_geo.maps import basemap, elements, legend, theme
from wuzhong_geo.maps.compose import furniture_boxes
from wuzhong_geo.maps.labels import LabelItem, place_labels
from wuzhong_geo.maps.layout import Page, draw_notes, new_page, notes_text, wrap_text
from wuzhong_geo.maps.output import map_date, pdf_metadata, pdf_rc, save_figure
from wuzhong_geo.maps.progress import progress_bar
from wuzhong_geo.outdir import publish, staging

ATLAS_TITLE = "吴中区镇（街道）图集"
ARROW_AT = (0.955, 0.86)
_MIN_SPAN_M = 14000.0


def _town_extent(geom) -> tuple[float, float, float, float]:
    """The town and its surroundings: its bounds grown by 35 % (at least 14 km across)."""
    xmin, ymin, xmax, ymax = geom.bounds
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    w = max((xmax - xmin) * 1.35, _MIN_SPAN_M)
    h = max((ymax - ymin) * 1.35, _MIN_SPAN_M * 0.7)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _fmt_area(value) -> str:
    return "—" if pd.isna(value) else f"{float(value):.2f}"


def fact_rows(town: pd.Series, parts: gpd.GeoDataFrame) -> list[tuple[str, str]]:
    """Return the (field, value) rows of a town's fact table."""
    zone_text = "；".join(
        f"{r['zone']}（{'整体' if r['membership'] == 'whole' else '部分'}，{r['area_km2']:.1f} km²）"
        for _, r in parts.sort_values("zone").iterrows()
    ) or "—"
    official = _fmt_area(town["official_area_km2"])
    if official != "—":
        year = town.get("official_area_year")
        source = town.get("area_source")
        official += f" km²（{int(year)} 年）" if pd.notna(year) else " km²（年份不详）"
        if isinstance(source, str) and source:
            official += f"；来源：{source}"
    else:
        official = "无公开数值"
    boundary = style.BOUNDARY_SOURCE_LABELS.get(str(town["boundary_source"]), (str(town["boundary_source"]),))[0]
    return [
        ("区划代码", str(town["code"])),
        ("类型", str(town["unit_type"])),
        ("管理主体", str(town["management_zone"])),
        ("片区", str(town.get("subregion") or "—")),
        ("功能区", zone_text),
        ("面积（本图边界）", f"{town['area_km2']:.2f} km²"),
        ("官方面积", official),
        ("边界来源", boundary),
    ]


def indicator_rows(row: pd.Series) -> list[tuple[str, str]]:
    """Return fact-table rows from a town's row of :func:`wuzhong_geo.indicators.units.town_indicators`."""
    from wuzhong_geo.indicators.units import indicator_columns

    names = indicator_columns("town").set_index("column")["name_zh"]
    places = "、".join(f"{names[c]} {int(row[c])}" for c in names.index
                       if c.startswith("places_") and c != "places_total" and row[c] > 0)
    return [
        ("轨道交通", f"站点 {int(row['metro_stations'])} 个；驻地距最近站 {row['seat_metro_km']:.1f} km"
                     f"（{row['seat_metro_station']}）"),
        ("规划交通项目", f"{int(row['plan_projects'])} 项，境内 {row['plan_km']:.1f} km"
                       f"（未建成 {row['plan_unbuilt_km']:.1f} km）"),
        ("规划地点", f"{int(row['places_total'])} 处" + (f"：{places}" if places else "")),
    ]


def _draw_facts(page: Page, rows: list[tuple[str, str]]) -> None:
    fig = page.fig
    x, y, w, h = page.facts_box
    fig.text(x, y + h, "基本信息 Facts", ha="left", va="top", fontsize=theme.LEGEND_TITLE_SIZE + 1, color=theme.INK)
    size = 6.4
    key_w = 0.27 * w
    width_units = int((w - key_w) * page.width_mm / (size * 0.3528 * 0.56))
    renderer = fig.canvas.get_renderer()
    cursor = y + h - 5.2 / page.height_mm
    for key, value in rows:
        fig.add_artist(Line2D([x, x + w], [cursor + 0.6 / page.height_mm] * 2, transform=fig.transFigure,
                              color="#d0d0d0", lw=0.4))
        fig.text(x, cursor, key, ha="left", va="top", fontsize=size, color=theme.MUTED)
        t = fig.text(x + key_w, cursor, wrap_text(value, width_units), ha="left", va="top", fontsize=size,
                     color=theme.INK, linespacing=1.25)
        cursor -= t.get_window_extent(renderer).height / fig.bbox.height + 1.3 / page.height_mm
    page.artists["facts_bottom"] = cursor


def town_page(code: str, *, size: str = "A4", date: dt.date | None = None, dem=None,
              page_no: int = 1, pages: int = 14, indicators: pd.DataFrame | None = None) -> Figure:
    """Build the atlas page of one town (by 9-digit code) and return its figure.

    ``indicators``: the table of :func:`wuzhong_geo.indicators.units.town_indicators` (computed if None).
    """
    from wuzhong_geo.indicators.units import town_indicators
    from wuzhong_geo.plan import town_code

    code = town_code(code)
    indicators = town_indicators() if indicators is None else indicators
    towns = basemap.layer("towns")
    town = towns.loc[towns["code"] == code].iloc[0]
    geom = town.geometry
    parts_all = basemap.layer("town_zone_parts")
    parts = parts_all[parts_all["code"] == code]
    extent = _town_extent(geom)
    page = new_page(extent, size=size, mode="side", facts_mm=56.0, locator_mm=36.0,
                    notes_mm=29.0, panel_mm=82.0,
                    title=f"{town['name']}  {town['name_en']}",
                    subtitle=f"{ATLAS_TITLE} · 第 {page_no} 页，共 {pages} 页 · {town['management_zone']} · {town['code']}")
    ax = page.map_ax
    view = shapely.box(*page.extent)
    basemap.draw_context(ax)
    towns.plot(ax=ax, color=style.LAND, edgecolor="none", zorder=1.9)
    for zone, (_, _, colour) in style.ZONES.items():
        basemap.plot(parts_all[(parts_all["zone"] == zone) & (parts_all["code"] != code)], ax,
                     color=colour, alpha=0.12, edgecolor="none", zorder=2)
        basemap.plot(parts[parts["zone"] == zone], ax, color=colour, alpha=0.55, edgecolor="none", zorder=2.1)
    basemap.draw_hillshade(ax, dem)
    basemap.draw_uncertainty_band(ax)
    towns.boundary.plot(ax=ax, color=style.TOWN_EDGE, lw=0.5, zorder=20)
    if len(parts) > 1:
        from wuzhong_geo.maps.standard import _split_lines

        lines = _split_lines()
        basemap.plot(lines[lines.intersects(geom.buffer(10))], ax, color=style.SPLIT_LINE, lw=0.7, ls="--",
                     zorder=21)
    gpd.GeoSeries([geom.boundary], crs=towns.crs).plot(ax=ax, color=style.HIGHLIGHT, lw=2.2, zorder=31)
    basemap.draw_district_outline(ax)

    items: list[LabelItem] = []
    infra = basemap.layer("infrastructure")
    infra = infra[infra.intersects(view)]
    lines_ = infra[infra.geom_type.isin(["LineString", "MultiLineString"])]
    points = infra[infra.geom_type == "Point"]
    for kind, (_, _, colour, width) in style.INFRASTRUCTURE_KINDS.items():
        for status, (_, _, dash, _) in style.STATUSES.items():
            sel = lines_[(lines_["kind"] == kind) & (lines_["status"] == status)]
            if not sel.empty:
                sel.plot(ax=ax, color="white", lw=width + 1.0, alpha=0.8, zorder=29)
                sel.plot(ax=ax, color=colour, lw=width, ls=dash, zorder=30)
    inner = geom.buffer(-200)
    for _, row in lines_.iterrows():
        inside = row.geometry.intersection(inner)
        if inside.is_empty or not row["in_plan"]:
            continue
        mid = max(getattr(inside, "geoms", [inside]), key=lambda g: g.length).interpolate(0.5, normalized=True)
        items.append(LabelItem(mid.x, mid.y, row["name"], colour=theme.darker(style.INFRASTRUCTURE_KINDS[row["kind"]][2]),
                               priority=6, marker_pt=1.5))
    for kind, shape in (("metro_station", "o"), ("interchange", "D"), ("bridge", "s")):
        sel = points[points["kind"] == kind]
        if sel.empty:
            continue
        colour = style.INFRASTRUCTURE_KINDS[kind][2]
        built = sel["status"] == "built"
        ax.scatter(sel.geometry.x, sel.geometry.y, marker=shape, s=22, c=[colour if b else "white" for b in built],
                   edgecolors=[("white" if b else colour) for b in built], linewidths=0.9, zorder=42)
        for _, row in sel[sel.within(geom)].iterrows():
            items.append(LabelItem(row.geometry.x, row.geometry.y, row["name"], size=theme.SMALL_LABEL_SIZE - 0.3,
                                   colour=theme.darker(colour), priority=4 if kind == "metro_station" else 6))

    places = basemap.layer("places")
    inside = places[(places["town_code"] == code) | places.within(geom)]
    for _, row in inside.iterrows():
        cat = row["category"]
        colour = style.PLACE_CATEGORIES.get(cat, style.PLACE_CATEGORIES["other"])[2]
        ax.scatter([row.geometry.x], [row.geometry.y], marker=style.PLACE_MARKERS.get(cat, "o"),
                   s=60 if cat == "cultural_tourism_cluster" else 30, c=colour, edgecolors="white",
                   linewidths=0.6, zorder=43)
        items.append(LabelItem(row.geometry.x, row.geometry.y, row["name"].split("（")[0], priority=7,
                               colour=theme.darker(colour, 0.25), marker_pt=3.5, mandatory=True))

    for _, other in towns.iterrows():
        visible = other.geometry.intersection(view.buffer(-500))
        if visible.is_empty or visible.area < 2e6:
            continue
        part = max(getattr(visible, "geoms", [visible]), key=lambda g: g.area)
        cx, cy = shapely.maximum_inscribed_circle(part).coords[0]
        mine = other["code"] == code
        items.append(LabelItem(cx, cy, other["name"], size=12 if mine else theme.LABEL_SIZE - 0.5,
                               colour=style.HIGHLIGHT if mine else "#8a8a8a", priority=10 if mine else 2,
                               point=False, mandatory=mine))

    elements.graticule_ticks(ax)
    elements.north_arrow(ax, *ARROW_AT)
    bar = elements.scale_bar(ax, location="lower left")
    highlight = towns[towns["code"] == code]
    elements.locator_inset(page.locator_ax, highlight=highlight, frame=page.extent, scope="district",
                           label="在吴中区的位置")
    facts = fact_rows(town, layers.town_zone_parts().pipe(lambda f: f[f["code"] == code]))
    _draw_facts(page, facts + indicator_rows(indicators.loc[indicators["code"] == code].iloc[0]))
    zone_handles = [legend.fill(c, zh, alpha=0.55, edge="none") for zh, (_, _, c) in style.ZONES.items()
                    if (parts["zone"] == zh).any()]
    kinds = [k for k in style.INFRASTRUCTURE_KINDS if (infra["kind"] == k).any()]
    infra_handles = [
        (legend.line(style.INFRASTRUCTURE_KINDS[k][2], style.INFRASTRUCTURE_KINDS[k][0], lw=style.INFRASTRUCTURE_KINDS[k][3])
         if style.INFRASTRUCTURE_KINDS[k][3] > 0 else
         legend.marker(style.INFRASTRUCTURE_KINDS[k][2], style.INFRASTRUCTURE_KINDS[k][0],
                       shape={"metro_station": "o", "interchange": "D", "bridge": "s"}.get(k, "o"), size=5))
        for k in kinds
    ]
    statuses = [s for s in style.STATUSES if (lines_["status"] == s).any()]
    status_handles = [legend.line(theme.INK, style.STATUSES[s][0], lw=1.2, ls=style.STATUSES[s][2]) for s in statuses]
    cats = [c for c in style.PLACE_CATEGORIES if (inside["category"] == c).any()]
    place_handles = [legend.marker(style.PLACE_CATEGORIES[c][2], style.PLACE_CATEGORIES[c][0],
                                   shape=style.PLACE_MARKERS.get(c, "o"), size=6) for c in cats]
    sections = [
        ("本镇（街道）Town", [legend.outline(style.HIGHLIGHT, "本镇（街道）界", lw=2.0)] + zone_handles),
        ("基础设施 Infrastructure", infra_handles + status_handles),
        ("地点 Places", place_handles),
        ("底图 Base", [legend.line(style.TOWN_EDGE, "镇（街道）界（示意）", lw=0.5),
                     *basemap.uncertainty_legend(),
                     legend.line(style.DISTRICT_EDGE, "区界", lw=theme.DISTRICT_LW)]),
    ]
    legend.draw_legend(page, [s for s in sections if s[1]], fontsize=6.8)
    extra = ""
    if len(parts) > 1:
        extra = "本镇功能区分界为假设：" + str(parts["split_assumption"].dropna().iloc[0]) + "。"
    draw_notes(page, notes_text(map_date(date), extra=extra, scale=page.scale_denominator(), size=size),
               fontsize=5.6)
    place_labels(ax, items + getattr(ax, "_wz_context_labels", []),
                 obstacles=furniture_boxes(page, bar, ARROW_AT))
    return page.fig


def render_atlas(
    out_path: str | Path,
    png_dir: str | Path | None = None,
    dem: str | Path | None = None,
    date: dt.date | str | None = None,
    *,
    size: str = "A4",
    dpi: int = 300,
    codes: list[str] | None = None,
    progress: bool | None = None,
) -> Path:
    """Write the town atlas (one page per town) to ``out_path``; PNG pages too with ``png_dir``."""
    out_path = Path(out_path)
    from wuzhong_geo.indicators.units import town_indicators

    when = map_date(date)
    towns = layers.towns().sort_values("code")
    indicators = town_indicators()
    selected = [c for c in towns["code"] if not codes or c in codes]
    names = dict(zip(towns["code"], towns["name"]))
    pages_staging = staging(png_dir, option="--png-dir") if png_dir is not None else contextlib.nullcontext(None)
    with staging(out_path, kind="file") as tmp, pages_staging as pages:
        pngs = []
        with mpl.rc_context(pdf_rc()), PdfPages(tmp / out_path.name, metadata=pdf_metadata(ATLAS_TITLE)) as pdf:
            for number, code in enumerate(progress_bar(selected, desc="分镇图集 atlas", enabled=progress,
                                                       unit="page", label=names.get), start=1):
                fig = town_page(code, size=size, date=when, dem=dem, page_no=number, pages=len(selected),
                                indicators=indicators)
                try:
                    pdf.savefig(fig, facecolor="white")
                    if png_dir is not None:
                        name_en = towns.loc[towns["code"] == code, "name_en"].iloc[0]
                        pngs.append(save_figure(fig, pages / f"{number:02d}_{code}_{name_en}.png", dpi=dpi).name)
                finally:
                    plt.close(fig)
        # the PDF and its PNG pages are replaced together or not at all
        if pngs:
            publish(pages, Path(png_dir), pngs)
        publish(tmp, out_path.parent if str(out_path.parent) else Path("."), [out_path.name])
    return out_path
