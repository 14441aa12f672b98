"""Classify points into town, zones, sub-region and Taihu/outside status, fast and exactly.

One vectorised pass: a lookup grid (``CELL_DEG`` cells over the district) answers every point in
a cell that no boundary touches; points in the few cells a boundary does touch are tested with
exact shapely predicates against only the polygons that reach their cell.  The answer is the same
as testing every point against every polygon with shapely (``tests/test_classify.py`` checks this
on random points and on points exactly on vertices, edges and grid lines).

The rule (closed polygons: a boundary belongs to the polygon)
--------------------------------------------------------------
1. Town: the first of the towns of :func:`wuzhong_geo.layers.towns`, in code order, whose closed
   polygon contains the point (shapely ``intersects``).  A point exactly on a border between
   towns therefore goes to the town with the lowest code, and a point on the district's outer
   boundary is inside.  ``status`` is ``ok``; the town gives ``code``, ``name``,
   ``management_zone`` and ``subregion``.
2. Otherwise Taihu (:func:`wuzhong_geo.layers.taihu`, closed): ``in_taihu_water``.  The shore
   itself is land (step 1 comes first).  Otherwise ``outside_district``: the district is the
   union of the towns and Taihu, i.e. ``layers.district()`` up to square-metre build slivers.
3. Functional zone: a town wholly in one zone has that zone.  In a town the plan splits, the
   first part of *that town* (:func:`wuzhong_geo.layers.town_zone_parts`, zones in plan order
   中心城市核, 先进制造轴, 生态文旅带) whose closed polygon contains the point; if none does, the
   part of that town nearest to the point.  (Splitting drops zero-width spikes, and reprojection
   to EPSG:4326 moves vertices by millimetres, so a point can fall in a seam of next to no area
   along a town border: it is still in its town, and gets a zone.)

NaN, infinite or out-of-range coordinates: ``invalid_coordinates``.  Everything runs in the
storage CRS (EPSG:4326), where the layers are defined and valid, so results equal
``geopandas.sjoin`` against the published layers; other input CRSs are transformed once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from wuzhong_geo import diskcache
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import CGCS2000_GEOGRAPHIC, STORAGE_CRS
from wuzhong_geo.style import ZONES

log = logging.getLogger(__name__)

STATUS_OK = "ok"
STATUS_OUTSIDE = "outside_district"
STATUS_TAIHU = "in_taihu_water"
STATUS_INVALID = "invalid_coordinates"
#: Every status :func:`classify_points` returns (the categories of its ``status`` column).
STATUSES = (STATUS_OK, STATUS_OUTSIDE, STATUS_TAIHU, STATUS_INVALID)
#: Columns of :func:`classify_points`, in order.
COLUMNS = ("status", "code", "name", "management_zone", "functional_zone", "subregion")
#: Columns that are filled only for points on land (status ``ok``).
UNIT_COLUMNS = COLUMNS[1:]

#: Lookup grid cell in degrees (about 24 m east-west, 28 m north-south at 31°N).
CELL_DEG = 0.00025
#: Points are processed in chunks of this many to bound temporary memory.
CHUNK = 2_000_000

_CACHE_SIZE = 4
_lock = threading.RLock()  # guards the caches below; a lookup is built once even under threads


def unit_polygons() -> gpd.GeoDataFrame:
    """Return the polygons :func:`classify_points` tests, in the order of its rule (EPSG:4326).

    ``kind`` is ``town`` (by code), then one ``taihu`` row, then ``zone_part`` (by town code and
    plan zone order); the other columns are what a point in that polygon is given.
    """
    return _current_units()[0].copy()


def _layers_state() -> tuple:
    """What the layers are built from: the boundary and zone-rule files and their stamps."""
    from wuzhong_geo import layers


    def stamp(path) -> tuple | None:
        if path is None:
            return None
        try:
            info = os.stat(path)
        except OSError:
            return (str(path), None, None)
        return (str(path), info.st_mtime_ns, info.st_size)

    return stamp(layers.active_boundaries()), stamp(layers.active_zone_rules())


_units_memo: dict = {}


def _current_units() -> tuple[gpd.GeoDataFrame, str]:
    """The units of the current layers and their content key, rebuilt when the layers change."""
    state = _layers_state()
    with _lock:
        if state in _units_memo:
            return _units_memo[state]
    frame = _build_units()
    found = (frame, _units_key(frame))
    with _lock:
        _units_memo.clear()
        _units_memo[state] = found
    return found


def _build_units() -> gpd.GeoDataFrame:
    from wuzhong_geo import layers  # imported on demand: a cached lookup needs no layers

    towns = layers.towns().sort_values("code").reset_index(drop=True)
    parts = layers.town_zone_parts()
    zone_rank = {zone: i for i, zone in enumerate(ZONES)}
    parts = parts.assign(_rank=parts["zone"].map(zone_rank).fillna(len(zone_rank)))
    parts = parts.sort_values(["code", "_rank", "zone"], kind="stable").reset_index(drop=True)
    by_code = towns.set_index("code")
    town_rows = pd.DataFrame({
        "kind": "town", "code": towns["code"], "name": towns["name"],
        "management_zone": towns["management_zone"], "functional_zone": None,
        "subregion": towns["subregion"],
    })
    part_rows = pd.DataFrame({
        "kind": "zone_part", "code": parts["code"], "name": parts["code"].map(by_code["name"]),
        "management_zone": parts["code"].map(by_code["management_zone"]),
        "functional_zone": parts["zone"], "subregion": parts["code"].map(by_code["subregion"]),
    })
    taihu_row = pd.DataFrame([{"kind": "taihu", **{c: None for c in UNIT_COLUMNS}}])
    taihu = shapely.union_all(layers.taihu().to_crs(STORAGE_CRS).geometry.values)
    geoms = (list(towns.to_crs(STORAGE_CRS).geometry) + [taihu]
             + list(parts.to_crs(STORAGE_CRS).geometry))
    frame = pd.concat([town_rows, taihu_row, part_rows], ignore_index=True).astype(object)
    frame = frame.where(frame.notna(), None)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=STORAGE_CRS)


def classify_points(
    lon, lat, crs="EPSG:4326", *, units: gpd.GeoDataFrame | None = None, lookup: _Lookup | None = None
) -> pd.DataFrame:
    """Return status, town code/name, management zone, functional zone and sub-region per point.

    One row per input point, in input order (RangeIndex).  ``lon``/``lat`` are array-likes of x/y
    in ``crs`` (default WGS84 lon/lat).  Columns are categoricals; the unit columns are missing
    (NaN) unless ``status == "ok"``.  ``units`` (from :func:`unit_polygons`) pins the polygons,
    e.g. on Dask workers; by default the current layers (official boundaries, zone rules).
    ``lookup`` (from :func:`current_lookup`): the current layers' lookup, found once by a caller
    that classifies chunk after chunk (finding it stats every data file).
    """
    x, y = _as_arrays(lon, lat)
    transformer = _transformer(crs)
    geographic_input = transformer is None or _parse_crs(crs).is_geographic
    if lookup is None:
        lookup = current_lookup() if units is None else _lookup(units)
    labels = np.empty(x.size, dtype=lookup.grid.dtype)
    for start in range(0, x.size, CHUNK):
        stop = min(start + CHUNK, x.size)
        labels[start:stop] = _classify_chunk(lookup, x[start:stop], y[start:stop], transformer,
                                             geographic_input)
    return lookup.frame(labels)


# --------------------------------------------------------------------------------------------
# Input handling


def _as_arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    try:
        x = np.asarray(lon, dtype="float64").ravel()
        y = np.asarray(lat, dtype="float64").ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"lon/lat must be numbers (use NaN for missing values): {exc}. "
            "Convert text columns first, e.g. pandas.to_numeric(col, errors='coerce')."
        ) from None
    if x.shape != y.shape:
        raise InputError(f"lon has {x.size} values but lat has {y.size}; pass one lon and one lat per point")
    return x, y


def _parse_crs(crs) -> pyproj.CRS:
    if crs is None:
        raise InputError("crs is None: say which CRS the coordinates are in, e.g. 'EPSG:4326'")
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(f"unknown CRS {crs!r}: {exc}. Give an EPSG code such as 'EPSG:4326'.") from None


@lru_cache(maxsize=16)
def _transformer_cached(crs_wkt: str) -> pyproj.Transformer | None:
    source = pyproj.CRS.from_wkt(crs_wkt)
    # CGCS2000 differs from WGS84 by < 1 m here; settings declares it an alias of the storage CRS.
    for same in (STORAGE_CRS, CGCS2000_GEOGRAPHIC):
        if source.equals(pyproj.CRS.from_user_input(same), ignore_axis_order=True):
            return None
    return pyproj.Transformer.from_crs(source, STORAGE_CRS, always_xy=True)


def _transformer(crs) -> pyproj.Transformer | None:
    return _transformer_cached(_parse_crs(crs).to_wkt())


# --------------------------------------------------------------------------------------------
# The lookup
#
# Labels: 0 outside, 1..P the zone parts, P+1 Taihu, P+2 invalid coordinates; MIXED (the dtype's
# maximum) in the grid marks cells whose points need the exact test.


@dataclass(eq=False)
class _Lookup:
    """Grid labels plus what the exact path needs; built once per set of polygons."""

    key: str
    geoms: np.ndarray          # prepared polygons: towns, Taihu, zone parts (rule order)
    bounds: np.ndarray         # (G, 4) their bounds
    n_towns: int
    town_parts: list           # per town: indices (into the parts) of its zone parts, in order
    x0: float                  # west edge of the grid
    y1: float                  # north edge of the grid
    cell: float
    nx: int
    ny: int
    grid: np.ndarray           # (ny, nx) labels or MIXED
    mixed_flat: np.ndarray     # sorted flat indices of the MIXED cells
    candidates: np.ndarray     # (n_mixed, G) bool: polygon may contain points of that cell
    codes: dict                # per output column: category code of each label
    categories: dict           # per output column: CategoricalDtype

    @property
    def n_parts(self) -> int:
        return len(self.geoms) - self.n_towns - 1

    @property
    def taihu(self) -> int:
        return self.n_parts + 1

    @property
    def invalid(self) -> int:
        return self.n_parts + 2

    @property
    def mixed(self) -> int:
        return int(np.iinfo(self.grid.dtype).max)

    def frame(self, labels: np.ndarray) -> pd.DataFrame:
        """Turn labels into the output frame of categoricals."""
        data = {
            col: pd.Categorical.from_codes(self.codes[col][labels], dtype=self.categories[col])
            for col in COLUMNS
        }
        return pd.DataFrame(data, index=pd.RangeIndex(len(labels)))


def _units_key(frame: gpd.GeoDataFrame) -> str:
    digest = hashlib.sha1(repr(CELL_DEG).encode())
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype(str)
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    for wkb in shapely.to_wkb(frame.geometry.values):
        digest.update(wkb)
    return digest.hexdigest()


_lookups: OrderedDict[str, _Lookup] = OrderedDict()
_by_state: dict = {}


def current_lookup() -> _Lookup:
    """The lookup of the current layers: from memory, the disk cache, or built (and cached)."""
    state = diskcache.data_state()
    with _lock:
        found = _by_state.get(state)
    if found is None:
        found = diskcache.cached("classify", (state, CELL_DEG), lambda: _lookup(*_current_units()))
        for g in found.geoms:
            shapely.prepare(g)  # preparation does not survive pickling
        with _lock:
            _by_state.clear()
            _by_state[state] = found
            _lookups[found.key] = found
    return found


def _lookup(frame: gpd.GeoDataFrame, key: str | None = None) -> _Lookup:
    """Return the lookup for ``frame``, built once per content (official boundaries, zone rules)."""
    key = key or _units_key(frame)
    with _lock:
        found = _lookups.get(key)
        if found is None:
            found = _build_lookup(frame, key)
            _lookups[key] = found
            while len(_lookups) > _CACHE_SIZE:
                _lookups.popitem(last=False)
        _lookups.move_to_end(key)
        return found


def _segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every boundary edge of ``geoms`` as a 2-point LineString, with the index of its polygon."""
    pairs, owners = [], []
    for i, geom in enumerate(geoms):
        for ring in shapely.get_rings(shapely.get_parts(geom)):
            xy = shapely.get_coordinates(ring)
            if len(xy) >= 2:
                pairs.append(np.stack([xy[:-1], xy[1:]], axis=1))
                owners.append(np.full(len(xy) - 1, i))
    return shapely.linestrings(np.concatenate(pairs)), np.concatenate(owners)


