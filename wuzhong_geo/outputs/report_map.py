"""The check report's overview map: a cached base raster with the sites drawn on it by Pillow.

The base (Taihu, functional zones, town lines and names, district edge, boundary note, scale bar)
is the same on every run, so it is drawn with matplotlib once per extent and kept in the disk cache
(:mod:`wuzhong_geo.diskcache`, keyed by the data and code state, the boundaries in use and the
extent) as PNG bytes with its exact pixel grid. Each run decodes it and stamps the sites, the
non-point shapes and the flagged row numbers with numpy and Pillow: no matplotlib on a warm run.
The extent is whole kilometres, so typical runs share one entry. The matplotlib drawing helpers
here also serve the report's per-site maps.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wuzhong_geo import coords, diskcache, layers, uncertainty
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS
from wuzhong_geo.style import (
    DISTRICT_EDGE,
    INFRASTRUCTURE_KINDS,
    SITE_STATUS_COLOURS,
    SITE_STATUS_LABELS,
    TOWN_EDGE,
    WATER,
    WATER_EDGE,
    ZONES,
    hex_rgb,
)

#: Pixel size of the overview map (width, height); the extent grows to this shape.
SIZE = (1000, 600)
#: Resolution of the base raster (town names are 6 pt at this many pixels per inch).
DPI = 100
#: Rows at the top kept for the boundary note: the sites and the district are drawn below them.
NOTE_PX = 48
#: Margin around the district and the sites near it (metres).
PAD_M = 3000
#: Sites this far beyond the district's bounds widen the map; farther ones are left off it.
NEAR_M = 20000
#: Length of the scale bar (metres).
SCALE_M = 10_000
#: Drawing order of the site classes (later on top) and their legend order.
SITE_KEYS = ("ok", "outside_district", "in_taihu_water", "invalid_geometry", "flagged")
TITLE = "项目位置总览（CGCS2000 / 3° 高斯-克吕格 CM 120E）"
#: Bump when the base drawing changes in a way the file stamp below would not show.
_VERSION = 1
_SHAPE_COLOUR = (17, 17, 17)
_EDGE_COLOUR = (51, 51, 51)


@dataclass(frozen=True)
class Base:
    """The base raster and its grid: pixel (0, 0) is the top-left corner at (minx, maxy)."""

    png: bytes
    minx: float
    maxy: float
    metres_per_pixel: float
    size: tuple[int, int] = SIZE

    def to_pixels(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column and row (continuous: pixel i spans [i, i + 1)) of EPSG:4549 coordinates."""
        return (np.asarray(x) - self.minx) / self.metres_per_pixel, (self.maxy - np.asarray(y)) / self.metres_per_pixel


def site_keys(status: pd.Series, flag_level: pd.Series) -> np.ndarray:
    """The map class of each site: its status, or 'flagged' for a located site a rule flagged."""
    status = status.astype(str).to_numpy()
    flagged = (status == "ok") & (flag_level.astype(str).to_numpy() != "")
    return np.where(flagged, "flagged", status)


def overview_png(points: pd.DataFrame, shapes: np.ndarray, number_flagged: bool) -> str:
    """The overview map as a PNG data URI.

    ``points``: lon, lat, status, flag_level, row_id of the sites drawn; ``shapes``: the line and
    polygon sites (shapely, EPSG:4326), drawn as lines; ``number_flagged``: write flagged row numbers.
    """
    from PIL import Image, ImageDraw

    x, y = coords.transformer(STORAGE_CRS, ANALYSIS_CRS).transform(
        points["lon"].to_numpy(dtype=float), points["lat"].to_numpy(dtype=float)
    )
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    base = base_map(x, y)
    image = Image.open(io.BytesIO(base.png)).convert("RGB")
    if len(shapes):
        _draw_shapes(ImageDraw.Draw(image), base, shapes)
    pixels = np.array(image)
    col, row = base.to_pixels(x, y)
    col, row = np.floor(col).astype(np.int64), np.floor(row).astype(np.int64)
    keys = site_keys(points["status"], points["flag_level"])
    # the sizes follow the matplotlib scatter this replaces (9, 3, 0.6 pt² by count)
    radius, edge = (2.3, 3.2) if len(points) < 2000 else ((1.2, 0.0) if len(points) < 30000 else (0.5, 0.0))
    for key in SITE_KEYS:
        sel = keys == key
        if sel.any():
            if edge:
                _stamp(pixels, col[sel], row[sel], edge, _EDGE_COLOUR)
            _stamp(pixels, col[sel], row[sel], radius, hex_rgb(SITE_STATUS_COLOURS.get(key, "#000000")))
    image = Image.fromarray(pixels)
    if number_flagged:
        _draw_numbers(ImageDraw.Draw(image), col, row, points["row_id"].to_numpy(), keys == "flagged")
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def legend_html(counts: dict[str, int]) -> str:
    """The map's legend: one swatch per site class with its count, then the zone colours."""
    labels = {key: zh for key, (zh, _en) in SITE_STATUS_LABELS.items()}
    items = [
        f"<span><span class='sw' style='background:{SITE_STATUS_COLOURS.get(key, '#000000')};border-radius:50%'>"
        f"</span>{html.escape(labels.get(key, key))}（<span class='n' data-key='{key}'>{counts[key]:,}</span>）</span>"
        for key in SITE_KEYS if counts.get(key)
    ]
    items += [
        f"<span><span class='sw' style='background:{colour};opacity:.5'></span>{html.escape(zone)}</span>"
        for zone, (_, _, colour) in ZONES.items()
    ]
    return f"<div class='legend'>{''.join(items)}</div>"


