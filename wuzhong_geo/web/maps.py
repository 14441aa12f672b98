"""The interactive maps: :func:`webmap` (every plan layer) and :func:`choropleth_map` (one value)."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.map import CustomPane
from folium.plugins import Fullscreen, MeasureControl

from wuzhong_geo import layers, plan, uncertainty
from wuzhong_geo import style as st
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import ANALYSIS_CRS, DISTRICT_NAME, STORAGE_CRS
from wuzhong_geo.vector import read_point_table, read_vector
from wuzhong_geo.web import tiles as tl
from wuzhong_geo.web.assets import offline_html, save_offline
from wuzhong_geo.web.controls import (
    HATCH_FILL,
    GeoJsonMiniMap,
    add_page_style,
    attribution,
    banner,
    legend,
    metric_scale,
    title_box,
)
from wuzhong_geo.web.policy import policy_layers, policy_legend
from wuzhong_geo.web.features import (
    control_name,
    esc,
    fmt_number,
    geojson_layer,
    legend_section,
    multi_swatch,
    popup_html,
    swatch,
    tooltip_html,
    web_geometry,
)

log = logging.getLogger(__name__)

#: Layer-control names of the plan layers (infrastructure adds one layer per kind).
LAYER_TITLES = {
    "district": "吴中区界",
    "taihu": "太湖水域",
    "towns": "镇（街道）",
    "functional_zones": "功能区（核·轴·带）",
    "subregions": "片区（东·中·西）",
    "management_zones": "管理主体",
    "places": "规划地点与项目",
    "sites": "选址核查结果",
}
#: Prefix of the per-kind infrastructure layers ("交通 · 高速铁路").
INFRA_PREFIX = "交通 · "
#: Required columns of site-check results.
SITE_COLUMNS = ("row_id", "status", "message")

# Drawing order is fixed by panes, so switching a layer back on never buries the others.
_PANES = {"context": 350, "areas": 400, "water": 410, "outline": 420, "lines": 430,
          "points": 440, "sites": 450}
_CONTEXT_TOLERANCE_M = 150.0
_ACCURACY_NOTE_M = 500


def _symbols() -> dict[str, str]:
    dots = [c for *_, c in st.PLACE_CATEGORIES.values()]
    return {
        "district": swatch(st.DISTRICT_EDGE, kind="outline", width=2.5),
        "taihu": swatch(st.WATER, edge=st.WATER_EDGE),
        "towns": multi_swatch(st.TOWN_COLOURS[:6], st.TOWN_EDGE),
        "functional_zones": multi_swatch([c for *_, c in st.ZONES.values()], st.TOWN_EDGE),
        "subregions": multi_swatch([c for *_, c in st.SUBREGIONS.values()], st.TOWN_EDGE),
        "management_zones": multi_swatch([c for *_, c in st.MANAGEMENT_ZONES.values()], st.TOWN_EDGE),
        "places": multi_swatch([dots[0], dots[5], dots[6]], "", dots=True),
        "sites": multi_swatch(list(st.SITE_STATUS_COLOURS.values())[:3], "", dots=True),
    }


def layer_control_name(key: str) -> str:
    """Return the layer-control entry (symbol + Chinese title) of plan layer ``key``."""
    return control_name(_symbols()[key], LAYER_TITLES[key])


def _infra_symbol(kind: str) -> str:
    _, _, colour, width = st.INFRASTRUCTURE_KINDS[kind]
    if width == 0:
        return swatch(colour, kind="dot", edge=st.WEB_UI["panel"])
    return swatch(colour, kind="line", width=max(2.0, width * 1.6))


def _leaflet_assets() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    js = [(n, u) for n, u in folium.Map.default_js if n == "leaflet"]
    css = [(n, u) for n, u in folium.Map.default_css if n == "leaflet_css"]
    return js, css


class OfflineMap(folium.Map):
    """A folium Map that loads only Leaflet (no jQuery/Bootstrap/Font Awesome) and saves offline.

    ``save()`` and notebook display inline every asset, so neither needs the network.
    """

    default_js, default_css = _leaflet_assets()

    def save(self, outfile: Any, close_file: bool = True, **kwargs: Any) -> None:
        """Write the self-contained HTML (see :func:`save_offline`)."""
        if isinstance(outfile, (str, Path)):
            save_offline(self, outfile)
            return
        outfile.write(offline_html(self).encode("utf-8"))
        if close_file:
            outfile.close()

    def _repr_html_(self, **kwargs: Any) -> str:
        page = html.escape(offline_html(self), quote=True)
        return (
            '<div style="width:100%;height:0;padding-bottom:62%;position:relative;">'
            f'<iframe srcdoc="{page}" style="position:absolute;width:100%;height:100%;left:0;top:0;'
            'border:none;" allowfullscreen></iframe></div>'
        )


def _new_map(bounds: np.ndarray, right_pad: int = 10) -> OfflineMap:
    minx, miny, maxx, maxy = bounds
    m = OfflineMap(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None,
                   control_scale=False, min_zoom=7, max_zoom=18, zoom_snap=0.25)
    # Keep the district clear of the title (top) and an expanded layer control (right).
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding_top_left=(10, 60),
                 padding_bottom_right=(right_pad, 10))
    add_page_style(m)
    m.add_child(metric_scale())
    for name, z in _PANES.items():
        CustomPane(f"wz-{name}", z_index=z, pointer_events=True).add_to(m)
    Fullscreen(position="topleft", title="全屏 Full screen", title_cancel="退出全屏 Exit full screen",
               force_separate_button=True).add_to(m)
    MeasureControl(position="topleft", primary_length_unit="kilometers",
                   secondary_length_unit="meters", primary_area_unit="sqkilometers",
                   secondary_area_unit="hectares", localization="cn",
                   units={"sqkilometers": {"factor": 1e-6, "display": "平方公里", "decimals": 2}},
                   ).add_to(m)
    return m


def boundary_note() -> tuple[str, str]:
    """Return the (Chinese, English) note on which town boundaries the map shows."""
    active = layers.active_boundaries()
    if active is None:
        return uncertainty.schematic_note()
    zh, en = st.BOUNDARY_SOURCE_LABELS["official"]
    return f"镇（街道）边界：{zh}（{active.name}）。", f"Town boundaries: {en} ({active.name})."


# ---------------------------------------------------------------- layer builders


def _zone_summary() -> dict[str, list[tuple[str, str, str]]]:
    parts = layers.town_zone_parts()
    out: dict[str, list[tuple[str, str, str]]] = {}
    for row in parts.itertuples():
        out.setdefault(row.code, []).append((row.zone, row.membership, row.plan_wording))
    return out


def _membership_text(entries: list[tuple[str, str, str]]) -> str:
    return "；".join(f"{zone}（{'全域' if m == 'whole' else '部分'}）" for zone, m, _ in entries)


def _label_points(frame: gpd.GeoDataFrame) -> list[tuple[float, float]]:
    projected = frame.geometry.to_crs(ANALYSIS_CRS)
    points = []
    for geom in projected:
        parts = getattr(geom, "geoms", [geom])
        largest = max(parts, key=lambda g: g.area)
        points.append(shapely.ops.polylabel(largest, tolerance=50.0))
    pts = gpd.GeoSeries(points, crs=ANALYSIS_CRS).to_crs(STORAGE_CRS)
    return [(p.y, p.x) for p in pts]


def _towns_group(towns: gpd.GeoDataFrame, note: str) -> folium.FeatureGroup:
    zones = _zone_summary()
    colours = {code: st.TOWN_COLOURS[i % len(st.TOWN_COLOURS)]
               for i, code in enumerate(sorted(towns["code"]))}

    def popup(r: Any) -> str:
        entries = zones.get(r.code, [])
        wording = "；".join(dict.fromkeys(w for _, _, w in entries if isinstance(w, str)))
        official = fmt_number(r.official_area_km2, 2, "km²")
        if official and not pd.isna(r.official_area_year):
            official += f"（{int(r.official_area_year)}）"
        source = st.BOUNDARY_SOURCE_LABELS.get(r.boundary_source, (r.boundary_source,))[0]
        rows = [
            ("区划代码", r.code), ("类型", r.unit_type), ("管理主体", r.management_zone),
            ("片区（解读）", r.subregion), ("功能区", _membership_text(entries)),
            ("规划表述", wording), ("图上面积", fmt_number(r.area_km2, 1, "km²")),
            ("官方面积", official), ("边界来源", source),
        ]
        return popup_html(r.name, r.name_en, rows, note if r.boundary_source == "schematic" else "")

    group = folium.FeatureGroup(name=layer_control_name("towns"), show=True)
    geojson_layer(
        towns, key="towns", name=layer_control_name("towns"), control=False, pane="wz-areas",
        style=lambda r: {"fillColor": colours[r.code], "color": st.TOWN_EDGE, "weight": 1,
                         "fillOpacity": 0.6, "opacity": 0.9},
        tooltip=lambda r: tooltip_html(r.name, _membership_text(zones.get(r.code, []))),
        popup=popup,
    ).add_to(group)
    for (lat, lon), name in zip(_label_points(towns), towns["short_name"]):
        folium.Marker(
            [lat, lon], interactive=False, keyboard=False,
            icon=folium.DivIcon(html=f'<div class="wz-label">{esc(name)}</div>',
                                icon_size=(60, 16), icon_anchor=(30, 8), class_name="wz-label-icon"),
        ).add_to(group)
    return group


def _area_layer(frame: gpd.GeoDataFrame, key: str, name_col: str, palette: Mapping[str, tuple],
                rows: Any, note: str = "", show: bool = False) -> folium.GeoJson:
    def colour(r: Any) -> str:
        return palette.get(r[name_col], ("", "", st.EXTRA_LAYER))[-1]

    return geojson_layer(
        frame, key=key, name=layer_control_name(key), show=show, pane="wz-areas",
        style=lambda r: {"fillColor": colour(r), "color": colour(r), "weight": 1.5,
                         "fillOpacity": 0.45, "opacity": 0.9},
        tooltip=lambda r: tooltip_html(r[name_col], palette.get(
            r[name_col], ("", ""))[1]),
        popup=lambda r: popup_html(r[name_col], palette.get(r[name_col],
                                                                     ("", ""))[1], rows(r), note),
    )


def _infra_layers(infra: gpd.GeoDataFrame) -> list[tuple[str, str, folium.GeoJson]]:
    out = []
    for kind, (zh, en, colour, width) in st.INFRASTRUCTURE_KINDS.items():
        sel = infra[infra["kind"] == kind]
        if sel.empty:
            continue
        points = sel.geom_type.isin(["Point", "MultiPoint"]).all()

        def style(r: Any, colour: str = colour, width: float = width, points: bool = points
                  ) -> dict:
            status = r.status if r.status in st.STATUSES else "unknown"
            if points:
                built = status == "built"
                return {"radius": 4.5, "color": st.WEB_UI["panel"] if built else colour,
                        "weight": 1.5, "fillColor": colour if built else st.WEB_UI["panel"],
                        "fillOpacity": 1.0, "opacity": 1.0}
            return {"color": colour, "weight": max(2.0, width * 1.6), "opacity": 0.95,
                    "dashArray": st.STATUSES[status][3] or None}

        def popup(r: Any, zh: str = zh) -> str:
            status = st.STATUSES.get(r.status, st.STATUSES["unknown"])[0]
            if isinstance(r.status_as_of, str) and r.status_as_of:
                status += f"（截至 {r.status_as_of}）"
            accuracy = fmt_number(r.geometry_accuracy_m, 0, "米")
            return popup_html(r.name, r.name_en, [
                ("类别", zh), ("状态", status), ("规划动作", r.plan_action),
                ("规划表述", r.plan_wording), ("规划出处", r.plan_ref),
                ("长度", fmt_number(r.length_km, 1, "km")), ("几何精度", accuracy),
                ("可信度", r.confidence),
            ], "位置为示意，非设计线位/坐标。" if (r.geometry_accuracy_m or 0) >= _ACCURACY_NOTE_M
                else "")

        name = control_name(_infra_symbol(kind), INFRA_PREFIX + zh)
        layer = geojson_layer(
            sel, key=f"infra-{kind}", name=name, pane="wz-points" if points else "wz-lines",
            style=style, popup=popup, tolerance_m=5.0,
            tooltip=lambda r, zh=zh: tooltip_html(
                r.name, f"{zh} · {st.STATUSES.get(r.status, st.STATUSES['unknown'])[0]}"),
        )
        out.append((kind, name, layer))
    return out


def _places_layer(places: gpd.GeoDataFrame) -> folium.GeoJson:
    towns = plan.towns_table().set_index("code")["name"].to_dict()
    other = st.PLACE_CATEGORIES["other"]

    def popup(r: Any) -> str:
        category = st.PLACE_CATEGORIES.get(r.category, other)[0]
        return popup_html(r.name, r.name_en, [
            ("类别", category), ("所在镇（街道）", towns.get(r.town_code, "")),
            ("规划表述", r.plan_wording), ("规划出处", r.plan_ref),
            ("坐标精度", fmt_number(r.geometry_accuracy_m, 0, "米")), ("可信度", r.confidence),
        ])

    return geojson_layer(
        places, key="places", name=layer_control_name("places"), pane="wz-points",
        style=lambda r: {"radius": 5, "fillColor": st.PLACE_CATEGORIES.get(r.category, other)[2],
                         "color": st.WEB_UI["panel"], "weight": 1.2, "fillOpacity": 0.95},
        tooltip=lambda r: tooltip_html(r.name, st.PLACE_CATEGORIES.get(r.category, other)[0]),
        popup=popup,
    )


def read_sites(sites: str | Path | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return site-check results (a file or GeoDataFrame) in EPSG:4326, checking the columns."""
    if isinstance(sites, (str, Path)):
        path = Path(sites)
        if not path.is_file():
            raise InputError(f"--sites {path}: 文件不存在，请先运行选址核查 / the file does not exist; run the site check first")
        where = str(path)
        if path.suffix.lower() in (".csv", ".txt", ".tsv"):
            frame = read_point_table(path)
        else:
            import pyogrio

            try:
                names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
            except Exception:  # noqa: BLE001 GDAL raises several types for foreign or damaged files
                names = []
            from wuzhong_geo import gpkg

            # results.gpkg keeps its rows in typed tables results_points, results_polygons, ...
            bases = list(dict.fromkeys(gpkg.split_family(n)[0] for n in names))
            preferred = [n for n in ("sites", "site_check", "results") if n in bases]
            layer = preferred[0] if preferred else (names[0] if names else None)
            if len(bases) > 1 and not preferred:
                log.warning("%s has several layers (%s); showing %s", path, ", ".join(names), layer)
            if preferred and layer not in names:
                frame = gpkg.read(path, layer)
            else:
                frame = read_vector(path, what="选址核查结果 site-check results",
                                    **({"layer": layer} if layer is not None else {}))
    else:
        frame, where = sites, "sites"
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(f"{where}: expected a GeoDataFrame or a vector file of site-check results")
    missing = [c for c in SITE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{where}: site-check results need the columns {', '.join(SITE_COLUMNS)};"
                         f" missing {', '.join(missing)}")
    if frame.crs is None:
        raise InputError(f"{where}: the site-check results have no CRS; save them with one")
    return frame.to_crs(STORAGE_CRS)


