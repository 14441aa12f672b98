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

from wuzhong_geo import layers, plan
from wuzhong_geo.chunk import Chunk
from wuzhong_geo.context import CheckContext
from wuzhong_geo.settings import ANALYSIS_CRS


@dataclass(frozen=True)
class PolicyIndex:
    """The drawn policy areas in EPSG:4549, their tree, and each area's citation text."""

    ids: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree
    citations: np.ndarray


def _citation(row: pd.Series) -> str:
    text = row["name"]
    if row["plan_quote"]:
        text += f" {row['plan_ref']}「{row['plan_quote']}」"
    if row["legal_source"]:
        text += f"（{row['legal_source']}{row['legal_ref']}）"
    return text


def build_policy_index() -> PolicyIndex:
    """Prepare the drawn policy areas of the active layers for lookups."""
    areas = layers.policy_areas()
    areas = areas[areas["drawn"]].to_crs(ANALYSIS_CRS)
    geoms = areas.geometry.to_numpy()
    shapely.prepare(geoms)
    return PolicyIndex(
        ids=areas["id"].to_numpy(dtype=object),
        geoms=geoms,
        tree=shapely.STRtree(geoms),
        citations=areas.apply(_citation, axis=1).to_numpy(dtype=object),
    )


def _zone_citations() -> dict[tuple[str, str], str]:
    table = plan.zone_membership()
    return {(r.code, r.zone): f"{r.zone} {r.plan_ref}「{r.plan_wording}」" for r in table.itertuples()}


def policy_columns(chunk: Chunk, ctx: CheckContext) -> pd.DataFrame:
    """``policies`` (ids touched) and ``plan_basis`` (the plan's words for zone and areas) per site."""
    index = ctx.memo("policy_index", build_policy_index)
    zone_quotes = ctx.memo("zone_citations", _zone_citations)
    n = len(chunk)
    geoms = chunk.analysis.copy()
    plain = chunk.plain & chunk.has_geom
    geoms[plain] = shapely.points(chunk.x[plain], chunk.y[plain])  # plain points: the exact point
    usable = np.flatnonzero(chunk.has_geom & pd.notna(geoms))
    site_i, area_j = index.tree.query(geoms[usable], predicate="intersects")
    pairs = pd.DataFrame({"pos": usable[site_i], "area": area_j}).sort_values(["pos", "area"])
    ids = pairs.assign(id=index.ids[pairs["area"].to_numpy()]).groupby("pos")["id"].agg("、".join)
    cites = pairs.assign(c=index.citations[pairs["area"].to_numpy()]).groupby("pos")["c"].agg("；".join)
    policies = pd.Series(range(n)).map(ids).to_numpy(dtype=object)
    areas_text = pd.Series(range(n)).map(cites).fillna("").to_numpy(dtype=object)
    # the functional zone's own citation (the main zone of a located site)
    keys = pd.Series(list(zip(chunk.out["code"], chunk.out["functional_zone"])), dtype=object)
    zone_text = keys.map(zone_quotes).fillna("").to_numpy(dtype=object)
    basis = np.where((zone_text != "") & (areas_text != ""), zone_text + "；" + areas_text, zone_text + areas_text)
    return pd.DataFrame({
        "policies": np.where(pd.isna(policies), None, policies),
        "plan_basis": np.where(basis == "", None, basis),
    }, index=chunk.index)
