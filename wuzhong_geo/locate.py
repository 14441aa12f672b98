"""Locate: where each site lies — town, functional zone(s), sub-region, management zone.

Points are assigned with :func:`wuzhong_geo.classify.classify_points` (grid lookup, exact);
polygons, lines and buffered points are overlaid with the town-zone parts in EPSG:4549, which
also gives their areas/lengths per zone (the ``zone_parts`` table). Then the statuses decided by
the reader (bad coordinates, invalid geometry) win over the analysis, and the column steps in
:data:`COLUMN_STEPS` add what else a located site gets.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wuzhong_geo.chunk import Chunk, Columns, to_storage
from wuzhong_geo.classify import classify_points, current_lookup
from wuzhong_geo.columns import ZONE_PART_COLUMNS, format_numbers, repeated_text
from wuzhong_geo.context import CheckContext
from wuzhong_geo.policy_check import policy_columns
from wuzhong_geo.settings import STORAGE_CRS

#: 1 公顷 = 10,000 m²; 1 亩 = 10,000/15 m².
M2_PER_HA = 10_000.0
M2_PER_MU = 10_000.0 / 15.0
#: A zone or town counts as crossed when it holds at least this share of a polygon/line.
MIN_SHARE = 0.001
#: The administrative units of a located site.
UNIT_COLUMNS = ["code", "name", "management_zone", "functional_zone", "subregion"]

ColumnStep = Callable[[Chunk, CheckContext], pd.DataFrame]
#: Vectorised column functions run after the units are known, in order: each takes the chunk
#: (``chunk.geoms`` EPSG:4326, ``chunk.analysis`` EPSG:4549, ``chunk.out`` so far,
#: ``chunk.located``) and the context, and returns a DataFrame indexed like ``chunk.index`` whose
#: columns are declared in :mod:`wuzhong_geo.columns`.
COLUMN_STEPS: list[ColumnStep] = [policy_columns]


def locate(chunk: Chunk, ctx: CheckContext) -> gpd.GeoDataFrame:
    """Fill the units, statuses and areal columns of ``chunk.out``; return the zone-parts table."""
    sites, out, n = chunk.sites, chunk.out, len(chunk)
    pre_status = sites["_status"].to_numpy(dtype=object)
    is_point = chunk.kind == "point"

    # 1. points: the classifier (exact grid lookup)
    status = _Units(n)  # the status the geometry gives; texts kept as codes, as the units
    units = {c: _Units(n) for c in UNIT_COLUMNS}
    pts = np.flatnonzero(is_point & chunk.has_geom)
    if pts.size:
        # the run's layers are fixed: their lookup is found once (not by stat-ing data per chunk)
        lookup = ctx.memo("classify_lookup", current_lookup)
        cls = classify_points(chunk.lon[pts], chunk.lat[pts], lookup=lookup)
        status.put(pts, cls["status"].array)
        for c in UNIT_COLUMNS:
            units[c].put(pts, cls[c].array)

    # 2. polygons, lines and buffered points: overlay in EPSG:4549
    areal = chunk.has_geom & ~is_point
    overlay = areal | chunk.buffered
    areal_kind = np.where(chunk.buffered, "polygon", chunk.kind)
    zone_parts = _overlay(
        chunk.analysis, overlay, areal_kind, ctx, sites, chunk.info.name_col, out
    )
    if areal.any():
        where = np.flatnonzero(areal)
        # areal status: land first, then Taihu water, else outside
        land, water = out["land_share"][areal], out["taihu_share"][areal]
        a_status = np.where(
            land > 1e-9, "ok", np.where(water > 1e-9, "in_taihu_water", "outside_district")
        )
        status.put(where, a_status)
        # the primary town of a polygon/line gives its units; points keep the classifier's
        primary = out["code"][areal]
        units["code"].put(where, primary)
        units["functional_zone"].put(where, out["functional_zone"][areal])
        for c in ("name", "management_zone", "subregion"):
            units[c].put(where, pd.Series(primary).map(ctx.towns[c]).to_numpy(dtype=object))
    for c in UNIT_COLUMNS:
        out.set_text(c, units[c].categorical())
    # points (unbuffered): the lists are their single units
    single = is_point & ~chunk.buffered
    out["functional_zones"][single] = out.read("functional_zone")[single]
    out["towns"][single] = out.read("name")[single]
    town_codes = out.read("code")
    mgmt_list = out.read("management_zone")
    town_codes[overlay] = out["_town_codes"][overlay]
    mgmt_list[overlay] = out["_management_zones"][overlay]
    del out["_town_codes"], out["_management_zones"]
    out["crosses_zone_boundary"][single] = False
    out["crosses_town_boundary"][single] = False

    # 3. statuses decided before analysis win (bad coordinates/geometry); keep analysis of repairs
    analysed = status.codes.copy()
    given = np.flatnonzero(pd.notna(pre_status))
    status.put(given, pre_status[given])
    status.fill(np.flatnonzero(status.codes < 0), "invalid_coordinates")
    analysed[analysed < 0] = status.code("")  # no status of its own: ""
    labels = np.asarray(status.labels, dtype=object)
    final = labels[status.codes]
    out.set_text("status", status.categorical())
    located = np.isin(status.codes, [status.code("ok"), status.code("invalid_geometry")])
    located &= pd.notna(out["code"])
    for c in UNIT_COLUMNS + ["functional_zones", "towns"]:
        out[c][~located] = None
    chunk.analysed = labels[analysed]
    chunk.analysed_codes = repeated_text(labels, analysed)
    chunk.status = final
    chunk.status_codes = out["status"]
    chunk.located = located
    chunk.town_codes = pd.Series(town_codes, index=chunk.index, dtype=object)
    chunk.management_zones = pd.Series(mgmt_list, index=chunk.index, dtype=object)
    for step in COLUMN_STEPS:
        chunk.add(step(chunk, ctx))
    return zone_parts


class _Units:
    """A unit column (code, name, zone…) collected as codes into its distinct values."""

    def __init__(self, n: int) -> None:
        self.codes = np.full(n, -1, dtype=np.int64)
        self._index: dict[str, int] = {}

    @property
    def labels(self) -> list[str]:
        """The distinct values, by code."""
        return list(self._index)

    def code(self, value: str) -> int:
        """The code of a value (added if new)."""
        return self._index.setdefault(value, len(self._index))

    def _codes_of(self, values) -> np.ndarray:
        """The code of each of a few distinct values (-1: missing), adding new values."""
        return np.array([-1 if pd.isna(v) else self.code(v) for v in values], dtype=np.int64)

    def put(self, rows: np.ndarray, values) -> None:
        """Set ``rows`` to ``values`` (a categorical, or an array of text: coded per distinct value)."""
        if isinstance(values, pd.Categorical):
            codes, distinct = values.codes, values.categories
        else:  # new values get codes in order of first appearance, as row by row
            codes, distinct = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
        remap = np.append(self._codes_of(distinct), -1)
        self.codes[rows] = remap[codes]

    def fill(self, rows: np.ndarray, value: str) -> None:
        """Set ``rows`` to one value."""
        self.codes[rows] = self.code(value)

    def categorical(self) -> pd.Categorical:
        """The column as a categorical (categories sorted, as :func:`repeated_text` makes them)."""
        return repeated_text(list(self._index), self.codes)


def _overlay(
    analysis: np.ndarray,
    overlay: np.ndarray,
    kinds: np.ndarray,
    ctx: CheckContext,
    sites: gpd.GeoDataFrame,
    name_col: str | None,
    out: Columns,
) -> gpd.GeoDataFrame:
    """Area (polygons) or length (lines) per town-zone part, shares, Taihu and outside parts."""
    idx = np.flatnonzero(overlay)
    # made once per run (a frame with a CRS costs ~1 ms, and PROJ's lookups let other threads in)
    empty = ctx.memo("empty_zone_parts", lambda: gpd.GeoDataFrame(
        {c: [] for c in ZONE_PART_COLUMNS}, geometry=[], crs=STORAGE_CRS)).copy()
    out["_town_codes"] = None
    out["_management_zones"] = None
    if idx.size == 0:
        return empty
    g = analysis[idx]
    is_poly = kinds[idx] == "polygon"
    measure = np.where(is_poly, shapely.area(g), shapely.length(g))
    site_i, part_j = ctx.parts_tree.query(g, predicate="intersects")
    pieces = shapely.intersection(g[site_i], ctx.parts.geometry.values[part_j])
    piece_measure = np.where(is_poly[site_i], shapely.area(pieces), shapely.length(pieces))
    water = np.where(
        is_poly,
        shapely.area(shapely.intersection(g, ctx.taihu)),
        shapely.length(shapely.intersection(g, ctx.taihu)),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        share = piece_measure / measure[site_i]
        water_share = np.where(measure > 0, water / measure, 0.0)
    long = pd.DataFrame(
        {
            "pos": site_i,
            "code": ctx.parts["code"].to_numpy()[part_j],
            "name": ctx.parts["name"].to_numpy()[part_j],
            "functional_zone": ctx.parts["zone"].to_numpy()[part_j],
            "measure": piece_measure,
            "share": share,
            "polygon": is_poly[site_i],
        }
    )
    keep = long["measure"] > 0
    long, pieces = long[keep].reset_index(drop=True), pieces[keep.to_numpy()]
    land = long.groupby("pos")["measure"].sum().reindex(range(idx.size), fill_value=0.0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        land_share = np.where(measure > 0, np.minimum(land / measure, 1.0), 0.0)
    rows = idx  # positions in the chunk
    out["land_share"][rows] = np.round(land_share, 4)
    out["taihu_share"][rows] = np.round(np.minimum(water_share, 1.0), 4)
    out["area_m2"][rows[is_poly]] = np.round(measure[is_poly], 1)
    out["area_ha"][rows[is_poly]] = np.round(measure[is_poly] / M2_PER_HA, 4)
    out["area_mu"][rows[is_poly]] = np.round(measure[is_poly] / M2_PER_MU, 2)
    out["length_m"][rows[~is_poly]] = np.round(measure[~is_poly], 1)
    if long.empty:
        out["crosses_zone_boundary"][rows] = False
        out["crosses_town_boundary"][rows] = False
        return empty

    # per zone / per town sums, ordered by size
    by_zone = long.groupby(["pos", "functional_zone"], as_index=False).agg(
        measure=("measure", "sum"), share=("share", "sum")
    )
    by_zone = by_zone.sort_values(["pos", "measure"], ascending=[True, False])
    by_town = long.groupby(["pos", "code", "name"], as_index=False)["measure"].sum()
    by_town["share"] = by_town["measure"] / measure[by_town["pos"].to_numpy()]
    by_town = by_town.sort_values(["pos", "measure"], ascending=[True, False])
    main_zone = by_zone.drop_duplicates("pos").set_index("pos")["functional_zone"]
    main_town = by_town.drop_duplicates("pos").set_index("pos")["code"]
    zones_sig = by_zone[by_zone["share"] >= MIN_SHARE]
    towns_sig = by_town[by_town["share"] >= MIN_SHARE]
    zone_list = zones_sig.groupby("pos")["functional_zone"].agg("、".join)
    town_list = towns_sig.groupby("pos")["name"].agg("、".join)
    town_codes = towns_sig.groupby("pos")["code"].agg("、".join)
    mgmt = towns_sig.assign(mz=towns_sig["code"].map(ctx.towns["management_zone"]))
    mgmt_list = mgmt.drop_duplicates(["pos", "mz"]).groupby("pos")["mz"].agg("、".join)
    pos = np.arange(idx.size)
    out["code"][rows] = pd.Series(pos).map(main_town).to_numpy(dtype=object)
    out["functional_zone"][rows] = pd.Series(pos).map(main_zone).to_numpy(dtype=object)
    out["functional_zones"][rows] = pd.Series(pos).map(zone_list).to_numpy(dtype=object)
    out["towns"][rows] = pd.Series(pos).map(town_list).to_numpy(dtype=object)
    out["_town_codes"][rows] = pd.Series(pos).map(town_codes).to_numpy(dtype=object)
    out["_management_zones"][rows] = pd.Series(pos).map(mgmt_list).to_numpy(dtype=object)
    out["crosses_zone_boundary"][rows] = (
        pd.Series(pos).map(zones_sig.groupby("pos").size()).fillna(0).to_numpy() > 1
    )
    out["crosses_town_boundary"][rows] = (
        pd.Series(pos).map(towns_sig.groupby("pos").size()).fillna(0).to_numpy() > 1
    )

    # the breakdown text: "先进制造轴 12,345 m² / 1.23 公顷 / 18.5 亩（62.1%）；…"
    poly = is_poly[by_zone["pos"].to_numpy()]
    m = by_zone["measure"].to_numpy()
    amount = np.where(
        poly,
        format_numbers(m, 0)
        + " m² / "
        + format_numbers(m / M2_PER_HA, 2)
        + " 公顷 / "
        + format_numbers(m / M2_PER_MU, 1)
        + " 亩",
        format_numbers(m, 0) + " m",
    )
    pct = format_numbers(by_zone["share"].to_numpy() * 100, 1)
    by_zone["text"] = (
        by_zone["functional_zone"].to_numpy(dtype=object) + " " + amount + "（" + pct + "%）"
    )
    breakdown = by_zone.groupby("pos")["text"].agg("；".join)
    out["zone_breakdown"][rows] = pd.Series(pos).map(breakdown).to_numpy(dtype=object)

    # the long table (one row per site, town and zone), geometry in EPSG:4326
    name_col = name_col if name_col in sites else None
    site_names = (
        sites[name_col].astype("string").to_numpy(dtype=object)[idx]
        if name_col
        else np.full(idx.size, None)
    )
    lm = long["measure"].to_numpy()
    lp = long["polygon"].to_numpy()
    table = pd.DataFrame(
        {
            "row_id": sites["row_id"].to_numpy()[idx][long["pos"].to_numpy()],
            "site_name": site_names[long["pos"].to_numpy()],
            "code": long["code"].to_numpy(),
            "name": long["name"].to_numpy(),
            "functional_zone": long["functional_zone"].to_numpy(),
            "area_m2": np.where(lp, np.round(lm, 1), np.nan),
            "area_ha": np.where(lp, np.round(lm / M2_PER_HA, 4), np.nan),
            "area_mu": np.where(lp, np.round(lm / M2_PER_MU, 2), np.nan),
            "length_m": np.where(lp, np.nan, np.round(lm, 1)),
            "share": np.round(long["share"].to_numpy(), 4),
        }
    )
    return gpd.GeoDataFrame(table, geometry=to_storage(pieces), crs=STORAGE_CRS)


def _uncertainty(chunk: Chunk, ctx: CheckContext) -> pd.DataFrame:
    """How far each site's representative point is from a schematic town / zone line, and how sure."""
    from wuzhong_geo import uncertainty
    from wuzhong_geo.coords import transformer
    from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS

    x, y = chunk.x.copy(), chunk.y.copy()  # plain points: already in EPSG:4549
    rest = ~chunk.plain
    x[rest], y[rest] = transformer(STORAGE_CRS, ANALYSIS_CRS).transform(chunk.lon[rest], chunk.lat[rest])
    out = chunk.out
    found = uncertainty.assess_points(
        x, y, out["code"], out["functional_zone"], outside=chunk.status == "outside_district",
        # the run's layers are fixed: look the lines and the error up once, not per chunk
        error=ctx.memo("boundary_error", uncertainty.boundary_error),
        lines=ctx.memo("uncertainty_lines", uncertainty.current_lines),
    )
    found.index = chunk.index
    return found


COLUMN_STEPS.append(_uncertainty)