def _status_label(status: Any) -> str:
    return st.SITE_STATUS_LABELS.get(status, (str(status),))[0]


#: Columns that may hold a site's own name, in the order tried (the check keeps the input's own
#: columns, e.g. 项目名称; its ``name`` column is then the town the site falls in).
SITE_NAME_COLUMNS = ("site_name", "项目名称", "名称", "项目", "工程名称", "地块名称", "项目名",
                     "project_name", "projectname", "project", "title")


def _site_name_column(frame: gpd.GeoDataFrame) -> str | None:
    found = next((c for c in SITE_NAME_COLUMNS if c in frame.columns), None)
    if found is None and "name" in frame.columns and "code" not in frame.columns:
        return "name"  # results without town columns: ``name`` is the site's own name
    return found


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return "、".join(map(str, value))
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _confidence_text(r: Any, confidence: str, distance: str, alternative: str) -> str:
    """E.g. "低（距示意镇界 80 米；也可能属 城南街道）" from the uncertainty columns of a result row."""
    level = _text(r.get(confidence))
    if not level:
        return ""
    parts = []
    dist = r.get(distance)
    if dist is not None and not (isinstance(dist, float) and np.isnan(dist)):
        parts.append(f"距示意线 {fmt_number(dist, 0)} 米")
    if _text(r.get(alternative)):
        parts.append(f"也可能属 {_text(r.get(alternative))}")
    label = st.CONFIDENCE_LABELS.get(level, (level,))[0]
    return f"{label}（{'；'.join(parts)}）" if parts else label


