"""Schematic partitions of a polygon by a power diagram (weighted Voronoi) of owned sites."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
from shapely import Polygon, box, make_valid, unary_union
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)


def _half_plane(normal: np.ndarray, offset: float, centre: np.ndarray, extent: float) -> Polygon:
    """Return the half-plane {x : normal . x <= offset} near ``centre`` as a polygon of size ``extent``."""
    n = normal / np.linalg.norm(normal)
    c = offset / np.linalg.norm(normal)
    origin = centre - (n @ centre - c) * n
    along = np.array([-n[1], n[0]]) * extent
    back = -n * extent
    pts = [origin + along, origin - along, origin - along + back, origin + along + back]
    return Polygon(pts)


def power_cells(
    xy: np.ndarray, owners: Sequence[str], weights: Mapping[str, float], frame: Polygon
) -> list[Polygon]:
    """Return each site's power cell inside ``frame``; sites of one owner share its weight.

    Bisectors between two sites of the same owner are skipped: their cells are merged anyway.
    """
    extent = 4 * max(frame.bounds[2] - frame.bounds[0], frame.bounds[3] - frame.bounds[1])
    centre = np.array([(frame.bounds[0] + frame.bounds[2]) / 2, (frame.bounds[1] + frame.bounds[3]) / 2])
    sq = (xy**2).sum(axis=1)
    w = np.array([weights.get(o, 0.0) for o in owners])
    cells = []
    for i in range(len(xy)):
        cell = frame
        for j in range(len(xy)):
            if i == j or owners[i] == owners[j]:
                continue
            normal = 2 * (xy[j] - xy[i])
            offset = sq[j] - sq[i] + w[i] - w[j]
            cell = cell.intersection(_half_plane(normal, offset, centre, extent))
            if cell.is_empty:
                break
        cells.append(cell)
    return cells


def partition(
    domain: BaseGeometry,
    xy: np.ndarray,
    owners: Sequence[str],
    weights: Mapping[str, float] | None = None,
) -> dict[str, BaseGeometry]:
    """Split ``domain`` among owners by the power diagram of their sites (projected metres)."""
    frame = box(*domain.buffer(1000).bounds)
    return _owner_cells(domain, xy, owners, weights or {}, frame)


def _owner_cells(
    domain: BaseGeometry, xy: np.ndarray, owners: Sequence[str], weights: Mapping[str, float],
    frame: Polygon,
) -> dict[str, BaseGeometry]:
    # Sites of one owner have overlapping cells (their mutual bisectors are skipped): merge first.
    merged: dict[str, list[Polygon]] = {}
    for owner, cell in zip(owners, power_cells(xy, owners, weights, frame)):
        merged.setdefault(owner, []).append(cell)
    return {o: make_valid(unary_union(parts).intersection(domain)) for o, parts in merged.items()}


#: The fit runs this many iterations, always: no early exit, so no float comparison against a
#: tolerance decides how long it runs (one ulp could otherwise add an iteration and move a line).
FIT_ITERATIONS = 80
#: Weights are rounded to this grid (m²) after every step, so they take the same values on every
#: machine; one grid step moves a bisector by about 1e-6 m, far below the 1 m² rebuild check.
WEIGHT_GRID_M2 = 0.01


def fit_weights(
    domain: BaseGeometry,
    xy: np.ndarray,
    owners: Sequence[str],
    targets: Mapping[str, float],
    fixed_area: Mapping[str, float] | None = None,
    iterations: int = FIT_ITERATIONS,
) -> tuple[dict[str, float], float]:
    """Fit owner weights so owners with a target area (m²) get close to it; return weights and worst error.

    ``fixed_area`` is area an owner holds outside ``domain`` (islands), subtracted from its target.
    Owners without a target keep weight 0 and share what is left. The schedule is fixed (see
    ``FIT_ITERATIONS``) and the weights live on a grid (``WEIGHT_GRID_M2``): the result depends
    continuously on the inputs, which is what makes rebuilds agree across machines. The returned
    worst relative error is measured after the last step.
    """
    fixed_area = fixed_area or {}
    weights = {o: 0.0 for o in sorted(set(owners))}
    frame = box(*domain.buffer(1000).bounds)
    worst = 0.0
    for it in range(iterations + 1):
        cells = _owner_cells(domain, xy, owners, weights, frame)
        areas = {o: g.area for o, g in cells.items()}
        perims = {o: g.length for o, g in cells.items()}
        worst = 0.0
        steps = {}
        for owner, target in sorted(targets.items()):
            want = max(target - fixed_area.get(owner, 0.0), 0.0)
            err = want - areas.get(owner, 0.0)
            worst = max(worst, abs(err) / max(target, 1.0))
            # Moving a bisector by d changes the power difference by about 2 * d * spacing;
            # 5 km is a typical seat spacing here, and the 0.8 damping keeps the iteration stable.
            steps[owner] = 0.8 * err / max(perims.get(owner, 1.0), 1.0) * 2 * 5000.0
        log.debug("fit iteration %d: worst relative area error %.4f", it, worst)
        if it == iterations:  # the last pass only measures
            break
        for owner, step in steps.items():
            weights[owner] = round((weights[owner] + step) / WEIGHT_GRID_M2) * WEIGHT_GRID_M2
    return weights, worst


#: A fragment joins a neighbour only along a shared border at least this long (m): touching at a
#: point (or along float noise) is not being next to each other.
FRAGMENT_BORDER_M = 5.0
#: Seams narrower than this (m) between a fragment and the town it joins are closed.
SEAM_M = 0.001


def absorb_fragments(cells: Mapping[str, BaseGeometry], xy: np.ndarray, owners: Sequence[str],
                     weights: Mapping[str, float] | None = None) -> dict[str, BaseGeometry]:
    """Give each detached fragment of an owner that holds none of its sites to a neighbour.

    Power cells are convex, but the land they are cut from is not: a cell reaching across an
    inlet leaves a fragment on the far shore, an enclave no town has. Fragments holding one of the
    owner's sites stay (a site asked for that place). A fragment goes to the neighbour it shares a
    border of at least ``FRAGMENT_BORDER_M`` with whose power distance at the fragment's centroid is
    smallest (continuous measures, so a rebuild on another machine makes the same choice); one
    pass over the cells as the power diagram drew them.
    """
    from shapely import points

    weights = weights or {}
    pts = points(xy)
    moves: list[tuple[str, str, Polygon]] = []
    kept: dict[str, list[Polygon]] = {}
    for owner in sorted(cells):
        parts = _polygons(cells[owner])
        own = [p for o, p in zip(owners, pts) if o == owner]
        largest = max(parts, key=lambda g: g.area) if parts else None
        kept[owner] = []
        for frag in parts:
            if frag is largest or any(frag.covers(p) for p in own):
                kept[owner].append(frag)
                continue
            edge = frag.exterior.buffer(0.01)
            near = [o for o in sorted(cells) if o != owner
                    and sum(edge.intersection(q.exterior).length for q in _polygons(cells[o])) > FRAGMENT_BORDER_M]
            if not near:
                kept[owner].append(frag)
                continue
            c = np.array(frag.centroid.coords[0])
            power = {o: min(float(((xy[i] - c) ** 2).sum()) - weights.get(o, 0.0)
                            for i in range(len(owners)) if owners[i] == o) for o in near}
            moves.append((owner, min(near, key=lambda o: (power[o], o)), frag))
    out = {o: make_valid(unary_union(kept[o])) if kept[o] else cells[o] for o in cells}
    for _owner, best, frag in moves:
        # the two cells' shared bisector was computed twice (once per side): close the hairline
        # seam so the fragment really joins its new town
        joined = make_valid(unary_union([out[best], frag]))
        out[best] = make_valid(joined.buffer(SEAM_M, join_style="mitre").buffer(-SEAM_M, join_style="mitre"))
    return out


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    from shapely import get_parts

    return [g for g in get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
