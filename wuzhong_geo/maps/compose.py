"""Assemble a district map page: base layers, thematic drawing, furniture, legend, notes, labels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from wuzhong_geo.maps import basemap, elements, labels, legend, theme
from wuzhong_geo.maps.layout import Extent, Page, draw_notes, new_page, notes_text

#: A drawing step: draws on the map axes and returns the labels it wants placed.
Drawer = Callable[[Page], list]


#: Where the north arrow goes (axes fraction): the top-left corner of the district maps is open
#: water outside the district, the top-right is Suzhou Industrial Park and 甪直.
ARROW_AT = (0.045, 0.86)


def furniture_boxes(page: Page, bar=None, arrow_at: tuple[float, float] = ARROW_AT) -> list[Bbox]:
    """Return display boxes of the north arrow and scale bar (labels keep clear of them)."""
    ax = page.map_ax
    fig = page.fig
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    ax_x, ax_y = arrow_at
    boxes = [Bbox.from_extents(frame.x0 + frame.width * (ax_x - 0.035), frame.y0 + frame.height * (ax_y - 0.07),
                               frame.x0 + frame.width * (ax_x + 0.035), frame.y0 + frame.height * (ax_y + 0.12))]
    if bar is not None:
        boxes.append(bar.get_window_extent(renderer))
    return boxes


def compose(
    *,
    title: str,
    subtitle: str,
    draw: Drawer,
    sections: list[legend.Section],
    date: dt.date,
    size: str = "A4",
    extent: Extent | None = None,
    dem: str | Path | None = None,
    notes_extra: str = "",
    locator: Callable[[Page], None] | None = None,
    base: bool = True,
    district_outline: bool = True,
    arrow_at: tuple[float, float] = ARROW_AT,
) -> Figure:
    """Build a whole map page and return its figure."""
    page = new_page(extent or basemap.district_extent(), size=size, title=title, subtitle=subtitle)
    ax = page.map_ax
    if base:
        basemap.draw_context(ax)
    basemap.draw_hillshade(ax, dem)
    items = list(draw(page) or [])
    if district_outline:
        basemap.draw_district_outline(ax)
    elements.graticule_ticks(ax)
    elements.north_arrow(ax, *arrow_at)
    bar = elements.scale_bar(ax)
    if locator is None:
        elements.locator_inset(page.locator_ax, frame=page.extent)
    else:
        locator(page)
    legend.draw_legend(page, sections)
    draw_notes(page, notes_text(date, extra=notes_extra, scale=page.scale_denominator(), size=size))
    context_items = getattr(ax, "_wz_context_labels", [])
    lake = _lake_label(ax)
    labels.place_labels(ax, ([lake] if lake else []) + items + context_items,
                        obstacles=furniture_boxes(page, bar, arrow_at))
    return page.fig


def _lake_label(ax) -> labels.LabelItem | None:
    import shapely

    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    lake = basemap.layer("taihu_full").geometry.union_all().intersection(shapely.box(xmin, ymin, xmax, ymax))
    if lake.is_empty:
        return None
    parts = getattr(lake, "geoms", [lake])
    centre = shapely.maximum_inscribed_circle(max(parts, key=lambda g: g.area)).coords[0]
    from wuzhong_geo import style

    return labels.LabelItem(centre[0], centre[1], "太　湖", size=theme.WATER_LABEL_SIZE,
                            colour=style.WATER_EDGE, priority=9, point=False, mandatory=True)