def _sites_layer(frame: gpd.GeoDataFrame) -> folium.GeoJson:
    name_col = _site_name_column(frame)
    town_col = "name" if "name" in frame.columns and name_col != "name" else None

    def colour(r: Any) -> str:
        return st.SITE_STATUS_COLOURS.get(r.status, st.SITE_STATUS_UNKNOWN)

    def title(r: Any) -> str:
        name = _text(r.get(name_col)) if name_col else ""
        return name.strip() or f"#{r.row_id}"

    def popup(r: Any) -> str:
        return popup_html(title(r), "", [
            ("行号", r.row_id), ("核查结果", f"{_status_label(r.status)}（{r.status}）"),
            ("说明", r.message), ("所在镇（街道）", _text(r.get(town_col)) if town_col else ""),
            ("镇界可信度", _confidence_text(r, "town_confidence", "town_boundary_distance_m", "town_alternative")),
            ("功能区", _text(r.get("functional_zone"))),
            ("分区线可信度", _confidence_text(r, "zone_confidence", "zone_line_distance_m", "zone_alternative")),
            ("标记", _text(r.get("flags"))), ("标记说明", _text(r.get("flag_notes"))),
            ("涉及政策区", _text(r.get("policies"))), ("规划依据", _text(r.get("plan_basis"))),
        ])

    return geojson_layer(
        frame, key="sites", name=layer_control_name("sites"), pane="wz-sites", tolerance_m=0,
        style=lambda r: {"radius": 6.5, "fillColor": colour(r), "color": colour(r), "weight": 2.5,
                         "fillOpacity": 0.85, "opacity": 1.0},
        tooltip=lambda r: tooltip_html(title(r), _status_label(r.status)),
        popup=popup,
    )


