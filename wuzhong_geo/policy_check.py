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
from wuzhong_geo.settings import ANALYSIS_CRS


@dataclass(frozen=True)
class PolicyIndex:
    """The drawn policy areas in EPSG:4549, their tree, and each area's citation text."""

    ids: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree
    citations: np.ndarray
    bounds: np.ndarray


def _citation(row: pd.Series) -> str:
    text = row["name"]
    if row["plan_quote"]:
        text += f" {row['plan_ref']}「{row['plan_quote']}」"
    if row["legal_source"]:
        text += f"（{row['legal_source']}{row['legal_ref']}）"
    return text


def build_policy_index() -> PolicyIndex:
    """Prepare the drawn policy areas of the active layers for lookups (from the disk cache)."""
    ids, wkb, citations = diskcache.cached("policy_index", diskcache.data_state(), _policy_arrays)
    geoms = shapely.from_wkb(wkb)
    shapely.prepare(geoms)
    return PolicyIndex(
        ids=ids, geoms=geoms, tree=shapely.STRtree(geoms), citations=citations, bounds=shapely.bounds(geoms)
    )


def _policy_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, EPSG:4549 WKB and citation texts of the drawn policy areas (deriving them takes ~0.3 s)."""
    areas = layers.policy_areas()
    areas = areas[areas["drawn"]].to_crs(ANALYSIS_CRS)
    return (
        areas["id"].to_numpy(dtype=object),
        shapely.to_wkb(areas.geometry.to_numpy()),
        areas.apply(_citation, axis=1).to_numpy(dtype=object),
    )


def _zone_citations() -> dict[tuple[str, str], str]:
    table = plan.zone_membership()
    return {(r.code, r.zone): f"{r.zone} {r.plan_ref}「{r.plan_wording}」" for r in table.itertuples()}


def _touched(chunk: Chunk, index: PolicyIndex) -> tuple[np.ndarray, np.ndarray]:
    """(site position, area index) of every site touching an area, sorted by site then area."""
    plain = np.flatnonzero(chunk.plain & chunk.has_geom)
    site, area = [], []
    # plain points: a bounding-box filter and the prepared area's intersects_xy (exact, boundary
    # included), ~15x faster than the tree's predicate query on points
    x, y = chunk.x[plain], chunk.y[plain]
    for k, (geom, box) in enumerate(zip(index.geoms, index.bounds)):
        near = np.flatnonzero((x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3]))
        hit = near[shapely.intersects_xy(geom, x[near], y[near])]
        site.append(plain[hit])
        area.append(np.full(hit.size, k))
    rest = np.flatnonzero(chunk.has_geom & ~chunk.plain & pd.notna(chunk.analysis))
    site_i, area_j = index.tree.query(chunk.analysis[rest], predicate="intersects")
    site.append(rest[site_i])
    area.append(area_j)
    site, area = np.concatenate(site).astype(np.int64), np.concatenate(area).astype(np.int64)
    order = np.lexsort((area, site))
    return site[order], area[order]


def _area_sets(n: int, site: np.ndarray, area: np.ndarray, n_areas: int) -> tuple[np.ndarray, list]:
    """Each site's set of areas as a code (0: none) and the sorted area indices of each code."""
    words = max((n_areas + 63) // 64, 1)
    masks = np.zeros((n, words), dtype=np.uint64)
    if site.size:
        bits = np.left_shift(np.uint64(1), (area % 64).astype(np.uint64))
        for w in range(words):  # one bitmask word per 64 areas, OR-ed per site
            sel = area // 64 == w
            s, b = site[sel], bits[sel]
            if s.size:
                starts = np.flatnonzero(np.diff(s, prepend=-1) != 0)
                masks[s[starts], w] = np.bitwise_or.reduceat(b, starts)
    key = masks[:, 0].view(np.int64)
    for w in range(1, words):  # more than 64 areas: combine the words' codes
        key = pd.factorize(pd.factorize(key)[0] * (1 << 32) + pd.factorize(masks[:, w])[0])[0]
    _, first, code = np.unique(key, return_index=True, return_inverse=True)
    areas = [
        np.flatnonzero([(row[k // 64] >> np.uint64(k % 64)) & np.uint64(1) for k in range(n_areas)])
        for row in masks[first]
    ]
    return code.reshape(-1), areas


def policy_columns(chunk: Chunk, ctx: CheckContext) -> pd.DataFrame:
    """``policies`` (ids touched) and ``plan_basis`` (the plan's words for zone and areas) per site.

    Sites share a few hundred distinct (area set, town, zone) combinations: the texts are joined
    once per combination and broadcast.
    """
    index = ctx.memo("policy_index", build_policy_index)
    zone_quotes = ctx.memo("zone_citations", _zone_citations)
    n = len(chunk)
    site, area = _touched(chunk, index)
    set_code, area_sets = _area_sets(n, site, area, len(index.ids))
    town_code, towns = pd.factorize(chunk.out["code"])
    zone_code, zones = pd.factorize(chunk.out["functional_zone"])
    key = (set_code * (len(towns) + 1) + town_code + 1) * (len(zones) + 1) + zone_code + 1
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
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
    inverse = inverse.reshape(-1)
    return pd.DataFrame(
        {"policies": repeated_text(policies, inverse), "plan_basis": repeated_text(basis, inverse)},
        index=chunk.index,
    )