def base_map(x: np.ndarray, y: np.ndarray) -> Base:
    """The cached base raster whose extent holds the district and the sites within :data:`NEAR_M` of it."""
    state = diskcache.data_state()
    boundaries = layers.active_boundaries()
    minx, miny, maxx, maxy = diskcache.cached(
        "report_district", (state, str(boundaries)), lambda: tuple(float(v) for v in _district().total_bounds)
    )
    near = (x > minx - NEAR_M) & (x < maxx + NEAR_M) & (y > miny - NEAR_M) & (y < maxy + NEAR_M)
    if near.any():
        minx, maxx = min(minx, x[near].min()), max(maxx, x[near].max())
        miny, maxy = min(miny, y[near].min()), max(maxy, y[near].max())
    # whole kilometres and whole metres per pixel: typical runs hit one cache entry, the grid is exact
    minx, miny = math.floor((minx - PAD_M) / 1000) * 1000, math.floor((miny - PAD_M) / 1000) * 1000
    maxx, maxy = math.ceil((maxx + PAD_M) / 1000) * 1000, math.ceil((maxy + PAD_M) / 1000) * 1000
    step = math.ceil(max((maxx - minx) / SIZE[0], (maxy - miny) / (SIZE[1] - NOTE_PX)))
    left = (minx + maxx) / 2 - step * SIZE[0] / 2
    top = (miny + maxy) / 2 + step * ((SIZE[1] - NOTE_PX) / 2 + NOTE_PX)  # the note's strip above the sites
    key = (_VERSION, state, diskcache.stamp(Path(__file__)), str(boundaries), left, top, step, SIZE, DPI)
    return diskcache.cached("report_overview", key, lambda: _render_base(left, top, step))


def _render_base(left: float, top: float, step: float) -> Base:
    """Draw the base layers with matplotlib on a full-frame axes of exactly :data:`SIZE` pixels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wuzhong_geo.fonts import use_cjk_font

    use_cjk_font()
    fig = plt.figure(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    draw_base(ax, *base_layers(), labels=True)
    bottom = top - step * SIZE[1]
    ax.set_xlim(left, left + step * SIZE[0])
    ax.set_ylim(bottom, top)
    # one line per clause: the note is short sentences, so no CJK line breaker is needed
    note = re.sub(r"([；。])(?=.)", "\\1\n", uncertainty.boundary_note()[0])
    ax.text(6 / SIZE[0], 1 - 4 / SIZE[1], note, transform=ax.transAxes, va="top", ha="left", fontsize=7,
            color="#444444", zorder=20, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#bbbbbb", "pad": 3})
    # scale bar: 10 km (the map is ~100 km wide), exact in data units, in the bottom margin (no site there)
    x0, y0 = left + 20 * step, bottom + 6 * step
    ax.fill([x0, x0 + SCALE_M, x0 + SCALE_M, x0], [y0, y0, y0 + 3 * step, y0 + 3 * step], color="#252525", zorder=20)
    ax.text(x0 + SCALE_M / 2, y0 + 5 * step, f"{SCALE_M // 1000} 公里 km", ha="center", va="bottom", fontsize=7,
            color="#252525", zorder=20)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return Base(buf.getvalue(), left, top, step)


def _stamp(pixels: np.ndarray, col: np.ndarray, row: np.ndarray, radius: float, rgb: tuple) -> None:
    """Paint a disc of ``radius`` pixels around each (col, row), all at once."""
    r = math.ceil(radius)
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    inside = dx * dx + dy * dy <= radius * radius
    cols = (col[:, None] + dx[inside]).ravel()
    rows = (row[:, None] + dy[inside]).ravel()
    height, width = pixels.shape[:2]
    keep = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    pixels[rows[keep], cols[keep]] = rgb


def _draw_shapes(draw, base: Base, shapes: np.ndarray) -> None:
    """Draw line and polygon sites (shapely geometries in EPSG:4326) as dark lines."""
    forward = coords.transformer(STORAGE_CRS, ANALYSIS_CRS)
    geoms = shapely.transform(shapes, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))
    polygonal = shapely.get_dimensions(geoms) == 2
    geoms[polygonal] = shapely.boundary(geoms[polygonal])  # a polygon is drawn as its outline
    for part in shapely.get_parts(geoms):
        xy = shapely.get_coordinates(part)
        col, row = base.to_pixels(xy[:, 0], xy[:, 1])
        draw.line(list(zip(col.tolist(), row.tolist())), fill=_SHAPE_COLOUR, width=1)


@lru_cache(maxsize=1)
def _number_font():
    from PIL import ImageFont

    from wuzhong_geo.fonts import cjk_font_path

    return ImageFont.truetype(str(cjk_font_path()), 10)


def _draw_numbers(draw, col: np.ndarray, row: np.ndarray, row_ids: np.ndarray, flagged: np.ndarray) -> None:
    """Write the row number of each flagged site just up and right of it; left of it where the number
    would leave the map, below it where it would reach into the boundary note's strip."""
    font = _number_font()
    width, _ = SIZE
    for c, r, rid in zip(col[flagged].tolist(), row[flagged].tolist(), row_ids[flagged].tolist()):
        text = str(rid)
        right = c + 3 + draw.textlength(text, font=font) <= width
        up = r - 2 - font.size >= NOTE_PX
        anchor = ("l" if right else "r") + ("d" if up else "a")
        draw.text((c + 3 if right else c - 3, r - 2 if up else r + 3), text, fill=(0, 0, 0), font=font, anchor=anchor)