def _grow(mask: np.ndarray) -> np.ndarray:
    """Add the 8 neighbours of every True cell."""
    out = mask.copy()
    out[1:, :] |= mask[:-1, :]
    out[:-1, :] |= mask[1:, :]
    rows = out.copy()
    out[:, 1:] |= rows[:, :-1]
    out[:, :-1] |= rows[:, 1:]
    return out


def _build_lookup(frame: gpd.GeoDataFrame, key: str) -> _Lookup:
    from rasterio import features  # imported on demand: a cached lookup needs no rasterio
    from rasterio.transform import Affine

    kind = frame["kind"].to_numpy()
    n_towns = int((kind == "town").sum())
    if list(kind) != ["town"] * n_towns + ["taihu"] + ["zone_part"] * (len(kind) - n_towns - 1):
        raise ValueError("units must be towns, then one taihu row, then zone parts (unit_polygons())")
    geoms = np.array([g if g.is_valid else shapely.make_valid(g) for g in frame.geometry.values],
                     dtype=object)
    bounds = shapely.bounds(geoms)
    part_off = n_towns + 1
    n_parts = len(geoms) - part_off
    town_codes = list(frame["code"].iloc[:n_towns])
    part_town = np.array([town_codes.index(c) for c in frame["code"].iloc[part_off:]], dtype=np.int64)
    town_parts = [np.flatnonzero(part_town == t) for t in range(n_towns)]
    if any(len(p) == 0 for p in town_parts):
        raise ValueError("every town needs at least one zone part")
    dtype = np.uint8 if n_parts + 3 < np.iinfo(np.uint8).max else np.uint16
    mixed = np.iinfo(dtype).max

    cell = CELL_DEG
    pad = 3 * cell
    x0 = np.floor((bounds[:, 0].min() - pad) / cell) * cell
    y0 = np.floor((bounds[:, 1].min() - pad) / cell) * cell
    x1 = np.ceil((bounds[:, 2].max() + pad) / cell) * cell
    y1 = np.ceil((bounds[:, 3].max() + pad) / cell) * cell
    nx, ny = int(np.rint((x1 - x0) / cell)), int(np.rint((y1 - y0) / cell))
    transform = Affine(cell, 0.0, x0, 0.0, -cell, y1)

    def burn(indices: list[int], values: list[int], **kw) -> np.ndarray:
        # Last burnt wins, so burn in reverse rule order: the first match wins overlaps.
        shapes = [(geoms[i], v) for i, v in zip(indices[::-1], values[::-1])]
        return features.rasterize(shapes, out_shape=(ny, nx), transform=transform, fill=0,
                                  dtype=np.uint16, **kw)

    # 1. Cells away from every boundary: town (or Taihu) and zone part at the cell centre.
    town_grid = burn(list(range(part_off)), list(range(1, part_off + 1))).astype(np.int64) - 1
    part_grid = burn(list(range(part_off, len(geoms))), list(range(1, n_parts + 1))).astype(np.int64) - 1
    whole = np.array([p[0] + 1 if len(p) == 1 else mixed for p in town_parts] + [n_parts + 1, 0])
    grid = whole[town_grid]  # town_grid == -1 (outside) picks the last entry, 0
    split = (grid == mixed)
    own_part = (part_grid >= 0) & (part_town[np.maximum(part_grid, 0)] == town_grid)
    grid[split & own_part] = part_grid[split & own_part] + 1
    grid = grid.astype(dtype)

    # 2. Candidate band: every cell a boundary touches, grown by one cell so that GDAL's float
    #    edge cases (a boundary grazing a cell corner) cannot leave a touched cell out.
    band = features.rasterize([(shapely.boundary(g), 1) for g in geoms], out_shape=(ny, nx),
                              transform=transform, fill=0, all_touched=True, dtype=np.uint8)
    rows, cols = np.nonzero(_grow(band.astype(bool)))

    # 3. Exact test of the band: a cell is MIXED if a boundary edge touches it (slightly
    #    enlarged, so a point on a cell edge is covered whichever cell floor() puts it in).
    margin = cell * 1e-3
    west, north = x0 + cols * cell, y1 - rows * cell
    boxes = shapely.box(west - margin, north - cell - margin, west + cell + margin, north + margin)
    segments, owner = _segments(geoms)
    box_idx, seg_idx = shapely.STRtree(segments).query(boxes, predicate="intersects")
    touched = np.zeros(len(boxes), dtype=bool)
    touched[box_idx] = True
    for g in geoms:
        shapely.prepare(g)

    lookup = _Lookup(key=key, geoms=geoms, bounds=bounds, n_towns=n_towns, town_parts=town_parts,
                     x0=float(x0), y1=float(y1), cell=cell, nx=nx, ny=ny, grid=grid,
                     mixed_flat=np.empty(0, np.int64), candidates=np.empty((0, len(geoms)), bool),
                     codes={}, categories={})
    # Untouched band cells: one answer for the whole cell, the exact answer at its centre,
    # unless that answer is a nearest-part fallback (which varies inside the cell).
    pure = np.flatnonzero(~touched)
    labels, fallback = _exact(lookup, west[pure] + cell / 2, north[pure] - cell / 2, None)
    grid[rows[pure], cols[pure]] = np.where(fallback, mixed, labels)
    grid[rows[touched], cols[touched]] = mixed

    # 4. MIXED cells: candidates are the polygons with an edge in the cell or holding its centre.
    flat = np.flatnonzero(grid.ravel() == mixed)
    candidates = np.zeros((len(flat), len(geoms)), dtype=bool)
    band_flat = rows.astype(np.int64) * nx + cols
    hit_cells = np.searchsorted(flat, band_flat[box_idx])
    candidates[hit_cells, owner[seg_idx]] = True
    mr, mc = np.divmod(flat, nx)
    cx, cy = x0 + mc * cell + cell / 2, y1 - mr * cell - cell / 2
    for i, g in enumerate(geoms):
        near = _in_bounds(bounds[i], cx, cy)
        candidates[near[shapely.intersects_xy(g, cx[near], cy[near])], i] = True

    lookup.mixed_flat, lookup.candidates = flat, candidates
    lookup.codes, lookup.categories = _label_tables(frame, part_off)
    log.info("classify lookup: %d x %d cells of %g°, %d need exact tests (%.2f%%)",
             nx, ny, cell, len(flat), 100 * len(flat) / (nx * ny))
    return lookup


