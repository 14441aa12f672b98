"""Exact nearest-feature distances for many points at once (a segment grid, vectorised with numpy)."""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import shapely

from wuzhong_geo import diskcache


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
    point is compared with a handful of segments instead of all. Points off the grid are compared
    with all segments. Results equal shapely/GEOS ``distance`` to floating-point precision.
    """

    def __init__(self, geoms, cell: float = 1000.0, margin: float = 30_000.0, block: int = 50_000):
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
        self.flat = np.concatenate(segs).astype(np.int64)
        counts = np.bincount(cells, minlength=len(centres))
        self.offsets = np.concatenate([[0], np.cumsum(counts)])

    def query(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(distance, feature index)`` of the nearest feature for each point."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        dist = np.full(len(x), np.nan)
        which = np.full(len(x), -1, dtype=np.int64)
        finite = np.isfinite(x) & np.isfinite(y)
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.cell)
            row = np.floor((y - self.y0) / self.cell)
        on_grid = finite & (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        idx = np.flatnonzero(on_grid)
        for start in range(0, len(idx), self.block):
            sel = idx[start : start + self.block]
            cell = (row[sel] * self.nx + col[sel]).astype(np.int64)
            first, counts = self.offsets[cell], self.offsets[cell + 1] - self.offsets[cell]
            # one (point, candidate segment) pair per row: a ragged layout, no padding
            point = np.repeat(np.arange(len(sel)), counts)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            seg = self.flat[first[point] + np.arange(len(point)) - starts[point]]
            d = _segment_distance(
                x[sel][point],
                y[sel][point],
                self.a[seg, 0],
                self.a[seg, 1],
                self.b[seg, 0],
                self.b[seg, 1],
            )
            best = np.minimum.reduceat(d, starts)
            hit = np.flatnonzero(d == best[point])
            # hits are grouped by point: the first of each group (a linear pass, no sort)
            keep = np.flatnonzero(np.diff(point[hit], prepend=-1) != 0)
            dist[sel] = best
            which[sel] = self.owner[seg[hit[keep]]]
        off = np.flatnonzero(~on_grid & finite)
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


@lru_cache(maxsize=64)
def _segment_index(wkb: tuple[bytes, ...]) -> SegmentIndex:
    key = (hashlib.sha256(b"".join(wkb)).hexdigest(), diskcache.stamp(__file__))
    geoms = shapely.from_wkb(list(wkb))
    # dense features (a shore of hundreds of segments) get finer cells: fewer candidates per point
    n = int(shapely.get_num_coordinates(geoms).sum())
    cell = 250.0 if n > 200 else 1000.0
    return diskcache.cached("nearest", (*key, cell), lambda: SegmentIndex(geoms, cell=cell))


def segment_index(geoms) -> SegmentIndex:
    """A cached :class:`SegmentIndex` of ``geoms`` (built once per process per geometry set)."""
    return _segment_index(tuple(shapely.to_wkb(list(geoms))))
