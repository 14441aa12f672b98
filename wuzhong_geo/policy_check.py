"""The site check's policy columns: which policy areas each site touches, and the plan passages behind it.

A locate column step (:data:`wuzhong_geo.locate.COLUMN_STEPS`): ``policies`` lists the ids of the
policy areas (:func:`wuzhong_geo.layers.policy_areas`) a site's geometry (or buffer) touches,
``、``-joined like the other list columns; ``plan_basis`` quotes the plan for the functional zone
and for each of those areas (``第五章第一节「…」``), and names the law where an area rests on one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from wuzhong_geo import diskcache, layers, plan
from wuzhong_geo.chunk import Chunk
from wuzhong_geo.columns import repeated_text
from wuzhong_geo.context import CheckContext
from wuzhong_geo.distinct import distinct_rows
from wuzhong_geo.settings import ANALYSIS_CRS


#: Cell of the policy areas' lookup grid (m): points in a cell no area boundary comes near take
#: the cell's answer; the others are tested exactly.
GRID_CELL_M = 100.0


@dataclass(frozen=True)
class AreaGrid:
    """Which areas hold each cell wholly (bit masks), and which cells an area boundary comes near.

    ``inside[cell, word]`` and ``near[cell, word]`` hold bit ``k % 64`` of word ``k // 64`` for
    area ``k``. A cell is near an area when the area's boundary touches it or a neighbouring
    cell (rasterised with all_touched, grown by one cell); elsewhere the whole cell lies on one
    side of the boundary, the side of its centre.
    """

    x0: float
    y1: float
    cell: float
    nx: int
    ny: int
    inside: np.ndarray
    near: np.ndarray

    def cells(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat cell index of each point, -1 off the grid (or not finite)."""
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.cell)
            row = np.floor((self.y1 - y) / self.cell)
            on = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        return np.where(on, row * self.nx + np.where(on, col, 0), -1).astype(np.int64)


