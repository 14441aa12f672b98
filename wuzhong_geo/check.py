"""Check project sites against the plan: where each falls and whether it deserves a second look.

``check_sites(data, ...)`` takes a path (CSV, XLSX, GeoJSON, GPKG, Shapefile, 界址点 TXT) or a
(Geo)DataFrame and returns one row per input row, in input order, none dropped: ``row_id``, the
input's own columns, ``status`` + ``message``, town ``code``/``name``, ``management_zone``,
``functional_zone``, ``subregion``, per-zone areas/lengths for polygons and lines, distances to
the nearest planned infrastructure of each kind and to the Taihu shore, and ``flags`` from the
rule matrix (:mod:`wuzhong_geo.rules`).

Points are assigned with :func:`wuzhong_geo.classify.classify_points` (grid lookup, exact);
polygons, lines and buffered points are overlaid with the town-zone parts in EPSG:4549.
Everything works on whole chunks of rows (``chunk_size``) so memory stays bounded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wuzhong_geo import layers, plan
from wuzhong_geo.classify import classify_points
from wuzhong_geo.coords import transformer
from wuzhong_geo.errors import InputError
from wuzhong_geo.inputs import INTERNAL_COLUMNS, InputInfo, SiteReader, open_input
from wuzhong_geo.rules import RuleMatrix, apply_rules, categorise, load_rules
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS
from wuzhong_geo.style import INFRASTRUCTURE_KINDS

log = logging.getLogger(__name__)

#: 1 公顷 = 10,000 m²; 1 亩 = 10,000/15 m².
M2_PER_HA = 10_000.0
M2_PER_MU = 10_000.0 / 15.0
#: A zone or town counts as crossed when it holds at least this share of a polygon/line.
MIN_SHARE = 0.001
#: Default rows per chunk.
CHUNK_SIZE = 25_000

#: Result columns before the input's own columns and after them (infrastructure columns follow).
LEAD_COLUMNS = ["row_id"]
CORE_COLUMNS = [
    "status",
    "message",
    "code",
    "name",
    "management_zone",
    "functional_zone",
    "subregion",
    "functional_zones",
    "zone_breakdown",
    "towns",
    "geometry_type",
    "area_m2",
    "area_ha",
    "area_mu",
    "length_m",
    "land_share",
    "taihu_share",
    "taihu_shore_m",
    "district_distance_m",
]
TAIL_COLUMNS = [
    "rule_category",
    "input_town_code",
    "town_match",
    "crosses_zone_boundary",
    "crosses_town_boundary",
    "coordinates_swapped",
    "flags",
    "flag_level",
    "flag_notes",
    "wgs84_lon",
    "wgs84_lat",
]
#: Columns of the long per-site, per-town, per-zone table of polygons/lines/buffers.
ZONE_PART_COLUMNS = [
    "row_id",
    "site_name",
    "code",
    "name",
    "functional_zone",
    "area_m2",
    "area_ha",
    "area_mu",
    "length_m",
    "share",
]


def result_column_names() -> list[str]:
    """Every column name a result can have (infrastructure columns for every kind)."""
    infra = [c for kind in INFRASTRUCTURE_KINDS for c in (f"nearest_{kind}", f"dist_{kind}_m")]
    return [*LEAD_COLUMNS, *CORE_COLUMNS, *infra, *TAIL_COLUMNS, "geometry"]


_FLOAT = {
    "area_m2",
    "area_ha",
    "area_mu",
    "length_m",
    "land_share",
    "taihu_share",
    "taihu_shore_m",
    "district_distance_m",
    "wgs84_lon",
    "wgs84_lat",
}
_BOOL = {"town_match", "crosses_zone_boundary", "crosses_town_boundary", "coordinates_swapped"}


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
            _, keep = np.unique(point[hit], return_index=True)
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
    return SegmentIndex(shapely.from_wkb(list(wkb)))


def segment_index(geoms) -> SegmentIndex:
    """A cached :class:`SegmentIndex` of ``geoms`` (built once per process per geometry set)."""
    return _segment_index(tuple(shapely.to_wkb(list(geoms))))


@dataclass
class _Context:
    """Everything a chunk needs, built once per run (layers in EPSG:4549, trees, rules)."""

    rules: RuleMatrix
    parts: gpd.GeoDataFrame
    parts_tree: shapely.STRtree
    taihu: shapely.Geometry
    district: shapely.Geometry
    shore: shapely.Geometry
    district_edge: shapely.Geometry
    infra: dict[str, tuple[np.ndarray, np.ndarray]]  # kind -> (geometries, names)
    infra_index: dict[str, SegmentIndex]
    shore_index: SegmentIndex
    district_index: SegmentIndex
    towns: pd.DataFrame
    buffer_m: float | None

    @property
    def kinds(self) -> list[str]:
        """Infrastructure kinds that have features (one pair of columns each)."""
        return list(self.infra)


def _context(rules: RuleMatrix, buffer_m: float | None) -> _Context:
    parts = layers.town_zone_parts().to_crs(ANALYSIS_CRS)[["code", "name", "zone", "geometry"]]
    parts = parts.reset_index(drop=True)
    parts["geometry"] = shapely.make_valid(parts.geometry.values)
    taihu = shapely.make_valid(layers.taihu().to_crs(ANALYSIS_CRS).geometry.union_all())
    district = shapely.make_valid(layers.district().to_crs(ANALYSIS_CRS).geometry.union_all())
    shore = shapely.make_valid(
        layers.taihu_full().to_crs(ANALYSIS_CRS).geometry.union_all()
    ).boundary
    for geom in (taihu, district, shore):
        shapely.prepare(geom)
    infra_layer = layers.infrastructure()
    if rules.infrastructure.in_plan_only:
        in_plan = infra_layer["in_plan"].astype(str).str.lower().isin(["true", "1", "yes"])
        infra_layer = infra_layer[in_plan]
    infra_layer = infra_layer.to_crs(ANALYSIS_CRS)
    infra = {}
    for kind in rules.infrastructure.kinds:
        sel = infra_layer[infra_layer["kind"] == kind]
        if len(sel):
            infra[kind] = (
                np.asarray(list(sel.geometry), dtype=object),
                sel["name"].astype(str).to_numpy(),
            )
    towns = layers.towns().set_index("code")[["name", "management_zone", "subregion"]]
    return _Context(
        rules=rules,
        parts=parts,
        parts_tree=shapely.STRtree(parts.geometry.values),
        taihu=taihu,
        district=district,
        shore=shore,
        district_edge=district.boundary,
        infra=infra,
        infra_index={k: segment_index(v[0]) for k, v in infra.items()},
        shore_index=segment_index([shore]),
        district_index=segment_index([district]),
        towns=towns,
        buffer_m=buffer_m,
    )


@dataclass
class CheckRun:
    """An opened check: input info, rules and a generator of checked chunks."""

    reader: SiteReader
    rules: RuleMatrix
    rules_path: str
    buffer_m: float | None
    chunk_size: int
    context: _Context
    boundaries: str
    started: float = field(default_factory=time.time)
    stats: dict = field(default_factory=lambda: {"dms": 0})

    @property
    def info(self) -> InputInfo:
        """What was read and how."""
        return self.reader.info

    def chunks(self) -> Iterator[tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]]:
        """Yield ``(sites, zone_parts)`` per chunk of input rows."""
        for sites in self.reader.chunks(self.chunk_size):
            self.stats["dms"] += int(sites["_dms"].sum())
            yield check_chunk(sites, self.context, self.info)

    def columns(self) -> list[str]:
        """The result columns, in order (geometry last)."""
        infra = [c for kind in self.context.kinds for c in (f"nearest_{kind}", f"dist_{kind}_m")]
        return [*LEAD_COLUMNS, *self.info.columns, *CORE_COLUMNS, *infra, *TAIL_COLUMNS, "geometry"]


def open_check(
    data,
    *,
    crs: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
    category_col: str | None = None,
    town_col: str | None = None,
    buffer_m: float | None = None,
    rules: str | Path | RuleMatrix | None = None,
    boundaries: str | Path | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    layer: str | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> CheckRun:
    """Validate options, open the input and build the context; raise InputError before any work."""
    if buffer_m is not None and not (buffer_m > 0):
        raise InputError(f"--buffer-m 须为正数 / must be positive, not {buffer_m!r}")
    if chunk_size < 1:
        raise InputError("chunk_size must be at least 1")
    matrix = rules if isinstance(rules, RuleMatrix) else load_rules(rules)
    rules_path = (
        "(in memory)"
        if isinstance(rules, RuleMatrix)
        else str(rules or "data/plan/site_rules.yaml (default)")
    )
    if boundaries is not None:
        layers.use_boundaries(boundaries)
    reader = open_input(
        data,
        crs=crs,
        lon_col=lon_col,
        lat_col=lat_col,
        name_col=name_col,
        category_col=category_col,
        town_col=town_col,
        encoding=encoding,
        sheet=sheet,
        layer=layer,
    )
    active = layers.active_boundaries()
    return CheckRun(
        reader=reader,
        rules=matrix,
        rules_path=rules_path,
        buffer_m=buffer_m,
        chunk_size=chunk_size,
        context=_context(matrix, buffer_m),
        boundaries=str(active) if active else "schematic",
    )


def check_sites(data, **options) -> gpd.GeoDataFrame:
    """Check every site of ``data`` (path or frame) against the plan; one row per input row.

    Options: ``crs`` (wgs84|cgcs2000|gcj02|bd09|EPSG:n), ``lon_col``/``lat_col``, ``name_col``,
    ``category_col``, ``town_col``, ``buffer_m``, ``rules`` (YAML path or RuleMatrix),
    ``boundaries`` (official town boundaries), ``encoding``, ``sheet``, ``layer``, ``chunk_size``.
    """
    return run_check(data, **options).sites


@dataclass
class CheckResult:
    """An in-memory check: sites, the per-zone table of polygons/lines, and how it was run."""

    sites: gpd.GeoDataFrame
    zone_parts: gpd.GeoDataFrame
    run: CheckRun


def run_check(data, **options) -> CheckResult:
    """Like :func:`check_sites`, also returning the zone-part table and the run (for the outputs)."""
    run = open_check(data, **options)
    sites, parts = [], []
    for s, p in run.chunks():
        sites.append(s)
        parts.append(p)
    return CheckResult(
        sites=_concat(sites, run.columns()),
        zone_parts=_concat(parts, [*ZONE_PART_COLUMNS, "geometry"]),
        run=run,
    )


def _concat(frames: list[gpd.GeoDataFrame], columns: list[str]) -> gpd.GeoDataFrame:
    frames = [f for f in frames if len(f)] or frames[:1]
    if not frames:
        return gpd.GeoDataFrame(
            {c: [] for c in columns if c != "geometry"}, geometry=[], crs=STORAGE_CRS
        )
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)


# --- one chunk ----------------------------------------------------------------------------------


def _geometry_kind(geoms: np.ndarray) -> np.ndarray:
    """point | line | polygon | '' (none) per geometry; collections by their highest dimension."""
    dim = shapely.get_dimensions(geoms)
    kind = np.full(len(geoms), "", dtype=object)
    kind[dim == 0] = "point"
    kind[dim == 1] = "line"
    kind[dim == 2] = "polygon"
    kind[pd.isna(geoms)] = ""
    return kind


def _highest_dimension(geoms: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Drop lower-dimensional parts of collections (make_valid can leave stray lines/points)."""
    coll = shapely.get_type_id(geoms) == 7
    if not coll.any():
        return geoms
    geoms = geoms.copy()
    idx = np.flatnonzero(coll)
    parts, owner = shapely.get_parts(geoms[idx], return_index=True)
    want = np.array([{"point": 0, "line": 1, "polygon": 2}[k] for k in kind[idx]])[owner]
    keep = shapely.get_dimensions(parts) == want
    for pos in np.unique(owner):  # few rows: only repaired polygons produce collections
        geoms[idx[pos]] = shapely.union_all(parts[(owner == pos) & keep])
    return geoms


