"""Legend swatches in the shared palette, laid out in sections flowing into newspaper columns."""

from __future__ import annotations

import math

from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from wuzhong_geo import style
from wuzhong_geo.maps import theme
from wuzhong_geo.maps.layout import Page

Section = tuple[str, list]


def fill(colour: str, label: str, *, edge: str = style.TOWN_EDGE, hatch: str | None = None,
         lw: float = 0.5, alpha: float = 1.0) -> Patch:
    """Return a filled-area swatch."""
    return Patch(facecolor=colour, edgecolor=edge, hatch=hatch, lw=lw, alpha=alpha, label=label)


def outline(colour: str, label: str, *, lw: float = 1.5, ls: str = "-") -> Patch:
    """Return an outline-only area swatch."""
    return Patch(facecolor="none", edgecolor=colour, lw=lw, ls=ls, label=label)


def line(colour: str, label: str, *, lw: float = 1.5, ls: str = "-", alpha: float = 1.0) -> Line2D:
    """Return a line swatch."""
    return Line2D([], [], color=colour, lw=lw, ls=ls, alpha=alpha, label=label)


def marker(colour: str, label: str, *, shape: str = "o", size: float = 6.0, edge: str = "white",
           filled: bool = True) -> Line2D:
    """Return a point-symbol swatch."""
    return Line2D([], [], ls="none", marker=shape, markersize=size, markeredgewidth=0.6,
                  markerfacecolor=colour if filled else "white", markeredgecolor=edge if filled else colour,
                  label=label)


def base_sections(*, sip: bool = True, water: bool = True) -> list:
    """Return the swatches every district map shares (district boundary, water, neighbours)."""
    handles = [
        line(style.DISTRICT_EDGE, "区界 District boundary", lw=theme.DISTRICT_LW),
        fill(style.WATER, "太湖及水域 Water", edge=style.WATER_EDGE),
        fill(style.CONTEXT_FILL, "周边区县 Neighbours", edge=style.CONTEXT_EDGE),
    ]
    if sip:
        handles.append(fill(style.SIP_FILL, "苏州工业园区（非吴中辖区）SIP", edge=style.SIP_EDGE,
                            hatch=style.SIP_HATCH))
    if not water:
        handles.pop(1)
    return handles


def draw_legend(page: Page, sections: list[Section], *, title: str = "图　例",
                fontsize: float | None = None) -> list[Legend]:
    """Draw ``sections`` inside the page's legend box, flowing top-down then into new columns.

    When the sections do not fit the box the font shrinks step by step (down to 5.5 pt).
    """
    fig = page.fig
    renderer = fig.canvas.get_renderer()
    base = fontsize or theme.LEGEND_SIZE
    x0, y0, w, h = page.legend_box
    title_artist = fig.text(x0, y0 + h, title, ha="left", va="top", fontsize=theme.LEGEND_TITLE_SIZE + 1,
                            color=theme.INK)
    title_h = title_artist.get_window_extent(renderer).height + 4
    right = (x0 + w) * fig.bbox.width
    size = base
    while True:
        legends, fits = _flow(fig, renderer, sections, page.legend_box, title_h, size)
        if fits or size <= 5.5:
            break
        for leg in legends:
            leg.remove()
        size -= 0.5
    page.artists["legends"] = legends
    page.artists["legend_right"] = right
    return legends


def _flow(fig, renderer, sections, box, title_h, fontsize):
    x0, y0, w, h = box
    left, bottom = x0 * fig.bbox.width, y0 * fig.bbox.height
    right, top = left + w * fig.bbox.width, bottom + h * fig.bbox.height - title_h
    cursor_x, cursor_y, column_w = left, top, 0.0
    legends: list[Legend] = []
    fits = True
    for name, handles in sections:
        if not handles:
            continue
        ncol = 1
        while True:
            leg = _legend(fig, handles, name, cursor_x, cursor_y, ncol, fontsize)
            bb = leg.get_window_extent(renderer)
            if bb.y0 >= bottom - 1:
                break
            leg.remove()
            if cursor_y < top - 1:  # not at the top of a column: move to a fresh column first
                cursor_x += column_w + 8
                cursor_y, column_w = top, 0.0
                continue
            needed = math.ceil((top - bb.y0) / max(top - cursor_y + (cursor_y - bottom), 1) * ncol) + ncol
            if ncol >= 6:
                leg = _legend(fig, handles, name, cursor_x, cursor_y, ncol, fontsize)
                bb = leg.get_window_extent(renderer)
                fits = False
                break
            ncol = min(max(needed, ncol + 1), 6)
        legends.append(leg)
        if bb.x1 > right + 1:
            fits = False
        column_w = max(column_w, bb.width)
        cursor_y = bb.y0 - 3
    return legends, fits


def _legend(fig, handles, name, x_px, y_px, ncol, fontsize) -> Legend:
    leg = Legend(fig, handles, [h.get_label() for h in handles], loc="upper left",
                 bbox_to_anchor=(x_px / fig.bbox.width, y_px / fig.bbox.height),
                 bbox_transform=fig.transFigure, frameon=False, fontsize=fontsize, title=name,
                 title_fontsize=theme.LEGEND_TITLE_SIZE, alignment="left", handlelength=2.4,
                 handleheight=1.0, borderpad=0.1, borderaxespad=0.0, labelspacing=0.32,
                 handletextpad=0.6, columnspacing=1.2, ncols=ncol)
    leg.get_title().set_color(theme.INK)
    fig.legends.append(leg)
    leg._remove_method = fig.legends.remove
    return leg