def build_area_grid(geoms: np.ndarray, cell: float = GRID_CELL_M) -> AreaGrid:
    """The lookup grid of polygons ``geoms`` (EPSG:4549) over their common extent."""
    from rasterio import features  # imported on demand: a cached grid needs no rasterio
    from rasterio.transform import Affine

    from wuzhong_geo.classify import _grow

    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    x0, y0 = np.floor(x0 / cell) * cell - 2 * cell, np.floor(y0 / cell) * cell - 2 * cell
    x1, y1 = np.ceil(x1 / cell) * cell + 2 * cell, np.ceil(y1 / cell) * cell + 2 * cell
    nx, ny = int(np.rint((x1 - x0) / cell)), int(np.rint((y1 - y0) / cell))
    transform = Affine(cell, 0.0, x0, 0.0, -cell, y1)
    words = max((len(geoms) + 63) // 64, 1)
    inside = np.zeros((nx * ny, words), dtype=np.uint64)
    near = np.zeros((nx * ny, words), dtype=np.uint64)
    for k, geom in enumerate(geoms):
        bit = np.uint64(1) << np.uint64(k % 64)
        edge = features.rasterize([(shapely.boundary(geom), 1)], out_shape=(ny, nx), transform=transform,
                                  fill=0, all_touched=True, dtype=np.uint8)
        edge = _grow(edge.astype(bool)).ravel()
        centre = features.rasterize([(geom, 1)], out_shape=(ny, nx), transform=transform, fill=0,
                                    dtype=np.uint8).ravel().astype(bool)
        inside[centre & ~edge, k // 64] |= bit
        near[edge, k // 64] |= bit
    return AreaGrid(float(x0), float(y1), cell, nx, ny, inside, near)


@dataclass(frozen=True)
class PolicyIndex:
    """The drawn policy areas in EPSG:4549, their tree and lookup grid, and each area's citation text."""

    ids: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree
    citations: np.ndarray
    bounds: np.ndarray
    grid: AreaGrid


def _citation(row: pd.Series) -> str:
    text = row["name"]
    if row["plan_quote"]:
        text += f" {row['plan_ref']}「{row['plan_quote']}」"
    if row["legal_source"]:
        text += f"（{row['legal_source']}{row['legal_ref']}）"
    return text


def build_policy_index() -> PolicyIndex:
    """Prepare the drawn policy areas of the active layers for lookups (from the disk cache)."""
    ids, wkb, citations, grid = diskcache.cached("policy_index", diskcache.data_state(), _policy_arrays)
    geoms = shapely.from_wkb(wkb)
    shapely.prepare(geoms)
    return PolicyIndex(
        ids=ids, geoms=geoms, tree=shapely.STRtree(geoms), citations=citations, bounds=shapely.bounds(geoms),
        grid=grid,
    )


def _policy_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, AreaGrid]:
    """Ids, EPSG:4549 WKB, citation texts and lookup grid of the drawn policy areas (~0.3 s + grid)."""
    areas = layers.policy_areas()
    areas = areas[areas["drawn"]].to_crs(ANALYSIS_CRS)
    geoms = areas.geometry.to_numpy()
    return (
        areas["id"].to_numpy(dtype=object),
        shapely.to_wkb(geoms),
        areas.apply(_citation, axis=1).to_numpy(dtype=object),
        build_area_grid(geoms),
    )


def _zone_citations() -> dict[tuple[str, str], str]:
    table = plan.zone_membership()
    return {(r.code, r.zone): f"{r.zone} {r.plan_ref}「{r.plan_wording}」" for r in table.itertuples()}


def _touched(chunk: Chunk, index: PolicyIndex) -> np.ndarray:
    """Bit masks of the areas each site touches: ``[site, word]``, bit ``k % 64`` of word ``k // 64``."""
    n, words = len(chunk), index.grid.inside.shape[1]
    masks = np.zeros((n, words), dtype=np.uint64)
    plain = np.flatnonzero(chunk.plain & chunk.has_geom)
    x, y = chunk.x[plain], chunk.y[plain]
    # plain points: the grid's answer, and the prepared area's intersects_xy (exact, boundary
    # included) where an area's boundary comes near the cell or the point is off the grid
    cell = index.grid.cells(x, y)
    on = cell >= 0
    masks[plain[on]] = index.grid.inside[cell[on]]
    near = np.zeros((plain.size, words), dtype=np.uint64)
    near[on] = index.grid.near[cell[on]]
    near[~on] = ~np.uint64(0)  # off the grid: every area (a bounding-box filter first)
    test = np.flatnonzero(near.any(axis=1))
    x, y, near = x[test], y[test], near[test]
    for k, (geom, box) in enumerate(zip(index.geoms, index.bounds)):
        bit = np.uint64(1) << np.uint64(k % 64)
        cand = np.flatnonzero(
            (near[:, k // 64] & bit).astype(bool)
            & (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
        )
        hit = plain[test[cand[shapely.intersects_xy(geom, x[cand], y[cand])]]]
        masks[hit, k // 64] |= bit
    rest = np.flatnonzero(chunk.has_geom & ~chunk.plain & pd.notna(chunk.analysis))
    site_i, area_j = index.tree.query(chunk.analysis[rest], predicate="intersects")
    np.bitwise_or.at(
        masks, (rest[site_i], area_j // 64), np.left_shift(np.uint64(1), (area_j % 64).astype(np.uint64))
    )
    return masks


def _area_sets(masks: np.ndarray, n_areas: int) -> tuple[np.ndarray, list]:
    """Each site's set of areas as a code and the sorted area indices of each code."""
    words = masks.shape[1]
    key = masks[:, 0].view(np.int64)
    for w in range(1, words):  # more than 64 areas: combine the words' codes
        key = pd.factorize(pd.factorize(key)[0] * (1 << 32) + pd.factorize(masks[:, w])[0])[0]
    code, first = distinct_rows(key)
    held = _bits(masks[first], n_areas)
    _, area_k = np.nonzero(held)  # row-major: grouped by set, areas ascending
    areas = np.split(area_k, np.cumsum(held.sum(axis=1))[:-1]) if len(first) else []
    return code, areas


def _bits(masks: np.ndarray, n_areas: int) -> np.ndarray:
    """``[row, k]``: whether bit ``k % 64`` of word ``k // 64`` is set, for areas ``0..n_areas-1``."""
    # each word as 8 little-endian bytes, then the bits of each byte least significant first:
    # bit k of the row lands in column k whatever the machine's byte order
    octets = np.ascontiguousarray(masks, dtype="<u8").view(np.uint8)
    octets = octets.reshape(len(masks), 8 * masks.shape[1])
    return np.unpackbits(octets, axis=1, bitorder="little")[:, :n_areas].astype(bool)


def policy_columns(chunk: Chunk, ctx: CheckContext) -> pd.DataFrame:
    """``policies`` (ids touched) and ``plan_basis`` (the plan's words for zone and areas) per site.

    Sites share a few hundred distinct (area set, town, zone) combinations: the texts are joined
    once per combination and broadcast.
    """
    index = ctx.memo("policy_index", build_policy_index)
    zone_quotes = ctx.memo("zone_citations", _zone_citations)
    set_code, area_sets = _area_sets(_touched(chunk, index), len(index.ids))
    town_code, towns = pd.factorize(chunk.out["code"])
    zone_code, zones = pd.factorize(chunk.out["functional_zone"])
    key = (set_code * (len(towns) + 1) + town_code + 1) * (len(zones) + 1) + zone_code + 1
    inverse, first = distinct_rows(key)
    policies = np.full(len(first), None, dtype=object)
    basis = np.full(len(first), None, dtype=object)
    for i, row in enumerate(first):
        members = area_sets[set_code[row]]
        t, z = town_code[row], zone_code[row]
        zone_text = zone_quotes.get((towns[t], zones[z]), "") if t >= 0 and z >= 0 else ""
        parts = ([zone_text] if zone_text else []) + list(index.citations[members])
        if len(members):
            policies[i] = "、".join(index.ids[members])
        if parts:
            basis[i] = "；".join(parts)
    return pd.DataFrame(
        {"policies": repeated_text(policies, inverse), "plan_basis": repeated_text(basis, inverse)},
        index=chunk.index,
    )