def _label_tables(frame: gpd.GeoDataFrame, part_off: int) -> tuple[dict, dict]:
    """Category codes of every label: 0 outside, 1..P parts, P+1 Taihu, P+2 invalid."""
    parts = frame.iloc[part_off:]
    status = [STATUS_OUTSIDE] + [STATUS_OK] * len(parts) + [STATUS_TAIHU, STATUS_INVALID]
    codes = {"status": np.array([STATUSES.index(s) for s in status], dtype=np.int8)}
    categories = {"status": pd.CategoricalDtype(list(STATUSES))}
    for col in UNIT_COLUMNS:
        values = [None, *parts[col], None, None]
        cats = sorted({v for v in frame[col] if v is not None and not pd.isna(v)})
        index = {v: i for i, v in enumerate(cats)}
        codes[col] = np.array([-1 if v is None or pd.isna(v) else index[v] for v in values],
                              dtype=np.int16)
        categories[col] = pd.CategoricalDtype(cats)
    return codes, categories


def _in_bounds(b: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.flatnonzero((x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3]))


def _first_hits(lookup: _Lookup, g: int, x, y, open_, candidates) -> np.ndarray:
    """Indices of the open points that polygon ``g`` (closed) contains."""
    b = lookup.bounds[g]
    test = open_ & (x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3])
    if candidates is not None:
        test &= candidates[:, g]
    idx = np.flatnonzero(test)
    if idx.size == 0:
        return idx
    return idx[shapely.intersects_xy(lookup.geoms[g], x[idx], y[idx])]


