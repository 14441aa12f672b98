"""Base layers for the maps, projected to EPSG:4549 once per boundary setting, and their drawing."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.axes import Axes

from wuzhong_geo import layers, style, uncertainty
from wuzhong_geo.maps import legend, theme
from wuzhong_geo.settings import ANALYSIS_CRS

#: Neighbours labelled on district maps (context names are cnmaps names).
_CONTEXT_LABELS = {"虎丘区": "虎丘区", "姑苏区": "姑苏区", "相城区": "相城区", "吴江区": "吴江区",
                   "昆山市": "昆山市", "无锡市": "无锡市", "湖州市": "湖州市", "嘉兴市": "嘉兴市",
                   "常熟市": "常熟市", "上海市": "上海市"}
SIP_NAME = "苏州工业园区"


#: Layers that change with official boundaries; functional-zone layers also change with the zone
#: rules and are projected afresh each time (they are small).
_BY_BOUNDARIES = {"district", "land", "towns", "subregions", "management_zones", "policy_areas"}
_BY_RULES = {"town_zone_parts", "functional_zones"}


@lru_cache(maxsize=64)
def _projected(name: str, boundaries: Path | None) -> gpd.GeoDataFrame:
    return _load(name)


def _load(name: str) -> gpd.GeoDataFrame:
    frame = layers.taihu_full() if name == "taihu_full" else (
        layers.context() if name == "context" else layers.get(name))
    return frame.to_crs(ANALYSIS_CRS)


def plot(frame, ax: Axes, **kwargs) -> None:
    """Plot a GeoDataFrame/GeoSeries unless it is empty (geopandas warns on empty plots)."""
    if len(frame) and not frame.is_empty.all():
        frame.plot(ax=ax, **kwargs)


def clip_to_view(frame: gpd.GeoDataFrame, ax: Axes, margin: float = 0.02) -> gpd.GeoDataFrame:
    """Clip ``frame`` to the axes' view (plus a margin): PDF/SVG then hold only visible vertices."""
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    dx, dy = (xmax - xmin) * margin, (ymax - ymin) * margin
    out = frame.copy()
    out["geometry"] = frame.geometry.clip_by_rect(xmin - dx, ymin - dy, xmax + dx, ymax + dy)
    return out[~out.geometry.is_empty]


def layer(name: str) -> gpd.GeoDataFrame:
    """Return a layer (``layers.LAYER_NAMES``, ``context`` or ``taihu_full``) in EPSG:4549."""
    if name in _BY_RULES:
        return _load(name)
    key = layers.active_boundaries() if name in _BY_BOUNDARIES else None
    return _projected(name, key).copy()


@lru_cache(maxsize=4)
def _sip(boundaries: Path | None) -> gpd.GeoDataFrame:
    ctx = _projected("context", boundaries)
    public = ctx.loc[ctx["name"] == "吴中区", "geometry"].union_all()
    district = _projected("district", boundaries).geometry.union_all()
    rest = shapely.make_valid(public.difference(district.buffer(50)))
    parts = [p for p in getattr(rest, "geoms", [rest]) if p.geom_type == "Polygon" and p.area > 20e6]
    return gpd.GeoDataFrame({"name": [SIP_NAME]}, geometry=[shapely.MultiPolygon(parts)],
                            crs=ANALYSIS_CRS)


def sip() -> gpd.GeoDataFrame:
    """Return Suzhou Industrial Park (the public 320506 outline minus the district), EPSG:4549."""
    return _sip(layers.active_boundaries()).copy()


def bounds_of(frame: gpd.GeoDataFrame, pad: float = 0.03) -> tuple[float, float, float, float]:
    """Return the padded (xmin, ymin, xmax, ymax) of ``frame``."""
    xmin, ymin, xmax, ymax = (float(v) for v in frame.total_bounds)
    dx, dy = (xmax - xmin) * pad, (ymax - ymin) * pad
    return (xmin - dx, ymin - dy, xmax + dx, ymax + dy)


def district_extent() -> tuple[float, float, float, float]:
    """Return the extent of the district maps (district plus a small margin), EPSG:4549."""
    return bounds_of(layer("district"), pad=0.025)


def draw_context(ax: Axes, *, land: bool = True, labels: bool = True, sip_label: bool = True) -> None:
    """Draw neighbours, Suzhou Industrial Park, Taihu and (optionally) the district's land."""
    ctx = layer("context")
    ctx = ctx[ctx["name"] != "吴中区"]
    plot(clip_to_view(ctx, ax), ax, color=style.CONTEXT_FILL, edgecolor=style.CONTEXT_EDGE,
         lw=theme.CONTEXT_LW, zorder=1)
    park = sip()
    plot(clip_to_view(park, ax), ax, color=style.SIP_FILL, edgecolor=style.SIP_EDGE, lw=theme.CONTEXT_LW,
         hatch=style.SIP_HATCH, zorder=1.1)
    plot(clip_to_view(layer("taihu_full"), ax), ax, color=style.WATER, edgecolor=style.WATER_EDGE, lw=0.4,
         zorder=1.2)
    if land:
        layer("land").plot(ax=ax, color=style.LAND, edgecolor="none", zorder=1.3)
    if labels:
        _context_labels(ax, ctx, park if sip_label else None)