def _extra_layer(index: int, name: str, layer: Any) -> Any:
    if not isinstance(layer, gpd.GeoDataFrame):
        return layer  # a folium layer the caller styled; it must be offline-safe itself
    columns = [c for c in layer.columns if c != layer.geometry.name][:15]
    label = "name" if "name" in layer.columns else None
    return geojson_layer(
        layer, key=f"extra-{index}", name=esc(name), pane="wz-lines", tolerance_m=5.0,
        style=lambda r: {"radius": 5, "color": st.EXTRA_LAYER, "fillColor": st.EXTRA_LAYER,
                         "weight": 2, "fillOpacity": 0.35},
        tooltip=lambda r: tooltip_html(r[label] if label else name),
        popup=lambda r: popup_html(r[label] if label else name, name,
                                   [(c, r.get(c, "")) for c in columns]),
    )


# ---------------------------------------------------------------- legend


def _legend_html(infra_names: list[str], places: gpd.GeoDataFrame,
                 sites: gpd.GeoDataFrame | None, context: bool) -> str:
    t, name = LAYER_TITLES, layer_control_name
    sections = []
    if context:
        sections.append(legend_section("底图", [
            (swatch(st.CONTEXT_FILL, edge=st.CONTEXT_EDGE), "周边区县"),
            (swatch(st.WATER, edge=st.WATER_EDGE), "太湖（吴中区以外水域）")]))
    for key, palette in (("functional_zones", st.ZONES), ("subregions", st.SUBREGIONS),
                         ("management_zones", st.MANAGEMENT_ZONES)):
        sections.append(legend_section(
            t[key], [(swatch(c), z) for z, (*_, c) in palette.items()], [name(key)]))
    if infra_names:
        rows = [(swatch(st.WEB_UI["muted"], kind="line", dash=st.STATUSES[k][3]),
                 f"{st.STATUSES[k][0]}线路") for k in ("built", "under_construction", "planned")]
        rows.append((swatch(st.WEB_UI["panel"], kind="dot", edge=st.WEB_UI["muted"]),
                     "空心点：规划或在建"))
        sections.append(legend_section("交通设施状态", rows, infra_names))
    present = [c for c in st.PLACE_CATEGORIES if c in set(places["category"])]
    sections.append(legend_section(
        t["places"], [(swatch(st.PLACE_CATEGORIES[c][2], kind="dot", edge=st.WEB_UI["panel"]),
                       st.PLACE_CATEGORIES[c][0]) for c in present], [name("places")], columns=2))
    if sites is not None:
        counts = sites["status"].value_counts()
        statuses = [s for s in st.SITE_STATUS_COLOURS if s in counts] + [
            s for s in counts.index if s not in st.SITE_STATUS_COLOURS]
        rows = [(swatch(st.SITE_STATUS_COLOURS.get(s, st.SITE_STATUS_UNKNOWN), kind="dot"),
                 f"{_status_label(s)}（{counts[s]}）") for s in statuses]
        undrawn = int((sites.geometry.isna() | sites.geometry.is_empty).sum())
        if undrawn:
            rows.append(("", f"其中 {undrawn} 条无坐标或几何，未绘制"))
        sections.append(legend_section(t["sites"], rows, [name("sites")]))
    return "".join(sections)