def _exact(lookup: _Lookup, x, y, candidates) -> tuple[np.ndarray, np.ndarray]:
    """Labels by the module's rule, with exact predicates; also which used the nearest-part rule."""
    n = len(x)
    town = np.full(n, -1, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)
    for g in range(lookup.n_towns + 1):  # the towns in code order, then Taihu
        hit = _first_hits(lookup, g, x, y, open_, candidates)
        town[hit] = g
        open_[hit] = False
    labels = np.zeros(n, dtype=np.int64)
    labels[town == lookup.n_towns] = lookup.taihu
    fallback = np.zeros(n, dtype=bool)
    part_off = lookup.n_towns + 1
    for t, parts in enumerate(lookup.town_parts):
        members = np.flatnonzero(town == t)
        if members.size == 0:
            continue
        if len(parts) == 1:
            labels[members] = parts[0] + 1
            continue
        mx, my = x[members], y[members]
        cand = candidates[members] if candidates is not None else None
        still = np.ones(members.size, dtype=bool)
        for p in parts:
            hit = _first_hits(lookup, part_off + p, mx, my, still, cand)
            labels[members[hit]] = p + 1
            still[hit] = False
        rest = np.flatnonzero(still)
        if rest.size:
            pts = shapely.points(mx[rest], my[rest])
            dist = np.stack([shapely.distance(lookup.geoms[part_off + p], pts) for p in parts])
            labels[members[rest]] = parts[np.argmin(dist, axis=0)] + 1
            fallback[members[rest]] = True
    return labels, fallback