def _context_labels(ax: Axes, ctx: gpd.GeoDataFrame, park: gpd.GeoDataFrame | None) -> None:
    from wuzhong_geo.maps.labels import LabelItem

    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    view = shapely.box(xmin, ymin, xmax, ymax).buffer(-(xmax - xmin) * 0.02)
    water = layer("taihu_full").geometry.union_all()
    items = []
    for _, row in ctx.iterrows():
        if row["name"] not in _CONTEXT_LABELS:
            continue
        # label at the heart of the whole unit, and only when that is in view: a unit's stray
        # edge (cnmaps' 虎丘区 reaches into the Industrial Park) must not carry its name
        land = shapely.make_valid(row.geometry).difference(water)
        pt = shapely.maximum_inscribed_circle(_largest(land), 50.0).coords[0]
        if not view.contains(shapely.Point(pt)):
            visible = land.intersection(view)
            if visible.is_empty or visible.area < 0.25 * land.area:
                continue
            pt = shapely.maximum_inscribed_circle(_largest(visible), 50.0).coords[0]
        items.append(LabelItem(pt[0], pt[1], _CONTEXT_LABELS[row["name"]], size=theme.CONTEXT_LABEL_SIZE,
                               colour=theme.MUTED, priority=1, point=False))
    if park is not None:
        visible = park.geometry.iloc[0].intersection(view)
        if not visible.is_empty and visible.area > 15e6:
            pt = visible.representative_point()
            items.append(LabelItem(pt.x, pt.y, SIP_NAME, size=theme.CONTEXT_LABEL_SIZE, colour=style.SIP_EDGE,
                                   priority=2, point=False))
    ax._wz_context_labels = items  # placed together with the map's own labels


def _largest(geom):
    parts = getattr(geom, "geoms", [geom])
    return max(parts, key=lambda g: g.area)


def draw_district_outline(ax: Axes, *, zorder: float = 30) -> None:
    """Draw the district boundary: a light band under a dark line, as on Chinese admin maps."""
    outline = layer("district").boundary
    outline.plot(ax=ax, color=style.HIGHLIGHT, lw=theme.DISTRICT_LW * 3.2, alpha=0.18, zorder=zorder)
    outline.plot(ax=ax, color=style.DISTRICT_EDGE, lw=theme.DISTRICT_LW, zorder=zorder + 0.1)


def draw_uncertainty_band(ax: Axes, *, zorder: float = 19.5) -> None:
    """Draw a soft band along the schematic town lines, as wide as their measured error.

    Two nested bands: the inner one the median error, the outer one the error's high threshold
    (:func:`wuzhong_geo.uncertainty.boundary_error`). Nothing with official boundaries.
    """
    if layers.active_boundaries() is not None:
        return
    error = uncertainty.boundary_error()
    lines = uncertainty.current_lines().town_lines
    # each shared line appears once per side; the outline toward neighbours once
    lines = lines[(lines["other"] == uncertainty.OUTSIDE) | (lines["code"] < lines["other"])]
    union = lines.geometry.union_all()
    for width, alpha in ((error.high_m, 0.10), (error.medium_m, 0.16)):
        band = gpd.GeoSeries([union.buffer(width)], crs=lines.crs)
        band.plot(ax=ax, color=style.UNCERTAINTY_BAND, edgecolor="none", alpha=alpha, zorder=zorder)


def uncertainty_legend() -> list:
    """Legend handles of :func:`draw_uncertainty_band` (none with official boundaries)."""
    if layers.active_boundaries() is not None:
        return []
    error = uncertainty.boundary_error()
    return [legend.fill(style.UNCERTAINTY_BAND, f"示意镇界误差带（实测 {error.medium_m:,.0f} / "
                        f"{error.high_m:,.0f} 米）", edge="none", alpha=0.25)]


def hillshade_rgba(shade: np.ndarray, alpha: float = 0.35) -> np.ndarray:
    """Turn a 0..1 hillshade into grey RGBA: flat ground transparent, slopes up to ``alpha``.

    A flat cell of a 45° sun is sin(45°) = 0.71; shadows darken and lit slopes lighten in
    proportion to how far they are from it, so valleys and plains keep their colours.
    """
    flat = float(np.sin(np.radians(45.0)))
    grey = np.nan_to_num(shade, nan=flat)
    strength = np.clip(np.abs(grey - flat) / flat * 2.0, 0.0, 1.0)
    rgba = np.empty(grey.shape + (4,), dtype=float)
    rgba[..., 0] = rgba[..., 1] = rgba[..., 2] = np.where(grey < flat, 0.15, 1.0)
    rgba[..., 3] = np.where(np.isfinite(shade), strength * alpha, 0.0)
    return rgba


def draw_hillshade(ax: Axes, dem: str | Path | None, *, zorder: float = 1.6, alpha: float = 0.35) -> None:
    """Draw a grey hillshade of ``dem`` over the land fills (not over water) when a DEM is given."""
    if dem is None:
        return
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    from wuzhong_geo.raster import hillshade  # lazy: rasterio is only needed with a DEM

    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    shade, extent = hillshade(dem, (xmin, ymin, xmax, ymax), 30.0)
    image = ax.imshow(hillshade_rgba(np.asarray(shade, dtype=float), alpha), extent=extent, origin="upper",
                      zorder=zorder, interpolation="bilinear")
    land = shapely.box(xmin, ymin, xmax, ymax).difference(layer("taihu_full").geometry.union_all())
    rings = [ring for poly in shapely.get_parts(land) for ring in (poly.exterior, *poly.interiors)]
    path = MplPath.make_compound_path(*[MplPath(np.asarray(r.coords)[:, :2], closed=True) for r in rings])
    clip = PathPatch(path, transform=ax.transData, facecolor="none", edgecolor="none")
    image.set_clip_path(clip)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
