"""Exact nearest-feature distances for many points at once (a segment grid, vectorised with numpy)."""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import shapely

from wuzhong_geo import diskcache

#: Minimum width and height (metres) of the grid of a sparse feature set: the district spans
#: about 95 km east-west, so a grid this wide centred anywhere in it covers all of it.
SPAN_M = 200_000.0


def _segment_distance(px, py, ax, ay, bx, by) -> np.ndarray:
    """Distance from points to segments (numpy broadcasting)."""
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(l2 > 0, l2, 1.0), 0.0, 1.0)
    ex = ax + t * dx - px
    ey = ay + t * dy - py
    return np.sqrt(ex * ex + ey * ey)


class SegmentIndex:
    """Exact nearest-feature distances for many points, vectorised with numpy.

    Features (lines, polygon boundaries, points) are cut into segments. A grid over the district
    stores, per cell, every segment that can be the nearest for some point of the cell (those
    whose distance from the cell centre is within the cell's diagonal of the smallest one), so a
    point is compared with a handful of segments instead of all. Points off the grid go to the
    ``coarse`` grid when there is one (``span`` wide at least), else are compared with all
    segments. Results equal shapely/GEOS ``distance`` to floating-point precision, and do not
    depend on the grid: every path computes the same arithmetic on the same nearest segment.
    """

    def __init__(
        self,
        geoms,
        cell: float = 1000.0,
        margin: float = 30_000.0,
        block: int = 250_000,
        span: float = 0.0,
        coarse: float = 0.0,
    ):
        starts, ends, owner = [], [], []
        for i, geom in enumerate(geoms):
            if geom.geom_type in ("Polygon", "MultiPolygon"):
                geom = geom.boundary
            for part in shapely.get_parts(geom):
                xy = shapely.get_coordinates(part)
                if len(xy) == 1:
                    xy = np.vstack([xy, xy])
                starts.append(xy[:-1])
                ends.append(xy[1:])
                owner.append(np.full(len(xy) - 1, i))
        self.a = np.concatenate(starts)
        self.b = np.concatenate(ends)
        self.owner = np.concatenate(owner)
        self.block = block
        lo = np.minimum(self.a, self.b).min(axis=0) - margin
        hi = np.maximum(self.a, self.b).max(axis=0) + margin
        # a grid at least ``span`` wide: points off the grid are compared with every segment
        grow = np.maximum(span - (hi - lo), 0.0) / 2
        lo, hi = lo - grow, hi + grow
        self.x0, self.y0, self.cell = lo[0], lo[1], cell
        self.nx = int(np.ceil((hi[0] - lo[0]) / cell))
        self.ny = int(np.ceil((hi[1] - lo[1]) / cell))
        cx = self.x0 + (np.arange(self.nx) + 0.5) * cell
        cy = self.y0 + (np.arange(self.ny) + 0.5) * cell
        gx, gy = np.meshgrid(cx, cy)
        centres = np.column_stack([gx.ravel(), gy.ravel()])
        band = cell * np.sqrt(
            2.0
        )  # a point of the cell is within half of this of its centre, twice
        cells, segs = [], []
        for start in range(0, len(centres), 2000):
            c = centres[start : start + 2000]
            d = _segment_distance(
                c[:, :1], c[:, 1:], self.a[:, 0], self.a[:, 1], self.b[:, 0], self.b[:, 1]
            )
            r, k = np.nonzero(
                d <= d.min(axis=1, keepdims=True) + band
            )  # row-major: grouped by cell
            cells.append(r + start)
            segs.append(k)
        cells = np.concatenate(cells)
        # each cell's candidate segments, in segment order; int32: 4 bytes per candidate (a fine
        # grid over the district has millions), their terms are stored once per segment
        self.flat = np.concatenate(segs).astype(np.int32)
        counts = np.bincount(cells, minlength=len(centres))
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        # the segments' terms of the distance (computed as _segment_distance does)
        ax, ay = self.a[:, 0].copy(), self.a[:, 1].copy()
        dx, dy = self.b[:, 0] - ax, self.b[:, 1] - ay
        l2 = dx * dx + dy * dy
        self.terms = (ax, ay, dx, dy, np.where(l2 > 0, l2, 1.0))
        # points off this grid: a coarser, wider one (built from the same segments) before all
        self.outer = (
            SegmentIndex(geoms, cell=coarse, margin=margin, block=block, span=SPAN_M) if coarse else None
        )

    def query(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(distance, feature index)`` of the nearest feature for each point."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.cell)
            row = np.floor((y - self.y0) / self.cell)
            # NaN compares False: not on the grid, and not finite either
            on_grid = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        if len(x) <= self.block and on_grid.all():  # the usual case: one pass, no copies
            return self._near(x, y, (row * self.nx + col).astype(np.int64))
        dist = np.full(len(x), np.nan)
        which = np.full(len(x), -1, dtype=np.int64)
        idx = np.flatnonzero(on_grid)
        for start in range(0, len(idx), self.block):
            sel = idx[start : start + self.block]
            dist[sel], which[sel] = self._near(
                x[sel], y[sel], (row[sel] * self.nx + col[sel]).astype(np.int64)
            )
        off = np.flatnonzero(~on_grid & np.isfinite(x) & np.isfinite(y))
        if self.outer is not None and off.size:
            dist[off], which[off] = self.outer.query(x[off], y[off])
            return dist, which
        step = max(self.block // max(len(self.a), 1), 1)
        for start in range(0, len(off), step):
            sel = off[start : start + step]
            d = _segment_distance(
                x[sel, None], y[sel, None], self.a[:, 0], self.a[:, 1], self.b[:, 0], self.b[:, 1]
            )
            best = d.argmin(axis=1)
            dist[sel] = d[np.arange(len(sel)), best]
            which[sel] = self.owner[best]
        return dist, which

    def _near(self, x: np.ndarray, y: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest of each point's cell candidates: the first one, then any strictly nearer other.

        Candidates are in segment order, so ties go to the lowest segment, as an argmin over all
        segments would give. Most cells have one candidate: the others are one pair each.
        """
        first = self.offsets[cell]
        counts = self.offsets[cell + 1] - first
        dist = self._distance(x, y, first)
        best = first  # a new array: updated in place
        rest = np.flatnonzero(counts > 1)
        if rest.size:
            left = counts[rest] - 1
            ends = np.cumsum(left)
            starts = ends - left
            pair = np.arange(ends[-1])
            pos = pair + np.repeat(first[rest] + 1 - starts, left)  # each pair's candidate
            d = self._distance(np.repeat(x[rest], left), np.repeat(y[rest], left), pos)
            low = np.minimum.reduceat(d, starts)
            # the first (lowest segment) of the other candidates reaching their minimum
            hit = np.minimum.reduceat(np.where(d == np.repeat(low, left), pair, len(pair)), starts)
            nearer = low < dist[rest]
            dist[rest[nearer]] = low[nearer]
            best[rest[nearer]] = pos[hit[nearer]]
        return dist, self.owner[self.flat[best]]

    def _distance(self, px: np.ndarray, py: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Distance from each point to candidate ``pos``: :func:`_segment_distance`'s arithmetic.

        The same operations in the same order (so every rounding is the same), done in place.
        """
        seg = np.take(self.flat, pos)
        ax, ay, dx, dy, l2 = (np.take(c, seg) for c in self.terms)
        # t = clip(((px - ax) * dx + (py - ay) * dy) / l2, 0, 1)
        t = np.subtract(px, ax)
        t *= dx
        u = np.subtract(py, ay)
        u *= dy
        t += u
        t /= l2
        np.clip(t, 0.0, 1.0, out=t)
        # ex = ax + t * dx - px; ey = ay + t * dy - py; sqrt(ex² + ey²)
        dx *= t
        dx += ax
        dx -= px
        dy *= t
        dy += ay
        dy -= py
        dx *= dx
        dy *= dy
        dx += dy
        return np.sqrt(dx, out=dx)


@lru_cache(maxsize=64)
def _segment_index(wkb: tuple[bytes, ...]) -> SegmentIndex:
    key = (hashlib.sha256(b"".join(wkb)).hexdigest(), diskcache.stamp(__file__))
    geoms = shapely.from_wkb(list(wkb))
    # dense features (a shore of hundreds of segments) get finer cells: fewer candidates per point
    n = int(shapely.get_num_coordinates(geoms).sum())
    dense = n > 200
    # Off the grid a point is compared with every segment. Coarse grids (sparse features) are
    # cheap to widen to SPAN_M, so points anywhere in the district stay on them; fine grids get a
    # coarser, SPAN_M-wide grid for the points off them.
    cell, span, coarse = (250.0, 0.0, 2000.0) if dense else (1000.0, SPAN_M, 0.0)
    return diskcache.cached(
        "nearest",
        (*key, cell, span, coarse),
        lambda: SegmentIndex(geoms, cell=cell, span=span, coarse=coarse),
    )


def segment_index(geoms) -> SegmentIndex:
    """A cached :class:`SegmentIndex` of ``geoms`` (built once per process per geometry set)."""
    return _segment_index(tuple(shapely.to_wkb(list(geoms))))
