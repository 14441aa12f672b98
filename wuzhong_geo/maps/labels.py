"""Label placement without overlaps, and the bounding-box check the tests use.

A deterministic candidate-position rule in the spirit of QGIS' PAL engine: labels are placed in
order of priority; a point label tries eight positions around its symbol (upper right first, the
cartographic preference) at growing distances, with a thin leader line once it leaves the symbol;
an area label tries its anchor and nearby shifts. A position is taken only if the label's box
(plus its halo) stays inside the map and clears every label already placed, every point symbol
and the map furniture (legend, north arrow, scale bar). A label that finds no free position is
dropped unless it is mandatory (town names), in which case the least-overlapping position is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from wuzhong_geo.maps import theme

#: Directions (dx, dy) in order of preference: upper right, lower right, upper left, lower left,
#: right, left, above, below.
_DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
_RINGS = (1.0, 2.0, 3.3, 4.8, 6.5)


@dataclass
class LabelItem:
    """A label to place: anchor (map units), text and how important it is."""

    x: float
    y: float
    text: str
    size: float = theme.SMALL_LABEL_SIZE
    colour: str = theme.INK
    priority: int = 5
    point: bool = True
    mandatory: bool = False
    marker_pt: float = 3.0


def bbox_overlaps(boxes: list[Bbox], tolerance: float = 0.5) -> list[tuple[int, int]]:
    """Return index pairs of boxes that overlap by more than ``tolerance`` pixels."""
    pairs = []
    for i in range(len(boxes)):
        a = boxes[i]
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if (min(a.x1, b.x1) - max(a.x0, b.x0) > tolerance
                    and min(a.y1, b.y1) - max(a.y0, b.y0) > tolerance):
                pairs.append((i, j))
    return pairs


def label_boxes(texts: list[Text], renderer=None) -> list[Bbox]:
    """Return the display-space bounding boxes of ``texts`` (visible ones only)."""
    if not texts:
        return []
    renderer = renderer or texts[0].figure.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def label_overlaps(texts: list[Text], renderer=None) -> list[tuple[str, str]]:
    """Return pairs of label texts whose boxes overlap (empty when the placement is clean)."""
    shown = [t for t in texts if t.get_visible() and t.get_text()]
    boxes = label_boxes(shown, renderer)
    return [(shown[i].get_text(), shown[j].get_text()) for i, j in bbox_overlaps(boxes)]


def _overlap_area(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def place_labels(ax: Axes, items: list[LabelItem], *, obstacles: list[Bbox] | None = None) -> list[Text]:
    """Place ``items`` on ``ax`` without overlaps; return the texts drawn (dropped ones excluded)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    frame = ax.get_window_extent(renderer)
    inner = Bbox.from_extents(frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2)
    taken: list[Bbox] = list(obstacles or [])
    symbols: list[tuple[int, Bbox]] = []
    for idx, item in enumerate(items):
        if item.point:
            sx, sy = ax.transData.transform((item.x, item.y))
            r = item.marker_pt * px_per_pt * 0.8
            symbols.append((idx, Bbox.from_extents(sx - r, sy - r, sx + r, sy + r)))
    order = sorted(range(len(items)), key=lambda i: (-items[i].priority, i))
    placed: list[Text] = []
    for idx in order:
        item = items[idx]
        halo_px = 1.2 * px_per_pt
        blockers = taken + [box for j, box in symbols if j != idx]
        best = None
        for dx, dy, ha, va, leader in _candidates(item):
            text = _make_text(ax, item, dx, dy, ha, va)
            box = text.get_window_extent(renderer).expanded(1.0, 1.0)
            box = Bbox.from_extents(box.x0 - halo_px, box.y0 - halo_px, box.x1 + halo_px, box.y1 + halo_px)
            inside = (box.x0 >= inner.x0 and box.x1 <= inner.x1 and box.y0 >= inner.y0 and box.y1 <= inner.y1)
            cost = sum(_overlap_area(box, other) for other in blockers)
            if inside and cost == 0:
                best = (text, box, leader, 0.0)
                break
            text.remove()
            if inside and item.mandatory and (best is None or cost < best[3]):
                best = (None, box, (dx, dy, ha, va, leader), cost)
        if best is None:
            continue
        text, box, leader, _ = best
        if text is None:
            dx, dy, ha, va, leader = leader
            text = _make_text(ax, item, dx, dy, ha, va)
        if leader:
            _add_leader(ax, item, text)
        taken.append(box)
        placed.append(text)
    ax._wz_labels = getattr(ax, "_wz_labels", []) + placed
    return placed


def _candidates(item: LabelItem):
    if not item.point:
        yield 0.0, 0.0, "center", "center", False
        step = item.size * 1.3
        for k in (1, 2, 3):
            for dx, dy in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)):
                yield dx * step * k * 1.6, dy * step * k, "center", "center", False
        return
    base = item.marker_pt + 1.5
    for ring in _RINGS:
        dist = base * ring
        for dx, dy in _DIRECTIONS:
            ha = "left" if dx > 0 else ("right" if dx < 0 else "center")
            va = "bottom" if dy > 0 else ("top" if dy < 0 else "center")
            scale = 0.72 if dx and dy else 1.0
            yield dx * dist * scale, dy * dist * scale, ha, va, ring > 1.0


def _make_text(ax: Axes, item: LabelItem, dx: float, dy: float, ha: str, va: str) -> Text:
    return ax.annotate(
        item.text, xy=(item.x, item.y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
        fontsize=item.size, color=item.colour, zorder=45, path_effects=theme.halo(2.2),
        annotation_clip=False,
    )


def _add_leader(ax: Axes, item: LabelItem, text: Text) -> None:
    """Draw a thin leader from the symbol to the nearest corner of the label."""
    renderer = ax.figure.canvas.get_renderer()
    box = text.get_window_extent(renderer)
    sx, sy = ax.transData.transform((item.x, item.y))
    cx = min(max(sx, box.x0), box.x1)
    cy = min(max(sy, box.y0), box.y1)
    inv = ax.transData.inverted()
    (x0, y0), (x1, y1) = inv.transform([(sx, sy), (cx, cy)])
    ax.plot([x0, x1], [y0, y1], color=theme.MUTED, lw=0.45, zorder=41, solid_capstyle="round")