def _district() -> gpd.GeoDataFrame:
    return layers.district().to_crs(ANALYSIS_CRS)


@lru_cache(maxsize=4)
def _base_layers_cached(boundaries: str | None):
    zones = layers.functional_zones().to_crs(ANALYSIS_CRS)
    towns = layers.towns().to_crs(ANALYSIS_CRS)
    taihu = layers.taihu_full().to_crs(ANALYSIS_CRS)
    return zones, towns, taihu, _district()


def base_layers():
    """Zones, towns, Taihu and the district in EPSG:4549, for the boundaries in use (kept per process)."""
    active = layers.active_boundaries()
    return _base_layers_cached(str(active) if active else None)


def _path(geom):
    """A matplotlib Path of a (multi)polygon, rings oriented so holes stay empty."""
    from matplotlib.path import Path as MplPath

    verts, codes = [], []
    for poly in shapely.get_parts(shapely.orient_polygons(geom)):
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            verts.append(xy)
            codes.append(
                np.r_[MplPath.MOVETO, np.full(len(xy) - 2, MplPath.LINETO), MplPath.CLOSEPOLY]
            )
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes).astype(np.uint8))


def fill(ax, geoms, **kwargs) -> None:
    """Fill polygons without geopandas' plotting (which redraws the whole figure per call)."""
    from matplotlib.collections import PathCollection

    paths = [
        p for p in (_path(g) for g in geoms if g is not None and not g.is_empty) if p is not None
    ]
    if paths:
        ax.add_collection(PathCollection(paths, **kwargs))


def lines(ax, geoms, **kwargs) -> None:
    """Draw lines and polygon outlines as one LineCollection."""
    from matplotlib.collections import LineCollection

    segs = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        if g.geom_type in ("Polygon", "MultiPolygon"):
            g = g.boundary
        for part in shapely.get_parts(g):
            if part.geom_type in ("LineString", "LinearRing"):
                segs.append(np.asarray(part.coords))
            elif part.geom_type == "MultiLineString":
                segs.extend(np.asarray(x.coords) for x in part.geoms)
    if segs:
        ax.add_collection(LineCollection(segs, **kwargs))


def draw_base(ax, zones, towns, taihu, district, infra=None, labels: bool = False) -> None:
    """Draw Taihu, the zones, town lines, the district edge (and infrastructure, town names) on ``ax``."""
    fill(ax, taihu.geometry, facecolor=WATER, edgecolor=WATER_EDGE, linewidth=0.4, zorder=1)
    for _, row in zones.iterrows():
        fill(ax, [row.geometry], facecolor=ZONES[row["zone"]][2], alpha=0.18, linewidth=0, zorder=2)
    lines(ax, towns.geometry, colors=TOWN_EDGE, linewidths=0.4, zorder=3)
    lines(ax, district.geometry, colors=DISTRICT_EDGE, linewidths=0.9, zorder=4)
    if infra is not None and len(infra):
        for kind, group in infra.groupby("kind"):
            style = INFRASTRUCTURE_KINDS.get(kind)
            if style is None:
                continue
            found = group[group.geom_type.isin(["LineString", "MultiLineString"])]
            lines(ax, found.geometry, colors=style[2], linewidths=max(style[3] * 0.6, 0.6), zorder=5)
    if labels:
        for _, row in towns.iterrows():
            p = row.geometry.representative_point()
            ax.annotate(row["short_name"], (p.x, p.y), fontsize=6, color="#444444", ha="center", zorder=6,
                        annotation_clip=True)
    ax.set_axis_off()