def _classify_chunk(lookup: _Lookup, x: np.ndarray, y: np.ndarray,
                    transformer: pyproj.Transformer | None, geographic_input: bool) -> np.ndarray:
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if geographic_input:
        with np.errstate(invalid="ignore"):
            bad |= (np.abs(x) > 180) | (np.abs(y) > 90)
    if transformer is not None:
        x, y = transformer.transform(np.where(bad, np.nan, x), np.where(bad, np.nan, y),
                                     errcheck=False)
        x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
        with np.errstate(invalid="ignore"):
            bad |= ~(np.isfinite(x) & np.isfinite(y)) | (np.abs(x) > 180) | (np.abs(y) > 90)

    with np.errstate(invalid="ignore"):
        col = np.floor((x - lookup.x0) / lookup.cell)
        row = np.floor((lookup.y1 - y) / lookup.cell)
        inside = ~bad & (col >= 0) & (col < lookup.nx) & (row >= 0) & (row < lookup.ny)
    labels = np.zeros(x.size, dtype=lookup.grid.dtype)
    idx = np.flatnonzero(inside)
    flat = row[idx].astype(np.int64) * lookup.nx + col[idx].astype(np.int64)
    del col, row
    found = lookup.grid.ravel()[flat]
    labels[idx] = found

    exact = np.flatnonzero(found == lookup.mixed)
    if exact.size:
        which = np.searchsorted(lookup.mixed_flat, flat[exact])
        pts = idx[exact]
        labels[pts] = _exact(lookup, x[pts], y[pts], lookup.candidates[which])[0]
    labels[bad] = lookup.invalid
    return labels
