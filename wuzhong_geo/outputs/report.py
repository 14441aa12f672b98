"""The site-check report: one self-contained Chinese HTML page (tables + maps as inline PNG).

Everything the input supplies (names, columns, messages) is escaped with :func:`html.escape`.
Maps: one overview map of all sites (:mod:`~wuzhong_geo.outputs.report_map`: the sites drawn with
Pillow on a base raster kept in the disk cache, so a run needs no matplotlib), plus one small map
per flagged site when there are at most :data:`MAX_SITE_MAPS` of them (drawn with matplotlib; more
would make the page heavy, and the overview then numbers them).
The overview draws at most :data:`MAX_MAP_POINTS` sites (an even sample of larger inputs, said
under the map); tables list at most :data:`MAX_TABLE_ROWS` rows each and count the rest, and
every count is over all rows. Rows whose town or zone answer has low confidence (near a schematic
line, :mod:`wuzhong_geo.uncertainty`) are listed in a table of their own.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wuzhong_geo import layers, uncertainty
from wuzhong_geo.outputs import report_map
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS
from wuzhong_geo.style import (
    CHECK_COLUMN_LABELS,
    CONFIDENCE_LABELS,
    SEVERITY_LABELS,
    SITE_STATUS_COLOURS,
    SITE_STATUS_LABELS,
)

#: Per-site maps are drawn when at most this many sites are flagged.
MAX_SITE_MAPS = 12
#: Rows listed in the flagged / problem tables (the full lists are in results.xlsx).
MAX_TABLE_ROWS = 300
#: Sites plotted on the overview map: beyond this, an even sample (every k-th row); counts stay exact.
MAX_MAP_POINTS = 20_000
#: Columns of the low-confidence table (row, site, town answer, the alternative across the line).
UNCERTAIN_COLUMNS = (
    "row_id", "site_name", "status", "name", "town_confidence", "town_alternative", "town_boundary_distance_m",
    "functional_zone", "zone_confidence", "zone_alternative", "zone_line_distance_m",
)

STATUS_ZH = {key: zh for key, (zh, _en) in SITE_STATUS_LABELS.items()}


@dataclass
class ReportData:
    """What the report needs, collected chunk by chunk (bounded in size)."""

    name_col: str | None = None
    expected_rows: int = 0  # rows the input holds (about): sets the map's sampling step
    points: list[pd.DataFrame] = field(default_factory=list)
    n_points: int = 0
    shapes: list[gpd.GeoDataFrame] = field(default_factory=list)
    n_shapes: int = 0
    flagged: list[pd.DataFrame] = field(default_factory=list)
    n_flagged: int = 0
    problems: list[pd.DataFrame] = field(default_factory=list)
    n_problems: int = 0
    uncertain: list[pd.DataFrame] = field(default_factory=list)
    n_uncertain: int = 0
    site_geoms: list[gpd.GeoDataFrame] = field(default_factory=list)
    map_counts: Counter = field(default_factory=Counter)  # located rows per map class, over every row

    @property
    def map_step(self) -> int:
        """Every k-th row is drawn on the overview map (1: every row)."""
        return max(1, -(-self.expected_rows // MAX_MAP_POINTS))

    def add(self, sites: gpd.GeoDataFrame) -> None:
        """Keep what the report shows from one chunk of results.

        Each kind of row is counted from a mask over the whole chunk, but only the rows kept (a few
        hundred, and the map's sample) are copied: a chunk of 10⁵ rows is not copied whole.
        """
        name = (
            sites[self.name_col].astype("string")
            if self.name_col in sites
            else pd.Series(pd.NA, index=sites.index)
        )
        room = MAX_MAP_POINTS - self.n_points
        if room > 0:
            picked = sites["wgs84_lon"].notna() & ((sites["row_id"] - 1) % self.map_step == 0)
            points = sites[["row_id", "status", "flag_level", "wgs84_lon", "wgs84_lat"]].iloc[_first(picked, room)]
            self.points.append(pd.DataFrame(points).rename(columns={"wgs84_lon": "lon", "wgs84_lat": "lat"}))
            self.n_points += len(self.points[-1])
        if self.n_shapes < 2000:
            non_point = sites["geometry_type"].isin(["line", "polygon"]).to_numpy(dtype=bool)
            if non_point.any():  # the geometry test only where needed (a point input has no such rows)
                non_point = non_point & sites.geometry.notna().to_numpy(dtype=bool)
            if non_point.any():
                self.shapes.append(
                    sites[["row_id", "status", "flag_level", "geometry"]].iloc[_first(non_point, 2000 - self.n_shapes)]
                )
                self.n_shapes += len(self.shapes[-1])
        flagged = (sites["flag_level"].astype(str) != "").to_numpy(dtype=bool)
        self.n_flagged += int(flagged.sum())
        self._count_map_classes(sites, flagged)
        room = MAX_TABLE_ROWS - sum(len(f) for f in self.flagged)
        if room > 0 and flagged.any():
            self.flagged.append(_slim(sites, name, _first(flagged, room)))
        rows = _first(flagged, MAX_SITE_MAPS + 1 - sum(len(g) for g in self.site_geoms))
        if len(rows):
            self.site_geoms.append(
                sites[["row_id", "geometry", "flag_level", "status"]].iloc[rows].assign(site_name=name.iloc[rows])
            )
        problems = ~sites["status"].isin(["ok"]).to_numpy(dtype=bool)
        self.n_problems += int(problems.sum())
        room = MAX_TABLE_ROWS - sum(len(f) for f in self.problems)
        if room > 0 and problems.any():
            self.problems.append(_slim(sites, name, _first(problems, room)))
        self._add_uncertain(sites, name)

    def _count_map_classes(self, sites: pd.DataFrame, flagged: np.ndarray) -> None:
        """Count the located rows per map class (:func:`report_map.site_keys`) for the map's legend."""
        located = sites["wgs84_lon"].notna().to_numpy(dtype=bool)
        for status, n in sites["status"][located].value_counts().items():
            if n:
                self.map_counts[str(status)] += int(n)
        flagged_ok = int((located & flagged & _equals(sites["status"], "ok")).sum())
        if flagged_ok:
            self.map_counts["ok"] -= flagged_ok
            self.map_counts["flagged"] += flagged_ok

    def _add_uncertain(self, sites: pd.DataFrame, name: pd.Series) -> None:
        """Keep the rows whose town or zone answer has low confidence (a schematic line is near)."""
        low = np.zeros(len(sites), dtype=bool)
        for col in ("town_confidence", "zone_confidence"):
            if col in sites:
                low |= _equals(sites[col], uncertainty.LOW)
        self.n_uncertain += int(low.sum())
        room = MAX_TABLE_ROWS - sum(len(f) for f in self.uncertain)
        if room > 0 and low.any():
            rows = sites.iloc[_first(low, room)]
            table = pd.DataFrame(
                {c: rows[c] if c in rows else pd.Series(pd.NA, index=rows.index) for c in UNCERTAIN_COLUMNS}
            )
            table["site_name"] = name.loc[rows.index]
            self.uncertain.append(table)

    def merge(self, later: ReportData) -> None:
        """Append what :meth:`add` kept of later rows (a Dask partition's), within the same caps."""
        for kept, more, cap in ((self.points, later.points, MAX_MAP_POINTS), (self.shapes, later.shapes, 2000),
                                (self.flagged, later.flagged, MAX_TABLE_ROWS),
                                (self.site_geoms, later.site_geoms, MAX_SITE_MAPS + 1),
                                (self.problems, later.problems, MAX_TABLE_ROWS)):
            room = cap - sum(len(f) for f in kept)
            for frame in more:
                if room <= 0:
                    break
                kept.append(frame.head(room))
                room -= len(kept[-1])
        self.n_points = sum(len(f) for f in self.points)
        self.n_shapes = sum(len(f) for f in self.shapes)
        self.n_flagged += later.n_flagged
        self.map_counts.update(later.map_counts)
        self.n_problems += later.n_problems


def _first(mask, count: int) -> np.ndarray:
    """Positions of the first ``count`` true values of ``mask`` (none if ``count`` <= 0)."""
    return np.flatnonzero(np.asarray(mask, dtype=bool))[: max(count, 0)]


def _slim(sites: pd.DataFrame, name: pd.Series, rows: np.ndarray) -> pd.DataFrame:
    """The columns the report's tables and map show, of the rows at positions ``rows``."""
    shown = ["row_id", "status", "name", "functional_zone", "flag_level", "flags", "flag_notes", "plan_basis",
             "message", "wgs84_lon", "wgs84_lat"]
    picked = pd.DataFrame(sites[[c for c in shown if c in sites]]).iloc[rows]
    return pd.DataFrame(
        {
            "row_id": picked["row_id"],
            "site_name": name.iloc[rows],
            "status": picked["status"],
            "name": picked["name"],
            "functional_zone": picked["functional_zone"],
            "flag_level": picked["flag_level"],
            "flags": picked["flags"],
            "flag_notes": picked["flag_notes"],
            "plan_basis": picked["plan_basis"] if "plan_basis" in sites else pd.Series(pd.NA, index=picked.index),
            "message": picked["message"],
            "lon": picked["wgs84_lon"],
            "lat": picked["wgs84_lat"],
        }
    )


def _equals(values: pd.Series, text: str) -> np.ndarray:
    """``values`` as text equal to ``text`` (missing: False); a categorical compares its categories only."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = pd.Series(values.cat.categories).astype("string")
        match = np.append((categories == text).fillna(False).to_numpy(dtype=bool), False)
        return match[values.cat.codes.to_numpy()]  # code -1 (missing) picks the appended False
    return (values.astype("string") == text).fillna(False).to_numpy(dtype=bool)


def _e(value) -> str:
    if type(value) is str:  # most cells: no missing-value tests (several thousand cells per report)
        return html.escape(value)
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return html.escape(str(value))


class _num(str):
    """A table cell aligned right."""


def _table(headers: list[str], rows: list[list], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{c}</td>" if isinstance(c, _num) else f"<td>{c}</td>" for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _counts_table(
    counts: dict, label: str, total: int, labels: dict | None = None, colours: dict | None = None
) -> str:
    if not counts:
        return "<p class='muted'>（无）</p>"
    rows = []
    for key, n in counts.items():
        name = (labels or {}).get(key, key)
        swatch = (
            f'<span class="sw" style="background:{colours[key]}"></span>'
            if colours and key in colours
            else ""
        )
        rows.append([swatch + _e(name), _num(f"{n:,}"), _num(f"{100 * n / max(total, 1):.1f}%")])
    return _table([label, "数量", "占比"], rows, "counts")


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def prepare() -> None:
    """Import what the overview map needs ahead of rendering (run while the check works): Pillow, no matplotlib."""
    from PIL import Image, ImageDraw, PngImagePlugin  # noqa: F401


def _overview(data: ReportData, number_flagged: bool) -> str:
    """The overview map (image + legend + title), from the sampled points and shapes."""
    points = (
        pd.concat(data.points, ignore_index=True)
        if data.points
        else pd.DataFrame({"row_id": [], "status": [], "flag_level": [], "lon": [], "lat": []})
    )
    shapes = pd.concat([f.geometry for f in data.shapes]).to_numpy() if data.shapes else np.array([], dtype=object)
    uri = report_map.overview_png(points, shapes, number_flagged)
    return (
        f"<figure class='overview'><figcaption>{_e(report_map.TITLE)}</figcaption>"
        f"<img alt='项目位置总览' src='{uri}'>{report_map.legend_html(data.map_counts)}</figure>"
    )


def _site_maps(data: ReportData) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wuzhong_geo.fonts import use_cjk_font

    use_cjk_font()
    if not data.site_geoms:
        return []
    sites = gpd.GeoDataFrame(
        pd.concat(data.site_geoms, ignore_index=True), geometry="geometry", crs=STORAGE_CRS
    )
    sites = sites[sites.geometry.notna()].to_crs(ANALYSIS_CRS)
    zones, towns, taihu, district = report_map.base_layers()
    infra = layers.infrastructure().to_crs(ANALYSIS_CRS)
    out = []
    for _, site in sites.iterrows():  # at most MAX_SITE_MAPS small figures
        fig, ax = plt.subplots(figsize=(3.6, 3.0), dpi=90)
        report_map.draw_base(ax, zones, towns, taihu, district, infra=infra, labels=True)
        geom = site.geometry
        minx, miny, maxx, maxy = geom.bounds
        half = max(maxx - minx, maxy - miny) / 2 + 1500
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        colour = SITE_STATUS_COLOURS["flagged"]
        if geom.geom_type in ("Point", "MultiPoint"):
            xy = shapely.get_coordinates(geom)
            ax.scatter(
                xy[:, 0], xy[:, 1], s=40, c=colour, edgecolors="#000000", linewidths=0.8, zorder=9
            )
        elif geom.geom_type in ("Polygon", "MultiPolygon"):
            report_map.fill(
                ax,
                [geom],
                facecolor=colour,
                edgecolor="#000000",
                linewidth=1.0,
                alpha=0.8,
                zorder=9,
            )
        else:
            report_map.lines(ax, [geom], colors="#000000", linewidths=2.2, zorder=9)
            report_map.lines(ax, [geom], colors=colour, linewidths=1.4, zorder=10)
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - half, cy + half)
        ax.set_aspect("equal")
        title = f"#{site['row_id']} {site['site_name'] if pd.notna(site['site_name']) else ''}"
        ax.set_title(title[:28], fontsize=8)
        out.append((str(site["row_id"]), _png(fig)))
    return out


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:24px auto;max-width:1100px;
color:#252525;line-height:1.5;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;border-bottom:2px solid #d9d9d9;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #d9d9d9;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f0f0f0}td:nth-child(n+2){word-break:break-all}
td.num{text-align:right;white-space:nowrap}th{white-space:nowrap}.muted{color:#636363}.banner{background:#fff3cd;border-left:4px solid #d95f02;
padding:8px 12px;color:#7f2704;margin:12px 0}.sw{display:inline-block;width:10px;height:10px;margin-right:6px;
border:1px solid #555}.grid{display:flex;flex-wrap:wrap;gap:16px}.grid>div{flex:1 1 300px}
.maps{display:flex;flex-wrap:wrap;gap:8px}.maps figure{margin:0}.maps figcaption{font-size:12px;color:#636363}
.overview{margin:0}.overview figcaption{font-size:14px;font-weight:bold;color:#252525}
.legend{display:flex;flex-wrap:wrap;gap:2px 16px;font-size:13px;margin-top:4px}
.warning{color:#b30000;font-weight:bold}.note{color:#8c6d00}img{max-width:100%}
"""


def _metres(value) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):,.0f}"


