"""Map furniture: north arrow, scale bar, graticule ticks in degrees and the locator inset."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Polygon, Rectangle
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import Transformer

from wuzhong_geo import style
from wuzhong_geo.maps import basemap, theme
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS

_NICE_KM = (1, 2, 2.5, 5, 10, 15, 20, 25, 50, 100)


def north_arrow(ax: Axes, x: float = 0.955, y: float = 0.86, size: float = 0.085) -> None:
    """Draw a two-tone north arrow with an ``N`` at axes fraction (x, y) (arrow height ``size``)."""
    fig_w, fig_h = ax.figure.get_size_inches()
    pos = ax.get_position()
    ratio = (pos.height * fig_h) / (pos.width * fig_w)  # keep the arrow symmetric in any axes shape
    half = size * 0.32 * ratio
    tip, base, notch = (x, y + size / 2), y - size / 2, y - size / 2 + size * 0.28
    kw = {"transform": ax.transAxes, "zorder": 60, "lw": 0.7, "ec": theme.INK, "clip_on": False}
    ax.add_patch(Polygon([tip, (x - half, base), (x, notch)], closed=True, fc=theme.INK, **kw))
    ax.add_patch(Polygon([tip, (x + half, base), (x, notch)], closed=True, fc="white", **kw))
    ax.text(x, tip[1] + 0.012, "N", transform=ax.transAxes, ha="center", va="bottom",
            fontsize=9, color=theme.INK, zorder=60, path_effects=theme.halo(2.0))


def nice_length_km(width_m: float, fraction: float = 0.1) -> float:
    """Return a round scale-bar length (km) close to ``fraction`` of the map width."""
    target = width_m * fraction / 1000.0
    return min(_NICE_KM, key=lambda v: abs(math.log(v / target)))


def scale_bar(ax: Axes, location: str = "lower right") -> ScaleBar:
    """Add a km scale bar (true at the map's centre: EPSG:4549 distortion here is < 0.01 %)."""
    xmin, xmax = ax.get_xlim()
    length = nice_length_km(xmax - xmin)
    bar = ScaleBar(
        1.0, "m", dimension="si-length", location=location, fixed_value=length, fixed_units="km",
        length_fraction=None, width_fraction=0.012, box_alpha=0.85, box_color="white",
        color=theme.INK, frameon=True, pad=0.5, border_pad=0.8, sep=2.5, scale_loc="top",
        label_loc="top", font_properties={"size": theme.TICK_SIZE + 0.5},
        scale_formatter=lambda value, unit: f"{value:g} 公里 km",
    )
    bar.set_zorder(55)
    ax.add_artist(bar)
    return bar


def _format_deg(value: float, hemi: tuple[str, str]) -> str:
    minutes_total = round(value * 60)
    deg, minutes = divmod(abs(minutes_total), 60)
    letter = hemi[0] if value >= 0 else hemi[1]
    return f"{deg}°{minutes:02d}′{letter}"


def _step_minutes(span_deg: float) -> int:
    for step in (1, 2, 5, 10, 15, 20, 30, 60, 120):
        if span_deg * 60 / step <= 7:
            return step
    return 300


def graticule_ticks(ax: Axes, *, crs: str = ANALYSIS_CRS, labels: str = "bottom-left") -> None:
    """Put degree ticks (e.g. 120°30′E) on the frame of a projected map axes.

    The meridians and parallels of EPSG:4549 are slightly curved and inclined, so each tick is
    placed where the graticule line actually crosses that edge of the frame.
    """
    to_geo = Transformer.from_crs(crs, STORAGE_CRS, always_xy=True)
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    samples = np.linspace(0, 1, 400)

    def crossings(edge: str, which: int) -> list[tuple[float, float]]:
        if edge in ("bottom", "top"):
            y = ymin if edge == "bottom" else ymax
            xs = xmin + samples * (xmax - xmin)
            lon, lat = to_geo.transform(xs, np.full_like(xs, y))
            coord, pos = (lon if which == 0 else lat), xs
        else:
            x = xmin if edge == "left" else xmax
            ys = ymin + samples * (ymax - ymin)
            lon, lat = to_geo.transform(np.full_like(ys, x), ys)
            coord, pos = (lon if which == 0 else lat), ys
        lo, hi = float(np.min(coord)), float(np.max(coord))
        step = _step_minutes(hi - lo) / 60.0
        out = []
        for value in np.arange(math.ceil(lo / step) * step, hi, step):
            order = np.argsort(coord)
            out.append((float(np.interp(value, coord[order], pos[order])), float(value)))
        return out

    bottom, top = crossings("bottom", 0), crossings("top", 0)
    left, right = crossings("left", 1), crossings("right", 1)
    ax.set_xticks([p for p, _ in bottom])
    ax.set_xticklabels([_format_deg(v, ("E", "W")) for _, v in bottom])
    ax.set_yticks([p for p, _ in left])
    ax.set_yticklabels([_format_deg(v, ("N", "S")) for _, v in left], rotation=90, va="center")
    ax.tick_params(direction="in", length=3.5, width=0.6, labelsize=theme.TICK_SIZE,
                   colors=theme.INK, pad=2.5, top=False, right=False)
    # the top/right ticks sit where the graticule crosses those edges (not mirrored from bottom/left)
    sec_x = ax.secondary_xaxis("top")
    sec_x.set_xticks([p for p, _ in top])
    sec_x.set_xticklabels([])
    sec_x.tick_params(direction="in", length=3.5, width=0.6)
    sec_y = ax.secondary_yaxis("right")
    sec_y.set_yticks([p for p, _ in right])
    sec_y.set_yticklabels([])
    sec_y.tick_params(direction="in", length=3.5, width=0.6)
    for sec in (sec_x, sec_y):
        for spine in sec.spines.values():
            spine.set_visible(False)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel("")
    ax.set_ylabel("")


def locator_inset(ax: Axes, *, highlight=None, frame=None, scope: str = "region",
                  label: str = "区位示意") -> None:
    """Draw the locator: the region (or the district) with ``highlight`` filled and ``frame`` boxed.

    ``scope`` "region" shows Suzhou, Taihu and the neighbouring cities; "district" shows the
    district and its towns (used by the atlas). ``frame`` is the main map's extent (EPSG:4549).
    """
    if scope == "region":
        ctx = basemap.layer("context")
        ctx.plot(ax=ax, color=style.CONTEXT_FILL, edgecolor=style.CONTEXT_EDGE, lw=0.25)
        basemap.layer("taihu_full").plot(ax=ax, color=style.WATER, edgecolor=style.WATER_EDGE, lw=0.25)
        basemap.sip().plot(ax=ax, color=style.SIP_FILL, edgecolor=style.SIP_EDGE, lw=0.25)
        extent = basemap.bounds_of(ctx, pad=0.0)
        target = highlight if highlight is not None else basemap.layer("district")
        target.plot(ax=ax, color=style.HIGHLIGHT, edgecolor=style.HIGHLIGHT, lw=0.3, alpha=0.85)
        for name, (dx, dy) in {"上海": (0, 0), "无锡": (0, 0), "湖州": (0, 0), "嘉兴": (0, 0)}.items():
            rows = ctx[ctx["name"].str.startswith(name)]
            if not rows.empty:
                pt = rows.geometry.iloc[0].representative_point()
                ax.text(pt.x + dx, pt.y + dy, name, fontsize=5.2, color=theme.MUTED, ha="center",
                        va="center", zorder=5)
    else:
        towns = basemap.layer("towns")
        basemap.layer("taihu").plot(ax=ax, color=style.WATER, edgecolor="none")
        towns.plot(ax=ax, color=style.LAND, edgecolor=style.TOWN_EDGE, lw=0.2)
        if highlight is not None:
            highlight.plot(ax=ax, color=style.HIGHLIGHT, edgecolor=style.HIGHLIGHT, lw=0.3)
        basemap.layer("district").boundary.plot(ax=ax, color=style.DISTRICT_EDGE, lw=0.4)
        extent = basemap.bounds_of(basemap.layer("district"), pad=0.04)
    if frame is not None:
        x0, y0, x1, y1 = frame
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=theme.INK, lw=0.8,
                               zorder=10))
    pos = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    aspect = (pos.width * fig_w) / (pos.height * fig_h)
    from wuzhong_geo.maps.layout import fit_extent

    x0, y0, x1, y1 = fit_extent(extent, aspect)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    if label:
        ax.text(0.03, 0.96, label, transform=ax.transAxes, ha="left", va="top", fontsize=6.5,
                color=theme.INK, zorder=20, path_effects=theme.halo(2.0))
