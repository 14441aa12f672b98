"""Thematic maps of users' data: classed choropleths (mapclassify) and categorical maps."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from wuzhong_geo import style
from wuzhong_geo.errors import InputError
from wuzhong_geo.maps import basemap, elements, legend, theme
from wuzhong_geo.maps.compose import compose
from wuzhong_geo.maps.labels import LabelItem, place_labels
from wuzhong_geo.maps.layout import Page
from wuzhong_geo.maps.output import map_date
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS

#: Classification schemes: name -> mapclassify class. ``natural_breaks`` uses Fisher–Jenks
#: (optimal and deterministic; mapclassify's NaturalBreaks uses random k-means starts).
SCHEMES = {
    "quantiles": mapclassify.Quantiles,
    "natural_breaks": mapclassify.FisherJenks,
    "fisher_jenks": mapclassify.FisherJenks,
    "equal_interval": mapclassify.EqualInterval,
    "user_defined": mapclassify.UserDefined,
}


def _prepare(gdf: gpd.GeoDataFrame, column: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError("thematic_map needs a GeoDataFrame")
    if column not in gdf.columns:
        raise InputError(f"column {column!r} not found; available: {', '.join(map(str, gdf.columns))}")
    frame = gdf[~gdf.geometry.isna() & ~gdf.geometry.is_empty].copy()
    if frame.empty:
        raise InputError("the GeoDataFrame has no geometry to map")
    if frame.crs is None:
        xmin, ymin, xmax, ymax = frame.total_bounds
        if -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90:
            frame = frame.set_crs(STORAGE_CRS)  # lon/lat without a CRS: the usual case
        else:
            raise InputError("the GeoDataFrame has no CRS and is not in lon/lat; set one with .set_crs()")
    return frame.to_crs(ANALYSIS_CRS)


def _is_categorical(values: pd.Series, categorical: bool | None) -> bool:
    if categorical is not None:
        return categorical
    return not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))


def _decimals(values: np.ndarray) -> int:
    span = float(np.nanmax(np.abs(values))) if len(values) else 1.0
    if span >= 100:
        return 0
    if span >= 10:
        return 1
    return 2 if span >= 1 else 3


def classify(values: pd.Series, scheme: str = "quantiles", k: int = 5, bins=None):
    """Classify the non-missing ``values``; return (class index per value or -1, upper bounds)."""
    key = scheme.lower().replace(" ", "_").replace("-", "_")
    if key not in SCHEMES:
        raise InputError(f"unknown scheme {scheme!r}; choose from {', '.join(SCHEMES)}")
    numeric = pd.to_numeric(values, errors="coerce")
    valid = numeric.dropna()
    classes = pd.Series(-1, index=values.index, dtype=int)
    if valid.empty:
        return classes, np.array([])
    if key == "user_defined" or bins is not None:
        if bins is None:
            raise InputError("scheme 'user_defined' needs bins=[...] (upper bounds of the classes)")
        upper = sorted(float(b) for b in bins)
        if upper[-1] < valid.max():
            upper.append(float(valid.max()))
        result = mapclassify.UserDefined(valid.to_numpy(), bins=upper)
    else:
        k_eff = max(1, min(int(k), valid.nunique()))
        if k_eff == 1:
            result = mapclassify.UserDefined(valid.to_numpy(), bins=[float(valid.max())])
        else:
            with warnings.catch_warnings():
                # FisherJenks is exact either way; numba only makes it faster on big inputs
                warnings.filterwarnings("ignore", message="Numba not installed")
                result = SCHEMES[key](valid.to_numpy(), k=k_eff)
    classes.loc[valid.index] = result.yb.astype(int)
    return classes, np.asarray(result.bins, dtype=float)


def class_ranges(values: pd.Series, upper: np.ndarray) -> list[tuple[float, float, str]]:
    """Return (low, high, text) of each class for a legend: whole numbers read "3 – 4", not "2 – 4"."""
    numeric = pd.to_numeric(values, errors="coerce")
    valid = numeric.dropna().to_numpy()
    counts = bool(len(valid)) and bool(np.all(valid == np.round(valid))) and bool(np.all(upper == np.round(upper)))
    dec = 0 if counts else _decimals(valid)
    lows = [float(numeric.min())] + [u + 1 if counts else u for u in upper[:-1]]
    out = []
    for lo, hi in zip(lows, upper):
        text = f"{hi:,.{dec}f}" if lo == hi else f"{lo:,.{dec}f} – {hi:,.{dec}f}"
        out.append((float(lo), float(hi), text.replace(",", " ")))
    return out


def _class_labels(values: pd.Series, classes: pd.Series, upper: np.ndarray) -> list[str]:
    return [f"{text}（{int((classes == i).sum())}）" for i, (_, _, text) in enumerate(class_ranges(values, upper))]


def _kind(frame: gpd.GeoDataFrame) -> str:
    types = set(frame.geom_type)
    if types <= {"Point", "MultiPoint"}:
        return "point"
    if types <= {"LineString", "MultiLineString"}:
        return "line"
    return "polygon"


def _draw(ax: Axes, frame: gpd.GeoDataFrame, colours: pd.Series, missing: pd.Series, kind: str) -> None:
    data, nodata = frame[~missing], frame[missing]
    if kind == "polygon":
        if not data.empty:
            data.plot(ax=ax, color=list(colours[~missing]), edgecolor=style.TOWN_EDGE, lw=0.5, zorder=3)
        if not nodata.empty:
            nodata.plot(ax=ax, color=style.NO_DATA, edgecolor=style.NO_DATA_EDGE, hatch=style.NO_DATA_HATCH,
                        lw=0.5, zorder=3)
    elif kind == "line":
        if not data.empty:
            data.plot(ax=ax, color=list(colours[~missing]), lw=2.2, zorder=30)
        if not nodata.empty:
            nodata.plot(ax=ax, color=style.NO_DATA_EDGE, lw=1.4, ls=":", zorder=30)
    else:
        pts = frame.geometry.representative_point()
        if not data.empty:
            ax.scatter(pts[~missing].x, pts[~missing].y, s=34, c=list(colours[~missing]),
                       edgecolors=theme.INK, linewidths=0.5, zorder=42)
        if not nodata.empty:
            ax.scatter(pts[missing].x, pts[missing].y, s=34, c=style.NO_DATA, edgecolors=style.NO_DATA_EDGE,
                       hatch=style.NO_DATA_HATCH, linewidths=0.7, zorder=42)


def _swatch(colour: str, label: str, kind: str, nodata: bool = False):
    if kind == "polygon":
        if nodata:
            return legend.fill(style.NO_DATA, label, edge=style.NO_DATA_EDGE, hatch=style.NO_DATA_HATCH)
        return legend.fill(colour, label)
    if kind == "line":
        if nodata:
            return legend.line(style.NO_DATA_EDGE, label, lw=1.4, ls=":")
        return legend.line(colour, label, lw=2.2)
    if nodata:
        return legend.marker(style.NO_DATA, label, edge=style.NO_DATA_EDGE, size=6)
    return legend.marker(colour, label, edge=theme.INK, size=6)


def _extent(frame: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    data = basemap.bounds_of(frame, pad=0.05)
    district = basemap.district_extent()
    dbox, box = shapely.box(*district), shapely.box(*data)
    if box.intersects(dbox) and box.area > 0.08 * dbox.area and box.area < 4 * dbox.area:
        return tuple(float(v) for v in shapely.box(*data).union(dbox).bounds)
    if box.area == 0:  # a single point
        cx, cy = box.centroid.x, box.centroid.y
        return (cx - 5000, cy - 5000, cx + 5000, cy + 5000)
    return data


def thematic_map(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    scheme: str = "quantiles",
    k: int = 5,
    bins=None,
    title: str | None = None,
    subtitle: str | None = None,
    legend_title: str | None = None,
    cmap: str | None = None,
    categorical: bool | None = None,
    no_data_label: str = "无数据",
    ax: Axes | None = None,
    size: str = "A4",
    date: dt.date | str | None = None,
    dem: str | Path | None = None,
    notes: str = "",
    label_column: str | None = None,
) -> Figure:
    """Map ``column`` of any GeoDataFrame (any CRS) with the full report layout; return the figure.

    Numbers are classed with ``scheme`` (quantiles, natural_breaks, equal_interval, user_defined
    with ``bins``); text columns, or ``categorical=True``, get one colour per category. Missing
    values are drawn as ``no_data_label`` (white, hatched).
    """
    frame = _prepare(gdf, column)
    values = frame[column]
    missing = values.isna()
    kind = _kind(frame)
    legend_title = legend_title or style.label(column)
    if _is_categorical(values, categorical):
        cats = sorted(values.dropna().unique(), key=str)
        palette = colormaps[cmap or style.QUALITATIVE_CMAP]
        n = getattr(palette, "N", 256)
        colour_of = {c: to_hex(palette(i % n if n < 64 else i / max(len(cats) - 1, 1))) for i, c in enumerate(cats)}
        colours = values.map(lambda v: colour_of.get(v, style.NO_DATA))
        handles = [_swatch(colour_of[c], f"{c}（{int((values == c).sum())}）", kind) for c in cats]
    else:
        classes, upper = classify(values, scheme, k, bins)
        palette = style.choropleth_colours(max(len(upper), 1), cmap or style.CHOROPLETH_CMAP)
        colours = classes.map(lambda i: palette[i] if i >= 0 else style.NO_DATA)
        handles = [_swatch(palette[i], text, kind) for i, text in enumerate(_class_labels(values, classes, upper))]
    if missing.any():
        handles.append(_swatch(style.NO_DATA, f"{no_data_label}（{int(missing.sum())}）", kind, nodata=True))
    label_items = _label_items(frame, label_column, kind)

    if ax is not None:
        return _into_axes(ax, frame, colours, missing, kind, handles, legend_title, title, label_items)

    def draw(page: Page) -> list:
        _draw(page.map_ax, frame, colours, missing, kind)
        basemap.layer("towns").boundary.plot(ax=page.map_ax, color=style.TOWN_EDGE, lw=0.25, alpha=0.6, zorder=2.5)
        return label_items

    scheme_zh = {"quantiles": "分位数", "natural_breaks": "自然断点（Fisher–Jenks）", "fisher_jenks": "自然断点（Fisher–Jenks）",
                 "equal_interval": "等间距", "user_defined": "自定义分级"}
    sections = [(legend_title, handles), ("底图 Base", legend.base_sections())]
    method = "分类：按类别着色。" if _is_categorical(values, categorical) else f"分级方法：{scheme_zh.get(scheme, scheme)}，括号内为单元数。"
    return compose(title=title or f"{legend_title}专题图", subtitle=subtitle or "", draw=draw, sections=sections,
                   date=map_date(date), size=size, extent=_extent(frame), dem=dem,
                   notes_extra=" ".join(t for t in (method, notes) if t))


def _label_items(frame: gpd.GeoDataFrame, label_column: str | None, kind: str) -> list[LabelItem]:
    if not label_column:
        return []
    if label_column not in frame.columns:
        raise InputError(f"label column {label_column!r} not found")
    items = []
    for _, row in frame.iterrows():
        geom = row.geometry
        if kind == "polygon":
            part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
            x, y = shapely.maximum_inscribed_circle(part).coords[0]
            items.append(LabelItem(x, y, str(row[label_column]), size=theme.LABEL_SIZE - 0.5, priority=5,
                                   point=False, mandatory=True))
        else:
            pt = geom.representative_point() if kind == "point" else geom.interpolate(0.5, normalized=True)
            items.append(LabelItem(pt.x, pt.y, str(row[label_column]), priority=5))
    return items


def _into_axes(ax, frame, colours, missing, kind, handles, legend_title, title, label_items) -> Figure:
    """Draw into a caller's axes: data over the base layers, legend, scale bar and north arrow."""
    xmin, ymin, xmax, ymax = _extent(frame)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_facecolor(theme.MAP_BACKGROUND)
    basemap.draw_context(ax, labels=False)
    _draw(ax, frame, colours, missing, kind)
    basemap.draw_district_outline(ax)
    elements.north_arrow(ax)
    elements.scale_bar(ax)
    leg = ax.legend(handles=handles, title=legend_title, loc="lower left", fontsize=theme.LEGEND_SIZE,
                    title_fontsize=theme.LEGEND_TITLE_SIZE, framealpha=0.9)
    leg.set_zorder(70)
    if title:
        ax.set_title(title, fontsize=theme.SUBTITLE_SIZE + 2, color=theme.INK, loc="left")
    ax.set_xticks([])
    ax.set_yticks([])
    renderer = ax.figure.canvas.get_renderer()
    place_labels(ax, label_items, obstacles=[leg.get_window_extent(renderer)])
    return ax.figure

