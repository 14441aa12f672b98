"""Measure: distances in metres (EPSG:4549) — Taihu shore, district edge, nearest infrastructure.

Plain points go through the numpy segment indexes of the context (:mod:`wuzhong_geo.nearest`,
exact); lines, polygons and multipoints through GEOS. Distances are from the site itself, not
from its buffer. The column steps in :data:`COLUMN_STEPS` add further measurements.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely

from wuzhong_geo.chunk import Chunk, to_analysis
from wuzhong_geo.columns import DISTANCE_DIGITS, TextLabels
from wuzhong_geo.context import CheckContext

ColumnStep = Callable[[Chunk, CheckContext], pd.DataFrame]
#: Vectorised column functions run after the core distances, in order (same contract as
#: :data:`wuzhong_geo.locate.COLUMN_STEPS`).
COLUMN_STEPS: list[ColumnStep] = []

#: Statuses whose sites are measured (their geometry is usable).
MEASURED_STATUSES = ("ok", "in_taihu_water", "outside_district", "invalid_geometry")


def measure(chunk: Chunk, ctx: CheckContext) -> None:
    """Fill the distance columns of ``chunk.out`` (after :func:`wuzhong_geo.locate.locate`)."""
    out, n = chunk.out, len(chunk)
    measured = chunk.has_geom & np.asarray(chunk.status_codes.isin(MEASURED_STATUSES))
    target = chunk.analysis.copy()  # distances from the site itself, not from its buffer
    unbuffer = chunk.buffered & ~chunk.plain
    if unbuffer.any():
        target[unbuffer] = to_analysis(chunk.geoms[unbuffer])
    mi = np.flatnonzero(measured)
    pt = chunk.plain[mi]  # points: the numpy segment index; lines, polygons, multipoints: GEOS
    points = mi[pt]
    px, py = chunk.x[points], chunk.y[points]
    if mi.size:
        shore = np.full(n, np.nan)
        shore[points] = ctx.shore_index.query(px, py)[0]
        shore[mi[~pt]] = shapely.distance(target[mi[~pt]], ctx.shore)
        out["taihu_shore_m"] = np.round(shore, DISTANCE_DIGITS)
        outside = np.flatnonzero(measured & (chunk.analysed == "outside_district"))
        edge = np.full(n, np.nan)
        opt = chunk.plain[outside]
        edge[outside[opt]] = ctx.district_index.query(
            chunk.x[outside[opt]], chunk.y[outside[opt]]
        )[0]
        edge[outside[~opt]] = shapely.distance(target[outside[~opt]], ctx.district)
        out["district_distance_m"] = np.round(edge, DISTANCE_DIGITS)
    for k in ctx.kinds:
        feats, names = ctx.infra[k]
        dist = np.full(n, np.nan)
        nearest = np.full(n, -1, dtype=np.int64)  # index into names; -1: not measured
        if mi.size:
            dist[points], nearest[points] = ctx.infra_index[k].query(px, py)
            other = mi[~pt]
            if other.size:
                d = shapely.distance(target[other][:, None], feats[None, :])
                best = np.argmin(np.where(np.isnan(d), np.inf, d), axis=1)
                dist[other] = d[np.arange(other.size), best]
                nearest[other] = best
        labels = ctx.memo(f"nearest_labels_{k}", lambda names=names: TextLabels(names))
        out[f"nearest_{k}"] = labels.take(nearest)
        out[f"dist_{k}_m"] = np.round(dist, DISTANCE_DIGITS)
    for step in COLUMN_STEPS:
        chunk.add(step(chunk, ctx))