def _uncertain_section(data: ReportData) -> str:
    """Section 六: rows near a schematic town or zone line, where the answer may be the alternative."""
    parts = [f"<h2>六、镇界/功能区分界附近的低可信度结果（{data.n_uncertain:,}）</h2>"]
    if not data.uncertain:
        parts.append("<p>没有低可信度的结果：所有位置离示意镇界与功能区分界都不近。 No low-confidence answer.</p>")
        return "".join(parts)
    table = pd.concat(data.uncertain, ignore_index=True)
    confidence = {key: zh for key, (zh, _en) in CONFIDENCE_LABELS.items()}
    rows = [
        [
            _e(r.row_id), _e(r.site_name), _e(STATUS_ZH.get(r.status, r.status)), _e(r.name),
            _e(confidence.get(str(r.town_confidence), r.town_confidence)), _e(r.town_alternative),
            _num(_metres(r.town_boundary_distance_m)), _e(r.functional_zone),
            _e(confidence.get(str(r.zone_confidence), r.zone_confidence)), _e(r.zone_alternative),
            _num(_metres(r.zone_line_distance_m)),
        ]
        for r in table.itertuples()
    ]
    parts.append(
        "<p class='muted'>这些位置离示意镇界（或功能区分界）很近，距离小于实测边界误差，所在镇街/功能区可能是"
        "“可能的另一归属”。请以官方边界核实（--boundaries）。 These sites lie closer to a schematic line than "
        "its measured error: the answer may be the alternative.</p>"
    )
    headers = ["行号", "名称", "状态", "镇（街道）"] + [
        CHECK_COLUMN_LABELS[c][0] for c in ("town_confidence", "town_alternative", "town_boundary_distance_m")
    ] + ["功能区"] + [CHECK_COLUMN_LABELS[c][0] for c in ("zone_confidence", "zone_alternative", "zone_line_distance_m")]
    parts.append(_table(headers, rows))
    if data.n_uncertain > len(table):
        parts.append(
            f"<p class='muted'>仅列出前 {len(table):,} 条，另有 {data.n_uncertain - len(table):,} 条未列出；"
            "完整列表见 results.csv / results.xlsx（筛选 town_confidence、zone_confidence 为 low）。 "
            f"Only the first {len(table):,} are listed; {data.n_uncertain - len(table):,} more are in the result files.</p>"
        )
    return "".join(parts)


