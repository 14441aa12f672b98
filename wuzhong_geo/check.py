"""The per-chunk site check, shared by the in-memory and the Dask engine: locate → measure → judge.

``check_chunk(sites, context, info)`` takes one chunk of sites from :mod:`wuzhong_geo.inputs` and
returns one result row per site, in order, none dropped (columns: :mod:`wuzhong_geo.columns`),
and the per-zone table of its polygons, lines and buffered points. The whole run (reading,
chunking, writing) is :func:`wuzhong_geo.pipeline.run`.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from wuzhong_geo.chunk import Chunk, prepare_chunk
from wuzhong_geo.columns import enforce_dtype, result_columns
from wuzhong_geo.context import CheckContext
from wuzhong_geo.inputs import INTERNAL_COLUMNS, InputInfo
from wuzhong_geo.judge import judge
from wuzhong_geo.locate import locate
from wuzhong_geo.measure import measure
from wuzhong_geo.settings import STORAGE_CRS


def check_chunk(
    sites: gpd.GeoDataFrame, ctx: CheckContext, info: InputInfo
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Check one chunk of sites; return ``(results, zone_parts)``."""
    chunk = prepare_chunk(sites, info, ctx.buffer_m)
    zone_parts = locate(chunk, ctx)
    measure(chunk, ctx)
    judge(chunk, ctx)
    return assemble(chunk, ctx), zone_parts


def assemble(chunk: Chunk, ctx: CheckContext) -> gpd.GeoDataFrame:
    """row_id, the input's own columns, the result columns in contract order, geometry (EPSG:4326).

    The frame is built once, from the sites' own columns and :class:`wuzhong_geo.chunk.Columns`.
    """
    sites, out = chunk.sites, chunk.out
    own = [c for c in sites.columns if c not in (*INTERNAL_COLUMNS, "geometry")]
    order = result_columns(own, ctx.kinds)
    extra = [c for c in out if c not in order]  # a column step not yet in the contract
    if extra:
        raise ValueError(f"columns {extra} are not declared in wuzhong_geo.columns")
    data = {c: sites[c] for c in own} | {c: enforce_dtype(c, out.series(c)) for c in out}
    # a GeometryArray, not an object column: GeoDataFrame would re-check every geometry
    data["geometry"] = gpd.array.from_shapely(chunk.geoms, crs=STORAGE_CRS)
    result = pd.DataFrame({c: data[c] for c in order}, index=sites.index, copy=False)
    # the "geometry" column (EPSG:4326, from its array) becomes the active one, without a copy
    return gpd.GeoDataFrame(result, copy=False)