# ---------------------------------------------------------------- public API


def webmap(
    *,
    tiles: str = "none",
    tianditu_key: str | None = None,
    sites: str | Path | gpd.GeoDataFrame | None = None,
    extra_layers: Mapping[str, Any] | None = None,
    amap_shift: bool = True,
) -> folium.Map:
    """Return the interactive map of every plan layer; with ``tiles="none"`` it needs no network.

    ``tiles``: none | osm | tianditu (needs ``tianditu_key`` or $TIANDITU_KEY) | amap (GCJ-02:
    with ``amap_shift`` the layers are shifted to GCJ-02 for that view, else they sit ~500 m off;
    a banner says which). ``sites``: site-check results (file or GeoDataFrame with row_id, status,
    message). ``extra_layers``: {layer name: GeoDataFrame or folium layer}. Save with
    :func:`save_offline`.
    """
    tiles = tl.check_tiles(tiles)
    key = tl.tianditu_key(tianditu_key) if tiles == "tianditu" else None
    shift = tiles == "amap" and amap_shift
    site_frame = read_sites(sites) if sites is not None else None

    def prep(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return tl.to_gcj02(frame) if shift else frame

    district = prep(layers.district())
    m = _new_map(district.total_bounds, right_pad=240)
    for tile in tl.tile_layers(tiles, key):
        tile.add_to(m)
    visible: dict[str, bool] = {}

    def add(layer: Any, show: bool = True) -> None:
        layer.add_to(m)
        visible[layer.layer_name] = show

    if tiles == "none":
        _context_layer(layers.district()).add_to(m)
    note_zh, _note_en = boundary_note()
    add(geojson_layer(
        district, key="district", name=layer_control_name("district"), pane="wz-outline",
        style=lambda r: {"color": st.DISTRICT_EDGE, "weight": 3, "fill": False, "opacity": 0.9},
        tooltip=lambda r: tooltip_html(DISTRICT_NAME, "苏州市吴中区"),
        popup=lambda r: popup_html(DISTRICT_NAME, "Wuzhong District, Suzhou", [
            ("区划代码", r.code), ("图上面积（含太湖水域）", fmt_number(r.area_km2, 0, "km²"))],
            note_zh),
    ))
    add(geojson_layer(
        prep(layers.taihu()), key="taihu", name=layer_control_name("taihu"), pane="wz-water",
        style=lambda r: {"fillColor": st.WATER, "color": st.WATER_EDGE, "weight": 1,
                         "fillOpacity": 0.9, "opacity": 0.9},
        tooltip=lambda r: tooltip_html("太湖", "吴中区水域"),
        popup=lambda r: popup_html("太湖（吴中区水域）", "Taihu waters in Wuzhong", [
            ("面积", fmt_number(r.area_km2, 0, "km²"))]),
    ))
    add(_towns_group(prep(layers.towns()), note_zh))
    add(_area_layer(prep(layers.functional_zones()), "functional_zones", "zone", st.ZONES,
                    lambda r: [("包含镇（街道）", r.towns),
                               ("图上面积", fmt_number(r.area_km2, 1, "km²"))],
                    "部分镇（街道）按本项目假设拆分，见各镇弹窗。"), show=False)
    add(_area_layer(prep(layers.subregions()), "subregions", "subregion", st.SUBREGIONS,
                    lambda r: [("包含镇（街道）", r.towns), ("解读依据", r.interpretation),
                               ("可信度", r.confidence),
                               ("图上面积", fmt_number(r.area_km2, 1, "km²"))],
                    "规划未列出各片区所含镇（街道），此为本项目的解读。"), show=False)
    add(_area_layer(prep(layers.management_zones()), "management_zones", "name",
                    st.MANAGEMENT_ZONES,
                    lambda r: [("简称", r.short_name), ("包含镇（街道）", r.towns),
                               ("依据", r.basis), ("可信度", r.confidence),
                               ("图上面积", fmt_number(r.area_km2, 1, "km²"))]), show=False)
    infra = _infra_layers(prep(layers.infrastructure()))
    for _, _, layer in infra:
        add(layer)
    policy = prep(layers.policy_areas())
    policies = policy_layers(policy)
    for name, layer in policies:
        add(layer, show=False)
    places = layers.places()
    add(_places_layer(prep(places)))
    if site_frame is not None:
        add(_sites_layer(prep(site_frame)))
    for index, (name, extra) in enumerate((extra_layers or {}).items()):
        extra = prep(extra) if isinstance(extra, gpd.GeoDataFrame) else extra
        layer = _extra_layer(index, name, extra)
        layer.add_to(m)
        if hasattr(layer, "layer_name"):
            visible[layer.layer_name] = True

    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    m.add_child(title_box("苏州市吴中区“十四五”规划空间结构",
                          "Wuzhong District, Suzhou: spatial structure of the 14th Five-Year Plan"))
    if tiles == "amap":
        m.add_child(_amap_banner(shift))
    notes = f"{note_zh} 交通线位与地点坐标为示意，精度见弹窗。"
    legend_html = _legend_html([n for _, n, _ in infra], places, site_frame, tiles == "none")
    legend_html += policy_legend(policy, [n for n, _ in policies])
    m.add_child(legend(legend_html, notes, visible_layers=visible))
    short = "示意边界 Schematic boundaries" if layers.active_boundaries() is None else (
        f"边界 Boundaries: {layers.active_boundaries().name}")
    m.add_child(attribution(esc(f"{short} | wuzhong_geo")
                            + (" | 图层为 GCJ-02 显示 Layers shown in GCJ-02" if shift else "")))
    m.add_child(GeoJsonMiniMap(_minimap_data(prep)))
    return m


def write_webmap(out: str | Path = "maps/wuzhong.html", **options: Any) -> Path:
    """Build :func:`webmap` with ``options`` and save it offline to ``out`` (the main job's call)."""
    return save_offline(webmap(**options), out)


def _context_layer(district: gpd.GeoDataFrame) -> folium.GeoJson:
    neighbours = layers.context()
    neighbours = neighbours[neighbours["name"] != DISTRICT_NAME]
    water = layers.taihu_full().geometry.union_all().difference(district.geometry.union_all())
    frame = pd.concat([
        neighbours[["name", "geometry"]].assign(water=False),
        gpd.GeoDataFrame({"name": ["太湖"], "water": [True]}, geometry=[water], crs=STORAGE_CRS),
    ], ignore_index=True)
    return geojson_layer(
        gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS), key="context",
        name="周边区县", control=False, pane="wz-context", tolerance_m=_CONTEXT_TOLERANCE_M,
        style=lambda r: ({"fillColor": st.WATER, "color": st.WATER_EDGE, "weight": 0.5,
                          "fillOpacity": 0.7} if r.water else
                         {"fillColor": st.CONTEXT_FILL, "color": st.CONTEXT_EDGE, "weight": 0.8,
                          "fillOpacity": 1.0}),
        tooltip=lambda r: tooltip_html(r.name),
    )