def render_report(summary: dict, data: ReportData) -> str:
    """Return the report as a self-contained HTML string."""
    counts = summary["counts"]
    total = summary["rows"]
    info = summary["input"]
    rules = summary["rules"]
    parts = [
        (
            f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>项目选址核查报告 — {_e(info['source'])}</title><style>{_CSS}</style></head><body>"
        )
    ]
    parts.append(
        f"<h1>项目选址核查报告</h1><p class='muted'>吴中区“十四五”规划空间结构 · 输入：{_e(info['source'])} · "
        f"生成时间：{_e(summary['generated_at'])}</p>"
    )
    if summary["boundaries"] == "schematic":
        parts.append(
            f"<div class='banner'>{_e(uncertainty.schematic_note()[0])} 核查结果仅供参考，规则命中为“需再看一眼”的提示，"
            "不是审批结论。</div>"
        )
    else:
        parts.append(
            "<div class='banner'>使用用户提供的官方镇（街道）边界；功能区内部分界仍为本项目假设。"
            "规则命中为提示，不是审批结论。</div>"
        )
    meta = [
        ["输入文件", _e(info["source"])],
        ["格式", _e(info["format"])],
        ["编码", _e(info.get("encoding") or "—")],
        ["坐标系", _e(info.get("crs") or "—")],
        ["记录数", f"{total:,}"],
        [
            "名称列 / 类别列 / 所在镇列",
            _e(
                " / ".join(
                    str(info.get(k) or "—") for k in ("name_col", "category_col", "town_col")
                )
            ),
        ],
        [
            "点位缓冲",
            _e(
                f"{summary['options']['buffer_m']} 米"
                if summary["options"].get("buffer_m")
                else "无"
            ),
        ],
        ["规则文件", _e(summary["options"]["rules"])],
        ["镇界", _e(summary["boundaries"])],
    ]
    parts.append(_table(["项目", "内容"], meta))
    notes = list(info.get("notes") or [])
    if summary["coordinates"]["swapped"]:
        notes.append(
            f"{summary['coordinates']['swapped']:,} 条记录经纬度（或 X/Y）填反，已自动交换"
        )
    if summary["coordinates"]["dms"]:
        notes.append(f"{summary['coordinates']['dms']:,} 条记录的坐标为度分秒，已换算为十进制度")
    if info.get("renamed"):
        notes.append(
            "与结果字段重名的输入列已改名："
            + "，".join(f"{k} → {v}" for k, v in info["renamed"].items())
        )
    if notes:
        parts.append(
            "<p>输入说明：</p><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
        )

    parts.append("<h2>一、核查概况</h2><div class='grid'><div>")
    parts.append(
        "<h3>按状态</h3>"
        + _counts_table(counts["status"], "状态", total, STATUS_ZH, SITE_STATUS_COLOURS)
    )
    parts.append("</div><div>")
    level_labels = {"": "无提示", **{k: v[0] for k, v in SEVERITY_LABELS.items()}}
    parts.append(
        "<h3>按提示级别</h3>" + _counts_table(counts["flag_level"], "级别", total, level_labels)
    )
    parts.append("</div></div>")
    parts.append("<h2>二、空间分布</h2><div class='grid'><div>")
    parts.append("<h3>按功能区</h3>" + _counts_table(counts["functional_zone"], "功能区", total))
    parts.append("<h3>按片区</h3>" + _counts_table(counts["subregion"], "片区", total))
    parts.append("</div><div>")
    parts.append("<h3>按镇（街道）</h3>" + _counts_table(counts["town"], "镇（街道）", total))
    parts.append(
        "<h3>按管理主体</h3>" + _counts_table(counts["management_zone"], "管理主体", total)
    )
    parts.append("</div></div>")

    parts.append("<h2>三、规则命中</h2>")
    rule_rows = []
    for rule in rules["rules"]:
        sev = rule["severity"]
        rule_rows.append(
            [
                f"<code>{_e(rule['id'])}</code>",
                f"<span class='{_e(sev)}'>{_e(SEVERITY_LABELS[sev][0])}</span>",
                _e(rule["message"]),
                _num(f"{counts['flags'].get(rule['id'], 0):,}"),
            ]
        )
    parts.append(_table(["规则", "级别", "说明", "命中数"], rule_rows, "counts"))
    parts.append(
        f"<p class='muted'>规则来源：{_e(rules['source'])}（可信度：{_e(rules['confidence'])}）</p>"
    )

    parts.append(f"<h2>四、需关注的项目（{data.n_flagged:,}）</h2>")
    if data.flagged:
        flagged = pd.concat(data.flagged, ignore_index=True)
        flagged["_rank"] = flagged["flag_level"].map({"warning": 0, "note": 1}).fillna(2)
        flagged = flagged.sort_values(["_rank", "row_id"])
        rows = [
            [
                _e(r.row_id),
                _e(r.site_name),
                _e(STATUS_ZH.get(r.status, r.status)),
                _e(r.name),
                _e(r.functional_zone),
                f"<span class='{_e(r.flag_level)}'>{_e(SEVERITY_LABELS.get(r.flag_level, ('',))[0])}</span>",
                _e(r.flag_notes),
                _e(r.plan_basis),
            ]
            for r in flagged.itertuples()
        ]
        parts.append(_table(["行号", "名称", "状态", "镇（街道）", "功能区", "级别", "提示", "规划依据（原文）"], rows))
        if data.n_flagged > len(flagged):
            parts.append(
                f"<p class='muted'>仅列出 {len(flagged):,} 条，完整列表见 results.xlsx（筛选 flag_level）。</p>"
            )
    else:
        parts.append("<p>没有项目命中规则。</p>")

    parts.append(f"<h2>五、数据与位置问题（{data.n_problems:,}）</h2>")
    if data.problems:
        problems = pd.concat(data.problems, ignore_index=True)
        rows = [
            [_e(r.row_id), _e(r.site_name), _e(STATUS_ZH.get(r.status, r.status)), _e(r.message)]
            for r in problems.itertuples()
        ]
        parts.append(_table(["行号", "名称", "状态", "说明"], rows))
        if data.n_problems > len(problems):
            parts.append(
                f"<p class='muted'>仅列出 {len(problems):,} 条，完整列表见 results.xlsx。</p>"
            )
    else:
        parts.append("<p>所有记录均位于吴中区陆域，坐标与图形有效。</p>")

    parts.append(_uncertain_section(data))

    parts.append("<h2>七、地图</h2>")
    per_site = 0 < data.n_flagged <= MAX_SITE_MAPS
    parts.append(_overview(data, number_flagged=not per_site and data.n_flagged <= 300))
    if data.map_step > 1:
        parts.append(
            f"<p class='muted'>总览图为均匀抽样：每 {data.map_step:,} 行取 1 行，共绘出 {data.n_points:,} 个点；"
            f"统计数字基于全部记录。 The map shows every {data.map_step:,}th row ({data.n_points:,} points); "
            "counts cover every row.</p>"
        )
    if per_site:
        parts.append("<h3>需关注项目逐一示意</h3><div class='maps'>")
        for row_id, uri in _site_maps(data):
            parts.append(
                f"<figure><img alt='行 {_e(row_id)}' src='{uri}'><figcaption>行号 {_e(row_id)}</figcaption></figure>"
            )
        parts.append("</div>")
    elif data.n_flagged > MAX_SITE_MAPS:
        parts.append(
            f"<p class='muted'>需关注项目较多（{data.n_flagged:,} 个），只给出总览图"
            f"{'（图中数字为行号）' if data.n_flagged <= 300 else ''}；逐个位置可在 results.gpkg 中查看。</p>"
        )
    parts.append(
        "<h2>说明</h2><ul>"
        "<li>面积、长度、距离均在 CGCS2000 / 3° 高斯-克吕格 CM 120E（EPSG:4549）中计算；1 公顷 = 10,000 m²，"
        "1 亩 = 10,000/15 m²。</li>"
        "<li>高德（GCJ-02）、百度（BD-09）坐标按公开算法转换为 WGS84（误差小于 1 米）。</li>"
        "<li>“距太湖湖岸”指到太湖（含岛屿岸线）湖岸线的最短距离；规划基础设施为规划文本点名的项目，几何为示意。</li>"
        "<li>完整结果：results.csv（UTF-8 BOM）、results.xlsx、results.gpkg；统计：summary.json。</li></ul>"
    )
    parts.append("</body></html>")
    return "".join(parts)