def _to_analysis(geoms: np.ndarray) -> np.ndarray:
    tr = transformer(STORAGE_CRS, ANALYSIS_CRS)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _fmt(values: np.ndarray, digits: int) -> np.ndarray:
    """Format floats with thousands separators, vectorised ('' for NaN)."""
    series = pd.Series(values, dtype=float)
    rounded = series.round(digits)
    text = rounded.map(f"{{:,.{digits}f}}".format, na_action="ignore")
    return text.astype(object).fillna("").to_numpy(dtype=object)


def check_chunk(
    sites: gpd.GeoDataFrame, ctx: _Context, info: InputInfo
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Check one chunk of sites (from :mod:`wuzhong_geo.inputs`); return results and zone parts."""
    n = len(sites)
    idx = sites.index
    geoms = (
        sites.geometry.values.to_numpy()
        if hasattr(sites.geometry.values, "to_numpy")
        else np.asarray(sites.geometry.values, dtype=object)
    )
    geoms = np.asarray(geoms, dtype=object)
    pre_status = sites["_status"].to_numpy(dtype=object)
    has_geom = ~pd.isna(geoms)
    kind = _geometry_kind(geoms)
    geoms = _highest_dimension(geoms, kind)
    out = pd.DataFrame(index=idx)
    for col in CORE_COLUMNS + TAIL_COLUMNS:
        out[col] = np.nan if col in _FLOAT else (pd.NA if col in _BOOL else None)
    out["geometry_type"] = kind

    # representative WGS84 point of every geometry
    is_point = kind == "point"
    plain = has_geom & (shapely.get_type_id(geoms) == 0)  # a Point: no geometry work needed
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    lon[plain], lat[plain] = shapely.get_x(geoms[plain]), shapely.get_y(geoms[plain])
    rest = has_geom & ~plain
    rep = np.where(
        is_point[rest], shapely.centroid(geoms[rest]), shapely.point_on_surface(geoms[rest])
    )
    lon[rest], lat[rest] = shapely.get_x(rep), shapely.get_y(rep)
    out["wgs84_lon"], out["wgs84_lat"] = np.round(lon, 7), np.round(lat, 7)
    px_all = np.full(n, np.nan)
    py_all = np.full(n, np.nan)
    px_all[plain], py_all[plain] = transformer(STORAGE_CRS, ANALYSIS_CRS).transform(
        lon[plain], lat[plain]
    )

    # 1. points: the classifier (exact grid lookup)
    status = np.full(n, None, dtype=object)
    unit_cols = ["code", "name", "management_zone", "functional_zone", "subregion"]
    units = {c: np.full(n, None, dtype=object) for c in unit_cols}
    pts = np.flatnonzero(is_point & has_geom)
    if pts.size:
        cls = classify_points(lon[pts], lat[pts])
        status[pts] = cls["status"].astype(object).to_numpy()
        for c in unit_cols:
            units[c][pts] = cls[c].astype(object).where(cls[c].notna(), None).to_numpy()

    # 2. polygons, lines and buffered points: overlay in EPSG:4549
    analysis = np.full(n, None, dtype=object)
    analysis[rest] = _to_analysis(geoms[rest])
    areal = has_geom & ~is_point
    if ctx.buffer_m:
        buffered = has_geom & is_point
        analysis[plain] = shapely.points(px_all[plain], py_all[plain])
        analysis[buffered] = shapely.buffer(analysis[buffered], ctx.buffer_m, quad_segs=16)
        areal_kind = np.where(buffered, "polygon", kind)
    else:
        buffered = np.zeros(n, dtype=bool)
        areal_kind = kind
    overlay = areal | buffered
    zone_parts = _overlay(analysis, overlay, areal_kind, ctx, sites, info, out)
    # areal status: land first, then Taihu water, else outside
    land_share = out["land_share"].to_numpy(dtype=float)
    water_share = out["taihu_share"].to_numpy(dtype=float)
    a_status = np.where(
        land_share > 1e-9, "ok", np.where(water_share > 1e-9, "in_taihu_water", "outside_district")
    )
    status[areal] = a_status[areal]
    # the primary town of a polygon/line gives its units; points keep the classifier's
    primary = out["code"].to_numpy(dtype=object)
    for c in unit_cols:
        if c == "code":
            units[c][areal] = primary[areal]
        elif c == "functional_zone":
            units[c][areal] = out["functional_zone"].to_numpy(dtype=object)[areal]
        else:
            mapped = pd.Series(primary).map(ctx.towns[c] if c != "name" else ctx.towns["name"])
            units[c][areal] = mapped.to_numpy(dtype=object)[areal]
    for c in unit_cols:
        out[c] = units[c]
    # points (unbuffered): the lists are their single units
    single = is_point & ~buffered
    out.loc[single, "functional_zones"] = out.loc[single, "functional_zone"]
    out.loc[single, "towns"] = out.loc[single, "name"]
    town_codes = out["code"].astype(object).copy()
    mgmt_list = out["management_zone"].astype(object).copy()
    if overlay.any():
        town_codes[overlay] = out.loc[overlay, "_town_codes"]
        mgmt_list[overlay] = out.loc[overlay, "_management_zones"]
    out = out.drop(columns=[c for c in ("_town_codes", "_management_zones") if c in out])
    out.loc[single, ["crosses_zone_boundary", "crosses_town_boundary"]] = False

    # 3. statuses decided before analysis win (bad coordinates/geometry); keep analysis of repairs
    # outside/water distances are needed by the messages of repaired geometries too
    final = np.where(pd.isna(pre_status), status, pre_status)
    final = np.where(pd.isna(final), "invalid_coordinates", final)
    out["status"] = final
    located = np.isin(final, ["ok", "invalid_geometry"]) & pd.notna(
        out["code"].to_numpy(dtype=object)
    )
    for c in unit_cols + ["functional_zones", "towns"]:
        out.loc[~located, c] = None

    # 4. distances in metres
    measured = has_geom & np.isin(
        final, ["ok", "in_taihu_water", "outside_district", "invalid_geometry"]
    )
    target = analysis.copy()  # distances from the site itself, not from its buffer
    if buffered.any():
        target[buffered & ~plain] = _to_analysis(geoms[buffered & ~plain])
    mi = np.flatnonzero(measured)
    pt = plain[mi]  # points: the numpy segment index; lines, polygons, multipoints: GEOS
    px, py = px_all[mi[pt]], py_all[mi[pt]]
    shore = np.full(n, np.nan)
    if mi.size:
        shore[mi[pt]] = ctx.shore_index.query(px, py)[0]
        shore[mi[~pt]] = shapely.distance(target[mi[~pt]], ctx.shore)
        out["taihu_shore_m"] = np.round(shore, 1)
        outside = np.flatnonzero(measured & (status == "outside_district"))
        edge = np.full(n, np.nan)
        opt = plain[outside]
        edge[outside[opt]] = ctx.district_index.query(px_all[outside[opt]], py_all[outside[opt]])[0]
        edge[outside[~opt]] = shapely.distance(target[outside[~opt]], ctx.district)
        out["district_distance_m"] = np.round(edge, 1)
    for k in ctx.kinds:
        feats, names = ctx.infra[k]
        dist = np.full(n, np.nan)
        nearest = np.full(n, None, dtype=object)
        if mi.size:
            d_pt, which = ctx.infra_index[k].query(px, py)
            dist[mi[pt]] = d_pt
            nearest[mi[pt]] = names[which]
            other = mi[~pt]
            if other.size:
                d = shapely.distance(target[other][:, None], feats[None, :])
                best = np.argmin(np.where(np.isnan(d), np.inf, d), axis=1)
                dist[other] = d[np.arange(other.size), best]
                nearest[other] = names[best]
        out[f"nearest_{k}"] = nearest
        out[f"dist_{k}_m"] = np.round(dist, 1)

    # 5. the input's town column, category, swaps
    out["coordinates_swapped"] = sites["_swapped"].to_numpy(dtype=bool)
    if info.town_col and info.town_col in sites:
        given = sites[info.town_col].astype("string").str.strip()
        uniq = given.dropna().unique()
        lookup = {v: plan.town_code(v) for v in uniq}  # once per distinct spelling, not per row
        codes = given.map(lookup).astype(object)
        out["input_town_code"] = codes.where(codes.notna(), None).to_numpy(dtype=object)
        known = pd.notna(out["input_town_code"].to_numpy(dtype=object)) & located
        match = _list_contains(town_codes, out["input_town_code"])
        out["town_match"] = pd.array(np.where(known, match, False), dtype="boolean")
        out.loc[~known, "town_match"] = pd.NA
    cat_source = (
        info.category_col
        if info.category_col in sites
        else (info.name_col if info.name_col in sites else None)
    )
    if cat_source:
        out["rule_category"] = (
            categorise(sites[cat_source], ctx.rules.categories).astype(object).to_numpy()
        )
        out["rule_category"] = out["rule_category"].where(out["rule_category"].notna(), None)

    # 6. messages and flags
    out["message"] = _messages(out, sites, final, np.where(pd.isna(status), "", status))
    rule_view = out.assign(
        town_codes=town_codes,
        management_zones=mgmt_list,
        partly_outside_district=(out["land_share"].fillna(0) > 0)
        & (out["land_share"].fillna(0) + out["taihu_share"].fillna(0) < 1 - MIN_SHARE)
        & (final == "ok"),
    )
    flags = apply_rules(ctx.rules, rule_view)
    out["flags"] = flags["flags"].to_numpy()
    out["flag_level"] = flags["flag_level"].to_numpy()
    out["flag_notes"] = flags["flag_notes"].to_numpy()

    # 7. assemble: row_id, input columns, results, geometry (EPSG:4326)
    own = sites.drop(columns=[c for c in (*INTERNAL_COLUMNS, "geometry") if c in sites])
    result = pd.concat([own, out], axis=1)
    result["geometry"] = geoms
    infra_cols = [c for k in ctx.kinds for c in (f"nearest_{k}", f"dist_{k}_m")]
    order = [
        *LEAD_COLUMNS,
        *[c for c in own.columns if c not in LEAD_COLUMNS],
        *CORE_COLUMNS,
        *infra_cols,
        *TAIL_COLUMNS,
        "geometry",
    ]
    result = gpd.GeoDataFrame(result[order], geometry="geometry", crs=STORAGE_CRS)
    for col in _BOOL:
        result[col] = result[col].astype("boolean")
    for col in _FLOAT:
        result[col] = result[col].astype(float)
    return result, zone_parts


def _list_contains(lists: pd.Series, values: pd.Series) -> np.ndarray:
    """Elementwise: does the ``、``-joined list of row i contain value i (numpy's char.find)."""
    padded = ("、" + lists.astype("string").fillna("") + "、").to_numpy(dtype=str)
    needle = (
        "、" + pd.Series(values, index=lists.index).astype("string").fillna("\0") + "、"
    ).to_numpy(dtype=str)
    return np.char.find(padded, needle) >= 0


def _overlay(
    analysis: np.ndarray,
    overlay: np.ndarray,
    kinds: np.ndarray,
    ctx: _Context,
    sites: gpd.GeoDataFrame,
    info: InputInfo,
    out: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Area (polygons) or length (lines) per town-zone part, shares, Taihu and outside parts."""
    idx = np.flatnonzero(overlay)
    empty = gpd.GeoDataFrame({c: [] for c in ZONE_PART_COLUMNS}, geometry=[], crs=STORAGE_CRS)
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
    rows = sites.index[idx]
    out.loc[rows, "land_share"] = np.round(land_share, 4)
    out.loc[rows, "taihu_share"] = np.round(np.minimum(water_share, 1.0), 4)
    out.loc[rows[is_poly], "area_m2"] = np.round(measure[is_poly], 1)
    out.loc[rows[is_poly], "area_ha"] = np.round(measure[is_poly] / M2_PER_HA, 4)
    out.loc[rows[is_poly], "area_mu"] = np.round(measure[is_poly] / M2_PER_MU, 2)
    out.loc[rows[~is_poly], "length_m"] = np.round(measure[~is_poly], 1)
    if long.empty:
        out.loc[rows, ["crosses_zone_boundary", "crosses_town_boundary"]] = False
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
    out.loc[rows, "code"] = pd.Series(pos).map(main_town).to_numpy(dtype=object)
    out.loc[rows, "functional_zone"] = pd.Series(pos).map(main_zone).to_numpy(dtype=object)
    out.loc[rows, "functional_zones"] = pd.Series(pos).map(zone_list).to_numpy(dtype=object)
    out.loc[rows, "towns"] = pd.Series(pos).map(town_list).to_numpy(dtype=object)
    out.loc[rows, "_town_codes"] = pd.Series(pos).map(town_codes).to_numpy(dtype=object)
    out.loc[rows, "_management_zones"] = pd.Series(pos).map(mgmt_list).to_numpy(dtype=object)
    out.loc[rows, "crosses_zone_boundary"] = (
        pd.Series(pos).map(zones_sig.groupby("pos").size()).fillna(0).to_numpy() > 1
    )
    out.loc[rows, "crosses_town_boundary"] = (
        pd.Series(pos).map(towns_sig.groupby("pos").size()).fillna(0).to_numpy() > 1
    )

    # the breakdown text: "先进制造轴 12,345 m² / 1.23 公顷 / 18.5 亩（62.1%）；…"
    poly = is_poly[by_zone["pos"].to_numpy()]
    m = by_zone["measure"].to_numpy()
    amount = np.where(
        poly,
        _fmt(m, 0)
        + " m² / "
        + _fmt(m / M2_PER_HA, 2)
        + " 公顷 / "
        + _fmt(m / M2_PER_MU, 1)
        + " 亩",
        _fmt(m, 0) + " m",
    )
    pct = _fmt(by_zone["share"].to_numpy() * 100, 1)
    by_zone["text"] = (
        by_zone["functional_zone"].to_numpy(dtype=object) + " " + amount + "（" + pct + "%）"
    )
    breakdown = by_zone.groupby("pos")["text"].agg("；".join)
    out.loc[rows, "zone_breakdown"] = pd.Series(pos).map(breakdown).to_numpy(dtype=object)

    # the long table (one row per site, town and zone), geometry in EPSG:4326
    name_col = info.name_col if info.name_col in sites else None
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
    back = transformer(ANALYSIS_CRS, STORAGE_CRS)
    geo = shapely.transform(pieces, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))
    return gpd.GeoDataFrame(table, geometry=geo, crs=STORAGE_CRS)


def _messages(
    out: pd.DataFrame, sites: gpd.GeoDataFrame, final: np.ndarray, analysed: np.ndarray
) -> np.ndarray:
    """One Chinese sentence per site, composed column-wise.

    ``analysed`` is the status the geometry itself gives (before bad input overrides it), so a
    repaired polygon still says where it lies.
    """
    s = lambda col: out[col].astype("string").fillna("")
    where = (
        s("name")
        + "（"
        + s("functional_zone")
        + "，"
        + s("management_zone")
        + "，"
        + s("subregion")
        + "）"
    )
    multi = out["crosses_town_boundary"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    located = np.where(multi, "主要位于" + where + "，涉及 " + s("towns"), "位于" + where)
    zones = out["crosses_zone_boundary"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    located = np.where(zones, located + "；跨功能区：" + s("zone_breakdown"), located)
    shore_km = _fmt(out["taihu_shore_m"].to_numpy(dtype=float) / 1000, 1)
    edge_km = _fmt(out["district_distance_m"].to_numpy(dtype=float) / 1000, 1)
    where_msg = np.full(len(out), "", dtype=object)
    ok = analysed == "ok"
    where_msg[ok] = located[ok]
    water = analysed == "in_taihu_water"
    where_msg[water] = "位于吴中区太湖水域（距湖岸约 " + shore_km[water] + " 公里），不在陆域"
    outside = analysed == "outside_district"
    where_msg[outside] = "不在吴中区范围内（距区界约 " + edge_km[outside] + " 公里）"
    msg = where_msg.copy()
    pre = sites["_message"].astype("string").fillna("").to_numpy(dtype=object)
    bad = np.isin(final, ["invalid_coordinates", "invalid_geometry"])
    msg[bad] = pre[bad]
    repaired = (final == "invalid_geometry") & (where_msg != "")
    msg[repaired] = msg[repaired] + "。修复后" + where_msg[repaired]
    notes = sites["_notes"].astype("string").fillna("").to_numpy(dtype=object)
    has = notes != ""
    msg[has] = msg[has] + "；注意：" + notes[has]
    return msg