def _minimap_data(prep: Any) -> dict:
    context = layers.context()
    context = context.assign(
        style=[{"fillColor": st.DISTRICT_EDGE if n == DISTRICT_NAME else st.CONTEXT_FILL,
                "color": st.CONTEXT_EDGE, "weight": 0.5, "fillOpacity": 1.0} for n in context["name"]])
    lake = layers.taihu_full().assign(style=[{"fillColor": st.WATER, "color": st.WATER_EDGE,
                                              "weight": 0.5, "fillOpacity": 1.0}])
    frame = web_geometry(prep(pd.concat([context[["style", "geometry"]], lake[["style", "geometry"]]],
                                        ignore_index=True)), 400.0)
    return json.loads(frame.to_json(drop_id=True))


def _amap_banner(shifted: bool) -> Any:
    lon, lat = layers.district().geometry.iloc[0].centroid.coords[0]
    offset = int(round(tl.gcj02_offset_m(lon, lat), -1))
    if shifted:
        return banner(
            f"高德底图采用 GCJ-02 坐标，与 WGS84 相差约 {offset} 米。为对齐底图，本图所有图层已临时偏移至"
            " GCJ-02 显示；导出、量算坐标请使用 WGS84 数据。",
            f"Amap tiles are GCJ-02, about {offset} m off WGS84. All layers here are shifted to "
            "GCJ-02 for display only; use the WGS84 data for coordinates.")
    return banner(
        f"高德底图采用 GCJ-02 坐标：本图图层为 WGS84，与底图错位约 {offset} 米。",
        f"Amap tiles are GCJ-02: the WGS84 layers here sit about {offset} m off the base map.")


_SCHEME_ZH = {"quantiles": "分位数", "equal_interval": "等间距", "natural_breaks": "自然断点",
              "fisher_jenks": "Fisher-Jenks 最优分级", "user_defined": "自定义"}


def _decimals(values: np.ndarray) -> int:
    span = float(np.nanmax(np.abs(values))) if len(values) else 0.0
    return 0 if span >= 100 else 1 if span >= 10 else 2 if span >= 1 else 3


def choropleth_map(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    scheme: str = "quantiles",
    k: int = 5,
    bins: list[float] | None = None,
    title: str | None = None,
    legend_title: str | None = None,
    no_data_label: str = "无数据",
) -> folium.Map:
    """Return an offline choropleth of ``column`` (mapclassify classes, style.CHOROPLETH_CMAP).

    Classes come from :func:`wuzhong_geo.maps.thematic.classify`, as on the static thematic map.
    """
    if column not in gdf.columns:
        raise InputError(f"choropleth column {column!r} is not in the data "
                         f"(columns: {', '.join(map(str, gdf.columns))})")
    values = pd.to_numeric(gdf[column], errors="coerce")
    bad = gdf[column].notna() & values.isna()
    if bad.any():
        raise InputError(f"choropleth column {column!r} has non-numeric values, e.g. "
                         f"{gdf.loc[bad, column].iloc[0]!r}")
    frame = gdf.assign(wz_value=values.astype(float))
    frame = frame.set_crs(STORAGE_CRS) if frame.crs is None else frame
    # The static thematic map's own classification, so both maps get the same classes and colours.
    from wuzhong_geo.maps.thematic import classify

    classes, upper = classify(frame["wz_value"], scheme, k, bins)
    frame["wz_class"] = classes.to_numpy()
    valid = (classes >= 0).to_numpy()
    y = frame.loc[valid, "wz_value"].to_numpy()
    labels: list[str] = []
    if len(upper):
        lower = np.concatenate([[y.min()], upper[:-1]])
        d = _decimals(y)
        labels = [f"{fmt_number(lo, d)} – {fmt_number(hi, d)}（{int((classes == i).sum())}）"
                  for i, (lo, hi) in enumerate(zip(lower, upper, strict=True))]
    colours = st.choropleth_colours(len(labels)) if labels else []

    name_col = next((c for c in ("name", "short_name", "zone", "subregion") if c in frame.columns),
                    None)
    label = legend_title or st.label(column)
    d = _decimals(y) if len(y) else 1

    def name_of(r: Any) -> str:
        return str(r[name_col]) if name_col else ""

    def style(r: Any) -> dict:
        if r.wz_class < 0:
            return {"fillColor": HATCH_FILL, "color": st.NO_DATA_EDGE, "weight": 1,
                    "fillOpacity": 1.0, "dashArray": "3 3"}
        return {"fillColor": colours[r.wz_class], "color": st.TOWN_EDGE, "weight": 1,
                "fillOpacity": 0.9}

    def value_text(r: Any) -> str:
        return no_data_label if r.wz_class < 0 else fmt_number(r.wz_value, d)

    bounds = frame.to_crs(STORAGE_CRS).total_bounds
    m = _new_map(bounds)
    _context_layer(layers.district()).add_to(m)
    layer = geojson_layer(
        frame, key="choropleth", name=esc(label), pane="wz-areas", style=style,
        tooltip=lambda r: tooltip_html(name_of(r), f"{label}：{value_text(r)}"),
        popup=lambda r: popup_html(name_of(r), "", [
            (label, value_text(r)),
            ("分级", labels[r.wz_class] if r.wz_class >= 0 else no_data_label)]),
    )
    layer.add_to(m)
    water = geojson_layer(
        layers.taihu(), key="taihu", name=layer_control_name("taihu"), pane="wz-water",
        style=lambda r: {"fillColor": st.WATER, "color": st.WATER_EDGE, "weight": 1,
                         "fillOpacity": 0.9}, tooltip=lambda r: tooltip_html("太湖"))
    water.add_to(m)
    rows = [(swatch(c, edge=st.TOWN_EDGE), text) for c, text in zip(colours, labels)]
    if (~valid).any():
        rows.append((swatch(st.NO_DATA, kind="hatch", edge=st.NO_DATA_EDGE),
                     f"{no_data_label}（{int((~valid).sum())}）"))
    method = "分级：自定义" if bins is not None else f"分级：{_SCHEME_ZH.get(scheme, scheme)}"
    rows_html = legend_section(label, rows, [])
    schematic = "boundary_source" in frame.columns and (frame["boundary_source"] == "schematic").any()
    note = f"{method}。" + (uncertainty.schematic_note()[0] if schematic else "")
    folium.LayerControl(position="topright", collapsed=True).add_to(m)
    if title:
        m.add_child(title_box(title))
    m.add_child(legend(rows_html, note))
    m.add_child(attribution(esc(("示意边界 Schematic boundaries | " if schematic else "")
                                + "wuzhong_geo")))
    return m
